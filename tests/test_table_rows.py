"""Tables with ranges (`3-8`, read by the upper end or `.low`) and an `otherwise` row, in both back ends."""

from __future__ import annotations

import datetime

from mtus.compiler.build.codegen import generate_module, load_module
from mtus.compiler.build.interpret import evaluate
from mtus.compiler.build.packinfo import describe
from mtus.dsl import check_text, model

SOURCE = '''\
guideline postsurgical_demo "Postsurgical treatment"
  source "MTUS Postsurgical Treatment Guidelines" section "9792.24.3"

facts
  surgery: one of {"carpal tunnel release", "lumbar discectomy", "total hip arthroplasty"} "surgery"
  surgery_date: date "date of surgery"
  visits_requested: count "visits requested"

tables
  general_course: count "visits of the general course of therapy"
    "carpal tunnel release": 3-8
    "lumbar discectomy": 16
  treatment_period: duration "postsurgical physical medicine treatment period"
    "carpal tunnel release": 2-3 months
    otherwise: 6 months

criteria
  within_period: time from surgery_date to request.date <= treatment_period[surgery]
  early: time from surgery_date to request.date <= treatment_period[surgery].low
  enough_visits: visits_requested >= general_course[surgery].low
  course_limit: visits_requested <= general_course[surgery].high
'''

DATE = datetime.date(2015, 6, 1)


def _run(facts):
    result = check_text(SOURCE, "demo.mtus")
    g = result.model
    want = evaluate(g, facts, DATE)
    module = load_module(generate_module(g), g.id)
    assert module.evaluate(facts, DATE) == want
    assert module.unmet(facts, DATE) == want.unmet_ids()
    return {c.id: (c.outcome, c.missing) for c in want.criteria}


def test_a_range_is_read_by_its_upper_end_or_asked_for_its_lower():
    got = _run({"surgery": "carpal tunnel release", "surgery_date": datetime.date(2015, 3, 15), "visits_requested": 10})
    assert got["course_limit"] == ("not met", ())  # 10 > 8
    assert got["enough_visits"] == ("met", ())  # 10 >= 3
    assert got["within_period"] == ("met", ())  # 2.5 months <= 3 months
    assert got["early"] == ("not met", ())  # 2.5 months > 2 months
    assert _run({"surgery": "carpal tunnel release", "visits_requested": 2})["enough_visits"] == ("not met", ())


def test_a_key_the_table_does_not_list_takes_the_otherwise_row_or_is_missing():
    got = _run({"surgery": "total hip arthroplasty", "surgery_date": datetime.date(2015, 1, 2), "visits_requested": 4})
    assert got["within_period"] == ("met", ())  # the 6 months of the otherwise row
    assert got["early"] == ("met", ())  # a single value is both ends
    assert got["course_limit"] == ("not documented", ("general_course[total hip arthroplasty]",))
    # an undocumented key is still missing: the otherwise row is for keys that are known
    assert _run({"surgery_date": datetime.date(2015, 1, 2), "visits_requested": 4})["within_period"] == \
        ("not documented", ("surgery",))


def test_no_warning_for_a_member_the_otherwise_row_covers_and_the_letter_names_the_end():
    result = check_text(SOURCE, "demo.mtus")
    warnings = [d for d in result.diagnostics if d.code == "W402"]
    assert [d.message for d in warnings] == ['table `general_course` has no entry for "total hip arthroplasty"'] * 2
    info = describe(result.model)
    labels = {c.id: [x.label for x in c.computed] for c in info.criteria}
    assert "the lower end of the visits of the general course of therapy for the surgery" in labels["enough_visits"]
    assert dict(info.tables[0].entries) == {"carpal tunnel release": "3-8", "lumbar discectomy": "16"}
    assert dict(info.tables[1].entries) == {"carpal tunnel release": "2-3 months"}


def test_the_unit_after_a_range_belongs_to_both_ends():
    g = check_text(SOURCE, "demo.mtus").model
    entry = g.tables[1].entries[0]
    assert (entry.low.value, entry.value.value) == (model.Period(2, 0), model.Period(3, 0))


def test_the_formatter_writes_a_range_without_spaces_and_arithmetic_with():
    from mtus.dsl.format import format_text
    spaced = SOURCE.replace("3-8", "3 -  8").replace("2-3 months", "2 - 3 months")
    assert format_text(spaced) == SOURCE
    assert "visits_requested - 1 <=" in format_text(SOURCE.replace("visits_requested <=", "visits_requested-1 <="))
