"""What an editor asks of a `.mtus` file: what a name is, where it is declared, what can be typed here.

The language server (compiler/tools/lsp.py) is a thin layer over this module; nothing
here knows about the protocol. Positions are character offsets into the text as
the front end reads it (dsl/frontend.py `normalize`), and spans are dsl.source
spans.

- `Analysis(text, path)`: the file checked (diagnostics, model) and its syntax tree;
- `Analysis.at(offset)`: the name at a position (a fact, history field, table,
  criterion, ingredient, `request.date`) with its declaration and a Markdown hover;
- `outline(tree)`: the symbols of a guideline or formulary, nested;
- `complete(text, offset, tree)`: what may be typed at a position (facts, fields,
  `one of` values, table keys, criterion ids, outcomes, types and keywords). With a
  syntax error in the text, pass the tree of the last version that parsed.
"""

from __future__ import annotations

import re
from typing import Iterator, Optional, Union

import attrs

from mtus.dsl import ast, model
from mtus.dsl.build import TooDeep, build
from mtus.dsl.frontend import CheckResult, check_text, normalize
from mtus.dsl.parser import parse
from mtus.dsl.source import Source, Span

Tree = Union[ast.Guideline, ast.Formulary]


# ---------------------------------------------------------------- analysis
@attrs.frozen
class Target:
    """A name in the text and what it refers to."""

    kind: str                 # fact | field | table | value | criterion | request | ingredient | product
    name: str                 # the fact, table, criterion...; a field is "history.field"
    span: Span                # the name where it was found
    declaration: Optional[Span]  # the name where it is declared (None: `request.date`)
    hover: str                # Markdown


