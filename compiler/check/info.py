"""The typed handoff from compile time to check time: what a pack says about each guideline.

build/packinfo.py makes these from the checked model; a pack stores them as
lines of `descriptions.jsonl` (to_json) and check time reads them back (from_json):
case files are read by the facts' types, requests routed by the services,
and letters and rationale phrased from the criteria's statements and shapes.
The pack's drug vocabulary (`formulary.json`, FormularyInfo) is handed over the
same way.
Plain classes over JSON values (check/record.py); nothing here imports the front end.
"""

from __future__ import annotations

from enum import Enum

from mtus.compiler.check.runtime import Record, as_dict

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Mapping, Optional

    Json = Any

#: The version of the JSON written by to_json; from_json refuses any other.
INFO_FORMAT = 1


class FieldKind(str, Enum):
    """The kind of a value a case documents; as str, the word the pack's JSON writes.

    Members compare, hash, print and serialize as their value (enum.StrEnum from
    Python 3.11 does this; the project supports 3.10). dsl/model.py's Kind is the
    compile-time counterpart (check time imports nothing from dsl/): its "bool"
    is "finding" here, and a code is read as "text".
    """

    FINDING = "finding"
    COUNT = "count"
    NUMBER = "number"
    PERCENT = "percent"
    QUANTITY = "quantity"
    DURATION = "duration"
    DATE = "date"
    TEXT = "text"
    ENUM = "enum"
    SET = "set"
    HISTORY = "history"

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class ShapeKind(str, Enum):
    """How a criterion's finding is phrased with the case's values (see Shape); as str, the word in the JSON."""

    LIMIT = "limit"
    ELAPSED = "elapsed"
    FINDING = "finding"
    NO_FINDING = "no_finding"
    FINDINGS = "findings"
    MEMBER = "member"
    CONTAINS = "contains"
    COMPARE = "compare"
    GENERAL = "general"

    __str__ = FieldKind.__str__
    __format__ = FieldKind.__format__


def _tuple(items: Optional[list[Any]]) -> Optional[tuple[Any, ...]]:
    return None if items is None else tuple(items)


class Citation(Record):
    """Where a guideline or criterion comes from: source, section and pages as written."""

    __slots__ = ("source", "section", "pages")
    source: str
    section: Optional[str]
    pages: Optional[str]

    def __init__(self, source: str, section: Optional[str] = None, pages: Optional[str] = None) -> None:
        self.source = source
        self.section = section
        self.pages = pages

    def to_json(self) -> Json:
        return {"source": self.source, "section": self.section, "pages": self.pages}

    @classmethod
    def from_json(cls, data: Json) -> Citation:
        return cls(data["source"], data.get("section"), data.get("pages"))


class FieldInfo(Record):
    """The type of a value a case documents, and its label: a history's field, or a set's element (no label).

    `kind`: a quantity has a `unit`, an enum its `members`, a set its
    `element`, a history its `fields`.
    """

    __slots__ = ("kind", "label", "unit", "members", "element", "fields")
    kind: FieldKind
    label: Optional[str]
    unit: Optional[str]
    members: Optional[tuple[str, ...]]
    element: Optional[FieldInfo]
    fields: Optional[Mapping[str, FieldInfo]]

    def __init__(self, kind: FieldKind | str, label: Optional[str] = None, unit: Optional[str] = None,
                 members: Optional[tuple[str, ...]] = None, element: Optional[FieldInfo] = None,
                 fields: Optional[Mapping[str, FieldInfo]] = None) -> None:
        self.kind = FieldKind(kind)
        self.label = label
        self.unit = unit
        self.members = members
        self.element = element
        self.fields = fields

    def to_json(self) -> Json:
        out: dict[str, Json] = {"kind": self.kind.value}
        if self.label is not None:
            out["label"] = self.label
        if self.unit is not None:
            out["unit"] = self.unit
        if self.members is not None:
            out["members"] = list(self.members)
        if self.element is not None:
            out["element"] = self.element.to_json()
        if self.fields is not None:
            out["fields"] = {name: f.to_json() for name, f in self.fields.items()}
        return out

    @staticmethod
    def _parts(data: Json) -> dict[str, Any]:
        element, fields = data.get("element"), data.get("fields")
        return {"kind": data["kind"], "label": data.get("label"), "unit": data.get("unit"),
                "members": _tuple(data.get("members")),
                "element": None if element is None else FieldInfo.from_json(element),
                "fields": None if fields is None else {n: FieldInfo.from_json(f) for n, f in fields.items()}}

    @classmethod
    def from_json(cls, data: Json) -> FieldInfo:
        return cls(**cls._parts(data))


