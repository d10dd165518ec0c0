"""The `mtus` command line: thin click commands over library functions.

Exit codes (all commands): 0 success; 1 the guidelines or pack have problems
(diagnostics, a failed check of the pack); 2 usage error or unusable input
(bad case file, unknown option, missing file). A determination of "not
certified" is a result, not an error: `mtus check` exits 0 when it decides.
"""

from __future__ import annotations

import sys

import click

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mtus", prog_name="mtus")
def main() -> None:
    """mtus: write MTUS guideline criteria as code; check them; explain decisions."""


def _fail(message: str, code: int) -> None:
    click.echo(message.rstrip("\n"), err=True)
    sys.exit(code)


def _compile_failed(err) -> None:
    from mtus.dsl import diagnostics as diag

    ds = [d for r in err.results for d in r.diagnostics]
    click.echo(diag.render_text(ds, {r.source.path: r.source for r in err.results}), err=True, nl=False)
    _fail(f"compilation failed: {diag.summary(ds)}", EXIT_PROBLEMS)


def _open_pack(spec):
    from mtus.compiler.check.pack import CompileError, PackError, open_pack

    try:
        return open_pack(spec)
    except CompileError as e:
        _compile_failed(e)
    except PackError as e:
        _fail(f"error: {e}", EXIT_PROBLEMS)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Diagnostics as compiler-style text or as JSON for tools.")
def lint(paths: tuple[str, ...], fmt: str) -> None:
    """Check .mtus files (or folders of them) and report every problem.

    \b
    Example:
      mtus lint guidelines/
      mtus lint --format json guidelines/tpi.mtus
    """
    from mtus.compiler.tools.lint import lint_paths

    report = lint_paths(paths, fmt)
    click.echo(report.output, nl=False)
    if report.summary:
        click.echo(report.summary, err=True)
    sys.exit(report.exit_code)


@main.command("compile")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=True))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="The pack folder to write.")
@click.option("--name", default="mtus-pack", show_default=True, help="The pack's name, printed in every letter.")
@click.option("--pack-version", "pack_version", default="0", show_default=True, help="The pack's version.")
def compile_cmd(paths: tuple[str, ...], output: str, name: str, pack_version: str) -> None:
    """Compile guidelines into a rule pack folder (checkers + manifest).

    \b
    Example:
      mtus compile guidelines/ -o build/mtus-pack --name mtus-chronic-pain --pack-version 2024.1
      mtus check case.yaml --pack build/mtus-pack
    """
    from mtus.compiler.check.pack import CompileError, PackError
    from mtus.compiler.build.packwriter import build_pack, write_pack

    try:
        pack = build_pack(paths, name=name, version=pack_version)
        where = write_pack(pack, output)
    except CompileError as e:
        _compile_failed(e)
    except (PackError, OSError) as e:
        _fail(f"error: {e}", EXIT_PROBLEMS)
    ids = ", ".join(g["id"] for g in pack.manifest["guidelines"])
    click.echo(f"wrote {where}: {len(pack.manifest['guidelines'])} guideline(s): {ids}", err=True)


