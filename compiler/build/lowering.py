"""What the checked model's constructs are at run time, for both back ends (interpret.py, codegen.py).

Literals as runtime values, how two operands compare, what `sum` adds and
starts from, which field orders `last`/`first`, tables as the runtime reads
them, what a criterion reads and which computed values its trace shows. The
semantics themselves are the runtime's (compiler/check/runtime.py); this only
maps the model onto it.
"""

from __future__ import annotations

from typing import Iterable, Optional

from mtus.compiler.check import runtime as rt
from mtus.dsl import model
from mtus.dsl.dump import expr as outline
from mtus.dsl.model import DATE, DURATION, TEXT


#: An arithmetic operator -> the runtime function that computes it (both back ends call these).
ARITH_FUNCTIONS = {"+": "add", "-": "sub", "*": "mul", "/": "div"}


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
    """How two values compare: as durations, as codes (against patterns), as free text, or exactly."""
    ak, bk = a.kind, b.kind  # Kind members (Type converts them), so compared by identity
    if ak is model.CODE or bk is model.CODE:
        return rt.CODE
    if ak is DURATION or bk is DURATION:
        return rt.DURATION
    if ak is TEXT or bk is TEXT:
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


def distinct_kind(t: model.Type) -> str:
    """How `count distinct` and `count(s)` tell values apart: texts as they compare, codes as they match."""
    if t.kind == model.SET:
        t = t.element or model.T_TEXT
    return rt.CODE if t.kind == model.CODE else rt.TEXT if t.kind == TEXT else rt.EXACT


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


def table_entries(table: model.Table, low: bool = False) -> dict:
    """A table as the runtime reads it: keys normalised like text (the first entry of a key wins) -> values.

    A range entry gives its upper end, or with `low` its lower end (a single value is both).
    """
    out: dict = {}
    for entry in table.entries:
        out.setdefault(rt.norm_text(entry.key), const_value(_end(entry, low)))
    return out


def table_default(table: model.Table, low: bool = False):
    """The value of the table's `otherwise` row (the end asked for, if a range), or None if it has none."""
    return None if table.otherwise is None else const_value(_end(table.otherwise, low))


def _end(entry: model.TableEntry, low: bool) -> model.Const:
    return entry.low if low and entry.low is not None else entry.value


def allows_fewer(guideline: model.Guideline) -> dict[str, str]:
    """Criterion id -> the count fact it allows fewer of, for the criteria that say so."""
    return {c.id: c.allows_fewer for c in guideline.criteria if c.allows_fewer is not None}


_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "compare": 4, "+": 5, "-": 5, "*": 6, "/": 6}


def written(e: model.Expr, outer: int = 0) -> str:
    """e as a guideline writes it (`sum(prior_physical_medicine.visits) + pt_visits_requested`), for traces.

    `outer` is the precedence of the enclosing operator: a looser e is parenthesised.
    """
    return _WRITER.visit(e, outer)


def _wrap(text: str, level: int, outer: int) -> str:
    return f"({text})" if level < outer else text


class _Writer(model.Visitor):
    """written(): one visit_<class> method per expression class, each given the enclosing precedence."""

    def generic_visit(self, e: model.Expr, outer: int) -> str:
        return outline(e)  # a node this printer does not know yet: the debugging form

    def visit_FactRef(self, e: model.FactRef | model.FieldRef | model.ValueRef, outer: int) -> str:
        return e.name

    visit_FieldRef = visit_ValueRef = visit_FactRef

    def visit_RequestDate(self, e: model.RequestDate, outer: int) -> str:
        return "request.date"

    def visit_Const(self, e: model.Const, outer: int) -> str:
        return e.text

    def visit_Not(self, e: model.Not, outer: int) -> str:
        return _wrap("not " + self.visit(e.operand, 3), 3, outer)

    def visit_Logic(self, e: model.Logic, outer: int) -> str:
        level = _PRECEDENCE[e.op]
        return _wrap(f" {e.op} ".join([self.visit(x, level + 1) for x in e.operands]), level, outer)

    def visit_AtLeast(self, e: model.AtLeast, outer: int) -> str:
        return f"at least {e.count} of {{" + ", ".join([self.visit(x, 0) for x in e.items]) + "}"

    def visit_Compare(self, e: model.Compare | model.Member, outer: int) -> str:
        return _wrap(f"{self.visit(e.left, 5)} {e.op} {self.visit(e.right, 5)}", 4, outer)

    visit_Member = visit_Compare

    def visit_Between(self, e: model.Between, outer: int) -> str:
        return _wrap(f"{self.visit(e.value, 5)} between {self.visit(e.low, 5)} and {self.visit(e.high, 5)}", 4, outer)

    def visit_Arith(self, e: model.Arith, outer: int) -> str:
        level = _PRECEDENCE[e.op]
        return _wrap(f"{self.visit(e.left, level)} {e.op} {self.visit(e.right, level + 1)}", level, outer)

    def visit_TimeFrom(self, e: model.TimeFrom, outer: int) -> str:
        return f"time from {self.visit(e.start, 5)} to {self.visit(e.end, 5)}"

    def visit_Documented(self, e: model.Documented, outer: int) -> str:
        return f"documented {self.visit(e.target, 0)}"

    def visit_Lookup(self, e: model.Lookup, outer: int) -> str:
        return f"{e.table}[{self.visit(e.key, 0)}]" + (".low" if e.low else "")

    def visit_SetCount(self, e: model.SetCount, outer: int) -> str:
        return f"count({e.set.name})"

    def visit_Query(self, e: model.Query, outer: int) -> str:
        name = e.history.name
        inner = ""  # what follows the history's name inside the parentheses
        if e.value is not None:
            inner += f" of {self.visit(e.value, 0)}"
        if e.within_text:
            inner += f" within {e.within_text}"
        if e.where is not None:
            inner += f" where {self.visit(e.where, 0)}"
        if e.field is None:
            return f"{e.op}({name}{inner})"
        if e.op in ("last", "first"):  # last(h).field
            return f"{e.op}({name}{inner}).{e.field}"
        return f"{e.op}({name}.{e.field}{inner})"  # sum(h.field ...)


