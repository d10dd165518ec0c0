"""The Python backend: one readable, deterministic checker module per guideline.

A generated module defines GUIDELINE_ID, RUNTIME_VERSION, CRITERIA,
SOURCE_FILE, SOURCE_LINES, `evaluate(facts, request_date)` (full results,
identical to compiler/build/interpret.py) and the fast path
`unmet(facts, request_date)` (the ids of criteria not met or not documented
at the amounts requested). Given a layout (where each fact sits in an
integrator's nested records), it also defines `unmet_record(record,
request_date)`, the fast path reading the record itself, and
`facts_of_record(record)`. It imports only compiler.runtime's exported
names, datetime and decimal. Tables the criteria look up are module-level
dict constants (`_table_<name>`, keys normalised as texts compare). When
criteria allow fewer of a count, `evaluate` ends with runtime.modify, which
searches for the partial certification by calling `unmet`.

Two flavours of code come from each expression. The fast path computes plain
three-valued values and tests them with `is True` / `is False`, inlining the
logic where an operand is known never to be unknown. `evaluate` computes
(value, missing) pairs with the runtime's pair functions, exactly as the
interpreter does. All text reaches the source through compiler/build/codewriter.py.
"""

from __future__ import annotations

import hashlib
import linecache
import os
import re
import traceback
import types
from typing import Any, Callable, Mapping, Optional, Sequence

from mtus.compiler.check import runtime as rt
from mtus.compiler.build import silence
from mtus.compiler.build.codewriter import INDENT, CodeWriter, comment_text, literal, mangle
from mtus.compiler.build.lowering import (ARITH_FUNCTIONS, allows_fewer, compare_kind, computed_written, const_value, date_field,
                                          distinct_kind,
                                          member_kind, sum_type, sum_zero, table_default, table_entries,
                                          written)
from mtus.dsl import model
from mtus.dsl.dump import expr as outline
from mtus.dsl.model import DATE, DURATION, HISTORY

_SIMPLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z|\(\)\Z|-?\d+\Z|'[^'\\]*'\Z|True\Z|False\Z|None\Z")
#: The runtime's names a checker may import, as _words() finds them.
_RUNTIME_NAMES = {n.encode("ascii"): n for n in rt.__all__ if n != "RUNTIME_VERSION"}  # as a word -> the name
# Words of generated text, as bytes: every byte but [A-Za-z0-9_] becomes a space (see _words).
_NOT_WORD = bytes(b if chr(b).isascii() and (chr(b).isalnum() or chr(b) == "_") else 32 for b in range(256))
_PY_OP = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "=": "==", "!=": "!="}
_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="}  # a op b is b flipped-op a


#: The comparisons and set tests: strict operations, compiled alike (_Function.strict).
_STRICT = frozenset({model.Compare, model.Between, model.Member})


class _V:
    """A compiled value: Python text, and whether it can be None (unknown)."""

    __slots__ = ("text", "nullable")

    def __init__(self, text: str, nullable: bool):
        self.text, self.nullable = text, nullable


def _paren(parts: list[str], joiner: str) -> str:
    return parts[0] if len(parts) == 1 else "(" + joiner.join(parts) + ")"


def _time_vs_period(e) -> Optional[tuple[model.TimeFrom, model.Period, bool]]:
    """(time from, period, period on the left) when e compares a measured time with a written period."""
    if not isinstance(e, model.Compare):
        return None
    if isinstance(e.left, model.TimeFrom) and isinstance(e.right, model.Const):
        return e.left, e.right.value, False
    if isinstance(e.right, model.TimeFrom) and isinstance(e.left, model.Const):
        return e.right, e.left.value, True
    return None


