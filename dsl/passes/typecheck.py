"""Pass 3, typecheck: types and units of every expression; the typed model.

Guarantees: every criterion and `when` condition is a true/false expression;
compared and combined values are of compatible kinds and units; strings
compared with a `one of` fact are among its members; date literals are real
dates; example values fit their facts; table lookups have text keys; sums
add up numeric values; `allows fewer` names a count its criterion reads.
Produces model.Criterion, model.Condition and model.Example. An error in a
sub-expression is reported
once; its parents stay silent (no cascades), and nodes that resolve could not
name (ctx.failed) are skipped silently.
"""

from __future__ import annotations

import difflib
from typing import Callable, Optional

from mtus.dsl import ast, model
from mtus.dsl import diagnostics as diag
from mtus.dsl.model import (BOOL, CODE, COUNT, DATE, DURATION, ENUM, HISTORY, NUMBER, NUMERIC, PERCENT,
                       QUANTITY, SET, TEXT, Type)
from mtus.dsl.passes import literals, medcodes, units
from mtus.dsl.passes.literals import text_key
from mtus.dsl.passes.context import Context, did_you_mean
from mtus.dsl.passes.examples import check_examples
from mtus.dsl.passes.hints import compare_hint, example_of, kind_hint, member_hint
from mtus.dsl.syntax_errors import KEYWORDS


def _typed_empty(e: model.Expr, element: Optional[Type]) -> model.Expr:
    """An empty set literal `{}` given the element type it is compared with (it has none of its own)."""
    if isinstance(e, model.Const) and e.type.kind == SET and e.type.element is None and element is not None:
        return model.Const(e.value, Type(SET, element=element), e.text, e.span)
    return e


#: What `sum` can add up.
SUMMABLE = NUMERIC | {PERCENT, QUANTITY, DURATION}


def _numeric_result(a: Type, b: Type) -> Type:
    """A sum, difference or product of numbers: a count of counts, in the unit one of them counts (`count visits`)."""
    if a.kind == COUNT and b.kind == COUNT:
        return Type(COUNT, unit=a.unit or b.unit) if a.unit or b.unit else model.T_COUNT
    return model.T_NUMBER


def _source_text(ctx: Context, node) -> str:
    text = ctx.source.text[node.span.start:node.span.end]
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:37] + "..."


#: AST node class -> the _Typer function that types it (_Typer.expr).
_METHODS: dict[type, Callable] = {}


