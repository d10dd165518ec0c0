"""The syntax tree built bottom-up, one rule at a time, as the parser's happy path reduces: no Lark tree between.

Each maker below does for one rule (by its tree name) what dsl/build.py does
for that node of Lark's tree, from what the rule's children already built;
dsl/parser.py's _HappyPath filters the children as Lark would and passes
each maker the tokens its text starts and ends with, by Lark's rules. What
depends on more than a node's children is kept in the _Context of the file:
the lines repeated (in dsl/build.py's order: table rows and criterion lines,
then the header's), the `let`s in source order (given their `when` when it
reduces) and each expression's height. An expression nested too deep gives
up (GiveUp): Lark then parses the file and dsl/build.py reports it.
tests/test_parser_reduce.py compares every tree with dsl/build.py's.
"""

from __future__ import annotations

from decimal import Decimal

from mtus.dsl import ast
from mtus.dsl.build import _MEMBERSHIP, _RULE_WORDS, MAX_DEPTH, string_value, text_value
from mtus.dsl.source import Span


#: A token, as the happy path makes them here: (type, value, start_pos, line, column, end_line, end_column, end_pos).
Tok = tuple


class GiveUp(Exception):
    """Something dsl/build.py must report (an expression nested too deep): Lark parses the file instead."""


class _Context:
    """What building one file's tree keeps beyond each node's children."""

    __slots__ = ("file", "nothing", "repeated", "lets", "heights")

    def __init__(self, file: str):
        self.file = file
        self.nothing = Span(file, 0, 0, 1, 1, 1, 1)  # the span of a rule that matched nothing
        self.repeated: list = []  # (keyword, span, first span): table rows and criterion lines
        self.lets: list = []  # each _Let, in source order
        self.heights: dict = {}  # id(expression) -> levels of expressions it nests (1 if absent)


def _span(c: _Context, s: Tok | None, e: Tok) -> Span:
    if s is None:
        return c.nothing
    return Span(c.file, s[2], e[7], s[3], s[4], e[5], e[6])


def _tok(c: _Context, t: Tok) -> Span:
    return Span(c.file, t[2], t[7], t[3], t[4], t[5], t[6])


def _text(t: Tok) -> str:
    return text_value(t[0], t[1])


def _height(c: _Context, node, *children) -> None:
    """Note an expression's height; as high as dsl/build.py refuses (an expression at a depth over MAX_DEPTH, the
    outermost at depth 0): give up. (A height noted of an object since freed, its id reused, can only be too high.)"""
    get = c.heights.get
    h = 1 + max(get(id(x), 1) for x in children)
    if h > MAX_DEPTH + 1:
        raise GiveUp
    c.heights[id(node)] = h


# ------------------------------------------------------------- literals
def _number(c, k, s, e):
    num, unit = k
    text = num[1]
    if unit is None:
        return ast.NumberLit(Decimal(text), text, None, _span(c, s, e), None)
    return ast.NumberLit(Decimal(text), text, unit[1], _span(c, s, e), _tok(c, unit))


def _percent(c, k, s, e):
    text = k[0][1]
    return ast.PercentLit(Decimal(text), text, _span(c, s, e))


def _string(c, k, s, e):
    return ast.StringLit(string_value(k[0][1]), _span(c, s, e))


def _date(c, k, s, e):
    return ast.DateLit(k[0][1], _span(c, s, e))


def _present(c, k, s, e):
    return ast.FindingLit(True, _span(c, s, e))


def _absent(c, k, s, e):
    return ast.FindingLit(False, _span(c, s, e))


def _path(c, k, s, e):
    if len(k) == 1:  # the path's span is its name's (one Span, shared), as dsl/build.py's
        (t,) = k
        span = _tok(c, t)
        if s is t and e is t:
            return ast.Path((t[1],), span, (span,))
        return ast.Path((t[1],), _span(c, s, e), (span,))
    return ast.Path(tuple(t[1] for t in k), _span(c, s, e), tuple(_tok(c, t) for t in k))


# ---------------------------------------------------------- expressions
def _logic(op: str):
    def make(c, k, s, e):
        operands: list = []
        for x in k:
            if x.__class__ is ast.Logic and x.op == op:
                operands.extend(x.operands)
            else:
                operands.append(x)
        node = ast.Logic(op, tuple(operands), _span(c, s, e))
        _height(c, node, *k)
        return node
    return make


def _not(c, k, s, e):
    node = ast.Not(k[0], _span(c, s, e))
    _height(c, node, k[0])
    return node


