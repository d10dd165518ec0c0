"""`mtus diff OLD NEW --cases PATH`: which cases two packs decide differently, and by which criteria.

The tool a pack developer runs before shipping a guideline change or a new
edition: every case under PATH is read and decided with both packs, item by
item, and each item whose guideline, determination or deciding criteria (the
criteria that stop certification, with their outcomes) differ is reported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

import attrs

from mtus.compiler.check.casefile import CaseError, read_case_file
from mtus.compiler.check.letter import NotAddressed, decide
from mtus.compiler.check.pack import Pack

CASE_SUFFIXES = (".yaml", ".yml", ".json")


@attrs.frozen
class Outcome:
    """How one pack decides one item: its guideline, determination and the criteria that decided it."""

    guideline: Optional[str]
    determination: str  # certified, not certified, modified N of M, not addressed, not decided, unreadable
    deciding: tuple = ()  # (criterion id, outcome) of the criteria that stop certification

    def text(self) -> str:
        why = ", ".join(f"{c} {o}" for c, o in self.deciding)
        return f"{self.guideline or '-'}: {self.determination}" + (f" ({why})" if why else "")

    def to_json(self) -> dict:
        return {"guideline": self.guideline, "determination": self.determination,
                "deciding": [{"criterion": c, "outcome": o} for c, o in self.deciding]}


@attrs.frozen
class Change:
    case: str
    item: str
    old: Outcome
    new: Outcome

    @property
    def kind(self) -> str:
        """"determination" when the decision differs, else "criteria" (same decision, other reasons)."""
        same = (self.old.guideline, self.old.determination) == (self.new.guideline, self.new.determination)
        return "criteria" if same else "determination"

    def to_json(self) -> dict:
        return {"case": self.case, "item": self.item, "change": self.kind,
                "old": self.old.to_json(), "new": self.new.to_json()}


@attrs.frozen
class DiffReport:
    old_label: str
    new_label: str
    cases: int
    items: int
    changes: tuple[Change, ...]
    unreadable: tuple[str, ...] = ()  # case files that are not YAML/JSON case files at all (skipped)

    def count(self, kind: str) -> int:
        return sum(c.kind == kind for c in self.changes)

    def to_json(self) -> dict:
        return {"format": 1, "old": self.old_label, "new": self.new_label, "cases": self.cases, "items": self.items,
                "changed_determination": self.count("determination"), "changed_criteria": self.count("criteria"),
                "changes": [c.to_json() for c in self.changes], "unreadable": list(self.unreadable)}


def case_files(path: str) -> list[Path]:
    """A case file, or every case file under a folder (sorted, so reports are stable)."""
    p = Path(path)
    if p.is_dir():
        return sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in CASE_SUFFIXES)
    return [p]


def _outcomes(pack: Pack, data, path: str) -> Optional[list[tuple[str, Outcome]]]:
    """(item, outcome) per request, in order; None when this pack cannot read the case."""
    try:
        case = pack.reader().read(data, path)
    except CaseError:
        return None
    out = []
    for d in decide(case, pack, "ur").decisions:
        if isinstance(d, NotAddressed):
            out.append((d.request.item, Outcome(None, d.determination("ur").lower())))
            continue
        determination = d.determination("ur").lower()
        if d.modified is not None:
            determination = f"modified {d.modified.certified} of {d.modified.requested}"
        deciding = tuple((r.id, r.outcome) for r in d.result.reasons)
        out.append((d.request.item, Outcome(d.request.guideline, determination, deciding)))
    return out


def diff_packs(old: Pack, new: Pack, paths: Iterable[Path]) -> DiffReport:
    """Decide every case with both packs; report the items whose outcome differs."""
    changes: list[Change] = []
    skipped: list[str] = []
    cases = items = 0
    unreadable = Outcome(None, "unreadable")
    for path in paths:
        name = str(path)
        try:
            data = read_case_file(name)
        except CaseError as e:  # not a case file for either pack: listed, and the others are still compared
            skipped.append(e.render().splitlines()[0])
            continue
        before, after = _outcomes(old, data, name), _outcomes(new, data, name)
        cases += 1
        label = (data.get("case") if isinstance(data, dict) else None) or name
        if before is None or after is None:
            items += 1
            if (before is None) != (after is None):
                o = before[0][1] if before else unreadable
                n = after[0][1] if after else unreadable
                changes.append(Change(str(label), "(the case)", o, n))
            continue
        for (item, o), (_, n) in zip(before, after):
            items += 1
            if o != n:
                changes.append(Change(str(label), item, o, n))
    return DiffReport(f"{old.location}: {old.label()}", f"{new.location}: {new.label()}", cases, items,
                      tuple(changes), tuple(skipped))


def render_table(report: DiffReport) -> str:
    """A plain-text table of the changed items, then the counts."""
    lines = [f"old: {report.old_label}", f"new: {report.new_label}", ""]
    if report.changes:
        rows = [("case", "item", "change", "old", "new")]
        rows += [(c.case, c.item, c.kind, c.old.text(), c.new.text()) for c in report.changes]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for r in rows:
            cells = [r[i].ljust(widths[i]) for i in range(4)] + [r[4]]
            lines.append("  ".join(cells).rstrip())
        lines.append("")
    if report.unreadable:
        lines += [f"{len(report.unreadable)} file(s) skipped, not readable as case files:"]
        lines += [f"  {u}" for u in report.unreadable] + [""]
    lines.append(f"{report.cases} case(s), {report.items} item(s): {report.count('determination')} changed "
                 f"determination, {report.count('criteria')} changed deciding criteria only, "
                 f"{report.items - len(report.changes)} unchanged")
    return "\n".join(lines) + "\n"
