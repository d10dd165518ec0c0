"""Hypothesis strategies: random well-typed guidelines (dsl.model values) and random cases for them.

`guidelines()` builds checked models directly, following the typing rules of
dsl/passes/typecheck.py (tests/test_differential.py renders a sample back to
`.mtus` text and checks it with the real front end). Guidelines may have
tables looked up by text keys, `sum(h of <expr>)` and criteria that allow
fewer of a count (partial certification). `cases(guideline)` draws
(facts, request_date) pairs aimed at the edges: facts absent, documented
false, values exactly at the guideline's thresholds and one step either side,
requested counts above the limits, dates at month ends, leap days and the
ends of the calendar (year 1 and 9999), keys in and out of the tables in
other spellings, histories empty or with missing fields.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Optional

from hypothesis import strategies as st

from mtus.compiler.check.runtime import Duration, add_days, add_months, norm_text, shift
from mtus.dsl import model
from mtus.dsl.model import (BOOL, COUNT, DATE, DURATION, ENUM, HISTORY, NUMBER, PERCENT, QUANTITY, SET, TEXT,
                       Type)
from mtus.dsl.source import Span

UNIT = "mg"
T_QUANTITY = Type(QUANTITY, unit=UNIT)
T_SET_TEXT = Type(SET, element=model.T_TEXT)
CITATION = model.Citation("MTUS Chronic Pain Medical Treatment Guidelines", None, "1")

# A few fixed vocabularies keep shrunk examples readable.
MEMBER_POOL = ("local anesthetic", "saline", "botulinum toxin", "glucose", "Saline", "steroid")
TEXT_POOL = ("fibromyalgia", "low back pain", "myofascial pain syndrome", "Fibromyalgia")
PERIODS = (model.Period(0, 1), model.Period(0, 14), model.Period(0, 42), model.Period(0, 56), model.Period(0, 30),
           model.Period(1, 0), model.Period(2, 0), model.Period(3, 0), model.Period(12, 0), model.Period(1, 3))
SPECIAL_DATES = (datetime.date(2014, 12, 18), datetime.date(2016, 2, 29), datetime.date(2016, 3, 31),
                 datetime.date(2015, 1, 31), datetime.date(2015, 2, 28), datetime.date(2020, 2, 29),
                 datetime.date(2019, 12, 31), datetime.date(2021, 1, 1), datetime.date(2014, 5, 31))
#: Near the ends of the calendar, where date arithmetic runs off it (and must be unknown, not an error).
EDGE_DATES = (datetime.date(9999, 12, 31), datetime.date(9999, 12, 18), datetime.date(9999, 11, 30),
              datetime.date(1, 1, 1), datetime.date(1, 1, 31), datetime.date(1, 3, 1))
#: Table keys: drugs, and the `one of` members and texts the other pools use, so lookups by them can hit.
KEY_POOL = ("codeine", "Hydrocodone", "oxycodone  ER", "local anesthetic", "saline", "botulinum toxin",
            "steroid", "fibromyalgia", "low back pain")


def pick(draw, options):
    """One of options; drawn as an index, which is much cheaper than a fresh sampled_from and shrinks to the first."""
    options = tuple(options)
    return options[draw(st.integers(0, len(options) - 1))] if len(options) > 1 else options[0]


def some(draw, options, min_size: int = 0, max_size: int = 3) -> list:
    """A few of options (repeats allowed), drawn as indexes."""
    return [pick(draw, options) for _ in range(draw(st.integers(min_size, max_size)))]


def span(line: int = 1) -> Span:
    return Span("random.mtus", 0, 0, line, 1, line, 1)


def period_text(p: model.Period) -> str:
    if p.months and p.days:
        return f"{p.months} months {p.days} days"  # not writable in .mtus; only used by hand-made models
    if p.months:
        return f"{p.months} month{'s' if p.months != 1 else ''}"
    if p.days % 7 == 0:
        w = p.days // 7
        return f"{w} week{'s' if w != 1 else ''}"
    return f"{p.days} day{'s' if p.days != 1 else ''}"


# ------------------------------------------------------------------ constants
def const(value, t: Type, line: int = 1) -> model.Const:
    """A literal as the front end decodes it, with its text as written."""
    if t.kind == BOOL:
        text = "present" if value else "absent"
    elif t.kind == PERCENT:
        text = f"{value}%"
    elif t.kind == QUANTITY:
        text = f"{value} {t.unit}"
    elif t.kind == DURATION:
        text = period_text(value)
    elif t.kind == SET:
        text = ", ".join(str(x) for x in sorted(value, key=str))
    else:
        text = str(value)
    return model.Const(value, t, text, span(line))


numbers = st.sampled_from([0, 1, 2, 3, 4, 5, 10, Decimal("2.5"), Decimal("0.5")])
percents = st.sampled_from([Decimal("0"), Decimal("50"), Decimal("49.5"), Decimal("100"), Decimal("30")])
quantities = st.sampled_from([Decimal("90"), Decimal("120"), Decimal("0.5")])
dates = st.sampled_from(SPECIAL_DATES[:6] * 2 + (EDGE_DATES[0], EDGE_DATES[3]))


def _num_const(value) -> model.Const:
    return const(value, model.T_COUNT if isinstance(value, int) else model.T_NUMBER)


# -------------------------------------------------------------------- facts
_SCALAR_KINDS = ("finding", "count", "number", "percent", "quantity", "duration", "date", "text", "enum",
                 "set_text", "set_enum", "icd10", "set_icd10", "cpt")
#: Code patterns a guideline writes and codes a record gives, by system: exact, prefix and range, with codes
#: on, below, between and beside them (and spelled without the dot, in lower case).
CODE_PATTERNS = {"icd10": ("M79.1", "M79.1*", "M54.10-M54.18", "M54.5*", "S32.0-S32.29", "G89*"),
                 "cpt": ("20552", "2055*", "97110-97140", "J1030")}
CODE_POOL = {"icd10": ("M79.1", "M79.11", "M79.18", "M54.10", "M54.16", "M54.181", "M54.19", "M54.5", "M54.50",
                       "S32.0", "S32.01", "S32.3", "S32", "G89.29", "m79.18", "M7918", "M79.7"),
             "cpt": ("20552", "20553", "20550", "97110", "97112", "97140", "97150", "J1030", "J1040")}
_FIELD_KINDS = ("finding", "count", "percent", "duration", "text", "enum", "number")


@st.composite
def types_of(draw, kind: str) -> tuple[Type, str]:
    """(type, declared keyword) for a fact kind."""
    if kind == "finding":
        return model.T_BOOL, "finding"
    if kind == "count":
        return model.T_COUNT, "count"
    if kind == "number":
        return model.T_NUMBER, "number"
    if kind == "percent":
        return model.T_PERCENT, "percent"
    if kind == "quantity":
        return T_QUANTITY, "quantity"
    if kind == "duration":
        return model.T_DURATION, "duration"
    if kind == "date":
        return model.T_DATE, "date"
    if kind == "text":
        return model.T_TEXT, "text"
    members = tuple(dict.fromkeys(some(draw, MEMBER_POOL, 1, 4)))
    if kind == "enum":
        return Type(ENUM, members=members), "one of"
    if kind == "set_text":
        return T_SET_TEXT, "set of text"
    if kind in ("icd10", "cpt"):
        return Type(model.CODE, system=kind), kind
    if kind == "set_icd10":
        return Type(SET, element=Type(model.CODE, system="icd10")), "set of icd10"
    return Type(SET, element=Type(ENUM, members=members)), "set of"


@st.composite
def default_for(draw, t: Type) -> Optional[model.Const]:
    if t.kind in (SET, HISTORY) or not draw(st.integers(0, 5)) == 0:
        return None
    if t.kind == BOOL:
        return const(draw(st.booleans()), t)
    if t.kind == COUNT:
        return const(draw(st.integers(0, 5)), t)
    if t.kind == NUMBER:
        return const(Decimal(pick(draw, ["0", "2.5", "3"])), t)
    if t.kind == PERCENT:
        return const(draw(percents), t)
    if t.kind == QUANTITY:
        return const(draw(quantities), t)
    if t.kind == DURATION:
        return const(pick(draw, PERIODS[:9]), t)
    if t.kind == DATE:
        return const(draw(dates), t)
    if t.kind == TEXT:
        return const(pick(draw, TEXT_POOL), t)
    if t.kind == model.CODE:
        return const(pick(draw, CODE_POOL[t.system]).upper(), t)
    return const(pick(draw, t.members), t)


@st.composite
def silence_of(draw, t: Type, default) -> tuple[bool, Optional[str]]:
    """(request detail, silence rule) for a scalar fact: what a silent record means for it."""
    if default is not None:
        return False, None
    which = draw(st.integers(0, 5))
    if which == 0 and t.kind == BOOL:
        return False, "presumed absent when silent"
    if which == 1:
        return True, "checked when stated"
    if which == 2:
        return True, "required"
    return False, None


@st.composite
def facts(draw, max_scalars: int = 6) -> tuple[model.Fact, ...]:
    kinds = some(draw, _SCALAR_KINDS, 1, max_scalars)
    out = []
    for i, kind in enumerate(kinds):
        t, declared = draw(types_of(kind))
        default = draw(default_for(t))
        detail, rule = draw(silence_of(t, default))
        out.append(model.Fact(f"{kind}_{i}", t, declared, f"label of {kind} {i}", default, span(2 + i),
                              detail=detail, silence=rule))
    for j in range(draw(st.integers(0, 2))):
        fields = []
        if draw(st.integers(0, 4)) > 0:
            fields.append(model.Field("date", model.T_DATE, "date"))
        for k, kind in enumerate(some(draw, _FIELD_KINDS, 1, 3)):
            t, _ = draw(types_of(kind))
            fields.append(model.Field(f"{kind}_f{k}", t, f"{kind} {k}"))  # never a fact's name
        rule = pick(draw, [None, "none when silent", "none when silent", "required"])
        out.append(model.Fact(f"history_{j}", Type(HISTORY, fields=tuple(fields)), "history", f"history {j}", None,
                              span(20 + j), silence=rule))
    return tuple(out)


_TABLE_KINDS = ("number", "count", "percent", "quantity", "duration", "text")


@st.composite
def table_value(draw, t: Type) -> model.Const:
    k = t.kind
    if k == NUMBER:
        return const(Decimal(pick(draw, ["1", "0.15", "1.5", "3"])), t)
    if k == COUNT:
        return const(draw(st.integers(0, 10)), t)
    if k == PERCENT:
        return const(draw(percents), t)
    if k == QUANTITY:
        return const(draw(quantities), t)
    if k == DURATION:
        return const(pick(draw, PERIODS[:9]), t)
    return const(pick(draw, TEXT_POOL), t)


#: Range ends of a duration table, in days (a range is written with one unit: `14-30 days`).
RANGE_DAYS = (1, 14, 30, 42, 56)


@st.composite
def table_entry(draw, key: str, t: Type) -> model.TableEntry:
    """A table entry: a value, or (numbers, counts, quantities, durations) sometimes a range `low-high`."""
    if t.kind in (NUMBER, COUNT, QUANTITY, DURATION) and draw(st.integers(0, 2)) == 0:
        if t.kind == DURATION:
            a, b = sorted(pick(draw, RANGE_DAYS) for _ in range(2))
            return model.TableEntry(key, const(model.Period(0, b), t), const(model.Period(0, a), t))
        a, b = sorted((draw(table_value(t)) for _ in range(2)), key=lambda c: c.value)
        return model.TableEntry(key, b, a)
    return model.TableEntry(key, draw(table_value(t)))


@st.composite
def tables(draw, max_tables: int = 2) -> tuple[model.Table, ...]:
    """Tables of each value kind; keys distinct as texts compare (the front end refuses duplicates); some with
    ranges, some with an `otherwise` row."""
    out = []
    for i in range(draw(st.integers(0, max_tables))):
        t, _ = draw(types_of(pick(draw, _TABLE_KINDS)))
        keys = {norm_text(k): k for k in reversed(some(draw, KEY_POOL, 1, 4))}
        entries = tuple(draw(table_entry(k, t)) for k in sorted(keys.values(), key=norm_text))
        otherwise = draw(table_entry("otherwise", t)) if draw(st.integers(0, 2)) == 0 else None
        out.append(model.Table(f"table_{i}", t, f"label of table {i}", entries, span(40 + i), otherwise))
    return tuple(out)


# --------------------------------------------------------------- expressions
class Env:
    """What an expression may refer to: the facts and tables, and inside a `where` or `of` the row's fields."""

    def __init__(self, facts_: tuple[model.Fact, ...], row: Optional[model.Fact] = None, line: int = 1,
                 tables_: tuple[model.Table, ...] = (), values: tuple[model.NamedValue, ...] = ()):
        self.facts = facts_
        self.row = row
        self.line = line
        self.tables = tables_
        self.values = values  # the named values defined above (`let`)

    def inside(self, history: model.Fact) -> "Env":
        return Env(self.facts, history, self.line, self.tables, self.values)

    def refs(self, pred, values: bool = True) -> list:
        """References (facts, named values, and fields of the current row) whose type satisfies pred."""
        out = [model.FactRef(f.name, f.type, span(self.line)) for f in self.facts
               if f.type.kind != HISTORY and pred(f.type)]
        if values:
            out += [model.ValueRef(v.name, v.label, v.expr, v.type, span(self.line)) for v in self.values
                    if pred(v.type)]
        if self.row is not None:
            out += [model.FieldRef(f.name, f.type, span(self.line)) for f in self.row.type.fields if pred(f.type)]
        return out

    def histories(self, pred=lambda h: True) -> list[model.Fact]:
        return [f for f in self.facts if f.type.kind == HISTORY and pred(f.type)]


