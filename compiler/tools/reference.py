"""Per-guideline reference: `mtus rationale --format json`, and the docs site's guideline pages.

A page gives what a reviewer and a clinician need without the `.mtus` source:
the citation and edition, what the guideline states, its criteria in prose,
the facts it reads (type, values, what silence means, which criteria read
them), and its examples written as the case files `mtus check` reads, each
with the determination the guideline's own tests expect.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Iterable, Optional

from mtus.compiler.check.info import FieldInfo, GuidelineInfo
from mtus.compiler.check.rationale import sentence
from mtus.compiler.tools.template import _kind_text, _readers, _yaml_text, silence

#: The pack info keys `mtus rationale --format json` shows (the rest are for phrasing letters).
_GUIDELINE_KEYS = ("id", "title", "citation", "citation_text", "version", "services", "states")
_CRITERION_KEYS = ("id", "statement", "generated", "exclude", "when", "reads", "when_facts", "allows_fewer",
                   "citation", "line")


def guideline_json(info: GuidelineInfo) -> dict:
    """A guideline's rationale as data: its citation, criteria (with the facts each reads) and facts."""
    data = info.to_json()
    out = {k: data.get(k) for k in _GUIDELINE_KEYS}
    out["criteria"] = [{k: c.get(k) for k in _CRITERION_KEYS} for c in data["criteria"]]
    out["facts"] = {name: dict(schema, silence_means=silence(info, name)) for name, schema in data["facts"].items()}
    return out


# ------------------------------------------------------------------ pages
def _md(text: str) -> str:
    """Text for a Markdown table cell or line."""
    return text.replace("|", "\\|").replace("\n", " ")


def _services(info: GuidelineInfo) -> str:
    prefix = {"name": "", "cpt": "CPT ", "hcpcs": "HCPCS ", "class": "drug class ", "ingredient": "ingredient ", "form": "form "}
    return ", ".join(prefix.get(s.kind, "") + s.value for s in info.services)


def _criteria(info: GuidelineInfo) -> list[str]:
    """The criteria grouped as the rationale groups them: for use, only where ..., exclusions."""
    groups: list[tuple[str, list]] = [("Criteria for use (all must be met):",
                                       [c for c in info.criteria if not c.exclude and not c.when])]
    whens: list[tuple] = []
    for c in info.criteria:
        if c.when and not c.exclude and tuple(c.when) not in whens:
            whens.append(tuple(c.when))
    for when in whens:
        groups.append((f"Only where {' and '.join(when)}:",
                       [c for c in info.criteria if tuple(c.when) == when and not c.exclude]))
    groups.append(("Not recommended when:", [c for c in info.criteria if c.exclude]))
    out = []
    for title, chosen in groups:
        if not chosen:
            continue
        out += [f"**{title}**", ""]
        for n, c in enumerate(chosen, 1):
            reads = ", ".join(f"`{r}`" for r in c.reads)
            out.append(f"{n}. {_md(sentence(c.statement))} <small>(`{c.id}`"
                       + (f"; reads {reads}" if reads else "") + ")</small>")
        out.append("")
    return out


def _facts(info: GuidelineInfo) -> list[str]:
    out = ["| fact | what it is | type and values | if the record is silent | read by |", "|---|---|---|---|---|"]
    for name, schema in info.facts.items():
        kind = _kind_text(schema) + (" (a request detail)" if schema.detail else "")
        if schema.kind == "history" and schema.fields:
            kind += ": " + "; ".join(f"`{f}` {fs.label or f}" for f, fs in schema.fields.items())
        readers = ", ".join(f"`{r}`" for r in _readers(info, name))
        out.append(f"| `{name}` | {_md(schema.label or name)} | {_md(kind)} | {_md(silence(info, name))} "
                   f"| {readers} |")
    return out


