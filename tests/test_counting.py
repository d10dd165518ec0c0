"""Counting: `count distinct(h.field)` and `count(s)` of a set, alike in both back ends."""

from __future__ import annotations

import datetime

from mtus.compiler.build.codegen import generate_module, load_module
from mtus.compiler.build.interpret import evaluate
from mtus.compiler.build.packinfo import describe
from mtus.dsl import check_text

SOURCE = '''\
guideline aeds "Antiepilepsy drugs"
  source "MTUS Chronic Pain Medical Treatment Guidelines" page 16

facts
  medication_trials: history "first-line medication trials", none when silent
    drug: text "the drug tried"
    failed: finding "the trial failed"
  regions: set of {"neck", "mid back", "low back"} "regions treated this session"

criteria
  two_failed: count distinct(medication_trials.drug where failed and drug in {"amitriptyline", "gabapentin", "pregabalin"}) >= 2
  one_region: count(regions) <= 1
'''
DAY = datetime.date(2020, 1, 2)


def _outcomes(facts):
    g = check_text(SOURCE, "aeds.mtus").model
    want = evaluate(g, facts, DAY)
    module = load_module(generate_module(g), g.id)
    assert module.evaluate(facts, DAY) == want
    assert module.unmet(facts, DAY) == want.unmet_ids()
    return {c.id: (c.outcome, c.missing, tuple(x.value for x in c.computed)) for c in want.criteria}


def trial(drug=None, failed=True):
    return {"failed": failed} if drug is None else {"drug": drug, "failed": failed}


def test_two_different_drugs_failed_counts_a_drug_written_twice_once():
    got = _outcomes({"medication_trials": (trial("Gabapentin"), trial("gabapentin "), trial("pregabalin")),
                     "regions": frozenset({"neck"})})
    assert got == {"two_failed": ("met", (), (2,)), "one_region": ("met", (), (1,))}
    got = _outcomes({"medication_trials": (trial("Gabapentin"), trial("gabapentin"), trial("pregabalin", False),
                                           trial("tramadol")),
                     "regions": frozenset({"neck", "low back"})})
    assert got == {"two_failed": ("not met", (), (1,)), "one_region": ("not met", (), (2,))}


def test_an_entry_without_the_field_leaves_the_count_unknown():
    got = _outcomes({"medication_trials": (trial("gabapentin"), trial())})
    assert got["two_failed"] == ("not documented", ("medication_trials.drug",), (None,))
    assert got["one_region"] == ("not documented", ("regions",), (None,))
    assert _outcomes({})["two_failed"] == ("not met", (), (0,))  # none when silent: no trials


def test_the_letter_names_what_is_counted():
    info = describe(check_text(SOURCE, "aeds.mtus").model)
    labels = [x.label for c in info.criteria for x in c.computed]
    assert labels[0].startswith("the number of different values of drug tried in the first-line medication trials")
    assert labels[1] == "the number of regions treated this session"


def test_a_pick_without_an_entry_is_warned_about_unless_guarded():
    from mtus.dsl.lints import lint
    text = '''\
guideline demo "Demo"
  source "MTUS Chronic Pain Medical Treatment Guidelines" page 80

facts
  changes: history "dose changes", none when silent
    date: date "date"
    improved: finding "improved"
    region: text "region"
  target: text "region treated"

criteria
  a: last(changes).improved
  b: any(changes) and last(changes).improved
  c: any(changes where region = target) and last(changes).improved
  when any(changes where region = target)
    d: last(changes where region = target).improved and first(changes where region = target).improved
    e: last(changes).improved
  f: any(changes) and last(changes where region = target).improved
'''
    g = check_text(text, "demo.mtus").model
    flagged = [(d.code, d.span.line) for d in lint(g) if d.code == "W410"]
    # a bare pick, and a pick of fewer entries than its guard selects; the others are guarded
    assert flagged == [("W410", 12), ("W410", 18)]