def _is(kind):
    return lambda t: t.kind == kind


def _numeric(t: Type) -> bool:
    return t.kind in (COUNT, NUMBER)


def _ordered_pred(kind: str):
    return _numeric if kind == "num" else (lambda t: t.kind == kind and (kind != QUANTITY or t.unit == UNIT))


@st.composite
def within_where(draw, env: Env, h: model.Fact, depth: int, need_where: bool = False):
    """(within, within as written, where) for a query over h: each optional."""
    within = within_text = None
    if h.type.field("date") is not None and draw(st.integers(0, 2)) == 0:
        within = pick(draw, PERIODS[:9])
        within_text = period_text(within)
    where = None
    if need_where or (depth > 0 and draw(st.integers(0, 2)) == 0):
        where = draw(bool_expr(env.inside(h), max(depth - 1, 0)))
    return within, within_text, where


@st.composite
def sum_of(draw, env: Env, kind: str, depth: int) -> model.Query:
    """`sum(h of <expr> ...)`: an expression of an ordered kind, over a row of h (its fields in scope)."""
    h = pick(draw, env.histories())
    href = model.FactRef(h.name, h.type, span(env.line))
    value = draw(value_expr(env.inside(h), kind, depth - 1))
    within, within_text, where = draw(within_where(env, h, depth))
    return model.Query("sum", href, within, within_text, where, None, value.type, span(env.line), value=value)


