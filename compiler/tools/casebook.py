"""`mtus test` for a casebook: decide case files that carry an `expected:` block and compare.

A casebook case is an ordinary case file (docs/case-files.md) with a reviewer's
expectation written from the guideline text: the determination, for a denial
whether its basis is clinical or administrative, the criteria that decide it
and the guideline sentence it rests on. The folder a case sits in names the
guideline its request must route to. A case is decided with a pack like
`mtus check` does, and every difference from the expectation is reported:
routing, determination, modified amount, each deciding criterion's outcome,
and presumptions the decision rests on but the letter does not state.
"""

from __future__ import annotations

import os
from typing import Iterable, Optional

import attrs

from mtus.compiler.check.casefile import CaseError, LDict, LList, read_case_file
from mtus.compiler.check.rationale import no_article
from mtus.compiler.check.runtime import CriterionResult, GuidelineResult, evolve

DETERMINATIONS = ("certified", "not certified", "modified")
BASES = ("clinical", "administrative")
OUTCOMES = ("met", "not met", "not documented", "not applicable", "applies", "does not apply")
KEYS = ("item", "guideline", "determination", "certified", "basis", "deciding", "rests_on", "presumed", "disputed")
#: Presumption kinds a letter must state where they decide (docs/language.md, "How
#: silence is read"). Not stated by design: a silent exclusion does not apply, and a
#: request detail checked only when stated leaves the criteria that read it not
#: applicable (the letter speaks of a detail only where it is required).
STATED_KINDS = ("none_when_silent", "presumed_absent")
CASE_SUFFIXES = (".yaml", ".yml", ".json")


@attrs.frozen
class Expectation:
    """What the case's author expects for one request."""

    line: Optional[int]
    item: Optional[str]
    guideline: Optional[str]
    determination: str
    certified: Optional[int]
    basis: Optional[str]
    deciding: tuple[tuple[str, str], ...]
    rests_on: str
    presumed: tuple[str, ...]
    disputed: Optional[str]


@attrs.frozen
class RequestRun:
    """One request of a case: what was expected, what was decided, and the differences."""

    item: str
    expected: Expectation
    guideline: Optional[str]
    determination: Optional[str]
    certified: Optional[int]
    problems: tuple[str, ...]

    @property
    def disputed(self) -> bool:
        return self.expected.disputed is not None


@attrs.frozen
class CaseRun:
    path: str
    folder: str
    runs: tuple[RequestRun, ...]
    errors: tuple[str, ...]            # the case or its expectation could not be used

    @property
    def status(self) -> str:
        """ok, FAIL, or DISPUTED (a known disagreement that still disagrees)."""
        if self.errors:
            return "FAIL"
        if any(r.disputed and not r.problems for r in self.runs):
            return "FAIL"                  # a disputed case that now matches: remove the note
        if any(r.problems and not r.disputed for r in self.runs):
            return "FAIL"
        return "DISPUTED" if any(r.disputed for r in self.runs) else "ok"


# ------------------------------------------------------------------ reading
class _Bad(Exception):
    pass


def _line(container, key) -> Optional[int]:
    if isinstance(container, (LDict, LList)):
        return container.line_of(key)
    return None


def _text(v, what: str) -> str:
    if not isinstance(v, str) or not v.strip():
        raise _Bad(f"{what} must be text")
    return " ".join(v.split())


