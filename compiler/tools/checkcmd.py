"""`mtus check`'s work, shared by the click command (cli.py) and the console script's fast path (entry.py).

It imports no click: the fast path reads `mtus check`'s arguments itself, so a check starts without click's
import. Output goes through the `echo(text, err=False, nl=True)` the caller gives: click.echo under click,
output.plain_echo (click.echo's behaviour for text on the standard streams) on the fast path.
"""

from __future__ import annotations

import sys

from mtus.compiler.check.casefile import CaseError, read_case_file, read_case_stream
from mtus.compiler.check.letter import RequestDecision, decide, render
from mtus.compiler.check.pack import CompileError, PackError, open_pack
from mtus.compiler.tools.output import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, echo_err, fail, paint

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

    from mtus.compiler.tools.output import Echo


def compile_failed(echo: Echo, err: CompileError, code: int = EXIT_PROBLEMS) -> None:
    from mtus.dsl import diagnostics as diag

    ds = [d for r in err.results for d in r.diagnostics]
    echo_err(echo, diag.render_text(ds, {r.source.path: r.source for r in err.results}))
    fail(echo, f"compilation failed: {diag.summary(ds)}", code)


def open_pack_or_exit(echo: Echo, spec: Optional[str], code: int = EXIT_PROBLEMS):
    """The pack of --pack (or PACK_OR_SOURCES); `-` compiles one .mtus source read from standard input."""
    try:
        if spec == "-":
            from mtus.compiler.build.packwriter import pack_from_text

            return pack_from_text(sys.stdin.read(), "<stdin>")
        return open_pack(spec)
    except CompileError as e:
        compile_failed(echo, e, code)
    except PackError as e:
        fail(echo, f"error: {e}", code)


def run_check(echo: Echo, case: Optional[str], pack_spec: Optional[str] = None, fmt: str = "text",
              wording: str = "imr", explain: bool = False, strict: bool = False, exit_code: bool = False,
              jsonl: Optional[str] = None, jobs: int = 1, pack_sha256: Optional[str] = None, quiet: bool = False,
              format_given: bool = False) -> None:
    """Decide a case file's requests and print the letter (or run a batch): `mtus check`, its exit status by
    sys.exit. A pack file found altered on first use ends it with its message (exit 1), never a traceback."""
    try:
        _check(echo, case, pack_spec, fmt, wording, explain, strict, exit_code, jsonl, jobs, pack_sha256, quiet,
               format_given)
    except PackError as e:
        fail(echo, f"error: {e}", EXIT_PROBLEMS)


def _check(echo, case, pack_spec, fmt, wording, explain, strict, exit_code, jsonl, jobs, pack_sha256, quiet,
           format_given) -> None:
    failed = EXIT_USAGE if exit_code else EXIT_PROBLEMS  # with --exit-code, 1 means "not certified"
    if (case is None) == (jsonl is None):
        fail(echo, "error: give a case file, or --jsonl IN for batch mode (not both)", EXIT_USAGE)
    if "-" in (case, jsonl) and pack_spec == "-":
        fail(echo, "error: only one of the case and --pack can be read from standard input", EXIT_USAGE)
    pack = open_pack_or_exit(echo, pack_spec, failed)
    if pack_sha256 is not None and pack.digest != pack_sha256.strip().lower():
        fail(echo, f"error: {pack.location}: the pack's sha256 is {pack.digest}, not the expected {pack_sha256}; "
             "it is not the pack you meant to run", failed)
    if jsonl is not None:
        from mtus.compiler.check.batch import check_stream, open_lines

        try:
            stream = open_lines(jsonl)
        except OSError as e:
            fail(echo, f"{jsonl}: error: cannot read: {e.strerror or e}", EXIT_USAGE)
        progress = sys.stderr if sys.stderr.isatty() and not quiet else None
        from mtus.compiler.check.parallel import WorkerError

        with stream:
            try:
                summary = check_stream(stream, sys.stdout, pack, pack_spec=pack_spec, jobs=jobs, wording=wording,
                                       explain=explain, progress=progress, strict=strict,
                                       letter=fmt if format_given else None)
            except WorkerError as e:  # a worker killed (--jobs N): the output is incomplete, and says so
                sys.stdout.flush()
                fail(echo, f"{jsonl}: error: {e}", EXIT_USAGE)
        if not quiet:
            echo_err(echo, summary.text())
        if summary.errors:
            sys.exit(EXIT_USAGE)
        sys.exit(EXIT_PROBLEMS if exit_code and summary.certified < summary.decided else EXIT_OK)
    try:
        data = read_case_stream(sys.stdin, "<stdin>") if case == "-" else read_case_file(case)
        parsed = pack.reader().read(data, "<stdin>" if case == "-" else case, strict=strict)
    except CaseError as e:
        fail(echo, paint(e.render()), EXIT_USAGE)
    except PackError as e:  # a guideline's description is verified when a case first routes to it
        fail(echo, f"error: {e}", failed)
    if parsed.warnings and not quiet:
        echo_err(echo, "\n".join(w.render() for w in parsed.warnings))

    try:
        letter = decide(parsed, pack, wording)
        text = render(letter, fmt, explain)
    except PackError as e:  # a checker module is run on first use and may be refused then
        fail(echo, f"error: {e}", failed)
    echo(text, nl=False)
    if not letter.decided:  # every item is an item-level result: nothing was decided
        fail(echo, f"{'<stdin>' if case == '-' else case}: no item was decided by the guidelines in the pack",
             EXIT_USAGE)
    if exit_code and not all(isinstance(d, RequestDecision) and d.certified and d.modified is None
                             for d in letter.decisions):
        sys.exit(EXIT_PROBLEMS)  # not certified, modified, or not addressed
