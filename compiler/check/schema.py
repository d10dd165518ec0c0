"""`mtus schema`: a JSON Schema (draft 2020-12) for case files of a pack.

Generated from the facts the pack's guidelines declare, so editors and
claims-system exports can validate a case before it reaches a reviewer.
"""

from __future__ import annotations

from mtus.compiler.check.info import FieldInfo, GuidelineInfo

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Mapping, Optional

_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "description": "a date, YYYY-MM-DD"}


def value_schema(schema: FieldInfo) -> dict:
    kind = schema.kind
    label = schema.label
    if kind == "finding":
        out = {"oneOf": [{"type": "boolean"}, {"enum": ["present", "absent"]}]}
    elif kind == "count":
        out = {"type": "integer", "minimum": 0}
    elif kind == "number":
        out = {"type": ["number", "string"]}
    elif kind == "percent":
        out = {"oneOf": [{"type": "number", "minimum": 0, "maximum": 100},
                         {"type": "string", "pattern": r"^\d+(\.\d+)?\s*%$"}]}
    elif kind == "quantity":
        out = {"oneOf": [{"type": "number", "minimum": 0},
                         {"type": "string", "pattern": r"^\d+(\.\d+)?\s*" + schema.unit.replace("/", r"\/") + "$"}],
               "description": f"in {schema.unit}"}
    elif kind == "duration":
        out = {"type": "string", "pattern": r"^\d+\s*(day|days|week|weeks|month|months|year|years)$"}
    elif kind == "date":
        out = dict(_DATE)
    elif kind == "text":
        out = {"type": "string"}
    elif kind == "enum":
        out = {"enum": list(schema.members)}
    elif kind == "set":
        item = value_schema(schema.element)
        out = {"type": "array", "items": item}
    elif kind == "history":
        fields = {name: value_schema(f) for name, f in schema.fields.items()}
        out = {"type": "array", "maxItems": 1000,
               "items": {"type": "object", "properties": fields, "additionalProperties": False}}
    else:  # pragma: no cover - build/packinfo.py emits only the kinds above
        raise AssertionError(kind)
    if label and "description" not in out:
        out["description"] = label
    return out


def _fact(schema: FieldInfo) -> dict:
    plain = value_schema(schema)
    if schema.kind == "history":
        return plain
    wrapped = {"type": "object", "required": ["value"], "additionalProperties": False,
               "properties": {"value": plain, "source": {"type": "string", "description": "where it is documented"}}}
    return {"description": plain.get("description"), "anyOf": [plain, wrapped]}