class _Function(model.Visitor):
    """Emits the body of one generated function: temporaries, scopes, both flavours of expression.

    The evaluate path (`pair`) is its model.Visitor walk; the fast path (`val`, `truth`)
    is a switch over families of constructs (see val).
    """

    def __init__(self, gen: "_Generator", w: CodeWriter, full: bool):
        self.gen = gen
        self.w = w
        self.full = full  # evaluate() reads each fact's missing tuple once, as m_<name>
        self.counter = 0
        # What the open blocks have computed: key (the right-hand side, or "query <written>") -> its temporary.
        # A key is added only when no open block has it, so one dict serves them all; each open block lists
        # the keys it added, dropped when it closes (_Block): one lookup, where a chain of dicts (one per open
        # block) was searched innermost first.
        self.visible: dict[str, Any] = {}
        self.added: list[list[str]] = [[]]
        self.rows: list[tuple[str, str]] = []  # (row variable, history name) of enclosing `where`s

    # -------------------------------------------------------- plumbing
    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def remember(self, key: str, value: Any) -> None:
        """key's temporary, visible until the innermost open block closes (key is not visible yet)."""
        self.visible[key] = value
        self.added[-1].append(key)

    def temp(self, rhs: str, line: Optional[int], prefix: str = "_t") -> str:
        """A local holding rhs, computed once per block (expressions have no side effects)."""
        name = self.visible.get(rhs)
        if name is None:
            name = self.fresh(prefix)
            self.w.line(f"{name} = {rhs}", line)
            self.remember(rhs, name)
        return name

    def temp_pair(self, rhs: str, line: Optional[int]) -> tuple[str, str]:
        found = self.visible.get(rhs)
        if found is None:
            n = self.fresh("")
            found = (f"_v{n}", f"_m{n}")
            self.w.line(f"{found[0]}, {found[1]} = {rhs}", line)
            self.remember(rhs, found)
        return found

    def block(self) -> "_Block":
        """An indented block: temporaries computed inside are not visible after it."""
        return _Block(self)

    def atom(self, v: _V, line: Optional[int]) -> _V:
        """v, as a name or literal if it may be None (it is then read twice: the test and the use)."""
        if not v.nullable or _SIMPLE.match(v.text):
            return v
        return _V(self.temp(v.text, line), True)

    # ------------------------------------------------------------ facts
    def fact(self, name: str) -> _V:
        return self.gen.fact_values[name]

    def documented(self, target) -> str:
        if isinstance(target, model.FieldRef):
            row, _ = self.rows[-1]
            return f"({row}.get({literal(target.name)}) is not None)"
        if self.gen.presumed[target.name] is not None:
            return self.gen.d_name[target.name]
        return f"({self.gen.f_name[target.name]} is not None)"

    # --------------------------------------------- strict operations
    def strict_children(self, e) -> tuple:
        """The operands a comparison or set test is computed from."""
        timed = _time_vs_period(e)
        if timed is not None:  # `time from A to B` against a period reads A and B directly
            return (timed[0].start, timed[0].end)
        return self.gen.children(e)

    def strict(self, e, operands: list[_V], line: Optional[int]) -> tuple[list[str], str]:
        """(names that must not be None, the value when none is) for comparisons and set tests.

        The names are the operands that can be unknown, and temporaries holding a
        date computation that is unknown off the calendar. Where the calendar is
        needed (durations), the value is a temporary holding a runtime call that
        takes unknown operands itself; it is then its own only name.
        """
        checks = [x.text for x in operands if x.nullable]
        if isinstance(e, model.Compare):
            kind = compare_kind(e.left.type, e.right.type)
            if kind == rt.DURATION:
                return self.compare_duration(e, operands, line)
            return checks, self.compare_core(e, kind, operands[0].text, operands[1].text)
        if isinstance(e, model.Between):
            v, lo, hi = (x.text for x in operands)
            if e.value.type.kind == DURATION:
                t = self.temp(f"between_duration({v}, {lo}, {hi}, request_date)", line)
                return [t], t
            return checks, f"({lo} <= {v} <= {hi})"
        if isinstance(e, model.Member):
            a, b = operands[0].text, operands[1].text
            if member_kind(e) == rt.DURATION:
                t = self.temp(f"member({literal(e.op)}, {a}, {b}, DURATION, request_date)", line)
                return [t], t
            return checks, self.member_core(e, a, b)
        raise AssertionError(e)

    def compare_duration(self, e: model.Compare, operands: list[_V], line: Optional[int]) -> tuple[list[str], str]:
        timed = _time_vs_period(e)
        if timed is None:
            a, b = operands[0].text, operands[1].text
            t = self.temp(f"compare_duration({literal(e.op)}, {a}, {b}, request_date)", line)
            return [t], t
        # `time from A to B` against a written period P: the runtime's compare_elapsed, on A and B
        start, end = operands
        _, period, period_left = timed
        op = _FLIPPED[e.op] if period_left else e.op
        t = self.temp(f"compare_elapsed({literal(op)}, {start.text}, {end.text}, {literal(period.months)}, "
                      f"{literal(period.days)})", line)
        return [t], t

    def compare_core(self, e: model.Compare, kind: str, a: str, b: str) -> str:
        """The comparison of a and b, compared as `kind` (lowering.compare_kind)."""
        op = _PY_OP[e.op]
        if kind == rt.CODE:
            return f"compare_code({literal(e.op)}, {a}, {b})"
        if kind == rt.TEXT:
            return f"({self.normalised(e.left, a)} {op} {self.normalised(e.right, b)})"
        return f"({a} {op} {b})"

    def normalised(self, e, text: str) -> str:
        if isinstance(e, model.Const):
            return literal(rt.norm_text(e.value))
        return f"norm_text({text})"

    def member_core(self, e: model.Member, a: str, b: str) -> str:
        kind = member_kind(e)
        if kind == rt.CODE:
            return f"member_code({literal(e.op)}, {a}, {b})"
        if kind == rt.EXACT and e.op in ("in", "not in"):
            return f"({a} {e.op} {b})"
        if kind == rt.EXACT and e.op == "contains":
            return f"({b} in {a})"
        if kind == rt.TEXT and e.op == "contains" and isinstance(e.right, model.Const):
            return f"contains_text({a}, {literal(rt.norm_text(e.right.value))})"
        if kind == rt.TEXT and e.op in ("in", "not in") and isinstance(e.right, model.Const):
            normed = self.gen.constant(frozenset(rt.norm_text(x) for x in e.right.value), e.right)
            return f"(norm_text({a}) {e.op} {normed})"
        return f"member({literal(e.op)}, {a}, {b}, {kind.upper()}, request_date)"

    # ----------------------------------------------- fast-path values
    def val(self, e: model.Expr) -> _V:
        """The plain (three-valued) value of e, without the missing facts: the fast path.

        A switch rather than a visitor: constructs that compile alike share a branch
        (the comparisons and set tests their strict-operand code, `and`/`or` and
        `at least` theirs). A construct with no branch here is computed as its pair
        (the evaluate path), which is always right, only slower; a `where` field is.
        """
        t = type(e)  # the commonest first, by exact class (the model's classes have no subclasses)
        if t is model.FactRef:
            return self.gen.fact_values[e.name]
        if t is model.Const:
            return _V(self.gen.constant(const_value(e), e), False)
        line = e.span.line
        if isinstance(e, model.ValueRef):  # a named value is its definition; temporaries share repeated parts
            return self.val(e.expr)
        if isinstance(e, model.RequestDate):
            return _V("request_date", False)
        if isinstance(e, model.Documented):
            return _V(self.documented(e.target), False)
        if isinstance(e, model.Not):
            x = self.atom(self.val(e.operand), line)
            return _V(f"(None if {x.text} is None else not {x.text})", True) if x.nullable else _V(f"(not {x.text})", False)
        if isinstance(e, (model.Logic, model.AtLeast)):
            xs = [self.val(x) for x in self.gen.children(e)]
            nullable = any(x.nullable for x in xs)
            args = ", ".join([x.text for x in xs])
            if isinstance(e, model.AtLeast):
                return _V(f"k_at_least({e.count}, {args})", nullable)
            if not nullable:
                return _V(_paren([x.text for x in xs], f" {e.op} "), False)
            return _V(f"k_{e.op}({args})", True)
        if isinstance(e, (model.Compare, model.Between, model.Member)):
            operands = [self.atom(self.val(x), line) for x in self.strict_children(e)]
            checks, core = self.strict(e, operands, line)
            if not checks:
                return _V(core, False)
            if checks == [core]:
                return _V(core, True)
            unknown = " or ".join([c + " is None" for c in checks])
            return _V(f"(None if {unknown} else {core})", True)
        if isinstance(e, (model.Arith, model.TimeFrom)):
            a, b = (self.val(x) for x in self.gen.children(e))
            fn = ARITH_FUNCTIONS[e.op] if isinstance(e, model.Arith) else "time_from"
            # a quotient by zero has no value, nor has a date off the calendar
            nullable = a.nullable or b.nullable or fn == "div" or e.type.kind == DATE
            return _V(f"{fn}({a.text}, {b.text})", nullable)
        if isinstance(e, model.Lookup):
            default = self.gen.table_default(e)
            if default is not None:
                return _V(f"lookup_or({self.gen.table(e.table, e.low)}, {self.val(e.key).text}, {default})", True)
            return _V(f"lookup({self.gen.table(e.table, e.low)}, {self.val(e.key).text})", True)
        if isinstance(e, model.Query):
            return self.query_val(e)
        if isinstance(e, model.SetCount):
            s = self.val(e.set)
            return _V(f"set_count({s.text}, {literal(distinct_kind(e.set.type))})", s.nullable)
        return self.pair_value(e)  # a FieldRef: only inside `where`, which is compiled as pairs

    def query_val(self, e: model.Query) -> _V:
        rows = self.fact(e.history.name)
        line = e.span.line
        if e.within is None and e.where is None and e.op in ("any", "count", "last", "first"):
            if e.op in ("any", "count"):
                core = f"len({rows.text}) > 0" if e.op == "any" else f"len({rows.text})"
                return _V(f"(None if {rows.text} is None else {core})", True) if rows.nullable else _V(f"({core})", False)
            pick = "last_row" if e.op == "last" else "first_row"
            row = self.temp(f"{pick}({rows.text}, {literal(date_field(e.history.type))})", line, "_r")
            return _V(self.temp(f"None if {row} is None else {row}.get({literal(e.field)})", line), True)
        v, _ = self.query_pair(e)
        return _V(v, True)

    def is_true(self, e: model.Expr) -> str:
        """A Python bool that holds exactly when e is true."""
        return self.truth(e, True)

    def is_false(self, e: model.Expr) -> str:
        return self.truth(e, False)

    def truth(self, e: model.Expr, want: bool) -> str:
        if type(e) is model.FactRef:  # a third of the tests: a finding, as the last case below writes it
            v = self.gen.fact_values[e.name]  # a name (atom() keeps it as it is)
            if not v.nullable:
                return v.text if want else f"(not {v.text})"
            return f"({v.text} is {want})"
        line = e.span.line
        if type(e) in _STRICT:
            operands = [self.atom(self.val(x), line) for x in self.strict_children(e)]
            checks, core = self.strict(e, operands, line)
            if checks == [core]:
                return f"({core} is {want})"
            return _paren([c + " is not None" for c in checks] + [core if want else f"(not {core})"], " and ")
        if isinstance(e, model.ValueRef):
            return self.truth(e.expr, want)
        if isinstance(e, model.Const):
            return repr(e.value is want)
        if isinstance(e, model.Not):
            return self.truth(e.operand, not want)
        if isinstance(e, model.Logic):
            parts = [self.truth(x, want) for x in e.operands]
            # true and: all true; false and: any false (and dually for or)
            return _paren(parts, " and " if (e.op == "and") == want else " or ")
        if isinstance(e, model.AtLeast):
            if want:
                return "(" + " + ".join([self.truth(x, True) for x in e.items]) + f" >= {e.count})"
            return "(" + " + ".join([f"(not {self.truth(x, False)})" for x in e.items]) + f" < {e.count})"
        if isinstance(e, model.Documented):
            d = self.documented(e.target)
            return d if want else f"(not {d})"
        v = self.val(e)
        if not v.nullable:
            return v.text if want else f"(not {v.text})"
        v = self.atom(v, line)
        return f"({v.text} is {want})"

    # ------------------------------------------------ pairs (evaluate)
    def pair(self, e: model.Expr) -> tuple[str, str]:
        """(value text, missing text) of e, as the interpreter computes them.

        One visit_<class> method per construct (model.Visitor), named as the
        interpreter's (interpret._Case) are, so the two back ends read side by side.
        Looked up by class in _PAIR_METHODS: model.Visitor.visit's general lookup
        was a tenth of the time spent on expressions.
        """
        method = _PAIR_METHODS.get(type(e))
        if method is None:
            method = _PAIR_METHODS[type(e)] = getattr(_Function, "visit_" + type(e).__name__, _Function.generic_visit)
        return method(self, e)

    def generic_visit(self, e, *args):
        raise AssertionError(e)

    def visit_ValueRef(self, e: model.ValueRef) -> tuple[str, str]:
        return self.pair(e.expr)

    def visit_FactRef(self, e: model.FactRef) -> tuple[str, str]:
        f = self.gen.fact_values[e.name]
        if not f.nullable:
            return f.text, "()"
        if self.full:
            return f.text, self.gen.m_name[e.name]
        return f.text, f"(() if {f.text} is not None else {literal((e.name,))})"

    def visit_FieldRef(self, e: model.FieldRef) -> tuple[str, str]:
        row, history = self.rows[-1]
        v = self.temp(f"{row}.get({literal(e.name)})", e.span.line)
        m = self.temp(f"() if {v} is not None else {literal((history + '.' + e.name,))}", e.span.line, "_m")
        return v, m

    def visit_Const(self, e: model.Const | model.RequestDate | model.Documented) -> tuple[str, str]:
        return self.val(e).text, "()"  # always known

    visit_RequestDate = visit_Documented = visit_Const

    def visit_Not(self, e: model.Not) -> tuple[str, str]:
        v, m = self.pair(e.operand)
        if not self.pair_nullable(e.operand):
            return f"(not {v})", "()"
        return self.temp(f"None if {v} is None else not {v}", e.span.line), m

    def visit_Logic(self, e: model.Logic) -> tuple[str, str]:
        return self.temp_pair(f"{e.op}_m({self.pair_args(e)})", e.span.line)

    def visit_AtLeast(self, e: model.AtLeast) -> tuple[str, str]:
        return self.temp_pair(f"at_least_m({e.count}, {self.pair_args(e)})", e.span.line)

    def pair_args(self, e: model.Logic | model.AtLeast) -> str:
        return ", ".join([f"({v}, {m})" for v, m in [self.pair(x) for x in self.gen.children(e)]])

    def visit_Compare(self, e: model.Compare | model.Between | model.Member) -> tuple[str, str]:
        operands, args = self.strict_operands(e)
        checks, core = self.strict(e, operands, e.span.line)
        unknown = " or ".join([c + " is None" for c in checks])
        value = core if not checks or checks == [core] else f"(None if {unknown} else {core})"
        return self.temp_pair(f"strict_m({value}{args})", e.span.line)

    visit_Between = visit_Member = visit_Compare

    def visit_Arith(self, e: model.Arith | model.TimeFrom) -> tuple[str, str]:
        operands, args = self.strict_operands(e)
        fn = ARITH_FUNCTIONS[e.op] if isinstance(e, model.Arith) else "time_from"
        return self.temp_pair(f"strict_m({fn}({operands[0].text}, {operands[1].text}){args})", e.span.line)

    visit_TimeFrom = visit_Arith

    def strict_operands(self, e) -> tuple[list[_V], str]:
        """A strict operation's operands as values, and as strict_m's further arguments.

        Only an operand that can be unknown can be missing something, so only those are passed.
        """
        children = self.strict_children(e)
        kids = [self.pair(x) for x in children]
        nullable = [self.pair_nullable(x) for x in children]
        operands = [_V(v, n) for (v, _), n in zip(kids, nullable)]
        return operands, "".join([f", ({v}, {m})" for (v, m), n in zip(kids, nullable) if n])

    def visit_Lookup(self, e: model.Lookup) -> tuple[str, str]:
        key = "({}, {})".format(*self.pair(e.key))
        default = self.gen.table_default(e)
        if default is not None:
            return self.temp_pair(f"lookup_or_m({self.gen.table(e.table, e.low)}, {key}, {default})", e.span.line)
        return self.temp_pair(f"lookup_m({self.gen.table(e.table, e.low)}, {literal(e.table)}, {key})", e.span.line)

    def visit_Query(self, e: model.Query) -> tuple[str, str]:
        return self.query_pair(e)

    def visit_SetCount(self, e: model.SetCount) -> tuple[str, str]:
        v, m = self.pair(e.set)
        if not self.pair_nullable(e.set):
            return self.val(e).text, "()"
        return self.temp_pair(f"strict_m(set_count({v}, {literal(distinct_kind(e.set.type))}), ({v}, {m}))",
                              e.span.line)

    def pair_nullable(self, e) -> bool:
        t = type(e)  # the commonest first (each case is of its own class)
        if t is model.FactRef:
            return self.gen.fact_values[e.name].nullable
        if t is model.Const:
            return False
        if isinstance(e, model.ValueRef):
            return self.pair_nullable(e.expr)
        if isinstance(e, model.SetCount):
            return self.pair_nullable(e.set)
        return not isinstance(e, (model.RequestDate, model.Documented))

    def pair_value(self, e) -> _V:
        v, _ = self.pair(e)
        return _V(v, True)

    def query_pair(self, e: model.Query) -> tuple[str, str]:
        """A query's pair, computed once per block outside rows (a criterion and its computed values share it)."""
        if self.rows:  # inside a row function the query may read the row: not shared
            return self._query_pair(e)
        key = self.gen.query_key(e)
        found = self.visible.get(key)
        if found is None:
            found = self._query_pair(e)
            self.remember(key, found)
        return found

    def _query_pair(self, e: model.Query) -> tuple[str, str]:
        line = e.span.line
        name = e.history.name
        rows = self.fact(name).text
        window = "None"
        if e.within is not None:
            window = self.temp(f"window(request_date, {literal(e.within.months)}, {literal(e.within.days)})", line, "_w")
        where = self.row_function(e, e.where, "_where") if e.where is not None else "None"
        args = f"{rows}, {literal(name)}, {window}, {where}"
        if e.op in ("any", "all", "count"):
            return self.temp_pair(f"{e.op}_m({args})", line)
        if e.op == "count distinct":
            kind = distinct_kind(e.history.type.field(e.field).type)
            return self.temp_pair(f"count_distinct_m({args}, {literal(e.field)}, {literal(kind)})", line)
        if e.op == "sum":
            zero = self.gen.constant(sum_zero(sum_type(e)), e)
            if e.value is not None:
                value = self.row_function(e, e.value, "_value")
                return self.temp_pair(f"sum_of_m({args}, {value}, {zero})", line)
            return self.temp_pair(f"sum_m({args}, {literal(e.field)}, {zero})", line)
        picked = self.temp(f"pick_m({literal(e.op)}, {args}, {literal(date_field(e.history.type))})", line, "_p")
        return self.temp_pair(f"field_m({picked}, {literal(name)}, {literal(e.field)})", line)

    def row_function(self, e: model.Query, body: model.Expr, prefix: str) -> str:
        """A local function row -> (value, missing) for a `where` or a `sum ... of`; it may read facts and outer rows."""
        fname = self.fresh(prefix)
        row = self.fresh("_row")
        saved = self.visible, self.added
        with self.w.origin(body.span.line):
            self.w.line(f"def {fname}({row}):")
            self.rows.append((row, e.history.name))
            self.visible, self.added = {}, [[]]  # the body is self-contained: it reuses nothing computed outside
            try:
                with self.w.indent():
                    v, m = self.pair(body)
                    self.w.line(f"return {v}, {m}")
            finally:
                self.visible, self.added = saved
                self.rows.pop()
        return fname