@st.composite
def lookup(draw, env: Env, pred, depth: int) -> Optional[model.Lookup]:
    """`table[key]` for a table whose values satisfy pred, keyed by a text or `one of` value (None if none fits)."""
    tables_ = [t for t in env.tables if pred(t.type)]
    if not tables_:
        return None
    t = pick(draw, tables_)
    line = env.line
    keys = env.refs(lambda x: x.kind in (TEXT, ENUM))
    choice = pick(draw, ["ref"] * 3 * bool(keys) + ["const"] +
                  ["last"] * (depth > 0 and bool(env.histories(lambda h: any(f.type.kind == TEXT for f in h.fields)))))
    if choice == "ref":
        key = pick(draw, keys)
    elif choice == "last":
        key = draw(query(env, depth - 1, "last", _is(TEXT)))
    else:  # a key of the table as written or respelled, or one it does not have
        k = pick(draw, [e.key for e in t.entries] + ["tramadol"])
        key = const(pick(draw, [k, k.upper(), f" {k}  "]), model.T_TEXT, line)
    return model.Lookup(t.name, key, t.type, span(line), t.ranges and draw(st.booleans()))


@st.composite
def query(draw, env: Env, depth: int, op: str, field_pred=None) -> Optional[model.Query]:
    """A query over one of the histories (None if no history fits)."""
    if op in ("last", "first", "sum", "count distinct"):
        hs = env.histories(lambda h: any(field_pred(f.type) for f in h.fields))
    else:
        hs = env.histories()
    if not hs:
        return None
    h = pick(draw, hs)
    href = model.FactRef(h.name, h.type, span(env.line))
    within, within_text, where = draw(within_where(env, h, depth, op == "all"))
    field = None
    t = {"any": model.T_BOOL, "all": model.T_BOOL, "count": model.T_COUNT}.get(op)
    if t is None:
        f = pick(draw, [f for f in h.type.fields if field_pred(f.type)])
        field, t = f.name, (model.T_COUNT if op == "count distinct" else f.type)
    return model.Query(op, href, within, within_text, where, field, t, span(env.line))


