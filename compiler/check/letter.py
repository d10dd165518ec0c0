"""Determination letters: one per case, a section per disputed request, shaped like a real IMR letter.

Each section names the item as requested and the determination, the guideline
basis, then "Decision rationale:": what the guideline states (only the criteria
that apply to this request), "In this case, ..." with the decisive reasons, and
a closing sentence. The same Letter renders as plain text (to paste into a
decision), Markdown, or JSON for integrators (documented in docs/case-files.md).
IMR and UR wording come from one table (WORDINGS).
"""

from __future__ import annotations

import json
import textwrap

from mtus.compiler.check.case import Case, Request
from mtus.compiler.check.editions import edition_text, is_mtus, not_mtus_sentence
from mtus.compiler.check.info import GuidelineInfo
from mtus.compiler.check.inert import inert, markdown_text
from mtus.compiler.check.pack import Pack
from mtus.compiler.check.rationale import (Explainer, Reason, format_date, format_value, join, missing_of,
                                            sentence)
from mtus.compiler.check.runtime import APPLIES, CERTIFIED, MODIFIED, GuidelineResult, Record, to_json_value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

WIDTH = 88
#: Decisive reasons in the rationale paragraph; the rest are in "what would change it", --explain and JSON.
MAX_REASONS = 3
#: Bumped when a key of letter_json changes meaning. 2: rationale.in_this_case (decisive reasons only),
#: reasons with their sentences, summary, outcome; criteria always included.
JSON_FORMAT = 2


class Wording(Record):
    """How one kind of review names its outcomes; {item}, {k}, {n}, {units} are filled in per request."""

    __slots__ = ("title", "words", "verdicts", "closings", "part")
    title: str
    words: dict  # runtime determination -> the word after "Determination:"
    verdicts: dict  # runtime determination -> the sentence after it
    closings: dict  # runtime determination -> the last sentence of the rationale
    part: str  # the supported part of a request only partly supported, in the rationale paragraph

    def __init__(self, title: str, words: dict, verdicts: dict, closings: dict, part: str) -> None:
        self.title = title
        self.words = words
        self.verdicts = verdicts
        self.closings = closings
        self.part = part


#: IMR decides a request as a whole (there is no "modified"); the part the guideline supports is named.
WORDINGS = {
    "imr": Wording(
        title="Independent Medical Review: final determination",
        words={CERTIFIED: "Overturned", MODIFIED: "Upheld", "not certified": "Upheld"},
        verdicts={CERTIFIED: "The request for {item} is medically necessary.",
                  MODIFIED: "The request for {item} is not medically necessary as submitted.",
                  "not certified": "The request for {item} is not medically necessary."},
        closings={CERTIFIED: "Therefore, the request for {item} is medically necessary.",
                  MODIFIED: "Therefore, the request for {item} is not medically necessary as submitted.",
                  "not certified": "Therefore, the request for {item} is not medically necessary."},
        part="The guideline supports {k} of the {n} {units}; the request as a whole exceeds it.",
    ),
    "ur": Wording(
        title="Utilization review determination",
        words={CERTIFIED: "Certified", MODIFIED: "Modified", "not certified": "Not certified"},
        verdicts={CERTIFIED: "The request for {item} is certified.",
                  MODIFIED: "The request for {item} is modified: {k} of the {n} {units} are certified.",
                  "not certified": "The request for {item} is not certified."},
        closings={CERTIFIED: "Therefore, the request for {item} is certified as medically necessary.",
                  MODIFIED: "Therefore, the request for {item} is modified to certify {k} of the {n} {units}; "
                            "the other {rest} {are} not certified.",
                  "not certified": "Therefore, the request for {item} is not certified as medically necessary."},
        part="The guideline supports {k} of the {n} {units}.",
    ),
}