class FactInfo(FieldInfo):
    """A fact the guideline declares: its type and label, its default, the product part it is read from."""

    __slots__ = ("default", "from_product", "silence", "detail", "from_item")
    default: Json  # as JSON: "12.5" for a number, {"months": 1, "days": 0} for a period, an ISO date
    from_product: Optional[str]
    #: what a silent record means for it ("required", "checked when stated", "none when silent",
    #: "presumed absent when silent") and whether it is a request detail
    silence: Optional[str]
    detail: bool
    #: `from item quantity` / `from item levels`: the request item's quantity or number of spinal levels
    #: fills it ("quantity", "levels"), unless the case gives it
    from_item: Optional[str]

    def __init__(self, kind: FieldKind | str, label: Optional[str] = None, unit: Optional[str] = None,
                 members: Optional[tuple[str, ...]] = None, element: Optional[FieldInfo] = None,
                 fields: Optional[Mapping[str, FieldInfo]] = None, default: Json = None,
                 from_product: Optional[str] = None, silence: Optional[str] = None, detail: bool = False,
                 from_item: Optional[str] = None) -> None:
        FieldInfo.__init__(self, kind, label, unit, members, element, fields)
        self.default = default
        self.from_product = from_product
        self.silence = silence
        self.detail = detail
        self.from_item = from_item

    def to_json(self) -> Json:
        out = super().to_json()
        out["default"] = self.default
        if self.from_product is not None:
            out["from_product"] = self.from_product
        out["silence"] = self.silence
        out["detail"] = self.detail
        if self.from_item is not None:  # written only where declared: every other fact keeps its keys
            out["from_item"] = self.from_item
        return out

    @classmethod
    def from_json(cls, data: Json) -> FactInfo:
        return cls(**cls._parts(data), default=data.get("default"), from_product=data.get("from_product"),
                   silence=data.get("silence"), detail=bool(data.get("detail", False)),
                   from_item=data.get("from_item"))


class ComputedInfo(FieldInfo):
    """A value a criterion computes (a sum, a lookup, an elapsed time), as its trace and letters show it.

    `expr` is the expression as the guideline writes it (the key of the
    runtime's Computed values); `label` says it in words; `compared`: the
    criterion compares it directly (not only a part of it); `table_label`:
    the table a lookup reads.
    """

    __slots__ = ("expr", "compared", "table_label", "pick", "since")
    expr: str
    compared: bool
    table_label: Optional[str]
    #: `last(h).field` / `first(h).field`: ("most recent" or "earliest", the history's label, the field's label)
    pick: Optional[tuple[str, str, str]]
    since: Optional[str]  # `time from X to request.date`: X as written

    def __init__(self, kind: FieldKind | str, label: Optional[str] = None, unit: Optional[str] = None,
                 members: Optional[tuple[str, ...]] = None, element: Optional[FieldInfo] = None,
                 fields: Optional[Mapping[str, FieldInfo]] = None, expr: str = "", compared: bool = True,
                 table_label: Optional[str] = None, pick: Optional[tuple[str, str, str]] = None,
                 since: Optional[str] = None) -> None:
        FieldInfo.__init__(self, kind, label, unit, members, element, fields)
        self.expr = expr
        self.compared = compared
        self.table_label = table_label
        self.pick = pick
        self.since = since

    def to_json(self) -> Json:
        out = super().to_json()
        out["expr"], out["compared"] = self.expr, self.compared
        if self.table_label is not None:
            out["table_label"] = self.table_label
        if self.pick is not None:
            out["pick"] = list(self.pick)
        if self.since is not None:
            out["since"] = self.since
        return out

    @classmethod
    def from_json(cls, data: Json) -> ComputedInfo:
        pick = data.get("pick")
        return cls(**cls._parts(data), expr=data["expr"], compared=data.get("compared", True),
                   table_label=data.get("table_label"), pick=None if pick is None else (pick[0], pick[1], pick[2]),
                   since=data.get("since"))


