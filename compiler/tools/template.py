"""`mtus template`: a fill-in case file (YAML with comments) for one guideline of a pack.

A reviewer should not have to read `.mtus` source to write a case: the
template lists every fact the routed guideline reads, with its type, the
values it takes, its label, whether it is a request detail, and what a silent
record means for it, all taken from the pack info. Every fact line is
commented out: uncomment the ones the record documents, so that what is left
out stays *not documented*.
"""

from __future__ import annotations

import difflib
import textwrap
from typing import Optional

import attrs

from mtus.compiler.check.info import FactInfo, FieldInfo, GuidelineInfo
from mtus.compiler.check.pack import Pack

WIDTH = 88

#: Placeholder values by kind: something to overwrite, in the form the case reader accepts.
_PLACEHOLDER = {"finding": "present", "count": "1", "number": "0", "percent": "50%", "duration": "6 weeks",
                "date": "YYYY-MM-DD", "text": '"..."'}

#: What a silent record means, by the silence rule a fact declares (pack info "silence").
_SILENCE = {
    "required": "the request is incomplete: not certified until it is stated",
    "checked when stated": "not checked: the criteria that read it do not apply",
    "none when silent": "none: the request is reviewed as an initial one",
    "presumed absent when silent": "presumed absent (the letter says so where it decides)",
}


class TemplateError(Exception):
    """The item or guideline cannot be resolved to one guideline of the pack."""


@attrs.frozen
class Resolved:
    """The guideline a template is for, and the item as the reviewer wrote it (None for an id)."""

    guideline: str
    item: Optional[str]


def resolve(pack: Pack, item_or_id: str) -> Resolved:
    """A guideline id of the pack, or a request item routed as `mtus check` routes it."""
    if item_or_id in pack.guidelines:
        return Resolved(item_or_id, None)
    router = pack.reader().router
    matches = router.route(item_or_id, router.product(item_or_id))
    if len(matches) == 1:
        return Resolved(matches[0], item_or_id)
    ids = ", ".join(sorted(pack.guidelines))
    if matches:
        raise TemplateError(f'"{item_or_id}" matches several guidelines: {", ".join(matches)}; '
                            f"name one of them: mtus template {matches[0]}")
    names = {s.value.lower(): gid for gid, g in pack.guidelines.items() for s in g.info.services if s.kind == "name"}
    names.update({gid: gid for gid in pack.guidelines})
    close = dict.fromkeys(names[c] for c in difflib.get_close_matches(item_or_id.lower(), sorted(names), n=8,
                                                                      cutoff=0.5))
    hint = f"closest: {', '.join(close)}" if close else f"guidelines: {ids}"
    raise TemplateError(f'no guideline of the pack governs "{item_or_id}"; give the item as the request '
                        f"writes it, or a guideline id ({hint})")


def _kind_text(schema: FieldInfo) -> str:
    kind = schema.kind
    if kind == "finding":
        return "A finding: present or absent"
    if kind == "enum":
        return "One of: " + ", ".join(schema.members or ())
    if kind == "set":
        element = schema.element
        if element is not None and element.kind == "enum":
            return "A list of any of: " + ", ".join(element.members or ())
        return "A list of text"
    if kind == "quantity":
        return f"A quantity in {schema.unit}"
    if kind == "count":
        return "A count: a whole number, 0 or more"
    if kind == "percent":
        return "A percent: 0% to 100%"
    if kind == "duration":
        return "A length of time: days, weeks, months or years"
    if kind == "date":
        return "A date: YYYY-MM-DD"
    if kind == "history":
        return "A list of entries, one each"
    return f"A {kind}"


def _placeholder(schema: FieldInfo) -> str:
    kind = schema.kind
    if kind == "enum" and schema.members:
        return _yaml_text(schema.members[0])
    if kind == "set":
        element = schema.element
        return "[" + (_yaml_text(element.members[0]) if element and element.members else '"..."') + "]"
    if kind == "quantity":
        return f"0 {schema.unit}"
    return _PLACEHOLDER.get(kind, '"..."')


def _yaml_text(text: str) -> str:
    """Text as a YAML flow scalar: quoted when YAML would read it otherwise."""
    plain = text.replace(" ", "").replace("-", "").replace("/", "").isalnum() and not text[0].isdigit() and \
        text.lower() not in ("yes", "no", "true", "false", "on", "off", "null", "y", "n")
    return text if plain else '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def silence(info: GuidelineInfo, name: str) -> str:
    """What a record that says nothing about this fact means for the decision."""
    schema = info.facts[name]
    rule = schema.silence
    if rule in _SILENCE:
        return _SILENCE[rule]
    if schema.default is not None:
        return f"taken as {_default_text(schema.default, schema)}"
    if schema.from_product:
        return f"taken from the drug the item names ({schema.from_product})"
    readers = [c for c in info.criteria if name in c.reads or name in c.when_facts]
    # a silent exclusion does not apply (the runtime's reading since silence rules, issue 13)
    if readers and all(c.exclude for c in readers):
        return "the exclusion that reads it does not apply"
    if readers and all(name not in c.reads for c in readers):
        return "the criteria that depend on it are decided in every reading of it"
    return "not documented, so the criteria that read it cannot be met"


