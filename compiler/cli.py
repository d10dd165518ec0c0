"""The `mtus` command line: thin click commands over library functions.

Exit codes: 0 success, 1 the input has problems (diagnostics), 2 usage error.
"""

from __future__ import annotations

import sys

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mtus", prog_name="mtus")
def main() -> None:
    """mtus: write MTUS guideline criteria as code; check them; explain decisions."""


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
    from compiler.lint import lint_paths

    report = lint_paths(paths, fmt)
    click.echo(report.output, nl=False)
    if report.summary:
        click.echo(report.summary, err=True)
    sys.exit(report.exit_code)