class Operand(Record):
    """One side of a compared value, as a letter shows it: a `fact`, a `const` (as written), or a `computed` value.

    A computed value names its expression; a table lookup keyed by a fact has
    `key`; arithmetic has its two `parts` and the `word` between them ("plus").
    """

    __slots__ = ("fact", "const", "computed", "key", "parts", "word")
    fact: Optional[str]
    const: Optional[str]
    computed: Optional[str]
    key: Optional[str]
    parts: Optional[tuple[Operand, ...]]
    word: Optional[str]

    def __init__(self, fact: Optional[str] = None, const: Optional[str] = None, computed: Optional[str] = None,
                 key: Optional[str] = None, parts: Optional[tuple[Operand, ...]] = None,
                 word: Optional[str] = None) -> None:
        self.fact = fact
        self.const = const
        self.computed = computed
        self.key = key
        self.parts = parts
        self.word = word

    def to_json(self) -> Json:
        out: dict[str, Json] = {k: v for k, v in as_dict(self).items() if v is not None}
        if self.parts is not None:
            out["parts"] = [p.to_json() for p in self.parts]
        return out

    @classmethod
    def from_json(cls, data: Json) -> Operand:
        parts = data.get("parts")
        return cls(data.get("fact"), data.get("const"), data.get("computed"), data.get("key"),
                   None if parts is None else tuple(Operand.from_json(p) for p in parts), data.get("word"))


class Shape(Record):
    """How a finding for a criterion is phrased with the case's values; which parts are set depends on `kind`.

    limit: `fact op limit`; elapsed: time from `fact` (to the request when
    `to_request`) `op limit`; finding / no_finding: `fact`; findings: `facts`
    joined by `op`; member / contains: `fact op values`; compare: `left op
    right` where a side is computed; general: anything else. `disjunctive`:
    any one missing fact may decide the criterion.
    """

    __slots__ = ("kind", "fact", "op", "limit", "to_request", "facts", "values", "disjunctive", "left", "right")
    kind: ShapeKind
    fact: Optional[str]
    op: Optional[str]
    limit: Optional[str]
    to_request: Optional[bool]
    facts: Optional[tuple[str, ...]]
    values: Optional[str]
    disjunctive: Optional[bool]
    left: Optional[Operand]
    right: Optional[Operand]

    def __init__(self, kind: ShapeKind | str, fact: Optional[str] = None, op: Optional[str] = None,
                 limit: Optional[str] = None, to_request: Optional[bool] = None,
                 facts: Optional[tuple[str, ...]] = None, values: Optional[str] = None,
                 disjunctive: Optional[bool] = None, left: Optional[Operand] = None,
                 right: Optional[Operand] = None) -> None:
        self.kind = ShapeKind(kind)
        self.fact = fact
        self.op = op
        self.limit = limit
        self.to_request = to_request
        self.facts = facts
        self.values = values
        self.disjunctive = disjunctive
        self.left = left
        self.right = right

    def to_json(self) -> Json:
        out = {k: v for k, v in as_dict(self).items() if v is not None}
        out["kind"] = self.kind.value
        if self.facts is not None:
            out["facts"] = list(self.facts)
        for side in ("left", "right"):
            if out.get(side) is not None:
                out[side] = out[side].to_json()
        return out

    @classmethod
    def from_json(cls, data: Json) -> Shape:
        left, right = data.get("left"), data.get("right")
        return cls(data["kind"], data.get("fact"), data.get("op"), data.get("limit"), data.get("to_request"),
                   _tuple(data.get("facts")), data.get("values"), data.get("disjunctive"),
                   None if left is None else Operand.from_json(left),
                   None if right is None else Operand.from_json(right))