class RequestDecision(Record):
    """A request a guideline decided: the result, and the letter's sentences for it."""

    __slots__ = ("request", "info", "result", "statement", "reasons", "remedies", "on_denial", "presumptions",
                 "support")
    request: Request
    info: GuidelineInfo
    result: GuidelineResult
    statement: tuple[str, ...]
    reasons: tuple[Reason, ...]
    remedies: tuple[str, ...]
    on_denial: Optional[str]  # the guideline's sentence for every letter that does not certify
    presumptions: tuple[str, ...]  # each presumption that decided, as the letter states it
    support: tuple[str, ...]  # for a certified request: what the record documents that meets the criteria

    def __init__(self, request: Request, info: GuidelineInfo, result: GuidelineResult, statement: tuple[str, ...],
                 reasons: tuple[Reason, ...], remedies: tuple[str, ...], on_denial: Optional[str] = None,
                 presumptions: tuple[str, ...] = (), support: tuple[str, ...] = ()) -> None:
        self.request = request
        self.info = info
        self.result = result
        self.statement = statement
        self.reasons = reasons
        self.remedies = remedies
        self.on_denial = on_denial
        self.presumptions = presumptions
        self.support = support

    @property
    def certified(self) -> bool:
        return self.result.certified

    @property
    def modified(self):
        """The partial certification (runtime.Modification), when the guideline allows fewer units."""
        return self.result.modified

    def _fill(self, template: str) -> str:
        m = self.modified
        fields = {"item": self.request.item}
        if m is not None:
            rest = m.requested - m.certified
            fields.update(k=m.certified, n=m.requested, rest=rest, are="is" if rest == 1 else "are",
                          units=self.units())
        return template.format(**fields)

    def units(self) -> str:
        m = self.modified
        fact = self.info.facts.get(m.fact)
        return fact.label if fact is not None and fact.label is not None else m.fact.replace("_", " ")

    def determination(self, wording: str) -> str:
        return WORDINGS[wording].words[self.result.determination]

    def verdict(self, wording: str = "imr") -> str:
        """The sentence after the determination, naming the item as requested."""
        return self._fill(WORDINGS[wording].verdicts[self.result.determination])

    def closing(self, wording: str = "imr") -> str:
        return self._fill(WORDINGS[wording].closings[self.result.determination])

    def missing(self, reason: Reason) -> list[str]:
        """What the record does not document, for the criteria a reason stands for (first use first)."""
        return missing_of(self.result, reason)

    def decisive(self) -> tuple[Reason, ...]:
        """The reasons the rationale paragraph gives: the first few, an exclusion that applies first (it decides
        alone: "personal care is not medical treatment" leads), then in the order the guideline states them."""
        return tuple(sorted(self.reasons, key=lambda r: r.outcome != APPLIES))[:MAX_REASONS]

    def in_this_case(self, wording: str = "imr") -> list[str]:
        """"In this case, ...": the decisive reasons, then the part a partly supported request may have."""
        if self.certified and self.support:  # what the record shows, as a reviewer who certifies cites it
            out = [sentence("In this case, " + self.support[0])] + [sentence(t) for t in self.support[1:]]
            out.append("The criteria for use that apply to this request are met.")
        elif self.certified:
            out = ["In this case, the criteria for use that apply to this request are met."]
        else:
            texts = [r.text for r in self.decisive()]
            out = [sentence("In this case, " + texts[0])] + [sentence(t) for t in texts[1:]] if texts else []
        out += self.presumptions
        if self.modified is not None:
            out.append(self._fill(WORDINGS[wording].part))
        if self.on_denial and not self.certified:
            out.append(self.on_denial)
        return out

    def paragraphs(self, wording: str = "imr") -> list[str]:
        """The decision rationale: what the guideline states; what this case shows; the conclusion."""
        silent = not_mtus_sentence(self.info)  # a source outside the MTUS says so first
        return ([silent] if silent else []) + [" ".join(self.statement), " ".join(self.in_this_case(wording)),
                                               self.closing(wording)]


def _guideline(info: GuidelineInfo) -> str:
    """The guideline as the letter cites it, with the edition in force on the request date."""
    edition = edition_text(info)
    return f"{info.citation_text} ({info.title})" + (f"; {edition}" if edition else "")


