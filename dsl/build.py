"""Lark parse tree -> AST, once. Nothing after this module sees a lark.Tree.

A file the parser's happy path reads comes with its AST already built, rule by
rule, by dsl/reduce.py, which must build what this module builds (this module
is the reference: tests/test_parser_reduce.py); this one builds after Lark's
own parse, and reports expressions nested too deep.

Also decodes literals (numbers to Decimal, strings unescaped, text blocks
dedented) and flattens chains of `and`/`or`. Malformed literals that the
grammar cannot rule out (a date such as 2014-02-30) are left as text for the
type pass, which reports them with a span.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from mtus.dsl import ast
from mtus.dsl.source import Source, Span

if TYPE_CHECKING:  # Lark's tree is built only where the parser's happy path gives up (dsl/parser.py)
    from lark import Token, Tree

    from mtus.dsl.larktree import Node

#: Expressions nested deeper than this are refused (E901) instead of
#: exhausting Python's stack in later passes.
MAX_DEPTH = 100

#: A fact's silence clauses, by their tree name, as the words the author wrote.
_RULE_WORDS = {"rule_detail": "request detail", "rule_required": "required",
               "rule_checked": "checked when stated", "rule_none": "none when silent",
               "rule_absent": "presumed absent when silent"}

#: Header lines and criterion lines that may appear once, by tree name, as the words the author wrote.
_HEADER_WORDS = {"citation": "source", "in_force": "in force", "not_mtus": "not mtus", "on_denial": "on denial says"}
_ATTR_WORDS = {"says": "says", "allows_fewer": "allows fewer", "shows": "shows"}


def string_value(tok: str) -> str:
    """A STRING token's text (a Token, or its text): the quotes off, its escapes decoded."""
    body = str(tok)[1:-1]
    if "\\" not in body:
        return body  # most strings have no escape to decode
    out = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t", '"': '"', "\\": "\\"}.get(nxt, "\\" + nxt))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def text_value(kind: str, text: str) -> str:
    """A STRING's or a TEXT_BLOCK's text; a block's lines joined by single spaces (which also undoes any indentation)."""
    if kind == "TEXT_BLOCK":
        return " ".join(text[3:-3].split())
    return string_value(text)


class TooDeep(Exception):
    def __init__(self, span: Span):
        self.span = span


