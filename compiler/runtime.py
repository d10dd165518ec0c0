"""The runtime contract of compiled checkers: values, three-valued logic, results.

Generated checker modules import only the names in __all__; the reference
interpreter (compiler/interpret.py) uses the same functions, so both share one
definition of the semantics. Standard library and attrs only: checking a case
never imports Lark or the compiler.

Values of documented facts, as the case loader produces them:
  finding -> bool, count -> int, number / percent / quantity -> Decimal (or int),
  duration -> Duration, date -> datetime.date, text / one of -> str,
  set of ... -> frozenset[str], history -> tuple of dicts (field -> value).
A fact absent from the case is not documented. Unknown is None throughout.
"""

from __future__ import annotations

import calendar
import datetime
from decimal import Decimal
from typing import Optional

import attrs

#: Bumped whenever generated code would need a different runtime. Packs record it.
RUNTIME_VERSION = 1

MET = "met"
NOT_MET = "not met"
NOT_DOCUMENTED = "not documented"
NOT_APPLICABLE = "not applicable"
OUTCOMES = (MET, NOT_MET, NOT_DOCUMENTED, NOT_APPLICABLE)


# ------------------------------------------------------------------ time
def add_months(d: datetime.date, months: int) -> datetime.date:
    """Calendar month arithmetic with month-end clamping: Jan 31 + 1 month = Feb 28/29."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return datetime.date(year, month, day)


@attrs.frozen
class Duration:
    """A length of calendar time: whole months plus days.

    A duration measured by `time from A to B` remembers A (`start`), so that
    comparing it with `2 months` is decided on the calendar starting at A.
    """

    months: int = 0
    days: int = 0
    start: Optional[datetime.date] = attrs.field(default=None, eq=False)

    def after(self, d: datetime.date) -> datetime.date:
        return add_months(d, self.months) + datetime.timedelta(days=self.days)

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


# --------------------------------------------------------------- results
@attrs.frozen
class FactValue:
    """A fact a criterion read, with the value the case documented (None if not documented)."""

    name: str
    value: object
    documented: bool

    def to_json(self) -> dict:
        return {"name": self.name, "value": to_json_value(self.value), "documented": self.documented}


@attrs.frozen
class CriterionResult:
    """The outcome of one criterion on one case.

    `missing` names what was not documented, in first-use order: fact names,
    or `history.field` for a field missing from a history entry. It is empty
    unless the outcome is not documented.
    """

    id: str
    outcome: str
    exclude: bool
    read: tuple[FactValue, ...] = ()
    missing: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "outcome": self.outcome,
            "exclude": self.exclude,
            "read": [r.to_json() for r in self.read],
            "missing": list(self.missing),
        }


@attrs.frozen
class GuidelineResult:
    """The determination for one guideline: certified when every applicable criterion is met."""

    guideline: str
    request_date: datetime.date
    criteria: tuple[CriterionResult, ...]

    @property
    def certified(self) -> bool:
        return all(c.outcome in (MET, NOT_APPLICABLE) for c in self.criteria)

    @property
    def reasons(self) -> tuple[CriterionResult, ...]:
        """Criteria that prevent certification, in source order."""
        return tuple(c for c in self.criteria if c.outcome in (NOT_MET, NOT_DOCUMENTED))

    def unmet_ids(self) -> list[str]:
        return [c.id for c in self.reasons]

    def to_json(self) -> dict:
        return {
            "guideline": self.guideline,
            "request_date": self.request_date.isoformat(),
            "certified": self.certified,
            "criteria": [c.to_json() for c in self.criteria],
        }


def to_json_value(v: object):
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


__all__ = [
    "RUNTIME_VERSION", "MET", "NOT_MET", "NOT_DOCUMENTED", "NOT_APPLICABLE", "OUTCOMES",
    "add_months", "Duration", "FactValue", "CriterionResult", "GuidelineResult", "to_json_value",
]