class NotAddressed(Record):
    """An item no guideline decides (none governs it, none in force on the date, or several): a result, not an error."""

    __slots__ = ("request",)
    request: Request
    certified = None
    modified = None

    def __init__(self, request: Request) -> None:
        self.request = request

    @property
    def route(self):
        return self.request.unrouted

    def determination(self, wording: str) -> str:
        return "Not decided" if self.route.addressed_elsewhere else "Not addressed"

    def verdict(self, wording: str = "imr") -> str:
        if self.route.addressed_elsewhere:
            return "The item names more than one treatment; each is decided on its own request."
        return f"The request for {self.request.item} is not addressed by the guidelines in this pack."

    def reason(self) -> str:
        return sentence(self.route.message[0].upper() + self.route.message[1:])


def _not_addressed_text(d: NotAddressed, w: str) -> list[str]:
    out = _wrap(f"Determination: {d.determination(w).upper()}. {d.verdict(w)}", "", "  ")
    out += ["", "Reason:"] + _wrap(d.reason())
    if d.route.hint:
        out += _wrap(f"Hint: {d.route.hint}")
    return out


def _not_addressed_json(d: NotAddressed, w: str) -> dict:
    return {"item": d.request.item, "guideline": None, "certified": None, "outcome": "not addressed",
            "determination": d.determination(w).lower(), "verdict": d.verdict(w),
            "not_addressed": d.route.to_json(), "detail": d.request.detail.to_json()}


class Letter(Record):
    """A case's decisions, as one letter says them."""

    __slots__ = ("case", "pack", "decisions", "wording")
    case: Case
    pack: Pack
    decisions: tuple  # a RequestDecision, or a NotAddressed, per request
    wording: str

    def __init__(self, case: Case, pack: Pack, decisions: tuple, wording: str = "imr") -> None:
        self.case = case
        self.pack = pack
        self.decisions = decisions
        self.wording = wording

    @property
    def decided(self) -> int:
        """How many items a guideline decided (the others are item-level "not addressed" results)."""
        return sum(not isinstance(d, NotAddressed) for d in self.decisions)

    def summary(self) -> Optional[str]:
        """The clinical case summary: the case file's own, or one made from what the case documents."""
        return self.case.summary or generated_summary(self.case)


def generated_summary(case: Case) -> Optional[str]:
    """Age, sex, date of injury and diagnoses, as a reviewer opens a summary; None if the case states none."""
    p = case.patient
    age = p.age if p else None
    sex = (p.sex or "").strip().lower() if p else ""
    injured = p.injury_date if p else None
    diagnoses = list(p.diagnoses) if p and p.diagnoses else _documented_diagnoses(case)
    out = []
    if age is not None and sex:
        out.append(f"The injured worker is {_article(age)} {age}-year-old {sex}")
    elif age is not None:
        out.append(f"The injured worker is {age} years old")
    elif sex:
        out.append(f"The injured worker is {sex}")
    if injured and out:
        out[0] += f" who was injured at work on {format_date(injured)}"
    elif injured:
        out.append(f"The date of injury is {format_date(injured)}")
    if diagnoses:
        out.append("Diagnoses include " + join(diagnoses))
    return " ".join(sentence(x) for x in out) or None


def _article(age: int) -> str:
    """"an 8-year-old", "an 18-year-old", "a 58-year-old": by how the number is spoken."""
    return "an" if str(age).startswith("8") or age in (11, 18) else "a"


def _documented_diagnoses(case: Case) -> list[str]:
    """A `diagnoses` fact a request documents (the same for every request that reads it)."""
    for req in case.requests:
        v = req.facts.get("diagnoses")
        if isinstance(v, frozenset) and v:
            return sorted(v)
    return []


