"""Compile time: the checked model -> plain data a pack carries for check time.

Everything the reviewer's side needs besides the checker code: the facts'
types and labels (to load case files), the citation and services (to route
requests), and each criterion's statement in English plus a small `shape`
that says how to phrase a finding with the case's values. The result is
compiler/check/info.py's classes, which a pack stores as JSON; rationale text
at check time is built from them without the front end.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Optional


from mtus.compiler.build.lowering import comparison_sides, compared_directly, computed_written, written
from mtus.compiler.check.info import (Citation, ComputedInfo, CriterionInfo, FactInfo, FieldInfo, FormularyInfo,
                                     GuidelineInfo, InForce, OnDenialInfo, Operand, ProductInfo, Service, Shape,
                                     TableInfo)
from mtus.compiler.check.rationale import is_plural, join, no_article
from mtus.compiler.check.runtime import evolve
from mtus.dsl import model
from mtus.dsl.model import BOOL, ENUM, HISTORY, QUANTITY, SET



# ------------------------------------------------------------------ phrases
def _value_text(c: model.Const) -> str:
    if isinstance(c.value, frozenset):
        return join(sorted(c.value), "or")
    if c.type.kind == BOOL:
        return "present" if c.value else "absent"
    return c.text


class _Phraser:
    """Turns typed expressions into noun phrases a clinician reads as criteria."""

    def __init__(self, g: model.Guideline):
        self.g = g
        self.facts = {f.name: f for f in g.facts}  # g.fact() is a scan; a phrase may name several facts
        self.rows: list[model.Fact] = []  # histories whose rows are in scope (inside a query)

    def _in_rows(self, history: model.Fact, fn, e):
        self.rows.append(history)
        try:
            return fn(e)
        finally:
            self.rows.pop()

    def label(self, e: model.Expr) -> str:
        if type(e) is model.FactRef:  # most labels (each case below is of its own class: the order is free)
            return self.facts[e.name].label
        if isinstance(e, model.ValueRef):  # the name the author gave the value
            return e.label
        if isinstance(e, model.SetCount):
            return f"the number of {self.label(e.set)}"
        if isinstance(e, model.FactRef):
            return self.facts[e.name].label
        if isinstance(e, model.FieldRef):
            for h in reversed(self.rows):
                f = h.type.field(e.name)
                if f is not None:
                    return f.label
            return e.name.replace("_", " ")
        if isinstance(e, model.Lookup):
            table = next((t for t in self.g.tables if t.name == e.table), None)
            low = "the lower end of " if e.low else ""
            return f"{low}the {table.label if table else e.table} for the {self.label(e.key)}"
        if isinstance(e, model.RequestDate):
            return "the date of the request"
        if isinstance(e, model.Const):
            return _value_text(e)
        if isinstance(e, model.Query):
            h = self.facts[e.history.name]
            window = f" within {e.within_text}" if e.within_text else ""
            cond = f" with {self._in_rows(h, self.phrase, e.where)}" if e.where is not None else ""
            if e.op == "sum" and e.value is not None:
                return f"the total of {self._in_rows(h, self.label, e.value)} over the {h.label}{window}{cond}"
            if e.op in ("last", "first"):
                which = "most recent" if e.op == "last" else "earliest"
                field = h.type.field(e.field)
                return f"{field.label} of the {which} of the {h.label}{window}"
            if e.op == "count":
                return f"the number of {h.label}{window}{cond}"
            if e.op == "count distinct":
                label = h.type.field(e.field).label
                label = label[4:] if label.startswith("the ") else label
                return f"the number of different values of {label} in the {h.label}{window}{cond}"
            if e.op == "sum":
                field = h.type.field(e.field)
                return f"the total {field.label} of the {h.label}{window}{cond}"
        if isinstance(e, model.Arith):
            word = _ARITH_WORDS[e.op]
            return f"{self.label(e.left)} {word} {self.label(e.right)}"
        if isinstance(e, model.TimeFrom):
            if isinstance(e.end, model.RequestDate):
                return f"the time since the {self.label(e.start)}"
            return f"the time from {self.label(e.start)} to {self.label(e.end)}"
        return self.phrase(e)

    def phrase(self, e: model.Expr) -> str:
        """A criterion as a noun phrase: 'no more than 4 injections requested per session'."""
        if isinstance(e, (model.FactRef, model.FieldRef, model.ValueRef)) and e.type.kind == BOOL:
            return self.label(e)
        if type(e) is model.Compare:  # next most (no case above or below is of this class)
            return self.compare(e)
        if isinstance(e, model.Query) and e.type.kind == BOOL:
            h = self.facts[e.history.name]
            window = f" within {e.within_text}" if e.within_text else ""
            if e.op == "any":
                cond = f" with {self._in_rows(h, self.phrase, e.where)}" if e.where is not None else ""
                return f"any {h.label}{window}{cond}"
            if e.op == "all":
                return f"{self._in_rows(h, self.phrase, e.where)} for all {h.label}{window}"
            if e.op in ("last", "first"):
                return self.label(e)
        if isinstance(e, model.Not):
            inner = e.operand
            if isinstance(inner, model.Query) and inner.op == "any":
                return "no " + self.phrase(inner)[len("any "):]
            if isinstance(inner, (model.FactRef, model.FieldRef, model.Query)) and inner.type.kind == BOOL:
                return f"no {no_article(self.label(inner))}"
            if isinstance(inner, model.Documented):
                return f"no documentation of {self.label(inner.target)}"
            return f"not ({self.phrase(inner)})"
        if isinstance(e, model.Logic):
            # keep "A or (B and C)" readable: nested groups of the other connective in parentheses, and
            # an "at least N of" list, whose items would otherwise run on into this list's
            return join([f"({self.phrase(x)})" if isinstance(x, model.Logic) and x.op != e.op
                         or isinstance(x, model.AtLeast) else self.phrase(x)
                          for x in e.operands], e.op)
        if isinstance(e, model.AtLeast):
            items = [f"({self.phrase(x)})" if isinstance(x, model.Logic) else self.phrase(x) for x in e.items]
            return f"at least {e.count} of: " + "; ".join(items)
        if isinstance(e, model.Documented):
            return f"documentation of {self.label(e.target)}"
        if isinstance(e, model.Between):
            return f"{self.label(e.value)} between {self.label(e.low)} and {self.label(e.high)}"
        if isinstance(e, model.Member):
            left, right = self.label(e.left), self.label(e.right)
            if e.op == "in":
                return f"{left} that is {right}"
            if e.op == "not in":
                return f"{left} other than {right}"
            if e.op == "contains":
                return f"{left} including {right}"
            if e.op == "contains any of":
                return f"{left} including any of {right}"
            return f"{left} limited to {right}"
        if isinstance(e, model.Compare):
            return self.compare(e)
        return self.label(e)

    def compare(self, e: model.Compare) -> str:
        left, right, op = e.left, e.right, e.op
        if isinstance(left, model.Const) and not isinstance(right, model.Const):
            left, right = right, left
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        if isinstance(left, model.TimeFrom) and isinstance(right, model.Const):
            start, end = left.start, left.end
            span = _LIMIT_WORDS[op](right.text)
            if isinstance(end, model.RequestDate):
                return f"{span} since the {self.label(start)}"
            return f"{span} from the {self.label(start)} to the {self.label(end)}"
        if isinstance(right, model.Const) and right.type.kind == BOOL and op in ("=", "!="):
            present = right.value if op == "=" else not right.value
            return self.label(left) if present else f"no {no_article(self.label(left))}"
        if isinstance(right, model.Const) and right.type.kind in (model.TEXT, model.ENUM):
            word = "documented as" if op == "=" else "other than"
            return f"{self.label(left)} {word} {_value_text(right)}"
        if op in _LIMIT_WORDS and isinstance(right, model.Const):
            if isinstance(left, model.FactRef):  # "no more than 4 injections requested per session"
                return f"{_LIMIT_WORDS[op](_value_text(right))} {self.label(left)}"
            return f"{self.label(left)} of {_OF_WORDS[op](_value_text(right))}"
        word = {"=": "equal to", "!=": "other than", "<": "less than", "<=": "at most",
                ">": "more than", ">=": "at least"}[op]
        return f"{self.label(left)} {word} {self.label(right)}"

    # ------------------------------------------------------------- conditions
    def _documented_clause(self, target: model.Expr, negation: str) -> str:
        """"the visits already given for this injury are documented" (or "are not")."""
        label = no_article(self.label(target))
        return f"the {label} {'are' if is_plural(label) else 'is'}{negation} documented"

    def clause(self, e: model.Expr) -> str:
        """A `when` condition as a clause that follows "where": "there are prior trigger point injections"."""
        if isinstance(e, model.Query) and e.op == "any":
            return "there are " + self.phrase(e)[len("any "):]
        if isinstance(e, model.Not) and isinstance(e.operand, model.Query) and e.operand.op == "any":
            return "there are " + self.phrase(e)
        if isinstance(e, model.Not) and isinstance(e.operand, model.Member) and isinstance(e.operand.left, model.FactRef):
            m = e.operand
            verb = {"in": "is not", "not in": "is", "contains": "do not include", "contains any of":
                    "include none of", "contains only": "do not include only"}[m.op]
            return f"the {self.label(m.left)} {verb} {self.label(m.right)}"
        if isinstance(e, model.Not) and isinstance(e.operand, model.FactRef) and e.operand.type.kind == BOOL:
            return f"the record documents no {self.label(e.operand)}"  # true only when documented absent
        if isinstance(e, model.Documented):  # not "the record documents documentation of ..."
            return self._documented_clause(e.target, "")
        if isinstance(e, model.Not) and isinstance(e.operand, model.Documented):
            return self._documented_clause(e.operand.target, " not")
        if isinstance(e, model.Not):
            return f"the record does not show {self.phrase(e.operand)}"
        if isinstance(e, model.Logic):
            return join([self.clause(x) for x in e.operands], e.op)
        if isinstance(e, model.Compare) and isinstance(e.right, model.Const) and isinstance(e.left, model.FactRef):
            value = _value_text(e.right)
            if e.right.type.kind == BOOL and e.op in ("=", "!="):
                present = e.right.value if e.op == "=" else not e.right.value
                return f"the record documents {'' if present else 'no '}{self.label(e.left)}"
            verb = {"=": "is", "!=": "is not", "<": "is less than", "<=": "is at most", ">": "is more than",
                    ">=": "is at least"}[e.op]
            return f"the {self.label(e.left)} {verb} {value}"
        if isinstance(e, model.Member) and isinstance(e.left, model.FactRef):
            values = self.label(e.right)
            verb = {"in": "is", "not in": "is not", "contains": "include", "contains any of": "include any of",
                    "contains only": "include only"}[e.op]
            return f"the {self.label(e.left)} {verb} {values}"
        return f"the record documents {self.phrase(e)}"


_ARITH_WORDS = {"+": "plus", "-": "minus", "*": "times", "/": "divided by"}

_LIMIT_WORDS = {
    "<=": lambda v: f"no more than {v}",
    "<": lambda v: f"less than {v}",
    ">=": lambda v: f"at least {v}",
    ">": lambda v: f"more than {v}",
    "=": lambda v: f"exactly {v}",
    "!=": lambda v: f"other than {v}",
}

# After a noun phrase ("... requested of at most 10") "no more than" reads wrong; the rest are the same.
_OF_WORDS = dict(_LIMIT_WORDS, **{"<=": lambda v: f"at most {v}"})


def _operand(e: model.Expr) -> Operand:
    """One side of a comparison, as the letter needs it: a fact, a literal, or a computed value (by its text)."""
    if isinstance(e, model.FactRef):
        return Operand(fact=e.name)
    if isinstance(e, model.Const):
        return Operand(const=_value_text(e))
    # "the 10 visits recommended for myalgia": a lookup's key value names the entry
    key = e.key.name if isinstance(e, model.Lookup) and isinstance(e.key, model.FactRef) else None
    if isinstance(e, model.Arith):
        return Operand(computed=written(e), key=key, parts=(_operand(e.left), _operand(e.right)),
                       word=_ARITH_WORDS[e.op])
    return Operand(computed=written(e), key=key)


def _computed(p: _Phraser, g: model.Guideline, e: model.Expr) -> tuple[ComputedInfo, ...]:
    """The computed values a criterion compares (lowering.computed_operands), each with its label."""
    out: list[ComputedInfo] = []
    sides = comparison_sides(e)
    operands = computed_written(e, sides)
    if not operands:  # most criteria compare only facts and literals
        return ()
    direct = compared_directly(e, sides)
    for text, x in operands:
        table_label = None
        if isinstance(x, model.Lookup):
            table = next((t for t in g.tables if t.name == x.table), None)
            table_label = table.label if table else x.table
        pick = None
        if isinstance(x, model.Query) and x.op in ("last", "first"):  # "the most recent of X had pain relief of 40%"
            h = p.facts[x.history.name]
            pick = ("most recent" if x.op == "last" else "earliest", h.label, h.type.field(x.field).label)
        since = written(x.start) if isinstance(x, model.TimeFrom) and isinstance(x.end, model.RequestDate) else None
        out.append(ComputedInfo(kind="finding" if x.type.kind == BOOL else x.type.kind, label=p.label(x),
                                unit=x.type.unit if x.type.kind == QUANTITY else None, expr=text,
                                compared=text in direct, table_label=table_label, pick=pick, since=since))
    return tuple(out)


#: What a comparison's side may be for the letter to word it without a computed value.
_PLAIN_SIDE = (model.FactRef, model.Const, model.TimeFrom)


def _shape(e: model.Expr, shows: bool = False) -> Shape:
    """How to phrase a finding for this criterion with the case's values (`shows` words its computed value)."""
    if isinstance(e, model.Compare) and (shows or not (isinstance(e.left, _PLAIN_SIDE)
                                                       and isinstance(e.right, _PLAIN_SIDE))):
        # a computed value compared: the letter shows it ("the visits total 18, more than the 10 ...")
        left, right, op = e.left, e.right, e.op
        if isinstance(left, model.Const):
            left, right = right, left
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        return Shape("compare", op=op, left=_operand(left), right=_operand(right))
    if isinstance(e, model.Compare):
        left, right, op = e.left, e.right, e.op
        if isinstance(left, model.Const) and not isinstance(right, model.Const):
            left, right = right, left
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        if isinstance(left, model.FactRef) and isinstance(right, model.Const):
            return Shape("limit", fact=left.name, op=op, limit=_value_text(right))
        if isinstance(left, model.TimeFrom) and isinstance(right, model.Const) and isinstance(left.start, model.FactRef):
            return Shape("elapsed", fact=left.start.name, op=op, limit=right.text,
                         to_request=isinstance(left.end, model.RequestDate))
    if isinstance(e, model.FactRef) and e.type.kind == BOOL:
        return Shape("finding", fact=e.name)
    if isinstance(e, model.Logic) and all(isinstance(x, model.FactRef) and x.type.kind == BOOL for x in e.operands):
        return Shape("findings", op=e.op, facts=tuple([x.name for x in e.operands]), disjunctive=e.op == "or")
    if isinstance(e, model.Not) and isinstance(e.operand, model.FactRef) and e.operand.type.kind == BOOL:
        return Shape("no_finding", fact=e.operand.name)
    if isinstance(e, model.Member) and isinstance(e.left, model.FactRef) and e.op in ("in", "not in"):
        return Shape("member", fact=e.left.name, op=e.op, values=_value_text(e.right))
    if isinstance(e, model.Member) and isinstance(e.left, model.FactRef) and e.op.startswith("contains"):
        return Shape("contains", fact=e.left.name, op=e.op, values=_value_text(e.right))
    if isinstance(e, model.Logic) and e.op == "or":
        # `any(prior) or n <= 6`: not met only when every alternative fails, so the letter can
        # word it by its one limit ("the request is for 8 visits, more than the 6 ...")
        limits = [x for x in (_shape(o, shows) for o in e.operands) if x.kind in ("limit", "compare")]
        if len(limits) == 1:  # `facts`: the findings among the alternatives, which the letter names too
            findings = tuple(o.name for o in e.operands if isinstance(o, model.FactRef) and o.type.kind == BOOL)
            return evolve(limits[0], disjunctive=True, facts=findings or None)
    if isinstance(e, model.AtLeast) or (isinstance(e, model.Logic) and e.op == "or"):
        return Shape("general", disjunctive=True)  # any one of the missing facts may decide it
    return Shape("general")


