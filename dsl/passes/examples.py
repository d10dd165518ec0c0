"""Typing the examples: given values fit their facts, expected criteria exist, an expected
modification can happen (part of pass 3)."""

from __future__ import annotations

import datetime

from mtus.dsl import ast, model
from mtus.dsl import diagnostics as diag
from mtus.dsl.model import BOOL, CODE, COUNT, DATE, DURATION, ENUM, HISTORY, PERCENT, SET, TEXT, Type
from mtus.dsl.passes import literals
from mtus.dsl.passes.context import Context, did_you_mean
from mtus.dsl.passes.hints import example_of, member_hint


#: What _plain() returns for a given it leaves to the general path.
_GENERAL = object()


def _plain(t: Type, lit):
    """The value of a well-formed given of the commonest kinds, as the general path below would find it, or
    _GENERAL: a finding, date, count, duration, percent, text or one of a fact's values given for a fact of that
    type.

    An example gives hundreds of values; building a typed constant for each only to take its value back
    was most of checking them. Anything else (a mistake above all) takes the general path, which reports it.
    """
    k, cls = t.kind, type(lit)
    if cls is ast.FindingLit:
        return lit.present if k is BOOL else _GENERAL
    if cls is ast.StringLit:
        if k is TEXT or (k is ENUM and lit.value in t.members):
            return lit.value
        return _GENERAL
    if cls is ast.DateLit and k is DATE:
        try:
            return datetime.date.fromisoformat(lit.text)
        except ValueError:
            return _GENERAL
    if cls is ast.NumberLit and lit.value == lit.value.to_integral_value():
        if k is COUNT and lit.unit is None:
            return int(lit.value)
        if k is DURATION and lit.unit is not None and lit.unit.lower() in literals.DURATION_UNITS:
            months, days = literals.DURATION_UNITS[lit.unit.lower()]
            n = int(lit.value)
            if months * n <= literals.MAX_MONTHS and days * n <= literals.MAX_DAYS:
                return model.Period(months * n, days * n)
        return _GENERAL
    if cls is ast.PercentLit and k is PERCENT:
        return lit.value
    return _GENERAL


def _plain_member(element: Type, lit):
    """A text given for a `set of text` or `set of` values fact, as _set_member finds it, or _GENERAL."""
    if type(lit) is ast.StringLit and (element.kind is TEXT or (element.kind is ENUM and lit.value in element.members)):
        return lit.value
    return _GENERAL


def _given_value(ctx: Context, typer, t: Type, lit, span):
    value = _plain(t, lit)
    if value is not _GENERAL:
        return value
    if t.kind == SET and t.element is not None:
        if type(lit) is ast.SetLit:
            values = [_plain_member(t.element, x) for x in lit.items]
            if _GENERAL not in values:
                return frozenset(values)
        else:
            value = _plain_member(t.element, lit)
            if value is not _GENERAL:
                return frozenset([value])
    if t.kind == HISTORY:
        if not isinstance(lit, tuple):
            return typer.err("E308", "a history is given as a list of entries, e.g. [{date: 2014-09-01, relief: 60%}]",
                             span)
        fields: dict[str, Type] = {}
        for f in t.fields:  # the first of a name, as t.field() finds it
            fields.setdefault(f.name, f.type)
        rows = []
        for r in lit:
            values = []
            for fname, flit, _fspan in r.values:
                ft = fields.get(fname)
                if ft is None:
                    return None  # resolve reported the unknown field
                v = _plain(ft, flit)
                if v is _GENERAL:
                    v = _given_value(ctx, typer, ft, flit, flit.span)
                    if v is None:
                        return None
                values.append((fname, v))
            rows.append(tuple(values))
        return tuple(rows)
    if isinstance(lit, tuple):
        return typer.err("E308", f"a list of entries is given, but the fact is {t.describe()}", span,
                         hint=f"give one value, e.g. {example_of(t)}")
    if isinstance(lit, ast.SetLit):
        if t.kind != SET:
            return typer.err("E308", f"a set of values is given, but the fact is {t.describe()}", lit.span,
                             hint=f"give one value, e.g. {example_of(t)}")
        values = [_set_member(typer, t, x) for x in lit.items]
        return None if any(v is None for v in values) else frozenset(values)
    c = typer._literal(lit)
    if c is None:
        return None
    if t.kind == SET:
        return None if _set_member(typer, t, lit, c) is None else frozenset([c.value])
    fitted = literals.fits(c, t)
    if fitted is None:
        if t.kind == ENUM and c.type.kind == TEXT:
            return typer.err("E203", f'"{c.value}" is not one of the values declared for this fact', lit.span,
                             hint=member_hint(c.value, t.members))
        if t.kind == CODE:
            return typer.err("E308", f"{typer.show(lit)} is not {t.describe()}", lit.span,
                             hint=f"an example gives a code as a record states it, such as {example_of(t)}; "
                                  "patterns such as `\"M79.1*\"` are for conditions")
        return typer.err("E308", f"{typer.show(lit)} is not {t.describe()}", lit.span,
                         hint=f"write {t.describe()} such as {example_of(t)}")
    return fitted.value