class CriterionInfo(Record):
    """One criterion: its statement (as the guideline says it, or generated), shape, `when` clauses and line."""

    __slots__ = ("id", "exclude", "statement", "said", "generated", "shape", "when", "when_facts", "allows_fewer",
                 "citation", "line", "computed", "reads", "shows")
    id: str
    exclude: bool
    statement: str
    said: bool  # the statement is the guideline's own `says`, not generated
    generated: str  # the statement generated from the condition, whether or not `says` replaces it
    shape: Shape
    when: tuple[str, ...]  # the enclosing `when` conditions as clauses, outermost first
    when_facts: tuple[str, ...]  # the facts those conditions read, sorted
    allows_fewer: Optional[str]
    citation: Citation
    line: int
    computed: tuple[ComputedInfo, ...]  # the values it computes, in the order the runtime reports them
    reads: tuple[str, ...]  # the facts its own condition reads, first use first (templates, reference pages)
    shows: Optional[str]  # `shows "... {} ..."`: the author's words for the computed value it compares

    def __init__(self, id: str, exclude: bool, statement: str, said: bool, generated: str, shape: Shape,
                 when: tuple[str, ...], when_facts: tuple[str, ...], allows_fewer: Optional[str], citation: Citation,
                 line: int, computed: tuple[ComputedInfo, ...] = (), reads: tuple[str, ...] = (),
                 shows: Optional[str] = None) -> None:
        self.id = id
        self.exclude = exclude
        self.statement = statement
        self.said = said
        self.generated = generated
        self.shape = shape
        self.when = when
        self.when_facts = when_facts
        self.allows_fewer = allows_fewer
        self.citation = citation
        self.line = line
        self.computed = computed
        self.reads = reads
        self.shows = shows

    def to_json(self) -> Json:
        return {"id": self.id, "exclude": self.exclude, "statement": self.statement, "said": self.said,
                "generated": self.generated, "shape": self.shape.to_json(), "when": list(self.when),
                "when_facts": list(self.when_facts), "allows_fewer": self.allows_fewer,
                "citation": self.citation.to_json(), "line": self.line,
                "computed": [x.to_json() for x in self.computed], "reads": list(self.reads),
                **({} if self.shows is None else {"shows": self.shows})}

    @classmethod
    def from_json(cls, data: Json) -> CriterionInfo:
        return cls(data["id"], data["exclude"], data["statement"], data["said"], data["generated"],
                   Shape.from_json(data["shape"]), tuple(data["when"]), tuple(data["when_facts"]),
                   data.get("allows_fewer"), Citation.from_json(data["citation"]), data["line"],
                   tuple(ComputedInfo.from_json(x) for x in data.get("computed", ())), tuple(data.get("reads", ())),
                   data.get("shows"))

    def computed_entry(self, expr: Optional[str]) -> Optional[ComputedInfo]:
        """The computed value written `expr`, if this criterion computes it."""
        return next((x for x in self.computed if x.expr == expr), None)


class Service(Record):
    """A service a guideline covers: kind "name", "cpt", "hcpcs", "class", "ingredient" or "form", and its value."""

    __slots__ = ("kind", "value")
    kind: str
    value: str

    def __init__(self, kind: str, value: str) -> None:
        self.kind = kind
        self.value = value

    def to_json(self) -> Json:
        return {"kind": self.kind, "value": self.value}

    @classmethod
    def from_json(cls, data: Json) -> Service:
        return cls(data["kind"], data["value"])


