"""The documentation site's build hooks (mkdocs.yml `hooks:`), and the CLI reference.

- docs/cli.md is generated from the click commands (`cli_reference()`); run
  `python tools/mkdocs_hooks.py` after changing a command. The site always shows
  the commands as they are, and tests/test_docs_site.py fails when the committed
  page is out of date.
- ```` ```mtus-error CODE ```` blocks (the bad examples of docs/diagnostics.md) are shown as
  ```` ```mtus ```` blocks marked with their code: Markdown's fenced code does not accept
  words after the language.
- One reference page per bundled guideline (compiler/tools/reference.py) is generated
  into the site under guidelines/, with an index, and added to the navigation after
  "Case files": nothing is committed, so a changed guideline never leaves a stale page.
- The Pygments style sheet for the highlighted ```` ```mtus ```` blocks (the lexer is
  dsl/highlight.py, found by its entry point) is written into the built site.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI_PAGE = ROOT / "docs" / "cli.md"
WIDTH = 88
_ERROR_FENCE = re.compile(r"^```mtus-error[ \t]+(\w+)[^\n]*$", re.M)


CONVENTIONS = """\
## Conventions

- **Standard input.** `-` in place of a file reads it from standard input: the case of
  `mtus check -`, the lines of `--jsonl -`, a `.mtus` file for `lint`, `test`, `compile`,
  `fmt`, and `--pack -` (or `-` as PACK_OR_SOURCES) for `check`, `rationale`, `schema` and
  `template`. Only one of them can be standard input at a time.
- **Colour.** Errors, warnings, hints and test results are coloured on a terminal.
  `--color auto|always|never` (default `auto`: colour only on a terminal, and never when
  the `NO_COLOR` environment variable is set, as <https://no-color.org> asks; `always`
  overrides it). Piped output is never coloured under `auto`.
- **Output for tools.** `--format json` on `check` (the letter), `lint` (diagnostics),
  `test` (every example's result and the coverage) and `rationale` (criteria with the
  facts each reads); `mtus schema --output letter|jsonl` prints the JSON Schema of the
  letters and of the batch records.
- **Exit codes that report the decision.** `mtus check --exit-code` exits 0 when every
  item is certified, 1 when any is not certified or modified, 2 on errors, like
  `git diff --exit-code`; `--strict` makes a case fact no requested guideline reads an error.
- **Long output.** `-q`/`--quiet` on `check`, `lint` and `test` leaves out what is not
  the result (warnings and summaries on standard error; passing examples);
  `mtus test -v` also prints each example's outcome, and `mtus test --run PATTERN` runs
  the examples whose `GUIDELINE: NAME` matches the regular expression.

### Shell completion

Commands, options, file names and guideline ids (`mtus template tp<TAB>`) complete in
bash, zsh and fish. Add the line for your shell to its start-up file:

```sh
eval "$(_MTUS_COMPLETE=bash_source mtus)"     # ~/.bashrc
eval "$(_MTUS_COMPLETE=zsh_source mtus)"      # ~/.zshrc
_MTUS_COMPLETE=fish_source mtus | source      # ~/.config/fish/completions/mtus.fish
```

## mtus
"""


def cli_reference() -> str:
    """docs/cli.md: every command's --help, as `mtus COMMAND --help` prints it."""
    import click

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import mtus.compiler.tools.cli as cli

    group = cli.main
    top = click.Context(group, info_name="mtus", terminal_width=WIDTH, max_content_width=WIDTH,
                        **group.context_settings)

    def help_text(command: click.Command, name: str, parent=None) -> str:
        if parent is None:
            return command.get_help(top)
        ctx = click.Context(command, info_name=name, parent=parent, terminal_width=WIDTH, max_content_width=WIDTH)
        return command.get_help(ctx)

    exit_codes = (cli.__doc__ or "").split("\n\n", 1)[1].strip()
    exit_codes = " ".join(exit_codes.split())
    out = [
        "# Command line reference",
        "",
        "<!-- Generated from the click commands by tools/mkdocs_hooks.py; do not edit by hand:",
        "     run `python tools/mkdocs_hooks.py` after changing a command. -->",
        "",
        "Every command prints its help with `-h` or `--help`; this page is that help, generated",
        "from the commands themselves.",
        "",
        exit_codes,
        "",
        CONVENTIONS,
        "```text",
        help_text(group, "mtus"),
        "```",
    ]
    for name in group.list_commands(top):
        command = group.get_command(top, name)
        out += ["", f"## mtus {name}", "", "```text", help_text(command, name, top), "```"]
    return "\n".join(out) + "\n"


# ------------------------------------------------------- guideline pages
_GUIDELINES: list = []


def bundled_guidelines() -> list:
    """The bundled guidelines' checked models, by id (read once per build)."""
    if not _GUIDELINES:
        from mtus.dsl.frontend import check_paths
        from mtus.dsl.model import Guideline

        results = check_paths([str(ROOT / "guidelines")])
        bad = [r.source.path for r in results if not r.ok]
        if bad:
            raise SystemExit(f"mkdocs hooks: the bundled guidelines have errors: {', '.join(bad)} (run mtus lint)")
        _GUIDELINES.extend(sorted((r.model for r in results if isinstance(r.model, Guideline)), key=lambda g: g.id))
    return _GUIDELINES


def guideline_pages() -> dict[str, str]:
    """guidelines/<id>.md -> its page, and guidelines/index.md."""
    from mtus.compiler.tools.reference import index_page, page

    models = bundled_guidelines()
    pages = {f"guidelines/{g.id}.md": page(g) for g in models}
    pages["guidelines/index.md"] = index_page(models)
    return pages


# ------------------------------------------------------------------- hooks
def on_config(config):
    models = sorted(bundled_guidelines(), key=lambda g: g.title.lower())
    section = {"Guidelines": [{"All guidelines": "guidelines/index.md"}] +
               [{g.title: f"guidelines/{g.id}.md"} for g in models]}
    nav = list(config["nav"] or [])
    after = next((i + 1 for i, entry in enumerate(nav) if "Case files" in entry), len(nav))
    config["nav"] = nav[:after] + [section] + nav[after:]
    return config


def on_files(files, config):
    from mkdocs.structure.files import File

    for uri, content in guideline_pages().items():
        files.append(File.generated(config, uri, content=content))
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri == "cli.md":
        return cli_reference()
    return _ERROR_FENCE.sub(lambda m: f"*Gives `{m.group(1)}`:*\n\n```mtus", markdown)


def on_post_build(config) -> None:
    from pygments.formatters import HtmlFormatter

    css = Path(config["site_dir"]) / "css" / "pygments.css"
    css.parent.mkdir(parents=True, exist_ok=True)
    css.write_text(HtmlFormatter(style="friendly").get_style_defs(".highlight"), encoding="utf-8")


if __name__ == "__main__":
    CLI_PAGE.write_text(cli_reference(), encoding="utf-8")
    print(f"wrote {os.path.relpath(CLI_PAGE)}")