class _Typer:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        types = [f.type for f in ctx.facts.values()]
        types += [fld.type for t in types for fld in t.fields]
        #: the units of declared quantities and counts: a number may carry one of these or a unit of time
        self.units = sorted({t.unit for t in types if t.kind in (QUANTITY, COUNT) and t.unit})

    def err(self, code, message, span, hint=None, notes=()):
        self.ctx.report(diag.error(code, message, span, hint=hint, notes=notes))
        return None

    def show(self, node) -> str:
        return f"`{_source_text(self.ctx, node)}`"

    # ------------------------------------------------------------- entry
    def condition(self, e) -> Optional[model.Expr]:
        typed = self.expr(e, None)
        if typed is not None and typed.type.kind != BOOL:
            hint = compare_hint(self.show(e), typed.type)
            return self.err("E304", f"{self.show(e)} is {typed.type.describe()}, not true or false", e.span, hint=hint)
        return typed

    # ------------------------------------------------------------- walk
    def expr(self, e, row: Optional[model.FactRef]) -> Optional[model.Expr]:
        if id(e) in self.ctx.failed:
            return None  # resolve reported it
        method = _METHODS.get(type(e))
        if method is None:  # the e_<class> function for this kind of node, looked up once
            method = _METHODS[type(e)] = getattr(_Typer, "e_" + type(e).__name__)
        return method(self, e, row)

    def e_Path(self, e: ast.Path, row):
        kind = self.ctx.resolved.get(id(e))
        if kind is None:
            return None  # resolve reported it
        if kind == "request.date":
            return model.RequestDate(e.span)
        if kind == "field":
            field = self.ctx.facts[row.name].type.field(e.parts[0])
            return model.FieldRef(field.name, field.type, e.span)
        if kind == "value":
            v = self.ctx.values.get(e.parts[0])
            if v is None:
                return None  # its definition had an error, reported there
            return model.ValueRef(v.name, v.label, v.expr, v.type, e.span)
        fact = self.ctx.facts[e.parts[0]]
        return model.FactRef(fact.name, fact.type, e.span)

    def _literal(self, e):
        c = literals.literal(e)
        if isinstance(c, diag.Diagnostic):
            self.ctx.report(c)
            return None
        if c.type.kind == QUANTITY and self._mistaken_unit(c.type.unit):
            unit = c.type.unit
            hint = did_you_mean(unit, self.units + sorted(literals.DURATION_UNITS))
            if unit in self.ctx.facts or unit in KEYWORDS:
                hint = f"`{unit}` is {'a fact' if unit in self.ctx.facts else 'a word of the language'}, not a unit; " \
                       f"is something missing between {self.show(e)[:-len(unit) - 1].rstrip()}` and `{unit}`?"
            elif hint is None:
                hint = (f"the units of this guideline's facts are {', '.join(f'`{u}`' for u in self.units)}; "
                        if self.units else "") + f"to use `{unit}`, declare a fact as `quantity {unit}`"
            return self.err("E306", f"`{unit}` is not a unit of time or of any declared fact", e.unit_span or e.span,
                            hint=hint)
        return c

    def _mistaken_unit(self, unit: str) -> bool:
        """A word after a number that is surely not meant as a unit: a name, or a misspelled unit of time.

        Other unknown units are left to the comparison, which reports E303
        with both units (`daily_dose <= 120 MME/day` for a fact in mg).
        """
        if unit in self.units:
            return False
        names = set(self.ctx.facts) | {f.name for t in self.ctx.facts.values() for f in t.type.fields}
        low = unit.lower()
        return (unit in names or unit in KEYWORDS or
                any(low != u and (low.startswith(u) or low.endswith(u)) for u in literals.DURATION_UNITS if len(u) > 3) or
                bool(difflib.get_close_matches(low, literals.DURATION_UNITS, n=1, cutoff=0.75)))

    e_NumberLit = e_PercentLit = e_StringLit = e_DateLit = e_FindingLit = lambda self, e, row: self._literal(e)

    def e_SetLit(self, e: ast.SetLit, row):
        items = [self.expr(i, row) for i in e.items]
        if any(i is None for i in items):
            return None
        for i, node in zip(items, e.items):
            if not isinstance(i, model.Const):
                return self.err("E301", f"a set literal lists fixed values; {self.show(node)} is not one", node.span,
                                hint='write the values themselves, e.g. {"saline", "glucose"}')
        kinds = {i.type.kind for i in items}
        if kinds - {TEXT} and len(kinds) > 1:
            return self.err("E302", "a set mixes values of different kinds", e.span)
        element = items[0].type if items else None  # `{}` fits a set of anything
        return model.Const(frozenset(i.value for i in items), Type(SET, element=element),
                           ", ".join(i.text for i in items), e.span)

    def e_Not(self, e: ast.Not, row):
        x = self.expr(e.operand, row)
        if x is None:
            return None
        if x.type.kind != BOOL:
            return self.err("E301", f"`not` needs something true or false; {self.show(e.operand)} is {x.type.describe()}",
                            e.operand.span, hint=compare_hint(self.show(e.operand), x.type, negated=True))
        return model.Not(x, e.span)

    def e_Logic(self, e: ast.Logic, row):
        xs = [self.expr(x, row) for x in e.operands]
        ok = True
        for x, node in zip(xs, e.operands):
            if x is not None and x.type.kind != BOOL:
                ok = False
                self.err("E301", f"`{e.op}` joins true/false conditions; {self.show(node)} is {x.type.describe()}",
                         node.span, hint=compare_hint(self.show(node), x.type))
        if not ok or any(x is None for x in xs):
            return None
        return model.Logic(e.op, tuple(xs), e.span)

    # ----------------------------------------------------- comparisons
    def _enum_side(self, a, b):
        """Retype a text constant compared with a `one of` value; report unknown members."""
        return self._enum_fit(a.type, b)

    def _pattern_as_text(self, value: str, span) -> None:
        """W409: a code pattern (`"M79.1*"`, `"M54.10-M54.18"`) compared with free text, where it is only text."""
        if ("*" in value or "-" in value) and any(medcodes.check(value, s) is None for s in (medcodes.ICD10,
                                                                                             medcodes.CPT)):
            self.ctx.report(diag.warning(
                "W409", f'"{value}" is a code pattern, but it is compared with free text, which it matches only '
                        "letter for letter", span,
                hint="declare the fact `icd10` (or `cpt`, `set of icd10`) to match codes by prefix and range"))

    def _code_fit(self, t: Type, b, span=None):
        """A text constant compared with a code, retyped as a code pattern; None (reported, E415) if not one."""
        problem = medcodes.check(b.value, t.system)
        if problem is not None:
            return self.err("E415", problem, span or b.span,
                            hint=f"write {medcodes.NAMES[t.system]} or a pattern: {medcodes.EXAMPLES[t.system]}")
        return model.Const("".join(b.value.split()).upper(), t, b.text, b.span)

    def _enum_fit(self, t: Type, b):
        """`b` retyped to the `one of` type `t` if it is a text constant; None (reported) if not a member.

        A text constant compared with a code is retyped as a code pattern instead (E415 if it is not one).
        """
        if t.kind == CODE and isinstance(b, model.Const) and b.type.kind == TEXT:
            return self._code_fit(t, b)
        if t.kind == TEXT and isinstance(b, model.Const) and b.type.kind == TEXT:
            self._pattern_as_text(b.value, b.span)
        if t.kind == ENUM and isinstance(b, model.Const) and b.type.kind == TEXT:
            fitted = literals.fits(b, t)
            if fitted is None:
                self.err("E203", f'"{b.value}" is not one of the values declared for this fact', b.span,
                         hint=member_hint(b.value, t.members))
                return None
            return fitted
        return b

    def comparable(self, a, b, na, nb, span, ordered: bool) -> bool:
        ka, kb = a.type.kind, b.type.kind
        if ka in NUMERIC and kb in NUMERIC:
            if a.type.unit and b.type.unit and a.type.unit != b.type.unit:
                self.err("E303", f"cannot compare {self.show(na)}, {a.type.describe()}, with {self.show(nb)}, "
                         f"{b.type.describe()}", span, hint="compare counts of the same things")
                return False
            return True
        if {ka, kb} == {COUNT, QUANTITY} and (a.type.unit or b.type.unit) and a.type.unit == b.type.unit:
            return True  # `visits_requested <= 34 visits` for a `count visits`
        if {ka, kb} == {PERCENT} or {ka, kb} <= {DURATION} or {ka, kb} == {DATE}:
            return True
        if ka == QUANTITY and kb == QUANTITY:
            if a.type.unit != b.type.unit:
                self.err("E303", f"cannot compare {self.show(na)}, a quantity in {a.type.unit}, with {self.show(nb)}, "
                         f"a quantity in {b.type.unit}", span,
                         hint=f"mtus does not convert units: write both sides in {a.type.unit}, or both in {b.type.unit}")
                return False
            return True
        if {ka, kb} == {PERCENT, NUMBER} or {ka, kb} == {PERCENT, COUNT}:
            plain = nb if ka == PERCENT else na
            self.err("E309", f"{self.show(na if ka == PERCENT else nb)} is a percent but {self.show(plain)} is a plain number",
                     plain.span, hint=f"write {self.show(plain)[:-1]}%`")
            return False
        if QUANTITY in (ka, kb) and ({ka, kb} & NUMERIC):
            q = a if ka == QUANTITY else b
            plain = nb if ka == QUANTITY else na
            qnode = na if ka == QUANTITY else nb
            if isinstance(plain, ast.NumberLit):  # a number written without its unit
                hint = f"write {self.show(plain)[:-1]} {q.type.unit}`"
            elif isinstance(qnode, ast.NumberLit):  # `visits <= 34 visits`: a name cannot carry a unit
                other = (a if ka != QUANTITY else b).type
                declared = f"count {q.type.unit}" if other.kind == COUNT else f"quantity {q.type.unit}"
                hint = (f"{self.show(plain)} is {other.describe()}, which has no unit: "
                        f"write the number alone, `{qnode.text}`, or declare it `{declared}`")
            else:
                hint = f"declare {self.show(plain)} as a `quantity {q.type.unit}`, or compare it with a plain number"
            self.err("E306", f"{self.show(plain)} has no unit, but it is compared with a quantity in {q.type.unit}",
                     plain.span, hint=hint)
            return False
        if CODE in (ka, kb):
            if ka == kb and a.type.system == b.type.system:
                if ordered:
                    return bool(self.err("E301", "codes have no order; only `=` and `!=` can compare them", span,
                                         hint='for a range of codes, compare with a pattern: `= "M54.10-M54.18"`'))
                return True
            code = a if ka == CODE else b
            self.err("E302", f"cannot compare {self.show(na)}, {a.type.describe()}, with {self.show(nb)}, "
                     f"{b.type.describe()}", span,
                     hint=f"compare {code.type.describe()} with another, or with a code or pattern such as "
                          f"{medcodes.EXAMPLES[code.type.system]}")
            return False
        if ka == kb and ka in (TEXT, ENUM, BOOL) or {ka, kb} == {TEXT, ENUM}:
            if ordered:
                what = {TEXT: "texts", ENUM: "values of a `one of` list", BOOL: "findings"}[ka]
                hint = None
                if ENUM in (ka, kb):
                    hint = "to allow several values, list them: `" + _source_text(self.ctx, na) + ' in {"...", "..."}`'
                self.err("E301", f"{what} have no order; only `=` and `!=` can compare them", span, hint=hint)
                return False
            return True
        self.err("E302", f"cannot compare {self.show(na)}, {a.type.describe()}, with {self.show(nb)}, {b.type.describe()}",
                 span, hint=kind_hint(a.type, b.type, self.show(na), self.show(nb), na, nb))
        return False

    def e_Compare(self, e: ast.Compare, row):
        a, b = self.expr(e.left, row), self.expr(e.right, row)
        if a is None or b is None:
            return None
        b = self._enum_side(a, b)
        a = self._enum_side(b, a) if b is not None else None
        if a is None or b is None:
            return None
        if not self.comparable(a, b, e.left, e.right, e.span, e.op not in ("=", "!=")):
            return None
        if a.type.kind == CODE and isinstance(a, model.Const) and not isinstance(b, model.Const):
            a, b = b, a  # the pattern on the right, where the runtime reads it (`=` and `!=` are symmetric)
        return model.Compare(e.op, a, b, e.span)

    def e_Between(self, e: ast.Between, row):
        v, lo, hi = (self.expr(x, row) for x in (e.value, e.low, e.high))
        if v is None or lo is None or hi is None:
            return None
        if not (self.comparable(v, lo, e.value, e.low, e.span, True) and
                self.comparable(v, hi, e.value, e.high, e.span, True)):
            return None
        return model.Between(v, lo, hi, e.span)

    def e_Membership(self, e: ast.Membership, row):
        a, b = self.expr(e.left, row), self.expr(e.right, row)
        if a is None or b is None:
            return None
        if e.op in ("in", "not in"):
            elem, coll, nelem, ncoll = a, b, e.left, e.right
        else:
            coll, elem, ncoll, nelem = a, b, e.left, e.right
        # an empty `{}` takes the element type of the other side
        if e.op in ("contains any of", "contains only"):
            coll = _typed_empty(coll, elem.type.element if elem.type.kind == SET else None)
            elem = _typed_empty(elem, coll.type.element if coll.type.kind == SET else None)
        else:
            coll = _typed_empty(coll, elem.type if elem.type.kind != SET else None)
        if coll.type.kind != SET:
            return self.err("E301", f"`{e.op}` needs a set, but {self.show(ncoll)} is {coll.type.describe()}", ncoll.span,
                            hint='a set is a `set of ...` fact or a list such as {"saline", "glucose"}')
        if e.op in ("contains any of", "contains only"):
            if elem.type.kind != SET:
                return self.err("E301", f"`{e.op}` needs a set on the right, but {self.show(nelem)} is {elem.type.describe()}",
                                nelem.span, hint=f"to test one value write `{e.op.split()[0]}`")
            checked = self._set_elements(coll.type.element, elem, nelem)
            if checked is None:
                return None
            elem = checked
        else:
            if elem.type.kind == SET:
                return self.err("E301", f"{self.show(nelem)} is a set; use `contains any of` or `contains only`", nelem.span)
            checked = self._set_elements(elem.type, coll, ncoll) if isinstance(coll, model.Const) else coll
            if checked is None:
                return None
            coll = checked
            if isinstance(elem, model.Const):
                elem = self._enum_fit(coll.type.element, elem) if coll.type.element else elem
                if elem is None:
                    return None
            if not _same_family(elem.type, coll.type.element):
                return self.err("E302", f"{self.show(nelem)} is {elem.type.describe()}, but the set holds "
                                f"{coll.type.element.describe() if coll.type.element else 'values'}", nelem.span)
        left, right = (elem, coll) if e.op in ("in", "not in") else (coll, elem)
        return model.Member(e.op, left, right, e.span)

    def _set_elements(self, element: Optional[Type], const, node: ast.Expr):
        """Check a constant set's values against the element type they are compared with."""
        if not isinstance(const, model.Const) or element is None:
            return const
        got = const.type.element
        if element.kind == CODE and got is not None and got.kind == TEXT:  # patterns of codes, each checked
            items = _listed(node)
            values = []
            for v in sorted(const.value, key=str):
                fitted = self._code_fit(element, model.Const(v, got, v, const.span),
                                        items[v].span if v in items else node.span)
                if fitted is None:
                    return None
                values.append(fitted.value)
            return model.Const(frozenset(values), Type(SET, element=element), const.text, const.span)
        if element.kind == TEXT and got is not None and got.kind == TEXT:
            items = _listed(node)
            for v in sorted(const.value, key=str):
                self._pattern_as_text(v, items[v].span if v in items else node.span)
        if const.value and got is not None and not _same_family(got, element):
            return self.err("E302", f"{self.show(node)} lists {got.describe()}, where {element.describe()} is expected",
                            node.span, hint=f"write values such as {example_of(element)}")
        if element.kind != ENUM:
            return const
        for v in sorted(const.value, key=str):
            if v not in element.members:
                at = _listed(node).get(v, node).span
                return self.err("E203", f'"{v}" is not one of the values declared for this fact', at,
                                hint=member_hint(str(v), element.members))
        return model.Const(const.value, Type(SET, element=element), const.text, const.span)

    # ------------------------------------------------------- arithmetic
    def e_Arith(self, e: ast.Arith, row):
        a, b = self.expr(e.left, row), self.expr(e.right, row)
        if a is None or b is None:
            return None
        t = _arith_type(e.op, a.type, b.type)
        if t is None and a.type.kind == b.type.kind == QUANTITY and e.op in "*/":
            word = "multiply" if e.op == "*" else "divide"
            return self.err("E303", f"cannot {word} {self.show(e.left)}, in {a.type.unit}, by {self.show(e.right)}, "
                            f"in {b.type.unit}: the result is in no unit mtus can write (one word, or `word/word`)",
                            e.span,
                            hint="units multiply and cancel as written: `mg/day * MME/mg` is MME/day; "
                                 "a conversion factor is a quantity in the units it converts, e.g. `quantity MME/mg`")
        if t is None:
            return self.err("E302", f"cannot compute {self.show(e.left)} {e.op} {self.show(e.right)}: "
                            f"{a.type.describe()} {e.op} {b.type.describe()}", e.span,
                            hint=_arith_hint(e.op, a.type, b.type))
        return model.Arith(e.op, a, b, t, e.span)

    def e_Documented(self, e: ast.Documented, row):
        target = self.e_Path(e.path, row)
        if target is None:
            return None
        if isinstance(target, model.ValueRef):
            return self.err("E301", f"`documented` asks whether the case records a fact; `{target.name}` is a "
                            "named value", e.span, hint="ask about the facts it is computed from, e.g. "
                            f"`documented {next(iter(model.facts_read(target.expr)), 'fact')}`")
        if isinstance(target, model.RequestDate):
            return self.err("E205", "`request.date` is always documented", e.span,
                            hint="`documented` asks whether the case records a fact; the request always has a date")
        return model.Documented(target, e.span)

    def e_TimeFrom(self, e: ast.TimeFrom, row):
        a, b = self.expr(e.start, row), self.expr(e.end, row)
        if a is None or b is None:
            return None
        for x, n in ((a, e.start), (b, e.end)):
            if x.type.kind != DATE:
                return self.err("E301", f"`time from ... to ...` needs dates; {self.show(n)} is {x.type.describe()}", n.span,
                                hint="measure between two dates, e.g. `time from symptom_onset to request.date`")
        return model.TimeFrom(a, b, e.span)

    def e_Lookup(self, e: ast.Lookup, row):
        key = self.expr(e.key, row)
        if key is None or e.table in self.ctx.broken_tables:
            return None  # reported: the key, or the table's declaration
        table = self.ctx.tables[e.table]
        if key.type.kind not in (TEXT, ENUM):
            first = f' such as "{table.entries[0].key}"' if table.entries else ""
            return self.err("E301", f"a table is looked up by a text, but {self.show(e.key)} is {key.type.describe()}",
                            e.key.span, hint=f"the keys of `{table.name}` are texts{first}; look it up with a `text` "
                                             "or `one of` fact, or a text field of a history")
        low = False
        if e.end is not None:
            if e.end not in ("low", "high"):
                return self.err("E205", f"`.{e.end}` is not an end of a table entry", e.end_span,
                                hint=f"a range such as `3-8` has `.low` (3) and `.high` (8); "
                                     f"`{table.name}[...]` alone reads the high end")
            if not table.ranges:
                return self.err("E205", f"table `{table.name}` lists no ranges, so its entries have no `.{e.end}`",
                                e.end_span, hint=f"write `{table.name}[...]` alone, or give an entry a range such "
                                                 "as `3-8`")
            low = e.end == "low"
        if table.otherwise is None:  # with an `otherwise` row every key has a value
            self._missing_entries(table, key, e)
        return model.Lookup(table.name, key, table.type, e.span, low)

    def _missing_entries(self, table: model.Table, key: model.Expr, e: ast.Lookup) -> None:
        """W402: a `one of` key with members the table has no entry for, or a fixed key that is not in it."""
        keys = {text_key(x.key) for x in table.entries}
        if key.type.kind == ENUM:
            missing = [m for m in key.type.members if text_key(m) not in keys]
        elif isinstance(key, model.Const):
            missing = [key.value] if text_key(key.value) not in keys else []
        else:
            return
        if not missing:
            return
        shown = ", ".join(f'"{m}"' for m in missing[:4]) + (", ..." if len(missing) > 4 else "")
        many = len(missing) > 1
        message = f"table `{table.name}` has no entr{'ies' if many else 'y'} for {shown}"
        if key.type.kind == ENUM:
            hint = (f"when {self.show(e.key)} is {'one of these' if many else shown}, the lookup has no value "
                    f'and the criterion is not documented; add an entry such as `"{missing[0]}": ...` under '
                    f"`{table.name}`, or an `otherwise: ...` row for every key it does not list")
        else:
            hint = did_you_mean(key.value, [x.key for x in table.entries], quote='"') or \
                ("the lookup never has a value, so the criterion is never decided; the keys of "
                 f"`{table.name}` are " + ", ".join(f'"{x.key}"' for x in table.entries[:6])
                 + (", ..." if len(table.entries) > 6 else ""))
        self.ctx.report(diag.warning("W402", message, e.span, hint=hint))

    def e_AtLeast(self, e: ast.AtLeast, row):
        xs = [self.expr(x, row) for x in e.items]
        if any(x is None for x in xs):
            return None
        for x, n in zip(xs, e.items):
            if x.type.kind != BOOL:
                return self.err("E301", f"`at least {e.count} of` counts true/false conditions; {self.show(n)} is "
                                f"{x.type.describe()}", n.span)
        if not 1 <= e.count <= len(xs):
            return self.err("E305", f"`at least {e.count} of` a list of {len(xs)} can never be met" if e.count > len(xs)
                            else "`at least 0 of` is always met", e.span,
                            hint=f"use a number from 1 to {len(xs)}" if len(xs) > 1 else
                            "with one condition, write the condition alone")
        return model.AtLeast(e.count, tuple(xs), e.span)

    def e_Aggregate(self, e: ast.Aggregate, row):
        fact = self.ctx.facts[e.target.parts[0]]
        if fact.type.kind == SET and e.op in ("count", "count distinct"):
            return self._set_count(e, fact)
        if fact.type.kind != HISTORY:
            other = compare_hint(f"`{fact.name}`", fact.type)
            return self.err("E307", f"`{e.op}(...)` works on a history, but `{fact.name}` is {fact.type.describe()}",
                            e.target.span, hint=f"`{e.op}` reads the entries of a `history` fact"
                                                + (f"; to test `{fact.name}` itself, {other}" if other else ""))
        href = model.FactRef(fact.name, fact.type, e.target.span)
        within = within_text = None
        if e.within is not None:
            c = self._literal(e.within)
            if c is None:
                return None
            if c.type.kind != DURATION:
                return self.err("E302", f"`within` takes a length of time; {self.show(e.within)} is "
                                f"{c.type.describe()}", e.within.span,
                                hint=f"write e.g. `{e.op}({fact.name} within 12 months)`")
            if fact.type.field("date") is None or fact.type.field("date").type.kind != DATE:
                return self.err("E307", f"`within` counts back from the request date, but `{fact.name}` has no `date` field",
                                e.within.span, hint=f"add `date: date` to the fields of `{fact.name}`")
            within, within_text = c.value, c.text
        where = None
        if e.where is not None:
            where = self.expr(e.where, href)
            if where is None:
                return None
            if where.type.kind != BOOL:
                return self.err("E304", f"`where` needs a condition; {self.show(e.where)} is {where.type.describe()}",
                                e.where.span)
        field = e.field
        if len(e.target.parts) == 2:
            if e.op not in ("sum", "count distinct") or field is not None:
                return self.err("E307", f"`{e.op}` reads a field after the parenthesis", e.target.span,
                                hint=f"write `{e.op}({e.target.parts[0]}).{e.target.parts[1]}`")
            field = e.target.parts[1]
        op = e.op
        if e.value is not None:
            return self._sum_of(e, href, within, within_text, where, field)
        if op == "count distinct":  # `count distinct(h.field ...)`
            if field is None or e.field is not None:
                return self.err("E307", "`count distinct` counts the different values of one field: name it inside "
                                "the parentheses", e.field_span or e.span,
                                hint=f"write `count distinct({fact.name}.{e.field or '<field>'} where ...)`")
            t = fact.type.field(field).type
            if t.kind == SET:
                return self.err("E301", f"`count distinct` counts single values; `{field}` is {t.describe()}",
                                e.target.span)
            return model.Query(op, href, within, within_text, where, field, model.T_COUNT, e.span)
        if op in ("any", "count") and field is not None:
            return self.err("E307", f"`{op}(...)` does not read a field", e.field_span or e.span,
                            hint=f"test the field inside: `{op}({fact.name} where {field} ...)`")
        if op == "all":
            if where is None:
                return self.err("E307", "`all(...)` needs a condition that every entry must meet", e.span,
                                hint=f"write `all({fact.name} where ...)`")
            if field is not None:
                return self.err("E307", "`all(...)` does not read a field", e.field_span or e.span)
        if op in ("last", "first", "sum") and field is None:
            return self.err("E307", f"`{op}(...)` must name the field to read", e.span,
                            hint=f"write `{op}({fact.name}).<field>`" if op != "sum" else f"write `sum({fact.name}.<field>)`")
        if op in ("any", "all"):
            t = model.T_BOOL
        elif op == "count":
            t = model.T_COUNT
        else:
            t = fact.type.field(field).type
            if op == "sum" and t.kind not in SUMMABLE:
                return self.err("E301", f"cannot add up `{field}`, which is {t.describe()}", e.field_span or e.target.span)
        return model.Query(op, href, within, within_text, where, field, t, e.span)

    def _set_count(self, e: ast.Aggregate, fact: model.Fact):
        """`count(s)` of a set fact: the number of different values it holds."""
        if len(e.target.parts) > 1 or e.within is not None or e.where is not None or e.value is not None \
                or e.field is not None:
            return self.err("E307", f"`count({fact.name})` counts the values of a set; a set has no entries to "
                            "choose with `where`, `within`, `of` or a field", e.span,
                            hint=f"write `count({fact.name})` alone, or test a value with `{fact.name} contains ...`")
        return model.SetCount(model.FactRef(fact.name, fact.type, e.target.span), e.span)

    def _sum_of(self, e: ast.Aggregate, href: model.FactRef, within, within_text, where, field):
        """`sum(h of <expr> ...)`: the expression evaluated for each entry, added up."""
        name = href.name
        if e.op != "sum":
            return self.err("E307", f"`{e.op}(...)` does not take `of`; only `sum` adds up an expression per entry",
                            e.value.span, hint=f"write `{e.op}({name} where ...)` to test the entries" if e.op in
                            ("any", "all", "count") else f"write `count distinct({name}.<field> where ...)`"
                            if e.op == "count distinct" else f"write `{e.op}({name}).<field>`")
        if field is not None:
            return self.err("E307", "`sum(... of ...)` adds up the expression after `of` and reads no field",
                            e.field_span or e.target.span,
                            hint=f"write `sum({name} of <expression>)`, or `sum({name}.{field})` to add up the field")
        value = self.expr(e.value, href)
        if value is None:
            return None
        if value.type.kind not in SUMMABLE:
            return self.err("E301", f"cannot add up {self.show(e.value)}, which is {value.type.describe()}",
                            e.value.span, hint="`sum` adds numbers, counts, percents, quantities or durations; "
                                               f"to count the entries that meet a condition, write "
                                               f"`count({name} where ...)`" if value.type.kind == BOOL else
                            "`sum` adds numbers, counts, percents, quantities or durations")
        return model.Query("sum", href, within, within_text, where, None, value.type, e.span, value=value)


