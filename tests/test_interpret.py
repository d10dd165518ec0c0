"""The reference interpreter on the TPI guideline and on small guidelines for the other constructs."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from mtus.compiler.build.interpret import evaluate
from mtus.compiler.tools.examples import runtime_value
from mtus.compiler.check.runtime import (APPLIES, DOES_NOT_APPLY, MET, NOT_APPLICABLE, NOT_DOCUMENTED, NOT_MET,
                                         Duration, FactValue, Modification)
from mtus.dsl import check_file, check_text
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
#: A previous injection that meets the repeat criteria exactly at their thresholds ("greater than 50%").
PRIOR = {"date": D(2014, 10, 18), "relief": Decimal("50.01"), "relief_lasted": Duration(0, 42), "function_improved": True}


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
    assert [c.outcome for c in r.criteria] == [MET] * 5 + [DOES_NOT_APPLY] * 2 + [NOT_APPLICABLE] * 3
    assert r.unmet_ids() == []


@pytest.mark.parametrize("example", TPI.examples, ids=lambda e: e.name)
def test_the_guidelines_own_examples(example):
    facts = {name: runtime_value(v) for name, v in example.facts}
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
    assert outcomes(case(conservative_care_failed=False))["conservative_care"] == NOT_MET
    assert outcomes(case(conservative_care_failed=...))["conservative_care"] == NOT_DOCUMENTED
    # radiculopathy is presumed absent when the record is silent: met, and the outcome says it was presumed
    assert result("no_radiculopathy", case(radiculopathy=...)).presumed == ("radiculopathy",)


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


# the number of injections is a request detail checked only when stated: left out, the limit does not apply
@pytest.mark.parametrize("n,expected", [(0, MET), (4, MET), (5, NOT_MET), (..., NOT_APPLICABLE)])
def test_per_session_boundary(n, expected):
    assert outcomes(case(injections=n))["per_session"] == expected


# criterion 8 of page 122 is a "not recommended": an exclusion that applies when the request names another substance
@pytest.mark.parametrize("substance,expected", [
    ("local anesthetic", DOES_NOT_APPLY), ("local anesthetic with steroid", DOES_NOT_APPLY), ("saline", APPLIES),
    ("corticosteroid only", APPLIES), (..., DOES_NOT_APPLY),
])
def test_other_injectate(substance, expected):
    assert outcomes(case(substance=substance))["other_injectate"] == expected


@pytest.mark.parametrize("diagnoses,expected", [
    (frozenset({"low back pain"}), DOES_NOT_APPLY),
    (frozenset(), DOES_NOT_APPLY),
    (frozenset({"low back pain", "Fibromyalgia "}), APPLIES),  # free text: case and spacing do not matter
    (frozenset({"  FIBROMYALGIA"}), APPLIES),
    (..., DOES_NOT_APPLY),  # a record silent on the diagnoses: the exclusion does not apply, presumed
])
def test_fibromyalgia_exclusion(diagnoses, expected):
    r = result("fibromyalgia", case(diagnoses=diagnoses))
    assert r.exclude and r.outcome == expected
    assert r.missing == ()
    assert r.presumed == (("diagnoses",) if diagnoses is ... else ())


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
    ({"relief": Decimal("50.0")}, "repeat_relief", NOT_MET),  # "a greater than 50% pain relief"
    ({"relief": Decimal("50.01")}, "repeat_relief", MET),
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


def test_a_history_none_when_silent_reads_as_a_first_injection():
    r = evaluate(TPI, case(prior_injections=...), RD)
    assert [(c.outcome, c.missing, c.presumed) for c in r.criteria[-3:]] == \
        [(NOT_APPLICABLE, (), ("prior_injections",))] * 3
    assert [c.read for c in r.criteria[-3:]] == [(FactValue("prior_injections", (), False),)] * 3
    assert r.certified and [(p.fact, p.kind) for p in r.presumptions] == [("prior_injections", "none_when_silent")]


def test_an_empty_case_is_not_documented_where_the_requester_carries_the_burden():
    r = evaluate(TPI, {}, RD)
    got = {c.id: c.outcome for c in r.criteria}
    assert [cid for cid, o in got.items() if o == NOT_DOCUMENTED] == \
        ["trigger_points", "chronic", "conservative_care"]
    assert got["no_radiculopathy"] == MET  # radiculopathy is presumed absent when the record is silent
    assert got["fibromyalgia"] == DOES_NOT_APPLY and got["per_session"] == got["interval"] == NOT_APPLICABLE
    assert all(c.missing for c in r.criteria if c.outcome == NOT_DOCUMENTED)
    assert all(c.presumed for c in r.criteria if c.outcome != NOT_DOCUMENTED)


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


@pytest.mark.parametrize("x,y,z,inner,outer", [
    (True, True, True, MET, MET),
    (False, None, True, NOT_APPLICABLE, NOT_APPLICABLE),
    (None, False, None, NOT_APPLICABLE, NOT_DOCUMENTED),   # any false condition makes it not applicable
    (None, True, None, NOT_DOCUMENTED, NOT_DOCUMENTED),
    (True, None, None, NOT_DOCUMENTED, NOT_DOCUMENTED),
    # outer is not met for certain, so nothing is read every way: inner stays not documented
    (True, None, False, NOT_DOCUMENTED, NOT_MET),
    # z holds, so each criterion is met wherever its `when`s hold: met in every reading of x and y
    (None, False, True, NOT_APPLICABLE, MET),
    (None, True, True, MET, MET),
    (True, None, True, MET, MET),
])
def test_nested_when(x, y, z, inner, outer):
    facts = {k: v for k, v in {"x": x, "y": y, "z": z}.items() if v is not None}
    got = outcomes(facts, RD, NESTED)
    assert (got["inner"], got["outer"]) == (inner, outer)


def test_when_unknown_names_the_conditions_missing_facts_outer_first():
    r = result("inner", {}, RD, NESTED)
    assert (r.outcome, r.missing, r.readings) == (NOT_DOCUMENTED, ("x", "y"), ())
    assert [f.name for f in r.read] == ["x", "y"]  # the criterion's own condition was not evaluated
    # decided in every reading: the readings are named
    r = result("inner", {"z": True}, RD, NESTED)
    assert (r.outcome, r.missing, r.readings) == (MET, (), ("x", "y"))


# ------------------------------------------------------- tables and lookups
OPIOIDS = guideline("""facts
  drug: text "drug"
  form: one of {"tablet", "patch", "lotion"} "dosage form"
  visits_to_date: count "visits to date"
  visits_requested: count "visits requested"
  regimen: history "opioids taken"
    date: date "date"
    drug: text "opioid"
    daily_mg: number "daily dose in mg"
    weeks: duration "for how long"