class Analysis:
    """One version of a file: its check result and syntax tree (None after a syntax error)."""

    def __init__(self, text: str, path: str = "<text>"):
        self.text = normalize(text)
        self.path = path
        self.result: CheckResult = check_text(self.text, path)
        self.tree: Optional[Tree] = syntax_tree(self.text, path)
        self._refs: Optional[list[tuple[Span, str, str]]] = None

    @property
    def source(self) -> Source:
        return Source(self.path, self.text)

    # what is where ---------------------------------------------------------
    def references(self) -> list[tuple[Span, str, str]]:
        """(span of a name, kind, name) for every declaration and every use of a name."""
        if self._refs is None:
            self._refs = list(_references(self.tree)) if self.tree is not None else []
        return self._refs

    def at(self, offset: int) -> Optional[Target]:
        """The name at offset (a position inside it or just after it)."""
        best = None
        for span, kind, name in self.references():
            if span.start <= offset <= span.end and (best is None or span.end - span.start < best[0].end - best[0].start):
                best = (span, kind, name)
        if best is None:
            return None
        span, kind, name = best
        return Target(kind, name, span, self.declaration(kind, name), self.hover(kind, name))

    def declaration(self, kind: str, name: str) -> Optional[Span]:
        tree = self.tree
        if isinstance(tree, ast.Formulary):
            for i in tree.ingredients:
                if kind == "ingredient" and _same(i.name.value, name):
                    return i.name.span
            for p in tree.products:
                if kind == "product" and _same(p.name.value, name):
                    return p.name.span
            return None
        if tree is None:
            return None
        if kind == "fact":
            f = _fact(tree, name)
            return f.name_span if f else None
        if kind == "field":
            fact_name, _, field_name = name.partition(".")
            f = _fact(tree, fact_name)
            fld = _field(f, field_name) if f else None
            return fld.name_span if fld else None
        if kind == "table":
            t = next((t for t in tree.tables if t.name == name), None)
            return t.name_span if t else None
        if kind == "value":
            let = _let(tree, name)
            return let.name_span if let else None
        if kind == "criterion":
            c = next((c for c in criteria(tree.criteria) if c.id == name), None)
            return c.id_span if c else None
        return None

    # hover -----------------------------------------------------------------
    def hover(self, kind: str, name: str) -> str:
        tree = self.tree
        if kind == "request":
            return "**request.date** — the date of the request under review, from the case file."
        if isinstance(tree, ast.Formulary):
            if kind == "ingredient":
                i = next((i for i in tree.ingredients if _same(i.name.value, name)), None)
                classes = ", ".join(f'"{c.value}"' for c in i.classes) if i else "not declared"
                return f'**ingredient** "{name}" — classes: {classes}'
            p = next((p for p in tree.products if _same(p.name.value, name)), None)
            if p is None:
                return f'**product** "{name}"'
            form = f' as "{p.form.value}"' if p.form else ""
            return f'**product** "{name}" — ' + ", ".join(f'"{i.value}"' for i in p.ingredients) + form
        if tree is None:
            return name
        if kind == "fact":
            f = _fact(tree, name)
            if f is None:
                return f"`{name}` is not a declared fact"
            parts = [f"**fact** `{f.name}`: {type_text(f.type)}", label_of(f.name, f.label)]
            if f.default is not None:
                parts.append(f"Default: `{self.snippet(f.default.span)}`")
            if f.source:
                parts.append(f"From the requested product's {f.source}.")
            if f.from_item:
                example = {"quantity": '"x4", "#60"', "levels": '"L4-5 and L5-S1": 2', "length": '"rental x30 days"',
                           "purchase": '"purchase" or "rental"', "frequency": '"2x6": 2 a week',
                           "hours": '"4 hrs/day x 5 days/week": 20',
                           "days": '"x10 days", "160 hours": 20'}.get(f.from_item, "")
                parts.append(f"From the request item's {f.from_item} ({example}), unless the case gives it.")
            if f.fields:
                parts.append("Fields: " + ", ".join(f"`{x.name}` ({type_text(x.type)})" for x in f.fields))
            readers = [c.id for c in criteria(tree.criteria) if f.name in _names_read(c.expr)]
            if readers:
                parts.append("Read by: " + ", ".join(f"`{r}`" for r in readers))
            return "\n\n".join(parts)
        if kind == "field":
            fact_name, _, field_name = name.partition(".")
            f = _fact(tree, fact_name)
            fld = _field(f, field_name) if f else None
            if fld is None:
                return f"`{field_name}` is not a field of `{fact_name}`"
            return (f"**field** `{fld.name}` of `{fact_name}`: {type_text(fld.type)}\n\n"
                    + label_of(fld.name, fld.label))
        if kind == "table":
            t = next((t for t in tree.tables if t.name == name), None)
            if t is None:
                return f"`{name}` is not a declared table"
            keys = ", ".join(f'"{e.key.value}"' for e in t.entries[:8]) + (", ..." if len(t.entries) > 8 else "")
            return (f"**table** `{t.name}`: {type_text(t.type)}\n\n{label_of(t.name, t.label)}\n\n"
                    f"{len(t.entries)} entries: {keys}")
        if kind == "value":
            let = _let(tree, name)
            if let is None:
                return f"`{name}` is not a named value"
            parts = [f"**named value** `{let.name}` = `{self.snippet(let.expr.span)}`",
                     label_of(let.name, let.label)]
            users = [c.id for c in criteria(tree.criteria) if let.name in _values_used(c.expr, tree)]
            if users:
                parts.append("Used by: " + ", ".join(f"`{u}`" for u in users))
            return "\n\n".join(parts)
        if kind == "criterion":
            return self._criterion_hover(tree, name)
        return name

    def _criterion_hover(self, tree: ast.Guideline, name: str) -> str:
        c = next((c for c in criteria(tree.criteria) if c.id == name), None)
        if c is None:
            return f"`{name}` is not a criterion of this guideline"
        parts = [f"**{'exclusion' if c.exclude else 'criterion'}** `{c.id}`: `{self.snippet(c.expr.span)}`"]
        guards = [self.snippet(w.condition.span) for w in _guards(tree.criteria, c)]
        if guards:
            parts.append("Applies when: " + " and ".join(f"`{g}`" for g in guards))
        if c.says:
            parts.append(f"Says: “{c.says}”")
        citation = self._citation(c)
        if citation:
            parts.append(f"Cites: {citation}")
        if c.allows_fewer:
            parts.append(f"Allows fewer `{c.allows_fewer}` (partial certification).")
        return "\n\n".join(parts)

    def _citation(self, c: ast.Criterion) -> str:
        checked = self.result.model
        if isinstance(checked, model.Guideline):  # not a formulary
            for mc in checked.criteria:
                if mc.id == c.id:
                    return mc.citation.describe()
        tree = self.tree
        base = tree.citation if isinstance(tree, ast.Guideline) else None
        parts = []
        for cit in (base, c.citation):
            if cit is None:
                continue
            if cit.source:
                parts = [cit.source]
            if cit.section:
                parts.append(f"section {cit.section}")
            if cit.pages:
                parts.append(("page " if len(cit.pages.specs) == 1 and "-" not in cit.pages.text else "pages ")
                             + cit.pages.text)
        return ", ".join(parts)

    def snippet(self, span: Span, limit: int = 200) -> str:
        text = " ".join(self.text[span.start:span.end].replace("\\\n", " ").split())
        return text if len(text) <= limit else text[: limit - 1] + "…"


