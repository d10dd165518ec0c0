"""How a silent record is read, as build-time data both back ends share (docs/language.md, "How silence is read").

The interpreter and the generated checkers take the same rules, labels and
reading domains from here, so they presume the same things and try the same
readings in the same order.
"""

from __future__ import annotations

from typing import Optional

from mtus.compiler.check import runtime as rt
from mtus.dsl import model


def presumed_const(fact: model.Fact) -> Optional[model.Const]:
    """What a fact reads as when the case leaves it out: its default, or what its silence rule presumes."""
    if fact.default is not None:
        return fact.default
    if fact.silence == rt.NONE_WHEN_SILENT_RULE:
        return model.Const((), fact.type, "none", fact.span)
    if fact.silence == rt.PRESUMED_ABSENT_RULE:
        return model.Const(False, model.T_BOOL, "absent", fact.span)
    return None


def rules(guideline: model.Guideline) -> dict[str, str]:
    """Fact name -> its declared silence rule, for the facts that declare one (declaration order)."""
    return {f.name: f.silence for f in guideline.facts if f.silence is not None}


def labels(guideline: model.Guideline) -> dict[str, str]:
    """Labels for what a presumption can name: facts with a silence rule, and what exclusions read (with history fields)."""
    names = set(rules(guideline))
    for c in guideline.criteria:
        if c.exclude:
            names.update(model.facts_read(c.expr))
            for cond in c.conditions:
                names.update(model.facts_read(cond.expr))
    out: dict[str, str] = {}
    for f in guideline.facts:
        if f.name not in names:
            continue
        out[f.name] = f.label
        for field in f.type.fields:
            out[f"{f.name}.{field.name}"] = field.label
    return out


def reading_domains(guideline: model.Guideline) -> dict[str, tuple]:
    """The facts whose every reading may be tried (findings and `one of` facts), in declaration order, with their values.

    Facts that silence already gives a value to (a default, presumed absent) or
    whose criteria do not apply when unstated (checked when stated) are left out.
    """
    out: dict[str, tuple] = {}
    for f in guideline.facts:
        if presumed_const(f) is not None or f.silence == rt.CHECKED_WHEN_STATED or f.source is not None:
            continue
        if f.type.kind == model.BOOL:
            out[f.name] = (True, False)
        elif f.type.kind == model.ENUM:
            out[f.name] = tuple(f.type.members)
    return out


def reading_reads(guideline: model.Guideline) -> dict[str, tuple[str, ...]]:
    """Criterion id -> the facts of `reading_domains` it reads (its condition and its `when`), for those reading any.

    Only a criterion that reads an undocumented one of them can change outcome
    when every reading is tried (three-valued logic is sound: a definite outcome
    is the same in every reading), so the fast path skips the readings otherwise.
    """
    domains = reading_domains(guideline)
    out: dict[str, tuple[str, ...]] = {}
    for c in guideline.criteria:
        names = dict.fromkeys(model.facts_read(c.expr))
        for cond in c.conditions:
            names.update(dict.fromkeys(model.facts_read(cond.expr)))
        read = tuple(n for n in names if n in domains)
        if read:
            out[c.id] = read
    return out


def _rises_with(e: model.Expr, names: set[str]) -> bool:
    """Whether e reads the findings `names` only through `and`, `or` and `at least`.

    Such an e can only rise (false, unknown, true) as one of those findings
    goes from absent to present, since those operators are monotone in
    three-valued logic; anything else that reads one of them may not.
    """
    if isinstance(e, model.ValueRef):
        return _rises_with(e.expr, names)
    if isinstance(e, (model.Logic, model.AtLeast)):
        return all(_rises_with(x, names) for x in model.children(e))
    if isinstance(e, model.FactRef) and e.type.kind == model.BOOL:
        return True
    return not (set(model.facts_read(e)) & names)


def readings_change_unmet(guideline: model.Guideline) -> bool:
    """Whether trying every reading can change which criteria the fast path `unmet` names.

    It cannot when each criterion that reads a fact of `reading_domains` reads
    only findings, outside its `when`s, through `and`/`or`/`at least`, and no
    request detail checked when stated: with all those findings absent such a
    criterion that is open is still open or fails (so it is unmet in some
    reading and stays unmet), and one that passes or fails outright does so in
    every reading (runtime.every_reading). The generated `unmet` then skips the
    readings, which `evaluate` still tries for the letter's wording.
    """
    domains = reading_domains(guideline)
    findings = {n for n, values in domains.items() if values == (True, False)}
    checked = {n for n, r in rules(guideline).items() if r == rt.CHECKED_WHEN_STATED}
    for c in guideline.criteria:
        gates = set().union(*(model.facts_read(cond.expr) for cond in c.conditions))
        read = gates | set(model.facts_read(c.expr))
        if not read & set(domains):
            continue
        if read & (set(domains) - findings) or read & checked or gates & set(domains):
            return True
        if not _rises_with(c.expr, findings):
            return True
    return False