def _same_family(a: Type, b: Optional[Type]) -> bool:
    if b is None:
        return True
    if a.kind in NUMERIC and b.kind in NUMERIC:
        return True
    if {a.kind, b.kind} <= {TEXT, ENUM}:
        return True
    return a.kind == b.kind and a.unit == b.unit and a.system == b.system


def _arith_type(op: str, a: Type, b: Type) -> Optional[Type]:
    ka, kb = a.kind, b.kind
    if ka in NUMERIC and kb in NUMERIC:
        if op in "+-" and a.unit and b.unit and a.unit != b.unit:
            return None  # visits plus injections
        return model.T_NUMBER if op == "/" else _numeric_result(a, b)
    if op in "+-":
        if ka == kb and ka in (PERCENT, DURATION):
            return a
        if ka == kb == QUANTITY and a.unit == b.unit:
            return a
        if ka == DATE and kb == DURATION:
            return model.T_DATE
        return None
    if op == "*":
        if ka in (PERCENT, QUANTITY) and kb in NUMERIC:
            return a
        if kb in (PERCENT, QUANTITY) and ka in NUMERIC:
            return b
        if ka == kb == QUANTITY:  # units multiply: mg/day * MME/mg is MME/day
            return _unit_type(units.product(a.unit, b.unit))
        return None
    if op == "/":
        if ka in (PERCENT, QUANTITY) and kb in NUMERIC:
            return a
        if ka == kb == QUANTITY:  # mg / mg is a plain number; MME/day / MME/mg is mg/day
            return _unit_type(units.quotient(a.unit, b.unit))
    return None