tables
  mme_factor: number "morphine milligram equivalent conversion factor"
    "codeine": 0.15
    "Hydrocodone": 1
    "oxycodone  ER": 1.5
  max_weeks: duration "longest course"
    "tablet": 12 weeks
    "patch": 3 months
    "lotion": 2 weeks

criteria
  ceiling: sum(regimen of daily_mg * mme_factor[drug] within 3 months where daily_mg > 0) <= 120
  known: mme_factor[drug] > 0
  course: sum(regimen of weeks) <= max_weeks[form]
  visit_limit: visits_to_date + visits_requested <= 10
    allows fewer visits_requested
""")


def opioids(cid, facts, request_date=RD):
    return result(cid, facts, request_date, OPIOIDS)


@pytest.mark.parametrize("drug,outcome,missing", [
    ("codeine", MET, ()), ("  CODEINE ", MET, ()), ("hydrocodone", MET, ()), ("Oxycodone er", MET, ()),
    ("oxycodone", NOT_DOCUMENTED, ("mme_factor[oxycodone]",)),
    ("Fentanyl  Patch", NOT_DOCUMENTED, ("mme_factor[Fentanyl  Patch]",)),   # the key as the case gave it
    (None, NOT_DOCUMENTED, ("drug",)),
])
def test_a_lookup_matches_its_key_like_text(drug, outcome, missing):
    r = opioids("known", {} if drug is None else {"drug": drug})
    assert (r.outcome, r.missing) == (outcome, missing)
    assert [f.name for f in r.read] == ["drug"]  # a table is not a fact


def row(drug, mg, date=None, **more):
    date = D(2014, 12, 1) if date is None else date
    return {"date": date, "drug": drug, "daily_mg": mg, **more}


def test_sum_of_an_expression_evaluates_it_per_row_with_the_rows_fields():
    # 60 * 1 + 40 * 1.5 = 120: at the ceiling
    assert opioids("ceiling", {"regimen": (row("hydrocodone", 60), row("oxycodone er", 40))}).outcome == MET
    assert opioids("ceiling", {"regimen": (row("hydrocodone", 61), row("oxycodone er", 40))}).outcome == NOT_MET
    # within 3 months: an older row does not count, nor does one `where` excludes (its drug is unknown to the table)
    old = row("hydrocodone", 500, D(2014, 9, 17))
    assert opioids("ceiling", {"regimen": (row("codeine", 800), old, row("fentanyl", 0))}).outcome == MET
    # no rows: zero
    assert opioids("ceiling", {"regimen": ()}).outcome == MET


def test_sum_of_is_not_documented_with_the_union_of_what_the_rows_miss():
    rows = (row("fentanyl", 10), {"date": D(2014, 12, 2), "daily_mg": 5}, row("tramadol", 10), row("fentanyl", 1))
    r = opioids("ceiling", {"regimen": rows})
    assert (r.outcome, r.missing) == (NOT_DOCUMENTED, ("mme_factor[fentanyl]", "regimen.drug", "mme_factor[tramadol]"))
    r = opioids("ceiling", {})
    assert (r.outcome, r.missing) == (NOT_DOCUMENTED, ("regimen",))


def test_sum_of_durations_against_a_duration_table():
    weeks = ({"weeks": Duration(0, 42)}, {"weeks": Duration(0, 42)})
    assert opioids("course", {"regimen": weeks, "form": "tablet"}).outcome == MET        # 12 weeks
    assert opioids("course", {"regimen": weeks + ({"weeks": Duration(0, 1)},), "form": "tablet"}).outcome == NOT_MET
    assert opioids("course", {"regimen": ({"weeks": Duration(3, 0)},), "form": "patch"}).outcome == MET
    r = opioids("course", {"regimen": weeks})
    assert (r.outcome, r.missing) == (NOT_DOCUMENTED, ("form",))


# ------------------------------------------------------ partial certification
def decision(facts, g=OPIOIDS):
    return evaluate(g, facts, RD)


CERTIFIABLE = {"drug": "codeine", "form": "tablet", "regimen": ()}


def test_fewer_visits_are_certified_when_only_the_visit_limit_is_not_met():
    r = decision({**CERTIFIABLE, "visits_to_date": 4, "visits_requested": 12})
    assert (r.certified, r.determination) == (False, "modified")
    assert r.modified == Modification("visits_requested", 6, 12)
    # the outcomes are those of the amount requested
    assert [(c.id, c.outcome) for c in r.reasons] == [("visit_limit", NOT_MET)]
    assert next(f for f in r.reasons[0].read if f.name == "visits_requested").value == 12


@pytest.mark.parametrize("facts", [
    {**CERTIFIABLE, "visits_to_date": 4, "visits_requested": 6},        # certified as requested
    {**CERTIFIABLE, "visits_to_date": 10, "visits_requested": 3},       # no visit left
    {**CERTIFIABLE, "visits_to_date": 9, "visits_requested": 1},        # nothing fewer than 1
    {**CERTIFIABLE, "visits_requested": 12},                            # the limit is not documented
    {**CERTIFIABLE, "visits_to_date": 4, "visits_requested": 12, "drug": "fentanyl"},  # another reason
    {**CERTIFIABLE, "visits_to_date": 4, "visits_requested": 12, "regimen": (row("codeine", 10**6),)},
])
def test_no_modification(facts):
    r = decision(facts)
    assert r.modified is None
    assert r.determination == ("certified" if r.certified else "not certified")


ONE_OF_FEW = guideline("""facts
  sessions: count "sessions requested"
  hours: count "hours requested"
  weekly: finding "weekly sessions"

