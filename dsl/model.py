"""The checked model: what the backends consume.

Every name is resolved, every expression carries its Type, literals are
decoded to exact values (Decimal, int, datetime.date, Period), `when` blocks
are flattened so each criterion lists the conditions that guard it, and every
criterion carries its full citation. The model holds plain values only, so the
compiler's backends need nothing from the front end but this module.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from enum import Enum
from typing import Any, Optional, Union

import attrs

from mtus.dsl.source import Span

#: The model's class decorator: slotted, compared and hashed by value, never changed once built (the type
#: constants below are shared by every guideline), but not attrs-frozen: a frozen class's `__init__` sets
#: each field through object.__setattr__, which was a fifth of the checking passes (a guideline's examples
#: alone make a few hundred constants). Without on_setattr hooks a converter runs only in `__init__`.
record = attrs.define(unsafe_hash=True, on_setattr=attrs.setters.NO_OP)


# ------------------------------------------------------------ words as enums
class Word(str, Enum):
    """An enum whose members are the words the language writes; as str they are those words.

    Members compare, hash, print and serialize (JSON) as their value, so the
    pack's JSON and the generated code read the same as with plain strings
    (enum.StrEnum does this from Python 3.11; the project supports 3.10).
    """

    # A member is the str of its word (str's own methods give it): Enum's `.value` is a descriptor call, and
    # f-strings format a word about 70,000 times in compiling 2,000 guidelines.
    __str__ = str.__str__
    __format__ = str.__format__


class Kind(Word):
    """The kind of a Type."""

    BOOL = "bool"
    NUMBER = "number"
    COUNT = "count"
    PERCENT = "percent"
    QUANTITY = "quantity"
    DURATION = "duration"
    DATE = "date"
    TEXT = "text"
    ENUM = "enum"
    SET = "set"
    HISTORY = "history"
    CODE = "code"  # a diagnosis or procedure code; Type.system says which: "icd10" or "cpt" (CPT and HCPCS)


class LogicOp(Word):
    AND = "and"
    OR = "or"


class CompareOp(Word):
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    EQ = "="
    NE = "!="


class MemberOp(Word):
    IN = "in"
    NOT_IN = "not in"
    CONTAINS = "contains"
    CONTAINS_ANY_OF = "contains any of"
    CONTAINS_ONLY = "contains only"


class ArithOp(Word):
    ADD = "+"
    SUB = "-"
    MUL = "*"
    DIV = "/"


class QueryOp(Word):
    ANY = "any"
    ALL = "all"
    COUNT = "count"
    COUNT_DISTINCT = "count distinct"
    SUM = "sum"
    LAST = "last"
    FIRST = "first"


# The kinds by their short names, as the passes and back ends write them (as re exports its flags).
BOOL, NUMBER, COUNT, PERCENT, QUANTITY = Kind.BOOL, Kind.NUMBER, Kind.COUNT, Kind.PERCENT, Kind.QUANTITY
DURATION, DATE, TEXT, ENUM, SET, HISTORY = Kind.DURATION, Kind.DATE, Kind.TEXT, Kind.ENUM, Kind.SET, Kind.HISTORY
CODE = Kind.CODE
NUMERIC = frozenset({NUMBER, COUNT})


# ---------------------------------------------------------------------- types


@record
class Type:
    """The type of a fact or expression. `element` is for sets; `fields` for histories."""

    kind: Kind = attrs.field(converter=Kind)
    unit: Optional[str] = None
    members: tuple[str, ...] = ()
    element: Optional["Type"] = None
    fields: tuple["Field", ...] = ()
    system: Optional[str] = None  # of a code: "icd10" or "cpt"

    def describe(self) -> str:
        """The type in words, for diagnostics: "a percent", "a quantity in mg"."""
        k = self.kind
        if k == BOOL:
            return "a true/false finding"
        if k == CODE:
            return "an ICD-10-CM code" if self.system == "icd10" else "a CPT or HCPCS code"
        if k == QUANTITY:
            return f"a quantity in {self.unit}"
        if k == ENUM:
            return "one of " + ", ".join(f'"{m}"' for m in self.members[:4]) + (", ..." if len(self.members) > 4 else "")
        if k == SET:
            if self.element is not None and self.element.kind == ENUM:
                return "a set of values from " + ", ".join(f'"{m}"' for m in self.element.members[:4]) + \
                    (", ..." if len(self.element.members) > 4 else "")
            if self.element is not None and self.element.kind == CODE:
                return "a set of " + self.element.describe().split(" ", 1)[1].replace("code", "codes")
            return "a set of texts" if self.element is None or self.element.kind == TEXT else \
                f"a set of {self.element.kind} values"
        if k == HISTORY:
            return "a history"
        if k == COUNT:
            return f"a count of {self.unit}" if self.unit else "a count"
        article = "an" if k[0] in "aeiou" else "a"
        return f"{article} {k}"

    def field(self, name: str) -> Optional["Field"]:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def to_json(self) -> dict:
        out: dict = {"kind": self.kind.value}
        if self.unit:
            out["unit"] = self.unit
        if self.members:
            out["members"] = list(self.members)
        if self.element:
            out["element"] = self.element.to_json()
        if self.fields:
            out["fields"] = {f.name: dict(f.type.to_json(), label=f.label) for f in self.fields}
        if self.system:
            out["system"] = self.system
        return out


T_BOOL = Type(BOOL)
T_NUMBER = Type(NUMBER)
T_COUNT = Type(COUNT)
T_PERCENT = Type(PERCENT)
T_DURATION = Type(DURATION)
T_DATE = Type(DATE)
T_TEXT = Type(TEXT)


@record
class Period:
    """A calendar period as written: months and days (weeks are 7 days, years 12 months)."""

    months: int = 0
    days: int = 0


# ---------------------------------------------------------------- expressions
@record
class FactRef:
    name: str
    type: Type
    span: Span


@record
class FieldRef:
    """A field of the history row being examined (inside `where`)."""
    name: str
    type: Type
    span: Span


@record
class RequestDate:
    span: Span
    type: Type = T_DATE


Value = Union[bool, int, Decimal, str, datetime.date, Period, frozenset]


@record
class Const:
    value: Value
    type: Type
    text: str  # as written, for rationale text
    span: Span


@record
class Not:
    operand: "Expr"
    span: Span
    type: Type = T_BOOL


@record
class Logic:
    op: LogicOp = attrs.field(converter=LogicOp)
    operands: tuple["Expr", ...]
    span: Span
    type: Type = T_BOOL


@record
class Compare:
    op: CompareOp = attrs.field(converter=CompareOp)
    left: "Expr"
    right: "Expr"
    span: Span
    type: Type = T_BOOL


@record
class Member:
    op: MemberOp = attrs.field(converter=MemberOp)
    left: "Expr"
    right: "Expr"
    span: Span
    type: Type = T_BOOL


@record
class Between:
    value: "Expr"
    low: "Expr"
    high: "Expr"
    span: Span
    type: Type = T_BOOL


@record
class Arith:
    op: ArithOp = attrs.field(converter=ArithOp)
    left: "Expr"
    right: "Expr"
    type: Type
    span: Span


@record
class Documented:
    """`documented x`: true when the fact (or row field) is present in the case."""
    target: Union[FactRef, FieldRef]
    span: Span
    type: Type = T_BOOL


@record
class TimeFrom:
    start: "Expr"
    end: "Expr"
    span: Span
    type: Type = T_DURATION


@record
class AtLeast:
    count: int
    items: tuple["Expr", ...]
    span: Span
    type: Type = T_BOOL


@record
class Query:
    """An operation over a history: any, all, count, count distinct, sum, last, first.

    Rows are first restricted to those dated within `within` before the request
    date (when given), then to those where `where` holds. `last`/`first` pick
    by the row's `date` field (list order if the history has none) and read
    `field`; `sum` adds `field` over the rows; `count distinct` counts the
    different values of `field` among them.
    """

    op: QueryOp = attrs.field(converter=QueryOp)
    history: FactRef
    within: Optional[Period]
    within_text: Optional[str]
    where: Optional["Expr"]
    field: Optional[str]
    type: Type
    span: Span
    value: Optional["Expr"] = None  # `sum(h of <expr>)`: per-row expression; field is then None


@record
class SetCount:
    """`count(s)` of a set fact: how many different values it holds (texts and codes compared as they match)."""
    set: FactRef
    span: Span
    type: Type = T_COUNT


@record
class Lookup:
    """`table[key]`: the entry for key (text/enum), matched like text (casefold, spaces collapsed).

    A key the table does not list has its `otherwise` entry, if it has one.
    A range entry (`3-8`) is read by its upper end, or by its lower end with
    `low` (`table[key].low`).
    """
    table: str
    key: "Expr"
    type: Type  # the table's value type
    span: Span
    low: bool = False


@record
class ValueRef:
    """A use of a named value (`let NAME = expr`): its definition travels with it.

    `expr` is a child like any other, so every walk (the facts a criterion
    reads, the back ends) goes through the definition; `label` is what a letter
    calls the value.
    """
    name: str
    label: str
    expr: "Expr"
    type: Type
    span: Span


Expr = Union[FactRef, FieldRef, RequestDate, Const, Not, Logic, Compare, Member, Between,
             Arith, Documented, TimeFrom, AtLeast, Query, Lookup, ValueRef, SetCount]


_EXPR_CLASSES = (FactRef, FieldRef, RequestDate, Const, Not, Logic, Compare, Member, Between,
                 Arith, Documented, TimeFrom, AtLeast, Query, Lookup, ValueRef, SetCount)
_EXPR_NAMES = frozenset(c.__name__ for c in _EXPR_CLASSES) | {"Expr"}


def _child_fields(cls: type) -> tuple[str, ...]:
    """The fields of an expression class that hold sub-expressions: those whose declared type names one."""
    return tuple(f.name for f in attrs.fields(cls)
                 if _EXPR_NAMES & set(re.findall(r"\w+", f.type if isinstance(f.type, str) else repr(f.type))))


#: Expression class -> the names of its fields holding sub-expressions, in declaration (= source) order.
CHILD_FIELDS: dict[type, tuple[str, ...]] = {cls: _child_fields(cls) for cls in _EXPR_CLASSES}


def children(e: Expr) -> tuple:
    """The sub-expressions of e, in source order, read off the attrs definitions above (CHILD_FIELDS)."""
    out: list = []
    for name in CHILD_FIELDS[type(e)]:
        value = getattr(e, name)
        if isinstance(value, tuple):
            out.extend(value)
        elif value is not None:
            out.append(value)
    return tuple(out)


class Visitor:
    """A walk over expressions: visit(e) calls the method named `visit_<class>` (e.g. visit_Compare).

    A class without its own method is handled by generic_visit, which visits
    the children and returns None; subclasses override what they need.
    """

    #: node class -> this visitor class's function for it, looked up once (each subclass has its own table:
    #: keyed by the node's class alone, a lookup makes no (visitor, node) tuple to hash)
    _methods: dict[type, Any] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._methods = {}

    def visit(self, e: Expr, *args: Any) -> Any:
        method = self._methods.get(type(e))
        if method is None:  # the class's own function for this kind of node, looked up once
            cls = type(self)
            method = cls._methods[type(e)] = getattr(cls, "visit_" + type(e).__name__, cls.generic_visit)
        return method(self, e, *args)

    def generic_visit(self, e: Expr, *args: Any) -> Any:
        for c in children(e):
            self.visit(c, *args)
        return None


def _facts_into(e: Expr, names: dict) -> None:
    if type(e) is FactRef:
        names[e.name] = None
        return
    for field in CHILD_FIELDS[type(e)]:
        value = getattr(e, field)
        if type(value) is tuple:
            for x in value:
                _facts_into(x, names)
        elif value is not None:
            _facts_into(value, names)


def facts_read(e: Expr) -> tuple[str, ...]:
    """Names of the facts an expression reads, in first-use order.

    A plain recursion over CHILD_FIELDS rather than a Visitor: the code generator
    and the pack description ask it about 60 times per guideline."""
    names: dict[str, None] = {}
    _facts_into(e, names)
    return tuple(names)


# --------------------------------------------------------------- declarations
@record
class Citation:
    source: str
    section: Optional[str]
    pages: Optional[str]

    def describe(self) -> str:
        parts = [self.source]
        if self.section:
            parts.append(f"section {self.section}")
        if self.pages:
            parts.append(("pages " if ("-" in self.pages or "," in self.pages) else "page ") + self.pages)
        return ", ".join(parts)

    def to_json(self) -> dict:
        return {"source": self.source, "section": self.section, "pages": self.pages}


@record
class Field:
    name: str
    type: Type
    label: str


@record
class Fact:
    name: str
    type: Type
    declared: str  # the type keyword as written: finding, count, one of, ...
    label: str
    default: Optional[Const]
    span: Span
    # "ingredients" | "classes" | "form" | "name": filled at check time from the formulary
    # product the request item names (ingredients/classes: set of text; form/name: text).
    source: Optional[str] = None
    # declared `request detail`: it describes the request (quantity, frequency, levels, approach)
    detail: bool = False
    # what the record's silence means: None (not documented, the default) or one of
    # "required", "checked when stated", "none when silent", "presumed absent when silent"
    silence: Optional[str] = None
    # `from item quantity` / `from item levels`: filled at check time from the quantity the request
    # item states ("Trigger point injections x4": 4) or the spinal levels it names ("L4-5 and L5-S1":
    # 2), unless the case gives the fact
    from_item: Optional[str] = None


@record
class TableEntry:
    key: str  # as written
    value: Const  # typed with the table's value type; a range's upper end
    low: Optional[Const] = None  # a range's lower end (`3-8`); None for a single value


@record
class Table:
    name: str
    type: Type  # value type: number, count, percent, quantity, duration or text
    label: str
    entries: tuple[TableEntry, ...]
    span: Span
    otherwise: Optional[TableEntry] = None  # `otherwise: VALUE`: the entry for every key not listed

    @property
    def ranges(self) -> bool:
        """Whether an entry is a range (`3-8`), so that a lookup may read its lower end."""
        return any(e.low is not None for e in (*self.entries, *((self.otherwise,) if self.otherwise else ())))


@record
class NamedValue:
    """`let NAME "label" = expr`: a value computed once from the facts and used by name in criteria."""
    name: str
    label: str
    expr: Expr
    span: Span

    @property
    def type(self) -> Type:
        return self.expr.type


@record
class Condition:
    """A `when` condition; criteria inside the block share this object."""
    index: int
    expr: Expr
    span: Span


@record
class Criterion:
    id: str
    exclude: bool
    expr: Expr
    says: Optional[str]
    citation: Citation
    conditions: tuple[Condition, ...]
    span: Span
    # a `count` fact the criterion reads that may be reduced for partial certification
    allows_fewer: Optional[str] = None
    # `shows "the current regimen totals {} mg ..."`: the computed value in a letter's words
    shows: Optional[str] = None


@record
class Service:
    kind: str  # "name" | "cpt" | "hcpcs" | "class" | "ingredient" | "form" (drug services: value is the name)
    value: str


@record
class Example:
    name: str
    request_date: Optional[datetime.date]
    facts: tuple[tuple[str, object], ...]  # fact name -> value (rows as tuples of pairs)
    certified: bool
    reasons: tuple[tuple[str, str], ...]  # (criterion id, outcome)
    span: Span
    modified: Optional[int] = None  # `expect modified 6 because ...`


@record
class OnDenial:
    """The sentence every letter that does not certify a request of this guideline carries, with its citation."""

    text: str
    citation: Citation


@record
class Guideline:
    id: str
    title: str
    citation: Citation
    services: tuple[Service, ...]
    states: Optional[str]
    version: Optional[str]
    facts: tuple[Fact, ...]
    criteria: tuple[Criterion, ...]
    conditions: tuple[Condition, ...]
    examples: tuple[Example, ...]
    path: str
    span: Span
    tables: tuple["Table", ...] = ()
    on_denial: Optional[OnDenial] = None
    #: the dates of the requests this edition applies to (both inclusive; None: open)
    in_force: Optional[tuple[Optional[datetime.date], Optional[datetime.date]]] = None
    #: for a source outside the MTUS, its rank in the evidence hierarchy (8 CCR 9792.25); None: an MTUS guideline
    not_mtus_rank: Optional[int] = None
    #: the named values (`let`), in source order
    values: tuple[NamedValue, ...] = ()

    def fact(self, name: str) -> Optional[Fact]:
        for f in self.facts:
            if f.name == name:
                return f
        return None


# ------------------------------------------------------------------ formulary
@record
class Ingredient:
    name: str
    classes: tuple[str, ...]
    span: Span


@record
class Product:
    name: str
    ingredients: tuple[str, ...]
    form: Optional[str]
    span: Span


@record
class Formulary:
    """A drug vocabulary file: ingredients with their classes, products with ingredients and form."""
    id: str
    title: str
    citation: Optional[Citation]
    ingredients: tuple[Ingredient, ...]
    products: tuple[Product, ...]
    path: str
    span: Span
