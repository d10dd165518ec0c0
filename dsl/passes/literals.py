"""Decoding literals into exact model values (shared by the declare and typecheck passes)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Union

from mtus.dsl import ast, model
from mtus.dsl import diagnostics as diag
from mtus.dsl.passes import medcodes

DURATION_UNITS = {
    "day": (0, 1), "days": (0, 1),
    "week": (0, 7), "weeks": (0, 7),
    "month": (1, 0), "months": (1, 0),
    "year": (12, 0), "years": (12, 0),
}


#: Durations longer than this are surely typing mistakes, and calendar arithmetic
#: with them would leave the range of dates.
MAX_MONTHS = 100 * 12
MAX_DAYS = 36525


def period_text(amount: int, unit: str) -> str:
    unit = unit.rstrip("s")
    return f"{amount} {unit}{'' if amount == 1 else 's'}"


def text_key(s: str) -> str:
    """Texts as lookups, `set of text` and the formulary match them: case and runs of spaces ignored."""
    return " ".join(s.split()).casefold()


def literal(lit: ast.Literal) -> Union[model.Const, diag.Diagnostic]:
    """The typed constant a literal denotes, or a diagnostic if it is malformed."""
    decode = _DECODERS.get(type(lit))
    if decode is None:
        raise AssertionError(lit)
    return decode(lit)


def _number(lit: ast.NumberLit) -> Union[model.Const, diag.Diagnostic]:
    if lit.unit is None:
        if lit.value == lit.value.to_integral_value():
            return model.Const(int(lit.value), model.T_COUNT, lit.text, lit.span)
        return model.Const(lit.value, model.T_NUMBER, lit.text, lit.span)
    if lit.unit.lower() in DURATION_UNITS:
        if lit.value != lit.value.to_integral_value():
            return diag.error("E305", f"a duration must be a whole number of {lit.unit}", lit.span,
                              hint="write a whole number, e.g. `10 days` instead of `1.5 weeks`")
        months, days = DURATION_UNITS[lit.unit.lower()]
        n = int(lit.value)
        if months * n > MAX_MONTHS or days * n > MAX_DAYS:
            return diag.error("E305", f"`{lit.text} {lit.unit}` is longer than {MAX_MONTHS // 12} years", lit.span,
                              hint="no guideline period is this long; check the number")
        return model.Const(model.Period(months * n, days * n), model.T_DURATION,
                           period_text(n, lit.unit.lower()), lit.span)
    return model.Const(lit.value, model.Type(model.QUANTITY, unit=lit.unit), f"{lit.text} {lit.unit}", lit.span)


def _date(lit: ast.DateLit) -> Union[model.Const, diag.Diagnostic]:
    try:
        value = datetime.date.fromisoformat(lit.text)
    except ValueError:
        return diag.error("E305", f"`{lit.text}` is not a calendar date", lit.span,
                          hint="dates are written YYYY-MM-DD with a real month and day, e.g. 2014-02-28")
    return model.Const(value, model.T_DATE, lit.text, lit.span)


#: Literal node class -> its decoder: one lookup per literal (an example gives hundreds) instead of a chain of
#: isinstance tests.
_DECODERS = {
    ast.NumberLit: _number,
    ast.PercentLit: lambda lit: model.Const(lit.value, model.T_PERCENT, f"{lit.text}%", lit.span),
    ast.StringLit: lambda lit: model.Const(lit.value, model.T_TEXT, lit.value, lit.span),
    ast.DateLit: _date,
    ast.FindingLit: lambda lit: model.Const(lit.present, model.T_BOOL, "present" if lit.present else "absent",
                                            lit.span),
}


def fits(const: model.Const, expected: model.Type) -> Union[model.Const, None]:
    """`const` retyped to `expected` when a value of that type may be written so, else None."""
    k, e = const.type.kind, expected.kind
    if e == model.ENUM:
        if k == model.TEXT and const.value in expected.members:
            return model.Const(const.value, expected, const.text, const.span)
        return None
    if e == model.SET:
        return None
    if e == model.CODE:  # a code as a record states it (no pattern), upper case without spaces
        if k == model.TEXT and medcodes.is_code(const.value, expected.system):
            return model.Const("".join(const.value.split()).upper(), expected, const.text, const.span)
        return None
    if k == e and (k != model.QUANTITY or const.type.unit == expected.unit):
        return const
    if e == model.NUMBER and k == model.COUNT:
        return model.Const(Decimal(const.value), model.T_NUMBER, const.text, const.span)
    if e == model.COUNT and k == model.COUNT and const.value >= 0:
        return const
    return None