class _Builder:
    def __init__(self, source: Source):
        self.file = source.path
        self.source = source
        self.repeated: list[tuple[str, Span, Span]] = []
        self.lets: list[ast.Let] = []

    def once(self, seen: dict, keyword: str, item: Tree) -> None:
        """Note a line that may appear only once (`source`, `says`, ...) if it is repeated."""
        if keyword in seen:  # (the spans only then: most lines are not repeated)
            self.repeated.append((keyword, self.node(item), self.node(seen[keyword])))
        else:
            seen[keyword] = item

    # ----------------------------------------------------------- positions
    # A span per node and token is most of what building costs: tok() and node() each make one with no
    # test of what they were given; span() is for the few places that may get either.
    def tok(self, t: Token) -> Span:
        return Span(self.file, t.start_pos, t.end_pos, t.line, t.column, t.end_line, t.end_column)

    def node(self, n: Node) -> Span:
        s = n.start
        if s is None:  # a rule that matched nothing has no position
            return Span(self.file, 0, 0, 1, 1, 1, 1)
        e = n.end
        return Span(self.file, s.start_pos, e.end_pos, s.line, s.column, e.end_line, e.end_column)

    def span(self, node: Node | Token) -> Span:
        return self.tok(node) if isinstance(node, str) else self.node(node)  # (a Token is a str, a Node is not)

    # ------------------------------------------------------------- helpers
    string = staticmethod(string_value)
    @staticmethod
    def text(tok: Token) -> str:
        return text_value(tok.type, str(tok))

    # --------------------------------------------------------- declarations
    def start(self, tree: Tree) -> ast.Guideline | ast.Formulary:
        header, *rest = tree.children
        if header.data == "formulary":
            return self.formulary(header, rest)
        facts: tuple = ()
        tables: tuple = ()
        criteria: tuple = ()
        examples = []
        for child in rest:
            if child is None:
                continue
            if child.data == "facts_section":
                facts = tuple(self.fact(f) for f in child.children)
            elif child.data == "tables_section":
                tables = tuple(self.table(t) for t in child.children)
            elif child.data == "criteria_section":
                criteria = tuple(self.criteria_items(child.children, None))
            elif child.data == "example":
                examples.append(self.example(child))
        name_tok, title_tok = header.children[0], header.children[1]
        citation = None
        services: list[ast.Service] = []
        states = None
        version = None
        on_denial = None
        in_force = not_mtus = None
        seen: dict = {}
        for item in header.children[2:]:
            if item is None:
                continue
            if item.data != "services":
                self.once(seen, _HEADER_WORDS.get(item.data, item.data), item)
            if item.data == "citation":
                citation = self.citation(item)
            elif item.data == "services":
                services += [self.service(s) for s in item.children]
            elif item.data == "states":
                states = self.text(item.children[0])
            elif item.data == "version":
                version = self.string(item.children[0])
            elif item.data == "in_force":
                in_force = self.in_force(item)
            elif item.data == "not_mtus":
                not_mtus = ast.NotMtus(int(item.children[0]), self.node(item))
            elif item.data == "on_denial":
                text, cite = item.children
                on_denial = ast.OnDenial(self.text(text), self.cite_ref(cite) if cite is not None else None,
                                         self.node(item))
        return ast.Guideline(
            id=str(name_tok), title=self.string(title_tok), citation=citation,
            services=tuple(services), states=states, version=version, facts=facts,
            criteria=criteria, examples=tuple(examples), span=self.node(header),
            id_span=self.tok(name_tok), repeated=tuple(self.repeated), tables=tables,
            in_force=in_force, not_mtus=not_mtus, on_denial=on_denial, lets=tuple(self.lets),
        )

    def in_force(self, item: Tree) -> ast.InForce:
        (period,) = item.children
        dates = [c for c in period.children if c is not None]
        if period.data == "in_force_until":
            start, end = None, dates[0]
        else:
            start, end = dates[0], (dates[1] if len(dates) > 1 else None)
        return ast.InForce(str(start) if start else None, str(end) if end else None, self.node(item),
                           self.tok(start) if start else None, self.tok(end) if end else None)

    def formulary(self, header: Tree, sections: list) -> ast.Formulary:
        name_tok, title_tok, *items = header.children
        citation = None
        seen: dict = {}
        for item in items:
            if item is None:
                continue
            self.once(seen, "source", item)
            if citation is None:
                citation = self.citation(item)
        ingredients: tuple = ()
        products: tuple = ()
        for child in sections:
            if child is None:
                continue
            if child.data == "ingredients_section":
                ingredients = tuple(
                    ast.Ingredient(self.string_lit(d.children[0]), tuple(self.string_lit(t) for t in d.children[1:]),
                                   self.span(d))
                    for d in child.children)
            elif child.data == "products_section":
                products = tuple(self.product(d) for d in child.children)
        return ast.Formulary(
            id=str(name_tok), title=self.string(title_tok), citation=citation, ingredients=ingredients,
            products=products, span=self.span(header), id_span=self.span(name_tok), repeated=tuple(self.repeated),
        )

    def product(self, tree: Tree) -> ast.Product:
        from lark import Tree

        name, *rest = tree.children
        form = rest.pop() if rest and (rest[-1] is None or isinstance(rest[-1], Tree)) else None
        return ast.Product(
            self.string_lit(name), tuple(self.string_lit(t) for t in rest),
            self.string_lit(form.children[0]) if form is not None else None, self.span(tree),
        )

    def string_lit(self, tok: Token) -> ast.StringLit:
        return ast.StringLit(self.string(tok), self.span(tok))

    def table(self, tree: Tree) -> ast.Table:
        name, type_tree, label, *rows = tree.children
        entries, otherwise = [], []
        for e in rows:
            if e is None:
                continue
            if e.data == "table_otherwise":
                key = ast.StringLit("otherwise", self.span(e))
                otherwise.append(ast.TableEntry(key, self.table_value(e.children[0]), self.span(e)))
            else:
                entries.append(ast.TableEntry(self.string_lit(e.children[0]), self.table_value(e.children[1]),
                                              self.span(e)))
        for extra in otherwise[1:]:  # one default row: a second would silently replace the first
            self.repeated.append(("otherwise", extra.span, otherwise[0].span))
        return ast.Table(
            name=str(name), type=self.type_ref(type_tree),
            label=self.string(label) if label is not None else None,
            entries=tuple(entries), span=self.span(tree), name_span=self.span(name),
            otherwise=otherwise[0] if otherwise else None,
        )

    def table_value(self, tree: Tree):
        """A table entry's value: a literal, or a range `3-8` / `3-5 weeks` (the unit belongs to both ends)."""
        if tree.data != "range":
            return self.literal(tree)
        low, high, unit = tree.children
        u = str(unit) if unit is not None else None
        u_span = self.span(unit) if unit is not None else None
        return ast.RangeLit(ast.NumberLit(Decimal(str(low)), str(low), u, self.span(low), u_span),
                           ast.NumberLit(Decimal(str(high)), str(high), u, self.span(high), u_span), self.span(tree))

    def citation(self, tree: Tree) -> ast.Citation:
        source, section, pages = tree.children
        return ast.Citation(
            source=self.string(source) if source is not None else None,
            section=self.string(section) if section is not None else None,
            pages=self.pages(pages) if pages is not None else None,
            span=self.span(tree),
        )

    def cite_ref(self, tree: Tree) -> ast.Citation:
        """`cite [source "..."] [section "..."] [pages ...]`: what differs from the guideline's citation."""
        source, section, pages = tree.children[-3:]
        return ast.Citation(
            self.string(source) if source is not None else None,
            self.string(section) if section is not None else None,
            self.pages(pages) if pages is not None else None,
            self.span(tree),
        )

    def pages(self, tree: Tree) -> ast.Pages:
        return ast.Pages(tuple(str(t) for t in tree.children), self.span(tree))

    def service(self, tree: Tree) -> ast.Service:
        kind = tree.data[len("service_"):]  # service_name, service_cpt, service_class, ...
        tok = tree.children[0]
        value = str(tok).upper() if kind in ("cpt", "hcpcs") else self.string(tok)
        return ast.Service(kind, value, self.node(tree))

    def type_ref(self, tree: Tree) -> ast.TypeRef:
        kind = tree.data[2:]  # t_finding -> finding
        span = self.node(tree)
        if kind == "quantity":
            return ast.TypeRef("quantity", span, unit=str(tree.children[0]))
        if kind == "count":  # `count visits`: what it counts, as a unit
            unit = tree.children[0] if tree.children else None
            return ast.TypeRef("count", span, unit=str(unit) if unit is not None else None)
        if kind in ("enum", "set_enum"):
            members = tuple(
                ast.StringLit(self.string(t), self.tok(t)) for t in tree.children[0].children if t is not None
            )
            return ast.TypeRef(kind, span, members=members)
        return ast.TypeRef(kind, span)

    def fact(self, tree: Tree) -> ast.Fact:
        name, type_tree, label, source, default, *rest = tree.children
        rules = tuple(ast.Rule(_RULE_WORDS[r.data], self.node(r)) for r in rest
                      if r is not None and r.data in _RULE_WORDS)
        fields = [f for f in rest if f is not None and f.data not in _RULE_WORDS]
        # `from product NAME` or `from item NAME`: where the value comes from when the case does not say
        product = source if source is not None and source.data == "fact_source" else None
        item = source if source is not None and source.data == "item_source" else None
        return ast.Fact(
            name=str(name),
            type=self.type_ref(type_tree),
            label=self.string(label) if label is not None else None,
            default=self.literal(default.children[0]) if default is not None else None,
            fields=tuple(self.field(f) for f in fields if f is not None),
            span=self.node(tree),
            name_span=self.tok(name),
            source=str(product.children[0]) if product is not None else None,
            source_span=self.tok(product.children[0]) if product is not None else None,
            rules=rules,
            from_item=str(item.children[0]) if item is not None else None,
            from_item_span=self.tok(item.children[0]) if item is not None else None,
        )

    def field(self, tree: Tree) -> ast.Field:
        name, type_tree, label = tree.children
        return ast.Field(str(name), self.type_ref(type_tree),
                         self.string(label) if label is not None else None,
                         self.node(tree), self.tok(name))

    def criteria_items(self, trees, when: Span | None):
        """The criteria and `when` blocks of a section or block; its `let`s go to self.lets (with the `when`, if any)."""
        for tree in trees:
            if tree.data == "let_decl":
                name, expr, label = tree.children
                self.lets.append(ast.Let(str(name), self.text(label) if label is not None else None,
                                         self.expr(expr, 0), self.node(tree), self.tok(name), when))
            else:
                yield self.criteria_item(tree)

    def criteria_item(self, tree: Tree):
        if tree.data == "when_block":
            cond, *items = tree.children
            span = self.node(tree)
            return ast.When(self.expr(cond, 0), tuple(self.criteria_items(items, span)), span)
        exclude, name, expr, *attrs_ = tree.children
        says = None
        citation = None
        fewer = fewer_span = None
        shows = shows_span = None
        seen: dict = {}
        for a in attrs_:
            if a is None:
                continue
            self.once(seen, _ATTR_WORDS.get(a.data, "cite"), a)
            if a.data == "says":
                says = self.text(a.children[0])
            elif a.data == "shows":
                shows, shows_span = self.string(a.children[0]), self.tok(a.children[0])
            elif a.data == "allows_fewer":
                if fewer is None:
                    fewer, fewer_span = str(a.children[0]), self.tok(a.children[0])
            else:
                citation = self.cite_ref(a)
        return ast.Criterion(
            id=str(name), exclude=exclude is not None, expr=self.expr(expr, 0), says=says,
            citation=citation, span=self.node(tree), id_span=self.tok(name),
            allows_fewer=fewer, allows_fewer_span=fewer_span, shows=shows, shows_span=shows_span,
        )

    def example(self, tree: Tree) -> ast.Example:
        name, *givens, expect = tree.children
        out = []
        # (bound once: examples are about half of every guideline's nodes)
        path_of, literal, node, tok, Given = self.path, self.literal, self.node, self.tok, ast.Given
        for g in givens:
            for a in g.children:
                path_tree, op, value = a.children
                kind = value.data
                if kind == "rows":
                    given = tuple(self.row(r) for r in value.children if r is not None)
                elif kind == "given_set":
                    given = ast.SetLit(tuple(literal(x) for x in value.children if x is not None), node(value))
                else:
                    given = literal(value)
                out.append(Given(path_of(path_tree), given, node(a), str(op), tok(op)))
        verdict, *reasons = expect.children
        words = verdict.children
        modified = int(words[1]) if words[0] == "modified" else None
        return ast.Example(
            self.string(name), tuple(out), len(words) == 1 and words[0] == "certified",
            tuple(ast.Reason(str(r.children[0]), " ".join(r.children[1].children), node(r))
                  for r in reasons if r is not None),
            node(tree), modified, tok(words[1]) if modified is not None else None,
        )

    def row(self, tree: Tree) -> ast.Row:
        values = []
        for fv in tree.children:
            if fv is None:
                continue
            name, lit = fv.children
            values.append((str(name), self.literal(lit), self.tok(name)))
        return ast.Row(tuple(values), self.node(tree))

    # ---------------------------------------------------------- expressions
    def path(self, tree: Tree) -> ast.Path:
        toks = tree.children
        if len(toks) == 1:  # most paths are one name: the path's span is the name's (one Span, shared)
            (t,) = toks
            span = self.tok(t)
            if tree.start is t and tree.end is t:
                return ast.Path((str(t),), span, (span,))
            return ast.Path((str(t),), self.node(tree), (span,))
        return ast.Path(tuple(str(t) for t in toks), self.node(tree), tuple(self.tok(t) for t in toks))

    def literal(self, tree: Tree) -> ast.Literal:
        kind = tree.data
        if kind == "number":
            num, unit = tree.children
            text = str(num)
            if unit is None:
                return ast.NumberLit(Decimal(text), text, None, self.node(tree), None)
            return ast.NumberLit(Decimal(text), text, str(unit), self.node(tree), self.tok(unit))
        if kind == "string":
            return ast.StringLit(self.string(tree.children[0]), self.node(tree))
        if kind == "percent":
            text = str(tree.children[0])
            return ast.PercentLit(Decimal(text), text, self.node(tree))
        if kind == "date":
            return ast.DateLit(str(tree.children[0]), self.node(tree))
        if kind in ("present", "absent"):
            return ast.FindingLit(kind == "present", self.node(tree))
        raise AssertionError(kind)

    def expr(self, tree: Any, depth: int):
        """The expression a tree denotes, by its kind (the tables below); depth counts the nesting so far."""
        if depth > MAX_DEPTH:
            raise TooDeep(self.span(tree))
        try:
            build = _EXPRS[tree.data]
        except KeyError:
            raise AssertionError(f"unhandled tree {tree.data}") from None
        return build(self, tree, depth + 1)

    def logic(self, tree: Tree, d: int) -> ast.Logic:
        kind = tree.data
        op = kind[:-1]
        operands = []
        for c in tree.children:
            e = self.expr(c, d)
            if isinstance(e, ast.Logic) and e.op == op and c.data == kind:
                operands.extend(e.operands)
            else:
                operands.append(e)
        return ast.Logic(op, tuple(operands), self.node(tree))

    def not_(self, tree: Tree, d: int) -> ast.Not:
        return ast.Not(self.expr(tree.children[0], d), self.node(tree))

    def compare(self, tree: Tree, d: int) -> ast.Compare:
        left, op, right = tree.children
        return ast.Compare(str(op), self.expr(left, d), self.expr(right, d), self.node(tree), self.tok(op))

    def membership(self, tree: Tree, d: int) -> ast.Membership:
        left, right = tree.children
        return ast.Membership(_MEMBERSHIP[tree.data], self.expr(left, d), self.expr(right, d), self.node(tree))

    def between(self, tree: Tree, d: int) -> ast.Between:
        v, lo, hi = tree.children
        return ast.Between(self.expr(v, d), self.expr(lo, d), self.expr(hi, d), self.node(tree))

    def arith(self, tree: Tree, d: int) -> ast.Arith:
        left, op, right = tree.children
        return ast.Arith(str(op), self.expr(left, d), self.expr(right, d), self.node(tree))

    def documented(self, tree: Tree, d: int) -> ast.Documented:
        return ast.Documented(self.path(tree.children[0]), self.node(tree))

    def time_from(self, tree: Tree, d: int) -> ast.TimeFrom:
        a, b = tree.children
        return ast.TimeFrom(self.expr(a, d), self.expr(b, d), self.node(tree))

    def at_least(self, tree: Tree, d: int) -> ast.AtLeast:
        n, *items = tree.children
        return ast.AtLeast(int(str(n)), tuple(self.expr(i, d) for i in items if i is not None), self.node(tree))

    def set_literal(self, tree: Tree, d: int) -> ast.SetLit:
        return ast.SetLit(tuple(self.expr(i, d) for i in tree.children if i is not None), self.node(tree))

    def aggregate(self, tree: Tree, d: int) -> ast.Aggregate:
        op, target, value, within, where, field = tree.children
        target_path = self.path(target)
        within_lit = self.literal(within) if within is not None else None
        where_expr = self.expr(where, d) if where is not None else None  # before `value`, as written below it
        return ast.Aggregate(
            op=" ".join(str(t) for t in op.children), target=target_path, within=within_lit, where=where_expr,
            field=str(field) if field is not None else None, span=self.node(tree),
            field_span=self.tok(field) if field is not None else None,
            value=self.expr(value, d) if value is not None else None,
        )

    def lookup(self, tree: Tree, d: int) -> ast.Lookup:
        name, key, end = tree.children
        return ast.Lookup(str(name), self.expr(key, d), self.node(tree), self.tok(name),
                          str(end) if end is not None else None, self.tok(end) if end is not None else None)


