"""The runtime contract of compiled checkers: values, three-valued logic, results.

Generated checker modules import only the names in __all__; the reference
interpreter (compiler/build/interpret.py) uses the same functions, so both share one
definition of the semantics. Standard library only (not even typing, which only
the type checker reads): checking a case never imports Lark or the compiler.

Values of documented facts, as the case loader produces them:
  finding -> bool, count -> int, number / percent / quantity -> Decimal (or int),
  duration -> Duration, date -> datetime.date, text / one of -> str,
  set of ... -> frozenset[str], history -> tuple of dicts (field -> value).
A fact absent from the case (or None) is not documented. Unknown is None throughout.

Calendar arithmetic is total: a date computation that would leave the calendar
(before 0001-01-01 or after 9999-12-31) has no value, so it is unknown (None),
never an exception, like a division by zero.

Two shapes of evaluation share these functions:
  * values only (the fast path): True / False / None for conditions;
  * "pairs" (value, missing) for full results, where `missing` is the ordered
    tuple of what was not documented and made the value unknown. Invariant:
    missing is () whenever value is not None.
"""

from __future__ import annotations

import datetime
import decimal
import operator
import re
from bisect import bisect_right
from decimal import Decimal
from operator import attrgetter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, ClassVar, Iterable, Iterator, Mapping, Optional, Sequence, TypeVar

    R = TypeVar("R", bound="Record")

#: Bumped whenever generated code would need a different runtime. Packs record it.
#: 2: tables (lookup), sum of an expression, partial certification, total calendar arithmetic.
#: 3: criterion results carry the values they computed (Computed; decide's `computed`).
#: 4: compare_elapsed, the one calendar rule for `time from A to B` against a period.
#: 5: lookup_or / lookup_or_m, tables with an `otherwise` row.
#: 6: compare_code / member_code, ICD-10-CM, CPT and HCPCS codes and patterns.
#: 7: count_distinct_m and set_count: `count distinct(h.field)` and `count(s)` of a set.
#: 8: the request item's quantity fills only a fact declared `from item quantity` (the pack info's
#:    `from_item`), no longer every count a criterion `allows fewer` of: a pack compiled before would
#:    silently stop reading "PT 2x6" as 12 visits, so it is refused and recompiled instead.
RUNTIME_VERSION = 8

MET = "met"
NOT_MET = "not met"
NOT_DOCUMENTED = "not documented"
NOT_APPLICABLE = "not applicable"
#: An exclusion (`exclude`) applies or does not apply; silence means it does not apply.
APPLIES = "applies"
DOES_NOT_APPLY = "does not apply"
OUTCOMES = (MET, NOT_MET, NOT_DOCUMENTED, NOT_APPLICABLE, APPLIES, DOES_NOT_APPLY)
#: Outcomes that let the request be certified, and those that stop it.
PASSING = frozenset({MET, NOT_APPLICABLE, DOES_NOT_APPLY})
FAILING = frozenset({NOT_MET, NOT_DOCUMENTED, APPLIES})

# What a silent record means for a fact (its declared silence rule, as written).
REQUIRED = "required"
CHECKED_WHEN_STATED = "checked when stated"
NONE_WHEN_SILENT_RULE = "none when silent"
PRESUMED_ABSENT_RULE = "presumed absent when silent"
SILENCE_RULES = (REQUIRED, CHECKED_WHEN_STATED, NONE_WHEN_SILENT_RULE, PRESUMED_ABSENT_RULE)

# The kinds of presumption an outcome can rest on.
NONE_WHEN_SILENT = "none_when_silent"    # a history the record is silent on is read as none
PRESUMED_ABSENT = "presumed_absent"      # a finding the record is silent on is read as absent
DETAIL_UNSTATED = "detail_unstated"      # a request detail checked only when stated was not stated
EXCLUSION_SILENT = "exclusion_silent"    # an exclusion the record is silent on does not apply
PRESUMPTION_KINDS = (NONE_WHEN_SILENT, PRESUMED_ABSENT, DETAIL_UNSTATED, EXCLUSION_SILENT)


# ---------------------------------------------------------- value classes
# Check time's value classes (here and in the modules around) are written out by hand: `__slots__` in
# `__init__`'s order and an explicit `__init__`. attrs generated and compiled every class's methods when its
# module was imported, which with importing attrs itself was about a third of `mtus check`'s start-up.
class Record:
    """A value: equal to another of the same class with equal fields, hashable by them, shown as attrs shows it.

    A subclass names its fields in `__slots__` (after its bases' fields, in `__init__`'s order); fields listed
    in `_uncompared` take no part in equality or hashing, those in `_unshown` are left out of the repr.
    """

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _uncompared: ClassVar[tuple[str, ...]] = ()
    _unshown: ClassVar[tuple[str, ...]] = ()
    _shown: ClassVar[tuple[str, ...]] = ()
    #: the compared fields of an instance (attrgetter: a C function, not bound as a method); with none, its class
    _key: ClassVar[attrgetter[object]] = attrgetter("__class__")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        slots = cls.__dict__.get("__slots__", ())
        cls._fields = cls._fields + ((slots,) if isinstance(slots, str) else tuple(slots))
        compared = [f for f in cls._fields if f not in cls._uncompared]
        cls._key = attrgetter(*compared) if compared else attrgetter("__class__")
        cls._shown = tuple(f for f in cls._fields if f not in cls._unshown)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        key = self._key
        return key(self) == key(other)

    def __hash__(self) -> int:
        return hash(self._key(self))

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._shown)
        return f"{self.__class__.__qualname__}({inner})"


def evolve(obj: R, **changes: Any) -> R:
    """A copy of obj with some fields changed (as attrs.evolve: a field `_x` is the keyword `x`)."""
    args = {name.lstrip("_"): getattr(obj, name) for name in obj._fields}
    args.update(changes)
    return obj.__class__(**args)


def as_dict(obj: Record) -> dict[str, Any]:
    """The fields of obj by name, in order (as attrs.asdict without recursion)."""
    return {name: getattr(obj, name) for name in obj._fields}


# ------------------------------------------------------------------ time
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_MIN_YEAR, _MAX_YEAR = datetime.MINYEAR, datetime.MAXYEAR


def _leap(year: int) -> bool:
    """calendar.isleap, without importing calendar (and locale) at every check's start-up."""
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def add_months(d: Optional[datetime.date], months: int) -> Optional[datetime.date]:
    """Calendar month arithmetic with month-end clamping: Jan 31 + 1 month = Feb 28/29.

    None (unknown) when d is, or when the result would be off the calendar.
    """
    if d is None:
        return None
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return None
    day = d.day
    if day > 28:  # only the last days of a month can need clamping (checked on every case: keep it cheap)
        last = 29 if month == 2 and _leap(year) else _MONTH_DAYS[month - 1]
        day = min(day, last)
    return datetime.date(year, month, day)