class _Block:
    """_Function.block(): a scope of temporaries and one level of indentation while inside (a small class, as
    CodeWriter.indent() is: a generator context manager cost several times as much, once per criterion)."""

    __slots__ = ("fn", "indent")

    def __init__(self, fn: _Function) -> None:
        self.fn = fn
        self.indent = fn.w.indent()

    def __enter__(self) -> None:
        self.fn.added.append([])
        self.indent.__enter__()

    def __exit__(self, *exc: object) -> None:
        try:
            self.indent.__exit__(*exc)
        finally:
            fn = self.fn
            visible = fn.visible
            for key in fn.added.pop():
                del visible[key]


#: expression class -> the _Function method computing its pair (_Function.pair)
_PAIR_METHODS: dict[type, Callable[[_Function, model.Expr], tuple[str, str]]] = {}

#: The first two lines of every generated checker: constant, so no `coding:` declaration can be smuggled in.
FIRST_LINES = ("# -*- coding: utf-8 -*-", "# Generated by mtus; do not edit, recompile the guideline.")


class _Generator:
    """Writes the module for one guideline."""

    def __init__(self, guideline: model.Guideline, layout: Optional[Mapping[str, tuple[str, ...]]] = None):
        self.guideline = guideline
        self.layout = layout  # fact -> its key path in a record (checked by generate_module); None: no record reader
        self.w = CodeWriter()
        self.constants: dict[str, str] = {}  # literal text -> module constant name
        self.constant_notes: dict[str, tuple[str, int]] = {}
        # (table name, lower ends?) -> module constant name, for the tables looked up
        self.tables: dict[tuple[str, bool], str] = {}
        self.source_file = os.path.basename(guideline.path or "") or "<text>"
        # Caches by id(): an expression is hashed by its value, all of it. Every node looked up is kept
        # alive (_keep), so that no id is reused while the generator runs (the guideline holds them anyway).
        self._keep: list = []
        self._facts_read: dict[int, tuple[str, ...]] = {}  # id(expression) -> model.facts_read(expression)
        self.reading_domains = silence.reading_domains(guideline)
        # criterion id -> where trying every reading may change what `unmet` names (silence.reading_risks);
        # empty: `unmet` never tries them, nor notes a criterion failing outright
        self.risks = silence.reading_risks(guideline, self.facts_read, self.reading_domains)
        # Asked per fact reference and per criterion, so computed once per guideline
        # (guideline.fact() is a scan of the facts, facts_read a walk of the expression).
        self.presumed = {f.name: silence.presumed_const(f) for f in guideline.facts}
        # each fact's locals: its value, whether documented, what it misses, its FactValue
        # (mangle()'s name for a one-letter prefix is that letter and a part the prefix does not change)
        self.f_name = {f.name: mangle("f", f.name) for f in guideline.facts}
        self.d_name, self.m_name, self.r_name = (
            {name: prefix + local[1:] for name, local in self.f_name.items()} for prefix in "dmr")
        # the fast path's value of each fact: f_<name>, unknown unless silence presumes a value
        self.fact_values = {n: _V(self.f_name[n], c is None) for n, c in self.presumed.items()}
        self.rules = silence.rules(guideline)
        self.labels = silence.labels(guideline, self.facts_read)
        self.reading_reads = (silence.reading_reads(guideline, self.facts_read, self.reading_domains)
                              if self.risks else {})
        self.checked = {n for n, r in self.rules.items() if r == rt.CHECKED_WHEN_STATED}
        # the facts the criteria and their `when`s read (unmet and evaluate read each of them once)
        self.used_facts = set(self.reads([c.expr for c in guideline.criteria] + [c.expr for c in guideline.conditions]))
        self._criterion_reads: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {}  # id(criterion) -> reads
        self._children: dict[int, tuple] = {}  # id(expression) -> model.children(expression)
        self._outlines: dict[int, str] = {}  # id(`when` expression) -> its outline (comments of unmet and evaluate)
        self._comments: dict[int, str] = {}  # id(criterion) -> its comment line
        self._query_keys: dict[int, str] = {}  # id(query) -> its key among the temporaries

    def facts_read(self, e) -> tuple[str, ...]:
        """model.facts_read(e), each expression walked once (the silence rules ask too: build/silence.py)."""
        names = self._facts_read.get(id(e))
        if names is None:
            names = self._facts_read[id(e)] = model.facts_read(e)
            self._keep.append(e)
        return names

    def reads(self, exprs) -> tuple[str, ...]:
        """lowering.reads(exprs), from each expression's facts read once."""
        cache = self._facts_read
        out: dict[str, None] = {}
        for e in exprs:
            names = cache.get(id(e))
            if names is None:
                names = self.facts_read(e)
            out.update(dict.fromkeys(names))
        return tuple(out)

    def children(self, e) -> tuple:
        """model.children(e), found once per node: unmet and evaluate compile each expression two to four times."""
        found = self._children.get(id(e))
        if found is None:
            found = self._children[id(e)] = model.children(e)
            self._keep.append(e)
        return found

    def criterion_reads(self, c: model.Criterion) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(the facts c's `when`s read, the facts c reads in all), asked by unmet and again by evaluate."""
        found = self._criterion_reads.get(id(c))
        if found is None:
            gate = self.reads([x.expr for x in c.conditions]) if c.conditions else ()
            own = self.facts_read(c.expr)  # no name twice
            found = self._criterion_reads[id(c)] = (gate, tuple(dict.fromkeys(gate + own)) if gate else own)
        return found

    def query_key(self, e: model.Query) -> str:
        """"query <written form>": a query's key among the temporaries (_Function.query_pair), written once."""
        key = self._query_keys.get(id(e))
        if key is None:
            key = self._query_keys[id(e)] = "query " + written(e)
            self._keep.append(e)
        return key

    def outline(self, e) -> str:
        """dump.expr(e), written once for the comment above it in unmet and again in evaluate."""
        text = self._outlines.get(id(e))
        if text is None:
            text = self._outlines[id(e)] = outline(e)
        return text

    def table(self, name: str, low: bool = False) -> str:
        """The module constant holding a table (written in the header once something looks it up).

        A table whose ranges are also read by their lower ends has a second constant for them.
        """
        constant = self.tables.get((name, low))
        if constant is None:
            constant = self.tables[(name, low)] = "_" + mangle("tablelow" if low else "table", name)
        return constant

    def table_default(self, e: model.Lookup) -> Optional[str]:
        """The value of the `otherwise` row of the table e looks up (the end it reads), or None if it has none."""
        t = next(t for t in self.guideline.tables if t.name == e.table)
        value = table_default(t, e.low)
        if value is None:
            return None
        row = t.otherwise
        return self.constant(value, row.low if e.low and row.low is not None else row.value)

    def constant(self, value, const_node) -> str:
        """Plain small values inline; Decimals, dates, durations and sets as module constants built once."""
        text = literal(value)
        if type(value) in (bool, int) or value is None or value == () or (type(value) is str and len(text) <= 40):
            return text
        name = self.constants.get(text)
        if name is None:
            name = f"_K{len(self.constants) + 1}"
            self.constants[text] = name
            note = const_node.text if isinstance(const_node, model.Const) else "the sum of no rows"
            self.constant_notes[name] = (note, const_node.span.line)
        return name

    # ------------------------------------------------------------ module
    def module(self) -> str:
        body = CodeWriter()
        self.w = body
        self.unmet_function()
        body.line()
        body.line()
        if self.layout is not None:
            self.record_functions()
            body.line()
            body.line()
        self.evaluate_function()
        text = body.getvalue()
        head = self.header(text)
        # The body was written before the header (constants are discovered while writing it),
        # so its line table is shifted by the header's length when joined.
        table = body.source_lines(first=head.count("\n") + 1)  # its lines (each is checked to be one line)
        tail = CodeWriter()
        tail.line()
        tail.line()
        tail.comment("Generated line ranges -> the .mtus line they implement (runtime.mtus_line reads it).")
        tail.line("SOURCE_LINES = (")
        with tail.indent():
            ranges = ["(%d, %d, %d)," % r for r in table]  # each (int, int, int) as literal() writes it, faster
            for i in range(0, len(ranges), 6):
                tail.line(" ".join(ranges[i:i + 6]))
        tail.line(")")
        return head + text + tail.getvalue()

    def header(self, body: str) -> str:
        g = self.guideline
        h = CodeWriter()
        # Python reads a `coding:` declaration in the first two lines, so they are fixed
        # text: no guideline text (title, id, file name) may appear before line 3.
        h.line(FIRST_LINES[0])
        h.line(FIRST_LINES[1])
        h.comment(f"Checker for guideline {g.id}: {g.title}")
        h.comment(f"Compiled from {self.source_file}.")
        h.line('"""A compiled mtus checker: evaluate(facts, request_date) and the fast path unmet(facts, request_date)."""')
        h.line()
        h.line("from datetime import date")
        h.line("from decimal import Decimal")
        h.line()
        tables = self.table_lines()
        words = _words(body + " ".join(self.constants) + "\n".join(tables))
        used = sorted([_RUNTIME_NAMES[word] for word in words.intersection(_RUNTIME_NAMES)])
        h.line("from mtus.compiler.check.runtime import RUNTIME_VERSION as _RUNTIME_VERSION")
        h.line("from mtus.compiler.check.runtime import (")
        with h.indent():
            for i in range(0, len(used), 6):
                h.line(", ".join(used[i:i + 6]) + ",")
        h.line(")")
        h.line()
        h.line(f"GUIDELINE_ID = {literal(g.id)}")
        h.line(f"RUNTIME_VERSION = {literal(rt.RUNTIME_VERSION)}")
        h.line(f"SOURCE_FILE = {literal(self.source_file)}")
        h.line(f"CRITERIA = {literal(tuple(c.id for c in g.criteria))}")
        h.line()
        h.line("if _RUNTIME_VERSION != RUNTIME_VERSION:")
        with h.indent():
            h.line(f"raise ImportError({literal(f'this checker needs mtus runtime version {rt.RUNTIME_VERSION}')})")
        if self.constants:
            h.line()
            h.comment("The guideline's values, built once.")
            for text, name in self.constants.items():
                note, line = self.constant_notes[name]
                h.line(f"{name} = {text}  # {comment_text(f'{note} ({self.source_file}:{line})')}")
        for text in tables:
            h.line(text)
        if self.layout is not None:
            h.line()
            h.comment("What a record's missing or null nested object reads as (never written to).")
            h.line("_NO_OBJECT = {}")
        fewer = allows_fewer(g)
        if fewer:
            h.line()
            h.comment("Criterion -> the count fact it allows fewer of, for partial certification (runtime.modify).")
            h.line(f"_ALLOWS_FEWER = {_dict_text(fewer)}")
        self.silence_lines(h)
        h.line()
        h.line()
        return h.getvalue()

    def silence_lines(self, h: CodeWriter) -> None:
        """The silence rules, the labels presumptions name, and the facts to read every way (build/silence.py)."""
        for name, note, items in (
                ("_RULES", "Fact -> its silence rule (runtime.decide).", self.rules),
                ("_LABELS", "What a presumption can name -> its label (runtime.conclude).", self.labels),
                ("_READINGS", "Findings and `one of` facts -> their readings, in declaration order "
                              "(runtime.every_reading).", self.reading_domains),
                ("_READS", "Criterion -> the facts of _READINGS it reads (runtime.unmet_in_every_reading).",
                 self.reading_reads)):
            if not items:
                continue
            h.line()
            h.comment(note)
            h.line(f"{name} = {{")
            with h.indent():
                for k, v in items.items():
                    h.line(f"{literal(k)}: {literal(v)},")
            h.line("}")

    def table_lines(self) -> list[str]:
        """The tables looked up, as dict constants: keys normalised as they are compared, one entry a line."""
        out = []
        for t, low in ((t, low) for t in self.guideline.tables for low in (False, True)):  # declaration order
            constant = self.tables.get((t.name, low))
            if constant is None:
                continue
            out.append("")
            which = ", the lower ends of its ranges" if low else ""
            out.append("# " + comment_text(f"Table {t.name}: {t.label}{which} ({self.source_file}:{t.span.line})"))
            entries = table_entries(t, low)
            if not entries:
                out.append(f"{constant} = {{}}")
                continue
            out.append(f"{constant} = {{")
            out.extend(f"{INDENT}{literal(k)}: {literal(v)}," for k, v in entries.items())
            out.append("}")
        return out

    def read_facts(self, full: bool, record: bool = False) -> None:
        """Read each fact the criteria use once, into f_<name> (with its default applied).

        d_<name> says whether the case itself documented a fact that has a
        default; with `full` (evaluate), m_<name> is what the fact misses and
        r_<name> its FactValue for `read`. With `record`, each fact is read
        where the layout puts it in `record` instead of by name from `facts`.
        """
        g = self.guideline
        used = self.used_facts
        w = self.w
        reads = self.record_reads([f.name for f in g.facts if f.name in used]) if record else {}
        if not record:
            w.line("_get = facts.get")
        for fact in g.facts:
            name = fact.name
            if name not in used:
                continue
            f, key, at = self.f_name[name], literal(name), fact.span.line  # each line's origin: the declaration
            w.line(f"{f} = {reads[name]}" if record else f"{f} = _get({key})", at)
            documented = f"{f} is not None"
            presumed = self.presumed[name]
            if presumed is not None:
                documented = self.d_name[name]
                w.line(f"{documented} = {f} is not None", at)
                w.line(f"if {f} is None:", at)
                with w.indent():
                    w.line(f"{f} = {self.constant(const_value(presumed), presumed)}", at)
            elif full and fact.type.kind != HISTORY:  # a history's queries name it themselves
                w.line(f"{self.m_name[name]} = () if {f} is not None else {literal((name,))}", at)
            if full:
                w.line(f"{self.r_name[name]} = FactValue({key}, {f}, {documented})", at)

    # ------------------------------------------------------- fast path
    def unmet_function(self, record: bool = False) -> None:
        w = self.w
        w.line("def unmet_record(record, request_date):" if record else "def unmet(facts, request_date):")
        with w.indent():
            if record:
                w.line('"""unmet(facts_of_record(record), request_date), reading each fact where the layout puts it."""')
            else:
                w.line('"""The ids of the criteria not met or not documented, in source order."""')
            fn = _Function(self, w, full=False)
            self.read_facts(full=False, record=record)
            # readings can change the answer only where a criterion with a risk (silence.reading_risks)
            # has one, and only when nothing fails outright (runtime.reading_facts)
            w.line("_out = []")
            if self.risks:
                w.line("_failed = False  # a criterion not met or an exclusion that applies")
                w.line("_may_change = False  # every reading may change what this answer names")
            self.unmet_items(fn, list(self.guideline.criteria), 0, None)
            w.line()
            if self.risks:
                w.comment("Open where a reading may change it: decide it in every reading.")
                w.line("if _failed or not _may_change:")
                with w.indent():
                    w.line("return _out")
                if record:  # rare: the flat facts, once, for the general path
                    w.line("return unmet(facts_of_record(record), request_date)")
                else:
                    reads = "_READS" if self.reading_reads else "{}"
                    w.line(f"return unmet_in_every_reading(_out, facts, request_date, _decide, _READINGS, {reads})")
            else:
                w.line("return _out")

    # ------------------------------------------------------- records laid out by an integrator
    def record_functions(self) -> None:
        """facts_of_record and unmet_record, for a guideline compiled with a layout."""
        w = self.w
        w.line("def facts_of_record(record):")
        with w.indent():
            w.line('"""The facts, by name, of a record laid out as this module was compiled for (a silent fact: None)."""')
            reads = self.record_reads([f.name for f in self.guideline.facts])
            w.line("return {")
            with w.indent():
                for name, expr in reads.items():
                    w.line(f"{literal(name)}: {expr},")
            w.line("}")
        w.line()
        w.line()
        self.unmet_function(record=True)

    def record_reads(self, names: list[str]) -> dict[str, str]:
        """fact -> the expression reading it from `record`; writes the lines that reach its nested objects.

        A nested object that is missing or null leaves its facts silent (read from an empty dict).
        """
        assert self.layout is not None
        objects: dict[tuple[str, ...], str] = {(): "record"}
        out = {}
        for name in names:
            path = self.layout.get(name, (name,))
            for i in range(1, len(path)):
                if path[:i] not in objects:
                    local = objects[path[:i]] = f"_o{len(objects)}"
                    self.w.line(f"{local} = {objects[path[:i - 1]]}.get({literal(path[i - 1])}) or _NO_OBJECT"
                                f"  # {comment_text('.'.join(path[:i]))}")
            out[name] = f"{objects[path[:-1]]}.get({literal(path[-1])})"
        return out

    def unmet_items(self, fn: _Function, criteria: list, depth: int, unknown: Optional[str]) -> None:
        """Criteria in source order; a run sharing the next `when` becomes one nested block."""
        i = 0
        while i < len(criteria):
            c = criteria[i]
            if len(c.conditions) == depth:
                self.unmet_criterion(fn, c, unknown)
                i += 1
                continue
            cond = c.conditions[depth]
            j = i
            while j < len(criteria) and len(criteria[j].conditions) > depth and criteria[j].conditions[depth].index == cond.index:
                j += 1
            self.unmet_when(fn, cond, criteria[i:j], depth, unknown)
            i = j

    def unmet_when(self, fn: _Function, cond: model.Condition, criteria: list, depth: int, unknown: Optional[str]):
        w = self.w
        w.line()
        with w.origin(cond.span.line):
            w.comment(f"when#{cond.index} ({self.source_file}:{cond.span.line}): {self.outline(cond.expr)}")
            flag = fn.temp(fn.val(cond.expr).text, cond.span.line, "_when")
            # false: none of these criteria applies; unknown: each is not documented
            w.line(f"if {flag} is not False:")
        with fn.block():
            inner = f"{flag} is None" if unknown is None else f"{unknown} or {flag} is None"
            if len(criteria) > 1 or unknown is not None:
                inner = fn.temp(inner, cond.span.line, "_unknown")
            self.unmet_items(fn, criteria, depth + 1, inner)

    def unmet_criterion(self, fn: _Function, c: model.Criterion, unknown: Optional[str]) -> None:
        """Append c's id when it stops certification, as runtime.decide rules (silence included);
        note where trying every reading may change that (silence.reading_risks)."""
        self.unmet_decision(fn, c, unknown)
        risk = self.risks.get(c.id)
        if risk is None:
            return
        risky, details, reads_ = risk
        parts = []
        if risky:
            parts.append(self.unstated(list(risky)))
        if details:
            parts.append(f"({self.unstated(list(details))}) and ({self.unstated(list(reads_))})")
        with self.w.origin(c.span.line):
            self.w.line(f"if {' or '.join(f'({p})' for p in parts) if len(parts) > 1 else parts[0]}:")
            with self.w.indent():
                self.w.line("_may_change = True")

    def unmet_decision(self, fn: _Function, c: model.Criterion, unknown: Optional[str]) -> None:
        w = self.w
        w.line()
        append = f"_out.append({literal(c.id)})"
        with w.origin(c.span.line):
            self.criterion_comment(c)
            if c.exclude:  # applies only when its `when` holds and its condition is true; silence does not apply
                applies = fn.is_true(c.expr)
                w.line(f"if not ({unknown}) and {applies}:" if unknown else f"if {applies}:")
                with w.indent():
                    w.line(append)
                    if self.risks:
                        w.line("_failed = True")
                return
            gate_details, details = self.details_read(c)
            ok = fn.is_true(c.expr)
            if not details:
                w.line(f"if {unknown} or not {ok}:" if unknown else f"if not {ok}:")
                with fn.block():  # temporaries the test below computes stay in this block
                    w.line(append)
                    if self.risks:
                        fails = fn.is_false(c.expr)
                        w.line(f"if not ({unknown}) and {fails}:" if unknown else f"if {fails}:")
                        with w.indent():
                            w.line("_failed = True")
                return
            # it does not apply where a request detail checked only when stated is unstated and left it open
            fails = fn.is_false(c.expr)
            if unknown:
                w.line(f"if {unknown}:")
                with w.indent():
                    w.line(f"if not ({self.unstated(gate_details)}):" if gate_details else "if True:")
                    with w.indent():
                        w.line(append)
                w.line(f"elif not {ok} and ({fails} or not ({self.unstated(details)})):")
            else:
                w.line(f"if not {ok} and ({fails} or not ({self.unstated(details)})):")
            with w.indent():
                w.line(append)
                if self.risks:
                    w.line(f"if {fails}:")
                    with w.indent():
                        w.line("_failed = True")

    def details_read(self, c: model.Criterion) -> tuple[list[str], list[str]]:
        """The request details checked only when stated that c's `when`s read, and that c reads in all."""
        checked = self.checked
        if not checked:  # a guideline that checks no request detail only when stated
            return [], []
        gate, both = self.criterion_reads(c)
        return [n for n in gate if n in checked], [n for n in both if n in checked]

    def unstated(self, names: list[str]) -> str:
        return " or ".join([f"{self.f_name[n]} is None" for n in names])

    def criterion_comment(self, c: model.Criterion) -> None:
        """`# <id> when#<n> (<file>:<line>): <outline>` above the criterion (in unmet, and again in evaluate)."""
        line = self._comments.get(id(c))
        if line is None:
            kind = "exclude " if c.exclude else ""
            guard = "".join([f" when#{x.index}" for x in c.conditions])
            text = f"{kind}{c.id}{guard} ({self.source_file}:{c.span.line}): {outline(c.expr)}"
            line = self._comments[id(c)] = "# " + comment_text(text)  # as w.comment(text) writes it
        self.w.line(line)

    # ------------------------------------------------------- full results
    def evaluate_function(self) -> None:
        g = self.guideline
        w = self.w
        w.line("def evaluate(facts, request_date):")
        with w.indent():
            w.line('"""Every criterion\'s outcome, decided in every reading, with the partial certification and presumptions."""')
            args = ", ".join("_" + n if present else "{}" for n, present in (
                ("READINGS", bool(self.reading_domains)), ("ALLOWS_FEWER", bool(allows_fewer(g))),
                ("RULES", bool(self.rules)), ("LABELS", bool(self.labels))))
            a = args.split(", ")
            w.line(f"return finish(_decide(facts, request_date), facts, _decide, {a[0]}, {a[1]}, unmet, {a[2]}, {a[3]})")
        w.line()
        w.line()
        w.line("def _decide(facts, request_date):")
        with w.indent():
            w.line('"""Every criterion\'s outcome in three-valued logic, with the facts it read and what was missing."""')
            fn = _Function(self, w, full=True)
            self.read_facts(full=True)
            gates = {}
            if g.conditions:
                w.line()
            for cond in g.conditions:
                with w.origin(cond.span.line):
                    w.comment(f"when#{cond.index} ({self.source_file}:{cond.span.line}): {self.outline(cond.expr)}")
                    v, m = fn.pair(cond.expr)
                    gates[cond.index] = fn.temp(f"({v}, {m})", cond.span.line, "_gate")
            results: list[str] = []
            criteria = list(g.criteria)
            i = 0
            while i < len(criteria):
                # a run of criteria under the same `when`s shares one gate test
                j = i + 1
                key = [x.index for x in criteria[i].conditions]
                while j < len(criteria) and key and [x.index for x in criteria[j].conditions] == key:
                    j += 1
                self.evaluate_run(fn, criteria[i:j], gates, results)
                i = j
            w.line()
            w.line(f"return GuidelineResult(GUIDELINE_ID, request_date, {_tuple_text(results)})")

    def evaluate_run(self, fn: _Function, run: list, gates: dict, results: list) -> None:
        w = self.w
        names = [fn.fresh("_c") for _ in run]
        results.extend(names)
        conditions = run[0].conditions
        if not conditions:
            (c,) = run
            w.line()
            with w.origin(c.span.line):
                self.criterion_comment(c)
                v, m = fn.pair(c.expr)
                w.line(f"{names[0]} = decide({literal(c.id)}, {literal(c.exclude)}, ALWAYS, ({v}, {m}), "
                       f"{self.read_tuple(self.criterion_reads(c)[1])}{self.computed_arg(fn, c)}{self.rules_arg()})")
            return
        line = run[0].span.line
        if len(conditions) == 1:
            gate = gates[conditions[0].index]
        else:
            gate = fn.temp("and_m(" + ", ".join([gates[x.index] for x in conditions]) + ")", line, "_gate")
        cond_read = self.read_tuple(self.criterion_reads(run[0])[0])
        w.line()
        with w.origin(line):
            w.line(f"if {gate}[0] is True:")
        with fn.block():
            for c, name in zip(run, names):
                with w.origin(c.span.line):
                    self.criterion_comment(c)
                    v, m = fn.pair(c.expr)
                    all_read = self.read_tuple(self.criterion_reads(c)[1])
                    w.line(f"{name} = decide({literal(c.id)}, {literal(c.exclude)}, {gate}, ({v}, {m}), {all_read}"
                           f"{self.computed_arg(fn, c)}{self.rules_arg()})")
        with w.origin(line):
            w.line("else:  # not applicable, or not documented with what the `when` misses")
            with w.indent():
                for c, name in zip(run, names):
                    w.line(f"{name} = decide({literal(c.id)}, {literal(c.exclude)}, {gate}, None, {cond_read}"
                           f"{self.rules_arg()})")

    def rules_arg(self) -> str:
        """The silence rules argument of decide(), when the guideline declares any."""
        return ", rules=_RULES" if self.rules else ""

    def computed_arg(self, fn: _Function, c: model.Criterion) -> str:
        """`, (Computed(...), ...)`: the computed values the criterion compares, or nothing if it has none."""
        items = [f"Computed({literal(text)}, {fn.pair(x)[0]})" for text, x in computed_written(c.expr)]
        return f", {_tuple_text(items)}" if items else ""

    def read_tuple(self, names) -> str:
        return _tuple_text([self.r_name[n] for n in names])


def _words(text: str) -> set[bytes]:
    """The identifiers in text (its runs of [A-Za-z0-9_] less leading digits), as ASCII bytes: the header
    imports the runtime's names among them.

    Bytes translated and split: half the time of a regular expression's findall over a large pack's modules.
    """
    words = set(text.encode("utf-8").translate(_NOT_WORD).split())
    words.update([w.lstrip(b"0123456789") for w in words if w < b"A"])  # the runs that start with a digit
    return words


def _dict_text(items: dict) -> str:
    """A dict display of plain values (each through literal())."""
    return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in items.items()) + "}"


