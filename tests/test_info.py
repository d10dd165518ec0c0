"""The typed handoff (compiler/check/info.py): what packinfo.py describes is what check time reads back."""

from __future__ import annotations

import json

import pytest

from mtus.compiler.build.packinfo import describe
from mtus.compiler.check.info import INFO_FORMAT, GuidelineInfo
from mtus.dsl import check_file
from tests.conftest import GUIDELINES

FILES = [p for p in sorted(GUIDELINES.glob("*.mtus")) if p.stem != "formulary"]


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_a_description_survives_its_json(path):
    info = describe(check_file(path).model)
    data = json.loads(json.dumps(info.to_json()))  # as a pack stores it
    assert GuidelineInfo.from_json(data) == info
    assert GuidelineInfo.from_json(data).to_json() == data


def test_the_json_keeps_its_keys():
    """Packs written before the typed handoff read the same: the keys are the format, not the classes."""
    data = describe(check_file(GUIDELINES / "tpi.mtus").model).to_json()
    assert set(data) == {"format", "id", "title", "citation", "citation_text", "version", "services", "states",
                         "facts", "tables", "criteria", "in_force"}  # in_force and not_mtus_rank: only when declared
    assert data["in_force"] == {"from": "2009-07-18", "until": "2016-07-28"}
    assert GuidelineInfo.from_json(data).in_force.end == "2016-07-28"
    assert data["facts"]["symptom_onset"] == {"kind": "date", "label": "onset of symptoms", "default": None,
                                              "silence": None, "detail": False}
    assert data["facts"]["prior_injections"]["fields"]["relief"] == {"kind": "percent", "label": "pain relief"}
    per_session = next(c for c in data["criteria"] if c["id"] == "per_session")
    assert per_session["shape"] == {"kind": "limit", "fact": "injections", "op": "<=", "limit": "4"}


def test_another_format_is_refused():
    data = describe(check_file(GUIDELINES / "tpi.mtus").model).to_json()
    with pytest.raises(ValueError, match=f"this mtus reads {INFO_FORMAT}"):
        GuidelineInfo.from_json(dict(data, format=INFO_FORMAT + 1))


def test_a_when_on_whether_a_fact_is_documented_reads_as_a_clause():
    """Not 'the record documents documentation of ...': the fact is or is not documented, in number."""
    from mtus.dsl import check_text

    g = check_text('guideline g "G"\n  source "MTUS" page 1\n\nfacts\n'
                   '  visits_given: count "physical therapy visits already given for this injury"\n'
                   '  onset: date "onset of symptoms"\n  requested: count "visits requested"\n\ncriteria\n'
                   '  when documented visits_given\n    cap: visits_given + requested <= 24\n'
                   '  when not documented onset\n    other: requested <= 6\n', "g.mtus").model
    assert [c.when for c in describe(g).criteria] == [
        ("the physical therapy visits already given for this injury are documented",),
        ("the onset of symptoms is not documented",)]


def test_every_kind_of_fact_is_described_with_its_parts():
    """Each part of a fact's type lands in its own key (describe() passes them to FieldInfo in order)."""
    from mtus.dsl.frontend import check_text

    text = '''guideline demo "Demo guideline"
  source "MTUS Chronic Pain Medical Treatment Guidelines" page 122

facts
  dose: quantity mg "daily dose" default 0 mg
  side: one of {"left", "right"} "side", request detail, checked when stated
  tags: set of {"a", "b"} "tags"
  prior: history "prior visits", required
    date: date "date"
    lasted: duration "how long"

criteria
  c: dose <= 10 mg and side = "left" and tags contains "a" and any(prior where lasted >= 2 weeks)
'''
    r = check_text(text)
    assert r.ok, r.diagnostics
    facts = describe(r.model).to_json()["facts"]
    assert facts["dose"] == {"kind": "quantity", "label": "daily dose", "unit": "mg", "default": "0", "silence": None,
                             "detail": False}
    assert facts["side"] == {"kind": "enum", "label": "side", "members": ["left", "right"], "default": None,
                             "silence": "checked when stated", "detail": True}
    assert facts["tags"] == {"kind": "set", "label": "tags", "element": {"kind": "enum", "members": ["a", "b"]},
                             "default": None, "silence": None, "detail": False}
    assert facts["prior"] == {"kind": "history", "label": "prior visits", "fields": {
        "date": {"kind": "date", "label": "date"}, "lasted": {"kind": "duration", "label": "how long"}},
        "default": None, "silence": "required", "detail": False}