def add_days(d: Optional[datetime.date], days: int) -> Optional[datetime.date]:
    """d moved by whole days; None when d is unknown or the result would be off the calendar."""
    if d is None:
        return None
    try:
        return d + datetime.timedelta(days=days)
    except OverflowError:  # off the calendar, or more days than timedelta holds
        return None


def shift(d: Optional[datetime.date], months: int, days: int) -> Optional[datetime.date]:
    """d moved by a calendar period: months first (clamped to the month's end), then days.

    None when d is unknown or any step would be off the calendar.
    """
    return add_days(add_months(d, months), days) if days else add_months(d, months)


class Duration(Record):
    """A length of calendar time: whole months plus days.

    A duration measured by `time from A to B` remembers A (`start`) and B
    (`end`), so that comparing it with `2 months` is decided on the calendar
    starting at A. Equal durations have equal months and days, wherever they start.
    """

    __slots__ = ("months", "days", "start", "end")
    _uncompared = ("start", "end")
    _unshown = ("end",)
    months: int
    days: int
    start: Optional[datetime.date]
    end: Optional[datetime.date]

    def __init__(self, months: int = 0, days: int = 0, start: Optional[datetime.date] = None,
                 end: Optional[datetime.date] = None) -> None:
        self.months = months
        self.days = days
        self.start = start
        self.end = end

    def after(self, d: Optional[datetime.date]) -> Optional[datetime.date]:
        """The date this long after d (None if that is off the calendar)."""
        if d is not None and d == self.start and self.end is not None:
            return self.end
        return shift(d, self.months, self.days)

    def __str__(self) -> str:
        parts = []
        if self.months:
            y, m = divmod(self.months, 12)
            if y:
                parts.append(f"{y} year{'s' if y != 1 else ''}")
            if m:
                parts.append(f"{m} month{'s' if m != 1 else ''}")
        if self.days or not parts:
            w, d = divmod(self.days, 7)
            if w and not d:
                parts.append(f"{w} week{'s' if w != 1 else ''}")
            else:
                parts.append(f"{self.days} day{'s' if self.days != 1 else ''}")
        return " ".join(parts)


def _month_start_ordinal(year: int, month: int) -> int:
    """The ordinal of the first day of a month, also for December of year 0 (the month before the calendar)."""
    if year < _MIN_YEAR:
        return 1 - 31
    return datetime.date(year, month, 1).toordinal()


def time_from(a: Optional[datetime.date], b: Optional[datetime.date]) -> Optional[Duration]:
    """`time from a to b`: whole calendar months from a, then the remaining days; anchored at a.

    The months are the most that fit (a + months <= b, clamped as add_months
    does), so `after(a)` gives back exactly b, also when b is before a
    (negative months). Total for any two dates: the month counted from may lie
    just before the calendar (b in January of year 1), which is done on ordinals.
    """
    if a is None or b is None:
        return None
    months = (b.year - a.year) * 12 + (b.month - a.month)
    landed = add_months(a, months)  # in b's month, so always on the calendar
    assert landed is not None
    if landed > b:
        months -= 1
        landed = add_months(a, months)
    if landed is not None:
        days = (b - landed).days
    else:  # December of year 0: a's day, clamped to 31 days
        days = b.toordinal() - (_month_start_ordinal(0, 12) + min(a.day, 31) - 1)
    return Duration(months, days, a, b)
def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


def elapsed_cmp(start: Optional[datetime.date], end: Optional[datetime.date], months: int,
                days: int) -> Optional[int]:
    """-1, 0 or 1 as `time from start to end` is shorter than, as long as, or longer than a period.

    The calendar rule for a measured time against a period, stated once: the
    end against start + the period (months first, clamped to the month's end,
    then days), so `time from Jan 31 to Feb 28 >= 1 month` holds. None
    (unknown) when start or end is, or when start + the period is off the calendar.
    """
    if start is None or end is None:
        return None
    key = (start, months, days)
    moved = _SHIFTED.get(key)
    if moved is None:  # not seen, or off the calendar (never remembered: rare, and None means unseen)
        moved = shift(start, months, days)
        if moved is not None and len(_SHIFTED) < _SHIFTED_MAX:
            _SHIFTED[key] = moved
    if moved is None:
        return None
    return (end > moved) - (end < moved)


#: start + period, remembered by (start, months, days): a batch compares the same few onset and
#: injection dates with the same periods on line after line. Bounded like _NORMALISED.
_SHIFTED: dict[tuple[datetime.date, int, int], datetime.date] = {}
_SHIFTED_MAX = 100_000


def compare_elapsed(op: str, start: Optional[datetime.date], end: Optional[datetime.date], months: int,
                    days: int) -> Optional[bool]:
    """`time from start to end op P` for a written period P (elapsed_cmp); what compiled checkers call."""
    c = elapsed_cmp(start, end, months, days)
    return None if c is None else _OPS[op](c, 0)


def dur_cmp(a: Duration, b: Duration, request_date: datetime.date) -> Optional[int]:
    """-1, 0 or 1 as a is shorter than, as long as, or longer than b (both documented).

    A measured duration (time from A to B) against a period is elapsed_cmp;
    two measured durations compare their lengths in days. Two periods compare
    exactly when both are whole days or both whole months; otherwise (1 month
    vs 30 days) on the calendar starting at the request date. None (unknown)
    when the calendar needed runs off its end.
    """
    if a.start is not None and b.start is not None:
        a_end, b_end = a.after(a.start), b.after(b.start)
        if a_end is None or b_end is None:
            return None
        return _sign((a_end - a.start).days - (b_end - b.start).days)
    if a.start is not None:
        return elapsed_cmp(a.start, a.after(a.start), b.months, b.days)
    if b.start is not None:
        c = elapsed_cmp(b.start, b.after(b.start), a.months, a.days)
        return None if c is None else -c
    anchor = request_date
    if a.months == 0 and b.months == 0:
        return _sign(a.days - b.days)
    if a.days == 0 and b.days == 0:
        return _sign(a.months - b.months)
    x, y = a.after(anchor), b.after(anchor)
    if x is None or y is None:
        return None
    return (x > y) - (x < y)


def window(request_date: datetime.date, months: int, days: int) -> tuple[Optional[datetime.date], datetime.date]:
    """The dates `within` a period before the request date, as an inclusive (first, last) pair.

    The first date is None (unknown) when it would be before the calendar starts.
    """
    return shift(request_date, -months, -days), request_date


# ------------------------------------------------- three-valued logic (values)
def k_not(a: Optional[bool]) -> Optional[bool]:
    return None if a is None else not a


def k_and(*values: Optional[bool]) -> Optional[bool]:
    """Kleene and: false if any operand is false, else unknown if any is unknown, else true."""
    unknown = False
    for v in values:
        if v is False:
            return False
        if v is None:
            unknown = True
    return None if unknown else True


def k_or(*values: Optional[bool]) -> Optional[bool]:
    """Kleene or: true if any operand is true, else unknown if any is unknown, else false."""
    unknown = False
    for v in values:
        if v is True:
            return True
        if v is None:
            unknown = True
    return None if unknown else False


