"""Per-guideline reference pages (docs site) and `mtus rationale --format json`: true to the guidelines."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from mtus.compiler.check import api
from mtus.compiler.check.casefile import parse_case_text
from mtus.compiler.tools.cli import main
from mtus.compiler.tools.reference import index_page, page
from mtus.dsl.frontend import check_paths
from mtus.dsl.model import Guideline
from tests.conftest import GUIDELINES, ROOT

MODELS = sorted((r.model for r in check_paths([str(GUIDELINES)]) if isinstance(r.model, Guideline)),
                key=lambda g: g.id)


@pytest.mark.parametrize("g", MODELS, ids=[g.id for g in MODELS])
def test_the_page_has_criteria_facts_examples_and_citation(g):
    text = page(g)
    assert text.startswith(f"# {g.title}\n")
    for heading in ("## Criteria", "## Facts", "## Citation"):
        assert heading in text
    for c in g.criteria:
        assert f"(`{c.id}`" in text
    for f in g.facts:
        assert f"| `{f.name}` |" in text
    assert g.citation.describe() in text
    if g.version:
        assert f"({g.version} edition)" in text


@pytest.mark.parametrize("g", [g for g in MODELS if g.examples], ids=[g.id for g in MODELS if g.examples])
def test_each_example_case_on_the_page_decides_as_the_example_expects(g, source_pack):
    text = page(g)
    sections = text.split("\n### ")[1:]
    assert len(sections) == len(g.examples)
    for ex, section in zip(g.examples, sections):
        case = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
        letter = api.check_case(parse_case_text(case, f"{g.id}: {ex.name}"), source_pack)
        (d,) = letter.decisions
        assert letter.case.warnings == ()
        if ex.modified:
            assert d.modified is not None and d.modified.certified == ex.modified, ex.name
        else:
            assert d.certified == ex.certified, ex.name
        assert {(r.id, r.outcome) for r in d.result.reasons} <= set(ex.reasons), ex.name


def test_the_index_links_every_guideline():
    text = index_page(MODELS)
    for g in MODELS:
        assert f"]({g.id}.md)" in text


def test_rationale_json_names_the_facts_each_criterion_reads(monkeypatch):
    monkeypatch.chdir(ROOT)
    r = CliRunner().invoke(main, ["rationale", "--guideline", "tpi", "--format", "json"])
    assert r.exit_code == 0
    (tpi,) = json.loads(r.stdout)
    criteria = {c["id"]: c for c in tpi["criteria"]}
    assert criteria["trigger_points"]["reads"] == ["twitch_response", "referred_pain"]
    assert tpi["facts"]["twitch_response"]["silence_means"].startswith("not documented")
    assert tpi["citation"]["pages"] == "122"
