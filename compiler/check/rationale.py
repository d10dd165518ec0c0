"""Rationale text: the guideline's criteria in prose, and the reasons a case is decided as it is.

Works from a guideline's check-time description (compiler/check/info.py) and
its results (compiler/check/runtime.py), so it runs on the reviewer's side without
the front end. Sentences follow IMR decision letters: "Per the MTUS Chronic Pain
Medical Treatment Guidelines, ... Criteria for use include ... In this case, there
is no documentation of ..." The attribution is the guideline's own source.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

from mtus.compiler.check.info import (Citation, ComputedInfo, CriterionInfo, FactInfo, FieldInfo, GuidelineInfo, Operand,
                                      Shape, TableInfo)
from mtus.compiler.check.runtime import (MET, NOT_APPLICABLE, NOT_DOCUMENTED, CriterionResult, Duration,
                                        GuidelineResult, Record)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Mapping, Optional

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


def join(items: list[str], word: str = "and") -> str:
    """The one prose list ("a, b, and c"), for letters and for the pack's criterion phrases alike.

    When any item holds a comma of its own ("forearm, wrist or hand"), the items are set off
    by semicolons, or the reader cannot tell where one item ends and the next begins.
    """
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    if len(items) == 2:
        return f"{items[0]} {word} {items[1]}"
    sep = "; " if any("," in i for i in items) else ", "
    return sep.join(items[:-1]) + f"{sep}{word} " + items[-1]


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


def format_value(value: object, schema: Optional[FieldInfo] = None) -> str:
    """A documented value as a reviewer writes it."""
    kind = schema.kind if schema is not None else None
    if isinstance(value, bool):
        return "present" if value else "absent"
    if isinstance(value, datetime.date):
        return format_date(value)
    if isinstance(value, Duration):
        return str(value)
    if isinstance(value, (int, Decimal)):
        text = _number_text(value)
        if kind == "percent":
            return f"{text}%"
        if kind == "quantity":
            return f"{text} {schema.unit}"
        return text
    if isinstance(value, frozenset):
        return join(sorted(value)) if value else "none"
    if isinstance(value, tuple):
        n = len(value)
        if n == 0:
            return "none"
        fields = (schema.fields if schema is not None else None) or {}
        last = value[-1]
        dated = [r for r in value if isinstance(r.get("date"), datetime.date)]
        if not dated:  # no dates: "most recent" would mislead; list the entries
            shown = ["(" + ", ".join(f"{_label(fields.get(k), k)}: {format_value(v, fields.get(k))}"
                                     for k, v in row.items()) + ")" for row in value[:3]]
            more = f" and {n - 3} more" if n > 3 else ""
            return f"{n} entr{'y' if n == 1 else 'ies'}: " + ", ".join(shown) + more
        if len(dated) == n:
            last = max(dated, key=lambda r: r["date"])
        parts = [f"{_label(fields.get(k), k)}: {format_value(v, fields.get(k))}"
                 for k, v in last.items() if k != "date"]
        when = f", on {format_date(last['date'])}" if isinstance(last.get("date"), datetime.date) else ""
        head = f"{n} entr{'y' if n == 1 else 'ies'}"
        if not parts:
            return head + (f"; the most recent{when}" if when else "")
        return f"{head}; the most recent{when}, with " + ", ".join(parts)
    return str(value)


def _number_text(n) -> str:
    """An exact number as written by hand: 150 for 150.0, 7.5 for 7.50 (never an exponent)."""
    if isinstance(n, Decimal) and n.is_finite():
        if n == n.to_integral_value():
            return str(int(n))
        return format(n.normalize(), "f")
    return str(n)


class Reason(Record):
    """One reason a request is not certified: the criteria it stands for, their outcome, the sentence's body."""

    __slots__ = ("criteria", "outcome", "text")
    criteria: tuple[str, ...]
    outcome: str
    text: str

    def __init__(self, criteria: tuple[str, ...], outcome: str, text: str) -> None:
        self.criteria = criteria
        self.outcome = outcome
        self.text = text

    def also(self, criterion: str) -> Reason:
        """This reason standing for one criterion more."""
        return Reason(self.criteria + (criterion,), self.outcome, self.text)

    @property
    def criterion(self) -> str:
        return self.criteria[0]