criteria
  pairs: sessions in {2, 4, 8}
    allows fewer sessions
  per_week: sessions <= 5 or weekly
    allows fewer sessions
  hours_cap: hours <= 10
    allows fewer hours
""")


def test_the_search_takes_the_largest_certifiable_amount_even_when_certification_is_not_monotone():
    r = evaluate(ONE_OF_FEW, {"sessions": 7, "hours": 1, "weekly": False}, RD)
    assert [c.id for c in r.reasons] == ["pairs", "per_week"]
    assert r.modified == Modification("sessions", 4, 7)
    r = evaluate(ONE_OF_FEW, {"sessions": 9, "hours": 1, "weekly": True}, RD)
    assert r.modified == Modification("sessions", 8, 9)


def test_reasons_allowing_fewer_of_different_facts_are_not_modified():
    r = evaluate(ONE_OF_FEW, {"sessions": 7, "hours": 12, "weekly": True}, RD)
    assert [c.id for c in r.reasons] == ["pairs", "hours_cap"] and r.modified is None
    assert evaluate(ONE_OF_FEW, {"sessions": 2, "hours": 12, "weekly": True}, RD).modified == \
        Modification("hours", 10, 12)


# --------------------------------------------------- the ends of the calendar
CALENDAR = guideline("""facts
  onset: date "onset"
  lasted: duration "relief lasted"
  visits: history "visits"
    date: date "date"

