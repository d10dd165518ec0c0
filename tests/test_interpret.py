"""The reference interpreter on the TPI guideline and on small guidelines for the other constructs."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from compiler.interpret import evaluate
from compiler.runtime import MET, NOT_APPLICABLE, NOT_DOCUMENTED, NOT_MET, Duration, FactValue
from dsl import check_file, check_text
from tests.conftest import GUIDELINES

D = datetime.date
RD = D(2014, 12, 18)
TPI = check_file(GUIDELINES / "tpi.mtus").model

#: A case that meets every TPI criterion, first injection.
GOOD = {
    "twitch_response": True, "referred_pain": True, "symptom_onset": D(2014, 1, 6),
    "conservative_care_failed": True, "radiculopathy": False, "injections": 3,
    "substance": "local anesthetic", "diagnoses": frozenset({"myofascial pain syndrome"}),
    "prior_injections": (),
}
#: A previous injection that meets the repeat criteria exactly at their thresholds.
PRIOR = {"date": D(2014, 10, 18), "relief": 50, "relief_lasted": Duration(0, 42), "function_improved": True}


def outcomes(facts, request_date=RD, guideline=TPI):
    return {c.id: c.outcome for c in evaluate(guideline, facts, request_date).criteria}


def result(cid, facts, request_date=RD, guideline=TPI):
    return next(c for c in evaluate(guideline, facts, request_date).criteria if c.id == cid)


def case(**changes):
    facts = dict(GOOD)
    for k, v in changes.items():
        if v is ...:
            facts.pop(k, None)
        else:
            facts[k] = v
    return facts


# --------------------------------------------------------------------- TPI
def test_a_first_injection_meeting_everything_is_certified():
    r = evaluate(TPI, GOOD, RD)
    assert r.certified
    assert [c.outcome for c in r.criteria] == [MET] * 7 + [NOT_APPLICABLE] * 3
    assert r.unmet_ids() == []


@pytest.mark.parametrize("example", TPI.examples, ids=lambda e: e.name)
def test_the_guidelines_own_examples(example):
    facts = dict(example.facts)
    got = evaluate(TPI, facts, example.request_date)
    assert got.certified == example.certified
    for cid, outcome in example.reasons:
        assert outcomes(facts, example.request_date)[cid] == outcome


def test_false_decides_an_and_even_when_the_other_side_is_missing():
    r = result("trigger_points", case(twitch_response=False, referred_pain=...))
    assert (r.outcome, r.missing) == (NOT_MET, ())


def test_not_documented_names_exactly_the_missing_facts():
    r = result("trigger_points", case(twitch_response=..., referred_pain=True))
    assert (r.outcome, r.missing) == (NOT_DOCUMENTED, ("twitch_response",))
    r = result("trigger_points", case(twitch_response=..., referred_pain=...))
    assert r.missing == ("twitch_response", "referred_pain")


def test_read_lists_the_facts_with_their_values_in_first_use_order():
    r = result("trigger_points", case(referred_pain=...))
    assert r.read == (FactValue("twitch_response", True, True), FactValue("referred_pain", None, False))


def test_a_finding_documented_absent_is_not_the_same_as_not_documented():
    assert outcomes(case(radiculopathy=False))["no_radiculopathy"] == MET
    assert outcomes(case(radiculopathy=True))["no_radiculopathy"] == NOT_MET
    assert outcomes(case(radiculopathy=...))["no_radiculopathy"] == NOT_DOCUMENTED
    assert outcomes(case(conservative_care_failed=False))["conservative_care"] == NOT_MET


@pytest.mark.parametrize("onset,request_date,expected", [
    (D(2014, 9, 18), RD, NOT_MET),       # exactly 3 months: not more than 3 months
    (D(2014, 9, 17), RD, MET),
    (D(2014, 11, 30), D(2015, 2, 28), NOT_MET),  # Nov 30 + 3 months = Feb 28 (clamped)
    (D(2014, 11, 28), D(2015, 2, 28), NOT_MET),
    (D(2014, 11, 27), D(2015, 2, 28), MET),
    (D(2015, 11, 29), D(2016, 2, 29), NOT_MET),  # leap year: Nov 29 + 3 months = Feb 29
    (D(2015, 11, 28), D(2016, 2, 29), MET),
    (D(2014, 1, 1), RD, MET),
    (D(2015, 1, 1), D(2014, 12, 31), NOT_MET),   # onset after the request
])
def test_chronic_counts_calendar_months_from_the_onset(onset, request_date, expected):
    assert outcomes(case(symptom_onset=onset), request_date)["chronic"] == expected


@pytest.mark.parametrize("n,expected", [(0, MET), (4, MET), (5, NOT_MET), (..., NOT_DOCUMENTED)])
def test_per_session_boundary(n, expected):
    assert outcomes(case(injections=n))["per_session"] == expected


@pytest.mark.parametrize("substance,expected", [
    ("local anesthetic", MET), ("local anesthetic with steroid", MET), ("saline", NOT_MET),
    ("corticosteroid only", NOT_MET), (..., NOT_DOCUMENTED),
])
def test_local_anesthetic(substance, expected):
    assert outcomes(case(substance=substance))["local_anesthetic"] == expected


@pytest.mark.parametrize("diagnoses,expected", [
    (frozenset({"low back pain"}), MET),
    (frozenset(), MET),
    (frozenset({"low back pain", "Fibromyalgia "}), NOT_MET),  # free text: case and spacing do not matter
    (frozenset({"  FIBROMYALGIA"}), NOT_MET),
    (..., NOT_DOCUMENTED),
])
def test_fibromyalgia_exclusion(diagnoses, expected):
    r = result("fibromyalgia", case(diagnoses=diagnoses))
    assert r.exclude and r.outcome == expected
    assert r.missing == (("diagnoses",) if expected == NOT_DOCUMENTED else ())


def repeat(**prior):
    row = {k: v for k, v in {**PRIOR, **prior}.items() if v is not ...}
    return case(prior_injections=(row,))


def test_a_repeat_injection_at_the_thresholds_is_certified():
    r = evaluate(TPI, repeat(), RD)
    assert r.certified, r.unmet_ids()
    assert [c.outcome for c in r.criteria[-3:]] == [MET, MET, MET]


@pytest.mark.parametrize("prior,cid,expected", [
    ({"relief": 49}, "repeat_relief", NOT_MET),
    ({"relief": Decimal("49.99")}, "repeat_relief", NOT_MET),
    ({"relief": Decimal("50.0")}, "repeat_relief", MET),
    ({"relief_lasted": Duration(0, 41)}, "repeat_relief", NOT_MET),
    ({"relief_lasted": Duration(2, 0)}, "repeat_relief", MET),
    # 1 month from the request date (Dec 18 -> Jan 18) is shorter than 6 weeks (Jan 29)
    ({"relief_lasted": Duration(1, 0)}, "repeat_relief", NOT_MET),
    ({"function_improved": False}, "repeat_function", NOT_MET),
    ({"date": D(2014, 10, 19)}, "interval", NOT_MET),  # one day short of 2 months
    ({"date": D(2014, 10, 17)}, "interval", MET),
])
def test_repeat_criteria(prior, cid, expected):
    assert outcomes(repeat(**prior))[cid] == expected


def test_interval_clamps_at_month_end():
    # Dec 31 + 2 months = Feb 28 (2015): an injection on Dec 31 allows a new one on Feb 28
    assert outcomes(repeat(date=D(2014, 12, 31)), D(2015, 2, 28))["interval"] == MET
    assert outcomes(repeat(date=D(2014, 12, 31)), D(2015, 2, 27))["interval"] == NOT_MET


def test_last_injection_is_the_latest_by_date_not_list_order():
    older = {**PRIOR, "date": D(2014, 1, 2), "relief": 90}
    latest = {**PRIOR, "relief": 20}
    assert outcomes(case(prior_injections=(latest, older)))["repeat_relief"] == NOT_MET
    assert outcomes(case(prior_injections=(older, latest)))["repeat_relief"] == NOT_MET


def test_a_field_missing_from_the_last_injection_is_named_history_dot_field():
    r = result("repeat_relief", repeat(relief=...))
    assert (r.outcome, r.missing) == (NOT_DOCUMENTED, ("prior_injections.relief",))
    # the other half is false: false and unknown is false
    r = result("repeat_relief", repeat(relief=..., relief_lasted=Duration(0, 7)))
    assert (r.outcome, r.missing) == (NOT_MET, ())


def test_an_injection_without_a_date_leaves_last_unknown():
    undated = {k: v for k, v in PRIOR.items() if k != "date"}
    r = evaluate(TPI, case(prior_injections=(PRIOR, undated)), RD)
    for c in r.criteria[-3:]:
        assert (c.outcome, c.missing) == (NOT_DOCUMENTED, ("prior_injections.date",))


def test_no_prior_injections_makes_the_repeat_criteria_not_applicable():
    r = evaluate(TPI, GOOD, RD)
    assert [(c.outcome, c.read) for c in r.criteria[-3:]] == \
        [(NOT_APPLICABLE, (FactValue("prior_injections", (), True),))] * 3


def test_undocumented_history_makes_the_when_unknown():
    r = evaluate(TPI, case(prior_injections=...), RD)
    assert [(c.outcome, c.missing) for c in r.criteria[-3:]] == [(NOT_DOCUMENTED, ("prior_injections",))] * 3
    assert not r.certified and r.unmet_ids() == ["repeat_relief", "repeat_function", "interval"]


def test_an_empty_case_is_not_documented_throughout():
    r = evaluate(TPI, {}, RD)
    assert {c.outcome for c in r.criteria} == {NOT_DOCUMENTED}
    assert all(c.missing for c in r.criteria)


def test_the_wall_clock_is_never_read():
    # the same case decided "today" and ten years later differs only through request.date
    assert outcomes(GOOD, RD) == outcomes(GOOD, RD)
    assert outcomes(case(symptom_onset=D(2014, 12, 1)), RD)["chronic"] == NOT_MET
    assert outcomes(case(symptom_onset=D(2014, 12, 1)), D(2024, 12, 18))["chronic"] == MET


# ------------------------------------------------------ other constructs
HEADER = 'guideline g "G"\n  source "MTUS" page 1\n\n'


def guideline(text: str):
    r = check_text(HEADER + text, "g.mtus")
    assert r.ok, [d.message for d in r.diagnostics]
    return r.model


SMALL = guideline("""facts
  pain: finding "pain" default absent
  visits: history "visits"
    date: date "date"
    relief: percent "relief"
  requested: count "requested"
  mme: quantity mg "morphine equivalents"
  symptom: text "symptom"
  a: finding "a"
  b: finding "b"
  c: finding "c"

