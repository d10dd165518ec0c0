"""Rationale text: the guideline's criteria in prose, and a case's findings.

Works from a guideline's check-time description (compiler/build/packinfo.py) and
its results (compiler/check/runtime.py), so it runs on the reviewer's side without
the front end. Sentences follow IMR decision letters: "CA MTUS guidelines
state ... Criteria for use include ... In this case, there is no
documentation of ..."
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Mapping, Optional

import attrs

from mtus.compiler.check.runtime import (MET, NOT_APPLICABLE, NOT_DOCUMENTED, NOT_MET, CriterionResult, Duration,
                              GuidelineResult)

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


def join(items: list[str], word: str = "and") -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    if len(items) == 2:
        return f"{items[0]} {word} {items[1]}"
    return "; ".join(items[:-1]) + f"; {word} " + items[-1] if any("," in i for i in items) \
        else ", ".join(items[:-1]) + f", {word} " + items[-1]


def capital(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def sentence(text: str) -> str:
    text = capital(text.strip())
    return text if text.endswith((".", "!", "?")) else text + "."


def lower_start(text: str) -> str:
    """Lower-case the first letter unless it starts an acronym (NSAIDs, MTUS)."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def format_date(d: datetime.date) -> str:
    return f"{_MONTHS[d.month - 1]} {d.day}, {d.year}"


def format_value(value: object, schema: Optional[Mapping] = None) -> str:
    """A documented value as a reviewer writes it."""
    kind = (schema or {}).get("kind")
    if isinstance(value, bool):
        return "present" if value else "absent"
    if isinstance(value, datetime.date):
        return format_date(value)
    if isinstance(value, Duration):
        return str(value)
    if isinstance(value, (int, Decimal)):
        text = str(value)
        if kind == "percent":
            return f"{text}%"
        if kind == "quantity":
            return f"{text} {schema['unit']}"
        return text
    if isinstance(value, frozenset):
        return join(sorted(value)) if value else "none"
    if isinstance(value, tuple):
        n = len(value)
        if n == 0:
            return "none"
        fields = (schema or {}).get("fields", {})
        last = value[-1]
        dated = [r for r in value if isinstance(r.get("date"), datetime.date)]
        if not dated:  # no dates: "most recent" would mislead; list the entries
            shown = ["(" + ", ".join(f"{fields.get(k, {}).get('label', k)}: {format_value(v, fields.get(k))}"
                                     for k, v in row.items()) + ")" for row in value[:3]]
            more = f" and {n - 3} more" if n > 3 else ""
            return f"{n} entr{'y' if n == 1 else 'ies'}: " + ", ".join(shown) + more
        if len(dated) == n:
            last = max(dated, key=lambda r: r["date"])
        parts = [f"{fields.get(k, {}).get('label', k)}: {format_value(v, fields.get(k))}"
                 for k, v in last.items() if k != "date"]
        when = f", on {format_date(last['date'])}" if isinstance(last.get("date"), datetime.date) else ""
        head = f"{n} entr{'y' if n == 1 else 'ies'}"
        if not parts:
            return head + (f"; the most recent{when}" if when else "")
        return f"{head}; the most recent{when}, with " + ", ".join(parts)
    return str(value)


@attrs.frozen
class Finding:
    criterion: str
    outcome: str
    text: str