def _compare(c, k, s, e):
    left, op, right = k
    node = ast.Compare(op[1], left, right, _span(c, s, e), _tok(c, op))
    _height(c, node, left, right)
    return node


def _membership(words: str):
    def make(c, k, s, e):
        left, right = k
        node = ast.Membership(words, left, right, _span(c, s, e))
        _height(c, node, left, right)
        return node
    return make


def _between(c, k, s, e):
    node = ast.Between(k[0], k[1], k[2], _span(c, s, e))
    _height(c, node, *k)
    return node


def _arith(c, k, s, e):
    left, op, right = k
    node = ast.Arith(op[1], left, right, _span(c, s, e))
    _height(c, node, left, right)
    return node


def _documented(c, k, s, e):
    return ast.Documented(k[0], _span(c, s, e))  # (its path is no expression: a leaf)


def _time_from(c, k, s, e):
    node = ast.TimeFrom(k[0], k[1], _span(c, s, e))
    _height(c, node, k[0], k[1])
    return node


def _at_least(c, k, s, e):
    n, *items = k
    items = [i for i in items if i is not None]
    node = ast.AtLeast(int(n[1]), tuple(items), _span(c, s, e))
    _height(c, node, *items)
    return node


def _set_literal(c, k, s, e):
    items = [i for i in k if i is not None]
    node = ast.SetLit(tuple(items), _span(c, s, e))
    if items:
        _height(c, node, *items)
    return node


def _aggregate(c, k, s, e):
    op, target, value, within, where, field = k
    node = ast.Aggregate(
        op=op, target=target, within=within, where=where,
        field=field[1] if field is not None else None, span=_span(c, s, e),
        field_span=_tok(c, field) if field is not None else None, value=value,
    )
    below = [x for x in (where, value) if x is not None]
    if below:
        _height(c, node, *below)
    return node


def _agg_op(c, k, s, e):
    return " ".join(t[1] for t in k)


def _lookup(c, k, s, e):
    name, key, end = k
    node = ast.Lookup(name[1], key, _span(c, s, e), _tok(c, name),
                      end[1] if end is not None else None, _tok(c, end) if end is not None else None)
    _height(c, node, key)
    return node


# ------------------------------------------------------------- examples
def _assignment(c, k, s, e):
    path, op, value = k
    if value.__class__ is list:  # rows
        value = tuple(value)
    return ast.Given(path, value, _span(c, s, e), op[1], _tok(c, op))


def _rows(c, k, s, e):
    return [r for r in k if r is not None]  # (no rule's value is a tuple: that is a token)


def _given_set(c, k, s, e):
    return ast.SetLit(tuple(x for x in k if x is not None), _span(c, s, e))


def _record(c, k, s, e):
    return ast.Row(tuple(tuple(v) for v in k if v is not None), _span(c, s, e))


def _field_value(c, k, s, e):
    name, lit = k
    return [name[1], lit, _tok(c, name)]


def _given(c, k, s, e):
    return k


def _kids(c, k, s, e):
    return k


def _outcome(c, k, s, e):
    return " ".join(t[1] for t in k)


def _reason(c, k, s, e):
    return ast.Reason(k[0][1], k[1], _span(c, s, e))


def _expect(c, k, s, e):
    verdict, *reasons = k
    return [verdict, tuple(r for r in reasons if r is not None)]


def _example(c, k, s, e):
    name, *givens, (words, reasons) = k
    modified = int(words[1][1]) if words[0][1] == "modified" else None
    return ast.Example(
        string_value(name[1]), tuple(g for given in givens for g in given), len(words) == 1 and words[0][1] == "certified",
        reasons, _span(c, s, e), modified, _tok(c, words[1]) if modified is not None else None,
    )


# ------------------------------------------------------ facts and tables
def _type(kind: str):
    def make(c, k, s, e):
        span = _span(c, s, e)
        if kind == "quantity":
            return ast.TypeRef("quantity", span, unit=k[0][1])
        if kind == "count":
            unit = k[0] if k else None
            return ast.TypeRef("count", span, unit=unit[1] if unit is not None else None)
        if kind in ("enum", "set_enum"):
            members = tuple(ast.StringLit(string_value(t[1]), _tok(c, t)) for t in k[0] if t is not None)
            return ast.TypeRef(kind, span, members=members)
        return ast.TypeRef(kind, span)
    return make


def _rule(words: str):
    def make(c, k, s, e):
        return ast.Rule(words, _span(c, s, e))
    return make


class _Source:
    """`from product NAME` (a fact_source) or `from item NAME` (an item_source)."""

    __slots__ = ("item", "name")

    def __init__(self, item: bool, name: Tok):
        self.item, self.name = item, name


