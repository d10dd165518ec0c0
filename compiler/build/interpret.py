"""The reference interpreter: evaluates the checked model on a case, the executable specification.

It walks dsl.model expressions and combines their values with the functions
of compiler.runtime, so the semantics live in one place; the Python backend
(compiler/build/codegen.py) must produce identical results, and the differential
tests hold it to that. Clear over clever: every expression is evaluated to a
(value, missing) pair, nothing is cached.
"""

from __future__ import annotations

import datetime
from typing import Mapping, Optional

from mtus.compiler.check import runtime as rt
from mtus.dsl import model
from mtus.dsl.dump import expr as outline
from mtus.dsl.model import DATE, DURATION, TEXT


# ------------------------------------------- helpers shared with the backend
def const_value(c: model.Const):
    """The runtime value of a literal: periods become Durations, everything else is already exact."""
    return _runtime_value(c.value)


def _runtime_value(v):
    if isinstance(v, model.Period):
        return rt.Duration(v.months, v.days)
    if isinstance(v, frozenset):
        return frozenset(_runtime_value(x) for x in v)
    return v


def compare_kind(a: model.Type, b: model.Type) -> str:
    """How two values compare: as durations, as free text, or exactly."""
    kinds = {a.kind, b.kind}
    if DURATION in kinds:
        return rt.DURATION
    if TEXT in kinds:
        return rt.TEXT
    return rt.EXACT


def member_kind(e: model.Member) -> str:
    """How the elements of a set operation compare (free text wins over `one of`)."""
    if e.op in ("in", "not in"):
        element, collection = e.left.type, e.right.type.element
    elif e.op == "contains":
        element, collection = e.right.type, e.left.type.element
    else:
        element, collection = e.right.type.element, e.left.type.element
    return compare_kind(element or model.T_TEXT, collection or model.T_TEXT)


def date_field(history: model.Type) -> Optional[str]:
    """The field `last`/`first` order rows by, if the history has a `date` field that is a date."""
    f = history.field("date")
    return f.name if f is not None and f.type.kind == DATE else None


def sum_zero(t: model.Type):
    """The total of no rows."""
    return rt.Duration(0, 0) if t.kind == DURATION else 0


def sum_type(q: model.Query) -> model.Type:
    """The type of what `sum` adds: the per-row expression's, or the field's (the query's own type)."""
    return q.value.type if q.value is not None else q.type


def table_entries(table: model.Table) -> dict:
    """A table as the runtime reads it: keys normalised like text (the first entry of a key wins) -> values."""
    out: dict = {}
    for entry in table.entries:
        out.setdefault(rt.norm_text(entry.key), const_value(entry.value))
    return out


def allows_fewer(guideline: model.Guideline) -> dict[str, str]:
    """Criterion id -> the count fact it allows fewer of, for the criteria that say so."""
    return {c.id: c.allows_fewer for c in guideline.criteria if c.allows_fewer is not None}


_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "compare": 4, "+": 5, "-": 5, "*": 6, "/": 6}


def written(e: model.Expr, outer: int = 0) -> str:
    """e as a guideline writes it (`sum(prior_physical_medicine.visits) + pt_visits_requested`), for traces."""
    def wrap(text: str, level: int) -> str:
        return f"({text})" if level < outer else text

    if isinstance(e, (model.FactRef, model.FieldRef)):
        return e.name
    if isinstance(e, model.RequestDate):
        return "request.date"
    if isinstance(e, model.Const):
        return e.text
    if isinstance(e, model.Not):
        return wrap("not " + written(e.operand, 3), 3)
    if isinstance(e, model.Logic):
        level = _PRECEDENCE[e.op]
        return wrap(f" {e.op} ".join(written(x, level + 1) for x in e.operands), level)
    if isinstance(e, model.AtLeast):
        return f"at least {e.count} of {{" + ", ".join(written(x) for x in e.items) + "}"
    if isinstance(e, model.Compare):
        return wrap(f"{written(e.left, 5)} {e.op} {written(e.right, 5)}", 4)
    if isinstance(e, model.Between):
        return wrap(f"{written(e.value, 5)} between {written(e.low, 5)} and {written(e.high, 5)}", 4)
    if isinstance(e, model.Member):
        return wrap(f"{written(e.left, 5)} {e.op} {written(e.right, 5)}", 4)
    if isinstance(e, model.Arith):
        level = _PRECEDENCE[e.op]
        return wrap(f"{written(e.left, level)} {e.op} {written(e.right, level + 1)}", level)
    if isinstance(e, model.TimeFrom):
        return f"time from {written(e.start, 5)} to {written(e.end, 5)}"
    if isinstance(e, model.Documented):
        return f"documented {written(e.target)}"
    if isinstance(e, model.Lookup):
        return f"{e.table}[{written(e.key)}]"
    if isinstance(e, model.Query):
        inner = e.history.name
        if e.value is not None:
            inner += f" of {written(e.value)}"
        if e.within_text:
            inner += f" within {e.within_text}"
        if e.where is not None:
            inner += f" where {written(e.where)}"
        text = f"{e.op}({inner})"
        if e.field:
            text += ("." if e.op in ("last", "first") else "") + e.field
            if e.op not in ("last", "first"):  # sum(h.field)
                text = f"{e.op}({e.history.name}.{e.field}" + inner[len(e.history.name):] + ")"
        return text
    return outline(e)  # a node this printer does not know yet: the debugging form