#: The words of each membership operator, by its tree name.
_MEMBERSHIP = {"is_in": "in", "not_in": "not in", "contains": "contains",
               "contains_any": "contains any of", "contains_only": "contains only"}

#: Expression tree name -> the _Builder function that builds it (with the depth below it): one dict
#: lookup instead of a chain of comparisons per node.
_EXPRS = {
    **{k: lambda b, tree, d: b.literal(tree) for k in ("number", "percent", "string", "date", "present", "absent")},
    "path": lambda b, tree, d: b.path(tree),
    "and_": _Builder.logic, "or_": _Builder.logic, "not_": _Builder.not_, "compare": _Builder.compare,
    **{k: _Builder.membership for k in _MEMBERSHIP},
    "between": _Builder.between, "arith": _Builder.arith, "documented": _Builder.documented,
    "time_from": _Builder.time_from, "at_least": _Builder.at_least, "set_literal": _Builder.set_literal,
    "aggregate": _Builder.aggregate, "lookup": _Builder.lookup,
}


def build(tree: Tree | ast.Guideline | ast.Formulary, source: Source) -> ast.Guideline | ast.Formulary:
    """Convert a parse tree into the AST. Raises TooDeep for absurd nesting.

    The parser's happy path hands over the syntax tree already built (dsl/reduce.py), as it is.
    """
    if isinstance(tree, (ast.Guideline, ast.Formulary)):
        return tree
    return _Builder(source).start(tree)