# ------------------------------------------------------------------ schema
def _field_info(t: model.Type, label: Optional[str] = None) -> FieldInfo:
    """A type as check time reads it ("finding" for a true/false fact; a case gives a code as text)."""
    return FieldInfo(*_type_parts(t, label))


def _type_parts(t: model.Type, label: Optional[str]) -> tuple:
    """FieldInfo's first arguments for a type and its label: kind, label, unit, members, element, fields
    (positional: a large pack describes thousands of facts, and keywords gathered into a dict cost more)."""
    k = t.kind
    return ("finding" if k == BOOL else ("text" if k == model.CODE else k),
            label,
            t.unit if k == QUANTITY else None,
            tuple(t.members) if k == ENUM else None,
            _field_info(t.element) if k == SET else None,
            {f.name: _field_info(f.type, f.label) for f in t.fields} if k == HISTORY else None)


def _default(c: Optional[model.Const]):
    if c is None:
        return None
    v = c.value
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, model.Period):
        return {"months": v.months, "days": v.days}
    if isinstance(v, datetime.date):
        return v.isoformat()
    return v


def describe_formulary(f: model.Formulary) -> FormularyInfo:
    """The formulary as check-time data: product and ingredient names to ingredients, classes, form."""
    return FormularyInfo(id=f.id, title=f.title, citation=_citation(f.citation) if f.citation else None,
                         ingredients={i.name: tuple(i.classes) for i in f.ingredients},
                         products={p.name: ProductInfo(tuple(p.ingredients), p.form) for p in f.products})


