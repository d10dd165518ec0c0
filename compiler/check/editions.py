"""Editions and sources: which guideline is in force on a request's date, and how a letter names it.

A guideline may declare the period it is in force (`in force from D until D`,
both dates inclusive: the dates of the requests for authorization it applies
to) and, for a source outside the MTUS, its rank in the evidence hierarchy of
8 CCR 9792.25 (`not mtus rank N`): GuidelineInfo.in_force and .not_mtus_rank.
"""

from __future__ import annotations

import datetime

from mtus.compiler.check.info import GuidelineInfo

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

#: What each rank of a source outside the MTUS is (8 CCR 9792.25(b) and (c)); the MTUS is rank 1.
RANKS = {2: "a nationally recognized evidence-based medical treatment guideline",
         3: "peer-reviewed published medical evidence"}


def _date(text: Optional[str]) -> Optional[datetime.date]:
    return datetime.date.fromisoformat(text) if text else None


def in_force(info: GuidelineInfo, date: Optional[datetime.date]) -> bool:
    """Whether a guideline applies to a request of this date (no declared period: always)."""
    if info.in_force is None or date is None:
        return True
    start, end = _date(info.in_force.start), _date(info.in_force.end)
    return (start is None or start <= date) and (end is None or date <= end)


def is_mtus(info: GuidelineInfo) -> bool:
    return info.not_mtus_rank is None


def rank(info: GuidelineInfo) -> int:
    """1 for the MTUS; 2 or 3 for a source outside it (lower ranks are used first)."""
    return 1 if info.not_mtus_rank is None else info.not_mtus_rank


def _long(d: datetime.date) -> str:
    return f"{d:%B} {d.day}, {d.year}"


def period_text(info: GuidelineInfo) -> str:
    """"in force from July 18, 2009 through July 28, 2016", "in force from July 29, 2016", or ""."""
    if info.in_force is None:
        return ""
    start, end = _date(info.in_force.start), _date(info.in_force.end)
    if start and end:
        return f"in force from {_long(start)} through {_long(end)}"
    if start:
        return f"in force from {_long(start)}"
    return f"in force through {_long(end)}" if end else ""


def edition_text(info: GuidelineInfo) -> str:
    """The edition a letter cites: "2009 edition, in force from ... through ..." ("" when nothing is declared)."""
    parts = [f"{info.version} edition"] if info.version else []
    if period_text(info):
        parts.append(period_text(info))
    return ", ".join(parts)


def not_mtus_sentence(info: GuidelineInfo) -> Optional[str]:
    """For a source outside the MTUS: "The MTUS does not address X; the decision is based on ..."."""
    if is_mtus(info):
        return None
    what = RANKS.get(rank(info), "a source outside the MTUS")
    return (f"The MTUS does not address {info.title[0].lower() + info.title[1:]}; the decision is based on "
            f"{info.citation_text}, {what} (8 CCR 9792.25).")
