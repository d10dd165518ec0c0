"""The documentation's examples are true: every ```mtus block checks, every bad example fails as stated.

Conventions (stated at the top of docs/language.md and docs/diagnostics.md):
- a ```mtus block starting with `guideline` or `formulary` (after any comment lines)
  is a file and must have no errors;
- any other ```mtus block is a fragment checked inside the `fragments` guideline
  of docs/language.md (a `facts` fragment adds declarations, and its own `criteria`
  if it has them; any other fragment is the criteria);
- a ```mtus-error CODE block must produce CODE (E100 blocks are saved as Latin-1,
  and `⟨WORD ×N⟩` stands for WORD written N times).
"""

from __future__ import annotations

import re

import pytest

from mtus.compiler.tools.lint import with_lints
from mtus.dsl import check_file, check_text
from mtus.dsl.codes import CODES, PACK_CODES
from mtus.dsl.diagnostics import render_text
from tests.conftest import ROOT

DOCS = sorted((ROOT / "docs").glob("*.md"))
_FENCE = re.compile(r"^```(mtus(?:-error)?)([^\n]*)\n(.*?)^```", re.DOTALL | re.MULTILINE)


def blocks(kind: str):
    out = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for m in _FENCE.finditer(text):
            if m.group(1) == kind:
                line = text.count("\n", 0, m.start()) + 1
                out.append((f"{path.name}:{line}", m.group(2).split(), m.group(3)))
    return out


def _context() -> tuple[str, str]:
    """The `fragments` guideline of docs/language.md, split before its criteria section."""
    for _where, _info, body in blocks("mtus"):
        if body.startswith('guideline fragments "'):
            head, _, criteria = body.partition("\ncriteria\n")
            return head + "\n", criteria
    raise AssertionError("docs/language.md has no `guideline fragments` block")


def first_word(body: str) -> str:
    lines = [line for line in body.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return lines[0].split()[0] if lines else ""


def is_file(body: str) -> bool:
    return first_word(body) in ("guideline", "formulary")


def as_file(body: str) -> str:
    """A fragment wrapped in the fragments guideline; a file as it is."""
    if is_file(body):
        return body
    head, criteria = _context()
    if body.startswith("facts\n"):
        facts, _, own_criteria = body.partition("\n")[2].partition("criteria\n")
        return head + facts + "\ncriteria\n" + (own_criteria or criteria)
    indented = "".join("  " + line if line.strip() else line for line in body.splitlines(True))
    return head + "criteria\n" + indented


def expand(body: str) -> str:
    return re.sub(r"⟨(\S+) ×(\d+)⟩", lambda m: " ".join([m.group(1)] * int(m.group(2))), body)


def show(result) -> str:
    return render_text(result.diagnostics, {result.source.path: result.source})


GOOD = blocks("mtus")
BAD = blocks("mtus-error")


def test_the_docs_have_examples():
    assert len(GOOD) >= 40
    assert len(BAD) >= len(CODES) - 1


@pytest.mark.parametrize("where, info, body", GOOD, ids=[w for w, _, _ in GOOD])
def test_mtus_block_checks_without_errors(where, info, body):
    result = check_text(as_file(body), where)
    assert not [d for d in result.diagnostics if d.is_error], show(result)
    assert result.model is not None
    kind = "formulary" if first_word(body) == "formulary" else "guideline"
    assert type(result.model).__name__.lower() == kind


def test_the_docs_show_every_kind_of_file():
    kinds = {type(check_text(as_file(body), where).model).__name__ for where, _, body in GOOD if is_file(body)}
    assert kinds == {"Guideline", "Formulary"}


@pytest.mark.parametrize("where, info, body", BAD, ids=[w for w, _, _ in BAD])
def test_bad_example_gives_its_code(where, info, body, tmp_path):
    code, *options = info
    assert code in CODES
    text = as_file(expand(body))
    if "latin-1" in options:
        path = tmp_path / "bad.mtus"
        path.write_bytes(text.encode("latin-1"))
        result = check_file(path)
    else:
        result = check_text(text, where)
    codes = {d.code for d in with_lints(result)}
    assert code in codes and codes - {"W401"} <= {code}, show(result)  # that problem and no other


def test_every_code_has_a_bad_example_and_a_section():
    documented = {info[0] for _, info, _ in BAD}
    assert documented == set(CODES) - {"E999"} - PACK_CODES  # pack-level codes: tests/test_strict_facts.py
    text = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    for code in CODES:
        assert f"## {code}" in text, code


def test_fragment_context_is_itself_valid():
    head, criteria = _context()
    result = check_text(head + "criteria\n" + criteria)
    assert result.ok, show(result)


def test_architecture_names_real_modules():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:dsl|compiler|grammar)/[\w/]+\.(?:py|lark))`", text))
    assert len(named) >= 15
    for module in named:
        assert (ROOT / module).is_file(), module
    modules = sorted((ROOT / "dsl").rglob("*.py")) + sorted((ROOT / "compiler").rglob("*.py"))
    for module in modules + [ROOT / "grammar" / "mtus.lark"]:
        rel = module.relative_to(ROOT).as_posix()
        if module.name != "__init__.py":
            assert rel in named, f"{rel} is not in docs/architecture.md"