def k_at_least(n: int, *values: Optional[bool]) -> Optional[bool]:
    """`at least n of {...}`: true once n hold, false once n can no longer hold, else unknown."""
    true = sum(1 for v in values if v is True)
    unknown = sum(1 for v in values if v is None)
    if true >= n:
        return True
    if true + unknown < n:
        return False
    return None


# ------------------------------------------- values with their missing facts
if TYPE_CHECKING:  # the type checker's names only
    #: A runtime value: bool, int, Decimal, str, date, Duration, frozenset, or a history's rows.
    Value = Any
    Row = Mapping[str, Any]
    Pair = tuple[Any, tuple[str, ...]]  # (value, missing): missing is () unless value is None
    #: `within`'s inclusive (first, last) dates; first is None when it would be off the calendar
    Window = Optional[tuple[Optional[datetime.date], datetime.date]]
    Where = Optional[Callable[[Row], Pair]]


def union(*missings: Iterable[str]) -> tuple[str, ...]:
    """The names in first-use order, each once."""
    out: dict[str, None] = {}
    for m in missings:
        for name in m:
            out.setdefault(name)
    return tuple(out)


def missing_of(*pairs: Pair) -> tuple[str, ...]:
    """What the unknown operands were missing (the known ones miss nothing)."""
    return union(*(m for v, m in pairs if v is None))


def strict_m(value: Value, *pairs: Pair) -> Pair:
    """A comparison or computation: unknown exactly when an operand is, naming what they miss."""
    return (value, ()) if value is not None else (None, missing_of(*pairs))


def not_m(pair: Pair) -> Pair:
    v, m = pair
    return (None, m) if v is None else (not v, ())


def and_m(*pairs: Pair) -> Pair:
    """Kleene and; a false operand decides, so the unknown ones are then not missing."""
    value = k_and(*(v for v, _ in pairs))
    return (None, missing_of(*pairs)) if value is None else (value, ())


def or_m(*pairs: Pair) -> Pair:
    value = k_or(*(v for v, _ in pairs))
    return (None, missing_of(*pairs)) if value is None else (value, ())


def at_least_m(n: int, *pairs: Pair) -> Pair:
    value = k_at_least(n, *(v for v, _ in pairs))
    return (None, missing_of(*pairs)) if value is None else (value, ())


# ------------------------------------------------------------ comparisons
_OPS: dict[str, Callable[[Any, Any], bool]] = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
                             "=": operator.eq, "!=": operator.ne}


def compare(op: str, a: Value, b: Value) -> Optional[bool]:
    """Numbers (int and Decimal, exact), dates, findings and `one of` values (exact)."""
    if a is None or b is None:
        return None
    return _OPS[op](a, b)


def norm_text(s: str) -> str:
    """Free text as compared: case-insensitive, runs of whitespace collapsed, ends trimmed."""
    return " ".join(s.split()).casefold()


def compare_text(op: str, a: Optional[str], b: Optional[str]) -> Optional[bool]:
    """`=` / `!=` where one side is free text (diagnoses are written many ways)."""
    if a is None or b is None:
        return None
    return _OPS[op](norm_text(a), norm_text(b))


def compare_duration(op: str, a: Optional[Duration], b: Optional[Duration],
                     request_date: datetime.date) -> Optional[bool]:
    """Durations on the calendar (dur_cmp); unknown if either is, or if the calendar runs out."""
    if a is None or b is None:
        return None
    c = dur_cmp(a, b, request_date)
    return None if c is None else _OPS[op](c, 0)


def between(value: Value, low: Value, high: Value) -> Optional[bool]:
    """`value between low and high`, both ends inclusive; unknown if any of the three is."""
    if value is None or low is None or high is None:
        return None
    return bool(low <= value <= high)


def between_duration(value: Optional[Duration], low: Optional[Duration], high: Optional[Duration],
                     request_date: datetime.date) -> Optional[bool]:
    """`low <= value and value <= high` on the calendar (Kleene and: one false end decides)."""
    if value is None or low is None or high is None:
        return None
    lo, hi = dur_cmp(low, value, request_date), dur_cmp(value, high, request_date)
    return k_and(None if lo is None else lo <= 0, None if hi is None else hi <= 0)


# ------------------------------------------------------------------ sets
TEXT, DURATION, EXACT = "text", "duration", "exact"  # how the elements of a set compare


#: Texts of collections as norm_text normalises them, remembered: a batch tests the same diagnoses against
#: the same needles on every line. Bounded, so a stream of distinct texts cannot grow it without end.
_NORMALISED: dict[str, str] = {}
_NORMALISED_MAX = 100_000


def contains_text(collection: Iterable[str], needle: str) -> bool:
    """Whether free text `needle`, already normalised with norm_text, is in the collection."""
    seen = _NORMALISED
    for x in collection:
        n = seen.get(x)
        if n is None:
            n = norm_text(x)
            if len(seen) < _NORMALISED_MAX:
                seen[x] = n
        if n == needle:
            return True
    return False


def _has(collection: Iterable[Any], x: Value, kind: str, request_date: datetime.date) -> Optional[bool]:
    if kind == TEXT:
        return contains_text(collection, norm_text(x))
    if kind == DURATION:  # an element whose comparison runs off the calendar might or might not be x
        return k_or(*(None if c is None else c == 0 for c in (dur_cmp(x, y, request_date) for y in collection)))
    return x in collection


def member(op: str, left: Value, right: Value, kind: str, request_date: datetime.date) -> Optional[bool]:
    """`x in S`, `x not in S`, `S contains x`, `S contains any of T`, `S contains only T`.

    `kind` says how elements compare: TEXT (free text, normalised), DURATION
    (on the calendar; three-valued, as a comparison can run off the calendar)
    or EXACT (`one of` values, numbers, dates).
    """
    if left is None or right is None:
        return None
    if op == "in":
        return _has(right, left, kind, request_date)
    if op == "not in":
        return k_not(_has(right, left, kind, request_date))
    if op == "contains":
        return _has(left, right, kind, request_date)
    if op == "contains any of":
        return k_or(*(_has(left, x, kind, request_date) for x in right))
    if op == "contains only":
        return k_and(*(_has(right, x, kind, request_date) for x in left))
    raise ValueError(f"unknown set operation {op!r}")


# ------------------------------------------------------------ arithmetic
#: Exact for every number a guideline or case writes; only a quotient is ever rounded (at 60 digits).
_DECIMAL = decimal.Context(prec=60, traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow])


def _both_int(a: Value, b: Value) -> bool:
    return type(a) is int and type(b) is int


def add(a: Value, b: Value) -> Value:
    """a + b for numbers, durations (month and day parts add) and date + duration (None off the calendar)."""
    if a is None or b is None:
        return None
    if isinstance(a, datetime.date):
        return shift(a, b.months, b.days)
    if isinstance(a, Duration):
        return Duration(a.months + b.months, a.days + b.days)
    return a + b if _both_int(a, b) else _DECIMAL.add(a, b)