def _tuple_text(items: list[str]) -> str:
    """A tuple display of already-safe Python expressions."""
    if not items:
        return "()"
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def generate_module(guideline: model.Guideline, layout: Optional[Mapping[str, Sequence[str]]] = None) -> str:
    """The checker module's source for a checked guideline.

    layout: fact name -> the keys leading to it in an integrator's nested records
    (a fact not named is read by its name at the top level); with one, the module
    also has `unmet_record` and `facts_of_record`. Raises ValueError for a layout
    naming a fact the guideline does not declare, or an empty or non-text path.

    Not compiled here: compiling every module only to check it was a quarter of
    a large pack's compile time. The code writer builds every expression from
    escaped literals and mangled names (test_injection.py), the tests compile
    and run every bundled guideline's module, and check time compiles a module
    before its first use, refusing one that is not valid Python (check/pack.py).
    """
    checked = None if layout is None else _checked_layout(guideline, layout)
    return _Generator(guideline, checked).module()


def _checked_layout(guideline: model.Guideline, layout: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """The layout as tuples, or ValueError naming what is wrong with it."""
    declared = {f.name for f in guideline.facts}
    out = {}
    for name, path in layout.items():
        if name not in declared:
            raise ValueError(f"the layout names {name!r}, which guideline {guideline.id} does not declare "
                             f"(its facts: {', '.join(sorted(declared))})")
        keys = (path,) if isinstance(path, str) else tuple(path)
        if not keys or not all(isinstance(k, str) for k in keys):
            raise ValueError(f"the layout's path for {name!r} must be one or more keys (texts), not {path!r}")
        out[name] = keys
    return out


def load_module(source: str, name: str) -> types.ModuleType:
    """Execute generated source as a fresh module object (no files, no sys.path or sys.modules changes).

    The source is registered with linecache under a pseudo file name so that
    tracebacks show the generated lines; `mtus_frames` maps them to `.mtus` lines.
    """
    # the source's digest keeps two versions of one checker apart in linecache
    filename = f"<mtus checker {name} {hashlib.sha256(source.encode('utf-8')).hexdigest()[:12]}>"
    module = types.ModuleType(name)
    code = compile(source, filename, "exec", dont_inherit=True)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(code, module.__dict__)  # noqa: S102 - our own generated source, built by the safe code writer
    return module


def mtus_frames(exc: BaseException, module: types.ModuleType) -> list[tuple[str, int]]:
    """(.mtus file, line) for each traceback frame inside the generated module, outermost first."""
    filename = module.evaluate.__code__.co_filename
    out = []
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == filename and frame.lineno is not None:
            line = rt.mtus_line(module.SOURCE_LINES, frame.lineno)
            if line is not None:
                out.append((module.SOURCE_FILE, line))
    return out