def _set_member(typer, t: Type, lit, c=None):
    """One value given for a `set of` fact, checked against its declared members."""
    c = c if c is not None else typer._literal(lit)
    if c is None:
        return None
    if c.type.kind != TEXT:
        return typer.err("E308", f"{typer.show(lit)} is not a text, but the fact is {t.describe()}", lit.span,
                         hint='give its values in quotes, e.g. {"fibromyalgia", "myofascial pain"}')
    if t.element.kind == ENUM and c.value not in t.element.members:
        return typer.err("E203", f'"{c.value}" is not one of the values declared for this fact', lit.span,
                         hint=member_hint(c.value, t.element.members))
    if t.element.kind == CODE:
        fitted = literals.fits(c, t.element)
        if fitted is None:
            return typer.err("E308", f"{typer.show(lit)} is not {t.element.describe()}", lit.span,
                             hint=f"an example gives codes as a record states them, such as "
                                  f"{example_of(t.element)}; patterns such as `\"M79.1*\"` are for conditions")
        return fitted.value
    return c.value


def check_examples(ctx: Context, typer):
    excluded = _exclusions(ctx.tree.criteria)
    ids = set(excluded)
    resolved, failed, declared = ctx.resolved, ctx.failed, ctx.facts
    for ex in ctx.tree.examples:
        date = None
        facts = []
        ok = True
        given: dict[str, ast.Given] = {}
        for g in ex.givens:
            kind = resolved.get(id(g.path))
            if kind is None or id(g) in failed:
                ok = False  # resolve reported it
                continue
            parts = g.path.parts
            dotted = parts[0] if len(parts) == 1 else g.path.dotted
            if g.op != "=":
                ok = False
                typer.err("E110", f"an example gives each value with `=`, not `{g.op}`", g.op_span or g.span,
                          hint=f"write `{dotted} = ...`: an example states what the record documents")
                continue
            if dotted in given:
                ok = False
                typer.err("E401", f"`{dotted}` is given twice in this example", g.path.span,
                          notes=[diag.Note("first given here", given[dotted].path.span)],
                          hint="give each fact once")
                continue
            given[dotted] = g
            if kind == "request.date":
                if isinstance(g.value, ast.DateLit):
                    date = _plain(model.T_DATE, g.value)
                    if date is _GENERAL:  # not a calendar date: the general path reports it
                        c = typer._literal(g.value)
                        date = c.value if c else None
                        ok &= c is not None
                else:
                    ok = False
                    typer.err("E308", "`request.date` is a date", g.span, hint="write e.g. `request.date = 2014-12-18`")
                continue
            fact = declared[parts[0]]
            v = _plain(fact.type, g.value)
            if v is _GENERAL:
                v = _given_value(ctx, typer, fact.type, g.value, g.span)
                ok &= v is not None
            facts.append((fact.name, v))
        for r in ex.reasons:
            if r.criterion not in ids:
                ok = False
                typer.err("E204", f"`{r.criterion}` is not a criterion of this guideline",
                          ctx.source.span(r.span.start, r.span.start + len(r.criterion)),
                          hint=did_you_mean(r.criterion, ids) or
                          ("the criteria are " + ", ".join(f"`{i}`" for i in sorted(ids)) if ids else None))
            elif r.outcome not in _OUTCOMES[excluded[r.criterion]]:
                ok = False
                kind = "an exclusion" if excluded[r.criterion] else "a criterion for use"
                meant = _MEANT.get(r.outcome)
                typer.err("E411", f"`{r.criterion}` is {kind}: it cannot be `{r.outcome}`",
                          ctx.source.span(r.span.start + len(r.criterion) + 1, r.span.end),
                          hint=(f"write `{r.criterion} {meant}`; " if meant else "") +
                          ("an exclusion applies, does not apply or is not applicable (a record silent on it does "
                           "not make it apply)" if excluded[r.criterion] else
                           "a criterion for use is met, not met, not documented or not applicable"))
        if ex.modified is not None:
            ok &= _modified(ctx, typer, ex, dict(facts), set(given))
        if ok:
            ctx.examples.append(model.Example(ex.name, date, tuple(facts), ex.certified,
                                              tuple([(r.criterion, r.outcome) for r in ex.reasons]), ex.span,
                                              modified=ex.modified))


