"""How a silent record is read, as build-time data both back ends share (docs/language.md, "How silence is read").

The interpreter and the generated checkers take the same rules, labels and
reading domains from here, so they presume the same things and try the same
readings in the same order.
"""

from __future__ import annotations

from typing import Callable, Optional

from mtus.compiler.check import runtime as rt
from mtus.dsl import model

#: model.facts_read, or a memo of it: each `when` is asked about once per criterion under it, and the code
#: generator asks about every criterion again (codegen._Generator.facts_read shares one memo with these).
FactsRead = Callable[[model.Expr], tuple[str, ...]]


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


def labels(guideline: model.Guideline, facts_read: FactsRead = model.facts_read) -> dict[str, str]:
    """Labels for what a presumption can name: facts with a silence rule, and what exclusions read (with history fields)."""
    names = set(rules(guideline))
    for c in guideline.criteria:
        if c.exclude:
            names.update(facts_read(c.expr))
            for cond in c.conditions:
                names.update(facts_read(cond.expr))
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


def reading_reads(guideline: model.Guideline, facts_read: FactsRead = model.facts_read,
                  domains: Optional[dict[str, tuple]] = None) -> dict[str, tuple[str, ...]]:
    """Criterion id -> the facts of `reading_domains` it reads (its condition and its `when`), for those reading any.

    Only a criterion that reads an undocumented one of them can change outcome
    when every reading is tried (three-valued logic is sound: a definite outcome
    is the same in every reading), so the fast path skips the readings otherwise.
    `domains`: reading_domains(guideline), if the caller has it.
    """
    if domains is None:
        domains = reading_domains(guideline)
    out: dict[str, tuple[str, ...]] = {}
    for c in guideline.criteria:
        names = dict.fromkeys(facts_read(c.expr))
        for cond in c.conditions:
            names.update(dict.fromkeys(facts_read(cond.expr)))
        read = tuple([n for n in names if n in domains])
        if read:
            out[c.id] = read
    return out


def _one_of_test(e: model.Expr, domains: dict[str, tuple]) -> Optional[tuple[str, frozenset]]:
    """(fact, the values that make e true) where e tests a `one of` fact of `domains` against constants."""
    if isinstance(e, (model.Member, model.Compare)) and isinstance(e.left, model.FactRef) \
            and isinstance(e.right, model.Const) and e.left.name in domains:
        if e.op in (model.MemberOp.IN, model.MemberOp.NOT_IN) and isinstance(e.right.value, frozenset):
            values = frozenset(e.right.value)
        elif e.op in (model.CompareOp.EQ, model.CompareOp.NE) and isinstance(e.right.value, str):
            values = frozenset((e.right.value,))
        else:
            return None
        if e.op in (model.MemberOp.NOT_IN, model.CompareOp.NE):
            values = frozenset(domains[e.left.name]) - values
        return e.left.name, values
    return None


def _read_once(e: model.Expr, findings: set[str], domains: dict[str, tuple], seen: dict[str, int],
               risky: set[str], facts_read: FactsRead) -> None:
    """Walk e: count each fact of `domains` read as a plain finding, or as a `one of` fact tested against
    constants that some of its values meet and some do not, under `and`, `or`, `not` and `at least` (in
    `seen`); put in `risky` every fact of `domains` read any other way."""
    t = type(e)  # each case is of its own classes (the model's classes have no subclasses)
    if t is model.FactRef and e.name in findings:  # the commonest
        seen[e.name] = seen.get(e.name, 0) + 1
    elif t is model.ValueRef:  # a named value is its expression, read again at each use
        _read_once(e.expr, findings, domains, seen, risky, facts_read)
    elif t is model.Logic or t is model.AtLeast or t is model.Not:
        for x in model.children(e):
            _read_once(x, findings, domains, seen, risky, facts_read)
    elif (test := _one_of_test(e, domains)) is not None and test[1] and set(domains[test[0]]) - test[1]:
        seen[test[0]] = seen.get(test[0], 0) + 1  # true in some reading and false in another: as a finding
    else:
        risky.update([n for n in facts_read(e) if n in domains])


def reading_risks(guideline: model.Guideline, facts_read: FactsRead = model.facts_read,
                  domains: Optional[dict[str, tuple]] = None
                  ) -> dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]]:
    """Where trying every reading can change which criteria the fast path `unmet` names.

    Criterion id -> (risky, details, reads): `reads`, the facts of
    `reading_domains` it reads; `risky`, those of them that, undocumented,
    may let it change: those its `when`s read, and those its condition reads
    other than once as a plain finding (or a `one of` fact tested against
    values some of its values meet and some do not) under `and`/`or`/`not`/`at
    least`.
    Read once that way, a finding cannot turn an open criterion into one that
    passes in every reading (nor an open exclusion into one that applies in
    every reading): in three-valued logic a formula that reads each variable
    once is true in every completion only if it is already true (by induction
    on and/or/not/at least), so such a criterion stays unmet wherever it was,
    and one that passes or fails outright does so in every reading
    (runtime.every_reading). `details`, the request details checked when
    stated that it reads: one that passes because such a detail is unstated may
    be found not met once every reading fails, so it is a risk whenever one is
    unstated and any of `reads` undocumented. Only criteria with a risk are
    listed. `domains`: reading_domains(guideline), if the caller has it.
    """
    if domains is None:
        domains = reading_domains(guideline)
    findings = {n for n, values in domains.items() if values == (True, False)}
    checked = [n for n, r in rules(guideline).items() if r == rt.CHECKED_WHEN_STATED]  # declaration order
    domain_names = set(domains)
    out: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {}
    for c in guideline.criteria:
        gates: set[str] = set()
        for cond in c.conditions:
            gates.update(facts_read(cond.expr))
        read = gates.union(facts_read(c.expr))
        if read.isdisjoint(domain_names):
            continue
        seen: dict[str, int] = {}
        risky = gates & domain_names
        _read_once(c.expr, findings, domains, seen, risky, facts_read)
        risky.update([n for n, k in seen.items() if k > 1])
        details = tuple([n for n in checked if n in read])
        if risky or details:
            out[c.id] = (tuple([n for n in domains if n in risky]), details, tuple([n for n in domains if n in read]))
    return out


def readings_change_unmet(guideline: model.Guideline) -> bool:
    """Whether the fast path `unmet` must ever try every reading (see reading_risks)."""
    return bool(reading_risks(guideline))
