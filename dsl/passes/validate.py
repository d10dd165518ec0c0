"""Pass 4, validate: the guideline as a whole makes sense; build the model.

Guarantees: criterion ids are unique; there is at least one criterion; the
guideline cites a source and page; no `when` condition is false whatever the
case says. Warns about facts and tables that nothing reads. Sets ctx.model.
"""

from __future__ import annotations

import datetime

import operator
from decimal import Decimal
from typing import Optional

from mtus.dsl import ast, model
from mtus.dsl import diagnostics as diag
from mtus.dsl.passes.context import Context
from mtus.dsl.passes.declare import OPERAND_KEYWORDS
from mtus.dsl.passes.medcodes import procedure_system
from mtus.dsl.passes.typecheck import _base_citation as base_citation
from mtus.dsl.passes.typecheck import _citation as completed_citation

_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
_CMP = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
        "=": operator.eq, "!=": operator.ne}


def constant_truth(e: model.Expr) -> Optional[bool]:
    """The truth of e if it is the same for every case, else None."""
    if isinstance(e, model.Const) and isinstance(e.value, bool):
        return e.value
    if isinstance(e, model.ValueRef):
        return constant_truth(e.expr)
    if isinstance(e, model.Not):
        t = constant_truth(e.operand)
        return None if t is None else not t
    if isinstance(e, model.Logic):
        ts = [constant_truth(x) for x in e.operands]
        if e.op == "and":
            return False if False in ts else (True if all(t is True for t in ts) else None)
        return True if True in ts else (False if all(t is False for t in ts) else None)
    if isinstance(e, model.Compare):
        a, b = e.left, e.right
        if isinstance(a, model.Const) and isinstance(b, model.Const) and \
                not isinstance(a.value, (model.Period, frozenset)) and not isinstance(b.value, (model.Period, frozenset)):
            try:
                return bool(_CMP[e.op](a.value, b.value))
            except TypeError:
                return None
        # a count is never negative: `count(h) < 0` (or `0 > count(h)`) can never hold
        op = e.op
        if isinstance(a, model.Const) and not isinstance(b, model.Const):
            a, b, op = b, a, _MIRROR.get(op, op)
        if a.type.kind == model.COUNT and isinstance(b, model.Const) and not isinstance(a, model.Const) \
                and isinstance(b.value, (int, Decimal)) and not isinstance(b.value, bool):
            if op == "<" and b.value <= 0:
                return False
    return None


def _reads_a_count(e: model.Expr) -> bool:
    if e.type.kind == model.COUNT and not isinstance(e, model.Const):
        return True
    return any(_reads_a_count(c) for c in model.children(e))


def _check_ids(ctx: Context, items, seen: dict):
    for item in items:
        if isinstance(item, ast.When):
            _check_ids(ctx, item.items, seen)
            continue
        if item.id in seen:
            ctx.report(diag.error("E401", f"criterion `{item.id}` is declared twice", item.id_span,
                                  notes=[diag.Note("first declared here", seen[item.id])],
                                  hint="give each criterion its own id; reasons and examples refer to it"))
        elif item.id in ctx.facts:
            seen[item.id] = item.id_span
        else:
            seen[item.id] = item.id_span


def validate(ctx: Context) -> None:
    """Check the guideline as a whole and assemble the checked model."""
    tree = ctx.tree
    _check_ids(ctx, tree.criteria, {})
    for keyword, span, first in tree.repeated:
        header = ("source", "version", "states", "in force", "not mtus", "on denial says")
        where = "the guideline" if keyword in header else ("this table" if keyword == "otherwise" else "this criterion")
        ctx.report(diag.error("E401", f"`{keyword}` is given twice for {where}", span,
                              notes=[diag.Note("first given here", first)],
                              hint="keep one; the second would silently replace the first"))
    if not tree.criteria:
        ctx.report(diag.error("E402", f"guideline `{tree.id}` has no criteria", tree.id_span,
                              hint="add a `criteria` section with at least one `id: condition` line"))
    c = tree.citation
    if c is None or not c.source:
        ctx.report(diag.error("E403", f"guideline `{tree.id}` does not cite its source", tree.id_span,
                              hint='add an indented line below it, e.g. '
                                   '`source "MTUS Chronic Pain Medical Treatment Guidelines" page 122`'))
    elif c.pages is None and c.section is None:
        # A regulation is found by its section (8 CCR 9792.24.1); a book by its page.
        ctx.report(diag.error("E403", "the citation gives no page or section", c.span,
                              hint="add `page 122` (or `pages 74-96`), or the `section` of a regulation, "
                                   "so a reader can find the text"))
    for cond in ctx.conditions:
        if constant_truth(cond.expr) is False:
            counts = _reads_a_count(cond.expr)
            ctx.report(diag.error("E404", "this `when` condition can never be true, so its criteria never apply",
                                  cond.span, hint="check the comparison; a count is never negative" if counts else
                                  "it compares fixed values, so it is false for every case"))
    # An unknown name may be a misspelling of a declared fact: then "no criterion
    # reads it" would only be a consequence of that error.
    # Without criteria (E402) every fact is unused; saying so for each would be noise.
    names_failed = any(d.code in ("E201", "E202", "E205", "E206") for d in ctx.diagnostics) or not tree.criteria
    for name in ctx.facts:
        if name not in ctx.read and not names_failed and name not in OPERAND_KEYWORDS:
            decl = next(f for f in tree.facts if f.name == name)
            ctx.report(diag.warning("W401", f"fact `{name}` is declared but no criterion reads it", decl.name_span,
                                    hint="use it in a criterion or delete the declaration"))
    for name in ctx.tables:
        if name not in ctx.tables_read and not names_failed and name not in ctx.broken_tables \
                and name not in OPERAND_KEYWORDS:
            decl = next(t for t in tree.tables if t.name == name)
            ctx.report(diag.warning("W401", f"table `{name}` is declared but no criterion looks it up", decl.name_span,
                                    hint=f"use it in a criterion, e.g. `{name}[drug]`, or delete the declaration"))
    for name, let in ctx.lets.items():
        if name not in ctx.lets_used and not names_failed:
            ctx.report(diag.warning("W407", f"named value `{name}` is defined but no criterion uses it",
                                    let.name_span, hint="use it in a criterion or delete the `let`"))
    _service_codes(ctx, tree)
    in_force = _in_force(ctx, tree.in_force)
    rank = _rank(ctx, tree.not_mtus)
    if in_force is not None:
        _examples_in_force(ctx, in_force)
    if any(d.is_error for d in ctx.diagnostics):
        return
    ctx.model = model.Guideline(
        id=tree.id, title=tree.title,
        citation=model.Citation(c.source, c.section, c.pages.text if c.pages else None),
        services=tuple(model.Service(s.kind, s.value) for s in tree.services),
        states=tree.states, version=tree.version,
        facts=tuple(ctx.facts.values()), criteria=tuple(ctx.criteria),
        conditions=tuple(ctx.conditions), examples=tuple(ctx.examples),
        path=ctx.source.path, span=tree.span, tables=tuple(ctx.tables.values()),
        in_force=in_force, not_mtus_rank=rank, on_denial=_on_denial(ctx, tree),
        values=tuple(ctx.values.values()),
    )