def _unit_type(unit: Optional[str]) -> Optional[Type]:
    """A quantity in the unit an operation gives, a plain number where the units cancel, None if not a unit."""
    if unit is None:
        return None
    return Type(QUANTITY, unit=unit) if unit else model.T_NUMBER


def _arith_hint(op: str, a: Type, b: Type) -> str:
    """What arithmetic the two kinds allow, in the operation's own words."""
    if op in "+-":
        if a.kind == b.kind == COUNT:
            return f"{a.describe()} and {b.describe()} do not add up: count the same things"
        if DATE in (a.kind, b.kind):
            return "a date plus or minus a length of time is a date, e.g. `injury_date + 6 weeks`; to measure " \
                   "between two dates write `time from A to B`"
        return "only values of one kind add up (numbers, percents, lengths of time, quantities in one unit)"
    if op == "*":
        return "a percent or a quantity is multiplied by a plain number, and two quantities multiply their units " \
               "(mg/day * MME/mg is MME/day); other kinds cannot be multiplied"
    return "a percent or a quantity is divided by a plain number, or by a quantity (mg / mg is a plain number); " \
           "other kinds cannot be divided"


def _citation(ctx: Context, c: Optional[ast.Citation], base: model.Citation) -> model.Citation:
    if c is None:
        return base
    return model.Citation(
        c.source or base.source,
        c.section if c.section is not None else (base.section if c.source is None else None),
        c.pages.text if c.pages is not None else (base.pages if c.source is None else None),
    )