def sub(a: Value, b: Value) -> Value:
    """a - b for numbers, durations and date - duration (months back first, then days; None off the calendar)."""
    if a is None or b is None:
        return None
    if isinstance(a, datetime.date):
        return shift(a, -b.months, -b.days)
    if isinstance(a, Duration):
        return Duration(a.months - b.months, a.days - b.days)
    return a - b if _both_int(a, b) else _DECIMAL.subtract(a, b)


def mul(a: Value, b: Value) -> Value:
    if a is None or b is None:
        return None
    return a * b if _both_int(a, b) else _DECIMAL.multiply(a, b)


def div(a: Value, b: Value) -> Value:
    """An exact Decimal quotient; dividing by zero has no value, so it is unknown."""
    if a is None or b is None or b == 0:
        return None
    return _DECIMAL.divide(a, b)


# ------------------------------------------------------------- histories
# Rows are mappings (field -> value); a field absent or None is not documented
# and is named `history.field`. `within` keeps rows dated from window[0] to
# window[1] inclusive (a window whose start is off the calendar, None, leaves
# every dated row unknown); `where` is a function row -> pair.
def last_row(rows: Sequence[Row], date_field: Optional[str]) -> Optional[Row]:
    """The latest row (ties go to the later entry), or None if there is none or a row has no date.

    Without a date field the order is the order of the list.
    """
    if not rows:
        return None
    if date_field is None:
        return rows[-1]
    best = best_date = None
    for row in rows:
        d = row.get(date_field)
        if d is None:
            return None
        if best is None or d >= best_date:
            best, best_date = row, d
    return best


def first_row(rows: Sequence[Row], date_field: Optional[str]) -> Optional[Row]:
    """The earliest row (ties go to the earlier entry); None as for last_row."""
    if not rows:
        return None
    if date_field is None:
        return rows[0]
    best = best_date = None
    for row in rows:
        d = row.get(date_field)
        if d is None:
            return None
        if best is None or d < best_date:
            best, best_date = row, d
    return best


_TRUE = (True, ())


def _in_window(row: Row, history: str, window: Window) -> Pair:
    if window is None:
        return _TRUE
    d = row.get("date")
    if d is None:
        return None, (history + ".date",)
    first, last = window
    if first is None:  # the start is off the calendar: unknown, unless the row is after the end
        return (None, ()) if d <= last else (False, ())
    return (first <= d <= last), ()


def _included(row: Row, history: str, window: Window, where: Where) -> Pair:
    """Whether a row counts: inside the window and meeting `where` (three-valued)."""
    inside = _in_window(row, history, window)
    if inside[0] is False or where is None:
        return inside
    return and_m(inside, where(row))


def any_m(rows: Optional[Sequence[Row]], history: str, window: Window, where: Where) -> Pair:
    """`any(h ...)`: true if some row counts; unknown if none does but some might."""
    if rows is None:
        return None, (history,)
    return or_m(*(_included(row, history, window, where) for row in rows))


def all_m(rows: Optional[Sequence[Row]], history: str, window: Window, where: Callable[[Row], Pair]) -> Pair:
    """`all(h within P where C)`: every row inside the window meets C (true for no rows)."""
    if rows is None:
        return None, (history,)
    pairs = []
    for row in rows:
        inside = _in_window(row, history, window)
        pairs.append(_TRUE if inside[0] is False else or_m(not_m(inside), where(row)))
    return and_m(*pairs)


def count_m(rows: Optional[Sequence[Row]], history: str, window: Window, where: Where) -> Pair:
    """The number of rows that count; unknown if any row might or might not."""
    if rows is None:
        return None, (history,)
    pairs = [_included(row, history, window, where) for row in rows]
    if any(v is None for v, _ in pairs):
        return None, missing_of(*pairs)
    return sum(1 for v, _ in pairs if v), ()


def sum_m(rows: Optional[Sequence[Row]], history: str, window: Window, where: Where, field: str,
          zero: Value) -> Pair:
    """`sum(h.field)`: the total of `field` over the rows that count; unknown if a needed value is."""
    missing = (f"{history}.{field}",)

    def value(row: Row) -> Pair:
        x = row.get(field)
        return (x, ()) if x is not None else (None, missing)

    return sum_of_m(rows, history, window, where, value, zero)


def sum_of_m(rows: Optional[Sequence[Row]], history: str, window: Window, where: Where,
             value: Callable[[Row], Pair], zero: Value) -> Pair:
    """`sum(h of e)`: the total of e over the rows that count, e a function row -> pair.

    No rows count: zero. Unknown when a row might or might not count, or when
    a counted row's e is unknown; missing is then the union, in row order.
    """
    if rows is None:
        return None, (history,)
    total, unknown = zero, False
    missing: list[tuple[str, ...]] = []
    for row in rows:
        counts, m = _included(row, history, window, where)
        if counts is None:
            unknown = True
            missing.append(m)
        elif counts:
            x, m = value(row)
            if x is None:
                unknown = True
                missing.append(m)
            elif not unknown:
                total = add(total, x)
    return (None, union(*missing)) if unknown else (total, ())


def _distinct(value: Value, kind: str) -> Value:
    """A value as `count distinct` tells values apart: texts as they compare, codes without dots or case."""
    if kind == TEXT and isinstance(value, str):
        return norm_text(value)
    if kind == CODE and isinstance(value, str):
        return norm_code(value)
    return value


def count_distinct_m(rows: Optional[Sequence[Row]], history: str, window: Window, where: Where, field: str,
                     kind: str) -> Pair:
    """`count distinct(h.field ...)`: how many different values `field` has in the rows that count.

    Unknown, like a sum, when a row might or might not count or a counted row
    does not give the field.
    """
    if rows is None:
        return None, (history,)
    seen: set[Value] = set()
    missing: list[tuple[str, ...]] = []
    for row in rows:
        counts, m = _included(row, history, window, where)
        if counts is None:
            missing.append(m or (history,))
        elif counts:
            x = row.get(field)
            if x is None:
                missing.append((f"{history}.{field}",))
            else:
                seen.add(_distinct(x, kind))
    return (None, union(*missing)) if missing else (len(seen), ())


def set_count(values: Optional[frozenset[Value]], kind: str) -> Optional[int]:
    """`count(s)` of a set: how many different values it holds (as count_distinct_m tells them apart)."""
    return None if values is None else len({_distinct(x, kind) for x in values})


def pick_m(which: str, rows: Optional[Sequence[Row]], history: str, window: Window, where: Where,
           date_field: Optional[str]) -> Pair:
    """The row `last(...)` / `first(...)` names, as (row, missing).

    Unknown when a row might or might not count, when a counted row has no
    date to order by (`history.date`), or when no row counts (`history`).
    """
    if rows is None:
        return None, (history,)
    chosen: list[Row] = []
    missing: list[tuple[str, ...]] = []
    unknown = False
    for row in rows:
        counts, m = _included(row, history, window, where)
        if counts is None:
            unknown = True
            missing.append(m)
        elif counts:
            if date_field is not None and row.get(date_field) is None:
                unknown = True
                missing.append((f"{history}.{date_field}",))
            chosen.append(row)
    if unknown:
        return None, union(*missing)
    if not chosen:
        return None, (history,)
    return (last_row if which == "last" else first_row)(chosen, date_field), ()