def parse_expectation(raw, where: Optional[int]) -> Expectation:
    """One request's expectation from its mapping; _Bad with a message on anything wrong."""
    if not isinstance(raw, dict):
        raise _Bad("an expectation is a mapping with `determination`, `deciding` and `rests_on`")
    unknown = [k for k in raw if k not in KEYS]
    if unknown:
        raise _Bad(f"unexpected key `{unknown[0]}` (keys: {', '.join(KEYS)})")
    det = raw.get("determination")
    if det not in DETERMINATIONS:
        raise _Bad(f"`determination` must be one of {', '.join(DETERMINATIONS)}; found {det!r}")
    certified = raw.get("certified")
    if det == "modified":
        if not isinstance(certified, int) or isinstance(certified, bool) or certified < 1:
            raise _Bad("a `modified` determination needs `certified: N`, the number of units certified (1 or more)")
    elif certified is not None:
        raise _Bad("`certified: N` goes only with `determination: modified`")
    basis = raw.get("basis")
    if det == "certified":
        if basis is not None:
            raise _Bad("`basis` is for a denial or modification, not a certification")
    elif basis not in BASES:
        raise _Bad(f"a {det} expectation needs `basis: clinical` or `basis: administrative`; found {basis!r}")
    deciding = raw.get("deciding")
    if not isinstance(deciding, dict) or not deciding:
        raise _Bad("`deciding` maps each deciding criterion to its expected outcome, e.g. `trigger_points: not met`")
    pairs = []
    for cid, outcome in deciding.items():
        if outcome not in OUTCOMES:
            raise _Bad(f"deciding.{cid}: the outcome must be one of {', '.join(OUTCOMES)}; found {outcome!r}")
        pairs.append((str(cid), outcome))
    presumed = raw.get("presumed", [])
    if not isinstance(presumed, list) or not all(isinstance(p, str) for p in presumed):
        raise _Bad("`presumed` is a list of fact names")
    disputed = raw.get("disputed")
    return Expectation(
        line=where,
        item=_text(raw["item"], "`item`") if "item" in raw else None,
        guideline=_text(raw["guideline"], "`guideline`") if "guideline" in raw else None,
        determination=det, certified=certified, basis=basis, deciding=tuple(pairs),
        rests_on=_text(raw.get("rests_on"), "`rests_on` (the guideline sentence the decision rests on)"),
        presumed=tuple(presumed),
        disputed=_text(disputed, "`disputed`") if disputed is not None else None,
    )


def expectations(data) -> tuple[Expectation, ...]:
    """The `expected:` block of a case file: one mapping, or a list in the order of the requests."""
    if not isinstance(data, dict) or "expected" not in data:
        raise _Bad("the case has no `expected:` block (see docs/case-files.md, 'Casebook expectations')")
    raw = data["expected"]
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for i, e in enumerate(items):
        where = _line(raw, i) if isinstance(raw, list) else _line(data, "expected")
        try:
            out.append(parse_expectation(e, where))
        except _Bad as err:
            key = f"expected[{i}]" if isinstance(raw, list) else "expected"
            raise _Bad(f"{key}: {err}") from None
    return tuple(out)


# ------------------------------------------------------------------ deciding
def compare(exp: Expectation, decision, letter_text: str, folder: str, pack_ids) -> RequestRun:
    """The differences between one expectation and one decided request."""
    req, result = decision.request, getattr(decision, "result", None)
    problems = []
    if result is None:  # an item no guideline decides (letter.NotAddressed)
        why = req.unrouted
        detail = f": {why.message}" if why is not None and why.message else ""
        return RequestRun(req.item, exp, None, None, None, (f"not addressed by any guideline{detail}",))
    want_gid = exp.guideline or (folder if folder in pack_ids else None)
    if exp.item is not None and exp.item != " ".join(req.item.split()):
        problems.append(f"item: the expectation is for {exp.item!r}, the request is {req.item!r}")
    if want_gid is not None and req.guideline != want_gid:
        problems.append(f"routed to {req.guideline}, expected {want_gid}")
    got = result.determination
    modified = result.modified
    got_n = modified.certified if got == "modified" and modified is not None else None
    if got != exp.determination:
        problems.append(f"determination: expected {exp.determination}, got {got}")
    elif exp.determination == "modified" and got_n != exp.certified:
        problems.append(f"modified: expected {exp.certified} certified, got {got_n}")
    outcomes = {c.id: c for c in result.criteria}
    listed = dict(exp.deciding)
    for cid, want in exp.deciding:
        c = outcomes.get(cid)
        if c is None:
            problems.append(f"{cid}: no such criterion in {req.guideline}")
        elif outcome(c) != want:
            problems.append(f"{cid}: expected {want}, got {outcome(c)}{_missing(c)}")
    if exp.determination != "certified":
        for r in result.reasons:
            if r.id not in listed:
                problems.append(f"{r.id}: {outcome(r)}, but the expectation does not list it{_missing(r)}")
    problems += presumption_problems(exp, result, letter_text)
    return RequestRun(req.item, exp, req.guideline, got, got_n, tuple(problems))