class TableInfo(Record):
    """A table of the guideline: its entries as (key, value as written)."""

    __slots__ = ("name", "label", "entries")
    name: str
    label: str
    entries: tuple[tuple[str, str], ...]

    def __init__(self, name: str, label: str, entries: tuple[tuple[str, str], ...]) -> None:
        self.name = name
        self.label = label
        self.entries = entries

    def to_json(self) -> Json:
        return {"name": self.name, "label": self.label, "entries": [list(e) for e in self.entries]}

    @classmethod
    def from_json(cls, data: Json) -> TableInfo:
        return cls(data["name"], data["label"], tuple((k, v) for k, v in data["entries"]))


class OnDenialInfo(Record):
    """A guideline's `on denial says`: the sentence every letter that does not certify carries, and its citation."""

    __slots__ = ("text", "citation")
    text: str
    citation: Citation

    def __init__(self, text: str, citation: Citation) -> None:
        self.text = text
        self.citation = citation

    def to_json(self) -> Json:
        return {"text": self.text, "citation": self.citation.to_json()}

    @classmethod
    def from_json(cls, data: Json) -> OnDenialInfo:
        return cls(data["text"], Citation.from_json(data["citation"]))


class InForce(Record):
    """The dates of the requests an edition applies to (ISO dates, both inclusive; None: open)."""

    __slots__ = ("start", "end")
    start: Optional[str]
    end: Optional[str]

    def __init__(self, start: Optional[str] = None, end: Optional[str] = None) -> None:
        self.start = start
        self.end = end

    def to_json(self) -> Json:
        return {"from": self.start, "until": self.end}

    @classmethod
    def from_json(cls, data: Json) -> InForce:
        return cls(data.get("from"), data.get("until"))


class GuidelineInfo(Record):
    """Everything check time knows about a guideline besides its compiled checker."""

    __slots__ = ("id", "title", "citation", "citation_text", "version", "services", "states", "facts", "tables",
                 "criteria", "on_denial", "in_force", "not_mtus_rank")
    id: str
    title: str
    citation: Citation
    citation_text: str  # the citation in words: "MTUS ..., section 2, page 122"
    version: Optional[str]
    services: tuple[Service, ...]
    states: Optional[str]
    facts: Mapping[str, FactInfo]  # in declaration order
    tables: tuple[TableInfo, ...]
    criteria: tuple[CriterionInfo, ...]  # in source order
    on_denial: Optional[OnDenialInfo]
    in_force: Optional[InForce]  # the edition's period; None: applied whatever the date
    not_mtus_rank: Optional[int]  # a source outside the MTUS: its rank in 8 CCR 9792.25 (2 or 3)

    def __init__(self, id: str, title: str, citation: Citation, citation_text: str, version: Optional[str],
                 services: tuple[Service, ...], states: Optional[str], facts: Mapping[str, FactInfo],
                 tables: tuple[TableInfo, ...], criteria: tuple[CriterionInfo, ...],
                 on_denial: Optional[OnDenialInfo] = None, in_force: Optional[InForce] = None,
                 not_mtus_rank: Optional[int] = None) -> None:
        self.id = id
        self.title = title
        self.citation = citation
        self.citation_text = citation_text
        self.version = version
        self.services = services
        self.states = states
        self.facts = facts
        self.tables = tables
        self.criteria = criteria
        self.on_denial = on_denial
        self.in_force = in_force
        self.not_mtus_rank = not_mtus_rank

    def to_json(self) -> Json:
        out = {"format": INFO_FORMAT, "id": self.id, "title": self.title, "citation": self.citation.to_json(),
               "citation_text": self.citation_text, "version": self.version,
               "services": [s.to_json() for s in self.services], "states": self.states,
               "facts": {name: f.to_json() for name, f in self.facts.items()},
               "tables": [t.to_json() for t in self.tables], "criteria": [c.to_json() for c in self.criteria]}
        if self.in_force is not None:
            out["in_force"] = self.in_force.to_json()
        if self.not_mtus_rank is not None:
            out["not_mtus_rank"] = self.not_mtus_rank
        if self.on_denial is not None:
            out["on_denial"] = self.on_denial.to_json()
        return out

    @classmethod
    def from_json(cls, data: Json) -> GuidelineInfo:
        """Raises ValueError for another format, KeyError or TypeError for malformed data."""
        if data.get("format") != INFO_FORMAT:
            raise ValueError(f"guideline description format {data.get('format')!r}; this mtus reads {INFO_FORMAT}")
        return cls(data["id"], data["title"], Citation.from_json(data["citation"]), data["citation_text"],
                   data.get("version"), tuple(Service.from_json(s) for s in data["services"]), data.get("states"),
                   {name: FactInfo.from_json(f) for name, f in data["facts"].items()},
                   tuple(TableInfo.from_json(t) for t in data["tables"]),
                   tuple(CriterionInfo.from_json(c) for c in data["criteria"]),
                   None if data.get("on_denial") is None else OnDenialInfo.from_json(data["on_denial"]),
                   InForce.from_json(data["in_force"]) if data.get("in_force") else None,
                   data.get("not_mtus_rank"))