def syntax_tree(text: str, path: str = "<text>") -> Optional[Tree]:
    """The syntax tree of a file, or None if it does not parse."""
    source = Source(path, normalize(text))
    try:
        parsed = parse(source)
        return build(parsed.tree, source) if parsed.tree is not None else None
    except (TooDeep, RecursionError):
        return None


# --------------------------------------------------------------- helpers
def _same(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def _fact(tree: ast.Guideline, name: str) -> Optional[ast.Fact]:
    return next((f for f in tree.facts if f.name == name), None)


def _let(tree: ast.Guideline, name: str) -> Optional[ast.Let]:
    return next((x for x in tree.lets if x.name == name), None)


def _values_used(expr, tree) -> set[str]:
    return {name for _span, kind, name in _expr_refs(expr, tree, None) if kind == "value"}


def _field(fact: ast.Fact, name: str) -> Optional[ast.Field]:
    return next((x for x in fact.fields if x.name == name), None)


def label_of(name: str, label: Optional[str]) -> str:
    return f"“{label}”" if label else f"“{name.replace('_', ' ')}” (no label: the name is read)"


def type_text(t: ast.TypeRef) -> str:
    """A declared type as written."""
    members = ", ".join(f'"{m.value}"' for m in t.members)
    return {"quantity": f"quantity {t.unit}", "enum": f"one of {{{members}}}", "set_enum": f"set of {{{members}}}",
            "set_text": "set of text", "count": f"count {t.unit}" if t.unit else "count",
            "set_icd10": "set of icd10", "set_cpt": "set of cpt"}.get(t.kind, t.kind)


def criteria(items) -> Iterator[ast.Criterion]:
    """Every criterion, those under `when` too, in source order."""
    for item in items:
        if isinstance(item, ast.When):
            yield from criteria(item.items)
        else:
            yield item


def _guards(items, target: ast.Criterion, outer: tuple = ()) -> tuple:
    for item in items:
        if isinstance(item, ast.When):
            found = _guards(item.items, target, outer + (item,))
            if found is not None:
                return found
        elif item is target:
            return outer
    return None if outer else ()


def _names_read(expr) -> set[str]:
    out: set[str] = set()
    for _span, kind, name in _expr_refs(expr, None, None):
        if kind == "fact":
            out.add(name)
        elif kind == "field":
            out.add(name.partition(".")[0])
    return out


# ------------------------------------------------------------- references
def _references(tree: Tree) -> Iterator[tuple[Span, str, str]]:
    if isinstance(tree, ast.Formulary):
        for i in tree.ingredients:
            yield i.name.span, "ingredient", i.name.value
        for p in tree.products:
            yield p.name.span, "product", p.name.value
            for i in p.ingredients:
                yield i.span, "ingredient", i.value
        return
    for f in tree.facts:
        yield f.name_span, "fact", f.name
        for fld in f.fields:
            yield fld.name_span, "field", f"{f.name}.{fld.name}"
        if f.default is not None:
            yield from _expr_refs(f.default, tree, None)
    for t in tree.tables:
        yield t.name_span, "table", t.name
    for let in tree.lets:
        yield let.name_span, "value", let.name
        yield from _expr_refs(let.expr, tree, None)
    for item in tree.criteria:
        yield from _item_refs(item, tree)
    for ex in tree.examples:
        for g in ex.givens:
            yield from _path_refs(g.path, tree, None)
            if isinstance(g.value, tuple):  # history rows
                for row in g.value:
                    for field_name, _lit, span in row.values:
                        yield span, "field", f"{g.path.parts[0]}.{field_name}"
        for r in ex.reasons:
            yield _prefix(r.span, len(r.criterion)), "criterion", r.criterion


def _item_refs(item, tree) -> Iterator[tuple[Span, str, str]]:
    if isinstance(item, ast.When):
        yield from _expr_refs(item.condition, tree, None)
        for sub in item.items:
            yield from _item_refs(sub, tree)
        return
    yield item.id_span, "criterion", item.id
    yield from _expr_refs(item.expr, tree, None)
    if item.allows_fewer and item.allows_fewer_span is not None:
        yield item.allows_fewer_span, "fact", item.allows_fewer


def _prefix(span: Span, n: int) -> Span:
    return attrs.evolve(span, end=span.start + n, end_line=span.line, end_column=span.column + n)


def _history_field(tree, history: Optional[str], name: str) -> bool:
    if tree is None or history is None:
        return history is not None
    f = _fact(tree, history)
    return f is not None and _field(f, name) is not None


def _path_refs(path: ast.Path, tree, history: Optional[str]) -> Iterator[tuple[Span, str, str]]:
    spans = path.part_spans or (path.span,)
    first = path.parts[0]
    if first == "request":
        for s in spans:
            yield s, "request", "request.date"
        return
    if history is not None and _history_field(tree, history, first):
        yield spans[0], "field", f"{history}.{first}"
        return
    if isinstance(tree, ast.Guideline) and _fact(tree, first) is None and _let(tree, first) is not None:
        yield spans[0], "value", first
        return
    yield spans[0], "fact", first
    if len(path.parts) > 1 and len(spans) > 1:
        yield spans[1], "field", f"{first}.{path.parts[1]}"


def _expr_refs(e, tree, history: Optional[str]) -> Iterator[tuple[Span, str, str]]:
    if e is None:
        return
    if isinstance(e, ast.Path):
        yield from _path_refs(e, tree, history)
    elif isinstance(e, ast.Aggregate):
        yield from _path_refs(e.target, tree, None)
        h = e.target.parts[0]
        for sub in (e.value, e.where):
            yield from _expr_refs(sub, tree, h)
        if e.field and e.field_span is not None:
            yield e.field_span, "field", f"{h}.{e.field}"
    elif isinstance(e, ast.Lookup):
        yield e.table_span, "table", e.table
        yield from _expr_refs(e.key, tree, history)
    elif isinstance(e, ast.Documented):
        yield from _path_refs(e.path, tree, history)
    else:
        for sub in ast.children(e):
            yield from _expr_refs(sub, tree, history)


# ----------------------------------------------------------------- outline
@attrs.frozen
class Symbol:
    name: str
    kind: str       # guideline | formulary | fact | field | table | criterion | when | example | ingredient | product
    detail: str
    span: Span      # the whole declaration
    selection: Span  # its name
    children: tuple["Symbol", ...] = ()


def outline(tree: Optional[Tree], source: Source) -> list[Symbol]:
    """The symbols of a file, for an editor's outline: the guideline, its facts, tables, criteria, examples."""
    if tree is None:
        return []
    whole = source.span(0, len(source.text))
    if isinstance(tree, ast.Formulary):
        kids = [Symbol(i.name.value, "ingredient", ", ".join(c.value for c in i.classes), i.span, i.name.span)
                for i in tree.ingredients]
        kids += [Symbol(p.name.value, "product", ", ".join(i.value for i in p.ingredients), p.span, p.name.span)
                 for p in tree.products]
        return [Symbol(tree.id, "formulary", tree.title, whole, tree.id_span, tuple(kids))]
    kids = []
    for f in tree.facts:
        fields = tuple(Symbol(x.name, "field", type_text(x.type), x.span, x.name_span) for x in f.fields)
        kids.append(Symbol(f.name, "fact", type_text(f.type), f.span, f.name_span, fields))
    kids += [Symbol(t.name, "table", type_text(t.type), t.span, t.name_span) for t in tree.tables]
    kids += [Symbol(x.name, "value", label_of(x.name, x.label), x.span, x.name_span) for x in tree.lets]
    kids += [_item_symbol(item, source) for item in tree.criteria]
    kids += [Symbol(ex.name, "example", "example", ex.span, _prefix(ex.span, len("example"))) for ex in tree.examples]
    return [Symbol(tree.id, "guideline", tree.title, whole, tree.id_span, tuple(kids))]


def _item_symbol(item, source: Source) -> Symbol:
    if isinstance(item, ast.When):
        text = " ".join(source.text[item.condition.span.start:item.condition.span.end].split())
        return Symbol("when " + text[:60], "when", "", item.span, _prefix(item.span, len("when")),
                      tuple(_item_symbol(i, source) for i in item.items))
    return Symbol(item.id, "criterion", "exclusion" if item.exclude else "criterion", item.span, item.id_span)


# -------------------------------------------------------------- completion
@attrs.frozen
class Completion:
    label: str
    kind: str                 # fact | field | table | named | criterion | value | keyword | type | outcome
    detail: str = ""
    documentation: str = ""
    insert: Optional[str] = None
    replace_from: Optional[int] = None  # offset where the text it replaces starts (default: the word)


SECTION_WORDS = ("facts", "tables", "criteria", "example")
FORMULARY_SECTIONS = ("ingredients", "products")
HEADER_WORDS = ("source", "version", "services", "states", "on denial says")
CRITERIA_WORDS = ("when", "exclude", "let", "says", "shows", "cite", "allows fewer")
EXAMPLE_WORDS = ("given", "expect")
TYPE_WORDS = ("finding", "number", "count", "percent", "quantity", "duration", "date", "text", "one of {}",
              "set of text", "set of {}", "history")
EXPRESSION_WORDS = ("and", "or", "not", "in", "not in", "contains", "contains any of", "contains only",
                    "between", "documented", "time from", "at least", "any", "all", "count", "sum", "last",
                    "first", "within", "where", "present", "absent")
OUTCOMES = ("met", "not met", "not documented", "not applicable")
_AGGREGATES = ("any", "all", "count", "sum", "last", "first")


@attrs.frozen
class _Context:
    statement: str          # the statement up to the cursor, comments removed, continuations joined
    indent: int             # the statement's indentation
    section: str            # header | facts | tables | criteria | example | ingredients | products | ""
    string_start: Optional[int]  # inside a string: the offset after its opening quote
    dead: bool              # inside a comment or text block: nothing to complete


def _context(text: str, offset: int) -> _Context:
    """One pass from the start of the file: strings, text blocks, comments, brackets and statements."""
    i, depth, stmt_start, string_start = 0, 0, 0, None
    section = "header" if re.match(r"(guideline|formulary)\b", text) else ""
    kept: list[str] = []  # the current statement, without comments
    while i < offset:
        c = text[i]
        if text.startswith('"""', i):
            end = text.find('"""', i + 3)
            if end < 0 or end + 3 > offset:
                return _Context("", 0, section, None, True)
            kept.append(text[i:end + 3])
            i = end + 3
            continue
        if c == '"':
            j = i + 1
            while j < offset and text[j] not in '"\n':
                j += 2 if text[j] == "\\" else 1
            if j >= offset:
                kept.append(text[i:offset])
                string_start = i + 1
                break
            kept.append(text[i:j + 1])
            i = j + 1
            continue
        if c == "#":
            end = text.find("\n", i)
            if end < 0 or end >= offset:
                return _Context("", 0, section, None, True)
            i = end
            continue
        if c == "\\" and text[i + 1:i + 2] == "\n":
            kept.append(" ")
            i += 2
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth = max(0, depth - 1)
        if c == "\n" and depth == 0:
            stmt_start = i + 1
            kept = []
            word = re.match(r"[a-z]+", text[stmt_start:stmt_start + 12])
            if word and word.group() in ("guideline", "formulary") + SECTION_WORDS + FORMULARY_SECTIONS:
                section = {"guideline": "header", "formulary": "header"}.get(word.group(), word.group())
            i += 1
            continue
        kept.append(c if c != "\n" else " ")
        i += 1
    indent = len(re.match(r"[ \t]*", text[stmt_start:offset]).group())
    return _Context("".join(kept), indent, section, string_start, False)


def complete(text: str, offset: int, tree: Optional[Tree]) -> list[Completion]:
    """What may be typed at offset: names of this file (from tree) and the words that fit."""
    text = normalize(text)
    ctx = _context(text, offset)
    if ctx.dead:
        return []
    g = tree if isinstance(tree, ast.Guideline) else None
    s = ctx.statement
    if ctx.string_start is not None:
        return _values_for(s[: s.rfind('"')], g, ctx.string_start)
    word = re.search(r"[A-Za-z_][A-Za-z0-9_]*$", s)
    before = s[: word.start()] if word else s
    stripped = before.strip()

    # `h.` / `last(h).` / `request.`
    member = re.search(r"(?:\b(?:last|first)\(\s*([A-Za-z_]\w*)[^()]*\)|\b([A-Za-z_]\w*))\.$", before)
    if member:
        name = member.group(1) or member.group(2)
        if name == "request":
            return [Completion("date", "field", "date", "the date of the request under review")]
        return _fields(g, name)

    # the first word of a statement
    if not stripped:
        if ctx.indent == 0:
            words = FORMULARY_SECTIONS if isinstance(tree, ast.Formulary) else SECTION_WORDS
            return [Completion(w, "keyword") for w in words]
        return [Completion(w, "keyword") for w in {
            "header": HEADER_WORDS, "criteria": CRITERIA_WORDS, "example": EXAMPLE_WORDS}.get(ctx.section, ())]

    if ctx.section == "example" or stripped.startswith(("given", "expect")):
        return _example(stripped, g)

    if ctx.section in ("facts", "tables") and re.fullmatch(r"[A-Za-z_]\w*\s*:", stripped):
        return [Completion(t, "type", insert=t.replace("{}", '{"$1"}') if "{}" in t else None) for t in TYPE_WORDS]
    if ctx.section == "facts" and re.search(r"\bfrom\s+product$", stripped):
        return [Completion(w, "keyword") for w in ("ingredients", "classes", "form", "name")]
    if ctx.section == "facts" and re.search(r"\bfrom\s+item$", stripped):
        return [Completion(part, "keyword") for part in ("quantity", "levels", "length", "purchase", "frequency", "hours",
                                                                   "days")]
    if ctx.section in ("facts", "tables", "header", "ingredients", "products"):
        return [Completion(w, "keyword") for w in ("default", "from product", "from item quantity")] \
            if ctx.section == "facts" else []

    # a condition: inside `agg(h ...)` the history's fields come first
    out: list[Completion] = []
    agg = _open_aggregate(before)
    if agg is not None:
        history, at_target = agg
        if at_target:
            return [c for c in _facts(g) if c.detail == "history"]
        out += _fields(g, history)
    if stripped.endswith("allows fewer"):
        return [c for c in _facts(g) if c.detail == "count"]
    out += _facts(g) + _lets(g) + _tables(g) + [Completion("request.date", "field", "date", "the date of the request")]
    out += [Completion(w, "keyword") for w in EXPRESSION_WORDS]
    return out


def _open_aggregate(before: str) -> Optional[tuple[str, bool]]:
    """The history of the innermost unclosed `any(`, `count(`... before the cursor, and whether the cursor is
    where the history's name goes."""
    depth = 0
    for i in range(len(before) - 1, -1, -1):
        c = before[i]
        if c in ")]}":
            depth += 1
        elif c in "([{":
            if depth:
                depth -= 1
                continue
            if c != "(":
                continue
            m = re.search(r"\b(" + "|".join(_AGGREGATES) + r")\s*$", before[:i])
            if m:
                inside = before[i + 1:]
                target = re.match(r"\s*([A-Za-z_]\w*)", inside)
                if target is None or not inside[target.end():].strip():
                    return (target.group(1) if target else "", True)
                return target.group(1), False
    return None


def _example(stripped: str, g: Optional[ast.Guideline]) -> list[Completion]:
    if stripped.startswith("expect"):
        if "because" not in stripped:
            return [Completion(w, "keyword") for w in ("certified", "not certified", "modified", "because")]
        after = stripped.rsplit("because", 1)[1]
        last = after.rsplit(",", 1)[-1].split()
        if not last:
            return _criteria(g)
        if last == ["not"] or (len(last) == 2 and last[1] == "not"):
            return [Completion(w, "outcome") for w in ("met", "documented", "applicable")]
        return [Completion(w, "outcome") for w in OUTCOMES]
    if stripped.startswith("given"):
        rows = re.search(r"([A-Za-z_]\w*)\s*=\s*\[[^\]]*\{[^}]*$", stripped)
        if rows and re.search(r"(?:\{|,)\s*$", stripped):
            return _fields(g, rows.group(1))
        value = re.search(r"([A-Za-z_]\w*)\s*=\s*$", stripped)
        if value and g is not None:
            f = _fact(g, value.group(1))
            if f is not None and f.type.kind == "finding":
                return [Completion(w, "value") for w in ("present", "absent")]
            if f is not None and f.type.members:
                return [Completion(f'"{m.value}"', "value", type_text(f.type)) for m in f.type.members]
            return []
        if re.search(r"(?:^given|,)\s*$", stripped):
            return _facts(g) + [Completion("request.date", "field", "date", "the date of the request")]
        return []
    return [Completion(w, "keyword") for w in EXAMPLE_WORDS]


def _values_for(before: str, g: Optional[ast.Guideline], string_start: int) -> list[Completion]:
    """Inside quotes: the `one of` values of the fact compared, or a table's keys."""
    if g is None:
        return []
    lookup = re.search(r"\b([A-Za-z_]\w*)\[\s*$", before)
    if lookup:
        t = next((t for t in g.tables if t.name == lookup.group(1)), None)
        return [Completion(e.key.value, "value", f"key of {t.name}", replace_from=string_start)
                for e in t.entries] if t else []
    m = re.search(r"(?:\b(?:last|first)\(\s*([A-Za-z_]\w*)[^()]*\)\.)?\b([A-Za-z_]\w*)\s*"
                  r"(?:=|!=|\bnot\s+in|\bin|\bcontains(?:\s+any\s+of|\s+only)?|:)\s*"
                  r"(?:\{\s*(?:\"[^\"]*\"\s*,\s*)*)?$", before)
    if not m:
        return []
    history, name = m.group(1), m.group(2)
    candidates: list[ast.TypeRef] = []
    if history:
        f = _fact(g, history)
        fld = _field(f, name) if f else None
        candidates = [fld.type] if fld else []
    else:
        f = _fact(g, name)
        candidates = [f.type] if f else [x.type for h in g.facts for x in h.fields if x.name == name]
    out = []
    for t in candidates:
        for member in t.members:
            if all(c.label != member.value for c in out):
                out.append(Completion(member.value, "value", type_text(t), replace_from=string_start))
    return out


def _facts(g: Optional[ast.Guideline]) -> list[Completion]:
    if g is None:
        return []
    return [Completion(f.name, "fact", type_text(f.type), label_of(f.name, f.label)) for f in g.facts]


def _lets(g: Optional[ast.Guideline]) -> list[Completion]:
    if g is None:
        return []
    return [Completion(x.name, "named", "named value", label_of(x.name, x.label)) for x in g.lets]


def _fields(g: Optional[ast.Guideline], history: str) -> list[Completion]:
    f = _fact(g, history) if g is not None else None
    if f is None:
        return []
    return [Completion(x.name, "field", type_text(x.type), label_of(x.name, x.label)) for x in f.fields]


def _tables(g: Optional[ast.Guideline]) -> list[Completion]:
    if g is None:
        return []
    return [Completion(t.name, "table", type_text(t.type), label_of(t.name, t.label)) for t in g.tables]


def _criteria(g: Optional[ast.Guideline]) -> list[Completion]:
    if g is None:
        return []
    return [Completion(c.id, "criterion", "exclusion" if c.exclude else "criterion", c.says or "")
            for c in criteria(g.criteria)]
