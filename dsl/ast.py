"""The syntax tree of a `.mtus` file: attrs nodes, each with a source span, never changed once built.

These nodes mirror what the author wrote, names unresolved and types unknown.
dsl/build.py creates them from Lark's tree once; the checking passes read them
and produce the checked model (dsl/model.py). Nothing here knows about Lark.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Optional, Union

import attrs

from mtus.dsl.source import Span

#: The nodes' class decorator: slotted, compared and hashed by value, and not changed once built, but not
#: attrs-frozen: a frozen class's `__init__` sets each field through object.__setattr__, which was a fifth
#: of building the tree (about 300 nodes a guideline); nothing assigns to a node's fields.
node = attrs.define(unsafe_hash=True)


# ---------------------------------------------------------------- expressions
@node
class Path:
    """A dotted name: `injections`, `request.date`."""
    parts: tuple[str, ...]
    span: Span
    part_spans: tuple[Span, ...] = ()

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@node
class NumberLit:
    """A number, optionally followed by a unit word: `4`, `120 MME/day`, `3 months`."""
    value: Decimal
    text: str
    unit: Optional[str]
    span: Span
    unit_span: Optional[Span] = None


@node
class PercentLit:
    value: Decimal
    text: str
    span: Span


@node
class StringLit:
    value: str
    span: Span


@node
class DateLit:
    text: str
    span: Span


@node
class FindingLit:
    """`present` or `absent`, the two documented states of a finding."""
    present: bool
    span: Span


@node
class SetLit:
    items: tuple["Expr", ...]
    span: Span


@node
class Not:
    operand: "Expr"
    span: Span


@node
class Logic:
    """`a and b and c` or `a or b`: operands kept flat, in source order."""
    op: str  # "and" | "or"
    operands: tuple["Expr", ...]
    span: Span


@node
class Compare:
    op: str  # < <= > >= = !=
    left: "Expr"
    right: "Expr"
    span: Span
    op_span: Optional[Span] = None


@node
class Membership:
    """`x in S`, `x not in S`, `S contains x`, `S contains any of T`, `S contains only T`."""
    op: str  # "in" | "not in" | "contains" | "contains any of" | "contains only"
    left: "Expr"
    right: "Expr"
    span: Span


@node
class Between:
    value: "Expr"
    low: "Expr"
    high: "Expr"
    span: Span


@node
class Arith:
    op: str  # + - * /
    left: "Expr"
    right: "Expr"
    span: Span


@node
class Documented:
    path: Path
    span: Span


@node
class TimeFrom:
    start: "Expr"
    end: "Expr"
    span: Span


@node
class AtLeast:
    count: int
    items: tuple["Expr", ...]
    span: Span


@node
class Aggregate:
    """`any(h)`, `count(h within 12 months where ...)`, `last(h).field`, `sum(h.field)`, `sum(h of expr)`."""
    op: str  # any all count sum last first, or "count distinct"
    target: Path
    within: Optional["Literal"]
    where: Optional["Expr"]
    field: Optional[str]
    span: Span
    field_span: Optional[Span] = None
    value: Optional["Expr"] = None  # `sum(h of <expr>)`: the expression added up per entry


@node
class Lookup:
    """`table[key]`, or `table[key].low` / `.high`: the table's entry for the key (a range's end)."""
    table: str
    key: "Expr"
    span: Span
    table_span: Span
    end: Optional[str] = None  # the word after the dot, as written
    end_span: Optional[Span] = None


Literal = Union[NumberLit, PercentLit, StringLit, DateLit, FindingLit]
Expr = Union[
    Path, NumberLit, PercentLit, StringLit, DateLit, FindingLit, SetLit, Not, Logic,
    Compare, Membership, Between, Arith, Documented, TimeFrom, AtLeast, Aggregate, Lookup,
]


_EXPR_CLASSES = (Path, NumberLit, PercentLit, StringLit, DateLit, FindingLit, SetLit, Not, Logic,
                 Compare, Membership, Between, Arith, Documented, TimeFrom, AtLeast, Aggregate, Lookup)
_EXPR_NAMES = frozenset(c.__name__ for c in _EXPR_CLASSES) | {"Expr", "Literal"}

#: Expression node class -> the names of its fields holding sub-expressions, read off the definitions above.
CHILD_FIELDS: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in attrs.fields(cls) if _EXPR_NAMES & set(re.findall(r"\w+", str(f.type))))
    for cls in _EXPR_CLASSES
}


def children(e: Expr) -> tuple:
    """The sub-expressions of a node, in source order (an aggregate's history path and `within` included)."""
    out: list = []
    for name in CHILD_FIELDS[type(e)]:
        value = getattr(e, name)
        if isinstance(value, tuple):
            out.extend(value)
        elif value is not None:
            out.append(value)
    return tuple(out)


# --------------------------------------------------------------- declarations
@node
class Pages:
    """Page references as written: `122`, `74-96`, `29, 41-42`."""
    specs: tuple[str, ...]
    span: Span

    @property
    def text(self) -> str:
        return ", ".join(self.specs)


@node
class Citation:
    source: Optional[str]
    section: Optional[str]
    pages: Optional[Pages]
    span: Span


@node
class Service:
    kind: str  # "name" | "cpt" | "hcpcs" | "class" | "ingredient" | "form"
    value: str
    span: Span


@node
class TypeRef:
    """A declared type: `finding`, `quantity mg`, `one of {...}`, `set of text`, `history`."""
    kind: str
    span: Span
    unit: Optional[str] = None
    members: tuple[StringLit, ...] = ()


@node
class Field:
    name: str
    type: TypeRef
    label: Optional[str]
    span: Span
    name_span: Span


@node
class Fact:
    name: str
    type: TypeRef
    label: Optional[str]
    default: Optional[Literal]
    fields: tuple[Field, ...]
    span: Span
    name_span: Span
    #: `from product FIELD`: the product field as written, and its span
    source: Optional[str] = None
    source_span: Optional[Span] = None
    #: the silence rules after commas, in order: `request detail`, `required`, ...
    rules: tuple["Rule", ...] = ()
    #: `from item PART` (`from item quantity`): the part of the request item as written, and its span
    from_item: Optional[str] = None
    from_item_span: Optional[Span] = None


@node
class Rule:
    """One clause after a comma in a fact declaration: `request detail`, `required`, `checked when stated`,
    `none when silent` or `presumed absent when silent` (the words as written, spaces single)."""
    words: str
    span: Span


@node
class RangeLit:
    """`3-8` or `3-5 weeks` in a table entry: both ends, each with the unit written after the second."""
    low: NumberLit
    high: NumberLit
    span: Span


@node
class TableEntry:
    key: StringLit
    value: Union[Literal, RangeLit]
    span: Span


@node
class Table:
    """`name: type "label"` under `tables`, with its `"key": value` entries indented below."""
    name: str
    type: TypeRef
    label: Optional[str]
    entries: tuple[TableEntry, ...]
    span: Span
    name_span: Span
    #: `otherwise: VALUE`, the value for the keys the table does not list (its key is the word `otherwise`)
    otherwise: Optional[TableEntry] = None


@node
class Criterion:
    id: str
    exclude: bool
    expr: Expr
    says: Optional[str]
    citation: Optional[Citation]
    span: Span
    id_span: Span
    #: `allows fewer NAME`: the fact as written, and the span of the name
    allows_fewer: Optional[str] = None
    allows_fewer_span: Optional[Span] = None
    #: `shows "... {} ..."`: how a letter states the computed value the criterion compares
    shows: Optional[str] = None
    shows_span: Optional[Span] = None


@node
class Let:
    """`let NAME = expr` under `criteria`, with an indented `says "label"`: a value the criteria below may use."""
    name: str
    label: Optional[str]
    expr: "Expr"
    span: Span
    name_span: Span
    #: the span of the `when` it was written under, if any (not allowed: E413)
    under_when: Optional[Span] = None


@node
class When:
    condition: Expr
    items: tuple[Union[Criterion, "When"], ...]
    span: Span


@node
class Row:
    values: tuple[tuple[str, Literal, Span], ...]
    span: Span


@node
class Given:
    """`fact = value` in an example: a literal, a set of literals, or history rows."""
    path: Path
    value: Union[Literal, SetLit, tuple[Row, ...]]
    span: Span
    op: str = "="  # as written; only `=` is meaningful
    op_span: Optional[Span] = None


@node
class Reason:
    criterion: str
    outcome: str  # "met" | "not met" | "not documented" | "not applicable"
    span: Span


@node
class Example:
    name: str
    givens: tuple[Given, ...]
    certified: bool
    reasons: tuple[Reason, ...]
    span: Span
    #: `expect modified N`: N, and the span of the number
    modified: Optional[int] = None
    modified_span: Optional[Span] = None


@node
class OnDenial:
    """`on denial says "..."`: a sentence every letter that does not certify the request carries."""

    text: str
    citation: Optional[Citation]  # its own `cite`, if any
    span: Span


@node
class InForce:
    """`in force from D [until D]` / `in force until D`: the dates of the requests this edition applies to."""

    start: Optional[str]  # the date as written, or None for "until" only
    end: Optional[str]
    span: Span
    start_span: Optional[Span] = None
    end_span: Optional[Span] = None


@node
class NotMtus:
    """`not mtus rank N`: a source outside the MTUS, at rank N of the evidence hierarchy (8 CCR 9792.25)."""

    rank: int
    span: Span


@node
class Guideline:
    id: str
    title: str
    citation: Optional[Citation]
    services: tuple[Service, ...]
    states: Optional[str]
    version: Optional[str]
    facts: tuple[Fact, ...]
    criteria: tuple[Union[Criterion, When], ...]
    examples: tuple[Example, ...]
    span: Span
    id_span: Span
    #: lines that may appear once but were repeated: (keyword, span of the repeat, span of the first)
    repeated: tuple[tuple[str, Span, Span], ...] = ()
    tables: tuple[Table, ...] = ()
    on_denial: Optional[OnDenial] = None
    in_force: Optional[InForce] = None
    not_mtus: Optional[NotMtus] = None
    #: the named values (`let`), in source order, wherever they were written
    lets: tuple[Let, ...] = ()


# ------------------------------------------------------------------ formulary
@node
class Ingredient:
    """`"name": "class", ...` under `ingredients`."""
    name: StringLit
    classes: tuple[StringLit, ...]
    span: Span


@node
class Product:
    """`"Name": "ingredient", ... as "form"` under `products`."""
    name: StringLit
    ingredients: tuple[StringLit, ...]
    form: Optional[StringLit]
    span: Span


@node
class Formulary:
    id: str
    title: str
    citation: Optional[Citation]
    ingredients: tuple[Ingredient, ...]
    products: tuple[Product, ...]
    span: Span
    id_span: Span
    repeated: tuple[tuple[str, Span, Span], ...] = ()