def _texts(data: Json) -> tuple[str, ...]:
    """A JSON list of strings, as a tuple; TypeError for anything else (a pack is not trusted to be well formed)."""
    if not isinstance(data, list) or not all(type(x) is str for x in data):
        raise TypeError("expected a list of strings")
    return tuple(data)


class ProductInfo(Record):
    """A drug product of the formulary: its ingredients and its dosage form (None: not stated)."""

    __slots__ = ("ingredients", "form")
    ingredients: tuple[str, ...]
    form: Optional[str]

    def __init__(self, ingredients: tuple[str, ...], form: Optional[str] = None) -> None:
        self.ingredients = ingredients
        self.form = form

    def to_json(self) -> Json:
        return {"ingredients": list(self.ingredients), "form": self.form}

    @classmethod
    def from_json(cls, data: Json) -> ProductInfo:
        form = data["form"]
        if form is not None and type(form) is not str:
            raise TypeError("a product's form is a string")
        return cls(_texts(data["ingredients"]), form)


class FormularyInfo(Record):
    """The pack's drug vocabulary (formulary.json): ingredients with their drug classes, products by name.

    Check time routes a drug request by it (check/routing.py); build/packinfo.py
    makes it from a `formulary` file, and several files merge into one (packwriter).
    """

    __slots__ = ("id", "title", "citation", "ingredients", "products")
    id: str
    title: str
    citation: Optional[Citation]
    ingredients: Mapping[str, tuple[str, ...]]  # ingredient name -> its drug classes
    products: Mapping[str, ProductInfo]  # product name (brand or generic) -> ingredients and form

    def __init__(self, id: str, title: str, citation: Optional[Citation], ingredients: Mapping[str, tuple[str, ...]],
                 products: Mapping[str, ProductInfo]) -> None:
        self.id = id
        self.title = title
        self.citation = citation
        self.ingredients = ingredients
        self.products = products

    def to_json(self) -> Json:
        return {"id": self.id, "title": self.title,
                "citation": None if self.citation is None else self.citation.to_json(),
                "ingredients": {name: list(classes) for name, classes in self.ingredients.items()},
                "products": {name: p.to_json() for name, p in self.products.items()}}

    @classmethod
    def from_json(cls, data: Json) -> FormularyInfo:
        """Raises KeyError, TypeError or AttributeError for malformed data."""
        citation = data["citation"]
        return cls(data["id"], data["title"], None if citation is None else Citation.from_json(citation),
                   {name: _texts(classes) for name, classes in data["ingredients"].items()},
                   {name: ProductInfo.from_json(p) for name, p in data["products"].items()})