_READ = (model.FactRef, model.FieldRef, model.Const, model.RequestDate)


def _walk_comparisons(x: model.Expr, operand) -> None:
    """Call operand(side) for each side of each comparison or set test in a criterion's logic."""
    if isinstance(x, (model.Compare, model.Between, model.Member)):
        for child in model.children(x):
            operand(child)
    elif isinstance(x, (model.Logic, model.Not, model.AtLeast)):
        for child in model.children(x):
            _walk_comparisons(child, operand)


def compared_directly(e: model.Expr) -> set[str]:
    """The written form of the computed values e compares directly (not the parts they are computed from)."""
    out: set[str] = set()
    _walk_comparisons(e, lambda x: out.add(written(x)))
    return out


def computed_operands(e: model.Expr) -> list[model.Expr]:
    """The computed values a criterion compares (sums, counts, history fields, lookups, arithmetic, elapsed time).

    Walks the criterion's logic down to its comparisons and set tests; an
    operand that is not simply read (a fact, a field, a literal, the request
    date) is listed, then its own computed operands, in source order. The rows
    inside a query are not values of the criterion and are not entered.
    """
    out: list[model.Expr] = []

    def value(x: model.Expr) -> None:
        if isinstance(x, _READ) or (isinstance(x, model.Query) and x.op in ("any", "all")):
            return
        out.append(x)
        if isinstance(x, (model.Arith, model.TimeFrom)):
            for child in model.children(x):
                value(child)
        elif isinstance(x, model.Lookup):
            value(x.key)

    _walk_comparisons(e, value)
    unique: dict[str, model.Expr] = {}
    for x in out:  # the same value compared twice is shown once
        unique.setdefault(written(x), x)
    return list(unique.values())


def reads(exprs) -> tuple[str, ...]:
    """The facts a criterion reads, in first-use order: its `when` conditions, then its own condition."""
    return rt.union(*(model.facts_read(e) for e in exprs))


# ----------------------------------------------------------------- entry
def evaluate(guideline: model.Guideline, facts: Mapping[str, object],
             request_date: datetime.date) -> rt.GuidelineResult:
    """Every criterion's outcome on one case, in source order, and the partial certification if any."""
    result = _decide(guideline, facts, request_date)
    fewer = allows_fewer(guideline)
    if not fewer:
        return result
    return rt.modify(result, facts, fewer, lambda f, d: _decide(guideline, f, d).unmet_ids())


def _decide(guideline: model.Guideline, facts: Mapping[str, object],
            request_date: datetime.date) -> rt.GuidelineResult:
    case = _Case(guideline, facts, request_date)
    return rt.GuidelineResult(guideline.id, request_date,
                              tuple(case.criterion(c) for c in guideline.criteria))


