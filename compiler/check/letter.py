"""Determination letters: one per case, a section per disputed request.

The same Letter data renders as plain text (to paste into a decision), as
Markdown, or as JSON for integrators (stable keys, documented in
docs/case-files.md). IMR wording says Upheld / Overturned; UR wording says
certified / not certified.
"""

from __future__ import annotations

import json
import textwrap


import attrs

from mtus.compiler.check.case import Case, Request
from mtus.compiler.check.pack import Pack
from mtus.compiler.check.rationale import Explainer, format_date, format_value, sentence
from mtus.compiler.check.runtime import GuidelineResult, to_json_value

WORDINGS = ("imr", "ur")
WIDTH = 88


@attrs.frozen
class RequestDecision:
    request: Request
    info: dict
    result: GuidelineResult
    statement: tuple[str, ...]
    findings: tuple[str, ...]
    summary: tuple[str, ...]
    remedies: tuple[str, ...]

    @property
    def certified(self) -> bool:
        return self.result.certified

    @property
    def modified(self):
        """The partial certification (runtime.Modification), when the guideline allows fewer units."""
        return getattr(self.result, "modified", None)

    def units(self) -> str:
        m = self.modified
        return self.info["facts"].get(m.fact, {}).get("label", m.fact.replace("_", " "))

    def determination(self, wording: str) -> str:
        if self.modified is not None:
            return "Modified"
        if wording == "ur":
            return "Certified" if self.certified else "Not certified"
        return "Overturned" if self.certified else "Upheld"

    def verdict(self) -> str:
        """The sentence after the determination."""
        m = self.modified
        if m is not None:
            return f"{m.certified} of the {m.requested} {self.units()} are medically necessary."
        return f"The requested treatment is {'' if self.certified else 'not '}medically necessary."

    def closing(self) -> str:
        m = self.modified
        if m is not None:
            rest = m.requested - m.certified
            return (f"Therefore, for the request for {self.request.item}, {m.certified} of the {m.requested} "
                    f"{self.units()} are medically necessary; the other {rest} {'is' if rest == 1 else 'are'} not.")
        necessary = "medically necessary" if self.certified else "not medically necessary"
        return f"Therefore, the request for {self.request.item} is {necessary}."


@attrs.frozen
class Letter:
    case: Case
    pack: Pack
    decisions: tuple[RequestDecision, ...]
    wording: str = "imr"


def decide(case: Case, pack: Pack, wording: str = "imr") -> Letter:
    """Evaluate every request of the case with its guideline and phrase the result."""
    decisions = []
    for req in case.requests:
        g = pack.guidelines[req.guideline]
        result = g.evaluate(req.facts, case.date)
        ex = Explainer(g.info)
        decisions.append(RequestDecision(
            request=req, info=g.info, result=result,
            statement=tuple(ex.criteria_sentences()),
            findings=tuple(f.text for f in ex.findings(result, req.sources)),
            summary=tuple(ex.summary(result)),
            remedies=tuple(ex.remedies(result)),
        ))
    return Letter(case, pack, tuple(decisions), wording)


def _in_this_case(findings) -> list[str]:
    if not findings:
        return []
    out = [sentence("In this case, " + findings[0])]
    out += [sentence(f) for f in findings[1:]]
    return out


def _paragraphs(d: RequestDecision) -> list[str]:
    """The decision rationale: what the guideline says; what this case shows; the conclusion."""
    return [" ".join(d.statement), " ".join(_in_this_case(d.findings) + list(d.summary)), d.closing()]


def _title(wording: str) -> str:
    return "Independent Medical Review: final determination" if wording == "imr" else "Utilization review determination"


def _explain_rows(d: RequestDecision) -> list[tuple[str, str, str]]:
    rows = []
    facts = d.info["facts"]
    for r in d.result.criteria:
        read = "; ".join(f"{fv.name} = {format_value(fv.value, facts.get(fv.name)) if fv.documented else 'not documented'}"
                         for fv in r.read)
        if r.missing:
            read += ("; " if read else "") + "missing: " + ", ".join(r.missing)
        rows.append((r.id, r.outcome, read or "-"))
    return rows