def decide(case: Case, pack: Pack, wording: str = "imr") -> Letter:
    """Evaluate every request of the case with its guideline and phrase the result."""
    if wording not in WORDINGS:
        raise ValueError(f"unknown wording {wording!r}; one of: {', '.join(WORDINGS)}")
    decisions = []
    for req in case.requests:
        if req.guideline is None:  # an item-level result: the other items are still decided
            decisions.append(NotAddressed(req))
            continue
        g = pack.guidelines[req.guideline]
        result = g.evaluate(req.facts, case.date)
        ex = Explainer(g.info)
        reasons = ex.reasons(result, req.sources)
        decisions.append(RequestDecision(
            request=req, info=g.info, result=result,
            statement=tuple(ex.criteria_sentences(result)),
            reasons=tuple(reasons),
            remedies=tuple(ex.remedies(result)),
            on_denial=ex.on_denial(),
            presumptions=tuple(ex.presumptions(result, reasons)),
            support=tuple(ex.support(result, req.sources)) if result.certified else (),
        ))
    return Letter(case, pack, tuple(decisions), wording)


def _explain_rows(d: RequestDecision) -> list[tuple[str, str, str]]:
    rows = []
    facts = d.info.facts
    criteria = {c.id: c for c in d.info.criteria}
    for r in d.result.criteria:
        read = "; ".join(f"{fv.name} = {format_value(fv.value, facts.get(fv.name)) if fv.documented else 'not documented'}"
                         for fv in r.read)
        if r.missing:
            read += ("; " if read else "") + "missing: " + ", ".join(r.missing)
        info = criteria.get(r.id)
        for x in r.computed:  # every value the criterion computed, as the guideline writes the expression
            shown = format_value(x.value) if x.value is not None else "not documented"
            entry = info.computed_entry(x.expr) if info is not None else None
            # a named value (`let current_mme = ...`) is shown with the label its `let` gives it
            named = f" ({entry.label})" if x.expr.isidentifier() and entry is not None and entry.label else ""
            read += ("; " if read else "") + f"computed {x.expr}{named} = {shown}"
        if r.presumed:  # an outcome reached through a presumption says so, never as what the record shows
            read += ("; " if read else "") + "presumed: " + ", ".join(r.presumed)
        if r.readings:
            read += ("; " if read else "") + "the same in every reading of: " + ", ".join(r.readings)
        rows.append((r.id, r.outcome + (" (presumed)" if r.presumed else ""), read or "-"))
    return rows


def _wrap(text: str, first: str = "  ", rest: str = "  ") -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False)


def render_text(letter: Letter, explain: bool = False) -> str:
    w = letter.wording
    case = letter.case
    out = [WORDINGS[w].title, ""]
    if case.id:
        out.append(f"Case: {case.id}")
    out.append(f"Date of request: {format_date(case.date)}")
    summary = letter.summary()
    if summary:
        out += ["", "Clinical case summary:"] + _wrap(summary)
    for i, d in enumerate(letter.decisions, 1):
        if isinstance(d, NotAddressed):
            out += ["", f"Item {i}: {d.request.item}"] + _not_addressed_text(d, w)
            continue
        info = d.info
        out += ["", f"Item {i}: {d.request.item}"]
        out += _wrap(f"Determination: {d.determination(w).upper()}. {d.verdict(w)}", "", "  ")
        out += _wrap(f"Guideline basis: {_guideline(info)}", "", "  ")
        out += ["", "Decision rationale:"]
        for i_para, para in enumerate(d.paragraphs(w)):
            if i_para:
                out.append("")
            out += _wrap(para)
        if d.remedies:
            out += ["", "What would change this determination:"]
            for r in d.remedies:
                out += _wrap(r, "  - ", "    ")
        if explain:
            out += ["", "Criterion trace:"]
            for cid, outcome, read in _explain_rows(d):
                out += _wrap(f"{cid}: {outcome} ({read})", "  ", "    ")
    out += ["", f"Rule pack: {letter.pack.label()}"]
    return "\n".join(out) + "\n"


