"""The documentation site (mkdocs.yml, docs/): it builds strictly, and what it shows is true.

- `mkdocs build --strict` succeeds (broken links, missing pages and pages left out of
  the navigation are errors), and the ```mtus blocks come out highlighted by the
  lexer of dsl/highlight.py;
- docs/cli.md is the help of the click commands as they are now;
- every complete guideline shown in the docs passes its own examples (each ```mtus
  block is already checked by tests/test_docs.py);
- the tutorial's command transcripts are what the commands print;
- the README and the docs give the one command that builds the site.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from mtus.compiler.tools.cli import main
from mtus.compiler.tools.examples import run_examples
from mtus.dsl import check_text
from mtus.dsl.model import Guideline
from tests.conftest import ROOT
from tests.test_docs import GOOD, is_file

TUTORIAL = ROOT / "docs" / "tutorial.md"


def hooks():
    spec = importlib.util.spec_from_file_location("mkdocs_hooks", ROOT / "tools" / "mkdocs_hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path):
    site = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    tutorial = (site / "tutorial" / "index.html").read_text(encoding="utf-8")
    # highlighted by dsl/highlight.py: section keywords, types and comments get their classes
    assert '<span class="kd">guideline</span>' in tutorial
    assert '<span class="kt">finding</span>' in tutorial
    assert '<span class="err">' not in tutorial
    diagnostics = (site / "diagnostics" / "index.html").read_text(encoding="utf-8")
    assert "Gives <code>E201</code>" in diagnostics  # the bad examples are shown, marked with their code
    cli = (site / "cli" / "index.html").read_text(encoding="utf-8")
    assert "mtus fmt" in cli and "mtus lsp" in cli
    assert ".highlight .kd" in (site / "css" / "pygments.css").read_text(encoding="utf-8")
    # Material for MkDocs: search index, copy buttons on code, a dark scheme to switch to
    home = (site / "index.html").read_text(encoding="utf-8")
    assert '"content.code.copy"' in home and 'data-md-color-scheme="slate"' in home
    assert (site / "search" / "search_index.json").is_file()
    # a generated reference page per bundled guideline, in the navigation
    for gid in ("tpi", "esi", "opioids"):
        page = (site / "guidelines" / gid / "index.html").read_text(encoding="utf-8")
        assert "Criteria for use" in page and "mtus template " + gid in page
    assert 'href="guidelines/tpi/"' in home or 'href="./guidelines/tpi/"' in home


def test_every_page_is_in_the_navigation():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = set(re.findall(r"^  - [^:]+: (\S+\.md)$", config, re.M))
    assert nav == {p.name for p in (ROOT / "docs").glob("*.md")}


def test_cli_reference_is_up_to_date():
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == hooks().cli_reference(), \
        "docs/cli.md is out of date: run `python tools/mkdocs_hooks.py`"


def test_cli_reference_has_every_command():
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for name in main.commands:
        assert f"## mtus {name}\n" in text
        assert f"Usage: mtus {name} " in text


FULL = [(where, body) for where, _info, body in GOOD
        if is_file(body) and "\nexample " in body and isinstance(check_text(body).model, Guideline)]


def test_the_docs_show_complete_guidelines_with_examples():
    assert len(FULL) >= 2
    assert any(where.startswith("tutorial.md") for where, _ in FULL)


@pytest.mark.parametrize("where, body", FULL, ids=[w for w, _ in FULL])
def test_complete_guidelines_in_the_docs_pass_their_examples(where, body):
    result = check_text(body, where)
    report = run_examples([result.model])
    assert report.runs and not report.failed, [r.problems for r in report.failed]


def transcripts():
    """(command, expected output, the guideline shown above it) for each `$ mtus ...` block of the tutorial."""
    text = TUTORIAL.read_text(encoding="utf-8")
    out = []
    current = None
    for m in re.finditer(r"^```(\S*)[^\n]*\n(.*?)^```", text, re.S | re.M):
        lang, body = m.group(1), m.group(2)
        if lang in ("mtus", "mtus-error") and body.startswith("guideline my_tpi"):
            current = body
        elif lang == "text" and body.startswith("$ mtus ") and current is not None:
            command, _, output = body.partition("\n")
            out.append((command[2:], output, current))
    return out


TRANSCRIPTS = transcripts()


def test_the_tutorial_has_transcripts():
    commands = [c for c, _, _ in TRANSCRIPTS]
    assert "mtus lint tpi.mtus" in commands and "mtus test --coverage tpi.mtus" in commands


@pytest.mark.parametrize("command, expected, guideline", TRANSCRIPTS, ids=[c for c, _, _ in TRANSCRIPTS])
def test_tutorial_transcript(command, expected, guideline, tmp_path, monkeypatch):
    if "..." in expected or "messy.mtus" in command:
        pytest.skip("an excerpt")
    monkeypatch.chdir(tmp_path)
    if "E201" not in expected:
        guideline = guideline.replace("refered_pain", "referred_pain")  # the tutorial fixes the typo
    (tmp_path / "tpi.mtus").write_text(guideline, encoding="utf-8")
    r = CliRunner().invoke(main, command.split()[1:])
    assert r.stdout + r.stderr == expected


def test_the_docs_build_command_is_documented():
    command = "pip install '.[docs]'"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    for text in (readme, index):
        assert command in text and "mkdocs build --strict" in text
    assert "mkdocs build --strict" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