def field_m(row_pair: Pair, history: str, field: str) -> Pair:
    """A field of the row pick_m named."""
    row, m = row_pair
    if row is None:
        return None, m
    v = row.get(field)
    return (v, ()) if v is not None else (None, (f"{history}.{field}",))


# ----------------------------------------------------------------- tables
# A table is a dict from keys normalised with norm_text to the entries' values.
_WORDS = re.compile(r"[^\W_]+")


def table_get(table: Mapping[str, Value], key: str) -> Value:
    """The entry for `key` (text): its own row, else the row whose key's words all appear in it, the row
    with the most words ("R knee arthroscopic partial medial meniscectomy" is the row "arthroscopic
    meniscectomy"); None if no row matches or two rows of as many words with different values do."""
    k = norm_text(key)
    v = table.get(k)
    if v is not None or not table:
        return v
    words = set(_WORDS.findall(k))
    best: Value = None
    size, tie = 0, False
    for row, value in table.items():
        row_words = _WORDS.findall(row)
        if not row_words or not words.issuperset(row_words):
            continue
        if len(row_words) > size:
            best, size, tie = value, len(row_words), False
        elif len(row_words) == size and value != best:
            tie = True
    return None if tie else best


def lookup(table: Mapping[str, Value], key: Optional[str]) -> Value:
    """`table[key]`, key matched like text (table_get); None if the key is unknown or not in the table."""
    return None if key is None else table_get(table, key)


def lookup_m(table: Mapping[str, Value], name: str, key: Pair) -> Pair:
    """`table[key]` with what it misses: the key's missing, or `name[key as given]` for a key not in the table."""
    k, m = key
    if k is None:
        return None, m
    v = table_get(table, k)
    return (v, ()) if v is not None else (None, (f"{name}[{k}]",))


def lookup_or(table: Mapping[str, Value], key: Optional[str], default: Value) -> Value:
    """`table[key]` for a table with an `otherwise` row: `default` for a key it does not list; None if the key is unknown."""
    if key is None:
        return None
    v = table_get(table, key)
    return default if v is None else v


def lookup_or_m(table: Mapping[str, Value], key: Pair, default: Value) -> Pair:
    """lookup_or with what it misses: only the key's (every listed or unlisted key has a value)."""
    k, m = key
    return (None, m) if k is None else (lookup_or(table, k, default), ())


# --------------------------------------------------------- codes (ICD-10-CM, CPT, HCPCS)
#: How the elements of a set operation compare (with TEXT, DURATION, EXACT): as diagnosis or procedure codes.
CODE = "code"


def norm_code(code: str) -> str:
    """A code as compared: upper case, without spaces or dots (`m79.1` is `M791`)."""
    return "".join(code.split()).replace(".", "").upper()


def code_matches(code: str, pattern: str) -> bool:
    """Whether a code is the pattern's: the same code; `M79.1*`: a code starting so; `M54.10-M54.18`: a code
    between the ends, the codes below an end included (M54.181 is within M54.10-M54.18)."""
    c = norm_code(code)
    p = "".join(pattern.split()).upper()
    if p.endswith("*"):
        return c.startswith(norm_code(p[:-1]))
    lo, dash, hi = p.partition("-")
    if not dash:
        return c == norm_code(p)
    lo, hi = norm_code(lo), norm_code(hi)
    return lo <= c[:max(len(lo), len(hi))] <= hi and len(c) >= min(len(lo), len(hi))


def compare_code(op: str, code: Optional[str], pattern: Optional[str]) -> Optional[bool]:
    """`code = pattern` / `code != pattern`; unknown if either is."""
    if code is None or pattern is None:
        return None
    return code_matches(code, pattern) is (op == "=")


def member_code(op: str, a: Any, b: Any) -> Optional[bool]:
    """The set operations on codes, the right side holding patterns: `code in {...}`, `codes contains P`,
    `codes contains any of {...}`, `codes contains only {...}`; unknown if either side is."""
    if a is None or b is None:
        return None
    if op in ("in", "not in"):
        return any(code_matches(a, p) for p in b) is (op == "in")
    if op == "contains":
        return any(code_matches(c, b) for c in a)
    if op == "contains any of":
        return any(code_matches(c, p) for c in a for p in b)
    return all(any(code_matches(c, p) for p in b) for c in a)  # contains only


# --------------------------------------------------------------- results
class FactValue(Record):
    """A fact a criterion read, with the value the case documented (None if not documented).

    For a fact with a default that the case leaves out, `value` is the default
    and `documented` is False.
    """

    __slots__ = ("name", "value", "documented")
    name: str
    value: object
    documented: bool

    def __init__(self, name: str, value: object, documented: bool) -> None:
        self.name = name
        self.value = value
        self.documented = documented

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": to_json_value(self.value), "documented": self.documented}


class Computed(Record):
    """A value a criterion computed from the facts (a sum, a table lookup, an elapsed time); None if unknown.

    `expr` is the computed expression as the guideline writes it.
    """

    __slots__ = ("expr", "value")
    expr: str
    value: object

    def __init__(self, expr: str, value: object) -> None:
        self.expr = expr
        self.value = value

    def to_json(self) -> dict[str, Any]:
        return {"expr": self.expr, "value": to_json_value(self.value)}


class CriterionResult(Record):
    """The outcome of one criterion on one case.

    `missing` names what was not documented, in first-use order: fact names,
    or `history.field` for a field missing from a history entry. It is empty
    unless the outcome is not documented. `computed` holds the values the
    criterion compared that are computed rather than read (empty where its
    `when` does not hold). `presumed` names the facts whose presumption the
    outcome rests on (a history read as none, a finding read as absent, an
    unstated request detail, the silent facts of an exclusion that does not
    apply). `readings` names the facts whose every reading was tried to decide
    the outcome (empty when three-valued logic decided it).
    """

    __slots__ = ("id", "outcome", "exclude", "read", "missing", "computed", "presumed", "readings")
    id: str
    outcome: str
    exclude: bool
    read: tuple[FactValue, ...]
    missing: tuple[str, ...]
    computed: tuple[Computed, ...]
    presumed: tuple[str, ...]
    readings: tuple[str, ...]

    def __init__(self, id: str, outcome: str, exclude: bool, read: tuple[FactValue, ...] = (),
                 missing: tuple[str, ...] = (), computed: tuple[Computed, ...] = (), presumed: tuple[str, ...] = (),
                 readings: tuple[str, ...] = ()) -> None:
        self.id = id
        self.outcome = outcome
        self.exclude = exclude
        self.read = read
        self.missing = missing
        self.computed = computed
        self.presumed = presumed
        self.readings = readings

    def with_outcome(self, outcome: str, missing: tuple[str, ...], presumed: tuple[str, ...],
                     readings: tuple[str, ...]) -> CriterionResult:
        """This result with another outcome, what it misses and rests on, and the readings tried."""
        return CriterionResult(self.id, outcome, self.exclude, self.read, missing, self.computed, presumed, readings)

    @property
    def passing(self) -> bool:
        """Whether this outcome lets the request be certified."""
        return self.outcome in PASSING

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "outcome": self.outcome,
            "exclude": self.exclude,
            "read": [r.to_json() for r in self.read],
            "missing": list(self.missing),
            "computed": [c.to_json() for c in self.computed],
            "presumed": list(self.presumed),
            "readings": list(self.readings),
        }


