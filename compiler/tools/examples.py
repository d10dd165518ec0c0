"""`mtus test`: run the examples embedded in guidelines, and measure their coverage.

Each `example` gives facts and expects a determination and the criteria that
stop certification. Examples run against the compiled checker (what a pack
ships); a failure is reported criterion by criterion, expected against
actual. Coverage records, per criterion, which outcomes the examples reached
(met / not met / not documented / not applicable when a request detail is
unstated; applies / does not apply for an exclusion), against the outcomes
the criterion can reach, and whether one was reached through a presumption.
"""

from __future__ import annotations

from typing import Iterable, Optional

import attrs

from mtus.compiler.build import silence
from mtus.compiler.check import runtime as rt
from mtus.dsl import model

STATES = (rt.MET, rt.NOT_MET, rt.NOT_DOCUMENTED)


def runtime_value(v):
    """An example's literal value as the checker sees it."""
    if isinstance(v, model.Period):
        return rt.Duration(v.months, v.days)
    if isinstance(v, frozenset):
        return frozenset(runtime_value(x) for x in v)
    if isinstance(v, tuple):  # history rows: tuples of (field, value) pairs
        return tuple({k: runtime_value(x) for k, x in row} for row in v)
    return v


@attrs.frozen
class ExampleRun:
    guideline: str
    name: str
    path: str
    line: int
    problems: tuple[str, ...]          # empty when the example passes
    result: Optional[rt.GuidelineResult]

    @property
    def passed(self) -> bool:
        return not self.problems


def run_example(g: model.Guideline, ex: model.Example, evaluate) -> ExampleRun:
    where = (g.id, ex.name, g.path, ex.span.line)
    if ex.request_date is None:
        return ExampleRun(*where, ("the example gives no `request.date`",), None)
    facts = {name: runtime_value(v) for name, v in ex.facts}
    result = evaluate(facts, ex.request_date)
    problems = []
    expected_modified = ex.modified
    expected = "modified" if expected_modified else ("certified" if ex.certified else "not certified")
    actual = result.determination
    if expected != actual:
        problems.append(f"determination: expected {expected}, got {actual}")
    elif expected_modified:
        got = result.modified.certified
        if got != expected_modified:
            problems.append(f"modified: expected {expected_modified} certified, got {got}")
    outcomes = {c.id: c for c in result.criteria}
    listed = dict(ex.reasons)
    for cid, want in ex.reasons:
        got = outcomes[cid].outcome if cid in outcomes else "absent"
        if got != want:
            problems.append(f"{cid}: expected {want}, got {got}" + _missing(outcomes.get(cid)))
    for r in result.reasons:
        if r.id not in listed:
            problems.append(f"{r.id}: {r.outcome}, but the example does not list it" + _missing(r))
    return ExampleRun(*where, tuple(problems), result)


def _missing(r: Optional[rt.CriterionResult]) -> str:
    if r is None or not r.missing:
        return ""
    return " (missing: " + ", ".join(r.missing) + ")"


# ---------------------------------------------------------------- coverage
#: The outcomes a criterion for use and an exclusion can have (a `when` that does not hold is not counted).
STATES_EXCLUDE = (rt.APPLIES, rt.DOES_NOT_APPLY)
#: Marks an outcome reached through a presumption (reported, not required).
PRESUMED = "presumed"


def reachable_states(c: model.Criterion, g: model.Guideline) -> tuple[str, ...]:
    """The outcomes this criterion can have.

    An exclusion applies or does not apply. A criterion for use is met or not
    met; not documented only if it reads a fact that silence leaves unknown;
    not applicable (when unstated) if it reads a request detail checked only
    when stated.
    """
    if c.exclude:
        return STATES_EXCLUDE

    def silent(fact: Optional[model.Fact]) -> bool:
        return fact is None or (silence.presumed_const(fact) is None and fact.silence != rt.CHECKED_WHEN_STATED)

    def undocumentable(e) -> bool:
        if isinstance(e, model.Documented):
            return False
        if isinstance(e, model.FactRef):
            return silent(g.fact(e.name))
        if isinstance(e, model.FieldRef):
            return True
        if isinstance(e, model.Query) and e.op in ("last", "first"):
            return True
        return any(undocumentable(x) for x in model.children(e))

    exprs = [c.expr] + [x.expr for x in c.conditions]
    states = [rt.MET, rt.NOT_MET]
    if any(undocumentable(e) for e in exprs):
        states.append(rt.NOT_DOCUMENTED)
    read = {n for e in exprs for n in model.facts_read(e)}
    if any((g.fact(n) is not None and g.fact(n).silence == rt.CHECKED_WHEN_STATED) for n in read):
        states.append(rt.NOT_APPLICABLE)
    return tuple(states)