criteria
  no_pain: not pain
  said_pain: documented pain
  year: count(visits within 12 months) + requested <= 4
  recent_good: any(visits within 6 weeks where relief >= 50%)
  all_good: all(visits where relief >= 30%)
  total: sum(visits.relief) between 50% and 150%
  dose: mme <= 120 mg
  symptom_is: symptom = "Low Back Pain"
  two: at least 2 of {a, b, c}
""")


def small(cid, facts, request_date=RD):
    return result(cid, facts, request_date, SMALL)


def test_a_default_is_used_when_the_fact_is_absent():
    r = small("no_pain", {})
    assert (r.outcome, r.read) == (MET, (FactValue("pain", False, False),))
    assert small("no_pain", {"pain": True}).outcome == NOT_MET
    # `documented` asks the case itself, so a default does not make it documented
    assert small("said_pain", {}).outcome == NOT_MET
    assert small("said_pain", {"pain": False}).outcome == MET


VISITS = (
    {"date": D(2013, 12, 18), "relief": 60},   # first day of the 12-month window
    {"date": D(2013, 12, 17), "relief": 70},   # one day outside
    {"date": D(2014, 11, 6), "relief": 50},    # first day of the 6-week window
)


def test_count_within_a_window_plus_requested():
    assert small("year", {"visits": VISITS, "requested": 2}).outcome == MET
    assert small("year", {"visits": VISITS, "requested": 3}).outcome == NOT_MET
    r = small("year", {"visits": VISITS})
    assert (r.outcome, r.missing) == (NOT_DOCUMENTED, ("requested",))


def test_any_within_where_at_the_window_edge():
    assert small("recent_good", {"visits": VISITS}).outcome == MET
    assert small("recent_good", {"visits": VISITS[:2]}).outcome == NOT_MET
    r = small("recent_good", {"visits": ({"date": D(2014, 12, 1)},)})
    assert (r.outcome, r.missing) == (NOT_DOCUMENTED, ("visits.relief",))


def test_all_and_sum():
    assert small("all_good", {"visits": VISITS}).outcome == MET
    assert small("all_good", {"visits": VISITS + ({"relief": 10},)}).outcome == NOT_MET
    assert small("all_good", {"visits": ()}).outcome == MET
    assert small("total", {"visits": VISITS[:2]}).outcome == MET     # 130%
    assert small("total", {"visits": VISITS}).outcome == NOT_MET     # 180%
    r = small("total", {"visits": VISITS + ({"date": RD},)})
    assert (r.outcome, r.missing) == (NOT_DOCUMENTED, ("visits.relief",))


def test_quantities_and_text():
    assert small("dose", {"mme": 120}).outcome == MET
    assert small("dose", {"mme": Decimal("120.5")}).outcome == NOT_MET
    assert small("symptom_is", {"symptom": "low  back pain"}).outcome == MET
    assert small("symptom_is", {"symptom": "neck pain"}).outcome == NOT_MET


@pytest.mark.parametrize("a,b,c,expected,missing", [
    (True, True, None, MET, ()),
    (True, None, None, NOT_DOCUMENTED, ("b", "c")),
    (False, False, None, NOT_MET, ()),
    (True, False, None, NOT_DOCUMENTED, ("c",)),
])
def test_at_least(a, b, c, expected, missing):
    facts = {k: v for k, v in {"a": a, "b": b, "c": c}.items() if v is not None}
    r = small("two", facts)
    assert (r.outcome, r.missing) == (expected, missing)


NESTED = guideline("""facts
  x: finding "x"
  y: finding "y"
  z: finding "z"

criteria
  when x
    when y
      inner: z
    outer: z
""")


@pytest.mark.parametrize("x,y,inner,outer", [
    (True, True, MET, MET),
    (False, None, NOT_APPLICABLE, NOT_APPLICABLE),
    (None, False, NOT_APPLICABLE, NOT_DOCUMENTED),   # any false condition makes it not applicable
    (None, True, NOT_DOCUMENTED, NOT_DOCUMENTED),
    (True, None, NOT_DOCUMENTED, MET),
])
def test_nested_when(x, y, inner, outer):
    facts = {k: v for k, v in {"x": x, "y": y, "z": True}.items() if v is not None}
    got = outcomes(facts, RD, NESTED)
    assert (got["inner"], got["outer"]) == (inner, outer)


def test_when_unknown_names_the_conditions_missing_facts_outer_first():
    r = result("inner", {"z": True}, RD, NESTED)
    assert (r.outcome, r.missing) == (NOT_DOCUMENTED, ("x", "y"))
    assert [f.name for f in r.read] == ["x", "y"]  # the criterion's own condition was not evaluated
