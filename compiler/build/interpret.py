"""The reference interpreter: evaluates the checked model on a case, the executable specification.

It walks dsl.model expressions and combines their values with the functions
of compiler/check/runtime.py, so the semantics live in one place (what a
construct is at run time is compiler/build/lowering.py's); the Python backend
(compiler/build/codegen.py) must produce identical results, and the differential
tests hold it to that. Clear over clever: every expression is evaluated to a
(value, missing) pair, nothing is cached.
"""

from __future__ import annotations

import datetime
from typing import Mapping, Optional

from mtus.compiler.build import silence
from mtus.compiler.build.lowering import (ARITH_FUNCTIONS, allows_fewer, compare_kind, computed_operands, const_value, date_field,
                                          distinct_kind,
                                          member_kind, reads, sum_type, sum_zero, table_default, table_entries,
                                          written)
from mtus.compiler.check import runtime as rt
from mtus.dsl import model
from mtus.dsl.model import DURATION


# ----------------------------------------------------------------- entry
def evaluate(guideline: model.Guideline, facts: Mapping[str, object],
             request_date: datetime.date) -> rt.GuidelineResult:
    """Every criterion's outcome on one case, in source order, decided in every reading, with the
    partial certification if any and the presumptions that decided."""
    rules = silence.rules(guideline)
    fewer = allows_fewer(guideline)
    domains = silence.reading_domains(guideline)
    reads = silence.reading_reads(guideline)

    def once(f, d):
        return _decide(guideline, f, d, rules)

    def unmet(f, d):
        return rt.unmet_in_every_reading(once(f, d).unmet_ids(), f, d, once, domains, reads)

    return rt.finish(once(facts, request_date), facts, once, domains, fewer, unmet, rules, silence.labels(guideline))


def _decide(guideline: model.Guideline, facts: Mapping[str, object],
            request_date: datetime.date, rules: Mapping[str, str]) -> rt.GuidelineResult:
    case = _Case(guideline, facts, request_date, rules)
    return rt.GuidelineResult(guideline.id, request_date,
                              tuple(case.criterion(c) for c in guideline.criteria))


