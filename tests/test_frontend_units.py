"""What the front end guarantees about meaning: literal types, enums, names, citations, `when`."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from mtus.dsl import ast, check_text, model
from mtus.dsl.passes.context import did_you_mean
from mtus.dsl.passes.literals import literal
from mtus.dsl.passes.validate import constant_truth
from mtus.dsl.source import Span

HEAD = 'guideline g "G"\n  source "Chronic Pain Guidelines" section "2" page 122\n'
FACTS = '''\
facts
  n: count "injections"
  score: number "pain score"
  relief: percent "relief"
  dose: quantity mg "daily dose"
  lasted: duration "relief lasted"
  onset: date "onset"
  f: finding "a finding"
  g: finding "another finding"
  note: text "a note"
  route: one of {"oral", "topical"} "route"
  drugs: set of text "drugs"
  regions: set of {"neck", "knee"} "regions"
  h: history "prior injections"
    date: date "injection date"
    relief: percent "relief after it"
    sessions: count "sessions"
'''


def checked(criteria: str, facts: str = FACTS, extra: str = ""):
    result = check_text(HEAD + facts + "criteria\n" + criteria + extra, "u.mtus")
    errors = [d for d in result.diagnostics if d.is_error]
    assert not errors, [(d.code, d.message) for d in errors]
    return result.model


def errors(criteria: str, facts: str = FACTS, extra: str = "") -> list[str]:
    result = check_text(HEAD + facts + "criteria\n" + criteria + extra, "u.mtus")
    return [d.code for d in result.diagnostics if d.is_error]


def expr(condition: str) -> model.Expr:
    return checked(f"  c: {condition}\n").criteria[0].expr


SPAN = Span("x", 0, 0, 1, 1, 1, 1)


# ------------------------------------------------------------------ literals
@pytest.mark.parametrize("lit, kind, value, text", [
    (ast.NumberLit(Decimal("4"), "4", None, SPAN), model.COUNT, 4, "4"),
    (ast.NumberLit(Decimal("4.5"), "4.5", None, SPAN), model.NUMBER, Decimal("4.5"), "4.5"),
    (ast.PercentLit(Decimal("50"), "50", SPAN), model.PERCENT, Decimal("50"), "50%"),
    (ast.NumberLit(Decimal("3"), "3", "months", SPAN), model.DURATION, model.Period(3, 0), "3 months"),
    (ast.NumberLit(Decimal("1"), "1", "month", SPAN), model.DURATION, model.Period(1, 0), "1 month"),
    (ast.NumberLit(Decimal("2"), "2", "weeks", SPAN), model.DURATION, model.Period(0, 14), "2 weeks"),
    (ast.NumberLit(Decimal("10"), "10", "days", SPAN), model.DURATION, model.Period(0, 10), "10 days"),
    (ast.NumberLit(Decimal("1"), "1", "year", SPAN), model.DURATION, model.Period(12, 0), "1 year"),
    (ast.NumberLit(Decimal("2"), "2", "Years", SPAN), model.DURATION, model.Period(24, 0), "2 years"),
    (ast.NumberLit(Decimal("120"), "120", "MME/day", SPAN), model.QUANTITY, Decimal("120"), "120 MME/day"),
    (ast.StringLit("saline", SPAN), model.TEXT, "saline", "saline"),
    (ast.DateLit("2014-12-18", SPAN), model.DATE, datetime.date(2014, 12, 18), "2014-12-18"),
    (ast.FindingLit(True, SPAN), model.BOOL, True, "present"),
    (ast.FindingLit(False, SPAN), model.BOOL, False, "absent"),
])
def test_literal_types(lit, kind, value, text):
    c = literal(lit)
    assert (c.type.kind, c.value, c.text) == (kind, value, text)
    assert type(c.value) is type(value)


def test_quantity_literal_keeps_its_unit_exactly():
    c = literal(ast.NumberLit(Decimal("0.25"), "0.25", "mg", SPAN))
    assert c.type == model.Type(model.QUANTITY, unit="mg") and c.value == Decimal("0.25")


@pytest.mark.parametrize("text", ["2014-02-30", "2014-13-01", "2015-02-29", "0000-01-01"])
def test_impossible_dates_are_e305(text):
    assert literal(ast.DateLit(text, SPAN)).code == "E305"


def test_leap_day_is_a_date():
    assert literal(ast.DateLit("2016-02-29", SPAN)).value == datetime.date(2016, 2, 29)


@pytest.mark.parametrize("n, unit", [(101, "years"), (1201, "months"), (5300, "weeks"), (40000, "days")])
def test_absurdly_long_durations_are_e305(n, unit):
    assert literal(ast.NumberLit(Decimal(n), str(n), unit, SPAN)).code == "E305"


def test_a_hundred_years_is_a_duration():
    assert literal(ast.NumberLit(Decimal(100), "100", "years", SPAN)).value == model.Period(1200, 0)


def test_fractional_durations_are_e305():
    assert literal(ast.NumberLit(Decimal("1.5"), "1.5", "weeks", SPAN)).code == "E305"


def test_literals_in_criteria_are_typed_against_the_other_side():
    e = expr("score >= 4")
    assert e.right.type.kind == model.COUNT  # a count compares with a number exactly
    e = expr("relief >= 50%")
    assert (e.right.type.kind, e.right.value) == (model.PERCENT, Decimal(50))
    e = expr("time from onset to request.date > 3 months")
    assert e.left.type == model.T_DURATION and isinstance(e.left.end, model.RequestDate)
    assert e.right.value == model.Period(3, 0)


def test_arithmetic_result_types():
    assert expr("n + n <= 4").left.type == model.T_COUNT
    assert expr("n / 2 <= 4").left.type == model.T_NUMBER
    assert expr("score * 2 > 1").left.type == model.T_NUMBER
    assert expr("relief * 2 > 50%").left.type == model.T_PERCENT
    assert expr("dose - 5 mg < 10 mg").left.type == model.Type(model.QUANTITY, unit="mg")
    assert expr("onset + 1 year < request.date").left.type == model.T_DATE
    assert expr("lasted + 3 days >= 2 weeks").left.type == model.T_DURATION


def test_history_operations_types():
    assert expr("any(h)").type == model.T_BOOL
    assert expr("count(h within 12 months) <= 4").left.type == model.T_COUNT
    assert expr("last(h).relief >= 50%").left.type == model.T_PERCENT
    assert expr("sum(h.sessions) + n <= 10").left.left.type == model.T_COUNT
    q = expr("all(h where relief >= 50%)")
    assert (q.op, q.history.name, q.within) == ("all", "h", None)


def test_fields_inside_where_shadow_facts_of_the_same_name():
    q = expr("any(h where relief >= 50%)")
    assert isinstance(q.where.left, model.FieldRef) and q.where.left.name == "relief"
    assert isinstance(expr("relief >= 50%").left, model.FactRef)


def test_within_counts_back_a_calendar_period():
    q = expr("count(h within 1 year where sessions > 1) < 4").left
    assert (q.within, q.within_text) == (model.Period(12, 0), "1 year")


def test_documented_is_true_or_false():
    e = expr("documented onset")
    assert isinstance(e, model.Documented) and e.type == model.T_BOOL


def test_defaults_are_typed():
    m = checked("  c: f and n <= 4\n", facts='facts\n  f: finding "f" default absent\n  n: count "n" default 0\n')
    assert m.fact("f").default.value is False and m.fact("n").default.value == 0


def test_labels_default_to_the_name_in_words():
    m = checked("  c: failed_conservative_care\n", facts="facts\n  failed_conservative_care: finding\n")
    assert m.fact("failed_conservative_care").label == "failed conservative care"


# --------------------------------------------------------------------- enums
def test_text_compared_with_a_one_of_fact_becomes_a_member():
    e = expr('route = "oral"')
    assert e.right.type.kind == model.ENUM and e.right.type.members == ("oral", "topical")
    e = expr('"topical" != route')
    assert e.left.type.kind == model.ENUM


def test_set_literal_compared_with_a_one_of_fact_becomes_a_set_of_members():
    e = expr('route in {"oral", "topical"}')
    assert e.right.type.kind == model.SET and e.right.type.element.kind == model.ENUM
    assert e.right.value == frozenset({"oral", "topical"})


def test_members_of_a_set_of_list_values_are_checked():
    e = expr('regions contains "neck"')
    assert e.right.type.kind == model.ENUM
    assert errors('  c: regions contains "elbow"\n') == ["E203"]
    assert errors('  c: regions contains any of {"neck", "elbow"}\n') == ["E203"]
    line = '  c: regions contains any of {"neck", "elbow"}\n'
    (d,) = [d for d in check_text(HEAD + FACTS + "criteria\n" + line, "u.mtus").diagnostics if d.code == "E203"]
    assert d.span.column == line.index('"elbow"') + 1  # the value in the list, not the whole set


def test_member_comparison_is_exact():
    assert errors('  c: route = "Oral"\n') == ["E203"]
    assert errors('  c: route = "oral "\n') == ["E203"]


def test_text_facts_compare_with_any_text():
    assert expr('note = "anything"').right.type == model.T_TEXT
    assert expr('drugs contains "ketamine"').right.type == model.T_TEXT


def test_example_values_are_retyped_like_conditions():
    m = checked('  c: route = "oral" and regions contains "neck"\n',
                extra='\nexample "e"\n  given route = "oral", regions = {"neck", "knee"}\n  expect certified\n')
    assert dict(m.examples[0].facts) == {"route": "oral", "regions": frozenset({"neck", "knee"})}


# -------------------------------------------------------------- did you mean
def test_did_you_mean_offers_close_names():
    assert did_you_mean("twitch_respnse", ["twitch_response", "referred_pain"]) == "did you mean `twitch_response`?"
    assert did_you_mean("relef", ["relief", "relieve", "other"]) == "did you mean `relief` or `relieve`?"


def test_did_you_mean_is_silent_for_unrelated_names():
    assert did_you_mean("conservative_care", ["twitch_response", "injections"]) is None


def test_did_you_mean_ignores_case_as_a_last_resort():
    assert did_you_mean("MRI", ["mri_findings", "mri"]) == "did you mean `mri`?"


def test_did_you_mean_can_quote_values():
    assert did_you_mean("local anaesthetic", ["local anesthetic"], quote='"') == 'did you mean "local anesthetic"?'


def test_unknown_names_get_suggestions_in_context():
    result = check_text(HEAD + FACTS + "criteria\n  c: any(h where releif >= 50%)\n  d: last(h).sesions > 1\n")
    assert [(d.code, d.hint) for d in result.diagnostics] == [
        ("E201", "did you mean `relief`?"),
        ("E202", "did you mean `sessions`?"),
    ]


# ----------------------------------------------------------------- citations
def test_criteria_inherit_the_guideline_citation():
    m = checked("  c: f\n")
    assert m.criteria[0].citation == model.Citation("Chronic Pain Guidelines", "2", "122")


def test_cite_page_replaces_only_the_page():
    m = checked("  c: f\n    cite pages 80, 96-97\n")
    assert m.criteria[0].citation == model.Citation("Chronic Pain Guidelines", "2", "80, 96-97")
    assert m.criteria[0].citation.describe() == "Chronic Pain Guidelines, section 2, pages 80, 96-97"


def test_cite_section_keeps_the_source_and_page():
    m = checked('  c: f\n    cite section "4"\n')
    assert m.criteria[0].citation == model.Citation("Chronic Pain Guidelines", "4", "122")


def test_cite_source_starts_a_new_citation():
    m = checked('  c: f\n    cite source "ACOEM" page 12\n  d: g\n')
    assert m.criteria[0].citation == model.Citation("ACOEM", None, "12")
    assert m.criteria[1].citation == model.Citation("Chronic Pain Guidelines", "2", "122")


# ----------------------------------------------------------------------- when
WHENS = '''\
  a: f
  when any(h)
    b: last(h).relief >= 50%
    when documented onset
      c: time from onset to request.date > 3 months
    d: g
  e: n <= 4
'''


def test_when_blocks_are_flattened_onto_their_criteria():
    m = checked(WHENS)
    guards = {c.id: [x.index for x in c.conditions] for c in m.criteria}
    assert guards == {"a": [], "b": [0], "c": [0, 1], "d": [0], "e": []}
    assert [c.id for c in m.criteria] == ["a", "b", "c", "d", "e"]  # source order
    assert len(m.conditions) == 2
    assert m.criteria[1].conditions[0] is m.criteria[3].conditions[0]  # one shared condition
    assert isinstance(m.conditions[1].expr, model.Documented)


def test_and_or_chains_are_flat():
    e = expr("f and g and (n <= 4 and score > 1)")
    assert e.op == "and" and len(e.operands) == 4
    e = expr("f or g or n > 1")
    assert e.op == "or" and len(e.operands) == 3
    e = expr("f and (g or n > 1)")
    assert [type(x).__name__ for x in e.operands] == ["FactRef", "Logic"]


@pytest.mark.parametrize("condition", [
    "count(h) < 0",
    "0 > count(h)",
    "n < 0",
    "1 > 2",
    "not (1 < 2)",
    "f and 3 < 2",
    "3 < 2 or 2 = 3",
    '"a" = "b"',
])
def test_when_that_can_never_be_true_is_e404(condition):
    assert errors(f"  when {condition}\n    c: f\n") == ["E404"]


@pytest.mark.parametrize("condition", ["count(h) < 1", "f or 3 < 2", "score < 0", "0 < count(h)", "any(h)", "not f",
                                       "2014-01-01 < onset"])
def test_when_that_may_hold_is_accepted(condition):
    checked(f"  when {condition}\n    c: g\n")


def test_constant_truth_is_three_way():
    assert constant_truth(expr("f or 1 < 2")) is True
    assert constant_truth(expr("f and 1 < 2")) is None
    assert constant_truth(expr("f and 2 < 1")) is False


# ------------------------------------------------------------ other guarantees
def test_unused_fact_is_a_warning_only():
    result = check_text(HEAD + FACTS + "criteria\n  c: f\n")
    assert result.ok
    assert {d.code for d in result.diagnostics} == {"W401"}
    assert "g" in {d.message.split("`")[1] for d in result.diagnostics}


def test_facts_read_only_in_a_when_condition_are_used():
    result = check_text(HEAD + 'facts\n  f: finding\n  g: finding\ncriteria\n  when f\n    c: g\n')
    assert result.diagnostics == ()


def test_a_given_value_is_not_a_use():
    result = check_text(HEAD + 'facts\n  f: finding\n  g: finding\ncriteria\n  c: f\n'
                        'example "e"\n  given g = present\n  expect certified\n')
    assert [d.code for d in result.diagnostics] == ["W401"]


def test_keywords_can_name_fields_and_facts_where_only_a_name_fits():
    m = checked("  c: last(h).date < request.date\n")
    assert m.criteria[0].expr.left.field == "date"


def test_an_empty_set_takes_the_element_type_of_the_other_side():
    e = expr("n in {}")
    assert e.right.type == model.Type(model.SET, element=model.T_COUNT) and e.right.value == frozenset()
    e = expr('route in {}')
    assert e.right.type.element.kind == model.ENUM
    e = expr("drugs contains only {}")
    assert e.right.type.element == model.T_TEXT


def test_from_item_quantity_and_hcpcs_services_reach_the_model():
    text = ('guideline tens "TENS"\n  source "S" page 116\n  services "TENS unit", hcpcs e0730, cpt 64550\n'
            'facts\n  leads: count "leads" from item quantity, request detail, checked when stated\n'
            '  kind: text "kind" from product form\n'
            'criteria\n  c: leads <= 4 and kind = "unit"\n')
    result = check_text(text, "tens.mtus")
    assert result.ok, result.diagnostics
    g = result.model
    facts = {f.name: f for f in g.facts}
    assert facts["leads"].from_item == "quantity" and facts["leads"].source is None
    assert facts["kind"].source == "form" and facts["kind"].from_item is None
    assert [(s.kind, s.value) for s in g.services] == [("name", "TENS unit"), ("hcpcs", "E0730"), ("cpt", "64550")]


@pytest.mark.parametrize("clause, code", [
    ("count \"n\" from item weeks, request detail, checked when stated", "E465"),
    ("duration \"n\" from item quantity, request detail, checked when stated", "E466"),
    ("count \"n\" from item quantity", "W430"),
    ("count \"n\" from item levels", "W430"),
    ("text \"n\" from item levels, request detail, checked when stated", "E466"),
    ("count \"n\" from item level, request detail, checked when stated", "E465"),
])
def test_from_item_is_checked(clause, code):
    text = f'guideline g "G"\n  source "S" page 1\nfacts\n  n: {clause}\ncriteria\n  c: documented n\n'
    assert [d.code for d in check_text(text, "g.mtus").diagnostics] == [code]
