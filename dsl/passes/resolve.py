"""Pass 2, resolve: every name in an expression or example refers to something.

Guarantees: each ast.Path in criteria, conditions and examples that names
something is recorded in ctx.resolved as "fact", "field" (a row field inside
`where` or `sum(h of ...)`) or "request.date"; fields named after
`last(...)`, in `sum(h.field)` and in example rows exist; the table of each
lookup `table[key]` and the fact of each `allows fewer` are declared. A node
that names nothing is reported once (E201, E202, E205, E206, with "did you
mean" hints) and recorded in ctx.failed, so later passes skip it instead of
reporting its consequences. Also records in ctx.read the facts that criteria
and conditions read, and in ctx.tables_read the tables they look up.
"""

from __future__ import annotations

from typing import Optional

from mtus.dsl import ast, model
from mtus.dsl import diagnostics as diag
from mtus.dsl.passes.context import Context, did_you_mean

REQUEST_FIELDS = ("date",)


class _Resolver:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.reading = True  # False while resolving examples: a `given` does not read a fact

    def history_fields(self, name: str) -> Optional[tuple[model.Field, ...]]:
        fact = self.ctx.facts.get(name)
        if fact is not None and fact.type.kind == model.HISTORY:
            return fact.type.fields
        return None

    def fail(self, node, d: diag.Diagnostic) -> None:
        self.ctx.failed.add(id(node))
        self.ctx.report(d)

    def found(self, p: ast.Path, kind: str) -> None:
        self.ctx.resolved[id(p)] = kind
        if kind == "fact" and self.reading:
            self.ctx.read.add(p.parts[0])

    def unknown_fact(self, node, name: str, span, row: tuple[model.Field, ...] = ()):
        candidates = list(self.ctx.facts) + list(self.ctx.lets) + [f.name for f in row] + ["request"]
        hint = did_you_mean(name, candidates)
        if hint is None:
            owners = [f.name for f in self.ctx.facts.values()
                      if f.type.kind == model.HISTORY and f.type.field(name)]
            if owners:
                hint = (f"`{name}` is a field of `{owners[0]}`; read it with `last({owners[0]}).{name}`, "
                        f"or test it with `any({owners[0]} where {name} ...)`")
            else:
                hint = "declare it under `facts`, e.g. `" + name + ': finding "..."`'
        self.fail(node, diag.error("E201", f"`{name}` is not a declared fact", span, hint=hint))

    def unknown_field(self, node, history: str, name: str, span, fields):
        if not fields:  # declare reported the history without fields (E405)
            self.ctx.failed.add(id(node))
            return
        hint = did_you_mean(name, [f.name for f in fields]) or (
            "its fields are " + ", ".join(f"`{f.name}`" for f in fields) if fields else None)
        self.fail(node, diag.error("E202", f"history `{history}` has no field `{name}`", span, hint=hint))

    def path(self, p: ast.Path, row: tuple[model.Field, ...] = ()):
        parts = p.parts
        first = parts[0]
        facts = self.ctx.facts
        if not row and len(parts) == 1 and first in facts:
            self.found(p, "fact")  # most paths: a fact's name, outside `where`
            return
        if first == "request" and first not in facts:
            if len(parts) == 2 and parts[1] in REQUEST_FIELDS:
                self.found(p, "request.date")
            else:
                hint = did_you_mean(p.dotted, [f"request.{f}" for f in REQUEST_FIELDS]) if len(parts) > 1 else None
                self.fail(p, diag.error("E205", f"`{p.dotted}` is not something a request has", p.span,
                                        hint=hint or "the request provides `request.date`, the date time is counted from"))
            return
        if len(parts) == 1:
            if any(f.name == first for f in row):
                self.found(p, "field")
            elif first in facts:
                self.found(p, "fact")
            elif first in self.ctx.lets:
                self.value(p)
            else:
                self.unknown_fact(p, first, p.span, row)
            return
        if first in self.ctx.lets and first not in self.ctx.facts:
            self.fail(p, diag.error("E205", f"`{first}` is a named value and has no parts; `{p.dotted}` does not exist",
                                    p.span, hint=f"write `{first}` alone"))
            return
        if first not in self.ctx.facts:
            self.unknown_fact(p, first, p.part_spans[0] if p.part_spans else p.span, row)
            return
        fields = self.history_fields(first)
        if fields is not None and len(p.parts) == 2:
            f = p.parts[1]
            if not any(x.name == f for x in fields):
                self.unknown_field(p, first, f, p.part_spans[1], fields)
                return
            self.fail(p, diag.error("E205", f"`{p.dotted}` names a field of every entry of the history, not one value",
                                    p.span, hint=f"pick an entry: `last({first}).{f}`, or test the entries: "
                                                 f"`any({first} where {f} ...)`"))
            return
        self.fail(p, diag.error("E205", f"`{first}` has no parts; `{p.dotted}` does not exist", p.span,
                                hint=f"write `{first}` alone"))

    def value(self, p: ast.Path) -> None:
        """A use of a named value: only in conditions, and only below its `let` (which also rules out cycles)."""
        let = self.ctx.lets[p.parts[0]]
        if self.reading:  # used, even where wrongly: "unused" would only repeat the error
            self.ctx.lets_used.add(let.name)
        if not self.reading:
            self.fail(p, diag.error("E201", f"`{let.name}` is a named value, not a fact an example can give",
                                    p.span, hint="give the facts it is computed from; the value follows from them"))
        elif let.span.end > p.span.start:
            inside = let.span.start <= p.span.start
            self.fail(p, diag.error(
                "E414", f"named value `{let.name}` is used {'in its own definition' if inside else 'above its `let`'}",
                p.span, notes=[diag.Note("defined here", let.name_span)],
                hint="a value cannot be computed from itself" if inside else
                "move the `let` above the first criterion that uses it: a guideline is read top to bottom"))
        else:
            self.found(p, "value")

    def expr(self, e, row: tuple[model.Field, ...] = ()):
        if isinstance(e, ast.Path):
            self.path(e, row)
        elif isinstance(e, ast.Documented):
            self.path(e.path, row)
        elif isinstance(e, ast.Aggregate):
            self.aggregate(e, row)
        elif isinstance(e, ast.Lookup):
            self.lookup(e, row)
        else:  # operators and literals: what they are made of
            for x in ast.children(e):
                self.expr(x, row)

    def quietly_read(self, e) -> None:
        """Note the facts and tables under a node that cannot be checked, so they are not also called unused."""
        if isinstance(e, ast.Path):
            if e.parts[0] in self.ctx.facts and self.reading:
                self.ctx.read.add(e.parts[0])
            return
        if isinstance(e, ast.Lookup) and e.table in self.ctx.tables and self.reading:
            self.ctx.tables_read.add(e.table)
        for sub in ast.children(e):  # an aggregate's history path among them
            self.quietly_read(sub)

    def lookup(self, e: ast.Lookup, row):
        self.expr(e.key, row)
        if e.table in self.ctx.tables:
            if self.reading:
                self.ctx.tables_read.add(e.table)
            return
        hint = did_you_mean(e.table, self.ctx.tables)
        if hint is None and (e.table in self.ctx.facts or any(f.name == e.table for f in row)):
            hint = f"`{e.table}` is a fact; `[...]` looks up an entry of a table declared under `tables`"
        if hint is None:
            hint = ("the tables are " + ", ".join(f"`{t}`" for t in sorted(self.ctx.tables)) if self.ctx.tables else
                    f"declare it in a `tables` section, e.g. `{e.table}: number` with `\"key\": value` entries "
                    "indented below")
        self.fail(e, diag.error("E206", f"`{e.table}` is not a declared table", e.table_span, hint=hint))

    def aggregate(self, e: ast.Aggregate, row):
        t = e.target
        name = t.parts[0]
        if name in self.ctx.lets and name not in self.ctx.facts:
            self.fail(e, diag.error("E307", f"`{e.op}(...)` works on a history, but `{name}` is a named value",
                                    t.span, hint=f"`{e.op}` reads the entries of a `history` fact"))
            return
        if name not in self.ctx.facts:
            self.unknown_fact(e, name, t.part_spans[0] if t.part_spans else t.span, row)
            return
        self.found(t, "fact")
        fields = self.history_fields(name)
        if fields is None:  # typecheck reports E307: not a history
            for sub in (e.value, e.where):
                if sub is not None:
                    self.quietly_read(sub)
            return
        if len(t.parts) > 2:
            self.fail(e, diag.error("E205", f"`{t.dotted}` does not exist", t.span,
                                    hint=f"name one field of `{name}`, "
                                         f"e.g. `sum({name}.{fields[0].name if fields else 'field'})`"))
        elif len(t.parts) == 2 and not any(f.name == t.parts[1] for f in fields):
            self.unknown_field(e, name, t.parts[1], t.part_spans[1], fields)
        if e.field is not None and not any(f.name == e.field for f in fields):
            self.unknown_field(e, name, e.field, e.field_span, fields)
        if e.value is not None:
            self.expr(e.value, fields)
        if e.where is not None:
            self.expr(e.where, fields)

    def example(self, ex: ast.Example):
        resolved, facts = self.ctx.resolved, self.ctx.facts
        for g in ex.givens:
            path = g.path
            parts = path.parts
            if len(parts) == 1 and parts[0] in facts:  # most givens: a fact by its name (as path() finds it)
                resolved[id(path)] = "fact"
                if not isinstance(g.value, tuple):
                    continue
            else:
                self.path(path)
                if not (isinstance(g.value, tuple) and resolved.get(id(path)) == "fact"):
                    continue
            # a history's rows: each field they give must be one of its fields
            fields = self.history_fields(parts[0]) or ()
            names = {f.name for f in fields}
            for r in g.value:
                for fname, _lit, span in r.values:
                    if fname not in names:
                        self.unknown_field(g, parts[0], fname, span, fields)


def _walk_items(r: _Resolver, items):
    for item in items:
        if isinstance(item, ast.When):
            r.expr(item.condition)
            _walk_items(r, item.items)
        else:
            r.expr(item.expr)
            if item.allows_fewer is not None and item.allows_fewer not in r.ctx.facts:
                hint = did_you_mean(item.allows_fewer, r.ctx.facts) or \
                    "name the count fact that the request asks for, e.g. `allows fewer visits_requested`"
                r.ctx.report(diag.error("E201", f"`{item.allows_fewer}` is not a declared fact",
                                        item.allows_fewer_span, hint=hint))


def resolve(ctx: Context) -> None:
    """Record what every name refers to; report unknown names with suggestions."""
    r = _Resolver(ctx)
    for let in ctx.tree.lets:
        if ctx.lets.get(let.name) is let:
            r.expr(let.expr)
        else:  # reported by declare (a duplicate, or under a `when`): what it reads is not also unused
            r.quietly_read(let.expr)
    _walk_items(r, ctx.tree.criteria)
    r.reading = False
    for ex in ctx.tree.examples:
        r.example(ex)