@st.composite
def value_expr(draw, env: Env, kind: str, depth: int) -> model.Expr:
    """An expression of an ordered kind: "num", PERCENT, QUANTITY, DURATION or DATE."""
    pred = _ordered_pred(kind)
    options = ["const", "const"]
    refs = env.refs(pred)
    if refs:
        options += ["ref"] * 3
    if env.histories(lambda h: any(pred(f.type) for f in h.fields)):
        options.append("pick")
    if kind == DATE:
        options.append("request")
    if any(pred(t.type) for t in env.tables):
        options.append("lookup")
    if depth > 0:
        options.append("arith")
        if kind == "num" and env.histories():
            options += ["count", "count_distinct"]
        if kind == "num" and env.refs(_is(SET), values=False):
            options.append("set_count")
        if kind in ("num", PERCENT, QUANTITY, DURATION) and env.histories(lambda h: any(pred(f.type) for f in h.fields)):
            options.append("sum")
        if kind in ("num", PERCENT, QUANTITY, DURATION) and env.histories():
            options.append("sum_of")
        if kind == DURATION:
            options.append("time")
    choice = pick(draw, options)
    line = env.line
    if choice == "ref":
        return pick(draw, refs)
    if choice == "lookup":
        return draw(lookup(env, pred, depth))
    if choice == "sum_of":
        return draw(sum_of(env, kind, depth))
    if choice == "request":
        return model.RequestDate(span(line))
    if choice == "pick":
        return draw(query(env, depth, pick(draw, ["last", "first"]), pred))
    if choice == "count":
        return draw(query(env, depth, "count"))
    if choice == "count_distinct":
        return draw(query(env, depth, "count distinct", lambda t: True))
    if choice == "set_count":
        s = pick(draw, [r for r in env.refs(_is(SET), values=False) if isinstance(r, model.FactRef)])
        return model.SetCount(s, span(line))
    if choice == "sum":
        return draw(query(env, depth, "sum", pred))
    if choice == "time":
        a, b = draw(value_expr(env, DATE, depth - 1)), draw(value_expr(env, DATE, depth - 1))
        return model.TimeFrom(a, b, span(line))
    if choice == "arith":
        return draw(arith(env, kind, depth))
    # constants
    if kind == "num":
        return _num_const(draw(numbers))
    if kind == PERCENT:
        return const(draw(percents), model.T_PERCENT, line)
    if kind == QUANTITY:
        return const(draw(quantities), T_QUANTITY, line)
    if kind == DURATION:
        return const(pick(draw, PERIODS[:9]), model.T_DURATION, line)
    return const(draw(dates), model.T_DATE, line)


@st.composite
def arith(draw, env: Env, kind: str, depth: int) -> model.Expr:
    line = env.line
    sub = depth - 1
    if kind == "num":
        op = pick(draw, ["+", "-", "*", "/"])
        a, b = draw(value_expr(env, "num", sub)), draw(value_expr(env, "num", sub))
        t = model.T_NUMBER if op == "/" or not (a.type.kind == b.type.kind == COUNT) else model.T_COUNT
        return model.Arith(op, a, b, t, span(line))
    if kind in (PERCENT, QUANTITY):
        t = model.T_PERCENT if kind == PERCENT else T_QUANTITY
        op = pick(draw, ["+", "-", "*", "/"])
        a = draw(value_expr(env, kind, sub))
        b = draw(value_expr(env, kind if op in "+-" else "num", sub))
        return model.Arith(op, a, b, t, span(line))
    if kind == DURATION:
        op = pick(draw, ["+", "-"])
        return model.Arith(op, draw(value_expr(env, DURATION, sub)), draw(value_expr(env, DURATION, sub)),
                           model.T_DURATION, span(line))
    op = pick(draw, ["+", "-"])
    return model.Arith(op, draw(value_expr(env, DATE, sub)), draw(value_expr(env, DURATION, sub)),
                       model.T_DATE, span(line))


_ORDERED_KINDS = ("num", PERCENT, QUANTITY, DURATION, DATE)


@st.composite
def text_like(draw, env: Env, depth: int) -> Optional[model.Expr]:
    """A text value: a text fact or field, or `last(h).text`."""
    options = env.refs(_is(TEXT))
    if depth > 0 and env.histories(lambda h: any(f.type.kind == TEXT for f in h.fields)):
        options.append(draw(query(env, depth, "last", _is(TEXT))))
    if depth > 0 and any(t.type.kind == TEXT for t in env.tables):
        options.append(draw(lookup(env, _is(TEXT), depth - 1)))
    if not options:
        return None
    return pick(draw, options)


@st.composite
def equality(draw, env: Env, depth: int) -> Optional[model.Expr]:
    """`=` / `!=` on findings, text (free, normalised) or `one of` values (exact)."""
    line = env.line
    op = pick(draw, ["=", "!="])
    options = []
    enums = env.refs(_is(ENUM))
    if enums:
        options.append("enum")
    if env.refs(_is(TEXT)):
        options.append("text")
    if env.refs(_is(BOOL)):
        options.append("bool")
    if not options:
        return None
    choice = pick(draw, options)
    if choice == "enum":
        ref = pick(draw, enums)
        other = pick(draw, [const(m, ref.type, line) for m in ref.type.members] +
                     [r for r in enums if r.type == ref.type])
    elif choice == "text":
        ref = draw(text_like(env, depth))
        other = pick(draw, env.refs(_is(TEXT)) + [const(t, model.T_TEXT, line) for t in TEXT_POOL])
    else:
        ref = pick(draw, env.refs(_is(BOOL)))
        other = pick(draw, env.refs(_is(BOOL)) + [const(True, model.T_BOOL, line), const(False, model.T_BOOL, line)])
    left, right = (ref, other) if draw(st.booleans()) else (other, ref)
    return model.Compare(op, left, right, span(line))