_WRITER = _Writer()


_READ = (model.FactRef, model.FieldRef, model.Const, model.RequestDate)


def comparison_sides(e: model.Expr) -> list[model.Expr]:
    """Each side of each comparison or set test in a criterion's logic (through `and`, `or`, `not`, `at least`
    and named conditions), in source order."""
    out: list[model.Expr] = []
    _sides_into(e, out)
    return out


def _sides_into(x: model.Expr, out: list) -> None:
    # by exact class (the model's classes have no subclasses): asked of every criterion by both back ends and
    # the pack description, where isinstance() against tuples and model.children() were most of the walk
    t = type(x)
    if t is model.Compare or t is model.Member:
        out.append(x.left)
        out.append(x.right)
    elif t is model.Between:
        out += (x.value, x.low, x.high)
    elif t is model.Logic:
        for child in x.operands:
            _sides_into(child, out)
    elif t is model.Not:
        _sides_into(x.operand, out)
    elif t is model.AtLeast:
        for child in x.items:
            _sides_into(child, out)
    elif t is model.ValueRef and x.type.kind == model.BOOL:  # a named condition: what it compares
        _sides_into(x.expr, out)


def compared_directly(e: model.Expr, sides: Optional[list[model.Expr]] = None) -> set[str]:
    """The written form of the computed values e compares directly (not the parts they are computed from);
    `sides`: comparison_sides(e), if the caller has it."""
    return {written(x) for x in (comparison_sides(e) if sides is None else sides)}


def computed_operands(e: model.Expr) -> list[model.Expr]:
    """The computed values a criterion compares (sums, counts, history fields, lookups, arithmetic, elapsed time).

    Walks the criterion's logic down to its comparisons and set tests; an
    operand that is not simply read (a fact, a field, a literal, the request
    date) is listed, then its own computed operands, in source order. The rows
    inside a query are not values of the criterion and are not entered.
    """
    return [x for _, x in computed_written(e)]


def computed_written(e: model.Expr, sides: Optional[list[model.Expr]] = None) -> list[tuple[str, model.Expr]]:
    """computed_operands(e), each with its written form (the key that keeps one of each); `sides`:
    comparison_sides(e), if the caller has it."""
    out: list[model.Expr] = []
    for x in comparison_sides(e) if sides is None else sides:
        _computed(out, x)
    if not out:  # most criteria compare only facts and literals
        return []
    unique: dict[str, model.Expr] = {}
    for x in out:  # the same value compared twice is shown once
        unique.setdefault(written(x), x)
    return list(unique.items())


def _computed(out: list, x: model.Expr) -> None:
    """computed_operands' walk (not a closure calling itself: each would be a cycle left for the collector)."""
    if isinstance(x, _READ) or (isinstance(x, model.Query) and x.op in ("any", "all")):
        return
    out.append(x)
    if isinstance(x, (model.Arith, model.TimeFrom)):
        for child in model.children(x):
            _computed(out, child)
    elif isinstance(x, model.Lookup):
        _computed(out, x.key)


def reads(exprs: Iterable[model.Expr]) -> tuple[str, ...]:
    """The facts a criterion reads, in first-use order: its `when` conditions, then its own condition."""
    return rt.union(*(model.facts_read(e) for e in exprs))