def _base_citation(ctx: Context) -> model.Citation:
    c = ctx.tree.citation
    if c is None:
        return model.Citation("", None, None)
    return model.Citation(c.source or "", c.section, c.pages.text if c.pages else None)


def _criteria(ctx: Context, typer: _Typer, items, conditions: tuple, base: model.Citation):
    for item in items:
        if isinstance(item, ast.When):
            cond = typer.condition(item.condition)
            if cond is None:  # reported; the criteria under it are still checked
                _criteria(ctx, typer, item.items, conditions, base)
                continue
            c = model.Condition(len(ctx.conditions), cond, item.condition.span)
            ctx.conditions.append(c)
            _criteria(ctx, typer, item.items, conditions + (c,), base)
            continue
        expr = typer.condition(item.expr)
        if expr is None:
            continue
        ctx.criteria.append(model.Criterion(
            id=item.id, exclude=item.exclude, expr=expr, says=item.says,
            citation=_citation(ctx, item.citation, base), conditions=conditions, span=item.span,
            allows_fewer=_allows_fewer(ctx, typer, item, expr), shows=_shows(ctx, typer, item, expr),
        ))


def _shows(ctx: Context, typer: _Typer, item: ast.Criterion, expr: model.Expr) -> Optional[str]:
    """`shows`, checked: one `{}` for the value, on a comparison of a computed value with a limit."""
    text = item.shows
    if text is None:
        return None
    if text.count("{}") != 1:
        typer.err("E412", "`shows` must say where the value goes with one `{}`", item.shows_span,
                  hint='e.g. `shows "the current regimen totals {} mg morphine equivalents a day"`')
        return None
    alternatives = expr.operands if isinstance(expr, model.Logic) and expr.op == "or" else (expr,)
    if sum(1 for x in alternatives if _compares_computed(x)) != 1:
        typer.err("E412", "`shows` states a computed value, but this criterion compares none", item.shows_span,
                  hint="use `shows` where one computed value is compared, as in `sum(h of x) <= 120 or y`; "
                       "for others `says` is enough")
        return None
    return text