class _Case:
    def __init__(self, guideline: model.Guideline, facts: Mapping[str, object], request_date: datetime.date):
        self.guideline = guideline
        self.facts = facts
        self.request_date = request_date
        self.tables = {t.name: table_entries(t) for t in guideline.tables}

    # ------------------------------------------------------------ facts
    def documented(self, name: str) -> bool:
        return self.facts.get(name) is not None

    def value(self, name: str):
        """The fact's value: as documented, else its default, else None (unknown)."""
        v = self.facts.get(name)
        if v is None:
            default = self.guideline.fact(name).default
            if default is not None:
                return const_value(default)
        return v

    # -------------------------------------------------------- criteria
    def criterion(self, c: model.Criterion) -> rt.CriterionResult:
        gate = rt.and_m(*(self.eval(cond.expr) for cond in c.conditions))
        exprs = [cond.expr for cond in c.conditions]
        result = None
        computed: tuple = ()
        if gate[0] is True:  # the condition is only evaluated where the criterion applies
            result = self.eval(c.expr)
            exprs.append(c.expr)
            computed = tuple(rt.Computed(written(x), self.eval(x)[0]) for x in computed_operands(c.expr))
        read = tuple(rt.FactValue(n, self.value(n), self.documented(n)) for n in reads(exprs))
        return rt.decide(c.id, c.exclude, gate, result, read, computed)

    # ------------------------------------------------------ expressions
    def eval(self, e: model.Expr, row: Optional[tuple[str, Mapping]] = None) -> rt.Pair:
        """(value, missing) of e; `row` is (history name, row) inside a `where`."""
        method = getattr(self, "e_" + type(e).__name__)
        return method(e, row)

    def e_FactRef(self, e: model.FactRef, row):
        v = self.value(e.name)
        return (v, ()) if v is not None else (None, (e.name,))

    def e_FieldRef(self, e: model.FieldRef, row):
        history, r = row
        v = r.get(e.name)
        return (v, ()) if v is not None else (None, (f"{history}.{e.name}",))

    def e_RequestDate(self, e, row):
        return self.request_date, ()

    def e_Const(self, e: model.Const, row):
        return const_value(e), ()

    def e_Not(self, e: model.Not, row):
        return rt.not_m(self.eval(e.operand, row))

    def e_Logic(self, e: model.Logic, row):
        pairs = [self.eval(x, row) for x in e.operands]
        return rt.and_m(*pairs) if e.op == "and" else rt.or_m(*pairs)

    def e_AtLeast(self, e: model.AtLeast, row):
        return rt.at_least_m(e.count, *(self.eval(x, row) for x in e.items))

    def e_Compare(self, e: model.Compare, row):
        a, b = self.eval(e.left, row), self.eval(e.right, row)
        kind = compare_kind(e.left.type, e.right.type)
        if kind == rt.DURATION:
            value = rt.compare_duration(e.op, a[0], b[0], self.request_date)
        elif kind == rt.TEXT:
            value = rt.compare_text(e.op, a[0], b[0])
        else:
            value = rt.compare(e.op, a[0], b[0])
        return rt.strict_m(value, a, b)

    def e_Between(self, e: model.Between, row):
        v, lo, hi = (self.eval(x, row) for x in (e.value, e.low, e.high))
        if e.value.type.kind == DURATION:
            value = rt.between_duration(v[0], lo[0], hi[0], self.request_date)
        else:
            value = rt.between(v[0], lo[0], hi[0])
        return rt.strict_m(value, v, lo, hi)

    def e_Member(self, e: model.Member, row):
        a, b = self.eval(e.left, row), self.eval(e.right, row)
        return rt.strict_m(rt.member(e.op, a[0], b[0], member_kind(e), self.request_date), a, b)

    def e_Arith(self, e: model.Arith, row):
        a, b = self.eval(e.left, row), self.eval(e.right, row)
        fn = {"+": rt.add, "-": rt.sub, "*": rt.mul, "/": rt.div}[e.op]
        return rt.strict_m(fn(a[0], b[0]), a, b)

    def e_Documented(self, e: model.Documented, row):
        if isinstance(e.target, model.FieldRef):
            return row[1].get(e.target.name) is not None, ()
        return self.documented(e.target.name), ()

    def e_TimeFrom(self, e: model.TimeFrom, row):
        a, b = self.eval(e.start, row), self.eval(e.end, row)
        return rt.strict_m(rt.time_from(a[0], b[0]), a, b)

    def e_Query(self, e: model.Query, row):
        name = e.history.name
        rows = self.value(name)
        window = rt.window(self.request_date, e.within.months, e.within.days) if e.within is not None else None
        where = None
        if e.where is not None:
            def where(r, _where=e.where, _name=name):
                return self.eval(_where, (_name, r))
        if e.op == "any":
            return rt.any_m(rows, name, window, where)
        if e.op == "all":
            return rt.all_m(rows, name, window, where)
        if e.op == "count":
            return rt.count_m(rows, name, window, where)
        if e.op == "sum" and e.value is not None:
            def value(r, _value=e.value, _name=name):
                return self.eval(_value, (_name, r))
            return rt.sum_of_m(rows, name, window, where, value, sum_zero(sum_type(e)))
        if e.op == "sum":
            return rt.sum_m(rows, name, window, where, e.field, sum_zero(sum_type(e)))
        picked = rt.pick_m(e.op, rows, name, window, where, date_field(e.history.type))
        return rt.field_m(picked, name, e.field)

    def e_Lookup(self, e: model.Lookup, row):
        return rt.lookup_m(self.tables[e.table], e.table, self.eval(e.key, row))