#: What each kind of service code is, for E468's message and hint.
_CODE_KINDS = {"cpt": ("a CPT code", "five digits, or four and F or T: `cpt 20552`"),
               "hcpcs": ("an HCPCS Level II code", "a letter A-V and four digits: `hcpcs E0730`")}


def _service_codes(ctx: Context, tree: ast.Guideline) -> None:
    """E468: a `cpt` service must be a CPT code and an `hcpcs` one an HCPCS Level II code (items route by them)."""
    for s in tree.services:
        if s.kind not in _CODE_KINDS:
            continue
        actual = procedure_system(s.value)
        if actual == s.kind:
            continue
        what, shape = _CODE_KINDS[s.kind]
        hint = f"`{s.value}` is {_CODE_KINDS[actual][0]}: write `{actual} {s.value}`" if actual else \
            f"{what} is {shape}"
        ctx.report(diag.error("E468", f"`{s.kind} {s.value}` is not {what}", s.span, hint=hint))


#: The ranks of the evidence hierarchy a source outside the MTUS may have (8 CCR 9792.25):
#: 2, other evidence-based guidelines nationally recognized by the medical community (b);
#: 3, peer-reviewed published studies, rated by strength of evidence (c). Rank 1 is the MTUS.
RANKS = (2, 3)


def _in_force(ctx: Context, period):
    """The edition's period as dates, or None; E305 for a date that is not one, E409 for a period that is empty."""
    if period is None:
        return None
    dates = []
    for text, span in ((period.start, period.start_span), (period.end, period.end_span)):
        if text is None:
            dates.append(None)
            continue
        try:
            dates.append(datetime.date.fromisoformat(text))
        except ValueError:
            ctx.report(diag.error("E305", f"`{text}` is not a calendar date", span or period.span,
                                  hint="dates are written YYYY-MM-DD with a real month and day, e.g. 2016-07-28"))
            return None
    start, end = dates
    if start is not None and end is not None and end < start:
        ctx.report(diag.error("E409", f"the edition is in force until {end}, before it comes into force on {start}",
                              period.span, hint="write the first date the edition applies to after `from`, "
                                                "the last after `until`"))
        return None
    return start, end


def _rank(ctx: Context, not_mtus):
    if not_mtus is None:
        return None
    if not_mtus.rank not in RANKS:
        ctx.report(diag.error("E409", f"rank {not_mtus.rank} is not a rank of a source outside the MTUS",
                              not_mtus.span, hint="rank 2: a nationally recognized evidence-based guideline "
                                                  "(8 CCR 9792.25(b)); rank 3: peer-reviewed studies (9792.25(c)); "
                                                  "the MTUS itself is rank 1 and needs no line"))
        return None
    return not_mtus.rank


def _examples_in_force(ctx: Context, period) -> None:
    """An example dated outside the edition's period tests a request the edition never decides."""
    start, end = period
    for ex in ctx.examples:
        d = ex.request_date
        if d is not None and ((start is not None and d < start) or (end is not None and d > end)):
            ctx.report(diag.warning("W403", f"example \"{ex.name}\" is dated {d}, when this edition is not in force",
                                    ex.span, hint="date the example's request within the edition's period"))


def _on_denial(ctx: Context, tree: ast.Guideline) -> Optional[model.OnDenial]:
    """The guideline's `on denial says` with its citation (its own `cite` completes the guideline's, as a criterion's does)."""
    d = tree.on_denial
    if d is None:
        return None
    return model.OnDenial(d.text, completed_citation(ctx, d.citation, base_citation(ctx)))