def case_schema(infos: Mapping[str, GuidelineInfo]) -> dict:
    facts: dict = {}
    for gid in sorted(infos):
        for name, schema in infos[gid].facts.items():
            facts.setdefault(name, _fact(schema))
    request = {
        "type": "object", "required": ["item"], "additionalProperties": False,
        "properties": {
            "item": {"type": "string", "description": "the disputed treatment as written in the request"},
            "guideline": {"enum": sorted(infos), "description": "the guideline id, when the item does not name it"},
            "facts": {"type": "object", "properties": facts, "additionalProperties": False},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "mtus case file",
        "type": "object",
        "required": ["date"],
        "additionalProperties": False,
        "properties": {
            "case": {"type": ["string", "integer"], "description": "an id for the case"},
            "date": dict(_DATE, description="the date of the request for authorization; time is counted from it"),
            "request": request,
            "requests": {"type": "array", "minItems": 1, "items": request},
            "facts": {"type": "object", "properties": dict(sorted(facts.items())), "additionalProperties": False},
            "expected": {"type": ["object", "array"],
                         "description": "a casebook's expected determination (mtus test); mtus check ignores it"},
        },
        "oneOf": [{"required": ["request"]}, {"required": ["requests"]}],
    }


# ------------------------------------------------------------------ output
def _obj(description: str, properties: dict, required: Optional[list] = None) -> dict:
    """A closed object: every key documented, every key present unless `required` says otherwise."""
    return {"type": "object", "description": description, "additionalProperties": False,
            "required": sorted(properties) if required is None else required, "properties": properties}


def _t(kind, description: str, **more) -> dict:
    return dict({"type": kind, "description": description}, **more)


_NULL_OR_TEXT = ["string", "null"]

_PROBLEM = _obj("a problem with the case (or, in `warnings`, one that did not stop the decision)", {
    "severity": _t("string", "`error`, or `warning` for a fact no requested item's guideline reads",
                   enum=["error", "warning"]),
    "path": _t("string", "the case file (or `<stdin>`, or `line N` in batch mode)"),
    "key": _t("string", "the key path in the case, e.g. `facts.radiculopathy` or `requests[0].item`; "
                        "empty when the problem is the whole file"),
    "line": _t(["integer", "null"], "the line of the key in the case file; null when unknown (JSON input)"),
    "message": _t("string", "what is wrong"),
    "hint": _t(_NULL_OR_TEXT, "how to fix it, when there is a hint"),
})

_RECORD_PROBLEM = _obj("a problem with one batch line", {
    "key": _t("string", "the key path in the case (empty for the whole line: too long, not JSON)"),
    "message": _t("string", "what is wrong"),
    "hint": _t(_NULL_OR_TEXT, "how to fix it, when there is a hint"),
})

_MODIFIED = {"description": "partial certification: set when the determination is `modified` (the guideline "
                            "allows fewer units than requested and fewer would be certified); null otherwise",
             "oneOf": [{"type": "null"}, _obj("the units certified of those requested", {
                 "fact": _t("string", "the count fact that was reduced, e.g. `visits`"),
                 "certified": _t("integer", "how many would be certified", minimum=0),
                 "requested": _t("integer", "how many were requested", minimum=1)})]}

_CRITERION = _obj("one criterion's outcome on the case (--explain)", {
    "id": _t("string", "the criterion id in the guideline"),
    "outcome": _t("string", "`met`, `not met`, `not documented` or `not applicable` (its `when` does not hold); "
                            "exclusions may also be `applies` or `does not apply`"),
    "exclude": _t("boolean", "true for an exclusion (a reason not to treat), false for a criterion for use"),
    "read": {"type": "array", "description": "the facts it read",
             "items": _obj("a fact as the criterion read it", {
                 "name": _t("string", "the fact name (or `history.field`)"),
                 "value": {"description": "its value as JSON: text, number, true/false, a list, or null "
                                          "when not documented"},
                 "documented": _t("boolean", "false when the case does not document it")})},
    "missing": {"type": "array", "items": {"type": "string"},
                "description": "when not documented: the facts whose absence left it undecided"},
    "computed": {"type": "array", "description": "the values it computed rather than read (empty where its `when` "
                                                 "does not hold)",
                 "items": _obj("one computed value", {
                     "expr": _t("string", "the computed expression as the guideline writes it"),
                     "value": {"description": "its value: whole numbers as integers, other numbers as exact decimal "
                                              "strings, durations and dates as text; null when unknown"}})},
}, required=["id", "outcome", "exclude", "read", "missing"])
# Result fields the runtime adds later (e.g. presumptions) are allowed on criteria; the documented ones are checked.
_CRITERION["additionalProperties"] = True

_OUTCOME = _t("string", "the result in UR terms whatever the wording: `certified`, `not certified`, `modified` "
                        "for a partial certification, or `not addressed` for an item no guideline decides",
              enum=["certified", "not certified", "modified", "not addressed"])

_NOT_ADDRESSED = _obj("why no guideline decides the item", {
    "kind": _t("string", "why: e.g. no guideline governs it, none is in force on the date, or several"),
    "reason": _t("string", "the reason in words"),
    "hint": _t(_NULL_OR_TEXT, "what to do about it, when there is a hint"),
    "closest": {"type": "array", "description": "the closest guidelines, for a reviewer to choose from",
                "items": _obj("a close guideline", {"guideline": _t("string", "its id"),
                                                    "service": _t(_NULL_OR_TEXT, "the service name that came close")})},
})

_DETAIL = {"type": "object", "description": "what the item states besides the service (units requested, frequency, "
                                            "strength, dosing, approach, region, levels, length of use, purchase or rental, "
                                            "hours per week); "
                                            "only what it states"}

_DETERMINATION = _t("string", "the word the letter prints, lower-cased: `overturned`/`upheld` (IMR wording, which "
                              "decides a request as a whole: a partial certification is `upheld`) or "
                              "`certified`/`modified`/`not certified` (UR wording); `not addressed` or `not "
                              "decided` for an item no guideline decides",
                    enum=["overturned", "upheld", "certified", "not certified", "modified", "not addressed",
                          "not decided"])

_LETTER_REQUEST = _obj("the determination for one disputed request", {
    "item": _t("string", "the request item as written in the case"),
    "guideline": _t("string", "the id of the guideline it was routed to"),
    "title": _t("string", "the guideline's title"),
    "citation": _obj("where the guideline is published", {
        "source": _t("string", "the publication, e.g. MTUS Chronic Pain Medical Treatment Guidelines"),
        "section": _t(_NULL_OR_TEXT, "the section, when cited"),
        "pages": _t(_NULL_OR_TEXT, "the page or pages, when cited")}),
    "certified": _t("boolean", "true when medically necessary as requested (every applicable criterion met)"),
    "outcome": _OUTCOME,
    "determination": _DETERMINATION,
    "verdict": _t("string", "the sentence after the determination, naming the item"),
    "modified": _MODIFIED,
    "rationale": _obj("the decision rationale, as in the letter", {
        "statement": {"type": "array", "items": {"type": "string"},
                      "description": "what the guideline states and the criteria that apply, sentence by sentence"},
        "in_this_case": {"type": "array", "items": {"type": "string"},
                         "description": "\"In this case, ...\": the decisive reasons (at most three), and the part a "
                                        "partly supported request may have"},
        "closing": _t("string", "the closing sentence: the request is (not) medically necessary")}),
    "reasons": {"type": "array", "description": "every reason certification stops, in the guideline's order",
                "items": _obj("a criterion (or group of criteria) that is not met, not documented, or an exclusion "
                              "that applies", {
                                  "criterion": _t("string", "the id of the criterion the reason is named by"),
                                  "criteria": {"type": "array", "items": {"type": "string"},
                                               "description": "the ids of every criterion the reason stands for"},
                                  "outcome": _t("string", "their outcome"),
                                  "missing": {"type": "array", "items": {"type": "string"},
                                              "description": "the facts not documented, when that is the outcome"},
                                  "sentence": _t("string", "the reason as the letter words it")})},
    "what_would_change": {"type": "array", "items": {"type": "string"},
                          "description": "the documentation that would change a denial, one entry per criterion"},
    "edition": _obj("the edition of the guideline applied: the one in force on the request date", {
        "version": _t(_NULL_OR_TEXT, "the guideline's version (edition) as it declares it"),
        "in_force": {"oneOf": [{"type": "null"}, _obj("the dates of the requests the edition applies to", {
            "from": _t(_NULL_OR_TEXT, "the first date, YYYY-MM-DD; null: open"),
            "until": _t(_NULL_OR_TEXT, "the last date, YYYY-MM-DD; null: open")})],
            "description": "null when the guideline declares no period"}}),
    "mtus": _t("boolean", "true for an MTUS guideline; false for a source outside the MTUS (8 CCR 9792.25.1)"),
    "presumption_sentences": {"type": "array", "items": {"type": "string"},
                              "description": "each presumption that decided, as the letter states it, once"},
    "presumptions": {"type": "array", "description": "the presumptions the result rests on, each once, in the "
                                                     "guideline's order (how a silent record was read)",
                     "items": _obj("one presumption", {
                         "fact": _t("string", "the fact presumed (or history.field)"),
                         "kind": {"enum": ["none_when_silent", "presumed_absent", "detail_unstated",
                                           "exclusion_silent"],
                                  "description": "none_when_silent: a history read as none; presumed_absent: a finding "
                                                 "read as absent; detail_unstated: a request detail not stated, so "
                                                 "the criteria reading it do not apply; exclusion_silent: an "
                                                 "exclusion the record is silent on does not apply"},
                         "label": _t("string", "the fact's label"),
                         "criteria": {"type": "array", "items": {"type": "string"},
                                      "description": "the criteria whose outcome rests on it"}})},
    "turns_on": {"type": "array", "items": {"type": "string"},
                 "description": "when the result stays open after every reading of the undocumented findings and "
                                "one-of facts: the facts it turns on; empty otherwise"},
    "criteria": {"type": "array", "items": _CRITERION,
                 "description": "the full trace: every criterion's outcome, the facts it read, what it computed"},
    "sources": {"type": "object", "additionalProperties": {"type": "string"},
                "description": "fact name -> where the record documents it, as the case gave it"},
    "detail": _DETAIL,
})

_LETTER_NOT_ADDRESSED = _obj("an item no guideline of the pack decides: an item-level result, not an error", {
    "item": _t("string", "the request item as written in the case"),
    "guideline": _t("null", "no guideline decides it"),
    "certified": _t("null", "not decided"),
    "outcome": _OUTCOME,
    "determination": _DETERMINATION,
    "verdict": _t("string", "the sentence after the determination"),
    "not_addressed": _NOT_ADDRESSED,
    "detail": _DETAIL,
})

LETTER_SCHEMA = dict(_obj("`mtus check --format json`: a determination letter as data", {
    "format": _t("integer", "the letter format; bumped on any incompatible change", const=2),
    "case": _t(_NULL_OR_TEXT, "the case id, when the case gives one"),
    "summary": _t(_NULL_OR_TEXT, "the clinical case summary: the case's `summary`, or one made from `patient`; "
                                 "null when the case states neither"),
    "date": _t("string", "the date of the request for authorization, YYYY-MM-DD", pattern=r"^\d{4}-\d{2}-\d{2}$"),
    "wording": _t("string", "`imr` (Upheld/Overturned) or `ur` (certified/not certified)", enum=["imr", "ur"]),
    "pack": _obj("the rule pack that decided", {
        "name": _t("string", "its name"), "version": _t("string", "its version"),
        "sha256": _t("string", "the sha256 of its manifest: names the exact pack")}),
    "requests": {"type": "array", "items": {"oneOf": [_LETTER_REQUEST, _LETTER_NOT_ADDRESSED]},
                 "description": "one entry per disputed request: decided, or not addressed"},
    "warnings": {"type": "array", "items": _PROBLEM,
                 "description": "problems that did not stop the decision: facts no requested guideline reads"},
}), **{"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "mtus letter"})

_RECORD_REQUEST = _obj("the determination for one request of the line's case", {
    "item": _t("string", "the request item as written"),
    "guideline": _t(_NULL_OR_TEXT, "the id of the guideline it was routed to; null when not addressed"),
    "certified": _t(["boolean", "null"], "true when medically necessary as requested; null when not addressed"),
    "outcome": _OUTCOME,
    "determination": _DETERMINATION,
    "modified": _MODIFIED,
    "unmet": {"type": "array", "items": {"type": "string"},
              "description": "the ids of the criteria that stop certification, in the guideline's order"},
    "criteria": {"description": "with --explain: every criterion's outcome and the facts it read; null otherwise",
                 "oneOf": [{"type": "null"}, {"type": "array", "items": _CRITERION}]},
    "not_addressed": {"description": "for an item no guideline decides: why; null otherwise",
                      "oneOf": [{"type": "null"}, _NOT_ADDRESSED]},
})

JSONL_SCHEMA = dict(_obj("`mtus check --jsonl`: one record per non-blank input line, in input order; "
                         "every record has every key, whatever the flags", {
    "line": _t("integer", "the input line number (1-based, blank lines counted)", minimum=1),
    "case": _t(_NULL_OR_TEXT, "the case id, when the line has a readable one (error records too)"),
    "requests": {"type": "array", "items": _RECORD_REQUEST,
                 "description": "one entry per request; empty when the line is an error"},
    "warnings": {"type": "array", "items": _RECORD_PROBLEM,
                 "description": "problems that did not stop the decision: facts no requested guideline reads"},
    "letter": {"description": "with --format: the letter, as text (text, markdown) or as the letter object "
                              "(json, see `mtus schema --output letter`); null otherwise",
               "oneOf": [{"type": "null"}, {"type": "string"}, {"type": "object"}]},
    "error": {"description": "null when the line was decided; otherwise every problem found, and nothing was "
                             "decided", "oneOf": [{"type": "null"}, {"type": "array", "items": _RECORD_PROBLEM,
                                                                     "minItems": 1}]},
}), **{"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "mtus batch record"})


def output_schema(which: str) -> dict:
    """`mtus schema --output letter|jsonl`: the JSON Schema of --format json letters or of --jsonl records."""
    return {"letter": LETTER_SCHEMA, "jsonl": JSONL_SCHEMA}[which]