def _value(v, schema: Optional[FieldInfo]) -> str:
    """An example's value as a case file writes it."""
    from mtus.dsl.model import Period

    kind = schema.kind if schema is not None else None
    if isinstance(v, bool):
        return "present" if v else "absent"
    if isinstance(v, Period):
        from mtus.compiler.check.runtime import Duration
        return str(Duration(v.months, v.days))
    if isinstance(v, (datetime.date,)):
        return v.isoformat()
    if isinstance(v, (int, Decimal)):
        return f"{v}%" if kind == "percent" else f"{v} {schema.unit}" if schema and kind == "quantity" else str(v)
    if isinstance(v, frozenset):
        return "[" + ", ".join(_yaml_text(x) for x in sorted(v)) + "]"
    if isinstance(v, tuple):  # history rows: tuples of (field, value) pairs
        fields = (schema.fields if schema is not None else None) or {}
        rows = ["{" + ", ".join(f"{k}: {_value(x, fields.get(k))}" for k, x in row) + "}" for row in v]
        return "[" + ", ".join(rows) + "]"
    return _yaml_text(str(v))


def _examples(g, info: GuidelineInfo) -> list[str]:
    out = []
    # An item naming a drug would fill the facts taken from the product: the examples give those themselves.
    item = next((s.value for s in info.services if s.kind == "name"), "the requested treatment")
    for ex in g.examples:
        if ex.modified:
            expect = f"modified: {ex.modified} certified"
        else:
            expect = "certified" if ex.certified else "not certified"
        failing = [f"`{cid}` {outcome}" for cid, outcome in ex.reasons]
        out += [f"### {_md(ex.name)}", "",
                f"Expected: **{expect}**" + (f" ({', '.join(failing)})" if failing else "") + ".", "",
                "```yaml",
                f"date: {ex.request_date.isoformat() if ex.request_date else 'YYYY-MM-DD'}",
                "request:", f"  item: {_yaml_text(item)}", f"  guideline: {info.id}"]
        if ex.facts:
            out.append("facts:")
            out += [f"  {name}: {_value(v, info.facts.get(name))}" for name, v in ex.facts]
        out += ["```", ""]
    return out


def page(g) -> str:
    """The reference page of one checked guideline (model.Guideline) for the docs site."""
    from mtus.compiler.build.packinfo import describe

    info = describe(g)
    gid = info.id
    edition = f" ({info.version} edition)" if info.version else ""
    out = [f"# {_md(info.title)}", "",
           f"`{gid}` · {_md(info.citation_text)}{edition}", ""]
    if info.services:
        out += [f"Governs request items naming: {_md(_services(info))}.", ""]
    if info.states:
        out += ['!!! quote "The guideline states"', "", "    " + _md(info.states), ""]
    out += ["## Criteria", ""] + _criteria(info)
    out += ["## Facts", "",
            f"The facts this guideline reads. `mtus template {gid}` prints them as a case file to fill in "
            "([Case files](../case-files.md)).", ""] + _facts(info) + [""]
    if g.examples:
        out += ["## Examples", "",
                "The guideline's own examples, written as case files; `mtus test` checks that the compiled "
                "guideline decides each as expected.", ""] + _examples(g, info)
    out += ["## Citation", "", f"{_md(info.citation_text)}{edition}. Encoded in `guidelines/{gid}.mtus`.", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def index_page(guidelines: Iterable) -> str:
    """The list of the bundled guidelines, each linked to its page."""
    out = ["# Guidelines", "",
           "The MTUS guidelines bundled with mtus. Each page gives the guideline's criteria in prose, the facts "
           "a case file gives it, its examples and its citation; `mtus template ID` prints a case file for it.",
           "", "| guideline | id | source |", "|---|---|---|"]
    for g in sorted(guidelines, key=lambda g: g.title.lower()):
        out.append(f"| [{_md(g.title)}]({g.id}.md) | `{g.id}` | {_md(g.citation.describe())} |")
    return "\n".join(out) + "\n"