def _fact_source(c, k, s, e):
    return _Source(False, k[0])


def _item_source(c, k, s, e):
    return _Source(True, k[0])


class _Default:
    """`default LITERAL`."""

    __slots__ = ("literal",)

    def __init__(self, literal):
        self.literal = literal


def _fact_default(c, k, s, e):
    return _Default(k[0])


def _fact(c, k, s, e):
    name, type_ref, label, source, default, *rest = k
    rest = [r for r in rest if r is not None]
    product = source if source is not None and not source.item else None
    item = source if source is not None and source.item else None
    return ast.Fact(
        name=name[1], type=type_ref, label=string_value(label[1]) if label is not None else None,
        default=default.literal if default is not None else None,
        fields=tuple(f for f in rest if f.__class__ is not ast.Rule), span=_span(c, s, e), name_span=_tok(c, name),
        source=product.name[1] if product is not None else None,
        source_span=_tok(c, product.name) if product is not None else None,
        rules=tuple(r for r in rest if r.__class__ is ast.Rule),
        from_item=item.name[1] if item is not None else None,
        from_item_span=_tok(c, item.name) if item is not None else None,
    )


def _field(c, k, s, e):
    name, type_ref, label = k
    return ast.Field(name[1], type_ref, string_value(label[1]) if label is not None else None,
                     _span(c, s, e), _tok(c, name))


class _Otherwise:
    """A table's `otherwise: VALUE` row."""

    __slots__ = ("entry",)

    def __init__(self, entry: ast.TableEntry):
        self.entry = entry


def _table_entry(c, k, s, e):
    return ast.TableEntry(ast.StringLit(string_value(k[0][1]), _tok(c, k[0])), k[1], _span(c, s, e))


def _table_otherwise(c, k, s, e):
    return _Otherwise(ast.TableEntry(ast.StringLit("otherwise", _span(c, s, e)), k[0], _span(c, s, e)))


def _range(c, k, s, e):
    low, high, unit = k
    u = unit[1] if unit is not None else None
    u_span = _tok(c, unit) if unit is not None else None
    return ast.RangeLit(ast.NumberLit(Decimal(low[1]), low[1], u, _tok(c, low), u_span),
                        ast.NumberLit(Decimal(high[1]), high[1], u, _tok(c, high), u_span), _span(c, s, e))


def _table(c, k, s, e):
    name, type_ref, label, *rows = k
    entries, otherwise = [], []
    for r in rows:
        if r is None:
            continue
        if r.__class__ is _Otherwise:
            otherwise.append(r.entry)
        else:
            entries.append(r)
    for extra in otherwise[1:]:  # one default row: a second would silently replace the first
        c.repeated.append(("otherwise", extra.span, otherwise[0].span))
    return ast.Table(
        name=name[1], type=type_ref, label=string_value(label[1]) if label is not None else None,
        entries=tuple(entries), span=_span(c, s, e), name_span=_tok(c, name),
        otherwise=otherwise[0] if otherwise else None,
    )


class _Section:
    """A section's items, by its kind (`facts`, `tables`, `criteria`, `ingredients`, `products`)."""

    __slots__ = ("kind", "items")

    def __init__(self, kind: str, items: tuple):
        self.kind, self.items = kind, items


def _section(kind: str):
    def make(c, k, s, e):
        return _Section(kind, tuple(x for x in k if x.__class__ is not _Let))
    return make


# ------------------------------------------------------------- criteria
class _Line:
    """A line that may appear once: its keyword, its span, and what it says."""

    __slots__ = ("keyword", "span", "value")

    def __init__(self, keyword: str, span: Span, value):
        self.keyword, self.span, self.value = keyword, span, value


def _line(keyword: str, value):
    def make(c, k, s, e):
        return _Line(keyword, _span(c, s, e), value(c, k, s, e))
    return make


def _once(c: _Context, seen: dict, repeated: list, keyword: str, span: Span) -> None:
    """Note a line that may appear only once if it is repeated (dsl/build.py's _Builder.once)."""
    if keyword in seen:
        repeated.append((keyword, span, seen[keyword]))
    else:
        seen[keyword] = span


def _criterion(c, k, s, e):
    exclude, name, expr, *attrs_ = k
    says = citation = fewer = fewer_span = shows = shows_span = None
    seen: dict = {}
    for a in attrs_:
        if a is None:
            continue
        if a.__class__ is ast.Citation:
            _once(c, seen, c.repeated, "cite", a.span)
            citation = a
            continue
        _once(c, seen, c.repeated, a.keyword, a.span)
        if a.keyword == "says":
            says = a.value
        elif a.keyword == "shows":
            shows, shows_span = a.value
        elif fewer is None:
            fewer, fewer_span = a.value
    return ast.Criterion(
        id=name[1], exclude=exclude is not None, expr=expr, says=says,
        citation=citation, span=_span(c, s, e), id_span=_tok(c, name),
        allows_fewer=fewer, allows_fewer_span=fewer_span, shows=shows, shows_span=shows_span,
    )