def presumption_problems(exp: Expectation, result: GuidelineResult, letter_text: str) -> list[str]:
    """A decision may rest on a presumption only if the letter states it and the expectation accepts it."""
    out = []
    text = " ".join(letter_text.lower().split())
    for p in result.presumptions:
        if p.kind not in STATED_KINDS:
            continue
        label = no_article(" ".join(str(p.label).lower().split()))
        if label and label not in text:
            out.append(f"presumption: the decision rests on {p.fact} ({p.kind.replace('_', ' ')}), "
                       f"which the letter does not state")
        if p.fact not in exp.presumed:
            out.append(f"presumption: the decision rests on {p.fact} ({p.kind.replace('_', ' ')}); "
                       f"list it under `presumed:` if the reviewer accepts it, or document the fact")
    return out


#: An exclusion's outcome in the words of sem-interface.md. Before that landing an
#: exclusion that holds was "not met" and one that does not hold "met"; both read alike.
_EXCLUSION = {"not met": "applies", "met": "does not apply"}


def outcome(c: CriterionResult) -> str:
    """A criterion's outcome as a casebook writes it: exclusions apply or do not apply."""
    return _EXCLUSION.get(c.outcome, c.outcome) if c.exclude else c.outcome


def _missing(c: CriterionResult) -> str:
    return " (missing: " + ", ".join(c.missing) + ")" if c.missing else ""


def run_case(path: str, pack, root: Optional[str] = None) -> CaseRun:
    """Decide one casebook case with the pack and compare it with its expectation."""
    from mtus.compiler.check.letter import decide, render

    folder = os.path.basename(os.path.dirname(os.path.abspath(path)))
    shown = os.path.relpath(path, root) if root else path
    try:
        data = read_case_file(path)
        exps = expectations(data)
        case = pack.reader().read(data, path)
    except CaseError as e:
        return CaseRun(shown, folder, (), tuple(p.render() for p in e.problems))
    except _Bad as e:
        return CaseRun(shown, folder, (), (f"{path}: error: {e}",))
    if len(exps) != len(case.requests):
        return CaseRun(shown, folder, (), (f"{path}: error: {len(case.requests)} request(s) but "
                                           f"{len(exps)} expectation(s); give one per request, in order",))
    letter = decide(case, pack, "ur")
    runs = []
    for exp, d in zip(exps, letter.decisions):
        one = evolve(letter, decisions=(d,))
        runs.append(compare(exp, d, render(one, "text", False), folder, set(pack.guidelines)))
    return CaseRun(shown, folder, tuple(runs), ())


def is_casebook(path: str) -> bool:
    """A case file, or a folder that holds case files and no .mtus source."""
    if os.path.isfile(path):
        return path.endswith(CASE_SUFFIXES)
    names = [f for _, _, files in os.walk(path) for f in files]
    return any(f.endswith(CASE_SUFFIXES) for f in names) and not any(f.endswith(".mtus") for f in names)


def case_files(paths: Iterable[str]) -> list[str]:
    """Every case file under the paths (files as given, folders walked), sorted."""
    out = []
    for p in paths:
        if os.path.isdir(p):
            for d, _, files in os.walk(p):
                out += [os.path.join(d, f) for f in files if f.endswith(CASE_SUFFIXES)]
        else:
            out.append(p)
    return sorted(out)


