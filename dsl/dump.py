"""A readable outline of the checked model, for review and snapshot tests.

Expressions are printed as typed s-expressions, e.g.
`(> (time-from symptom_onset request.date) 3 months)`, so a reviewer sees how
the front end understood each criterion: what every name resolved to and the
type of every value.
"""

from __future__ import annotations

from mtus.dsl import model


class _Outline(model.Visitor):
    """An expression as a typed s-expression; every expression class has its method."""

    def generic_visit(self, e: model.Expr) -> str:
        raise AssertionError(e)

    def visit_FactRef(self, e: model.FactRef) -> str:
        return f"{e.name}:{_t(e.type)}"

    def visit_FieldRef(self, e: model.FieldRef) -> str:
        return f".{e.name}:{_t(e.type)}"

    def visit_RequestDate(self, e: model.RequestDate) -> str:
        return "request.date"

    def visit_Const(self, e: model.Const) -> str:
        if isinstance(e.value, frozenset):
            return "{" + ", ".join(repr(v) for v in sorted(e.value, key=str)) + "}"
        if isinstance(e.value, str):
            return repr(e.value)
        return f"{e.text}:{_t(e.type)}"

    def visit_Not(self, e: model.Not) -> str:
        return f"(not {self.visit(e.operand)})"

    def visit_Logic(self, e: model.Logic) -> str:
        return f"({e.op} " + " ".join(self.visit(x) for x in e.operands) + ")"

    def visit_Compare(self, e: model.Compare | model.Member) -> str:
        return f"({e.op} {self.visit(e.left)} {self.visit(e.right)})"

    visit_Member = visit_Compare

    def visit_Between(self, e: model.Between) -> str:
        return f"(between {self.visit(e.value)} {self.visit(e.low)} {self.visit(e.high)})"

    def visit_Arith(self, e: model.Arith) -> str:
        return f"({e.op} {self.visit(e.left)} {self.visit(e.right)}):{_t(e.type)}"

    def visit_Documented(self, e: model.Documented) -> str:
        return f"(documented {self.visit(e.target)})"

    def visit_TimeFrom(self, e: model.TimeFrom) -> str:
        return f"(time-from {self.visit(e.start)} {self.visit(e.end)})"

    def visit_AtLeast(self, e: model.AtLeast) -> str:
        return f"(at-least {e.count} " + " ".join(self.visit(x) for x in e.items) + ")"

    def visit_Query(self, e: model.Query) -> str:
        parts = [e.op, e.history.name]
        if e.value is not None:
            parts.append(f"of {self.visit(e.value)}")
        if e.within_text:
            parts.append(f"within {e.within_text}")
        if e.where is not None:
            parts.append(f"where {self.visit(e.where)}")
        if e.field:
            parts.append(f"field {e.field}")
        return "(" + " ".join(parts) + f"):{_t(e.type)}"

    def visit_SetCount(self, e: model.SetCount) -> str:
        return f"(count {self.visit(e.set)}):count"

    def visit_ValueRef(self, e: model.ValueRef) -> str:
        return f"${e.name}:{_t(e.type)}"

    def visit_Lookup(self, e: model.Lookup) -> str:
        return f"{e.table}[{self.visit(e.key)}]{'.low' if e.low else ''}:{_t(e.type)}"


_OUTLINE = _Outline()


def expr(e: model.Expr) -> str:
    """e as a typed s-expression, e.g. `(> (time-from symptom_onset request.date) 3 months)`."""
    return _OUTLINE.visit(e)


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
    if g.in_force:
        start, end = g.in_force
        lines.append(f"  in force: from {start or '-'} until {end or '-'}")
    if g.not_mtus_rank is not None:
        lines.append(f"  not MTUS: rank {g.not_mtus_rank}")
    if g.services:
        lines.append("  services: " + ", ".join(f"{s.kind} {s.value!r}" for s in g.services))
    if g.states:
        lines.append(f"  states: {g.states!r}")
    if g.on_denial:
        lines.append(f"  on denial says: {g.on_denial.text!r} ({g.on_denial.citation.describe()})")
    lines.append("facts")
    for f in g.facts:
        default = f" default {f.default.text}" if f.default else ""
        source = f" from product {f.source}" if f.source else (f" from item {f.from_item}" if f.from_item else "")
        kind = f.declared if f.type.kind == model.BOOL else _type_long(f.type)
        rules = (", request detail" if f.detail else "") + (f", {f.silence}" if f.silence else "")
        lines.append(f"  {f.name}: {kind}{source}{default}{rules}  # {f.label}")
        for fld in f.type.fields:
            lines.append(f"    {fld.name}: {_type_long(fld.type)}  # {fld.label}")
    if g.tables:
        lines.append("tables")
        for t in g.tables:
            lines.append(f"  {t.name}: {_type_long(t.type)}  # {t.label}")
            for entry in t.entries:
                lines.append(f"    {entry.key!r}: {expr(entry.value)}")
    if g.values:
        lines.append("values")
        for v in g.values:
            lines.append(f"  ${v.name} (line {v.span.line}): {expr(v.expr)}  # {v.label}")
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