class Explainer:
    """Phrases one guideline's criteria and findings from its description."""

    def __init__(self, info: GuidelineInfo):
        self.info = info
        self.facts = info.facts
        self.criteria = {c.id: c for c in info.criteria}

    # ------------------------------------------------------------- labels
    def label(self, name: str) -> str:
        miss = self._table_miss(name)  # a value a table does not list: runtime.lookup_m's `table[key]`
        if miss is not None:
            t, key = miss
            return f'the {no_article(t.label)} for "{key}", which the guideline\'s table does not list'
        if "." in name:
            hist, field = name.split(".", 1)
            h = self.facts.get(hist)
            flabel = _label((h.fields or {}).get(field) if h is not None else None, field)
            return f"{flabel} for the {_label(h, hist)}"
        return _label(self.facts.get(name), name.replace("_", " "))

    def _fact(self, name: Optional[str]) -> Optional[FactInfo]:
        return self.facts.get(name) if name else None

    # --------------------------------------------------- guideline prose
    def attribution(self) -> str:
        """"Per the <source>": the guideline's own source, never a fixed "CA MTUS"."""
        return f"Per the {self.info.citation.source}"

    def _shown(self, result: Optional[GuidelineResult]):
        """Which criteria the statement names: all (no result), or only those that apply to this request.

        A criterion whose `when` does not hold is left out; an exclusion is named
        only where it decides (it applies, or the record leaves it open).
        """
        if result is None:
            return lambda c: True
        outcome = {r.id: r.outcome for r in result.criteria}
        deciding = {r.id for r in result.reasons}
        return lambda c: c.id in deciding if c.exclude else outcome.get(c.id) != NOT_APPLICABLE

    def criteria_sentences(self, result: Optional[GuidelineResult] = None) -> list[str]:
        """What the guideline states and its criteria for use, attributed to its source.

        With a result, only the criteria that apply to that request are named.
        """
        info = self.info
        shown = self._shown(result)
        out = []
        lead = self.attribution()
        if info.states:
            out.append(sentence(f"{lead}, {lower_start(info.states)}"))
            lead = ""
        plain = [c.statement for c in info.criteria if not c.exclude and not c.when and shown(c)]
        if plain:
            text = "criteria for use include " + join([lower_start(s) for s in plain])
            out.append(sentence(f"{lead}, {text}" if lead else text))
            lead = ""
        groups: dict[tuple, list[str]] = {}
        for c in info.criteria:
            if c.when and not c.exclude and shown(c):
                groups.setdefault(tuple(c.when), []).append(lower_start(c.statement))
        for when, statements in groups.items():
            out.append(sentence(f"Where {join(list(when))}, the criteria also include " + join(statements)))
        stated = _words(info.states or "")
        for c in info.criteria:
            if c.exclude and shown(c) and not (c.said and _words(c.statement) in stated):
                out.append(sentence(c.statement) if c.said else
                           sentence(f"The treatment is not recommended when there are {c.statement}"))
        if lead and out:  # nothing carried the attribution: every sentence is an exclusion
            out[0] = sentence(f"{lead}, {lower_start(out[0])}")
        return out

    def outline(self) -> str:
        """The guideline rationale for a clinician to verify against the page."""
        info = self.info
        lines = [f"{info.title} ({info.id})", f"Source: {info.citation_text}"]
        if info.version:
            lines.append(f"Version: {info.version}")
        prefix = {"name": "", "cpt": "CPT ", "hcpcs": "HCPCS ", "class": "drug class ", "ingredient": "ingredient ",
                  "form": "form "}
        services = [prefix.get(s.kind, "") + s.value for s in info.services]
        if services:
            lines.append("Governs: " + ", ".join(services))
        lines.append("")
        if info.states:
            lines += ["The guideline states:", f"  {info.states}", ""]
        if info.on_denial is not None:
            lines += ["Every letter that does not certify says:", f"  {self.on_denial()}", ""]
        n = 0
        sections = [("Criteria for use (all must be met):", lambda c: not c.exclude and not c.when),
                    ("Not recommended when:", lambda c: c.exclude)]
        whens = []
        for c in info.criteria:
            if c.when and tuple(c.when) not in whens and not c.exclude:
                whens.append(tuple(c.when))
        for when in whens:
            sections.append((f"Only where {join(list(when))}:",
                             lambda c, w=when: tuple(c.when) == w and not c.exclude))
        for title, keep in sections:
            chosen = [c for c in info.criteria if keep(c)]
            if not chosen:
                continue
            lines.append(title)
            for c in chosen:
                n += 1
                lines.append(f"  {n}. {sentence(c.statement)}  [{c.id}, line {c.line}]")
                if c.said:
                    lines.append(f"     encoded as: {c.generated}")
                if c.allows_fewer:
                    units = self.label(c.allows_fewer)
                    lines.append(f"     allows fewer {units}: fewer than requested may be certified")
                cite = c.citation
                if cite != info.citation:
                    parts = [cite.source] + ([f"section {cite.section}"] if cite.section else []) + \
                        ([_pages(cite.pages)] if cite.pages else [])
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
                h = self.facts.get(p[1:])
                known = (h.fields if h is not None else None) or {}
                labels = [_undocumented(_label(known.get(f), f)) for f in fields[p[1:]]]
                out.append(f"the {join(labels)} of the {_label(h, p[1:])}")
            else:
                out.append(_undocumented(self.label(p)))
        return join(out, word)

    def _is_detail(self, name: str) -> bool:
        """Whether a missing fact is a request detail (the request states it, not the medical record)."""
        f = self.facts.get(name)
        return f is not None and bool(f.detail)

    def _table_miss(self, name: str) -> Optional[tuple[TableInfo, str]]:
        """(table, key) for a missing `table[key]`: a value the table does not list (runtime.lookup_m)."""
        if not (name.endswith("]") and "[" in name):
            return None
        table, key = name[:-1].split("[", 1)
        t = next((t for t in self.info.tables if t.name == table), None)
        return (t, key) if t is not None else None

    def _table_remedy(self, missing) -> str:
        """What would change a value no table lists: the value named as the table names it."""
        miss = self._table_miss(missing[0])
        assert miss is not None  # the caller asks only for values no table lists
        t, key = miss
        keys = list(dict.fromkeys(k for k, _ in t.entries))
        shown = ", ".join(keys[:8]) + (f", and {len(keys) - 8} more" if len(keys) > 8 else "")
        return sentence(f'Documentation that names "{key}" as the guideline\'s table does ({shown})')

    def _undetermined_when(self, c, r: CriterionResult) -> bool:
        """Not documented only because the `when` condition guarding it is unknown."""
        return bool(c.when) and bool(r.missing) and all("." not in m and m in c.when_facts for m in r.missing)

    def reason(self, r: CriterionResult, sources: Mapping[str, str]) -> str:
        """Why one criterion stops certification, as the body of a sentence (the record's sources cited)."""
        c = self.criteria[r.id]
        statement = lower_start(c.statement)
        values = {fv.name: fv.value for fv in r.read if fv.documented}
        if r.outcome == NOT_DOCUMENTED and not r.missing:
            # unknown without a missing fact: a computed date or number fell out of range
            text = (f"the documented values do not allow the criterion of {statement} to be determined "
                    f"(a date or number computed from them is out of range)")
            return self._cite(text, list(values), sources)
        # sem's FactInfo.detail (a request detail); until it lands no fact is one
        details = [m for m in r.missing if m in self.facts and self.facts[m].detail]
        if r.outcome == NOT_DOCUMENTED and r.missing and len(details) == len(r.missing):
            # what the request leaves out is the requester's to state: "the request does not specify ..."
            text = "the request does not specify the " + join([no_article(self.label(m)) for m in details])
            return self._cite(self.with_citation(text, c.citation), [], sources)
        if r.outcome == NOT_DOCUMENTED:
            missing = self.missing_phrase(r.missing, "or" if c.shape.disjunctive else "and")
            if c.exclude:
                text = (f"there is no documentation of {missing}, so the exclusion cannot be ruled out "
                        f"({statement if c.said else 'not recommended with ' + statement})")
            elif statement.startswith("documentation of ") and c.said:
                text = f"there is no {statement}"
            elif c.said and len(r.missing) >= 3 and not any(fv.documented for fv in r.read
                                                            if fv.name in r.missing):
                # several facts of one rule, none documented: the guideline's words say how they combine
                # ("ADL or work restrictions, and dependency"), a list of them would not
                text = f"there is no {_documentation_of(statement)}"
            else:
                text = f"there is no documentation of {missing}"
                if c.shape.kind == "general" and not _restates(statement, missing):
                    text += f", needed to establish {statement}"  # what the missing facts are for
            used: list[str] = []
        else:
            text, used = self._not_met(c, r, values)
        return self._cite(self.with_citation(text, c.citation), used, sources)

    def with_citation(self, text: str, cite: Citation) -> str:
        """text, with "(page 78)" where it cites another page (or source) than the guideline does."""
        if cite == self.info.citation:
            return text
        where = ", ".join(x for x in (cite.source if cite.source != self.info.citation.source else "",
                                       _pages(cite.pages)) if x)
        return f"{text} ({where})" if where else text

    def on_denial(self) -> Optional[str]:
        """The guideline's `on denial says` sentence, with its own citation where it differs."""
        d = self.info.on_denial
        if d is None:
            return None
        text = " ".join(d.text.split())
        end = text[-1:] if text[-1:] in (".", "!", "?") else ""
        return sentence(self.with_citation(text[:len(text) - len(end)] if end else text, d.citation))

    def _cite(self, text: str, used, sources: Mapping[str, str]) -> str:
        """Name the record each fact the sentence uses came from, inside its parenthesis if it has one."""
        cited = [n for n in used if n in sources]
        if not cited:
            return text
        if len(cited) == 1:
            note = f"source: {sources[cited[0]]}"
        else:
            note = "sources: " + "; ".join(f"{self.label(n)}: {sources[n]}" for n in cited)
        if text.endswith(")"):
            return text[:-1] + f"; {note})"
        return f"{text} ({note})"

    def _not_met(self, c, r: CriterionResult, values) -> tuple[str, list[str]]:
        """The sentence for a criterion not met (or an exclusion that applies), and the facts it uses."""
        text, used = self._not_met_core(c, r, values)
        shape = c.shape
        if shape.disjunctive and shape.facts and shape.kind in ("limit", "compare") and not c.exclude:
            # `total <= 120 or pain_consultation` fails only without the alternative: say so
            documented = {fv.name for fv in r.read if fv.documented}  # a presumed absence has its own sentence
            absent = [n for n in shape.facts if values.get(n) is False and n in documented]
            if absent:
                text += ", and the record documents " + join([f"no {no_article(self.label(n))}" for n in absent])
                used = list(used) + [n for n in absent if n not in used]
        return text, used

    def _documented_findings(self, r: CriterionResult) -> list[tuple[str, str]]:
        """The findings a criterion read that the record documents, as words ("X", "no Y") with their names."""
        out = []
        for fv in r.read:
            info = self.facts.get(fv.name)
            if fv.documented and _kind(info) == "finding" and isinstance(fv.value, bool):
                label = self.label(fv.name)
                out.append((label if fv.value else f"no {no_article(label)}", fv.name))
        return out

    def _not_met_core(self, c, r: CriterionResult, values) -> tuple[str, list[str]]:
        shape = c.shape
        kind = shape.kind
        fact = shape.fact
        schema = self.facts.get(fact) if fact else None
        v = values.get(fact)
        label = self.label(fact) if fact else ""
        if c.exclude:
            said = lower_start(c.statement) if c.said else \
                f"the guideline does not recommend the treatment with {c.statement}"
            if kind == "contains" and v is not None:
                # the case's own values: for `contains any of`, shape.values is the guideline's list
                shown = format_value(v, schema) if shape.op == "contains any of" else shape.values
                return f"the {label} include {shown}, and {said}", [fact]
            if kind == "finding" and v is True:
                return f"the record documents {label}, and {said}", [fact]
            if kind == "member" and v is not None:
                return f"the {label} is {format_value(v, schema)}, and {said}", [fact]
            found = self._documented_findings(r)
            if found:  # what the record says that makes the exclusion apply, then the guideline's words
                return f"the record documents {join([w for w, _ in found])}; {said}", [n for _, n in found]
            return f"{said}, and the record documents it", self._own_facts(c, values)
        if kind == "limit" and v is not None:
            op, limit = shape.op, shape.limit
            shown = format_value(v, schema)
            words = {"<=": f"more than the {limit} the guideline allows",
                     "<": f"where the guideline requires less than {limit}",
                     ">=": f"less than the {limit} the guideline requires",
                     ">": f"where the guideline requires more than {limit}",
                     "=": f"not {limit} as the guideline requires",
                     "!=": "which the guideline does not allow"}[op]
            if _kind(schema) == "count":
                return f"the request is for {shown} {_unrequested(label)}, {words}", [fact]
            return f"the {label} is documented as {shown}, {words}", [fact]
        computed = {x.expr: x.value for x in r.computed if x.value is not None}
        if kind == "compare":
            text = self._compare(c, shape, computed, values)
            if text:
                return text, self._own_facts(c, values)
        if kind == "elapsed" and isinstance(v, datetime.date):
            limit = shape.limit
            # what the elapsed time is, the comparison failed: "more than 30 days", not "not no more than 30 days"
            failed = {">": f"not more than {limit}", ">=": f"less than {limit}", "<": f"not less than {limit}",
                      "<=": f"more than {limit}"}.get(shape.op, f"not {limit}")
            where = "before the request" if shape.to_request else "earlier"
            elapsed = next((x for e, x in computed.items() if e.startswith("time from ")), None)
            if elapsed is not None:  # the elapsed time the criterion computed, shown as the reviewer reads it
                return (f"the {label} is documented as {format_date(v)}, {format_value(elapsed)} {where}, "
                        f"{failed}"), [fact]
            return f"the {label} is documented as {format_date(v)}, {failed} {where}", [fact]
        # "the record documents (no) X": labels are noun phrases of unknown number
        if kind == "finding" and v is False:
            return f"the record documents no {no_article(label)}", [fact]
        if kind == "no_finding" and v is True and c.said and self.facts[fact].detail:
            # what was requested is what fails: say what the guideline supports instead
            return f"the record documents {label}, where the guideline supports {lower_start(c.statement)}", [fact]
        if kind == "no_finding" and v is True:
            return f"the record documents {label}", [fact]
        if kind == "findings" and shape.op == "and":
            documented = {fv.name for fv in r.read if fv.documented}  # a presumed absence has its own sentence
            absent = [n for n in shape.facts if values.get(n) is False and n in documented]
            if absent:
                return "the record documents " + join([f"no {no_article(self.label(a))}" for a in absent]), absent
        if kind == "member" and v is not None:
            if shape.op == "in":
                return f"the {label} is {format_value(v, schema)}, which is not {shape.values}", [fact]
            return f"the {label} is {format_value(v, schema)}, which the guideline does not allow", [fact]
        statement = lower_start(c.statement)
        if statement.startswith(("documentation of ", "documentation that ")):
            text = f"there is no {statement}"
        elif statement.startswith("no "):  # "no re-enrollment in nor repetition of ...": not met, so it is shown
            text = "the record shows " + statement[3:].replace(" nor ", " or ")
        else:
            text = f"the record does not show {statement}"
        shown = self._computed_phrases(c, computed)[:3]
        if shown:  # the values it computed are what a reviewer checks the outcome against
            text += ": " + join(shown)
        return text, self._own_facts(c, values)

    def _computed_phrases(self, c: CriterionInfo, computed: Mapping) -> list[str]:
        """The values a criterion compared, as clauses: fields of one picked entry of a history share one."""
        entries = {x.expr: x for x in c.computed}
        out: list = []
        picked: dict[tuple, list[str]] = {}
        for x in entries.values():
            if x.expr not in computed or not x.compared:
                continue
            value = self._computed_value(x, computed[x.expr])
            start = entries.get(x.since or "")
            if start is not None and start.pick is not None and start.expr in computed:
                which, history, _ = start.pick
                out.append(f"the {which} of the {history} was on {format_value(computed[start.expr])}, "
                           f"{value} before the request")
            elif x.pick is not None:
                which, history, field = x.pick
                key = (which, history)
                if key not in picked:
                    picked[key] = []
                    out.append(key)  # placeholder, filled below in the order first met
                picked[key].append(f"{field} of {value}")
            else:
                out.append(f"{x.label} is {value}")
        return [f"the {k[0]} of the {k[1]} had {join(picked[k])}" if isinstance(k, tuple) else k for k in out]

    def _computed_value(self, entry: ComputedInfo, value) -> str:
        return format_value(value, entry)

    def _side(self, c, side: Operand, computed: Mapping, values: Mapping) -> Optional[tuple[str, object]]:
        """(phrase, value) for one side of a comparison, or None if its value is unknown."""
        if side.fact is not None:
            v = values.get(side.fact)
            if v is None:
                return None
            return self.label(side.fact), v
        if side.const is not None:
            return side.const, None
        entry = c.computed_entry(side.computed)
        v = computed.get(side.computed)
        if entry is None or v is None:
            return None
        return entry.label, v

    def _compare(self, c, shape: Shape, computed: Mapping, values: Mapping) -> Optional[str]:
        """"prior visits plus visits requested come to 18 (6 plus 12), more than the 10 visits recommended for X"."""
        lside, rside = shape.left, shape.right
        assert lside is not None and rside is not None  # a "compare" shape has both
        left = self._side(c, lside, computed, values)
        right = self._side(c, rside, computed, values)
        if left is None or right is None:
            return None
        entry = c.computed_entry(lside.computed)
        lv = left[1]
        shown = self._computed_value(entry, lv) if entry is not None else format_value(lv, self._fact(lside.fact))
        parts = lside.parts
        if parts:
            part_values = [self._part_value(p, computed, values) for p in parts]
            # "16 (10 plus 6)"; not "12 (0 plus 12)": a sum with nothing before shows only its value
            if all(x is not None for x in part_values) and not (lside.word == "plus" and "0" in part_values):
                shown += f" ({part_values[0]} {lside.word} {part_values[1]})"
        fact = lside.fact
        if c.shows:  # the author's words for the computed value
            subject = c.shows.replace("{}", shown)
        elif fact and _kind(self.facts.get(fact)) == "count":
            subject = f"the request is for {shown} {_unrequested(left[0])}"
        elif fact:
            subject = f"the {left[0]} is documented as {shown}"
        else:
            subject = f"{left[0]} {'come to' if parts else 'is'} {shown}"
        if rside.const is not None:
            return f"{subject}, {_relation(lv, None, shape.op)} {rside.const}"
        rv = right[1]
        rentry = c.computed_entry(rside.computed)
        rshown = self._computed_value(rentry, rv) if rentry is not None else format_value(rv, self._fact(rside.fact))
        relation = _relation(lv, rv, shape.op)
        if (rside.key is not None and values.get(rside.key) is not None and rentry is not None
                and rentry.table_label):
            target = f"the {rshown} {no_article(rentry.table_label)} for {format_value(values[rside.key])}"
        else:
            target = f"{rshown}, {right[0]}"
            rparts = rside.parts
            if rparts:
                part_values = [self._part_value(p, computed, values) for p in rparts]
                if all(x is not None for x in part_values):
                    target += f" ({part_values[0]} {rside.word} {part_values[1]})"
        return f"{subject}, {relation} {target}"

    def _part_value(self, part: Operand, computed: Mapping, values: Mapping) -> Optional[str]:
        if part.const is not None:
            return part.const
        if part.fact is not None:
            v = values.get(part.fact)
            return None if v is None else format_value(v, self.facts.get(part.fact))
        v = computed.get(part.computed)
        return None if v is None else format_value(v)

    def _own_facts(self, c, values) -> list[str]:
        """The documented facts a criterion reads itself (not those of the `when` that guards it)."""
        return [n for n in values if n not in c.when_facts]

    def support(self, result: GuidelineResult, sources: Mapping[str, str]) -> list[str]:
        """What the record documents that meets each criterion for use, sources cited.

        For a certified request: "the record documents X, Y and Z" (every
        finding in one clause), then "the request is for 2 injections per
        session, within the 4 the guideline allows", "the onset of symptoms is
        documented as March 10, 2013, 8 months before the request". Only what
        the record itself documents is named (a presumption has its own
        sentence); a criterion met another way (an alternative of an `or`, a
        computed value) gets no clause, and a fact two criteria limit gets the
        later (the narrower, under its `when`) one.
        """
        found: list[str] = []  # "X", "no Y": what the record documents, in criteria order
        found_facts: list[str] = []
        limits: dict[str, tuple[str, list[str]]] = {}  # the fact a clause is about -> the clause
        for r in result.criteria:
            c = self.criteria[r.id]
            if c.exclude or r.outcome != MET:
                continue
            values = {fv.name: fv.value for fv in r.read if fv.documented}
            words, used = self._met(c, r, values)
            if not words:
                continue
            if isinstance(words, list):
                for w in words:
                    if w not in found:
                        found.append(w)
                found_facts += [n for n in used if n not in found_facts]
            else:
                limits.pop(used[0], None)  # the later clause on a fact replaces the earlier, in its place
                limits[used[0]] = (words, used)
        out = [self._cite("the record documents " + join(found), found_facts, sources)] if found else []
        return out + [self._cite(text, used, sources) for text, used in limits.values()]

    def _met(self, c: CriterionInfo, r: CriterionResult, values: Mapping[str, object]):
        """What meets a criterion, from what the record documents: findings as a list of noun phrases, or a
        clause on one value; with the facts named. ("", []) where the criterion was met another way."""
        shape = c.shape
        kind, fact = shape.kind, shape.fact
        schema = self.facts.get(fact) if fact else None
        v = values.get(fact) if fact else None
        label = self.label(fact) if fact else ""
        # the findings the record documents that the criterion itself reads (not its `when`, not the request's)
        present = [n for n, x in values.items() if x is True and _kind(self.facts.get(n)) == "finding"
                   and n not in c.when_facts and not self.facts[n].detail]
        if shape.disjunctive or kind == "general":  # met by one of several ways: the findings it has
            return ([_documented(self.label(n)) for n in present], present) if present else ("", [])
        if kind in ("finding", "no_finding") and self.facts[fact].detail:
            return "", []  # what was requested ("a purchase", "no purchase") is not evidence
        if kind == "finding" and v is True:
            return [_documented(label)], [fact]
        if kind == "no_finding" and v is False:
            return [f"no {no_article(label)}"], [fact]
        if kind == "findings" and shape.op == "and" and all(values.get(n) is True for n in shape.facts):
            return [_documented(self.label(n)) for n in shape.facts], list(shape.facts)
        if kind == "limit" and v is not None:
            limit = shape.limit
            words = {"<=": f"within the {limit} the guideline allows", "<": f"less than {limit}",
                     ">=": f"at least the {limit} the guideline requires", ">": f"more than {limit}",
                     "=": "as the guideline requires"}.get(shape.op)
            if words is None:
                return "", []
            shown = format_value(v, schema)
            if _kind(schema) == "count":
                what = _unrequested(label)
                return f"the request is for {shown} {_singular(what) if v == 1 else what}, {words}", [fact]
            return f"the {label} is documented as {shown}, {words}", [fact]
        if kind == "elapsed" and isinstance(v, datetime.date) and shape.to_request:
            computed = {x.expr: x.value for x in r.computed if x.value is not None}
            elapsed = next((x for e, x in computed.items() if e.startswith("time from ")), None)
            if elapsed is not None:
                return (f"the {label} is documented as {format_date(v)}, {format_value(elapsed)} before the request",
                        [fact])
        return "", []

    def reasons(self, result: GuidelineResult, sources: Mapping[str, str]) -> list[Reason]:
        """Every criterion that stops certification, one sentence each, in the order the guideline states them.

        Criteria left open only because the record does not document whether
        their `when` holds share one sentence naming what the result turns on.
        """
        out: list[Reason] = []
        turns_on: dict[tuple, int] = {}
        open_on = tuple(result.turns_on)  # left open after every reading was tried
        for r in self.deciding(result):
            c = self.criteria[r.id]
            # Only a criterion left open by what guards it (its `when`) shares that sentence: a
            # criterion for use whose own facts are undocumented is "no documentation of ...".
            if (open_on and r.outcome == NOT_DOCUMENTED and r.missing and set(r.missing) <= set(open_on)
                    and set(r.missing) <= set(c.when_facts)):
                if ("turns on",) in turns_on:  # one plain sentence for all of them
                    i = turns_on[("turns on",)]
                    out[i] = out[i].also(r.id)
                    continue
                said = {m for earlier in out for m in missing_of(result, earlier)}
                if set(open_on) <= said:  # an earlier sentence already says the record does not document them
                    i = len(out) - 1
                    out[i] = out[i].also(r.id)
                    continue
                turns_on[("turns on",)] = len(out)
                text = (f"whether the request can be certified turns on {_with_the(self.missing_phrase(open_on))}, "
                        f"which the record does not document")
                out.append(Reason((r.id,), r.outcome, text))
                continue
            if r.outcome == NOT_DOCUMENTED and self._undetermined_when(c, r):
                key = (tuple(c.when), r.missing)
                if key in turns_on:
                    i = turns_on[key]
                    out[i] = out[i].also(r.id)
                    continue
                turns_on[key] = len(out)
                text = (f"whether the request can be certified turns on whether {join(list(c.when))}, "
                        f"which the record does not document")
                out.append(Reason((r.id,), r.outcome, text))
                continue
            out.append(Reason((r.id,), r.outcome, self.reason(r, sources)))
        return out

    def deciding(self, result: GuidelineResult) -> list[CriterionResult]:
        """The reasons that decide: a criterion left open only because its `when` is undocumented
        does not, once another criterion fails outright (3 ESI levels fail whatever the
        approach), so the rationale does not name the fact it turns on; "what would change
        it" still lists every criterion."""
        reasons = list(result.reasons)
        if all(r.outcome == NOT_DOCUMENTED for r in reasons):
            return reasons
        return [r for r in reasons
                if not (r.outcome == NOT_DOCUMENTED and self._undetermined_when(self.criteria[r.id], r))]

    def presumptions(self, result: GuidelineResult, reasons: list[Reason]) -> list[str]:
        """Each presumption that decided, once, as a reviewer states it (never as what "the record shows").

        A history read as none when silent: "No prior trigger point injections are
        documented; the request is reviewed as an initial request for trigger point
        injections." A finding presumed absent: "No aberrant drug-related behavior is
        documented." A detail checked only when stated and a silent exclusion get no sentence.
        """
        out: list[str] = []
        histories: list[str] = []  # "no X are documented", each history read as none: one sentence for all
        for p in result.presumptions:
            label = no_article(p.label or p.fact.replace("_", " "))
            kind = p.kind
            if kind == "none_when_silent":
                clause = _none_documented(label)
                if not histories:
                    out.append("")  # the sentence's place, written below once every history is known
                if clause not in histories:
                    histories.append(clause)
            elif kind == "presumed_absent":
                out.append(sentence(_none_documented(label)))
            # detail_unstated: a detail checked only when stated that the request leaves out has
            # no sentence (the criteria reading it do not apply); a *required* detail is a reason,
            # "the request does not specify ...", said by reason().
        if histories:
            title = lower_start(self.info.title)
            out[out.index("")] = sentence(f"{join(histories)}; the request is reviewed as an initial request "
                                          f"for {title}")
        return list(dict.fromkeys(out))

    def _reads_only_product(self, r: CriterionResult) -> bool:
        """The criterion reads only facts taken from the requested product: only another product changes it."""
        names = [fv.name for fv in r.read]
        return bool(names) and all(n in self.facts and self.facts[n].from_product for n in names)

    def _exclusion_remedy(self, r: CriterionResult, said: str) -> Optional[str]:
        """What would change an exclusion that applies: another request or product, where it reads only those.

        An exclusion that turns on the patient's own findings or history (a
        diagnosis, a contraindication, evidence of diversion) names nothing the
        record could add, so it gets no line: a letter does not ask for
        documentation that the patient's condition is otherwise.
        """
        facts = [self.facts.get(fv.name) for fv in r.read]
        if not facts or any(f is None or not (f.detail or f.from_product) for f in facts):
            return None
        if all(f is not None and f.from_product for f in facts):
            return sentence(f"A different product, since {said}")
        return sentence(f"A different request, since {said}")

    def remedies(self, result: GuidelineResult) -> list[str]:
        """What documentation would have to be present, one line per distinct need.

        None at all where an exclusion that applies turns on the patient's own
        condition, or where too much time has passed since a documented date
        (post-operative TENS more than 30 days after the surgery): then no
        documentation would change the determination, and listing the other
        criteria's needs would say it could.
        """
        out: list[str] = []
        asked: set[str] = set()  # the facts a line already asks for
        for r in result.reasons:
            c = self.criteria[r.id]
            statement = lower_start(c.statement)
            negated = c.shape.kind == "no_finding" and not c.exclude  # `not radiculopathy`
            absence = f"the absence of {no_article(self.label(c.shape.fact))}" if negated else ""
            if negated and self.facts[c.shape.fact].detail and r.outcome != NOT_DOCUMENTED:
                line = sentence(f"A request for {statement}")  # what was requested: another request changes it
            elif c.shape.kind == "elapsed" and c.shape.op in ("<=", "<") and r.outcome != NOT_DOCUMENTED \
                    and c.shape.to_request:
                return []  # too long since the documented date: nothing the record could add changes that
            elif negated and r.outcome == NOT_DOCUMENTED:
                line = sentence(f"Documentation of {absence}")  # not "Documentation of radiculopathy"
            elif negated:
                line = sentence(absence)  # the finding is documented: only its absence would change it
            elif r.outcome == NOT_DOCUMENTED and r.missing and all(self._table_miss(m) for m in r.missing):
                line = self._table_remedy(r.missing)
                if line in out:
                    continue
            elif r.outcome == NOT_DOCUMENTED and r.missing and all(self._is_detail(m) for m in r.missing):
                line = sentence(f"A request that states the {self.missing_phrase(r.missing)}")  # not the record's
            elif r.outcome == NOT_DOCUMENTED and not r.missing:
                line = sentence(f"Documented values that allow the criterion of {statement} to be determined")
            elif r.outcome == NOT_DOCUMENTED and self._undetermined_when(c, r):
                if set(r.missing) <= asked:  # another line already asks for them
                    continue
                line = sentence(f"Documentation of {self.missing_phrase(r.missing)}, or that there were none")
            elif r.outcome == NOT_DOCUMENTED and c.exclude:
                line = sentence(f"Documentation of {self.missing_phrase(r.missing)}, to rule out the exclusion "
                                f"({statement if c.said else 'not recommended with ' + statement})")
            elif r.outcome == NOT_DOCUMENTED and c.shape.disjunctive:
                any_of = "any of: " if len(r.missing) > 1 else ""  # not "any of" one thing
                line = sentence(f"Documentation of {any_of}{self.missing_phrase(r.missing, 'or')}")
            elif r.outcome == NOT_DOCUMENTED and c.said and len(r.missing) >= 3 and not c.exclude:
                line = sentence(_documentation_of(statement))  # as reason() words it
            elif r.outcome == NOT_DOCUMENTED:
                line = sentence(f"Documentation of {self.missing_phrase(r.missing)}")
            elif c.exclude:
                line = self._exclusion_remedy(r, statement if c.said else f"the treatment is not recommended "
                                                                          f"when there are {statement}")
                if line is None:  # nothing the record could add changes it: no other line would either
                    return []
            elif self._reads_only_product(r):
                line = sentence(f"A different product that meets the criterion: {statement}")
            elif statement.startswith(("documentation of ", "documentation that ", "documented ")):
                line = sentence(statement)
            elif c.allows_fewer or (c.shape.kind == "limit"
                                    and _kind(self._fact(c.shape.fact)) == "count"):
                line = sentence(f"A request for {statement}")  # a count is changed by asking for less
            elif " documented" in statement:  # "functional improvement documented with ...": says it already
                line = sentence(statement)
            else:
                line = sentence(f"Documentation showing {statement}")
            if line not in out:
                out.append(line)
            if r.outcome == NOT_DOCUMENTED:
                asked.update(r.missing)
        return out