@st.composite
def membership(draw, env: Env, depth: int) -> Optional[model.Expr]:
    line = env.line
    options = []
    sets = env.refs(lambda t: t.kind == SET and t.element.kind != model.CODE)
    if sets:
        options += ["set_contains", "set_any", "set_only", "in_set_fact"]
    codes = env.refs(_is(model.CODE)) + env.refs(lambda t: t.kind == SET and t.element.kind == model.CODE)
    if codes:
        options += ["code", "code"]
    if env.refs(_is(ENUM)):
        options.append("enum_in")
    if env.refs(_is(TEXT)):
        options.append("text_in")
    options += ["num_in", "duration_in"]
    choice = pick(draw, options)
    if choice == "code":
        return draw(code_test(env, pick(draw, codes)))
    if choice in ("set_contains", "set_any", "set_only", "in_set_fact"):
        s = pick(draw, sets)
        element = s.type.element
        pool = element.members if element.kind == ENUM else TEXT_POOL
        if choice == "set_contains":
            return model.Member("contains", s, const(pick(draw, pool), element, line), span(line))
        if choice == "in_set_fact":
            singles = env.refs(lambda t: t.kind == TEXT or (t == element))
            x = pick(draw, singles) if singles and draw(st.booleans()) else const(pick(draw, pool), element, line)
            return model.Member(pick(draw, ["in", "not in"]), x, s, span(line))
        values = frozenset(some(draw, pool, 0 if choice == "set_only" else 1, 3))
        other = const(values, Type(SET, element=element), line)
        if choice == "set_any" and draw(st.booleans()):
            other = pick(draw, [x for x in sets if x.type.element.kind == TEXT or x.type == s.type])
        return model.Member("contains any of" if choice == "set_any" else "contains only", s, other, span(line))
    op = pick(draw, ["in", "not in"])
    if choice == "enum_in":
        x = pick(draw, env.refs(_is(ENUM)))
        values = frozenset(some(draw, x.type.members, 1, 3))
        return model.Member(op, x, const(values, Type(SET, element=x.type), line), span(line))
    if choice == "text_in":
        x = draw(text_like(env, depth))
        values = frozenset(some(draw, TEXT_POOL, 1, 3))
        return model.Member(op, x, const(values, T_SET_TEXT, line), span(line))
    if choice == "num_in":
        x = draw(value_expr(env, "num", max(depth - 1, 0)))
        values = some(draw, [0, 1, 2, 3, 4, 5], 1, 3)
        return model.Member(op, x, const(frozenset(values), Type(SET, element=model.T_COUNT), line), span(line))
    x = draw(value_expr(env, DURATION, max(depth - 1, 0)))
    values = frozenset(some(draw, PERIODS[:9], 1, 3))
    return model.Member(op, x, const(values, Type(SET, element=model.T_DURATION), line), span(line))


@st.composite
def code_test(draw, env: Env, x: model.Expr) -> model.Expr:
    """A code (or a set of codes) tested against patterns: `=`, `!=`, `in`, `contains`, `contains any of/only`."""
    line = env.line
    t = x.type if x.type.kind == model.CODE else x.type.element
    patterns = CODE_PATTERNS[t.system]
    one = const(pick(draw, patterns), t, line)
    several = const(frozenset(some(draw, patterns, 1, 3)), Type(SET, element=t), line)
    if x.type.kind == model.CODE:
        if draw(st.booleans()):
            return model.Compare(pick(draw, ["=", "!="]), x, one, span(line))
        return model.Member(pick(draw, ["in", "not in"]), x, several, span(line))
    op = pick(draw, ["contains", "contains any of", "contains only"])
    return model.Member(op, x, one if op == "contains" else several, span(line))


@st.composite
def bool_expr(draw, env: Env, depth: int = 3) -> model.Expr:
    """A true/false expression over env, at most `depth` levels of nesting."""
    line = env.line
    leaves = env.refs(_is(BOOL))
    options = ["const"] + ["ref", "ref"] * bool(leaves) + ["compare", "compare", "documented"]  # simplest first
    if env.histories(lambda h: any(f.type.kind == BOOL for f in h.fields)):
        options.append("pick")
    if env.histories():
        options += ["any", "all"] if depth > 0 else ["any"]
    options += ["equality", "member", "between"]
    if depth > 0:
        options += ["not", "and", "or", "at_least"]
    choice = pick(draw, options)
    sub = max(depth - 1, 0)
    if choice == "ref":
        return pick(draw, leaves)
    if choice == "const":
        return const(draw(st.booleans()), model.T_BOOL, line)
    if choice == "pick":
        return draw(query(env, depth, pick(draw, ["last", "first"]), _is(BOOL)))
    if choice in ("any", "all"):
        return draw(query(env, sub, choice))
    if choice == "documented":
        targets = [r for r in env.refs(lambda t: True, values=False)] + \
                  [model.FactRef(h.name, h.type, span(line)) for h in env.histories()]
        return model.Documented(pick(draw, targets), span(line)) if targets else const(True, model.T_BOOL, line)
    if choice == "not":
        return model.Not(draw(bool_expr(env, sub)), span(line))
    if choice in ("and", "or"):
        return model.Logic(choice, tuple(draw(bool_expr(env, sub)) for _ in range(draw(st.integers(2, 3)))), span(line))
    if choice == "at_least":
        items = tuple(draw(bool_expr(env, sub)) for _ in range(draw(st.integers(2, 4))))
        return model.AtLeast(draw(st.integers(1, len(items))), items, span(line))
    if choice == "equality":
        e = draw(equality(env, depth))
        return e if e is not None else draw(bool_expr(env, sub))
    if choice == "member":
        return draw(membership(env, depth))
    kind = pick(draw, _ORDERED_KINDS)
    if choice == "between":
        v, lo, hi = (draw(value_expr(env, kind, sub)) for _ in range(3))
        return model.Between(v, lo, hi, span(line))
    op = pick(draw, ["<", "<=", ">", ">=", "=", "!="])
    return model.Compare(op, draw(value_expr(env, kind, sub)), draw(value_expr(env, kind, sub)), span(line))