def _compares_computed(expr: model.Expr) -> bool:
    """A comparison with a computed side (a sum, a count, a lookup, arithmetic): the value `shows` words."""
    return isinstance(expr, model.Compare) and any(
        not isinstance(x, (model.FactRef, model.FieldRef, model.Const, model.RequestDate)) for x in (expr.left, expr.right))


def _allows_fewer(ctx: Context, typer: _Typer, item: ast.Criterion, expr: model.Expr) -> Optional[str]:
    """The count fact a criterion allows to be reduced, checked: a count that the criterion reads."""
    name = item.allows_fewer
    if name is None or name not in ctx.facts:
        return None  # none, or resolve reported the unknown name
    fact = ctx.facts[name]
    if fact.type.kind != COUNT:
        return typer.err("E301", f"`allows fewer` reduces a count, but `{name}` is {fact.type.describe()}",
                         item.allows_fewer_span,
                         hint="name the `count` fact of what is requested, e.g. `allows fewer visits_requested`: "
                              "a modification certifies fewer of them")
    if name not in model.facts_read(expr):
        return typer.err("E407", f"criterion `{item.id}` does not read `{name}`, so fewer `{name}` cannot change it",
                         item.allows_fewer_span,
                         hint=f"put `allows fewer {name}` under the criterion that limits `{name}`, or name a count "
                              f"that `{item.id}` reads")
    return name


def typecheck(ctx: Context) -> None:
    """Type every criterion, condition and example; report kind and unit errors."""
    typer = _Typer(ctx)
    for let in ctx.lets.values():  # in source order: a value uses only those above it
        typed = typer.expr(let.expr, None)
        if typed is not None:
            ctx.values[let.name] = model.NamedValue(let.name, let.label or let.name.replace("_", " "), typed,
                                                    let.span)
    _criteria(ctx, typer, ctx.tree.criteria, (), _base_citation(ctx))
    check_examples(ctx, typer)


def _listed(node: ast.Expr) -> dict:
    """A set literal's strings by value, the first writing of each (to point at one); none for another node."""
    out: dict = {}
    if isinstance(node, ast.SetLit):
        for i in node.items:
            if isinstance(i, ast.StringLit):
                out.setdefault(i.value, i)
    return out