#: Where a noun phrase's head ends: a preposition, a relative word, a participle that follows the head
#: ("visits already given ...", "injections requested per session"), a parenthesis or a comma.
_HEAD_ENDS = re.compile(r" (?:of|with|by|for|from|to|in|on|at|after|before|since|during|within|per|that|which|"
                        r"already|given|taken|done|completed|requested|received|performed)\b|[(,;:]")


def _words(text: str) -> str:
    """Text compared word for word: lower case, one space, no closing punctuation.

    An exclusion whose `says` the guideline's `states` already contains word for
    word is not said a second time after it.
    """
    return " ".join(text.lower().split()).rstrip(".;:")


_STEM_SKIP = frozenset({"that", "with", "have", "from", "this", "which", "their", "there"})


def _stems(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"[a-z]{4,}", text.lower()) if w not in _STEM_SKIP}


def _restates(statement: str, missing: str) -> bool:
    """Whether a criterion's statement mostly repeats the facts it misses (most of its words, by their first
    five letters, are theirs): "needed to establish" it would then say the same thing twice."""
    if no_article(statement).startswith(no_article(missing)):  # "an acute exacerbation of X (or, for ...)"
        return True
    words = _stems(statement)
    return bool(words) and len(words & _stems(missing)) >= 0.6 * len(words)


