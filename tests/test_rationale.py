"""The guideline rationale of every bundled guideline: the prose a clinician checks against the page."""

from __future__ import annotations

import pytest

from mtus.compiler.check.rationale import Explainer, join
from tests.conftest import GUIDELINES

IDS = sorted(p.stem for p in GUIDELINES.glob("*.mtus") if p.stem != "formulary")  # the formulary is vocabulary


@pytest.mark.parametrize("gid", IDS)
def test_guideline_rationale(source_pack, gid, snapshot):
    g = source_pack.guidelines[gid]
    ex = Explainer(g.info)
    assert ex.outline() == snapshot(name="outline")
    assert " ".join(ex.criteria_sentences()) == snapshot(name="letter_statement")


def test_every_criterion_appears_in_the_rationale(source_pack):
    for gid, g in source_pack.guidelines.items():
        outline = Explainer(g.info).outline()
        for c in g.info.criteria:
            assert f"[{c.id}, line {c.line}]" in outline, (gid, c.id)


def test_one_joiner_sets_off_items_that_hold_commas():
    # the pack's criterion phrases (compile time) and the letters (check time) use this one joiner
    assert join(["ankle or foot", "knee"], "or") == "ankle or foot or knee"
    assert join(["a", "b", "c"]) == "a, b, and c"
    assert join(["ankle or foot", "forearm, wrist or hand", "knee"], "or") == \
        "ankle or foot; forearm, wrist or hand; or knee"
    assert join(["", "a"]) == "a"



@pytest.mark.parametrize("label,one", [
    ("levels to be injected in the session", "level to be injected in the session"),
    ("epidural steroid injections", "epidural steroid injection"),
    ("hours of home health care per week", "hour of home health care per week"),
    ("therapies", "therapy"),
    ("sessions (full days)", "session (full days)"),
    ("units of glass", "unit of glass"),
])
def test_a_count_of_one_names_its_head_noun_in_the_singular(label, one):
    from mtus.compiler.check.rationale import _singular
    assert _singular(label) == one