@main.command()
@click.argument("case", type=click.Path(dir_okay=False), required=False)
@click.option("--pack", "pack_spec", default=None, metavar="PACK_OR_SOURCES",
              help="A pack folder or .mtus files/folders. Default: the MTUS pack bundled with mtus.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
@click.option("--wording", type=click.Choice(["imr", "ur"]), default="imr", show_default=True,
              help="IMR: Upheld/Overturned. UR: certified/not certified.")
@click.option("--explain", is_flag=True, help="Add the per-criterion trace: outcome, facts read and their values.")
@click.option("--jsonl", "jsonl", default=None, metavar="IN",
              help="Batch mode: one JSON case per line of IN ('-' for stdin); one JSON result per line out.")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes for --jsonl.")
@click.option("--pack-sha256", "pack_sha256", default=None, metavar="HASH",
              help="Refuse to run unless the pack's manifest has this sha256 (as published by its developer).")
def check(case, pack_spec, fmt: str, wording: str, explain: bool, jsonl, jobs: int, pack_sha256) -> None:
    """Decide a case file's requests and print the determination letter.

    An item no guideline decides (none governs it, none is in force on the
    case's date, or it names several treatments) is an item-level "not
    addressed" result and the other items are still decided: the exit status
    is 0 when at least one item was decided, 2 when none was or the case
    cannot be read. In batch mode (--jsonl) a bad line becomes an error record
    with its line number and the run goes on; the exit status is 2 if any line
    was an error or had no item decided.

    \b
    Example:
      mtus check docs/examples/seed-2014-12-18.yaml
      mtus check case.yaml --pack build/mtus-pack --format json --explain
      mtus check --jsonl cases.jsonl --jobs 2 > results.jsonl
    """
    from mtus.compiler.check.casefile import CaseError
    from mtus.compiler.check.casefile import read_case_file
    from mtus.compiler.check.letter import decide, render

    if (case is None) == (jsonl is None):
        _fail("error: give a case file, or --jsonl IN for batch mode (not both)", EXIT_USAGE)
    pack = _open_pack(pack_spec)
    if pack_sha256 is not None and pack.digest != pack_sha256.strip().lower():
        _fail(f"error: {pack.location}: the pack's sha256 is {pack.digest}, not the expected {pack_sha256}; "
              "it is not the pack you meant to run", EXIT_PROBLEMS)
    if jsonl is not None:
        from mtus.compiler.check.batch import check_stream, open_lines

        try:
            stream = open_lines(jsonl)
        except OSError as e:
            _fail(f"{jsonl}: error: cannot read: {e.strerror or e}", EXIT_USAGE)
        progress = sys.stderr if sys.stderr.isatty() else None
        with stream:
            summary = check_stream(stream, sys.stdout, pack, pack_spec=pack_spec, jobs=jobs, wording=wording,
                                   explain=explain, progress=progress)
        click.echo(summary.text(), err=True)
        sys.exit(EXIT_USAGE if summary.errors else EXIT_OK)
    try:
        parsed = pack.reader().read(read_case_file(case), case)
    except CaseError as e:
        _fail(e.render(), EXIT_USAGE)
    from mtus.compiler.check.pack import PackError

    try:
        decided = decide(parsed, pack, wording)
        letter = render(decided, fmt, explain)
    except PackError as e:  # a checker module is run on first use and may be refused then
        _fail(f"error: {e}", EXIT_PROBLEMS)
    click.echo(letter, nl=False)
    if not decided.decided:  # every item is an item-level result: nothing was decided
        _fail(f"{case}: no item was decided by the guidelines in the pack", EXIT_USAGE)


@main.command("test")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=True))
@click.option("--coverage", "show_coverage", is_flag=True,
              help="Also report which outcomes each criterion reached; exit 1 if any reachable one was not.")
def test_cmd(paths: tuple[str, ...], show_coverage: bool) -> None:
    """Run the examples written in guidelines against their compiled checkers.

    Exit 0 when every example passes (and, with --coverage, every criterion
    reached every outcome it can have); 1 otherwise.

    \b
    Example:
      mtus test guidelines/
      mtus test --coverage guidelines/tpi.mtus
    """
    from mtus.compiler.tools.examples import render_report, run_examples
    from mtus.dsl import diagnostics as diag
    from mtus.dsl.frontend import check_paths
    from mtus.dsl.model import Guideline

    results = check_paths(paths)
    if not any(isinstance(r.model, Guideline) for r in results) and all(r.ok for r in results):
        _fail("error: no guidelines found in " + ", ".join(paths), EXIT_USAGE)
    if any(not r.ok for r in results):
        ds = [d for r in results for d in r.diagnostics]
        click.echo(diag.render_text(ds, {r.source.path: r.source for r in results}), err=True, nl=False)
        _fail(f"cannot run examples: {diag.summary(ds)}", EXIT_PROBLEMS)
    report = run_examples([r.model for r in results if isinstance(r.model, Guideline)])
    click.echo(render_report(report, show_coverage), nl=False)
    incomplete = show_coverage and not all(c.complete for c in report.coverages)
    sys.exit(EXIT_PROBLEMS if report.failed or incomplete else EXIT_OK)


@main.command()
@click.argument("spec", required=False, metavar="[PACK_OR_SOURCES]")
@click.option("--guideline", "only", default=None, help="Only this guideline id.")
def rationale(spec, only) -> None:
    """Print each guideline's rationale: its statement and criteria in prose.

    A clinician reads it against the guideline page to confirm the encoding.

    \b
    Example:
      mtus rationale guidelines/tpi.mtus
    """
    from mtus.compiler.check.rationale import Explainer

    pack = _open_pack(spec)
    ids = sorted(pack.guidelines)
    if only is not None:
        if only not in pack.guidelines:
            _fail(f"error: no guideline `{only}` in the pack; guidelines: {', '.join(ids)}", EXIT_USAGE)
        ids = [only]
    click.echo("\n".join(Explainer(pack.guidelines[g].info).outline() for g in ids), nl=False)


@main.command()
@click.argument("spec", required=False, metavar="[PACK_OR_SOURCES]")
def schema(spec) -> None:
    """Print the JSON Schema of case files for a pack (default: the bundled pack).

    \b
    Example:
      mtus schema > case.schema.json
    """
    import json

    from mtus.compiler.check.schema import case_schema

    pack = _open_pack(spec)
    click.echo(json.dumps(case_schema(pack.infos), indent=2, sort_keys=True))


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
