"""Hints that show the author what to write: a literal of the right kind, a comparison, a member."""

from __future__ import annotations

from typing import Optional

from mtus.dsl import ast
from mtus.dsl.model import (BOOL, CODE, COUNT, DATE, DURATION, ENUM, HISTORY, NUMBER, NUMERIC, PERCENT, QUANTITY, SET, TEXT,
                       Type)
from mtus.dsl.passes.context import did_you_mean


def member_hint(value: str, members: tuple[str, ...]) -> str:
    return did_you_mean(value, members, quote='"') or ("the declared values are " + ", ".join(f'"{m}"' for m in members))


#: A literal of each kind, for hints that show what to write.
_EXAMPLE_LITERAL = {PERCENT: "50%", DURATION: "6 weeks", DATE: "2014-12-18", COUNT: "4", NUMBER: "4",
                    TEXT: '"fibromyalgia"', BOOL: "present"}


def example_of(t: Type) -> str:
    if t.kind == QUANTITY:
        return f"`120 {t.unit}`"
    if t.kind == ENUM and t.members:
        return f'`"{t.members[0]}"`'
    if t.kind == CODE:
        return '`"M79.18"`' if t.system == "icd10" else '`"20552"`'
    return f"`{_EXAMPLE_LITERAL.get(t.kind, '...')}`"


def compare_hint(shown: str, t: Type, negated: bool = False) -> Optional[str]:
    """How to turn a value into a condition, e.g. "compare it, e.g. `injections <= 4`"."""
    inner = shown[1:-1]
    if t.kind in NUMERIC:
        return f"compare it with a number, e.g. `{inner} = 0`" if negated else \
            f"compare it with a limit, e.g. `{inner} <= 4`"
    if t.kind in (PERCENT, QUANTITY, DURATION, DATE):
        return f"compare it with a limit, e.g. `{inner} >= {example_of(t)[1:-1]}`"
    if t.kind in (TEXT, ENUM):
        return f"compare it with a value, e.g. `{inner} = {example_of(t)[1:-1]}`"
    if t.kind == SET:
        return f'test what it holds, e.g. `{inner} contains "..."`'
    if t.kind == HISTORY:
        return f"test its entries, e.g. `any({inner})` or `count({inner}) <= 4`"
    return None


def kind_hint(a: Type, b: Type, sa: str = "", sb: str = "", na=None, nb=None) -> Optional[str]:
    kinds = {a.kind, b.kind}
    if DURATION in kinds and DATE in kinds:
        date = sa if a.kind == DATE else sb
        date = date if date and not isinstance(na if a.kind == DATE else nb, ast.DateLit) else "`symptom_onset`"
        return f"to measure the time since a date, write `time from {date[1:-1]} to request.date`"
    if DURATION in kinds and kinds & NUMERIC:
        return "give the number a unit of time, e.g. `3 months`"
    literal = (ast.NumberLit, ast.PercentLit, ast.StringLit, ast.DateLit, ast.FindingLit)
    if isinstance(nb, literal) and not isinstance(na, literal) and sa:
        return f"{sa} is {a.describe()}: compare it with {a.describe()} such as {example_of(a)}"
    if isinstance(na, literal) and not isinstance(nb, literal) and sb:
        return f"{sb} is {b.describe()}: compare it with {b.describe()} such as {example_of(b)}"
    return "values of different kinds cannot be compared"