def render_text(letter: Letter, explain: bool = False) -> str:
    w = letter.wording
    case = letter.case
    out = [_title(w), ""]
    if case.id:
        out.append(f"Case: {case.id}")
    out.append(f"Review date: {format_date(case.date)}")
    for i, d in enumerate(letter.decisions, 1):
        info = d.info
        out += ["", f"Item {i}: {d.request.item}",
                f"Determination: {d.determination(w).upper()}. {d.verdict()}",
                f"Guideline: {info['citation_text']} ({info['title']})", "", "Decision rationale:"]
        for i_para, para in enumerate(_paragraphs(d)):
            if i_para:
                out.append("")
            out += textwrap.wrap(para, WIDTH, initial_indent="  ", subsequent_indent="  ")
        if d.remedies and d.modified is None:
            out += ["", "What would change this determination:"]
            for r in d.remedies:
                out += textwrap.wrap(r, WIDTH, initial_indent="  - ", subsequent_indent="    ")
        if explain:
            out += ["", "Criterion trace:"]
            for cid, outcome, read in _explain_rows(d):
                out += textwrap.wrap(f"{cid}: {outcome} ({read})", WIDTH, initial_indent="  ", subsequent_indent="    ")
    out += ["", f"Rule pack: {letter.pack.label()}"]
    return "\n".join(out) + "\n"


def render_markdown(letter: Letter, explain: bool = False) -> str:
    w = letter.wording
    case = letter.case
    out = [f"# {_title(w)}", ""]
    if case.id:
        out.append(f"- **Case:** {case.id}")
    out.append(f"- **Review date:** {format_date(case.date)}")
    for i, d in enumerate(letter.decisions, 1):
        info = d.info
        out += ["", f"## Item {i}: {d.request.item}", "",
                f"**Determination: {d.determination(w)}.** {d.verdict()}", "",
                f"**Guideline:** {info['citation_text']} ({info['title']})", "", "### Decision rationale", "",
                "\n\n".join(_paragraphs(d))]
        if d.remedies and d.modified is None:
            out += ["", "### What would change this determination", ""]
            out += [f"- {r}" for r in d.remedies]
        if explain:
            out += ["", "### Criterion trace", "", "| criterion | outcome | facts read |", "|---|---|---|"]
            out += [f"| {cid} | {outcome} | {read.replace('|', '/')} |" for cid, outcome, read in _explain_rows(d)]
    out += ["", f"_Rule pack: {letter.pack.label()}_"]
    return "\n".join(out) + "\n"


def letter_json(letter: Letter, explain: bool = False) -> dict:
    w = letter.wording
    return {
        "format": 1,
        "case": letter.case.id,
        "date": letter.case.date.isoformat(),
        "wording": w,
        "pack": {"name": letter.pack.name, "version": letter.pack.version, "sha256": letter.pack.digest},
        "requests": [
            {
                "item": d.request.item,
                "guideline": d.info["id"],
                "title": d.info["title"],
                "citation": d.info["citation"],
                "certified": d.certified,
                "determination": d.determination(w).lower(),
                "modified": d.modified.to_json() if d.modified is not None else None,
                "rationale": {
                    "statement": list(d.statement),
                    "findings": [sentence(f) for f in d.findings],
                    "summary": list(d.summary),
                    "closing": d.closing(),
                },
                "reasons": [{"criterion": r.id, "outcome": r.outcome, "missing": list(r.missing)}
                            for r in d.result.reasons],
                "what_would_change": list(d.remedies),
                **({"criteria": [r.to_json() for r in d.result.criteria]} if explain else {}),
                "sources": dict(sorted(d.request.sources.items())),
            }
            for d in letter.decisions
        ],
    }


def render_json(letter: Letter, explain: bool = False) -> str:
    return json.dumps(letter_json(letter, explain), indent=2, sort_keys=True, default=to_json_value) + "\n"


RENDERERS = {"text": render_text, "markdown": render_markdown, "json": render_json}


def render(letter: Letter, fmt: str = "text", explain: bool = False) -> str:
    return RENDERERS[fmt](letter, explain)