class Presumption(Record):
    """A presumption that decided a result: the fact, its kind (PRESUMPTION_KINDS), its label, the criteria resting on it."""

    __slots__ = ("fact", "kind", "label", "criteria")
    fact: str
    kind: str
    label: str
    criteria: tuple[str, ...]

    def __init__(self, fact: str, kind: str, label: str, criteria: tuple[str, ...] = ()) -> None:
        self.fact = fact
        self.kind = kind
        self.label = label
        self.criteria = criteria

    def to_json(self) -> dict[str, Any]:
        return {"fact": self.fact, "kind": self.kind, "label": self.label, "criteria": list(self.criteria)}


class Modification(Record):
    """Partial certification: `certified` of the `requested` amount of the count fact `fact` would be certified."""

    __slots__ = ("fact", "certified", "requested")
    fact: str
    certified: int
    requested: int

    def __init__(self, fact: str, certified: int, requested: int) -> None:
        self.fact = fact
        self.certified = certified
        self.requested = requested

    def to_json(self) -> dict[str, Any]:
        return {"fact": self.fact, "certified": self.certified, "requested": self.requested}


CERTIFIED, MODIFIED, NOT_CERTIFIED = "certified", "modified", "not certified"


class GuidelineResult(Record):
    """The determination for one guideline: certified when every applicable criterion is met.

    `criteria` are the outcomes for the amount requested. `modified` is set when
    a smaller amount of a count fact the unmet criteria allow fewer of would be
    certified (see `modify`); `certified` stays False then.
    """

    __slots__ = ("guideline", "request_date", "criteria", "modified", "presumptions", "turns_on")
    guideline: str
    request_date: datetime.date
    criteria: tuple[CriterionResult, ...]
    modified: Optional[Modification]
    #: The presumptions that decided, each once, in first-use order (see `conclude`).
    presumptions: tuple[Presumption, ...]
    #: When every reading was tried and the result still differs between them: the facts it turns on.
    turns_on: tuple[str, ...]

    def __init__(self, guideline: str, request_date: datetime.date, criteria: tuple[CriterionResult, ...],
                 modified: Optional[Modification] = None, presumptions: tuple[Presumption, ...] = (),
                 turns_on: tuple[str, ...] = ()) -> None:
        self.guideline = guideline
        self.request_date = request_date
        self.criteria = criteria
        self.modified = modified
        self.presumptions = presumptions
        self.turns_on = turns_on

    @property
    def certified(self) -> bool:
        return all(c.outcome in PASSING for c in self.criteria)

    @property
    def determination(self) -> str:
        """"certified", "modified" or "not certified"."""
        if self.certified:
            return CERTIFIED
        return MODIFIED if self.modified is not None else NOT_CERTIFIED

    @property
    def reasons(self) -> tuple[CriterionResult, ...]:
        """Criteria that prevent certification, in source order."""
        return tuple(c for c in self.criteria if c.outcome in FAILING)

    def unmet_ids(self) -> list[str]:
        return [c.id for c in self.reasons]

    def to_json(self) -> dict[str, Any]:
        return {
            "guideline": self.guideline,
            "request_date": self.request_date.isoformat(),
            "certified": self.certified,
            "determination": self.determination,
            "modified": self.modified.to_json() if self.modified is not None else None,
            "criteria": [c.to_json() for c in self.criteria],
            "presumptions": [p.to_json() for p in self.presumptions],
            "turns_on": list(self.turns_on),
        }


def modify(result: GuidelineResult, facts: Mapping[str, object], allows_fewer: Mapping[str, str],
           unmet: Callable[[Mapping[str, object], datetime.date], list[str]]) -> GuidelineResult:
    """result with `modified` filled in when a smaller amount of one count fact would be certified.

    Only when the result is not certified, every reason is "not met", every
    reason's criterion allows fewer of the same count fact X (`allows_fewer`:
    criterion id -> fact name), and the case documents X as n >= 2. Then the
    guideline is decided again with X = n-1, n-2, ..., 1 (`unmet(facts,
    request_date)` lists the ids not met or not documented; empty means
    certified) and the first amount certified is the modification. The cost
    is up to n-1 decisions.
    """
    if not allows_fewer:
        return result
    fact = None
    for c in result.criteria:
        if c.outcome == NOT_DOCUMENTED or c.outcome == APPLIES:  # fewer units cannot settle these
            return result
        if c.outcome == NOT_MET:
            x = allows_fewer.get(c.id)
            if x is None or (fact is not None and x != fact):
                return result
            fact = x
    if fact is None:  # certified
        return result
    n = facts.get(fact)
    if type(n) is not int or n < 2:  # a documented count is an int (not a bool)
        return result
    fewer: dict[str, object] = dict(facts)
    for k in range(n - 1, 0, -1):
        fewer[fact] = k
        if not unmet(fewer, result.request_date):
            return GuidelineResult(result.guideline, result.request_date, result.criteria, Modification(fact, k, n),
                                   result.presumptions, result.turns_on)
    return result


#: The gate of a criterion outside any `when`: it always applies.
ALWAYS = _TRUE
_NO_RULES: Mapping[str, str] = {}
_PRESUMING = (NONE_WHEN_SILENT_RULE, PRESUMED_ABSENT_RULE)


def decide(cid: str, exclude: bool, gate: Pair, result: Optional[Pair],
           read: tuple[FactValue, ...], computed: tuple[Computed, ...] = (),
           rules: Mapping[str, str] = _NO_RULES) -> CriterionResult:
    """A criterion's outcome from its `when` gate and, if the gate holds, its condition.

    Gate false: not applicable. A requirement is met when its condition is
    true, not met when false, and otherwise not documented (naming what the
    gate or the condition misses), unless it read a request detail checked
    only when stated that the case leaves out: then it does not apply. An
    exclusion applies when its condition is true and otherwise does not apply
    (a silent record, or an unknown gate, is read as the exclusion not
    applying). `rules` (fact -> silence rule) marks the facts read through a
    presumption, named in `presumed`.
    """
    presumed: tuple[str, ...] = ()
    if rules:
        presumed = tuple(r.name for r in read if not r.documented and rules.get(r.name) in _PRESUMING)
    g, gate_missing = gate
    if g is False:
        return CriterionResult(cid, NOT_APPLICABLE, exclude, read, (), presumed=presumed)
    if g is None:
        value, missing, computed = None, gate_missing, ()
    else:
        assert result is not None  # the gate holds, so the condition was evaluated
        value, missing = result
    if value is None:
        if exclude:
            return CriterionResult(cid, DOES_NOT_APPLY, exclude, read, (), computed, union(presumed, missing))
        if rules:
            unstated = tuple(r.name for r in read if not r.documented and rules.get(r.name) == CHECKED_WHEN_STATED)
            if unstated:
                return CriterionResult(cid, NOT_APPLICABLE, exclude, read, (), computed, union(presumed, unstated))
        return CriterionResult(cid, NOT_DOCUMENTED, exclude, read, missing, computed, presumed)
    if exclude:
        return CriterionResult(cid, APPLIES if value else DOES_NOT_APPLY, exclude, read, (), computed, presumed)
    return CriterionResult(cid, MET if value else NOT_MET, exclude, read, (), computed, presumed)