criteria
  chronic: time from onset to request.date > 3 months
  follow_up: onset + 1 month < 9999-12-31
  lasted_enough: lasted >= 6 weeks
  recent: count(visits within 1 year) <= 2
  both: lasted between 4 weeks and 2 months
""")


def test_date_arithmetic_off_the_calendar_is_not_documented_never_an_error():
    late = D(9999, 12, 18)
    facts = {"onset": D(9999, 12, 1), "lasted": Duration(1, 0), "visits": ({"date": D(1, 1, 1)},)}
    r = evaluate(CALENDAR, facts, late)
    got = {c.id: (c.outcome, c.missing) for c in r.criteria}
    # onset + 3 months and onset + 1 month are after 9999-12-31: unknown, and nothing is missing from the case
    assert got["chronic"] == (NOT_DOCUMENTED, ())
    assert got["follow_up"] == (NOT_DOCUMENTED, ())
    # 1 month against 6 weeks on the request date's calendar runs off its end
    assert got["lasted_enough"] == (NOT_DOCUMENTED, ())
    assert got["both"] == (NOT_DOCUMENTED, ())
    assert got["recent"] == (MET, ())
    early = D(1, 3, 1)
    r = evaluate(CALENDAR, {**facts, "onset": D(1, 2, 1)}, early)
    got = {c.id: (c.outcome, c.missing) for c in r.criteria}
    assert got["chronic"] == (NOT_MET, ())                # Feb 1 + 3 months is after Mar 1
    assert got["recent"] == (NOT_DOCUMENTED, ())          # the year's window starts before the calendar
    assert got["lasted_enough"] == (NOT_MET, ())          # Mar 1 + 1 month is before Mar 1 + 6 weeks


def test_dates_near_the_ends_that_stay_on_the_calendar_are_decided():
    r = evaluate(CALENDAR, {"onset": D(9999, 9, 17), "lasted": Duration(0, 42), "visits": ()}, D(9999, 12, 18))
    assert {c.id: c.outcome for c in r.criteria} == {
        "chronic": MET, "follow_up": MET, "lasted_enough": MET, "recent": MET,
        "both": NOT_DOCUMENTED}  # 42 days against 2 months needs the 2 months after the request date