# ---------------------------------------------------------------- guidelines
@st.composite
def limit(draw, env: Env, fact: model.Fact, depth: int) -> model.Expr:
    """A condition that caps a requested count: `n <= 6`, `n + visits <= 10`, `n in {2, 4}`, maybe with more."""
    line = env.line
    n = model.FactRef(fact.name, fact.type, span(line))
    choice = pick(draw, ["le", "le", "plus", "times", "in", "and"] if depth > 0 else ["le", "in"])
    if choice == "in":
        values = frozenset(some(draw, range(1, 9), 1, 3))
        return model.Member(pick(draw, ["in", "not in"]), n, const(values, Type(SET, element=model.T_COUNT), line),
                            span(line))
    if choice == "and":
        parts = [draw(limit(env, fact, depth - 1)), draw(bool_expr(env, depth - 1))]
        return model.Logic(pick(draw, ["and", "or"]), tuple(parts if draw(st.booleans()) else parts[::-1]), span(line))
    left: model.Expr = n
    if choice == "plus":
        other = draw(value_expr(env, "num", depth - 1))
        t = model.T_COUNT if other.type.kind == COUNT else model.T_NUMBER
        left = model.Arith("+", n, other, t, span(line)) if draw(st.booleans()) else \
            model.Arith("+", other, n, t, span(line))
    elif choice == "times":
        left = model.Arith("*", n, const(2, model.T_COUNT, line), model.T_COUNT, span(line))
    return model.Compare(pick(draw, ["<=", "<"]), left, const(draw(st.integers(1, 10)), model.T_COUNT, line),
                         span(line))


@st.composite
def guidelines(draw, max_criteria: int = 6, depth: int = 3) -> model.Guideline:
    """A random checked guideline: facts, tables, criteria (some exclusions, some allowing fewer), nested `when`s."""
    fs = draw(facts())
    ts = draw(tables())
    values: list[model.NamedValue] = []
    for i in range(pick(draw, [0, 0, 1, 2, 3])):  # `let`s, each may use those above it
        env = Env(fs, None, 28, ts, tuple(values))
        kind = pick(draw, ("bool",) + _ORDERED_KINDS)
        expr = draw(bool_expr(env, 2)) if kind == "bool" else draw(value_expr(env, kind, 2))
        values.append(model.NamedValue(f"value_{i}", f"label of value {i}", expr, span(28)))
    vs = tuple(values)
    counts = [f for f in fs if f.type.kind == COUNT]
    fewer = pick(draw, counts) if counts and draw(st.booleans()) else None
    criteria: list[model.Criterion] = []
    conditions: list[model.Condition] = []
    line = [30]

    def next_line() -> int:
        line[0] += 1
        return line[0]

    def items(guard: tuple, budget: int, level: int):
        for _ in range(budget):
            if level < 2 and draw(st.integers(0, 4)) == 0:
                ln = next_line()
                cond = model.Condition(len(conditions), draw(bool_expr(Env(fs, None, ln, ts, vs), 2)), span(ln))
                conditions.append(cond)
                items(guard + (cond,), draw(st.integers(1, 3)), level + 1)
                continue
            ln = next_line()
            env = Env(fs, None, ln, ts, vs)
            capped = fewer is not None and draw(st.integers(0, 2)) > 0
            expr = draw(limit(env, fewer, depth)) if capped else draw(bool_expr(env, depth))
            allows = None
            if fewer is not None and fewer.name in model.facts_read(expr) and draw(st.integers(0, 3)) > 0:
                allows = fewer.name
            criteria.append(model.Criterion(
                id=f"c{len(criteria)}", exclude=draw(st.integers(0, 4)) == 0,
                expr=expr, says=None, citation=CITATION, conditions=guard, span=span(ln), allows_fewer=allows))

    items((), draw(st.integers(1, max_criteria)), 0)
    if not criteria:
        ln = next_line()
        criteria.append(model.Criterion("c0", False, draw(bool_expr(Env(fs, None, ln, ts, vs), depth)), None, CITATION,
                                        (), span(ln)))
    return model.Guideline(id="random", title="A random guideline", citation=CITATION, services=(), states=None,
                           version=None, facts=fs, criteria=tuple(criteria), conditions=tuple(conditions),
                           examples=(), path="random.mtus", span=span(1), tables=ts, values=vs)


# --------------------------------------------------------------------- cases
def _consts(g: model.Guideline) -> list[model.Const]:
    out = []

    def walk(e):
        if isinstance(e, model.Const):
            out.append(e)
        for c in model.children(e):
            walk(c)

    for c in g.criteria:
        walk(c.expr)
    for c in g.conditions:
        walk(c.expr)
    rows = [e for t in g.tables for e in (*t.entries, *((t.otherwise,) if t.otherwise else ()))]
    out += [c for e in rows for c in (e.value, e.low) if c is not None]  # thresholds a lookup may give
    return out


def _periods(g: model.Guideline) -> list[model.Period]:
    ps = {c.value for c in _consts(g) if isinstance(c.value, model.Period)}
    ps |= {x for c in _consts(g) if isinstance(c.value, frozenset) for x in c.value if isinstance(x, model.Period)}
    ps |= {e.within for e in _queries(g) if e.within is not None}
    return sorted(ps, key=lambda p: (p.months, p.days))


def _queries(g: model.Guideline) -> list[model.Query]:
    out = []

    def walk(e):
        if isinstance(e, model.Query):
            out.append(e)
        for c in model.children(e):
            walk(c)

    for c in g.criteria:
        walk(c.expr)
    for c in g.conditions:
        walk(c.expr)
    return out