def _documentation_of(statement: str) -> str:
    """"documentation of X" for a criterion's statement ("documentation that ..." for a clause), without a
    "documented" or "evidence of" of its own."""
    for lead in ("documented evidence of ", "documentation of ", "evidence of "):
        if statement.startswith(lead):
            statement = statement[len(lead):]
            break
    return f"documentation {statement}" if statement.startswith("that ") else f"documentation of {statement}"


def _none_documented(label: str) -> str:
    """"no X is documented" / "no Xs are documented", in the label's number."""
    return f"no {label} {'are' if is_plural(label) else 'is'} documented"


def missing_of(result: GuidelineResult, reason: Reason) -> list[str]:
    """What the record does not document, for the criteria a reason stands for (first use first)."""
    by_id = {r.id: r for r in result.criteria}
    return list(dict.fromkeys(m for cid in reason.criteria for m in by_id[cid].missing))


def _with_the(phrase: str) -> str:
    """A noun phrase with "the" before it, unless it has an article of its own ("a current NSAID prescription")."""
    return phrase if phrase.startswith(("a ", "an ", "the ")) else f"the {phrase}"


def _documented(label: str) -> str:
    """A finding's label after "the record documents": without a "documentation of" or "a record of" of its own."""
    for lead in ("documentation of ", "a record of "):
        if label.startswith(lead):
            return label[len(lead):]
    return label


