"""The OpenAPI 3.1 description of `mtus serve` (GET /openapi.json), with the pack's case schema and the letter schema."""

from __future__ import annotations

from mtus.compiler.check.pack import Pack, compiler_version
from mtus.compiler.check.schema import case_schema, output_schema

_ERROR = {
    "type": "object", "required": ["error", "request_id"],
    "properties": {
        "request_id": {"type": "string"},
        "error": {"type": "object", "required": ["status", "message", "problems"], "properties": {
            "status": {"type": "integer"}, "message": {"type": "string"}, "hint": {"type": ["string", "null"]},
            "problems": {"type": "array", "description": "the case's problems as `mtus check` lists them, or "
                                                         "the guideline's diagnostics as `mtus lint --format json`",
                         "items": {"type": "object"}},
            "text": {"type": "string", "description": "the problems as `mtus check` prints them"},
            "letter": {"$ref": "#/components/schemas/Letter"}}}},
}


def _errors(*codes: int) -> dict:
    words = {400: "a bad query option", 404: "not found", 413: "the body is over the limit",
             422: "the case cannot be used, or no item was decided", 503: "busy, or over the time limit"}
    return {str(c): {"description": words[c], "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}} for c in codes}


def _query(name: str, values: list, default, what: str) -> dict:
    return {"name": name, "in": "query", "required": False, "description": what,
            "schema": {"enum": values, "default": default}}


_FORMAT = _query("format", ["json", "text", "markdown"], "json", "the letter's format (`mtus check --format`)")
_WORDING = _query("wording", ["imr", "ur"], "imr", "IMR: upheld/overturned; UR: certified/not certified")
_EXPLAIN = _query("explain", ["true", "false"], "false", "add the per-criterion trace (`--explain`)")
_STRICT = _query("strict", ["true", "false"], "false", "warnings about the case are errors (`--strict`)")
_TEXT = {"schema": {"type": "string"}}


def openapi(pack: Pack) -> dict:
    """The description; the case schema is this pack's (`mtus schema`), the letter's is `mtus schema --output letter`."""
    case_body = {"required": True, "description": "a case file, as `mtus check` reads it (docs/case-files.md)",
                 "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Case"}},
                             "application/yaml": {"schema": {"type": "string"}}}}
    letter = {"200": {"description": "the determination letter", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Letter"}},
        "text/plain": _TEXT, "text/markdown": _TEXT}}}
    gid = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "mtus decision API", "version": compiler_version(),
                 "description": f"Decides MTUS treatment requests with the pack {pack.label()}. "
                                "Every answer carries an X-Request-ID header (a client's own is kept)."},
        "paths": {
            "/v1/check": {"post": {"summary": "Decide a case: the letter of `mtus check`",
                                   "parameters": [_FORMAT, _WORDING, _EXPLAIN, _STRICT], "requestBody": case_body,
                                   "responses": {**letter, **_errors(400, 413, 422, 503)}}},
            "/v1/check/jsonl": {"post": {
                "summary": "Decide many cases: JSON Lines in, one record per line out (`mtus check --jsonl`), streamed",
                "parameters": [dict(_FORMAT, description="each record's `letter` (null unless given)"), _WORDING,
                               _EXPLAIN, _STRICT],
                "requestBody": {"required": True, "content": {"application/x-ndjson": _TEXT}},
                "responses": {"200": {"description": "one record per input line", "content": {
                    "application/x-ndjson": {"schema": {"$ref": "#/components/schemas/JsonlRecord"}}}},
                    **_errors(400, 413, 503)}}},
            "/v1/guidelines": {"get": {"summary": "The pack's guidelines: id, title, citation, edition, services",
                                       "responses": {"200": {"description": "the list", "content": {
                                           "application/json": {"schema": {"type": "object"}}}}}}},
            "/v1/guidelines/{id}": {"get": {
                "summary": "One guideline: citation, edition, criteria in prose, facts with types and what silence "
                           "means (`mtus rationale --format json`)", "parameters": [gid],
                "responses": {"200": {"description": "the guideline", "content": {
                    "application/json": {"schema": {"type": "object"}}}}, **_errors(404)}}},
            "/v1/guidelines/{id}/source": {"get": {
                "summary": "A bundled guideline's .mtus source (when the server runs the bundled pack)",
                "parameters": [gid], "responses": {"200": {"description": "the source", "content": {
                    "text/plain": _TEXT}}, **_errors(404)}}},
            "/v1/template/{item}": {"get": {
                "summary": "A fill-in case file for a request item, CPT code, drug or guideline id (`mtus template`)",
                "parameters": [{"name": "item", "in": "path", "required": True, "schema": {"type": "string"}},
                               _query("format", ["yaml", "json"], "yaml", "the YAML, or JSON with the routed guideline")],
                "responses": {"200": {"description": "the template", "content": {
                    "application/yaml": _TEXT, "application/json": {"schema": {"type": "object"}}}},
                    **_errors(400, 404)}}},
            "/v1/playground": {"post": {
                "summary": "The playground: lint a guideline's source and decide a case with it (reference interpreter, "
                           "in a worker process with a time and memory limit)",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"source": {"type": "string"}, "case": {"type": "string"},
                                                     "wording": {"enum": ["imr", "ur"]}}}}}},
                "responses": {"200": {"description": "diagnostics (as `mtus lint --format json`), the case's problems, "
                                                     "and the letter as JSON, text and markdown (null until both check)",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              **_errors(400, 413, 422, 503)}}},
            "/": {"get": {"summary": "The playground and reviewer's form (an HTML page)", "responses": {
                "200": {"description": "the page", "content": {"text/html": _TEXT}}}}},
            "/health": {"get": {"summary": "Liveness, the mtus version and the pack", "responses": {
                "200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
            "/openapi.json": {"get": {"summary": "This description", "responses": {
                "200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        },
        "components": {"schemas": {"Case": case_schema(pack.infos), "Letter": output_schema("letter"),
                                   "JsonlRecord": output_schema("jsonl"), "Error": _ERROR}},
    }
