"""The runtime's semantics, one rule at a time: logic, calendar time, numbers, text, histories, outcomes."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from mtus.compiler.check import runtime as rt
from mtus.compiler.check.runtime import Duration

D = datetime.date
RD = D(2014, 12, 18)
T, F, U = True, False, None


# ------------------------------------------------------------ Kleene logic
@pytest.mark.parametrize("a,b,expected", [
    (T, T, T), (T, F, F), (T, U, U),
    (F, T, F), (F, F, F), (F, U, F),
    (U, T, U), (U, F, F), (U, U, U),
])
def test_and_truth_table(a, b, expected):
    assert rt.k_and(a, b) is expected


@pytest.mark.parametrize("a,b,expected", [
    (T, T, T), (T, F, T), (T, U, T),
    (F, T, T), (F, F, F), (F, U, U),
    (U, T, T), (U, F, U), (U, U, U),
])
def test_or_truth_table(a, b, expected):
    assert rt.k_or(a, b) is expected


def test_not_truth_table():
    assert (rt.k_not(T), rt.k_not(F), rt.k_not(U)) == (F, T, U)


def test_empty_and_or():
    assert rt.k_and() is True and rt.k_or() is False


@pytest.mark.parametrize("values,n,expected", [
    ((T, T, F), 2, T), ((T, U, F), 2, U), ((T, F, F), 2, F), ((U, U, U), 1, U), ((F, F, U), 1, U),
    ((F, F, F), 1, F), ((T, T, U, U), 2, T),
])
def test_at_least(values, n, expected):
    assert rt.k_at_least(n, *values) is expected


# ------------------------------------------------- what made a value unknown
def test_and_missing_is_the_union_of_the_unknown_operands():
    assert rt.and_m((True, ()), (None, ("a",)), (None, ("b", "a"))) == (None, ("a", "b"))


def test_a_false_operand_decides_and_nothing_is_missing():
    assert rt.and_m((None, ("a",)), (False, ())) == (False, ())
    assert rt.or_m((None, ("a",)), (True, ())) == (True, ())


def test_or_missing_when_unknown():
    assert rt.or_m((False, ()), (None, ("x",))) == (None, ("x",))


def test_at_least_missing():
    assert rt.at_least_m(2, (True, ()), (None, ("a",)), (None, ("b",))) == (None, ("a", "b"))
    assert rt.at_least_m(2, (True, ()), (True, ()), (None, ("b",))) == (True, ())


def test_not_keeps_missing():
    assert rt.not_m((None, ("a",))) == (None, ("a",))
    assert rt.not_m((True, ())) == (False, ())


def test_strict_operation_names_only_its_unknown_operands():
    assert rt.strict_m(None, (3, ()), (None, ("x",))) == (None, ("x",))
    assert rt.strict_m(True, (3, ()), (4, ())) == (True, ())


# ------------------------------------------------------------------ calendar
def test_add_months_clamps_to_month_end():
    assert rt.add_months(D(2015, 1, 31), 1) == D(2015, 2, 28)
    assert rt.add_months(D(2016, 1, 31), 1) == D(2016, 2, 29)
    assert rt.add_months(D(2015, 3, 31), 1) == D(2015, 4, 30)


def test_add_months_leap_day_plus_a_year():
    assert rt.add_months(D(2016, 2, 29), 12) == D(2017, 2, 28)
    assert rt.add_months(D(2016, 2, 29), 48) == D(2020, 2, 29)


def test_leap_years_are_calendars():
    import calendar

    assert [y for y in range(1, 10000) if rt._leap(y)] == [y for y in range(1, 10000) if calendar.isleap(y)]


def test_add_months_backwards_across_years():
    assert rt.add_months(D(2015, 1, 15), -2) == D(2014, 11, 15)
    assert rt.add_months(D(2015, 3, 31), -1) == D(2015, 2, 28)


def test_shift_is_months_first_then_days():
    # Jan 31 + 1 month = Feb 28, + 1 day = Mar 1 (days after the clamp, not before)
    assert rt.shift(D(2015, 1, 31), 1, 1) == D(2015, 3, 1)


@pytest.mark.parametrize("a,b", [
    (D(2015, 1, 31), D(2015, 2, 28)), (D(2015, 1, 30), D(2015, 3, 2)), (D(2014, 12, 18), D(2006, 7, 17)),
    (D(2016, 2, 29), D(2017, 2, 28)), (D(2015, 5, 5), D(2015, 5, 5)), (D(2015, 3, 31), D(2015, 2, 1)),
])
def test_time_from_lands_exactly_on_the_end(a, b):
    d = rt.time_from(a, b)
    assert d.start == a
    assert d.after(a) == b
    assert 0 <= d.days < 31


def test_time_from_counts_whole_months_then_days():
    d = rt.time_from(D(2015, 1, 31), D(2015, 3, 3))
    assert (d.months, d.days) == (1, 3)  # Feb 28 is one month after Jan 31; then 3 days


def test_time_from_unknown():
    assert rt.time_from(None, RD) is None and rt.time_from(RD, None) is None


# ------------------------------------------------ the ends of the calendar
LAST, FIRST = D(9999, 12, 31), D(1, 1, 1)


@pytest.mark.parametrize("d,months", [(D(9999, 12, 18), 1), (D(9999, 1, 31), 12), (FIRST, -1), (D(1, 12, 31), -12),
                                      (RD, 10**9), (RD, -10**9)])
def test_months_off_the_calendar_are_unknown(d, months):
    assert rt.add_months(d, months) is None
    assert rt.shift(d, months, 0) is None
    assert rt.add(d, Duration(months, 0)) is None and rt.sub(d, Duration(-months, 0)) is None


@pytest.mark.parametrize("d,days", [(LAST, 1), (FIRST, -1), (RD, 10**10), (RD, -10**10)])
def test_days_off_the_calendar_are_unknown(d, days):
    assert rt.add_days(d, days) is None
    assert rt.shift(d, 0, days) is None and rt.shift(d, 0, days) is None
    assert rt.add(d, Duration(0, days)) is None


def test_the_last_and_first_days_are_on_the_calendar():
    assert rt.add_months(D(9999, 10, 31), 2) == LAST
    assert rt.shift(D(9999, 11, 30), 1, 1) == LAST and rt.add_days(D(9999, 12, 30), 1) == LAST
    assert rt.shift(D(1, 2, 28), -1, -27) == FIRST
    # the month step is on the calendar and the day step brings it back: still unknown, as computed in order
    assert rt.shift(D(9999, 12, 18), 1, -31) is None


def test_unknown_dates_stay_unknown_in_calendar_arithmetic():
    assert rt.add_months(None, 1) is None and rt.add_days(None, 1) is None and rt.shift(None, 1, 1) is None


@pytest.mark.parametrize("a,b,months,days", [
    (D(1, 1, 31), D(1, 1, 1), -1, 1),       # a month back from Jan 31, year 1, is Dec 31 of year 0
    (D(1, 3, 31), D(1, 1, 1), -3, 1),
    (D(1, 1, 2), FIRST, -1, 30),     # Dec 2 of year 0, then 30 days
    (FIRST, LAST, 119987, 30),
    (LAST, FIRST, -119988, 1),
])
def test_time_from_is_total_at_the_ends(a, b, months, days):
    d = rt.time_from(a, b)
    assert (d.months, d.days, d.start, d.end) == (months, days, a, b)
    assert d.after(a) == b  # measured: its end, even where recomputing would leave the calendar


def test_comparisons_that_leave_the_calendar_are_unknown():
    late = D(9999, 12, 18)
    # a measured duration against a period: the end against the start + the period
    assert rt.compare_duration(">=", measured(D(9999, 12, 1), late), Duration(1, 0), RD) is None
    assert rt.compare_duration("<", measured(D(9999, 11, 1), late), Duration(1, 0), RD) is False
    # mixed units on the request date's calendar
    assert rt.dur_cmp(Duration(1, 0), Duration(0, 30), late) is None
    assert rt.compare_duration("=", Duration(1, 0), Duration(0, 30), late) is None
    # same units need no calendar
    assert rt.compare_duration("<", Duration(1, 0), Duration(2, 0), late) is True
    # two measured durations compare their lengths, whatever the dates
    assert rt.dur_cmp(measured(D(1, 1, 31), FIRST), measured(FIRST, LAST), RD) == -1


def test_between_durations_off_the_calendar_is_three_valued():
    late = D(9999, 12, 18)
    # 20 days <= 1 month is unknown on this calendar, 20 days <= 10 days is false: false decides
    assert rt.between_duration(Duration(0, 20), Duration(1, 0), Duration(0, 10), late) is False
    assert rt.between_duration(Duration(0, 20), Duration(0, 10), Duration(1, 0), late) is None
    assert rt.between_duration(Duration(0, 20), Duration(0, 10), Duration(1, 0), RD) is True


def test_duration_membership_off_the_calendar_is_three_valued():
    late = D(9999, 12, 18)
    assert rt.member("in", Duration(0, 30), frozenset({Duration(1, 0)}), rt.DURATION, late) is None
    assert rt.member("not in", Duration(0, 30), frozenset({Duration(1, 0)}), rt.DURATION, late) is None
    assert rt.member("in", Duration(0, 30), frozenset({Duration(1, 0), Duration(0, 30)}), rt.DURATION, late) is True
    assert rt.member("contains only", frozenset({Duration(0, 30)}), frozenset({Duration(1, 0)}),
                     rt.DURATION, late) is None
    assert rt.member("contains any of", frozenset({Duration(0, 30)}), frozenset({Duration(1, 0)}),
                     rt.DURATION, late) is None


def test_a_window_starting_before_the_calendar_leaves_dated_rows_unknown():
    early = D(1, 3, 1)
    w = rt.window(early, 12, 0)
    assert w == (None, early)
    rows = ({"date": D(1, 2, 1)}, {"date": D(1, 4, 1)})
    assert rt.count_m(rows[:1], "h", w, None) == (None, ())
    assert rt.any_m(rows[1:], "h", w, None) == (False, ())  # after the request date: outside whatever the start
    assert rt.count_m(rows[1:], "h", w, None) == (0, ())
    assert rt.count_m(({},), "h", w, None) == (None, ("h.date",))


# --------------------------------------------------------------- durations
def measured(a, b):
    return rt.time_from(a, b)


def test_eight_weeks_versus_two_months_anchored_on_the_calendar():
    # 56 days from Jan 1 is Feb 26: shorter than 2 months (Mar 1)
    eight_weeks = measured(D(2015, 1, 1), D(2015, 2, 26))
    assert rt.compare_duration("<", eight_weeks, Duration(2, 0), RD) is True
    # 56 days from Feb 1, 2015 is Mar 29; 2 months is Apr 1
    assert rt.compare_duration("<", measured(D(2015, 2, 1), D(2015, 3, 29)), Duration(2, 0), RD) is True
    # from Dec 31, 2 months is Feb 28 (clamped), which is 59 days: equal to 2 months, longer than 8 weeks
    assert rt.compare_duration("=", measured(D(2014, 12, 31), D(2015, 2, 28)), Duration(2, 0), RD) is True
    assert rt.compare_duration(">=", measured(D(2014, 12, 31), D(2015, 2, 28)), Duration(0, 56), RD) is True


def test_measured_duration_compares_end_with_start_plus_period():
    three_months_exactly = measured(D(2014, 9, 18), RD)
    assert rt.compare_duration(">", three_months_exactly, Duration(3, 0), RD) is False
    assert rt.compare_duration(">=", three_months_exactly, Duration(3, 0), RD) is True
    assert rt.compare_duration(">", measured(D(2014, 9, 17), RD), Duration(3, 0), RD) is True


def test_period_on_the_left_of_a_measured_duration():
    assert rt.compare_duration("<", Duration(3, 0), measured(D(2014, 9, 17), RD), RD) is True
    assert rt.compare_duration("<", Duration(3, 0), measured(D(2014, 9, 18), RD), RD) is False


def test_unanchored_durations_in_the_same_unit_compare_exactly():
    assert rt.dur_cmp(Duration(0, 42), Duration(0, 42), RD) == 0
    assert rt.dur_cmp(Duration(0, 41), Duration(0, 42), RD) == -1
    assert rt.dur_cmp(Duration(12, 0), Duration(13, 0), RD) == -1
    # no calendar is needed, so the request date cannot matter
    assert rt.dur_cmp(Duration(1, 0), Duration(1, 0), D(2015, 1, 31)) == 0


def test_unanchored_mixed_units_use_the_calendar_from_the_request_date():
    # 1 month from Jan 31 is Feb 28: 28 days is equal, 29 days is longer
    assert rt.dur_cmp(Duration(1, 0), Duration(0, 28), D(2015, 1, 31)) == 0
    assert rt.dur_cmp(Duration(0, 29), Duration(1, 0), D(2015, 1, 31)) == 1
    # 1 month from Mar 1 is 31 days
    assert rt.dur_cmp(Duration(0, 30), Duration(1, 0), D(2015, 3, 1)) == -1


def test_two_measured_durations_compare_their_lengths_in_days():
    a = measured(D(2015, 1, 1), D(2015, 3, 1))  # 59 days
    b = measured(D(2016, 1, 1), D(2016, 3, 1))  # 60 days (leap year)
    assert rt.dur_cmp(a, b, RD) == -1


def test_duration_comparison_unknown():
    assert rt.compare_duration(">=", None, Duration(0, 42), RD) is None


# --------------------------------------------------------------- numbers
@pytest.mark.parametrize("relief,expected", [
    (50, True), (Decimal("50"), True), (Decimal("50.00"), True), (Decimal("49.99"), False),
    (Decimal("49.999999999999999999999999999999"), False), (51, True),
])
def test_at_least_fifty_percent_holds_for_exactly_fifty(relief, expected):
    assert rt.compare(">=", relief, Decimal("50")) is expected


def test_comparison_with_unknown_is_unknown():
    assert rt.compare("<=", None, 4) is None
    assert rt.compare("=", 4, None) is None


def test_arithmetic_is_exact_and_never_float():
    assert rt.add(Decimal("0.1"), Decimal("0.2")) == Decimal("0.3")
    assert rt.add(2, 3) == 5 and type(rt.add(2, 3)) is int
    assert rt.mul(Decimal("0.5"), 3) == Decimal("1.5")
    assert rt.div(1, 4) == Decimal("0.25") and isinstance(rt.div(1, 4), Decimal)
    assert rt.sub(10**30 + 1, 10**30) == 1


def test_arithmetic_unknown_and_division_by_zero():
    assert rt.add(None, 1) is None and rt.mul(2, None) is None
    assert rt.div(1, 0) is None


def test_date_and_duration_arithmetic():
    assert rt.add(D(2015, 1, 31), Duration(1, 0)) == D(2015, 2, 28)
    assert rt.sub(D(2015, 3, 31), Duration(1, 1)) == D(2015, 2, 27)
    assert rt.add(Duration(1, 3), Duration(0, 4)) == Duration(1, 7)


def test_between_is_inclusive():
    assert rt.between(1, 1, 3) and rt.between(3, 1, 3) and not rt.between(4, 1, 3)
    assert rt.between(None, 1, 3) is None and rt.between(2, 1, None) is None
    assert rt.between_duration(Duration(0, 7), Duration(0, 7), Duration(1, 0), RD) is True


# ------------------------------------------------------------------- text
def test_text_equality_ignores_case_and_spacing():
    assert rt.compare_text("=", "  Myofascial   PAIN ", "myofascial pain") is True
    assert rt.compare_text("!=", "low back pain", "Low Back Pain") is False
    assert rt.compare_text("=", "fibromyalgia", "fibromyalgias") is False
    assert rt.compare_text("=", None, "x") is None


def test_text_set_membership_is_case_insensitive():
    dx = frozenset({"Low back pain", " FIBROMYALGIA"})
    assert rt.member("contains", dx, "fibromyalgia", rt.TEXT, RD) is True
    assert rt.member("contains", dx, "myalgia", rt.TEXT, RD) is False
    assert rt.contains_text(dx, rt.norm_text("Fibromyalgia"))


def test_one_of_values_compare_exactly():
    allowed = frozenset({"local anesthetic", "local anesthetic with steroid"})
    assert rt.member("in", "local anesthetic", allowed, rt.EXACT, RD) is True
    assert rt.member("in", "Local Anesthetic", allowed, rt.EXACT, RD) is False
    assert rt.compare("=", "saline", "Saline") is False


@pytest.mark.parametrize("op,left,right,expected", [
    ("in", "a", frozenset({"a", "b"}), True),
    ("not in", "a", frozenset({"a", "b"}), False),
    ("contains any of", frozenset({"a", "c"}), frozenset({"b", "c"}), True),
    ("contains any of", frozenset({"a"}), frozenset({"b"}), False),
    ("contains only", frozenset({"a"}), frozenset({"a", "b"}), True),
    ("contains only", frozenset({"a", "z"}), frozenset({"a", "b"}), False),
    ("contains only", frozenset(), frozenset({"a"}), True),
    ("in", None, frozenset({"a"}), None),
])
def test_set_operations(op, left, right, expected):
    assert rt.member(op, left, right, rt.EXACT, RD) is expected


def test_duration_set_membership_uses_the_calendar():
    assert rt.member("in", Duration(0, 42), frozenset({Duration(0, 42)}), rt.DURATION, RD) is True
    assert rt.member("in", Duration(0, 28), frozenset({Duration(1, 0)}), rt.DURATION, D(2015, 2, 1)) is True


# -------------------------------------------------------------- histories
ROWS = (
    {"date": D(2014, 6, 18), "relief": 60},
    {"date": D(2014, 12, 18), "relief": 40},
    {"date": D(2013, 12, 18), "relief": 70},
    {"date": D(2013, 12, 17), "relief": 80},
)
YEAR = rt.window(RD, 12, 0)


def relief_at_least(n):
    return lambda row: ((row.get("relief") >= n) if row.get("relief") is not None else None,
                        () if row.get("relief") is not None else ("h.relief",))


def test_window_includes_both_ends():
    assert YEAR == (D(2013, 12, 18), RD)
    assert rt.count_m(ROWS, "h", YEAR, None) == (3, ())  # Dec 17, 2013 is one day too early


def test_window_month_end_clamp():
    assert rt.window(D(2015, 3, 31), 1, 0) == (D(2015, 2, 28), D(2015, 3, 31))
    assert rt.window(RD, 0, 42) == (D(2014, 11, 6), RD)


def test_rows_after_the_request_date_are_outside_the_window():
    rows = ({"date": D(2014, 12, 19)},)
    assert rt.any_m(rows, "h", YEAR, None) == (False, ())


def test_any_all_count_sum_with_where():
    assert rt.any_m(ROWS, "h", None, relief_at_least(75)) == (True, ())
    assert rt.all_m(ROWS, "h", YEAR, relief_at_least(40)) == (True, ())
    assert rt.all_m(ROWS, "h", None, relief_at_least(50)) == (False, ())
    assert rt.count_m(ROWS, "h", YEAR, relief_at_least(50)) == (2, ())
    assert rt.sum_m(ROWS, "h", YEAR, None, "relief", 0) == (170, ())


def test_where_unknown_is_three_valued():
    rows = ({"relief": 40}, {})
    assert rt.any_m(rows, "h", None, relief_at_least(50)) == (None, ("h.relief",))
    assert rt.any_m(rows + ({"relief": 90},), "h", None, relief_at_least(50)) == (True, ())
    assert rt.all_m(rows, "h", None, relief_at_least(30)) == (None, ("h.relief",))
    assert rt.all_m(rows, "h", None, relief_at_least(50)) == (False, ())
    assert rt.count_m(rows, "h", None, relief_at_least(50)) == (None, ("h.relief",))


def test_a_row_without_a_date_is_unknown_to_a_window():
    rows = ({"relief": 40},)
    assert rt.count_m(rows, "h", YEAR, None) == (None, ("h.date",))
    # unless `where` already excludes it: false and unknown is false
    assert rt.count_m(rows, "h", YEAR, relief_at_least(50)) == (0, ())


def test_sum_of_an_expression_per_row():
    def double(row):
        x = row.get("relief")
        return (x * 2, ()) if x is not None else (None, ("h.relief",))

    assert rt.sum_of_m(ROWS, "h", YEAR, None, double, 0) == (340, ())
    assert rt.sum_of_m(ROWS, "h", YEAR, relief_at_least(70), double, 0) == (140, ())
    assert rt.sum_of_m((), "h", None, None, double, 0) == (0, ())
    assert rt.sum_of_m(None, "h", None, None, double, 0) == (None, ("h",))


def test_sum_of_is_unknown_when_a_counted_row_is_and_names_the_union():
    def value(row):
        return (row["n"], ()) if "n" in row else (None, tuple(row["missing"]))

    rows = ({"n": 1}, {"missing": ["a", "b"]}, {"missing": ["b", "c"]}, {"n": 2})
    assert rt.sum_of_m(rows, "h", None, None, value, 0) == (None, ("a", "b", "c"))
    # a row `where` excludes is not added, so what it misses does not matter
    keep = lambda row: ("missing" not in row or row["missing"][0] == "b", ())  # noqa: E731
    assert rt.sum_of_m(rows, "h", None, keep, value, 0) == (None, ("b", "c"))
    # rows that might or might not count come first in row order too
    unsure = ({"missing": ["x"], "d": 1}, {"n": 5})
    assert rt.sum_of_m(unsure, "h", None, lambda r: (None, ("h.w",)) if "d" in r else (True, ()), value, 0) == \
        (None, ("h.w",))
    assert rt.sum_of_m(({"n": Duration(0, 3)}, {"n": Duration(1, 0)}), "h", None, None, value, Duration()) == \
        (Duration(1, 3), ())


def test_sum_needs_every_counted_value():
    assert rt.sum_m(({"relief": 1}, {}), "h", None, None, "relief", 0) == (None, ("h.relief",))
    assert rt.sum_m((), "h", None, None, "relief", 0) == (0, ())
    assert rt.sum_m(({"d": Duration(0, 3)}, {"d": Duration(1, 0)}), "h", None, None, "d", Duration()) == (Duration(1, 3), ())


def test_queries_on_an_undocumented_history_are_unknown():
    for fn in (rt.any_m, rt.count_m):
        assert fn(None, "h", None, None) == (None, ("h",))
    assert rt.pick_m("last", None, "h", None, None, "date") == (None, ("h",))


def test_last_and_first_order_by_date_not_list_order():
    assert rt.pick_m("last", ROWS, "h", None, None, "date")[0] is ROWS[1]
    assert rt.pick_m("first", ROWS, "h", None, None, "date")[0] is ROWS[3]
    assert rt.last_row(ROWS, "date") is ROWS[1] and rt.first_row(ROWS, "date") is ROWS[3]


def test_last_ties_go_to_the_later_entry_and_first_to_the_earlier():
    rows = ({"date": RD, "n": 1}, {"date": RD, "n": 2})
    assert rt.last_row(rows, "date")["n"] == 2 and rt.first_row(rows, "date")["n"] == 1


def test_last_without_a_date_field_is_list_order():
    rows = ({"n": 1}, {"n": 2})
    assert rt.pick_m("last", rows, "h", None, None, None) == (rows[1], ())
    assert rt.first_row(rows, None) is rows[0]


def test_last_is_unknown_when_a_row_lacks_its_date():
    rows = ({"date": RD}, {"relief": 3})
    assert rt.pick_m("last", rows, "h", None, None, "date") == (None, ("h.date",))
    assert rt.last_row(rows, "date") is None


def test_last_of_no_rows_is_named_by_the_history():
    assert rt.pick_m("last", (), "h", None, None, "date") == (None, ("h",))
    assert rt.field_m(rt.pick_m("first", (), "h", None, None, "date"), "h", "relief") == (None, ("h",))
    assert rt.last_row((), "date") is None


def test_field_of_the_last_row():
    picked = rt.pick_m("last", ROWS, "h", None, None, "date")
    assert rt.field_m(picked, "h", "relief") == (40, ())
    assert rt.field_m(picked, "h", "relief_lasted") == (None, ("h.relief_lasted",))


# ----------------------------------------------------------------- tables
MME = {"codeine": Decimal("0.15"), "oxycodone": Decimal("1.5"), "extended release morphine": 1}


@pytest.mark.parametrize("key,value", [
    ("codeine", Decimal("0.15")), ("  CODEINE ", Decimal("0.15")), ("Extended   Release\tMorphine", 1),
    ("fentanyl", None), (None, None), ("codein", None),
])
def test_lookup_matches_keys_like_text(key, value):
    assert rt.lookup(MME, key) == value


def test_lookup_names_what_is_missing():
    assert rt.lookup_m(MME, "mme", ("Oxycodone", ())) == (Decimal("1.5"), ())
    assert rt.lookup_m(MME, "mme", (None, ("drug",))) == (None, ("drug",))
    # a key not in the table: the table and the key as the case gave it
    assert rt.lookup_m(MME, "mme", ("Fentanyl  patch", ())) == (None, ("mme[Fentanyl  patch]",))


# ---------------------------------------------------------------- outcomes
@pytest.mark.parametrize("exclude,value,outcome", [
    (False, True, rt.MET), (False, False, rt.NOT_MET), (False, None, rt.NOT_DOCUMENTED),
    (True, True, rt.APPLIES), (True, False, rt.DOES_NOT_APPLY), (True, None, rt.DOES_NOT_APPLY),
])
def test_decide_requirements_and_exclusions(exclude, value, outcome):
    r = rt.decide("c", exclude, rt.ALWAYS, (value, () if value is not None else ("x",)), ())
    assert r.outcome == outcome
    # a criterion for use names what it misses; a silent exclusion does not apply, presuming what it misses
    assert r.missing == (("x",) if value is None and not exclude else ())
    assert r.presumed == (("x",) if value is None and exclude else ())


def test_decide_gates():
    assert rt.decide("c", False, (False, ()), None, ()).outcome == rt.NOT_APPLICABLE
    r = rt.decide("c", False, (None, ("h",)), None, ())
    assert (r.outcome, r.missing) == (rt.NOT_DOCUMENTED, ("h",))
    # an exclusion under a `when` the record is silent on does not apply
    r = rt.decide("c", True, (None, ("h",)), None, ())
    assert (r.outcome, r.missing, r.presumed) == (rt.DOES_NOT_APPLY, (), ("h",))


def test_decide_marks_presumptions_and_unstated_details():
    rules = {"prior": rt.NONE_WHEN_SILENT_RULE, "misuse": rt.PRESUMED_ABSENT_RULE, "n": rt.CHECKED_WHEN_STATED,
             "visits": rt.REQUIRED}
    prior = rt.FactValue("prior", (), False)
    r = rt.decide("c", False, (False, ()), None, (prior,), rules=rules)
    assert (r.outcome, r.presumed) == (rt.NOT_APPLICABLE, ("prior",))
    # a documented history presumes nothing
    r = rt.decide("c", False, (False, ()), None, (rt.FactValue("prior", (), True),), rules=rules)
    assert r.presumed == ()
    # an unstated detail checked only when stated: the criterion does not apply
    n = rt.FactValue("n", None, False)
    r = rt.decide("c", False, rt.ALWAYS, (None, ("n",)), (n,), rules=rules)
    assert (r.outcome, r.missing, r.presumed) == (rt.NOT_APPLICABLE, (), ("n",))
    # a required detail left out: not documented
    v = rt.FactValue("visits", None, False)
    r = rt.decide("c", False, rt.ALWAYS, (None, ("visits",)), (v,), rules=rules)
    assert (r.outcome, r.missing, r.presumed) == (rt.NOT_DOCUMENTED, ("visits",), ())
    # decided despite the unstated detail: the value stands
    r = rt.decide("c", False, rt.ALWAYS, (False, ()), (n,), rules=rules)
    assert r.outcome == rt.NOT_MET


def _reading_decider(table):
    """decide_once for every_reading: the outcomes of each criterion as a function of the facts."""
    def once(facts, request_date):
        return rt.GuidelineResult("g", request_date, tuple(
            rt.CriterionResult(cid, fn(facts)[0], exclude, (rt.FactValue("a", facts.get("a"), "a" in facts),),
                               fn(facts)[1]) for cid, exclude, fn in table))
    return once


def test_every_reading_decides_what_fails_in_every_reading():
    # the ESI levels: 3 levels fail by either approach (each limit applies under one approach)
    levels = 3
    table = [
        ("tf", False, lambda f: {None: (rt.NOT_DOCUMENTED, ("a",)), "tf": (rt.MET if levels <= 2 else rt.NOT_MET, ()),
                                "il": (rt.NOT_APPLICABLE, ())}[f.get("a")]),
        ("il", False, lambda f: {None: (rt.NOT_DOCUMENTED, ("a",)), "il": (rt.MET if levels <= 1 else rt.NOT_MET, ()),
                                "tf": (rt.NOT_APPLICABLE, ())}[f.get("a")]),
    ]
    once = _reading_decider(table)
    domains = {"a": ("tf", "il")}
    result = rt.every_reading(once({}, RD), {}, once, domains)
    assert [(c.id, c.outcome, c.readings) for c in result.criteria] == [("tf", rt.NOT_MET, ("a",)),
                                                                       ("il", rt.NOT_MET, ("a",))]
    assert result.turns_on == ()
    levels = 1  # passes by either approach: certified
    result = rt.every_reading(once({}, RD), {}, once, domains)
    assert result.certified and [c.outcome for c in result.criteria] == [rt.MET, rt.MET]
    levels = 2  # passes transforaminal only: open, naming what it turns on
    result = rt.every_reading(once({}, RD), {}, once, domains)
    assert not result.certified and result.turns_on == ("a",)
    assert [(c.id, c.outcome, c.missing) for c in result.criteria] == [("tf", rt.MET, ()),
                                                                       ("il", rt.NOT_DOCUMENTED, ("a",))]


def test_every_reading_only_where_the_result_is_open():
    calls = []

    def once(facts, request_date):
        calls.append(dict(facts))
        return rt.GuidelineResult("g", request_date, (rt.CriterionResult("x", rt.NOT_MET, False),
                                                      rt.CriterionResult("y", rt.NOT_DOCUMENTED, False, (), ("a",))))
    base = once({}, RD)
    assert rt.every_reading(base, {}, once, {"a": (True, False)}) is base and len(calls) == 1
    # documented facts and facts outside the domains are never read every way
    assert rt.reading_facts(rt.evolve(base, criteria=base.criteria[1:]), {"a": True}, {"a": (True, False)}) == ()


def test_reading_facts_caps_facts_and_readings():
    missing = tuple(f"f{i}" for i in range(8))
    base = rt.GuidelineResult("g", RD, (rt.CriterionResult("y", rt.NOT_DOCUMENTED, False, (), missing),))
    findings = {n: (True, False) for n in missing}
    assert rt.reading_facts(base, {}, findings) == missing[:rt.MAX_READING_FACTS]
    big = {"f0": tuple(range(40)), "f1": (True, False), "f2": tuple(range(5))}
    # 40 readings, then 80 would exceed the cap of 64: f1 is skipped, f2 too (200)
    assert rt.reading_facts(base, {}, big) == ("f0",)


def test_conclude_lists_each_deciding_presumption_once():
    a = rt.CriterionResult("a", rt.NOT_APPLICABLE, False, presumed=("prior",))
    b = rt.CriterionResult("b", rt.NOT_APPLICABLE, False, presumed=("prior", "n"))
    e = rt.CriterionResult("e", rt.DOES_NOT_APPLY, True, presumed=("diagnoses",))
    rules = {"prior": rt.NONE_WHEN_SILENT_RULE, "n": rt.CHECKED_WHEN_STATED}
    labels = {"prior": "prior injections", "diagnoses": "diagnoses"}
    r = rt.conclude(rt.GuidelineResult("g", RD, (a, b, e)), rules, labels)
    assert r.presumptions == (rt.Presumption("prior", rt.NONE_WHEN_SILENT, "prior injections", ("a", "b")),
                              rt.Presumption("n", rt.DETAIL_UNSTATED, "n", ("b",)),
                              rt.Presumption("diagnoses", rt.EXCLUSION_SILENT, "diagnoses", ("e",)))
    assert r.to_json()["presumptions"][0] == {"fact": "prior", "kind": "none_when_silent",
                                              "label": "prior injections", "criteria": ["a", "b"]}
    # not certified: only the reasons' presumptions decided
    c = rt.CriterionResult("c", rt.NOT_MET, False, presumed=("n",))
    r = rt.conclude(rt.GuidelineResult("g", RD, (a, c)), rules, labels)
    assert r.presumptions == (rt.Presumption("n", rt.DETAIL_UNSTATED, "n", ("c",)),)


def test_certified_when_every_criterion_is_met_or_not_applicable():
    met = rt.CriterionResult("a", rt.MET, False)
    na = rt.CriterionResult("b", rt.NOT_APPLICABLE, False)
    nd = rt.CriterionResult("c", rt.NOT_DOCUMENTED, False)
    assert rt.GuidelineResult("g", RD, (met, na)).certified
    assert rt.GuidelineResult("g", RD, (met, rt.CriterionResult("e", rt.DOES_NOT_APPLY, True))).certified
    applies = rt.GuidelineResult("g", RD, (met, rt.CriterionResult("e", rt.APPLIES, True)))
    assert not applies.certified and applies.unmet_ids() == ["e"]
    result = rt.GuidelineResult("g", RD, (met, nd, na))
    assert not result.certified and result.unmet_ids() == ["c"]


# ------------------------------------------------------ partial certification
def result_of(*outcomes):
    return rt.GuidelineResult("g", RD, tuple(rt.CriterionResult(f"c{i}", o, False) for i, o in enumerate(outcomes)))


def test_modification_and_determination_in_json():
    m = rt.Modification("visits", 6, 12)
    assert m.to_json() == {"fact": "visits", "certified": 6, "requested": 12}
    r = rt.evolve(result_of(rt.NOT_MET), modified=m)
    assert (r.certified, r.determination, r.unmet_ids()) == (False, "modified", ["c0"])
    j = r.to_json()
    assert (j["certified"], j["determination"], j["modified"]) == (False, "modified", m.to_json())
    assert result_of(rt.MET).determination == "certified" and result_of(rt.MET).to_json()["modified"] is None
    assert result_of(rt.NOT_DOCUMENTED).determination == "not certified"
    assert rt.GuidelineResult("g", RD, ()).modified is None


def limit(most: int, fact: str = "n", extra=lambda facts: []):
    """unmet of a guideline with one criterion `fact <= most` (id c0), and what else `extra` says is unmet."""
    calls = []

    def unmet(facts, request_date):
        calls.append(facts[fact])
        assert request_date == RD
        return ([] if facts[fact] <= most else ["c0"]) + extra(facts)

    return unmet, calls


def test_the_most_that_would_be_certified_counting_down():
    unmet, calls = limit(6)
    r = rt.modify(result_of(rt.NOT_MET), {"n": 12, "other": 1}, {"c0": "n"}, unmet)
    assert r.modified == rt.Modification("n", 6, 12) and r.determination == "modified"
    assert calls == [11, 10, 9, 8, 7, 6]
    assert r.criteria == result_of(rt.NOT_MET).criteria  # the outcomes stay those of the amount requested


def test_the_first_certified_amount_from_the_top_even_if_certification_is_not_monotone():
    unmet = lambda facts, d: [] if facts["n"] in (2, 7) else ["c0"]  # noqa: E731
    assert rt.modify(result_of(rt.NOT_MET), {"n": 9}, {"c0": "n"}, unmet).modified == rt.Modification("n", 7, 9)


@pytest.mark.parametrize("outcomes,fewer,facts", [
    ((rt.MET,), {"c0": "n"}, {"n": 12}),                                     # certified
    ((rt.NOT_MET, rt.NOT_DOCUMENTED), {"c0": "n", "c1": "n"}, {"n": 12}),    # a reason is not documented
    ((rt.NOT_MET, rt.NOT_MET), {"c0": "n"}, {"n": 12}),                      # a reason does not allow fewer
    ((rt.NOT_MET, rt.NOT_MET), {"c0": "n", "c1": "m"}, {"n": 12, "m": 3}),  # of two different facts
    ((rt.NOT_MET,), {"c0": "n"}, {}),                                        # not documented
    ((rt.NOT_MET,), {"c0": "n"}, {"n": None}),
    ((rt.NOT_MET,), {"c0": "n"}, {"n": 1}),                                  # nothing fewer to certify
    ((rt.NOT_MET,), {"c0": "n"}, {"n": 0}),
    ((rt.NOT_MET,), {"c0": "n"}, {"n": True}),                               # not a count
    ((rt.NOT_MET,), {"c0": "n"}, {"n": Decimal("12")}),
    ((rt.NOT_MET,), {}, {"n": 12}),
])
def test_no_modification_unless_every_reason_is_not_met_and_allows_fewer_of_one_documented_count(
        outcomes, fewer, facts):
    calls = []
    r = rt.modify(result_of(*outcomes), facts, fewer, lambda f, d: calls.append(f) or [])
    assert r.modified is None and calls == []


def test_no_modification_when_no_fewer_amount_is_certified():
    unmet, calls = limit(0)
    assert rt.modify(result_of(rt.NOT_MET), {"n": 4}, {"c0": "n"}, unmet).modified is None
    assert calls == [3, 2, 1]
    # another criterion that fewer would break counts too
    unmet, _ = limit(6, extra=lambda f: ["c1"] if f["n"] < 8 else [])
    assert rt.modify(result_of(rt.NOT_MET, rt.MET), {"n": 12}, {"c0": "n"}, unmet).modified is None


def test_not_applicable_criteria_do_not_prevent_a_modification():
    unmet, _ = limit(3)
    r = rt.modify(result_of(rt.NOT_APPLICABLE, rt.NOT_MET, rt.MET), {"n": 5}, {"c1": "n"}, unmet)
    assert r.modified == rt.Modification("n", 3, 5)


def test_the_case_is_not_changed_by_the_search():
    facts = {"n": 5}
    unmet, _ = limit(2)
    rt.modify(result_of(rt.NOT_MET), facts, {"c0": "n"}, unmet)
    assert facts == {"n": 5}


def test_mtus_line_lookup():
    table = ((10, 12, 35), (14, 14, 39))
    assert [rt.mtus_line(table, n) for n in (9, 10, 12, 13, 14, 15)] == [None, 35, 35, None, 39, None]


def test_exports_are_explicit_and_cannot_clash_with_mangled_names():
    import re
    assert len(set(rt.__all__)) == len(rt.__all__)
    for name in rt.__all__:
        assert hasattr(rt, name)
        # generated code names guideline things f_/m_/d_/r_<name> or fX_<hex>...
        assert not re.match(r"[fmdr](_|X_)", name)


# ------------------------------------------- time from A to B against a period
D = datetime.date


@pytest.mark.parametrize("op, start, end, months, days, expected", [
    (">=", D(2014, 1, 31), D(2014, 2, 28), 1, 0, True),    # Jan 31 + 1 month is Feb 28 (clamped)
    (">", D(2014, 1, 31), D(2014, 2, 28), 1, 0, False),
    (">", D(2014, 1, 1), D(2014, 4, 2), 3, 0, True),
    ("<", D(2014, 1, 1), D(2014, 1, 15), 0, 14, False),   # exactly 14 days
    ("<=", D(2014, 1, 1), D(2014, 1, 15), 0, 14, True),
    (">", None, D(2014, 1, 15), 1, 0, None),
    (">", D(9999, 12, 1), D(9999, 12, 31), 1, 0, None),    # start + 1 month is off the calendar
])
def test_compare_elapsed(op, start, end, months, days, expected):
    assert rt.compare_elapsed(op, start, end, months, days) is expected


def test_a_measured_duration_against_a_period_is_the_same_rule_both_ways_round():
    measured = rt.time_from(D(2014, 1, 31), D(2014, 2, 28))
    month = Duration(1, 0)
    assert rt.dur_cmp(measured, month, D(2020, 1, 1)) == rt.elapsed_cmp(D(2014, 1, 31), D(2014, 2, 28), 1, 0) == 0
    assert rt.dur_cmp(Duration(0, 29), measured, D(2020, 1, 1)) == 1  # 29 days from Jan 31 is Mar 1


@pytest.mark.parametrize("key,value", [
    ("arthroscopic meniscectomy", 12),  # its own row
    ("R knee arthroscopic partial medial meniscectomy", 12),  # the row whose words it contains
    ("Oxycodone ER 20 mg", 15),  # the row with the most words
    ("oxycodone 10 mg", 10),
    ("shoulder arthroscopy", None),  # no row's words are all in it
    ("hip knee", None),  # two one-word rows with different values: not decided
])
def test_a_table_row_is_found_by_the_words_of_its_key(key, value):
    from decimal import Decimal

    from mtus.compiler.check.runtime import table_get
    table = {"arthroscopic meniscectomy": Decimal(12), "oxycodone": Decimal(10), "oxycodone er": Decimal(15),
             "hip": Decimal(1), "knee": Decimal(2)}
    assert table_get(table, key) == (None if value is None else Decimal(value))