# ------------------------------------------------ decided in every reading
#: At most this many undocumented findings and `one of` facts are read every way, and at most
#: this many readings are tried; the facts are taken in declaration order (the same in every back end).
MAX_READING_FACTS = 4
MAX_READINGS = 64
if TYPE_CHECKING:
    #: A fact -> the values it can take, in the order they are tried.
    Domains = Mapping[str, tuple[Value, ...]]


def reading_facts(result: GuidelineResult, facts: Mapping[str, object],
                  domains: Domains) -> tuple[str, ...]:
    """The facts to read every way: only where the result is still open.

    Open means nothing decided fails (no criterion not met, no exclusion that
    applies) but some criterion is not documented. The facts are the
    undocumented ones of `domains` (name -> its values, in declaration order)
    that those criteria miss, within MAX_READING_FACTS and MAX_READINGS.
    """
    missing: set[str] = set()
    for c in result.criteria:
        if c.outcome == NOT_MET or c.outcome == APPLIES:
            return ()
        if c.outcome == NOT_DOCUMENTED:
            missing.update(c.missing)
    if not missing:
        return ()
    names: list[str] = []
    count = 1
    for name, values in domains.items():
        if name in missing and facts.get(name) is None and count * len(values) <= MAX_READINGS:
            names.append(name)
            count *= len(values)
            if len(names) == MAX_READING_FACTS:
                break
    return tuple(names)


def _passing_outcome(outcomes: set[str]) -> str:
    if MET in outcomes:
        return MET
    return DOES_NOT_APPLY if DOES_NOT_APPLY in outcomes else NOT_APPLICABLE


def every_reading(result: GuidelineResult, facts: Mapping[str, object],
                  decide_once: Callable[[Mapping[str, object], datetime.date], GuidelineResult],
                  domains: Domains) -> GuidelineResult:
    """The result decided in every reading of the undocumented findings and `one of` facts it turns on.

    `decide_once(facts, request_date)` decides the guideline with three-valued
    logic. Where `reading_facts` names facts, the guideline is decided once
    per reading (values in the order of `domains`) and each criterion takes:
    the outcome it has in every reading; else, if it passes in every reading,
    met (or does not apply / not applicable); else, if the request fails in
    every reading, a criterion for use that fails in some reading and is met
    in none is not met (not documented if a reading misses something else);
    otherwise its three-valued outcome stands. `turns_on` names the facts read
    by the criteria for use that are then still not documented because the
    readings differ on them.
    """
    names = reading_facts(result, facts, domains)
    if not names:
        return result
    runs = []
    trial = dict(facts)
    for values in _product([domains[n] for n in names]):
        trial.update(zip(names, values))
        runs.append(decide_once(trial, result.request_date))
    fails_always = not any(r.certified for r in runs)
    criteria = []
    turns_on: set[str] = set()  # the enumerated facts read by a criterion for use that stays open
    for i, base in enumerate(result.criteria):
        cs = [r.criteria[i] for r in runs]
        outcomes = {c.outcome for c in cs}
        read = {r.name for c in [base] + cs for r in c.read}
        if len(outcomes) == 1:
            (outcome,) = outcomes
        elif all(c.outcome in PASSING for c in cs):
            outcome = _passing_outcome(outcomes)
        elif fails_always and not base.exclude and MET not in outcomes:
            outcome = NOT_DOCUMENTED if NOT_DOCUMENTED in outcomes else NOT_MET
        else:
            if not base.exclude and base.outcome == NOT_DOCUMENTED:
                turns_on.update(n for n in names if n in read)
            criteria.append(base)
            continue
        if outcome == base.outcome:
            criteria.append(base)
            continue
        missing = union(*(c.missing for c in cs)) if outcome == NOT_DOCUMENTED else ()
        presumed = union(base.presumed, *(c.presumed for c in cs))
        criteria.append(base.with_outcome(outcome, missing, presumed, tuple(n for n in names if n in read)))
    return GuidelineResult(result.guideline, result.request_date, tuple(criteria), result.modified,
                           result.presumptions, tuple(n for n in names if n in turns_on))


def unmet_in_every_reading(unmet: list[str], facts: Mapping[str, object], request_date: datetime.date,
                           decide_once: Callable[[Mapping[str, object], datetime.date], GuidelineResult],
                           domains: Domains, reads: Optional[Mapping[str, tuple[str, ...]]] = None) -> list[str]:
    """The fast path's ids once every reading is tried.

    `unmet` itself unless a criterion in it reads an undocumented fact of
    `domains` (`reads`: criterion id -> those it reads; None: any may): only
    such a criterion can change outcome in some reading, since a definite
    three-valued outcome is the same in every reading.
    """
    if not unmet or all(facts.get(name) is not None for name in domains):
        return unmet
    if reads is not None and not any(facts.get(n) is None for cid in unmet for n in reads.get(cid, ())):
        return unmet
    return every_reading(decide_once(facts, request_date), facts, decide_once, domains).unmet_ids()


def _product(domains: list[tuple[Value, ...]]) -> Iterator[tuple[Value, ...]]:
    """Every combination of values, the first fact's values varying slowest (itertools.product's order)."""
    if not domains:
        yield ()
        return
    for v in domains[0]:
        for rest in _product(domains[1:]):
            yield (v,) + rest


_KIND_OF_RULE = {NONE_WHEN_SILENT_RULE: NONE_WHEN_SILENT, PRESUMED_ABSENT_RULE: PRESUMED_ABSENT,
                 CHECKED_WHEN_STATED: DETAIL_UNSTATED}

#: An entry of a history of which nothing is known (every field unknown).
_UNKNOWN_ENTRY: Mapping[str, Any] = {}
#: The other readings a presumption is tested against: a finding read as absent
#: against present; a history read as none against one entry and against more
#: entries than any limit a guideline states, nothing known of them.
MANY_ENTRIES = 100
_OTHER_READINGS: Mapping[str, tuple[object, ...]] = {
    PRESUMED_ABSENT_RULE: (True,),
    NONE_WHEN_SILENT_RULE: ((_UNKNOWN_ENTRY,), (_UNKNOWN_ENTRY,) * MANY_ENTRIES),
}