class _Let:
    """A `let`'s fields, but the `when` it was written under: known when that reduces."""

    __slots__ = ("fields", "when")

    def __init__(self, fields: tuple):
        self.fields, self.when = fields, None


def _let(c, k, s, e):
    name, expr, label = k
    let = _Let((name[1], _text(label) if label is not None else None, expr, _span(c, s, e), _tok(c, name)))
    c.lets.append(let)
    return let


def _when(c, k, s, e):
    cond, *items = k
    span = _span(c, s, e)
    for x in items:
        if x.__class__ is _Let:  # written under this `when`
            x.when = span
    return ast.When(cond, tuple(x for x in items if x.__class__ is not _Let), span)


def _cite_ref(c, k, s, e):
    source, section, pages = k[-3:]
    return ast.Citation(string_value(source[1]) if source is not None else None,
                        string_value(section[1]) if section is not None else None, pages, _span(c, s, e))


# --------------------------------------------------------------- header
def _citation(c, k, s, e):
    source, section, pages = k
    return ast.Citation(source=string_value(source[1]) if source is not None else None,
                        section=string_value(section[1]) if section is not None else None,
                        pages=pages, span=_span(c, s, e))


def _pages(c, k, s, e):
    return ast.Pages(tuple(t[1] for t in k), _span(c, s, e))


def _service(kind: str):
    def make(c, k, s, e):
        tok = k[0]
        return ast.Service(kind, tok[1].upper() if kind in ("cpt", "hcpcs") else string_value(tok[1]), _span(c, s, e))
    return make


def _in_force_period(until: bool):
    def make(c, k, s, e):
        dates = [d for d in k if d is not None]
        return [None, dates[0]] if until else [dates[0], dates[1] if len(dates) > 1 else None]
    return make


def _in_force(c, k, s, e):
    start, end = k[0]
    return ast.InForce(start[1] if start else None, end[1] if end else None, _span(c, s, e),
                       _tok(c, start) if start else None, _tok(c, end) if end else None)


class _Header:
    """A guideline's or formulary's first line and what is indented under it."""

    __slots__ = ("formulary", "name", "title", "items", "span")

    def __init__(self, formulary: bool, name: Tok, title: Tok, items: list, span: Span):
        self.formulary, self.name, self.title, self.items, self.span = formulary, name, title, items, span


def _header(formulary: bool):
    def make(c, k, s, e):
        name, title, *items = k
        return _Header(formulary, name, title, [i for i in items if i is not None], _span(c, s, e))
    return make


def _start(c, k, s, e):
    header, *rest = k
    sections = {x.kind: x.items for x in rest if x.__class__ is _Section}
    if header.formulary:
        return _formulary(c, header, sections)
    citation = services = states = version = on_denial = in_force = not_mtus = None
    services = []
    seen: dict = {}
    repeated = c.repeated  # (the sections' first, as dsl/build.py notes them)
    for item in header.items:
        if item.__class__ is ast.Citation:
            _once(c, seen, repeated, "source", item.span)
            citation = item
            continue
        if item.keyword == "services":
            services += item.value
            continue
        _once(c, seen, repeated, item.keyword, item.span)
        if item.keyword == "states":
            states = item.value
        elif item.keyword == "version":
            version = item.value
        elif item.keyword == "in force":
            in_force = item.value
        elif item.keyword == "not mtus":
            not_mtus = item.value
        else:
            on_denial = item.value
    return ast.Guideline(
        id=header.name[1], title=string_value(header.title[1]), citation=citation,
        services=tuple(services), states=states, version=version, facts=sections.get("facts", ()),
        criteria=sections.get("criteria", ()), examples=tuple(x for x in rest if x.__class__ is ast.Example),
        span=header.span, id_span=_tok(c, header.name), repeated=tuple(repeated), tables=sections.get("tables", ()),
        in_force=in_force, not_mtus=not_mtus, on_denial=on_denial,
        lets=tuple(ast.Let(*let.fields, let.when) for let in c.lets),
    )


