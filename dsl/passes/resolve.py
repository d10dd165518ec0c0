"""Pass 2, resolve: every name in an expression or example refers to something.

Guarantees: each ast.Path in criteria, conditions and examples is recorded in
ctx.resolved as "fact", "field" (a row field inside `where`) or
"request.date"; fields named after `last(...)`, in `sum(h.field)` and in
example rows exist. Reports E201, E202, E205 with "did you mean" hints.
"""

from __future__ import annotations

from typing import Optional

from dsl import ast, model
from dsl import diagnostics as diag
from dsl.passes.context import Context, did_you_mean

REQUEST_FIELDS = ("date",)


class _Resolver:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def history_fields(self, name: str) -> Optional[tuple[model.Field, ...]]:
        fact = self.ctx.facts.get(name)
        if fact is not None and fact.type.kind == model.HISTORY:
            return fact.type.fields
        return None

    def unknown_fact(self, name: str, span, row: tuple[model.Field, ...] = ()):
        candidates = list(self.ctx.facts) + [f.name for f in row] + ["request"]
        hint = did_you_mean(name, candidates)
        if hint is None:
            owners = [f.name for f in self.ctx.facts.values()
                      if f.type.kind == model.HISTORY and f.type.field(name)]
            if owners:
                hint = f"`{name}` is a field of `{owners[0]}`; use `last({owners[0]}).{name}` or a `where` inside `any({owners[0]} ...)`"
            else:
                hint = "declare it under `facts`, e.g. `" + name + ': finding "..."`'
        self.ctx.report(diag.error("E201", f"`{name}` is not a declared fact", span, hint=hint))

    def unknown_field(self, history: str, name: str, span, fields):
        hint = did_you_mean(name, [f.name for f in fields]) or (
            "its fields are " + ", ".join(f"`{f.name}`" for f in fields) if fields else None)
        self.ctx.report(diag.error("E202", f"history `{history}` has no field `{name}`", span, hint=hint))

    def path(self, p: ast.Path, row: tuple[model.Field, ...] = ()):
        first = p.parts[0]
        if first == "request" and first not in self.ctx.facts:
            if len(p.parts) == 2 and p.parts[1] in REQUEST_FIELDS:
                self.ctx.resolved[p] = "request.date"
            else:
                self.ctx.report(diag.error("E205", f"`{p.dotted}` is not something a request has", p.span,
                                           hint="the request provides `request.date`, the date time is counted from"))
            return
        if len(p.parts) == 1:
            if any(f.name == first for f in row):
                self.ctx.resolved[p] = "field"
            elif first in self.ctx.facts:
                self.ctx.resolved[p] = "fact"
            else:
                self.unknown_fact(first, p.span, row)
            return
        if first not in self.ctx.facts:
            self.unknown_fact(first, p.part_spans[0] if p.part_spans else p.span, row)
            return
        fields = self.history_fields(first)
        if fields is not None and len(p.parts) == 2:
            f = p.parts[1]
            if not any(x.name == f for x in fields):
                self.unknown_field(first, f, p.part_spans[1], fields)
                return
            self.ctx.report(diag.error("E205", f"`{p.dotted}` names a field of every row of the history", p.span,
                                       hint=f"pick a row: `last({first}).{f}`, or test rows: `any({first} where {f} ...)`"))
            return
        self.ctx.report(diag.error("E205", f"`{first}` has no parts; `{p.dotted}` does not exist", p.span,
                                   hint=f"write `{first}` alone"))

    def expr(self, e, row: tuple[model.Field, ...] = ()):
        if isinstance(e, ast.Path):
            self.path(e, row)
        elif isinstance(e, ast.Documented):
            self.path(e.path, row)
        elif isinstance(e, ast.Aggregate):
            self.aggregate(e, row)
        elif isinstance(e, ast.Not):
            self.expr(e.operand, row)
        elif isinstance(e, (ast.Logic, ast.AtLeast, ast.SetLit)):
            for x in (e.operands if isinstance(e, ast.Logic) else e.items):
                self.expr(x, row)
        elif isinstance(e, (ast.Compare, ast.Membership, ast.Arith)):
            self.expr(e.left, row)
            self.expr(e.right, row)
        elif isinstance(e, ast.Between):
            for x in (e.value, e.low, e.high):
                self.expr(x, row)
        elif isinstance(e, ast.TimeFrom):
            self.expr(e.start, row)
            self.expr(e.end, row)

    def aggregate(self, e: ast.Aggregate, row):
        t = e.target
        name = t.parts[0]
        if name not in self.ctx.facts:
            self.unknown_fact(name, t.part_spans[0] if t.part_spans else t.span, row)
            return
        self.ctx.resolved[t] = "fact"
        fields = self.history_fields(name)
        if fields is None:
            return  # typecheck reports E307: not a history
        if len(t.parts) > 2:
            self.ctx.report(diag.error("E205", f"`{t.dotted}` does not exist", t.span))
        elif len(t.parts) == 2 and not any(f.name == t.parts[1] for f in fields):
            self.unknown_field(name, t.parts[1], t.part_spans[1], fields)
        if e.field is not None and not any(f.name == e.field for f in fields):
            self.unknown_field(name, e.field, e.field_span, fields)
        if e.where is not None:
            self.expr(e.where, fields)

    def example(self, ex: ast.Example):
        for g in ex.givens:
            self.path(g.path)
            if isinstance(g.value, tuple) and self.ctx.resolved.get(g.path) == "fact":
                fields = self.history_fields(g.path.parts[0]) or ()
                for r in g.value:
                    for fname, _lit, span in r.values:
                        if not any(f.name == fname for f in fields):
                            self.unknown_field(g.path.parts[0], fname, span, fields)


def _walk_items(r: _Resolver, items):
    for item in items:
        if isinstance(item, ast.When):
            r.expr(item.condition)
            _walk_items(r, item.items)
        else:
            r.expr(item.expr)


def resolve(ctx: Context) -> None:
    """Record what every name refers to; report unknown names with suggestions."""
    r = _Resolver(ctx)
    _walk_items(r, ctx.tree.criteria)
    for ex in ctx.tree.examples:
        r.example(ex)