class Explainer:
    """Phrases one guideline's criteria and findings from its description."""

    def __init__(self, info: Mapping):
        self.info = info
        self.facts = info["facts"]
        self.criteria = {c["id"]: c for c in info["criteria"]}

    # ------------------------------------------------------------- labels
    def label(self, name: str) -> str:
        if "." in name:
            hist, field = name.split(".", 1)
            h = self.facts.get(hist, {})
            flabel = h.get("fields", {}).get(field, {}).get("label", field)
            return f"{flabel} for the {h.get('label', hist)}"
        return self.facts.get(name, {}).get("label", name.replace("_", " "))

    # --------------------------------------------------- guideline prose
    def criteria_sentences(self) -> list[str]:
        """The guideline statement and criteria for use, as letter sentences."""
        info = self.info
        out = []
        if info.get("states"):
            out.append(f"CA MTUS guidelines state that {lower_start(info['states'])}")
        plain = [c["statement"] for c in info["criteria"] if not c["exclude"] and not c["when"]]
        if plain:
            out.append(sentence("Criteria for use include " + join([lower_start(s) for s in plain])))
        groups: dict[tuple, list[str]] = {}
        for c in info["criteria"]:
            if c["when"] and not c["exclude"]:
                groups.setdefault(tuple(c["when"]), []).append(lower_start(c["statement"]))
        for when, statements in groups.items():
            out.append(sentence(f"Where {join(list(when))}, the criteria also include " + join(statements)))
        for c in info["criteria"]:
            if c["exclude"]:
                out.append(sentence(c["statement"]) if c["said"] else
                           sentence(f"The treatment is not recommended when there are {c['statement']}"))
        return out

    def outline(self) -> str:
        """The guideline rationale for a clinician to verify against the page."""
        info = self.info
        lines = [f"{info['title']} ({info['id']})", f"Source: {info['citation_text']}"]
        if info.get("version"):
            lines.append(f"Version: {info['version']}")
        prefix = {"name": "", "cpt": "CPT ", "class": "drug class ", "ingredient": "ingredient ", "form": "form "}
        services = [prefix.get(s["kind"], "") + s["value"] for s in info["services"]]
        if services:
            lines.append("Governs: " + ", ".join(services))
        lines.append("")
        if info.get("states"):
            lines += ["The guideline states:", f"  {info['states']}", ""]
        n = 0
        sections = [("Criteria for use (all must be met):", lambda c: not c["exclude"] and not c["when"]),
                    ("Not recommended when:", lambda c: c["exclude"])]
        whens = []
        for c in info["criteria"]:
            if c["when"] and tuple(c["when"]) not in whens and not c["exclude"]:
                whens.append(tuple(c["when"]))
        for when in whens:
            sections.append((f"Only where {join(list(when))}:",
                             lambda c, w=when: tuple(c["when"]) == w and not c["exclude"]))
        for title, keep in sections:
            chosen = [c for c in info["criteria"] if keep(c)]
            if not chosen:
                continue
            lines.append(title)
            for c in chosen:
                n += 1
                lines.append(f"  {n}. {sentence(c['statement'])}  [{c['id']}, line {c['line']}]")
                if c["said"]:
                    lines.append(f"     encoded as: {c['generated']}")
                if c.get("allows_fewer"):
                    units = self.label(c["allows_fewer"])
                    lines.append(f"     allows fewer {units}: fewer than requested may be certified")
                cite = c["citation"]
                if cite != info["citation"]:
                    parts = [cite["source"]] + ([f"section {cite['section']}"] if cite.get("section") else []) + \
                        ([_pages(cite["pages"])] if cite.get("pages") else [])
                    lines.append("     cites: " + ", ".join(parts))
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    # ------------------------------------------------------- case findings
    def missing_phrase(self, names, word: str = "and") -> str:
        """`a, b and c`: missing facts, history fields grouped under their history."""
        parts: list[str] = []
        fields: dict[str, list[str]] = {}
        for name in names:
            if "." in name:
                hist, field = name.split(".", 1)
                if hist not in fields:
                    fields[hist] = []
                    parts.append("." + hist)
                fields[hist].append(field)
            else:
                parts.append(name)
        out = []
        for p in parts:
            if p.startswith("."):
                h = self.facts.get(p[1:], {})
                labels = [_undocumented(h.get("fields", {}).get(f, {}).get("label", f)) for f in fields[p[1:]]]
                out.append(f"the {join(labels)} of the {h.get('label', p[1:])}")
            else:
                out.append(_undocumented(self.label(p)))
        return join(out, word)

    def _undetermined_when(self, c, r: CriterionResult) -> bool:
        """Not documented only because the `when` condition guarding it is unknown."""
        return bool(c["when"]) and bool(r.missing) and all("." not in m and m in c["when_facts"] for m in r.missing)

    def finding(self, r: CriterionResult, sources: Mapping[str, str]) -> str:
        c = self.criteria[r.id]
        statement = lower_start(c["statement"])
        values = {fv.name: fv.value for fv in r.read}
        self._documented = {fv.name for fv in r.read if fv.documented}  # defaults are not shown as documented
        if r.outcome == NOT_DOCUMENTED and not r.missing:
            # unknown without a missing fact: a computed date or number fell out of range
            text = (f"the documented values do not allow the criterion of {statement} to be determined "
                    f"(a date or number computed from them is out of range)")
            return self._cite(text, values, sources)
        if r.outcome == NOT_DOCUMENTED:
            missing = self.missing_phrase(r.missing, "or" if c["shape"].get("disjunctive") else "and")
            if c["exclude"]:
                text = (f"there is no documentation of {missing}, so the exclusion cannot be ruled out "
                        f"({statement if c['said'] else 'not recommended with ' + statement})")
            elif statement.startswith("documentation of ") and c["said"]:
                text = f"there is no {statement}"
            else:
                text = f"there is no documentation of {missing}"
                if c["shape"]["kind"] == "general":
                    text += f", needed to establish {statement}"
        else:
            text = self._not_met(c, r, values)
        if c["citation"] != self.info["citation"]:  # the criterion cites another page than the guideline
            cite = c["citation"]
            where = ", ".join(x for x in (cite["source"] if cite["source"] != self.info["citation"]["source"] else "",
                                           _pages(cite.get("pages"))) if x)
            if where:
                text += f" ({where})"
        return self._cite(text, values, sources)

    def _cite(self, text: str, values: Mapping, sources: Mapping[str, str]) -> str:
        """Name the record each fact came from, inside the sentence's parenthesis if it has one."""
        cited = [n for n in values if n in sources]
        if not cited:
            return text
        if len(cited) == 1:
            note = f"source: {sources[cited[0]]}"
        else:
            note = "sources: " + "; ".join(f"{self.label(n)}: {sources[n]}" for n in cited)
        if text.endswith(")"):
            return text[:-1] + f"; {note})"
        return f"{text} ({note})"

    def _not_met(self, c, r: CriterionResult, values) -> str:
        shape = c["shape"]
        kind = shape["kind"]
        fact = shape.get("fact")
        schema = self.facts.get(fact, {}) if fact else {}
        v = values.get(fact)
        label = self.label(fact) if fact else ""
        if c["exclude"]:
            said = lower_start(c["statement"]) if c["said"] else \
                f"the guideline does not recommend the treatment with {c['statement']}"
            if kind == "contains" and v is not None:
                return f"the {label} include {shape['values']}, and {said}"
            if kind == "finding" and v is True:
                return f"the record documents {label}, and {said}"
            return f"the record documents {self._values_phrase(values)}, and {said}"
        if kind == "limit" and v is not None:
            op, limit = shape["op"], shape["limit"]
            shown = format_value(v, schema)
            words = {"<=": f"more than the {limit} the guideline allows",
                     "<": f"not less than {limit} as the guideline requires",
                     ">=": f"less than the {limit} the guideline requires",
                     ">": f"not more than {limit} as the guideline requires",
                     "=": f"not {limit} as the guideline requires",
                     "!=": "which the guideline does not allow"}[op]
            if schema.get("kind") == "count":
                return f"{shown} {label} {'is' if v == 1 else 'are'} documented, {words}"
            return f"the {label} is documented as {shown}, {words}"
        if kind == "elapsed" and isinstance(v, datetime.date):
            limit = shape["limit"]
            bound = {">": f"more than {limit}", ">=": f"at least {limit}", "<": f"less than {limit}",
                     "<=": f"no more than {limit}"}.get(shape["op"], limit)
            where = "before the request" if shape["to_request"] else "earlier"
            return f"the {label} is documented as {format_date(v)}, which is not {bound} {where}"
        # "the record documents (no) X": labels are noun phrases of unknown number
        if kind == "finding" and v is False:
            return f"the record documents no {_no_article(label)}"
        if kind == "no_finding" and v is True:
            return f"the record documents {label}"
        if kind == "findings" and shape["op"] == "and":
            absent = [self.label(n) for n in shape["facts"] if values.get(n) is False]
            if absent:
                return "the record documents " + join([f"no {_no_article(a)}" for a in absent])
        if kind == "member" and v is not None:
            if shape["op"] == "in":
                return f"the {label} is {format_value(v, schema)}, which is not {shape['values']}"
            return f"the {label} is {format_value(v, schema)}, which the guideline does not allow"
        shown = {n: v for n, v in values.items() if n not in c.get("when_facts", ()) or n == fact}
        return f"the record does not show {lower_start(c['statement'])} (documented: {self._values_phrase(shown or values)})"

    def _values_phrase(self, values: Mapping) -> str:
        shown = getattr(self, "_documented", None)
        parts = [f"{self.label(n)}: {format_value(v, self.facts.get(n))}" for n, v in values.items()
                 if v is not None and (shown is None or n in shown)]
        return "; ".join(parts) if parts else "no relevant facts"

    def findings(self, result: GuidelineResult, sources: Mapping[str, str]) -> list[Finding]:
        """One sentence per deciding criterion, in source order.

        Criteria that are undetermined only because their `when` condition is
        not documented share one sentence per condition.
        """
        out: list[Finding] = []
        grouped: dict[tuple, list[CriterionResult]] = {}
        for r in result.reasons:
            c = self.criteria[r.id]
            if r.outcome == NOT_DOCUMENTED and self._undetermined_when(c, r):
                key = (tuple(c["when"]), r.missing)
                if key not in grouped:
                    grouped[key] = []
                    out.append(Finding(r.id, r.outcome, ""))  # placeholder, filled below
                grouped[key].append(r)
                continue
            out.append(Finding(r.id, r.outcome, self.finding(r, sources)))
        for (when, missing), rs in grouped.items():
            statements = join([lower_start(self.criteria[r.id]["statement"]) for r in rs])
            required = "is" if len(rs) == 1 else "are"
            text = (f"there is no documentation of {self.missing_phrase(missing)}, either way, so it cannot be "
                    f"determined whether {statements} {required} required")
            i = next(i for i, f in enumerate(out) if f.criterion == rs[0].id and not f.text)
            out[i] = Finding(rs[0].id, NOT_DOCUMENTED, text)
        return out

    def summary(self, result: GuidelineResult) -> list[str]:
        """Met and inapplicable criteria, summarised in one or two sentences."""
        out = []
        met = [r for r in result.criteria if r.outcome == MET and not self.criteria[r.id]["exclude"]]
        n = _count_word(len(met))
        if met and result.reasons:
            out.append(f"{capital(n)} other applicable criteri{'on is' if len(met) == 1 else 'a are'} met.")
        elif len(met) == 1:
            out.append("The one applicable criterion is met.")
        elif len(met) == 2:
            out.append("Both applicable criteria are met.")
        elif met:
            out.append(f"All {n} applicable criteria are met.")
        skipped = {tuple(self.criteria[r.id]["when"]) for r in result.criteria if r.outcome == NOT_APPLICABLE}
        for when in sorted(skipped):
            out.append(sentence(f"The criteria that apply only where {join(list(when))} do not apply"))
        m = getattr(result, "modified", None)
        if m is not None:
            out.append(f"The guideline allows {m.certified} of the {m.requested} {self.label(m.fact)}.")
        return out

    def _reads_only_product(self, r: CriterionResult) -> bool:
        """The criterion reads only facts taken from the requested product: only another product changes it."""
        names = [fv.name for fv in r.read]
        return bool(names) and all(self.facts.get(n, {}).get("from_product") for n in names)

    def remedies(self, result: GuidelineResult) -> list[str]:
        """What documentation would have to be present, one line per distinct need."""
        out: list[str] = []
        for r in result.reasons:
            c = self.criteria[r.id]
            statement = lower_start(c["statement"])
            if r.outcome == NOT_DOCUMENTED and not r.missing:
                line = sentence(f"Documented values that allow the criterion of {statement} to be determined")
            elif r.outcome == NOT_DOCUMENTED and self._undetermined_when(c, r):
                line = sentence(f"Documentation of {self.missing_phrase(r.missing)}, or that there were none")
            elif r.outcome == NOT_DOCUMENTED and c["exclude"]:
                line = sentence(f"Documentation of {self.missing_phrase(r.missing)}, to rule out the exclusion "
                                f"({statement if c['said'] else 'not recommended with ' + statement})")
            elif r.outcome == NOT_DOCUMENTED and c["shape"].get("disjunctive"):
                line = sentence(f"Documentation of any of: {self.missing_phrase(r.missing, 'or')}")
            elif r.outcome == NOT_DOCUMENTED:
                line = sentence(f"Documentation of {self.missing_phrase(r.missing)}")
            elif c["exclude"]:
                line = sentence(f"Documentation that the exclusion does not apply: {statement}" if c["said"] else
                                f"Documentation that the exclusion does not apply: not recommended with {statement}")
            elif self._reads_only_product(r):
                line = sentence(f"A different product that meets the criterion: {statement}")
            elif statement.startswith("documentation of "):
                line = sentence(statement)
            elif c.get("allows_fewer") or (c["shape"]["kind"] == "limit"
                                           and self.facts.get(c["shape"]["fact"], {}).get("kind") == "count"):
                line = sentence(f"A request for {statement}")  # a count is changed by asking for less
            else:
                line = sentence(f"Documentation showing {statement}")
            if line not in out:
                out.append(line)
        return out


def _no_article(label: str) -> str:
    """"no a pain assessment" reads wrong: drop a leading article after "no"."""
    for article in ("a ", "an ", "the "):
        if label.startswith(article):
            return label[len(article):]
    return label


def _pages(pages) -> str:
    if not pages:
        return ""
    return ("pages " if ("-" in pages or "," in pages) else "page ") + pages


_COUNT_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _count_word(n: int) -> str:
    return _COUNT_WORDS[n] if 0 <= n < len(_COUNT_WORDS) else str(n)


def _undocumented(label: str) -> str:
    """`documented X` reads twice in "no documentation of ...": drop the first."""
    for prefix in ("documented evidence of ", "documented "):
        if label.startswith(prefix):
            return label[len(prefix):]
    return label


__all__ = ["Explainer", "Finding", "format_value", "format_date", "join", "sentence", "NOT_MET"]