@attrs.frozen
class CasebookReport:
    cases: tuple[CaseRun, ...]

    @property
    def failed(self) -> tuple[CaseRun, ...]:
        return tuple(c for c in self.cases if c.status == "FAIL")

    def expected_runs(self) -> list[RequestRun]:
        return [r for c in self.cases for r in c.runs]


def run_casebook(paths: Iterable[str], pack) -> CasebookReport:
    files = case_files(paths)
    root = os.path.commonpath([os.path.abspath(p) for p in paths]) if files else None
    if root and os.path.isfile(root):
        root = os.path.dirname(root)
    return CasebookReport(tuple(run_case(f, pack, root) for f in files))


# ------------------------------------------------------------------ report
def tally(report: CasebookReport) -> dict[str, dict[str, int]]:
    """Per guideline: cases, and the expected and decided counts of each determination and basis."""
    rows: dict[str, dict[str, int]] = {}
    for r in report.expected_runs():
        g = r.expected.guideline or r.guideline or "?"
        row = rows.setdefault(g, {"requests": 0})
        row["requests"] += 1
        row["expected " + r.expected.determination] = row.get("expected " + r.expected.determination, 0) + 1
        if r.determination:
            row["decided " + r.determination] = row.get("decided " + r.determination, 0) + 1
        if r.expected.basis:
            row[r.expected.basis] = row.get(r.expected.basis, 0) + 1
    return rows


def render_casebook(report: CasebookReport) -> str:
    out = []
    for c in report.cases:
        out.append(f"{c.status.ljust(8)} {c.path}")
        for e in c.errors:
            out += ["         " + line for line in e.splitlines()]
        for r in c.runs:
            if not r.problems and not (r.disputed and c.status == "FAIL"):
                continue
            exp = r.expected
            head = f"{r.item}: expected {exp.determination}"
            if exp.certified:
                head += f" {exp.certified}"
            head += f" ({exp.basis})" if exp.basis else ""
            out.append(f"         {head}; decided {r.determination}")
            if r.disputed:
                out.append(f"         disputed: {exp.disputed}")
                if not r.problems:
                    out.append("         the case now matches its expectation: remove `disputed:`")
            for p in r.problems:
                out.append(f"           {p}")
            out.append("           expected deciding: " + ", ".join(f"{k} {v}" for k, v in exp.deciding))
            out.append(f"           rests on: {exp.rests_on}")
    rows = tally(report)
    out.append("")
    out.append("per guideline (expected / decided by mtus):")
    head = ["guideline", "requests", "certified", "not certified", "modified", "clinical", "administrative"]
    width = max([len(head[0])] + [len(g) for g in rows])
    out.append(f"  {head[0].ljust(width)}  " + "  ".join(h.rjust(len(h)) for h in head[1:]))
    for g in sorted(rows):
        row = rows[g]
        cells = [str(row["requests"]).rjust(len(head[1]))]
        for det, h in zip(DETERMINATIONS, head[2:5]):
            cells.append(f"{row.get('expected ' + det, 0)}/{row.get('decided ' + det, 0)}".rjust(len(h)))
        cells += [str(row.get(b, 0)).rjust(len(h)) for b, h in zip(BASES, head[5:])]
        out.append(f"  {g.ljust(width)}  " + "  ".join(cells))
    runs = report.expected_runs()
    n = len(runs)
    cert = sum(r.expected.determination == "certified" for r in runs)
    clinical = sum(r.expected.determination == "not certified" and r.expected.basis == "clinical" for r in runs)
    statuses = [c.status for c in report.cases]
    out.append("")
    if n:
        out.append(f"{len(report.cases)} cases, {n} requests: expected {cert} certified ({100 * cert // n}%), "
                   f"{clinical} not certified for a clinical reason ({100 * clinical // n}%)")
    out.append(f"{statuses.count('ok')} passed, {statuses.count('FAIL')} failed, {statuses.count('DISPUTED')} disputed")
    return "\n".join(out) + "\n"