def decisive_presumptions(result: GuidelineResult, base: GuidelineResult, facts: Mapping[str, object],
                          decide_once: Callable[[Mapping[str, object], datetime.date], GuidelineResult],
                          rules: Mapping[str, str]) -> GuidelineResult:
    """result with each criterion's `presumed` cut to the presumptions that decided it.

    A history read as none or a finding read as absent decides a criterion
    when another reading of that fact (_OTHER_READINGS) changes whether the
    criterion passes in `base` (the three-valued result, decided again with
    that reading); otherwise the outcome stands whatever the record said and
    the presumption is not one the result rests on. Other presumed names
    (unstated details, the silent facts of an exclusion) are kept: three-valued
    logic already named only those the outcome turned on.
    """
    others: dict[str, set[str]] = {}  # presumed fact -> ids of the criteria that name it
    for c in result.criteria:
        for name in c.presumed:
            if rules.get(name) in _OTHER_READINGS and facts.get(name) is None:
                others.setdefault(name, set()).add(c.id)
    if not others:
        return result
    decided: dict[str, set[str]] = {}
    for name, ids in others.items():
        found = decided.setdefault(name, set())
        for reading in _OTHER_READINGS[rules[name]]:
            trial = dict(facts)
            trial[name] = reading
            other = decide_once(trial, result.request_date)
            for c, o in zip(base.criteria, other.criteria):
                if c.id in ids and c.passing != o.passing:
                    found.add(c.id)
            if found == ids:
                break
    criteria = []
    for c in result.criteria:
        kept = tuple(n for n in c.presumed if n not in others or c.id in decided[n])
        criteria.append(c if kept == c.presumed else c.with_outcome(c.outcome, c.missing, kept, c.readings))
    return GuidelineResult(result.guideline, result.request_date, tuple(criteria), result.modified,
                           result.presumptions, result.turns_on)


def conclude(result: GuidelineResult, rules: Mapping[str, str], labels: Mapping[str, str]) -> GuidelineResult:
    """result with the presumptions that decided it, each once in first-use order.

    A certified result rests on every criterion's presumptions; any other on
    those of the criteria that stop certification. Each presumption's kind
    comes from the fact's silence rule; a presumed fact without one was read
    silent by an exclusion (EXCLUSION_SILENT).
    """
    certified = result.certified
    found: dict[str, tuple[str, list[str]]] = {}
    for c in result.criteria:
        if not c.presumed or (not certified and c.outcome in PASSING):
            continue
        for name in c.presumed:
            entry = found.get(name)
            if entry is None:
                rule = rules.get(name)
                kind = _KIND_OF_RULE.get(rule, EXCLUSION_SILENT) if rule is not None else EXCLUSION_SILENT
                found[name] = (kind, [c.id])
            elif c.id not in entry[1]:
                entry[1].append(c.id)
    if not found:
        return result
    presumptions = tuple(Presumption(name, kind, labels.get(name, name.replace("_", " ")), tuple(ids))
                         for name, (kind, ids) in found.items())
    return GuidelineResult(result.guideline, result.request_date, result.criteria, result.modified, presumptions,
                           result.turns_on)


def finish(result: GuidelineResult, facts: Mapping[str, object],
           decide_once: Callable[[Mapping[str, object], datetime.date], GuidelineResult],
           domains: Domains, allows_fewer: Mapping[str, str],
           unmet: Callable[[Mapping[str, object], datetime.date], list[str]],
           rules: Mapping[str, str], labels: Mapping[str, str]) -> GuidelineResult:
    """The full result from the three-valued one: every reading, then partial certification, then the deciding presumptions."""
    base = result
    if domains:
        result = every_reading(result, facts, decide_once, domains)
    if allows_fewer:
        result = modify(result, facts, allows_fewer, unmet)
    if rules:
        result = decisive_presumptions(result, base, facts, decide_once, rules)
    return conclude(result, rules, labels) if rules or labels else result


def to_json_value(v: object) -> Any:
    """A JSON-ready form of a runtime value (Decimals as strings keep them exact)."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, Duration):
        return str(v)
    if isinstance(v, frozenset):
        return sorted(v)
    if isinstance(v, (tuple, list)):
        return [to_json_value(x) for x in v]
    if isinstance(v, dict):
        return {k: to_json_value(x) for k, x in sorted(v.items())}
    return str(v)


# ----------------------------------------------------------- source lines
_BIG = 2**62  # past every line and column number
def mtus_line(source_lines: tuple[tuple[int, int, int], ...], py_line: int) -> Optional[int]:
    """The `.mtus` line a generated line came from, given the module's SOURCE_LINES.

    SOURCE_LINES holds sorted, non-overlapping (first, last, mtus_line) ranges.
    """
    i = bisect_right(source_lines, (py_line, _BIG)) - 1
    if i >= 0 and source_lines[i][0] <= py_line <= source_lines[i][1]:
        return source_lines[i][2]
    return None


__all__ = [
    "RUNTIME_VERSION", "MET", "NOT_MET", "NOT_DOCUMENTED", "NOT_APPLICABLE", "APPLIES", "DOES_NOT_APPLY",
    "OUTCOMES", "PASSING", "FAILING",
    "REQUIRED", "CHECKED_WHEN_STATED", "NONE_WHEN_SILENT_RULE", "PRESUMED_ABSENT_RULE", "SILENCE_RULES",
    "NONE_WHEN_SILENT", "PRESUMED_ABSENT", "DETAIL_UNSTATED", "EXCLUSION_SILENT", "PRESUMPTION_KINDS",
    # time
    "add_months", "add_days", "shift", "Duration", "time_from", "elapsed_cmp", "compare_elapsed", "dur_cmp", "window",
    # three-valued logic, values and (value, missing) pairs
    "k_not", "k_and", "k_or", "k_at_least",
    "union", "missing_of", "strict_m", "not_m", "and_m", "or_m", "at_least_m",
    # comparisons, sets, arithmetic
    "compare", "norm_text", "compare_text", "compare_duration", "between", "between_duration",
    "TEXT", "DURATION", "EXACT", "contains_text", "member",
    "add", "sub", "mul", "div",
    # histories
    "last_row", "first_row", "any_m", "all_m", "count_m", "sum_m", "sum_of_m", "pick_m", "field_m",
    "count_distinct_m", "set_count",
    # tables
    "lookup", "lookup_m", "lookup_or", "lookup_or_m",
    # codes
    "CODE", "norm_code", "code_matches", "compare_code", "member_code",
    # results
    "FactValue", "Computed", "CriterionResult", "Presumption", "Modification", "CERTIFIED", "MODIFIED", "NOT_CERTIFIED",
    "GuidelineResult",
    "modify", "ALWAYS", "decide", "to_json_value", "mtus_line",
    "MAX_READING_FACTS", "MAX_READINGS", "reading_facts", "every_reading", "unmet_in_every_reading", "conclude", "finish",
]