def _default_text(value, schema: FactInfo) -> str:
    if isinstance(value, bool):
        return "present" if value else "absent"
    if isinstance(value, dict):
        return f"{value['months']} months {value['days']} days" if value.get("months") else f"{value['days']} days"
    if schema.kind == "percent":
        return f"{value}%"
    return str(value)


def _readers(info: GuidelineInfo, name: str) -> list[str]:
    return [c.id for c in info.criteria if name in c.reads or name in c.when_facts]


def _comment(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent + "# ", subsequent_indent=indent + "#   ")


#: What fills a fact declared `from item PART`, as the template says it.
_FROM_ITEM = {"quantity": 'quantity ("x4", "2x6")', "levels": 'spinal levels ("L4-5 and L5-S1": 2)',
              "length": 'length of use ("rental x30 days")', "purchase": 'word "purchase" or "rental"',
              "frequency": 'visits per week ("2x6": 2)', "hours": 'hours per week ("4 hrs/day x 5 days/week": 20)',
              "days": 'program days ("x10 days", "160 hours": 20)'}


def _fact_block(info: GuidelineInfo, name: str, indent: str) -> list[str]:
    schema = info.facts[name]
    label = schema.label or name
    out = _comment(label[:1].upper() + label[1:] + ".", indent)
    what = ("A request detail. " if schema.detail else "") + _kind_text(schema) + "."
    readers = _readers(info, name)
    if readers:
        what += " Read by " + ", ".join(readers) + "."
    out += _comment(what, indent)
    out += _comment(f"If the record is silent: {silence(info, name)}.", indent)
    part = schema.from_item
    if part in _FROM_ITEM:
        out += _comment(f"The item's {_FROM_ITEM[part]} gives it when the item states it; write it here only to "
                        "say otherwise.", indent)
    if schema.kind == "history" and schema.fields:
        out += _comment(f"`{name}: []` documents that there were none. The fields of an entry:", indent)
        for fname, f in schema.fields.items():
            kind = _kind_text(f)
            out += _comment(f"  {fname}: {f.label or fname} ({kind[:1].lower() + kind[1:]})", indent)
        entry = ", ".join(f"{fname}: {_placeholder(f)}" for fname, f in schema.fields.items())
        out += [f"{indent}# {name}:", f"{indent}#   - {{{entry}}}"]
    else:
        out.append(f"{indent}# {name}: {_placeholder(schema)}")
    return out + [""]


def _in_reading_order(info: GuidelineInfo, names: list[str]) -> list[str]:
    """Facts in the order the guideline's criteria first read them (as its page lists them), then the rest."""
    order: dict[str, int] = {}
    for c in info.criteria:
        for n in list(c.when_facts) + list(c.reads):
            order.setdefault(n, len(order))
    return sorted(names, key=lambda n: (order.get(n, len(order)), n))


def template(pack: Pack, item_or_id: str) -> str:
    """The fill-in case file for the guideline an item (or id) routes to. Raises TemplateError."""
    resolved = resolve(pack, item_or_id)
    return template_for(pack.guidelines[resolved.guideline].info, resolved.item)


def template_for(info: GuidelineInfo, item: Optional[str] = None) -> str:
    """The fill-in case file for one guideline; `item` as the request writes it (default: its first service name)."""
    gid = info.id
    names = _in_reading_order(info, list(info.facts))
    details = [n for n in names if info.facts[n].detail]
    record = [n for n in names if n not in details]
    item = item or _default_item(info)
    out = _comment(f"A case file for {info.title} ({gid}): {info.citation_text}.", "")
    out += _comment("Uncomment each fact the medical record documents and write its value; leave the others "
                    "commented out. A fact left out is not documented: each fact says what that means for the "
                    "decision. Then check it: mtus check THIS_FILE (docs/case-files.md).", "")
    out += [
        "case: my-case-id                 # printed on the letter",
        "date: YYYY-MM-DD                 # the date of the request for authorization: all time is counted from it",
        "# summary: >                     # optional: a clinical case summary, printed as written",
        "#   The injured worker is ...",
        "request:",
        f"  item: {_yaml_text(item)}",
        f"  guideline: {gid}",
    ]
    if details:
        out.append("  facts:                         # the request's details")
        for n in details:
            out += _fact_block(info, n, "    ")
    if record:
        out.append("facts:                           # what the medical record documents")
        for n in record:
            out += _fact_block(info, n, "  ")
    return "\n".join(out).rstrip("\n") + "\n"


def _default_item(info: GuidelineInfo) -> str:
    names = [s.value for s in info.services if s.kind == "name"]
    return names[0] if names else info.title
