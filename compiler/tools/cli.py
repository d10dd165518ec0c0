"""The `mtus` command line: thin click commands over library functions.

Exit codes (all commands): 0 success; 1 the guidelines or pack have problems
(diagnostics, a failed check of the pack); 2 usage error or unusable input
(bad case file, unknown option, missing file). A determination of "not
certified" is a result, not an error: `mtus check` exits 0 when it decides
(with --exit-code: 0 only if every item is certified, 1 otherwise, 2 on errors).
"""

from __future__ import annotations

import sys

import click

from mtus.compiler.tools.output import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, color_for
from mtus.compiler.tools.output import paint as _paint  # click.echo drops its colour unless --color and the terminal allow it

#: Guideline ids `mtus compile` names when it has written a pack (a pack of 2,000 would fill the screen).
SHOWN_IDS = 30


class _Commands(click.Group):
    """The command group; a pack file found altered when first used (packs are verified file by file, on
    first use) ends any command with its message, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Exception as e:
            from mtus.compiler.check.pack import PackError

            if isinstance(e, PackError):
                _fail(f"error: {e}", EXIT_PROBLEMS)
            raise


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mtus", prog_name="mtus")
def main() -> None:
    """mtus: write MTUS guideline criteria as code; check them; explain decisions."""


def _fail(message: str, code: int) -> None:
    _echo_err(message)
    sys.exit(code)


# --------------------------------------------------------------- conventions
def _echo(text: str, err: bool = False, nl: bool = True) -> None:
    click.echo(text, err=err, nl=nl)


def _echo_err(text: str) -> None:
    click.echo(_paint(text.rstrip("\n")), err=True)


def _set_color(ctx: click.Context, param, value: str) -> str:
    color = color_for(value)
    if color is not None:
        ctx.color = color
    return value


def _color_option(f):
    return click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto",
                        show_default=True, expose_value=False, is_eager=True, callback=_set_color,
                        help="Colour errors and results: auto colours a terminal unless NO_COLOR is set.")(f)


def _quiet_option(help_text: str):
    return click.option("-q", "--quiet", is_flag=True, help=help_text)


def _complete_guidelines(ctx: click.Context, param, incomplete: str) -> list:
    """Shell completion of guideline ids, from --pack (or PACK_OR_SOURCES) or the bundled pack."""
    from mtus.compiler.check.pack import open_pack

    spec = ctx.params.get("pack_spec") or ctx.params.get("spec")
    try:
        ids = sorted(open_pack(None if spec == "-" else spec).guidelines)
    except Exception:  # noqa: BLE001 - completion must never print a traceback into the shell
        return []
    return [i for i in ids if i.startswith(incomplete)]


def _compile_failed(err, code: int = EXIT_PROBLEMS) -> None:
    from mtus.compiler.tools.checkcmd import compile_failed

    compile_failed(_echo, err, code)


def _open_pack(spec, code: int = EXIT_PROBLEMS):
    """The pack of --pack (or PACK_OR_SOURCES); `-` compiles one .mtus source read from standard input."""
    from mtus.compiler.tools.checkcmd import open_pack_or_exit

    return open_pack_or_exit(_echo, spec, code)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=True, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Diagnostics as compiler-style text or as JSON for tools.")
@_quiet_option("Print no summary line on standard error.")
@_color_option
def lint(paths: tuple[str, ...], fmt: str, quiet: bool) -> None:
    """Check .mtus files (or folders of them) and report every problem.

    `-` reads one file from standard input. Guidelines checked together are
    also checked as one pack (a fact name with two meanings is E408).

    \b
    Example:
      mtus lint guidelines/
      mtus lint --format json guidelines/tpi.mtus
    """
    from mtus.compiler.tools.lint import lint_paths

    report = lint_paths(paths, fmt)
    output = report.output if not report.output or report.output.endswith("\n") else report.output + "\n"
    click.echo(_paint(output) if fmt == "text" else output, nl=False)
    if report.summary and not quiet:
        _echo_err(report.summary)
    sys.exit(report.exit_code)


@main.command("compile")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=True, allow_dash=True))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="The pack folder to write.")
@click.option("--name", default="mtus-pack", show_default=True, help="The pack's name, printed in every letter.")
@click.option("--pack-version", "pack_version", default="0", show_default=True, help="The pack's version.")
def compile_cmd(paths: tuple[str, ...], output: str, name: str, pack_version: str) -> None:
    """Compile guidelines into a rule pack folder (checkers + manifest).

    `-` reads one .mtus file from standard input.

    \b
    Example:
      mtus compile guidelines/ -o build/mtus-pack --name mtus-chronic-pain --pack-version 2024.1
      mtus check case.yaml --pack build/mtus-pack
    """
    from mtus.compiler.check.pack import CompileError, PackError
    from mtus.compiler.build.packwriter import pack_from_results, write_pack
    from mtus.compiler.tools.lint import check_inputs

    try:
        results = check_inputs(paths)
        if not results:
            raise PackError("no .mtus files found in " + ", ".join(paths))
        pack = pack_from_results(results, name=name, version=pack_version)
        where = write_pack(pack, output)
    except CompileError as e:
        _compile_failed(e)
    except (PackError, OSError) as e:
        _fail(f"error: {e}", EXIT_PROBLEMS)
    ids = pack.manifest["guidelines"]
    shown = ", ".join(ids[:SHOWN_IDS]) + (f", and {len(ids) - SHOWN_IDS:,} more" if len(ids) > SHOWN_IDS else "")
    what = f"{len(ids):,} guideline(s): {shown}" if ids else "no guideline (a formulary only)"
    click.echo(f"wrote {where}: {what}", err=True)


@main.command()
@click.argument("case", type=click.Path(dir_okay=False, allow_dash=True), required=False)
@click.option("--pack", "pack_spec", default=None, metavar="PACK_OR_SOURCES",
              help="A pack folder or .mtus files/folders. Default: the MTUS pack bundled with mtus.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True,
              help="The letter's format. With --jsonl: each record's `letter` (null unless given).")
@click.option("--wording", type=click.Choice(["imr", "ur"]), default="imr", show_default=True,
              help="IMR: Upheld/Overturned (a request is decided as a whole). UR: certified/modified/not certified.")
@click.option("--explain", is_flag=True,
              help="Add the per-criterion trace: outcome, facts read and their values, values computed.")
@click.option("--strict", is_flag=True,
              help="Warnings about the case are errors (exit 2): a fact no requested item's guideline reads, "
                   "an item cut short by a `#`.")
@click.option("--exit-code", "exit_code", is_flag=True,
              help="Exit 0 only if every item is certified; 1 if any is not certified or modified; 2 on errors.")
@click.option("--jsonl", "jsonl", default=None, metavar="IN",
              help="Batch mode: one JSON case per line of IN ('-' for stdin); one JSON record per line out.")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes for --jsonl.")
@click.option("--pack-sha256", "pack_sha256", default=None, metavar="HASH",
              help="Refuse to run unless the pack's manifest has this sha256 (as published by its developer).")
@_quiet_option("Print no warnings and no batch summary on standard error.")
@_color_option
@click.pass_context
def check(ctx, case, pack_spec, fmt: str, wording: str, explain: bool, strict: bool, exit_code: bool, jsonl, jobs: int,
          pack_sha256, quiet: bool) -> None:
    """Decide a case file's requests and print the determination letter.

    CASE is a YAML or JSON case file (docs/case-files.md); `-` reads it from
    standard input. An item no guideline decides (none governs it, none is in
    force on the case's date, or it names several treatments) is an item-level
    "not addressed" result and the other items are still decided: the exit
    status is 0 when at least one item was decided, 2 when none was or the
    case cannot be read. A case fact that no requested item's guideline reads,
    or an item cut short by a `#`, is a warning (an error with --strict). In
    batch mode (--jsonl) a bad line becomes an error record with its line
    number and the run goes on; the exit status is 2 if any line was an error
    or had no item decided.

    \b
    Example:
      mtus template tpi > case.yaml    # fill it in, then:
      mtus check case.yaml
      mtus check case.yaml --pack build/mtus-pack --format json --explain
      mtus check --exit-code --strict case.yaml && echo certified
      mtus check --jsonl cases.jsonl --jobs 2 > results.jsonl
    """
    from mtus.compiler.tools.checkcmd import run_check

    # the console script reads these arguments itself when it can (entry.py): the same function does the work
    run_check(_echo, case, pack_spec, fmt, wording, explain, strict, exit_code, jsonl, jobs, pack_sha256, quiet,
              format_given=ctx.get_parameter_source("fmt") is not click.core.ParameterSource.DEFAULT)


@main.command("diff")
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@click.option("--cases", "cases", required=True, type=click.Path(exists=True, dir_okay=True),
              help="A case file, or a folder of them (.yaml, .yml, .json, searched recursively).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def diff_cmd(old: str, new: str, cases: str, fmt: str) -> None:
    """Show which cases two packs (or folders of .mtus sources) decide differently.

    Every case is decided with OLD and with NEW; each item whose guideline,
    determination or deciding criteria differ is listed; a file that is not a
    readable case file is listed and skipped. Exit 0 when nothing changes, 1
    when something does (or a pack cannot be used), 2 when no case file could
    be read.

    \b
    Example:
      mtus diff build/pack-2024.1 guidelines/ --cases tests/cases/
      mtus diff old-guidelines/ guidelines/ --cases cases/ --format json
    """
    import json

    from mtus.compiler.tools.diff import case_files, diff_packs, render_table

    old_pack, new_pack = _open_pack(old), _open_pack(new)
    report = diff_packs(old_pack, new_pack, case_files(cases))
    if not report.cases:
        _fail(f"error: no readable case file in {cases}" + "".join(f"\n  {u}" for u in report.unreadable), EXIT_USAGE)
    click.echo(json.dumps(report.to_json(), indent=2) if fmt == "json" else render_table(report), nl=fmt == "json")
    sys.exit(EXIT_PROBLEMS if report.changes else EXIT_OK)


@main.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=True, allow_dash=True))
@click.option("--coverage", "show_coverage", is_flag=True,
              help="Also report which outcomes each criterion reached; exit 1 if any reachable one was not.")
@click.option("--run", "pattern", default=None, metavar="PATTERN",
              help="Only the examples whose `GUIDELINE: NAME` this regular expression matches.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_quiet_option("Print only the failures and the totals.")
@click.option("-v", "--verbose", is_flag=True, help="Also print each example's outcome.")
@click.option("--cases", "cases", multiple=True, type=click.Path(exists=True, dir_okay=True),
              help="A casebook folder or case file (repeatable); a PATH holding case files and no .mtus is one too.")
@click.option("--pack", "pack_spec", default=None, metavar="PACK",
              help="The pack that decides casebook cases (default: the bundled pack).")
@_color_option
def test_cmd(paths: tuple[str, ...], show_coverage: bool, pattern, fmt: str, quiet: bool, verbose: bool,
             cases: tuple[str, ...], pack_spec) -> None:
    """Run the examples written in guidelines, or a casebook, against the checkers.

    `-` reads one .mtus file from standard input. A casebook is a folder of
    case files with an `expected:` block (docs/case-files.md); each is decided
    like `mtus check` and compared with it, and the summary counts certified /
    not certified / modified per guideline. Exit 0 when every example and
    case passes (and, with --coverage, every criterion reached every outcome
    it can have); 1 otherwise; 2 when --run matches no example.

    \b
    Example:
      mtus test guidelines/
      mtus test --coverage guidelines/tpi.mtus
      mtus test guidelines/ --run 'tpi: seed' -v
      mtus test tests/casebook
    """
    import re

    from mtus.compiler.tools.casebook import is_casebook, render_casebook, run_casebook

    casebook = list(cases) + [p for p in paths if p != "-" and is_casebook(p)]
    paths = tuple(p for p in paths if p == "-" or not is_casebook(p))
    if not paths and not casebook:
        _fail("error: give guideline files or folders, or a casebook (--cases)", EXIT_USAGE)
    failed = False
    if casebook:
        book = run_casebook(casebook, _open_pack(pack_spec))
        click.echo(render_casebook(book), nl=False)
        failed = bool(book.failed)
        if not paths:
            sys.exit(EXIT_PROBLEMS if failed else EXIT_OK)

    from mtus.compiler.tools.examples import render_report, report_json, run_examples
    from mtus.compiler.tools.lint import check_inputs
    from mtus.dsl import diagnostics as diag
    from mtus.dsl.model import Guideline

    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as e:
            _fail(f"error: --run {pattern!r} is not a regular expression: {e}", EXIT_USAGE)
    results = check_inputs(paths)
    if not any(isinstance(r.model, Guideline) for r in results) and all(r.ok for r in results):
        _fail("error: no guidelines found in " + ", ".join(paths), EXIT_USAGE)
    if any(not r.ok for r in results):
        ds = [d for r in results for d in r.diagnostics]
        _echo_err(diag.render_text(ds, {r.source.path: r.source for r in results}))
        _fail(f"cannot run examples: {diag.summary(ds)}", EXIT_PROBLEMS)
    report = run_examples([r.model for r in results if isinstance(r.model, Guideline)], pattern)
    if pattern is not None and not report.runs:
        _fail(f"error: --run {pattern!r} matches no example (it is searched in `GUIDELINE: NAME`)", EXIT_USAGE)
    if fmt == "json":
        import json

        click.echo(json.dumps(report_json(report, show_coverage), indent=2, sort_keys=True))
    else:
        text = render_report(report, show_coverage, -1 if quiet else int(verbose))
        text = re.sub(r"(?m)^FAIL\b", lambda m: click.style(m.group(0), fg="red", bold=True), text)
        click.echo(re.sub(r"(?m)^ok\b", lambda m: click.style(m.group(0), fg="green"), text), nl=False)
    incomplete = show_coverage and not all(c.complete for c in report.coverages)
    sys.exit(EXIT_PROBLEMS if failed or report.failed or incomplete else EXIT_OK)


@main.command()
@click.argument("spec", required=False, metavar="[PACK_OR_SOURCES]")
@click.option("--guideline", "only", default=None, help="Only this guideline id.",
              shell_complete=_complete_guidelines)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Prose for a clinician, or JSON: criteria with the facts each reads, and the facts.")
def rationale(spec, only, fmt: str) -> None:
    """Print each guideline's rationale: its statement and criteria in prose.

    A clinician reads it against the guideline page to confirm the encoding.
    `-` reads one .mtus file from standard input.

    \b
    Example:
      mtus rationale guidelines/tpi.mtus
      mtus rationale --guideline esi --format json
    """
    from mtus.compiler.check.rationale import Explainer

    pack = _open_pack(spec)
    ids = sorted(pack.guidelines)
    if only is not None:
        if only not in pack.guidelines:
            _fail(f"error: no guideline `{only}` in the pack; guidelines: {', '.join(ids)}", EXIT_USAGE)
        ids = [only]
    if fmt == "json":
        import json

        from mtus.compiler.tools.reference import guideline_json

        click.echo(json.dumps([guideline_json(pack.guidelines[g].info) for g in ids], indent=2, sort_keys=True))
        return
    click.echo("\n".join(Explainer(pack.guidelines[g].info).outline() for g in ids), nl=False)


@main.command()
@click.argument("spec", required=False, metavar="[PACK_OR_SOURCES]")
@click.option("--guideline", "only", default=None, metavar="ID", shell_complete=_complete_guidelines,
              help="Only the part of the schema that this guideline's requests use.")
@click.option("--output", "what", type=click.Choice(["case", "letter", "jsonl"]), default="case", show_default=True,
              help="Which schema: case files (input), --format json letters, or --jsonl records (output).")
def schema(spec, only, what: str) -> None:
    """Print a JSON Schema: of case files for a pack (default: the bundled pack), or of the output.

    \b
    Example:
      mtus schema --guideline tpi > tpi-case.schema.json
      mtus schema --output letter > letter.schema.json
      mtus schema --output jsonl > record.schema.json
    """
    import json

    from mtus.compiler.check.schema import case_schema, output_schema

    if what != "case":
        if only is not None or spec is not None:
            _fail("error: --guideline and PACK_OR_SOURCES apply to the case schema only (--output case)",
                  EXIT_USAGE)
        click.echo(json.dumps(output_schema(what), indent=2, sort_keys=True))
        return
    pack = _open_pack(spec)
    infos = pack.infos
    if only is not None:
        if only not in infos:
            _fail(f"error: no guideline `{only}` in the pack; guidelines: {', '.join(sorted(infos))}", EXIT_USAGE)
        infos = {only: infos[only]}
    click.echo(json.dumps(case_schema(infos), indent=2, sort_keys=True))


@main.command()
@click.argument("item", metavar="ITEM_OR_GUIDELINE", shell_complete=_complete_guidelines)
@click.option("--pack", "pack_spec", default=None, metavar="PACK_OR_SOURCES",
              help="A pack folder or .mtus files/folders. Default: the MTUS pack bundled with mtus.")
def template(item: str, pack_spec) -> None:
    """Print a fill-in case file for a request item or a guideline id.

    Every fact the guideline reads is listed, commented out, with its type,
    the values it takes, its label, whether it is a request detail and what a
    record that is silent about it means. Uncomment what the record documents,
    fill in the date, and check it.

    \b
    Example:
      mtus template "Trigger point injections" > case.yaml
      mtus template esi --pack build/mtus-pack
      mtus check case.yaml
    """
    from mtus.compiler.tools.template import TemplateError, template as make

    pack = _open_pack(pack_spec)
    try:
        click.echo(make(pack, item), nl=False)
    except TemplateError as e:
        _fail(f"error: {e}", EXIT_USAGE)


@main.command("fmt")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=True, allow_dash=True))
@click.option("--check", "check_only", is_flag=True,
              help="Write nothing; exit 1 if any file would change.")
@click.option("--diff", "show_diff", is_flag=True, help="Write nothing; print what would change as a unified diff.")
def fmt(paths: tuple[str, ...], check_only: bool, show_diff: bool) -> None:
    """Rewrite .mtus files (or folders of them) in the one canonical layout.

    Comments and text blocks are kept as written. The result is parsed again
    and written only if the guideline is unchanged; each file is replaced
    atomically. `-` formats standard input to standard output. Exit 0 when
    done (or, with --check, when nothing would change); 1 when a file would
    change under --check or cannot be formatted (a syntax error).

    \b
    Example:
      mtus fmt guidelines/
      mtus fmt --check --diff guidelines/tpi.mtus
    """
    from mtus.compiler.tools.fmt import fmt_command

    report = fmt_command(paths, check=check_only, diff=show_diff, stdin=sys.stdin)
    click.echo(report.stdout, nl=False)
    click.echo(report.stderr, err=True, nl=False)
    sys.exit(report.exit_code)


@main.command("lsp")
def lsp() -> None:
    """Run the language server on standard input and output (for editors).

    Diagnostics as you type (as `mtus lint`), hover, go to definition,
    completion, document symbols and formatting (as `mtus fmt`). Editors start
    it themselves; editors/vscode/ has an extension that does. Needs the
    `lsp` extra: pip install 'mtus[lsp]'.

    \b
    Example:
      mtus lsp
    """
    try:
        from mtus.compiler.tools.lsp import serve
    except ImportError as e:  # pygls is an optional dependency
        if (e.name or "").split(".")[0] not in ("pygls", "lsprotocol", "cattrs"):
            raise
        _fail(f"error: `mtus lsp` needs the language server library {e.name}, which is not installed: "
              "pip install 'mtus[lsp]'", EXIT_USAGE)
    serve()


@main.command("serve")
@click.option("--pack", "pack_spec", default=None, metavar="PACK_OR_SOURCES",
              help="A pack folder or .mtus files/folders. Default: the MTUS pack bundled with mtus.")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on (loopback by default).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="The port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Server processes.")
def serve_cmd(pack_spec, host: str, port: int, workers: int) -> None:
    """Serve the decision API and the playground page over HTTP.

    POST /v1/check decides a case as `mtus check --format json` does;
    GET /openapi.json describes every endpoint (docs/http-api.md); / is the
    playground (docs/playground.md). Access logs are JSON lines on standard
    error. Needs the `serve` extra: pip install 'mtus[serve]'.

    \b
    Example:
      mtus serve --port 8000
      curl -s --data-binary @case.yaml http://127.0.0.1:8000/v1/check
    """
    try:
        from mtus.compiler.tools.serve import run
    except ImportError as e:  # starlette and uvicorn are an optional dependency
        if (e.name or "").split(".")[0] not in ("starlette", "uvicorn", "anyio"):
            raise
        _fail(f"error: `mtus serve` needs {e.name}, which is not installed: pip install 'mtus[serve]'", EXIT_USAGE)
    run(_open_pack(pack_spec), pack_spec, host, port, workers)