class _Pools:
    """Candidate values per type: the guideline's own thresholds, one step either side, and edges."""

    def __init__(self, g: model.Guideline, request_date: datetime.date):
        consts = _consts(g)
        self.rd = request_date
        nums = {0, 1, 2, 3, 4, 5}
        pcts = {Decimal("0"), Decimal("50"), 100}
        qty = {Decimal("90"), Decimal("120")}
        for c in consts:
            v = c.value
            if isinstance(v, frozenset):
                continue
            if c.type.kind in (COUNT, NUMBER):
                nums |= {v, v + 1, v - 1 if v >= 1 else v, v + Decimal("0.01")}
                if type(v) is int:
                    nums |= {v + 3, 2 * v + 2}  # well over a limit: room for a partial certification
            elif c.type.kind == PERCENT:
                pcts |= {v, v + 1, v - Decimal("0.01"), int(v) if v == int(v) else v}
            elif c.type.kind == QUANTITY:
                qty |= {v, v + Decimal("0.5"), v - Decimal("0.5")}
        self.counts = sorted(x for x in nums if isinstance(x, int) and x >= 0)
        self.numbers = sorted(nums)
        self.percents = sorted(p for p in pcts if 0 <= p <= 100)
        self.quantities = sorted(q for q in qty if q >= 0)
        periods = _periods(g) or [model.Period(1, 0)]
        durs = {Duration(0, 0), Duration(1, 0), Duration(0, 30), Duration(0, 31), Duration(0, 28)}
        for p in periods:
            durs |= {Duration(p.months, p.days), Duration(p.months, p.days + 1)}
            if p.days:
                durs.add(Duration(p.months, p.days - 1))
            if p.months == 0 and p.days % 28 == 0:
                durs.add(Duration(p.days // 28, 0))  # 8 weeks next to 2 months
            if p.days == 0:
                durs |= {Duration(0, 30 * p.months), Duration(0, 31 * p.months)}  # 2 months next to 60 / 62 days
        self.durations = sorted((d for d in durs if d.months >= 0 and d.days >= 0), key=lambda d: (d.months, d.days))
        # near the ends of the calendar some of these do not exist: they are None and left out
        ds = {request_date, add_days(request_date, 1), add_days(request_date, -1)}
        for p in periods:
            at = shift(request_date, -p.months, -p.days)
            ds |= {at, add_days(at, 1), add_days(at, -1)}
        for c in consts:
            if isinstance(c.value, datetime.date):
                ds |= {c.value, add_days(c.value, 1)}
        for months in (-1, -2, -3, -12):
            ds.add(add_days(add_months(request_date.replace(day=1), months + 1), -1))  # month ends
        ds |= {datetime.date(2016, 2, 29), datetime.date(2015, 2, 28)}
        self.dates = sorted(ds - {None})
        texts = {c.value for c in consts if isinstance(c.value, str)} | set(TEXT_POOL)
        texts |= {e.key for t in g.tables for e in t.entries}
        texts |= {c for x in consts if isinstance(x.value, frozenset) for c in x.value if isinstance(c, str)}
        variants = set()
        for t in texts:
            variants |= {t, t.upper(), f"  {t}  ", t.replace(" ", "   "), t + "x"}
        self.texts = sorted(variants)

    def value(self, draw, t: Type):
        k = t.kind
        if k == BOOL:
            return draw(st.booleans())
        if k == COUNT:
            return pick(draw, self.counts)
        if k == NUMBER:
            return pick(draw, self.numbers)
        if k == PERCENT:
            return pick(draw, self.percents)
        if k == QUANTITY:
            return pick(draw, self.quantities)
        if k == DURATION:
            return pick(draw, self.durations)
        if k == DATE:
            return pick(draw, self.dates)
        if k == TEXT:
            return pick(draw, self.texts)
        if k == ENUM:
            return pick(draw, t.members)
        if k == model.CODE:
            return pick(draw, CODE_POOL[t.system])
        if k == SET:
            pool = (t.element.members if t.element.kind == ENUM else
                    CODE_POOL[t.element.system] if t.element.kind == model.CODE else self.texts)
            return frozenset(some(draw, pool))
        if k == HISTORY:
            rows = []
            for _ in range(draw(st.integers(0, 3))):
                row = {}
                for f in t.fields:
                    if draw(st.integers(0, 6)) > 0:
                        row[f.name] = self.value(draw, f.type)
                rows.append(row)
            return tuple(rows)
        raise AssertionError(t)


@st.composite
def request_dates(draw) -> datetime.date:
    """Mostly special or ordinary dates; one in ten near an end of the calendar."""
    which = draw(st.integers(0, 9))
    if which < 5:
        return pick(draw, SPECIAL_DATES)
    if which < 9:
        return draw(st.dates(datetime.date(2000, 1, 1), datetime.date(2030, 12, 31)))
    return pick(draw, EDGE_DATES)


@st.composite
def cases(draw, g: model.Guideline) -> tuple[dict, datetime.date]:
    """(facts, request_date) for g: each fact absent, explicitly None, or a value from the pools."""
    request_date = draw(request_dates())
    pools = _Pools(g, request_date)
    out = {}
    for f in g.facts:
        presence = draw(st.integers(0, 9))
        if presence == 0:
            continue
        if presence == 1:
            out[f.name] = None  # a loader may write "not documented" as None: the same as absent
            continue
        out[f.name] = pools.value(draw, f.type)
    return out, request_date


# ------------------------------------------------- back to text, for checking
def to_mtus(g: model.Guideline) -> str:
    """`.mtus` source for a model built by these strategies (fully parenthesised)."""
    lines = [f'guideline {g.id} "{g.title}"', f'  source "{g.citation.source}" page {g.citation.pages}', "", "facts"]
    for f in g.facts:
        default = f" default {_lit(f.default.value, f.type)}" if f.default is not None else ""
        rules = (", request detail" if f.detail else "") + (f", {f.silence}" if f.silence else "")
        lines.append(f'  {f.name}: {_type_text(f.type)} "{f.label}"{default}{rules}')
        for fld in f.type.fields:
            lines.append(f'    {fld.name}: {_type_text(fld.type)} "{fld.label}"')
    if g.tables:
        lines += ["", "tables"]
        for t in g.tables:
            lines.append(f'  {t.name}: {_type_text(t.type)} "{t.label}"')
            lines += [f'    "{e.key}": {_entry_text(e, t.type)}' for e in t.entries]
            if t.otherwise is not None:
                lines.append(f"    otherwise: {_entry_text(t.otherwise, t.type)}")
    lines += ["", "criteria"]
    for v in g.values:
        lines += [f"  let {v.name} = {_text(v.expr)}", f'    says "{v.label}"']
    open_conditions: tuple = ()
    for c in g.criteria:
        common = 0
        while (common < min(len(open_conditions), len(c.conditions))
               and open_conditions[common].index == c.conditions[common].index):
            common += 1
        for depth, cond in enumerate(c.conditions[common:], start=common):
            lines.append("  " * (depth + 1) + f"when {_text(cond.expr)}")
        open_conditions = c.conditions
        indent = "  " * (len(c.conditions) + 1)
        lines.append(f"{indent}{'exclude ' if c.exclude else ''}{c.id}: {_text(c.expr)}")
        if c.allows_fewer is not None:
            lines.append(f"{indent}  allows fewer {c.allows_fewer}")
    return "\n".join(lines) + "\n"


def _entry_text(e: model.TableEntry, t: Type) -> str:
    if e.low is None:
        return _lit(e.value.value, t)
    if t.kind == DURATION:
        return f"{e.low.value.days}-{e.value.value.days} days"
    return f"{e.low.value}-{_lit(e.value.value, t)}"


def _type_text(t: Type) -> str:
    if t.kind == BOOL:
        return "finding"
    if t.kind == QUANTITY:
        return f"quantity {t.unit}"
    if t.kind == ENUM:
        return "one of {" + ", ".join(f'"{m}"' for m in t.members) + "}"
    if t.kind == model.CODE:
        return t.system
    if t.kind == SET:
        if t.element.kind == model.CODE:
            return "set of " + t.element.system
        return "set of text" if t.element.kind == TEXT else "set of " + _type_text(t.element)[len("one of "):]
    return t.kind


def _lit(v, t: Type) -> str:
    if t.kind == BOOL:
        return "present" if v else "absent"
    if t.kind == PERCENT:
        return f"{v}%"
    if t.kind == QUANTITY:
        return f"{v} {t.unit}"
    if t.kind == DURATION:
        return period_text(v)
    if t.kind == SET:
        return "{" + ", ".join(_lit(x, t.element) for x in sorted(v, key=str)) + "}"
    if t.kind in (TEXT, ENUM, model.CODE):
        return f'"{v}"'
    return str(v)


def _text(e: model.Expr) -> str:
    if isinstance(e, (model.FactRef, model.FieldRef, model.ValueRef)):
        return e.name
    if isinstance(e, model.RequestDate):
        return "request.date"
    if isinstance(e, model.Const):
        return _lit(e.value, e.type)
    if isinstance(e, model.Not):
        return f"(not {_text(e.operand)})"
    if isinstance(e, model.Logic):
        return "(" + f" {e.op} ".join(_text(x) for x in e.operands) + ")"
    if isinstance(e, model.AtLeast):
        return f"at least {e.count} of {{" + ", ".join(_text(x) for x in e.items) + "}"
    if isinstance(e, (model.Compare, model.Member, model.Arith)):
        return f"({_text(e.left)} {e.op} {_text(e.right)})"
    if isinstance(e, model.Between):
        return f"({_text(e.value)} between {_text(e.low)} and {_text(e.high)})"
    if isinstance(e, model.Documented):
        return f"documented {e.target.name}"
    if isinstance(e, model.TimeFrom):
        return f"(time from {_text(e.start)} to {_text(e.end)})"
    if isinstance(e, model.Lookup):
        return f"{e.table}[{_text(e.key)}]" + (".low" if e.low else "")
    if isinstance(e, model.SetCount):
        return f"count({e.set.name})"
    if isinstance(e, model.Query):
        inner = e.history.name + (f".{e.field}" if e.op in ("sum", "count distinct") and e.value is None else "")
        if e.value is not None:
            inner += f" of {_text(e.value)}"
        if e.within is not None:
            inner += f" within {period_text(e.within)}"
        if e.where is not None:
            inner += f" where {_text(e.where)}"
        after = f".{e.field}" if e.op in ("last", "first") else ""
        return f"{e.op}({inner}){after}"
    raise AssertionError(e)


def shape(x):
    """A model value without spans and as-written text: what two equivalent models share.

    `a and (b and c)` is `a and b and c` (the front end flattens it; Kleene and/or are associative).
    """
    if isinstance(x, model.Logic):
        flat = []
        for o in x.operands:
            flat.extend(o.operands if isinstance(o, model.Logic) and o.op == x.op else (o,))
        if len(flat) != len(x.operands):
            return shape(model.Logic(x.op, tuple(flat), x.span))
    if hasattr(type(x), "__attrs_attrs__"):
        return (type(x).__name__,) + tuple(
            (a.name, shape(getattr(x, a.name))) for a in type(x).__attrs_attrs__
            if a.name not in ("span", "text", "within_text", "label", "declared", "citation", "says"))
    if isinstance(x, (tuple, list)):
        return tuple(shape(i) for i in x)
    if isinstance(x, frozenset):
        return frozenset(shape(i) for i in x)
    return x