@attrs.frozen
class Coverage:
    guideline: str
    rows: tuple[tuple[str, tuple[str, ...], frozenset], ...]  # (criterion, reachable, reached)

    @property
    def complete(self) -> bool:
        return all(set(reach) <= reached for _, reach, reached in self.rows)

    def counts(self) -> tuple[int, int]:
        total = sum(len(reach) for _, reach, _ in self.rows)
        hit = sum(len(set(reach) & reached) for _, reach, reached in self.rows)
        return hit, total


def coverage(g: model.Guideline, runs: Iterable[ExampleRun]) -> Coverage:
    reached: dict[str, set] = {c.id: set() for c in g.criteria}
    for run in runs:
        if run.result is None:
            continue
        for r in run.result.criteria:
            reached.setdefault(r.id, set()).add(r.outcome)
            if r.presumed:
                reached[r.id].add(PRESUMED)
    return Coverage(g.id, tuple((c.id, reachable_states(c, g), frozenset(reached[c.id])) for c in g.criteria))


# ----------------------------------------------------------------- running
@attrs.frozen
class ExampleReport:
    runs: tuple[ExampleRun, ...]
    coverages: tuple[Coverage, ...]

    @property
    def failed(self) -> tuple[ExampleRun, ...]:
        return tuple(r for r in self.runs if not r.passed)


def run_examples(models: Iterable[model.Guideline], pattern: Optional[str] = None) -> ExampleReport:
    """Run every example of every guideline against its compiled checker.

    With `pattern` (a regular expression, as `mtus test --run`), only the
    examples whose `GUIDELINE: NAME` it matches anywhere; coverage then counts
    those examples only.
    """
    import re

    from mtus.compiler.build.codegen import generate_module, load_module

    wanted = re.compile(pattern) if pattern is not None else None
    runs, covs = [], []
    for g in models:
        chosen = [ex for ex in g.examples if wanted is None or wanted.search(f"{g.id}: {ex.name}")]
        if wanted is not None and not chosen:
            continue
        module = load_module(generate_module(g), f"mtus_test_{g.id}")
        mine = [run_example(g, ex, module.evaluate) for ex in chosen]
        runs += mine
        covs.append(coverage(g, mine))
    return ExampleReport(tuple(runs), tuple(covs))


def _outcome(run: ExampleRun) -> str:
    """What the checker decided, as an example's `expect` line reads."""
    result = run.result
    if result is None:
        return "not run"
    reasons = ", ".join(f"{r.id} {r.outcome}" for r in result.reasons)
    return result.determination + (f" because {reasons}" if reasons else "")


def render_report(report: ExampleReport, show_coverage: bool = False, verbosity: int = 0) -> str:
    """The report as text: a line per example (only failures when verbosity < 0; the outcome when > 0)."""
    out = []
    for run in report.runs:
        if verbosity < 0 and run.passed:
            continue
        status = "ok  " if run.passed else "FAIL"
        out.append(f"{status} {run.guideline}: {run.name} ({run.path}:{run.line})")
        if verbosity > 0:
            out.append(f"       {_outcome(run)}")
        for p in run.problems:
            out.append(f"       {p}")
    if show_coverage:
        out.append("")
        out.append("coverage (criterion: outcomes reached by the examples; - marks one it can reach but no example "
                   "does; (presumed): one was reached through a presumption)")
        for cov in report.coverages:
            hit, total = cov.counts()
            out.append(f"{cov.guideline}: {hit}/{total} states")
            width = max((len(cid) for cid, _, _ in cov.rows), default=0)
            for cid, reach, reached in cov.rows:
                marks = "  ".join((s if s in reached else "-" * len(s)) for s in reach)
                out.append(f"  {cid.ljust(width)}  {marks}" + ("  (presumed)" if PRESUMED in reached else ""))
    n, bad = len(report.runs), len(report.failed)
    out.append("")
    out.append(f"{n - bad} passed, {bad} failed")
    return "\n".join(out) + "\n"




def report_json(report: ExampleReport, show_coverage: bool = False) -> dict:
    """`mtus test --format json`: every example's result, the totals, and (with coverage) each criterion's states."""
    out = {
        "examples": [{"guideline": r.guideline, "name": r.name, "path": r.path, "line": r.line, "passed": r.passed,
                      "outcome": _outcome(r), "problems": list(r.problems)} for r in report.runs],
        "passed": len(report.runs) - len(report.failed),
        "failed": len(report.failed),
    }
    if show_coverage:
        out["coverage"] = [{"guideline": c.guideline, "complete": c.complete,
                            "criteria": [{"id": cid, "reachable": list(reach),
                                          "reached": [x for x in reach if x in reached]}
                                         for cid, reach, reached in c.rows]}
                           for c in report.coverages]
    return out
