"""Pass 1, declare: every fact and history field gets a type and a label.

Guarantees: fact names, field names and `one of` members are unique; each
fact has a model.Type; defaults have the fact's type. Reports E401, E305,
E306, E308, E405, and E110 for a fact or field named like a keyword. After an error it still declares the fact as the author
most likely meant it (the first of two duplicates; a `quantity weeks` as a
duration), so that later passes do not report consequences.
"""

from __future__ import annotations

from dsl import ast, model
from dsl import diagnostics as diag
from dsl.passes import literals
from dsl.passes.context import Context

_SIMPLE = {
    "finding": model.T_BOOL, "number": model.T_NUMBER, "count": model.T_COUNT,
    "percent": model.T_PERCENT, "duration": model.T_DURATION, "date": model.T_DATE,
    "text": model.T_TEXT,
}
_DECLARED = {"enum": "one of", "set_text": "set of text", "set_enum": "set of", "finding": "finding"}


def humanize(name: str) -> str:
    return name.replace("_", " ").strip()


#: Words that begin a value in a condition, so a fact or field named so could not be read.
OPERAND_KEYWORDS = frozenset({"not", "any", "all", "count", "sum", "last", "first", "time", "at", "documented",
                              "present", "absent"})


def _check_name(ctx: Context, name: str, span, what: str) -> None:
    if name in OPERAND_KEYWORDS:
        ctx.report(diag.error("E110", f"`{name}` is a word of the language and cannot name a {what}", span,
                              hint=f"conditions would read `{name}` as the keyword; rename the {what}, e.g. `{name}_`"))


def _members(ctx: Context, ref: ast.TypeRef) -> tuple[str, ...]:
    seen: dict[str, ast.StringLit] = {}
    for m in ref.members:
        if m.value in seen:
            ctx.report(diag.error("E401", f'"{m.value}" is listed twice', m.span,
                                  notes=[diag.Note("first listed here", seen[m.value].span)],
                                  hint="delete the second one"))
        else:
            seen[m.value] = m
    return tuple(seen)


def type_of(ctx: Context, ref: ast.TypeRef, fields: tuple[ast.Field, ...] = (), in_history=False) -> model.Type:
    if ref.kind in _SIMPLE:
        return _SIMPLE[ref.kind]
    if ref.kind == "quantity":
        if ref.unit.lower() in literals.DURATION_UNITS:
            ctx.report(diag.error("E306", f"`{ref.unit}` is a unit of time, not of a quantity", ref.span,
                                  hint="declare the fact as `duration`; a duration can be compared with any "
                                       "unit of time, e.g. `>= 6 weeks`"))
            return model.T_DURATION
        return model.Type(model.QUANTITY, unit=ref.unit)
    if ref.kind == "enum":
        return model.Type(model.ENUM, members=_members(ctx, ref))
    if ref.kind == "set_text":
        return model.Type(model.SET, element=model.T_TEXT)
    if ref.kind == "set_enum":
        return model.Type(model.SET, element=model.Type(model.ENUM, members=_members(ctx, ref)))
    if ref.kind == "history":
        if in_history:
            ctx.report(diag.error("E301", "a history field cannot itself be a history", ref.span,
                                  hint="declare the nested history as a separate fact"))
        seen: dict[str, ast.Field] = {}
        out = []
        for f in fields:
            if f.name in seen:
                ctx.report(diag.error("E401", f"field `{f.name}` is declared twice", f.name_span,
                                      notes=[diag.Note("first declared here", seen[f.name].name_span)],
                                      hint="rename one of them or delete the second"))
                continue
            seen[f.name] = f
            _check_name(ctx, f.name, f.name_span, "field")
            out.append(model.Field(f.name, type_of(ctx, f.type, in_history=True), f.label or humanize(f.name)))
        return model.Type(model.HISTORY, fields=tuple(out))
    raise AssertionError(ref.kind)


def declare(ctx: Context) -> None:
    """Give every fact a type; reject duplicates and mistyped defaults."""
    seen: dict[str, ast.Fact] = {}
    for f in ctx.tree.facts:
        if f.name in seen:
            ctx.report(diag.error("E401", f"fact `{f.name}` is declared twice", f.name_span,
                                  notes=[diag.Note("first declared here", seen[f.name].name_span)],
                                  hint="rename one of them or delete the second"))
            continue
        seen[f.name] = f
        _check_name(ctx, f.name, f.name_span, "fact")
        if f.fields and f.type.kind != "history":
            ctx.report(diag.error("E405", f"only a `history` fact has indented fields; `{f.name}` is not a history",
                                  f.fields[0].span, hint=f"declare it as `{f.name}: history`, or un-indent the field "
                                                         "to make it a fact of its own"))
        if f.type.kind == "history" and not f.fields:
            ctx.report(diag.error("E405", f"history `{f.name}` declares no fields", f.name_span,
                                  hint="list the fields of each entry on the lines below it, indented, "
                                       'e.g. `date: date "date of the injection"`'))
        t = type_of(ctx, f.type, f.fields)
        default = None
        if f.default is not None:
            c = literals.literal(f.default)
            if isinstance(c, diag.Diagnostic):
                ctx.report(c)
            else:
                default = literals.fits(c, t)
                if default is None or t.kind in (model.HISTORY, model.SET):
                    ctx.report(diag.error("E308", f"the default `{c.text}` is not {t.describe()}", f.default.span,
                                          hint="for a finding write `default absent` or `default present`"))
                    default = None
        declared = _DECLARED.get(f.type.kind, f.type.kind)
        ctx.facts[f.name] = model.Fact(f.name, t, declared, f.label or humanize(f.name), default, f.span)