def _entry_text(e: model.TableEntry) -> str:
    """A table entry's value as written: `8`, or a range `3-8` / `21-35 days` (the unit once)."""
    if e.low is None:
        return e.value.text
    low, high = e.low.text, e.value.text
    unit = high.partition(" ")[2]
    if unit and low.endswith(" " + unit):
        low = low[: -len(unit) - 1]
    return f"{low}-{high}"


def _citation(c: model.Citation) -> Citation:
    return Citation(c.source, c.section, c.pages)


def describe(g: model.Guideline) -> GuidelineInfo:
    """The check-time description of one guideline (see module docstring)."""
    p = _Phraser(g)
    conditions = {c.index: p.clause(c.expr) for c in g.conditions}
    # each `when` is shared by the criteria under it: its facts are read once
    condition_facts = {c.index: model.facts_read(c.expr) for c in g.conditions}
    criteria = []
    for c in g.criteria:
        generated = p.phrase(c.expr)
        criteria.append(CriterionInfo(
            id=c.id,
            exclude=c.exclude,
            statement=c.says or generated,
            said=c.says is not None,
            generated=generated,
            shape=_shape(c.expr, c.shows is not None),
            computed=_computed(p, g, c.expr),
            when=tuple([conditions[x.index] for x in c.conditions]),
            when_facts=tuple(sorted({n for x in c.conditions for n in condition_facts[x.index]})) if c.conditions else (),
            reads=model.facts_read(c.expr),
            allows_fewer=c.allows_fewer,
            shows=c.shows,
            citation=_citation(c.citation),
            line=c.span.line,
        ))
    return GuidelineInfo(
        id=g.id,
        title=g.title,
        citation=_citation(g.citation),
        citation_text=g.citation.describe(),
        version=g.version,
        services=tuple([Service(s.kind, s.value) for s in g.services]),
        states=g.states,
        on_denial=(OnDenialInfo(g.on_denial.text, _citation(g.on_denial.citation))
                   if g.on_denial is not None else None),
        facts={f.name: FactInfo(*_type_parts(f.type, f.label), default=_default(f.default),
                                from_product=f.source or None, silence=f.silence, detail=f.detail,
                                from_item=f.from_item)
               for f in g.facts},
        tables=tuple([TableInfo(t.name, t.label, tuple([(e.key, _entry_text(e)) for e in t.entries])) for t in g.tables]),
        criteria=tuple(criteria),
        in_force=InForce(*(d.isoformat() if d else None for d in g.in_force)) if g.in_force else None,
        not_mtus_rank=g.not_mtus_rank,
    )