def _formulary(c: _Context, header: _Header, sections: dict) -> ast.Formulary:
    citation = None
    seen: dict = {}
    repeated = c.repeated
    for item in header.items:
        _once(c, seen, repeated, "source", item.span)
        if citation is None:
            citation = item
    return ast.Formulary(
        id=header.name[1], title=string_value(header.title[1]), citation=citation,
        ingredients=sections.get("ingredients", ()), products=sections.get("products", ()), span=header.span,
        id_span=_tok(c, header.name), repeated=tuple(repeated),
    )


def _string_lit(c: _Context, tok: Tok) -> ast.StringLit:
    return ast.StringLit(string_value(tok[1]), _tok(c, tok))


def _ingredient(c, k, s, e):
    return ast.Ingredient(_string_lit(c, k[0]), tuple(_string_lit(c, t) for t in k[1:]), _span(c, s, e))


class _Form:
    """A product's `as "FORM"`."""

    __slots__ = ("name",)

    def __init__(self, name: Tok):
        self.name = name


def _product_form(c, k, s, e):
    return _Form(k[0])


def _product(c, k, s, e):
    name, *rest = k
    form = rest.pop() if rest and (rest[-1] is None or rest[-1].__class__ is _Form) else None
    return ast.Product(_string_lit(c, name), tuple(_string_lit(c, t) for t in rest),
                       _string_lit(c, form.name) if form is not None else None, _span(c, s, e))


#: Tree name -> what builds its node from its children's, as fn(context, children, start token, end token).
MAKERS = {
    "number": _number, "percent": _percent, "string": _string, "date": _date, "present": _present,
    "absent": _absent, "path": _path,
    "and_": _logic("and"), "or_": _logic("or"), "not_": _not, "compare": _compare,
    **{k: _membership(words) for k, words in _MEMBERSHIP.items()},
    "between": _between, "arith": _arith, "documented": _documented, "time_from": _time_from,
    "at_least": _at_least, "set_literal": _set_literal, "aggregate": _aggregate, "agg_op": _agg_op,
    "lookup": _lookup,
    "assignment": _assignment, "rows": _rows, "given_set": _given_set, "record": _record,
    "field_value": _field_value, "given": _given, "verdict": _kids, "outcome": _outcome, "reason": _reason,
    "expect": _expect, "example": _example,
    **{f"t_{kind}": _type(kind) for kind in (
        "finding", "number", "count", "percent", "quantity", "duration", "date", "text", "enum", "icd10", "cpt",
        "set_text", "set_icd10", "set_cpt", "set_enum", "history")},
    "member_list": _kids,
    **{name: _rule(words) for name, words in _RULE_WORDS.items()},
    "fact_source": _fact_source, "item_source": _item_source, "fact_default": _fact_default,
    "fact_decl": _fact, "field_decl": _field, "facts_section": _section("facts"),
    "table_decl": _table, "table_entry": _table_entry, "table_otherwise": _table_otherwise, "range": _range,
    "tables_section": _section("tables"),
    "criterion": _criterion, "let_decl": _let, "when_block": _when, "criteria_section": _section("criteria"),
    "cite_ref": _cite_ref,
    "says": _line("says", lambda c, k, s, e: _text(k[0])),
    "shows": _line("shows", lambda c, k, s, e: (string_value(k[0][1]), _tok(c, k[0]))),
    "allows_fewer": _line("allows fewer", lambda c, k, s, e: (k[0][1], _tok(c, k[0]))),
    "guideline": _header(False), "formulary": _header(True), "citation": _citation, "pages": _pages,
    **{f"service_{kind}": _service(kind) for kind in ("name", "cpt", "hcpcs", "class", "ingredient", "form")},
    "services": _line("services", lambda c, k, s, e: list(k)),
    "states": _line("states", lambda c, k, s, e: _text(k[0])),
    "version": _line("version", lambda c, k, s, e: string_value(k[0][1])),
    "in_force_period": _in_force_period(False), "in_force_until": _in_force_period(True),
    "in_force": _line("in force", _in_force),
    "not_mtus": _line("not mtus", lambda c, k, s, e: ast.NotMtus(int(k[0][1]), _span(c, s, e))),
    "on_denial": _line("on denial says", lambda c, k, s, e: ast.OnDenial(_text(k[0]), k[1], _span(c, s, e))),
    "ingredients_section": _section("ingredients"), "ingredient_decl": _ingredient,
    "products_section": _section("products"), "product_decl": _product, "product_form": _product_form,
    "start": _start,
}


def inlined(c, k, s, e):
    """What a rule Lark splices into its parent (a `_rule`, a repetition) leaves for it: its children, a list."""
    return k


def context(file: str) -> _Context:
    """What building one file's tree needs: the path its spans name."""
    return _Context(file)