class _Case(model.Visitor):
    """One case: every expression's (value, missing), by one visit_<class> method each."""

    def __init__(self, guideline: model.Guideline, facts: Mapping[str, object], request_date: datetime.date,
                 rules: Mapping[str, str]):
        self.guideline = guideline
        self.facts = facts
        self.request_date = request_date
        self.rules = rules
        # (name, lower end?) -> (entries, the otherwise value or None)
        self.tables = {(t.name, low): (table_entries(t, low), table_default(t, low))
                       for t in guideline.tables for low in (False, True)}

    # ------------------------------------------------------------ facts
    def documented(self, name: str) -> bool:
        return self.facts.get(name) is not None

    def value(self, name: str):
        """The fact's value: as documented, else its default or what its silence rule presumes, else None (unknown)."""
        v = self.facts.get(name)
        if v is None:
            presumed = silence.presumed_const(self.guideline.fact(name))
            if presumed is not None:
                return const_value(presumed)
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
        return rt.decide(c.id, c.exclude, gate, result, read, computed, self.rules)

    # ------------------------------------------------------ expressions
    def eval(self, e: model.Expr, row: Optional[tuple[str, Mapping]] = None) -> rt.Pair:
        """(value, missing) of e; `row` is (history name, row) inside a `where`."""
        return self.visit(e, row)

    def generic_visit(self, e: model.Expr, *args) -> rt.Pair:
        raise AssertionError(f"no rule for {type(e).__name__}")

    def visit_FactRef(self, e: model.FactRef, row):
        v = self.value(e.name)
        return (v, ()) if v is not None else (None, (e.name,))

    def visit_FieldRef(self, e: model.FieldRef, row):
        history, r = row
        v = r.get(e.name)
        return (v, ()) if v is not None else (None, (f"{history}.{e.name}",))

    def visit_RequestDate(self, e, row):
        return self.request_date, ()

    def visit_Const(self, e: model.Const, row):
        return const_value(e), ()

    def visit_Not(self, e: model.Not, row):
        return rt.not_m(self.eval(e.operand, row))

    def visit_Logic(self, e: model.Logic, row):
        pairs = [self.eval(x, row) for x in e.operands]
        return rt.and_m(*pairs) if e.op == "and" else rt.or_m(*pairs)

    def visit_AtLeast(self, e: model.AtLeast, row):
        return rt.at_least_m(e.count, *(self.eval(x, row) for x in e.items))

    def visit_Compare(self, e: model.Compare, row):
        a, b = self.eval(e.left, row), self.eval(e.right, row)
        kind = compare_kind(e.left.type, e.right.type)
        if kind == rt.DURATION:
            value = rt.compare_duration(e.op, a[0], b[0], self.request_date)
        elif kind == rt.TEXT:
            value = rt.compare_text(e.op, a[0], b[0])
        elif kind == rt.CODE:
            value = rt.compare_code(e.op, a[0], b[0])
        else:
            value = rt.compare(e.op, a[0], b[0])
        return rt.strict_m(value, a, b)

    def visit_Between(self, e: model.Between, row):
        v, lo, hi = (self.eval(x, row) for x in (e.value, e.low, e.high))
        if e.value.type.kind == DURATION:
            value = rt.between_duration(v[0], lo[0], hi[0], self.request_date)
        else:
            value = rt.between(v[0], lo[0], hi[0])
        return rt.strict_m(value, v, lo, hi)

    def visit_Member(self, e: model.Member, row):
        a, b = self.eval(e.left, row), self.eval(e.right, row)
        if member_kind(e) == rt.CODE:
            return rt.strict_m(rt.member_code(e.op, a[0], b[0]), a, b)
        return rt.strict_m(rt.member(e.op, a[0], b[0], member_kind(e), self.request_date), a, b)

    def visit_Arith(self, e: model.Arith, row):
        a, b = self.eval(e.left, row), self.eval(e.right, row)
        fn = getattr(rt, ARITH_FUNCTIONS[e.op])
        return rt.strict_m(fn(a[0], b[0]), a, b)

    def visit_Documented(self, e: model.Documented, row):
        if isinstance(e.target, model.FieldRef):
            return row[1].get(e.target.name) is not None, ()
        return self.documented(e.target.name), ()

    def visit_TimeFrom(self, e: model.TimeFrom, row):
        a, b = self.eval(e.start, row), self.eval(e.end, row)
        return rt.strict_m(rt.time_from(a[0], b[0]), a, b)

    def visit_Query(self, e: model.Query, row):
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
        if e.op == "count distinct":
            field_type = e.history.type.field(e.field).type
            return rt.count_distinct_m(rows, name, window, where, e.field, distinct_kind(field_type))
        if e.op == "sum" and e.value is not None:
            def value(r, _value=e.value, _name=name):
                return self.eval(_value, (_name, r))
            return rt.sum_of_m(rows, name, window, where, value, sum_zero(sum_type(e)))
        if e.op == "sum":
            return rt.sum_m(rows, name, window, where, e.field, sum_zero(sum_type(e)))
        picked = rt.pick_m(e.op, rows, name, window, where, date_field(e.history.type))
        return rt.field_m(picked, name, e.field)

    def visit_SetCount(self, e: model.SetCount, row):
        v = self.eval(e.set, row)
        return rt.strict_m(rt.set_count(v[0], distinct_kind(e.set.type)), v)

    def visit_ValueRef(self, e: model.ValueRef, row):
        return self.eval(e.expr, row)

    def visit_Lookup(self, e: model.Lookup, row):
        entries, default = self.tables[(e.table, e.low)]
        if default is not None:
            return rt.lookup_or_m(entries, self.eval(e.key, row), default)
        return rt.lookup_m(entries, e.table, self.eval(e.key, row))

