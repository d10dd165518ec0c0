"""Units that convert: quantities multiplied or divided multiply or divide their units, checked at compile time."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from mtus.compiler.build.interpret import evaluate
from mtus.dsl import check_text
from mtus.dsl.passes.units import product, quotient

SOURCE = '''\
guideline opioids "Opioids"
  source "MTUS Chronic Pain Medical Treatment Guidelines" page 86

facts
  regimen: history "opioids taken and their daily doses", required
    drug: text "opioid"
    daily_dose: quantity mg/day "daily dose"

tables
  mme_per_mg: quantity MME/mg "oral morphine milligram equivalents per milligram"
    "hydrocodone": 1 MME/mg
    "oxycodone": 1.5 MME/mg

criteria
  ceiling: sum(regimen of daily_dose * mme_per_mg[drug]) <= 120 MME/day
'''


@pytest.mark.parametrize("a, b, want", [
    ("mg/day", "MME/mg", "MME/day"), ("MME/mg", "mg/day", "MME/day"), ("mg", "MME/mg", "MME"),
    ("mg/kg", "kg", "mg"), ("mg/day", "day", "mg"), ("mg", "mg", None), ("mg/day", "mg", None),
    ("day/mg", "mg/day", ""),
])
def test_units_multiply_and_cancel(a, b, want):
    assert product(a, b) == want


@pytest.mark.parametrize("a, b, want", [
    ("MME/day", "MME/mg", "mg/day"), ("mg", "mg", ""), ("mg", "day", "mg/day"), ("mg/day", "mg/day", ""),
    ("mg", "kg/day", None),
])
def test_units_divide(a, b, want):
    assert quotient(a, b) == want


def test_a_dose_times_its_factor_is_in_mme_a_day():
    result = check_text(SOURCE, "opioids.mtus")
    assert result.ok, result.diagnostics
    g = result.model
    assert g.criteria[0].expr.left.type.unit == "MME/day"
    facts = {"regimen": ({"drug": "oxycodone", "daily_dose": Decimal(60)}, {"drug": "hydrocodone", "daily_dose": 60})}
    r = evaluate(g, facts, datetime.date(2015, 3, 2))
    assert (r.criteria[0].outcome, r.criteria[0].computed[0].value) == ("not met", Decimal("150.0"))


def test_the_dimension_checks_stay():
    wrong = check_text(SOURCE.replace("<= 120 MME/day", "<= 120 mg/day"), "opioids.mtus")
    assert [d.code for d in wrong.diagnostics] == ["E303"]
    assert "MME/day" in wrong.diagnostics[0].message and "mg/day" in wrong.diagnostics[0].message


def test_a_count_of_visits_compares_with_visits_and_not_with_injections():
    text = '''\
guideline pt "PT"
  source "MTUS Postsurgical Treatment Guidelines" section "9792.24.3"

facts
  visits_requested: count visits "visits requested"
  prior: history "prior therapy", none when silent
    visits: count "visits"
  injections: count injections "injections"
  n: count "n"

criteria
  a: visits_requested <= 34 visits
  b: sum(prior.visits) + visits_requested <= 34 visits
  c: visits_requested <= 34
  d: visits_requested + injections <= 3
  e: visits_requested <= injections
  f: n <= 3 visits
'''
    result = check_text(text, "pt.mtus")
    assert [(d.code, d.span.line) for d in result.diagnostics] == [("E302", 15), ("E303", 16), ("E306", 17)]
    assert "declare it `count visits`" in result.diagnostics[2].hint
    ok = check_text(text.split("  d:")[0], "pt.mtus")
    assert ok.ok and ok.model.criteria[1].expr.left.type.unit == "visits"
    r = evaluate(ok.model, {"visits_requested": 12, "prior": ({"visits": 24},)}, datetime.date(2015, 1, 2))
    assert [c.outcome for c in r.criteria] == ["met", "not met", "met"]
