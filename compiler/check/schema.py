"""`mtus schema`: a JSON Schema (draft 2020-12) for case files of a pack.

Generated from the facts the pack's guidelines declare, so editors and
claims-system exports can validate a case before it reaches a reviewer.
"""

from __future__ import annotations

from typing import Mapping

from mtus.compiler.check.info import FieldInfo, GuidelineInfo

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
            "date": dict(_DATE, description="the review date; time is counted from it"),
            "request": request,
            "requests": {"type": "array", "minItems": 1, "items": request},
            "facts": {"type": "object", "properties": dict(sorted(facts.items())), "additionalProperties": False},
        },
        "oneOf": [{"required": ["request"]}, {"required": ["requests"]}],
    }