def _singular(label: str) -> str:
    """A plural count label for a count of 1, by its head noun: "levels to be injected" -> "level to be injected"."""
    m = _HEAD_ENDS.search(label)
    head = label[:m.start()].rstrip() if m else label
    rest = label[len(head):]
    words = head.split(" ")
    last = words[-1]
    if last.endswith("ies") and len(last) > 4:
        words[-1] = last[:-3] + "y"
    elif last.endswith("s") and not last.endswith("ss"):
        words[-1] = last[:-1]
    return " ".join(words) + rest


def _unrequested(label: str) -> str:
    """A count's label after "the request is for N": "visits requested" reads "visits",
    "injections requested per session" reads "injections per session"."""
    return re.sub(r" requested\b", "", label, count=1)


def is_plural(label: str) -> bool:
    """Whether a noun phrase is plural, judged by its head noun: the last word before its first
    preposition or parenthesis ("issues of abuse": yes; "history of peptic ulcer": no)."""
    head = _HEAD_ENDS.split(label, maxsplit=1)[0].split()
    word = head[-1].lower() if head else ""
    return word.endswith("s") and not word.endswith(("ss", "us", "is"))


def _label(info: Optional[FieldInfo], default: str) -> str:
    """The label of a fact or field, or `default` when the pack does not declare it."""
    return info.label if info is not None and info.label is not None else default


def _kind(info: Optional[FieldInfo]) -> Optional[str]:
    return info.kind if info is not None else None


def no_article(label: str) -> str:
    """"no a pain assessment" reads wrong: drop a leading article after "no"."""
    for article in ("a ", "an ", "the "):
        if label.startswith(article):
            return label[len(article):]
    return label


def _pages(pages) -> str:
    if not pages:
        return ""
    return ("pages " if ("-" in pages or "," in pages) else "page ") + pages


def _relation(left, right, op: str) -> str:
    """How a value that fails `left op right` stands to the limit: "more than", "less than", "equal to"."""
    if right is not None:
        try:
            if left == right:
                return "equal to"
            return "more than" if left > right else "less than"
        except TypeError:  # durations compare on the calendar only; say what the criterion needed
            pass
    return {"<=": "more than", "<": "not less than", ">=": "less than", ">": "not more than",
            "=": "other than", "!=": "equal to"}[op]


def _undocumented(label: str) -> str:
    """`documented X` reads twice in "no documentation of ...": drop the first."""
    for prefix in ("documented evidence of ", "documented "):
        if label.startswith(prefix):
            return label[len(prefix):]
    return label


__all__ = ["Explainer", "Reason", "format_value", "format_date", "join", "sentence"]
