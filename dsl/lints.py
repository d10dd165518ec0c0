"""The silence lints of `mtus lint`: warnings where an encoding moves a burden off the requester.

They read a checked model (docs/language.md, "How silence is read"):
W404 a history or request detail that does not say what a silent record means,
W405 an exclusion that can hold only because a fact is absent or negated,
W406 a criterion whose condition reads a request detail checked only when
stated together with a clinical finding (the detail's rule would decide the
clinical part too), W410 a `last(h)` or `first(h)` that no `any(h)` guards (a
history with no entry leaves the criterion not documented, where a reviewer
would read it as failed). They are lints, not errors: the guideline still compiles.
"""

from __future__ import annotations

from mtus.dsl import diagnostics as diag
from mtus.dsl import model
from mtus.dsl.dump import expr as outline

#: The silence rule that makes a criterion not apply when its detail is unstated (as written in the model).
CHECKED_WHEN_STATED = "checked when stated"


def lint(guideline: model.Guideline) -> list[diag.Diagnostic]:
    """Every silence warning of a guideline, in source order."""
    out = [d for f in guideline.facts for d in _unruled(f)]
    for c in guideline.criteria:
        if c.exclude and _only_by_absence(c.expr):
            out.append(diag.warning(
                "W405", f"exclusion `{c.id}` can hold only because a fact is absent or negated", c.span,
                hint="a silent record never makes an exclusion apply, so this moves the burden of documenting "
                     "the fact off the requester: write it as a criterion for use (drop `exclude` and `not`)"))
        for q in _unguarded_picks(c):
            h = guideline.fact(q.history.name)
            out.append(diag.warning(
                "W410", f"`{q.op}({q.history.name})` reads an entry, but `{q.history.name}` may have none", q.span,
                hint=f"with no entry the criterion is not documented; where the guideline means otherwise, guard "
                     f"it: `when any({q.history.name})` above it (then not applicable without an entry), or "
                     f"`any({q.history.name}) and ...` (then not met)" + ("" if h is None or h.silence != "none when silent" else
                                                            f"; a record silent on `{q.history.name}` reads as none")))
        mixed = _mixed(guideline, c)
        if mixed is not None:
            detail, clinical = mixed
            out.append(diag.warning(
                "W406", f"`{c.id}` reads the request detail `{detail}` together with the clinical fact `{clinical}`",
                c.span,
                hint=f"`{detail}` is checked only when stated, so when the request leaves it out `{c.id}` does "
                     f"not apply, whatever `{clinical}` is: write the `{detail}` condition as a criterion of its own"))
    return sorted(out, key=lambda d: (d.span.start, d.code))


def _unruled(f: model.Fact) -> list[diag.Diagnostic]:
    if f.silence is not None or f.default is not None:
        return []
    if f.type.kind == model.HISTORY:
        return [diag.warning("W404", f"history `{f.name}` does not say what a record silent on it means", f.span,
                             hint="add `, none when silent` (a request reviewed as the first one) or `, required` "
                                  "(a request for more, which needs the history documented)")]
    if f.detail:
        return [diag.warning("W404", f"request detail `{f.name}` does not say what a request silent on it means",
                             f.span,
                             hint="add `, required` (the request is incomplete without it) or `, checked when "
                                  "stated` (the criteria that read it do not apply when it is left out)")]
    return []


def _guards(e: model.Expr) -> list[model.Query]:
    """The `any(h ...)` conjuncts of a condition: where it holds, those histories have an entry."""
    if isinstance(e, model.ValueRef):
        return _guards(e.expr)
    if isinstance(e, model.Query) and e.op == "any":
        return [e]
    if isinstance(e, model.Logic) and e.op == "and":
        return [g for x in e.operands for g in _guards(x)]
    return []


def _guarded(q: model.Query, guards: list[model.Query]) -> bool:
    """A guard covers a pick of the same history that selects the same entries, or all of them (an entry the
    guard selects is then among them)."""
    return any(g.history.name == q.history.name and
               ((q.within is None and q.where is None) or _selection(g) == _selection(q))
               for g in guards)


def _selection(q: model.Query) -> tuple:
    """Which entries a query selects, as written (spans aside): its history, `within` and `where`."""
    return q.history.name, q.within, None if q.where is None else outline(q.where)


def _unguarded_picks(c: model.Criterion) -> list[model.Query]:
    """The `last(...)`/`first(...)` of c's condition that no `when` or `and` above them guards with `any`."""
    out: list[model.Query] = []

    def walk(e: model.Expr, guards: list[model.Query]) -> None:
        if isinstance(e, model.Query) and e.op in ("last", "first") and not _guarded(e, guards):
            out.append(e)
        if isinstance(e, model.Logic) and e.op == "and":
            guards = guards + _guards(e)
        for child in model.children(e):
            walk(child, guards)

    walk(c.expr, [g for cond in c.conditions for g in _guards(cond.expr)])
    unique: dict = {}
    for q in out:  # one warning per pick as written
        unique.setdefault((q.op,) + _selection(q), q)
    return list(unique.values())


def _only_by_absence(e: model.Expr) -> bool:
    """Whether every way e can hold rests on a negation: `not X`, `= absent`, `not in`, `not documented`."""
    if isinstance(e, model.ValueRef):
        return _only_by_absence(e.expr)
    if isinstance(e, model.Not):
        return True
    if isinstance(e, model.Compare) and e.op in ("=", "!="):
        for side in (e.left, e.right):
            if isinstance(side, model.Const) and isinstance(side.value, bool):
                return side.value is (e.op == "!=")
        return e.op == "!="
    if isinstance(e, model.Member):
        return e.op == "not in"
    if isinstance(e, model.Logic):
        parts = [_only_by_absence(x) for x in e.operands]
        return all(parts) if e.op == "and" else any(parts)
    return False


def _mixed(g: model.Guideline, c: model.Criterion):
    """(detail, clinical fact) when c's own condition reads a detail checked only when stated and a clinical fact.

    A clinical fact here is one that is neither a request detail nor a
    history: `any(prior) or requested <= 6` (an initial-request limit) is fine.
    """
    detail = clinical = None
    for name in model.facts_read(c.expr):
        f = g.fact(name)
        if f is None:
            continue
        if f.detail and f.silence == CHECKED_WHEN_STATED:
            detail = detail or name
        elif not f.detail and f.type.kind != model.HISTORY:
            clinical = clinical or name
    return (detail, clinical) if detail and clinical else None