def render_markdown(letter: Letter, explain: bool = False) -> str:
    md = markdown_text  # every sentence that may quote the case is Markdown-escaped (check/inert.py)
    w = letter.wording
    case = letter.case
    out = [f"# {WORDINGS[w].title}", ""]
    if case.id:
        out.append(f"- **Case:** {md(str(case.id))}")
    out.append(f"- **Date of request:** {format_date(case.date)}")
    summary = letter.summary()
    if summary:
        out += ["", "## Clinical case summary", "", md(summary)]
    for i, d in enumerate(letter.decisions, 1):
        if isinstance(d, NotAddressed):
            out += ["", f"## Item {i}: {md(d.request.item)}", "",
                    f"**Determination: {d.determination(w)}.** {md(d.verdict(w))}",
                    "", f"**Reason:** {md(d.reason())}"] + (["", f"**Hint:** {d.route.hint}"] if d.route.hint else [])
            continue
        info = d.info
        out += ["", f"## Item {i}: {md(d.request.item)}", "",
                f"**Determination: {d.determination(w)}.** {md(d.verdict(w))}", "",
                f"**Guideline basis:** {md(_guideline(info))}", "", "### Decision rationale", "",
                "\n\n".join(md(p) for p in d.paragraphs(w))]
        if d.remedies:
            out += ["", "### What would change this determination", ""]
            out += [f"- {md(r)}" for r in d.remedies]
        if explain:
            out += ["", "### Criterion trace", "", "| criterion | outcome | facts read |", "|---|---|---|"]
            out += [f"| {cid} | {outcome} | {md(read).replace('|', '/')} |" for cid, outcome, read in _explain_rows(d)]
    out += ["", f"_Rule pack: {letter.pack.label()}_"]
    return "\n".join(out) + "\n"


def letter_json(letter: Letter, explain: bool = False) -> dict:
    """The letter as data: every sentence of the text letter, every reason, and the full criterion trace.

    `explain` is accepted for symmetry with the other formats; the trace is always included.
    """
    w = letter.wording
    return {
        "format": JSON_FORMAT,
        "case": letter.case.id,
        "date": letter.case.date.isoformat(),
        "wording": w,
        "summary": letter.summary(),
        "pack": {"name": letter.pack.name, "version": letter.pack.version, "sha256": letter.pack.digest},
        "requests": [
            _not_addressed_json(d, w) if isinstance(d, NotAddressed) else {
                "item": d.request.item,
                "guideline": d.info.id,
                "title": d.info.title,
                "citation": d.info.citation.to_json(),
                "edition": {"version": d.info.version,
                            "in_force": d.info.in_force.to_json() if d.info.in_force else None},
                "mtus": is_mtus(d.info),
                "certified": d.certified,
                "outcome": d.result.determination,
                "determination": d.determination(w).lower(),
                "verdict": d.verdict(w),
                "modified": d.modified.to_json() if d.modified is not None else None,
                "rationale": {
                    "statement": list(d.statement),
                    "in_this_case": d.in_this_case(w),
                    "closing": d.closing(w),
                },
                "reasons": [{"criterion": r.criterion, "criteria": list(r.criteria), "outcome": r.outcome,
                             "missing": d.missing(r), "sentence": sentence(r.text)} for r in d.reasons],
                "presumption_sentences": list(d.presumptions),
                "what_would_change": list(d.remedies),
                "presumptions": [p.to_json() for p in d.result.presumptions],
                "turns_on": list(d.result.turns_on),
                "criteria": [r.to_json() for r in d.result.criteria],
                "sources": dict(sorted(d.request.sources.items())),
                "detail": d.request.detail.to_json(),
            }
            for d in letter.decisions
        ],
        "warnings": [w.to_json() for w in letter.case.warnings],
    }


def render_json(letter: Letter, explain: bool = False) -> str:
    return json.dumps(letter_json(letter, explain), indent=2, sort_keys=True, default=to_json_value) + "\n"


RENDERERS = {"text": render_text, "markdown": render_markdown, "json": render_json}


def render(letter: Letter, fmt: str = "text", explain: bool = False) -> str:
    out = RENDERERS[fmt](letter, explain)
    return out if fmt == "json" else inert(out)  # case text must not drive a terminal (check/inert.py)