def _fewer(items) -> list[ast.Criterion]:
    """The criteria (also under `when`) with an `allows fewer` line."""
    out = []
    for i in items:
        if isinstance(i, ast.When):
            out += _fewer(i.items)
        elif i.allows_fewer is not None:
            out.append(i)
    return out


def _modified(ctx: Context, typer, ex: ast.Example, given: dict, written: set[str]) -> bool:
    """`expect modified N`: N is at least 1, and fewer than the example requests of a fact that allows fewer."""
    n = ex.modified
    if n < 1:
        typer.err("E305", "`modified 0` certifies nothing", ex.modified_span,
                  hint="a modification certifies from 1 to one fewer than requested; certifying none of the "
                       "request is `expect not certified`")
        return False
    criteria = _fewer(ctx.tree.criteria)
    if not criteria:
        typer.err("E407", "no criterion of this guideline allows fewer, so it is never modified", ex.modified_span,
                  hint="add `allows fewer <count fact>` under the criterion that limits the amount requested, "
                       "or expect `not certified`")
        return False
    names = sorted({c.allows_fewer for c in criteria
                    if c.allows_fewer in ctx.facts and ctx.facts[c.allows_fewer].type.kind == model.COUNT})
    if not names:
        return False  # reported at the `allows fewer` line
    requested = {name: given[name] for name in names if isinstance(given.get(name), int)}
    shown = " or ".join(f"`{name}`" for name in names)
    if not requested and any(name in written for name in names):
        return False  # given, but its value was reported
    if not requested:
        typer.err("E407", f"the example does not give {shown}, the amount that may be reduced", ex.modified_span,
                  hint=f"give the amount requested, e.g. `{names[0]} = {n + 1}`")
        return False
    if all(v <= n for v in requested.values()):
        name, most = max(requested.items(), key=lambda kv: kv[1])
        typer.err("E407", f"the example requests {most} (`{name}`), so it cannot be modified to {n}: a modification "
                          "certifies fewer than requested", ex.modified_span,
                  hint=f"expect a number from 1 to {most - 1}" if most > 1 else
                  f"with {most} requested there is nothing fewer to certify; expect `certified` or `not certified`")
        return False
    return True


#: The outcomes an example may expect of a criterion for use (False) and of an exclusion (True).
_OUTCOMES = {False: ("met", "not met", "not documented", "not applicable"),
             True: ("applies", "does not apply", "not applicable")}


#: The outcome an author most likely meant, written with the other kind's word.
_MEANT = {"not met": "applies", "met": "does not apply", "not documented": "does not apply",
          "applies": "not met", "does not apply": "met"}


def _exclusions(items) -> dict[str, bool]:
    """Every criterion id (also under `when`) -> whether it is an exclusion (the first of duplicates wins)."""
    out: dict[str, bool] = {}
    for i in items:
        if isinstance(i, ast.When):
            for k, v in _exclusions(i.items).items():
                out.setdefault(k, v)
        elif isinstance(i, ast.Criterion):
            out.setdefault(i.id, i.exclude)
    return out
