"""Units that convert by arithmetic: `mg/day * MME/mg` is `MME/day`, `MME/day / MME/mg` is `mg/day`.

A unit is written as a word or `word/word` (grammar's UNIT). Multiplying or
dividing two quantities multiplies or divides their units; units that appear
above and below the line cancel. A result with no unit left is a plain number;
one that needs more than one word above or below the line (`mg*mg`) cannot be
written as a unit, so the expression is refused. Values are never scaled:
there is no table of conversions, only the factors the guideline states.
"""

from __future__ import annotations

from collections import Counter
from typing import Optional


def _parts(unit: str) -> tuple[Counter, Counter]:
    top, _, bottom = unit.partition("/")
    return Counter([top]), Counter([bottom] if bottom else [])


def _combine(top: Counter, bottom: Counter) -> Optional[str]:
    """The unit top/bottom after cancelling, "" for none, or None if it is not a word or `word/word`."""
    common = top & bottom
    top, bottom = top - common, bottom - common
    if sum(top.values()) > 1 or sum(bottom.values()) > 1 or (bottom and not top):
        return None
    if not top:
        return ""
    (word,) = top
    return word + ("/" + next(iter(bottom)) if bottom else "")


def product(a: str, b: str) -> Optional[str]:
    """The unit of a quantity in `a` times one in `b` ("" if they cancel; None if it cannot be written)."""
    (ta, ba), (tb, bb) = _parts(a), _parts(b)
    return _combine(ta + tb, ba + bb)


def quotient(a: str, b: str) -> Optional[str]:
    """The unit of a quantity in `a` divided by one in `b` ("" if they cancel; None if it cannot be written)."""
    (ta, ba), (tb, bb) = _parts(a), _parts(b)
    return _combine(ta + bb, ba + tb)
