"""A readable outline of the checked model, for review and snapshot tests.

Expressions are printed as typed s-expressions, e.g.
`(> (time-from symptom_onset request.date) 3 months)`, so a reviewer sees how
the front end understood each criterion: what every name resolved to and the
type of every value.
"""

from __future__ import annotations

from mtus.dsl import model


def expr(e: model.Expr) -> str:
    if isinstance(e, model.FactRef):
        return f"{e.name}:{_t(e.type)}"
    if isinstance(e, model.FieldRef):
        return f".{e.name}:{_t(e.type)}"
    if isinstance(e, model.RequestDate):
        return "request.date"
    if isinstance(e, model.Const):
        if isinstance(e.value, frozenset):
            return "{" + ", ".join(repr(v) for v in sorted(e.value, key=str)) + "}"
        if isinstance(e.value, str):
            return repr(e.value)
        return f"{e.text}:{_t(e.type)}"
    if isinstance(e, model.Not):
        return f"(not {expr(e.operand)})"
    if isinstance(e, model.Logic):
        return f"({e.op} " + " ".join(expr(x) for x in e.operands) + ")"
    if isinstance(e, (model.Compare, model.Member)):
        return f"({e.op} {expr(e.left)} {expr(e.right)})"
    if isinstance(e, model.Between):
        return f"(between {expr(e.value)} {expr(e.low)} {expr(e.high)})"
    if isinstance(e, model.Arith):
        return f"({e.op} {expr(e.left)} {expr(e.right)}):{_t(e.type)}"
    if isinstance(e, model.Documented):
        return f"(documented {expr(e.target)})"
    if isinstance(e, model.TimeFrom):
        return f"(time-from {expr(e.start)} {expr(e.end)})"
    if isinstance(e, model.AtLeast):
        return f"(at-least {e.count} " + " ".join(expr(x) for x in e.items) + ")"
    if isinstance(e, model.Query):
        parts = [e.op, e.history.name]
        if e.value is not None:
            parts.append(f"of {expr(e.value)}")
        if e.within_text:
            parts.append(f"within {e.within_text}")
        if e.where is not None:
            parts.append(f"where {expr(e.where)}")
        if e.field:
            parts.append(f"field {e.field}")
        return "(" + " ".join(parts) + f"):{_t(e.type)}"
    if isinstance(e, model.Lookup):
        return f"{e.table}[{expr(e.key)}]:{_t(e.type)}"
    raise AssertionError(e)


def _value(v) -> str:
    """An example value as repr shows it, but sets in sorted order (repr's order depends on the hash seed)."""
    if isinstance(v, frozenset):
        return "frozenset({" + ", ".join(_value(x) for x in sorted(v, key=str)) + "})" if v else "frozenset()"
    if isinstance(v, tuple):
        return "(" + ", ".join(_value(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    return repr(v)


def _t(t: model.Type) -> str:
    if t.kind == model.QUANTITY:
        return f"quantity[{t.unit}]"
    if t.kind == model.ENUM:
        return "enum"
    if t.kind == model.SET:
        return f"set[{_t(t.element)}]"
    return t.kind


def _type_long(t: model.Type) -> str:
    if t.kind == model.ENUM:
        return "one of {" + ", ".join(repr(m) for m in t.members) + "}"
    if t.kind == model.SET and t.element.kind == model.ENUM:
        return "set of {" + ", ".join(repr(m) for m in t.element.members) + "}"
    return _t(t)


def dump(g) -> str:
    """The outline of a model.Guideline or a model.Formulary."""
    if isinstance(g, model.Formulary):
        return dump_formulary(g)
    lines = [f"guideline {g.id} {g.title!r}", f"  cites: {g.citation.describe()}"]
    if g.version:
        lines.append(f"  version: {g.version}")
    if g.services:
        lines.append("  services: " + ", ".join(f"{s.kind} {s.value!r}" for s in g.services))
    if g.states:
        lines.append(f"  states: {g.states!r}")
    lines.append("facts")
    for f in g.facts:
        default = f" default {f.default.text}" if f.default else ""
        source = f" from product {f.source}" if f.source else ""
        kind = f.declared if f.type.kind == model.BOOL else _type_long(f.type)
        lines.append(f"  {f.name}: {kind}{source}{default}  # {f.label}")
        for fld in f.type.fields:
            lines.append(f"    {fld.name}: {_type_long(fld.type)}  # {fld.label}")
    if g.tables:
        lines.append("tables")
        for t in g.tables:
            lines.append(f"  {t.name}: {_type_long(t.type)}  # {t.label}")
            for entry in t.entries:
                lines.append(f"    {entry.key!r}: {expr(entry.value)}")
    lines.append("conditions")
    for c in g.conditions:
        lines.append(f"  when#{c.index} (line {c.span.line}): {expr(c.expr)}")
    lines.append("criteria")
    for c in g.criteria:
        kind = "exclude" if c.exclude else "require"
        guard = "".join(f" when#{x.index}" for x in c.conditions)
        lines.append(f"  {c.id} [{kind}{guard}] (line {c.span.line}, {c.citation.describe()})")
        lines.append(f"    {expr(c.expr)}")
        if c.says:
            lines.append(f"    says {c.says!r}")
        if c.allows_fewer:
            lines.append(f"    allows fewer {c.allows_fewer}")
    if g.examples:
        lines.append("examples")
        for ex in g.examples:
            verdict = "certified" if ex.certified else \
                (f"modified {ex.modified}" if ex.modified is not None else "not certified")
            lines.append(f"  {ex.name!r}: {verdict}, request.date {ex.request_date}")
            for name, value in ex.facts:
                lines.append(f"    {name} = {_value(value)}")
            for cid, outcome in ex.reasons:
                lines.append(f"    expect {cid} {outcome}")
    return "\n".join(lines) + "\n"


def dump_formulary(f: model.Formulary) -> str:
    lines = [f"formulary {f.id} {f.title!r}"]
    if f.citation is not None:
        lines.append(f"  cites: {f.citation.describe()}")
    lines.append("ingredients")
    for i in f.ingredients:
        lines.append(f"  {i.name!r}: " + ", ".join(repr(c) for c in i.classes))
    lines.append("products")
    for p in f.products:
        form = f" as {p.form!r}" if p.form is not None else ""
        lines.append(f"  {p.name!r}: " + ", ".join(repr(i) for i in p.ingredients) + form)
    return "\n".join(lines) + "\n"
