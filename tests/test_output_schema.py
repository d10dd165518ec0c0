"""`mtus schema --output letter|jsonl`: the output's JSON Schemas hold for real output, and document every field."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner

from mtus.compiler.check import api
from mtus.compiler.check.batch import check_stream
from mtus.compiler.check.casefile import read_case_file
from mtus.compiler.check.runtime import to_json_value
from mtus.compiler.check.schema import JSONL_SCHEMA, LETTER_SCHEMA
from mtus.compiler.tools.cli import main
from tests.conftest import ROOT

# In the test extra (CI installs it); a developer venv made before it was added skips rather than fails to collect.
Draft202012Validator = pytest.importorskip("jsonschema").Draft202012Validator

CASES = sorted(p for d in (ROOT / "tests" / "cases").iterdir() if d.is_dir() and d.name != "bad"
               for p in d.iterdir())
MODIFIED = ROOT / "tests" / "cases" / "physical_medicine" / "modified_additional_visits.yaml"


def _properties(schema: dict, where: str = "$"):
    """Every (path, property schema) of the schema's objects."""
    for name, prop in schema.get("properties", {}).items():
        yield f"{where}.{name}", prop
        yield from _properties(prop, f"{where}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _properties(schema[key], f"{where}[]")
    for i, alt in enumerate(schema.get("oneOf", [])):
        yield from _properties(alt, f"{where}|{i}")


@pytest.mark.parametrize("schema", [LETTER_SCHEMA, JSONL_SCHEMA], ids=["letter", "jsonl"])
def test_the_schema_is_valid_and_documents_every_field(schema):
    Draft202012Validator.check_schema(schema)
    undocumented = [path for path, prop in _properties(schema) if not prop.get("description")]
    assert undocumented == []


def test_partial_certification_is_documented():
    modified = LETTER_SCHEMA["properties"]["requests"]["items"]["oneOf"][0]["properties"]["modified"]
    assert "partial certification" in modified["description"]
    assert JSONL_SCHEMA["properties"]["requests"]["items"]["properties"]["modified"] == modified


@pytest.mark.parametrize("explain", [False, True])
def test_every_case_letter_matches_the_letter_schema(source_pack, explain):
    validator = Draft202012Validator(LETTER_SCHEMA)
    for path in CASES + [MODIFIED]:
        data = json.loads(api.render(api.check_case(str(path), source_pack), "json", explain=explain))
        errors = [e.message for e in validator.iter_errors(data)]
        assert errors == [], path
    data = json.loads(api.render(api.check_case(str(MODIFIED), source_pack), "json"))
    assert data["requests"][0]["modified"]["certified"] < data["requests"][0]["modified"]["requested"]


def _lines() -> list[str]:
    lines = [json.dumps(read_case_file(str(p)), default=to_json_value) for p in CASES + [MODIFIED]]
    lines += ['{"case": "bad-date", "date": "2014-02-30", "request": {"item": "trigger point injection"}}',
              "{not json", "[1, 2]", '{"case": 7, "date": "2015-03-02", "request": {"item": "ESI"}, '
                                     '"facts": {"radiculopathy": "present"}}']
    return lines


@pytest.mark.parametrize("flags", [{}, {"explain": True}, {"letter": "text"}, {"letter": "json", "explain": True},
                                   {"strict": True}, {"wording": "ur"}],
                         ids=["plain", "explain", "text", "json-explain", "strict", "ur"])
def test_every_record_has_one_shape_whatever_the_flags(source_pack, flags):
    out = io.StringIO()
    check_stream(_lines(), out, source_pack, **flags)
    records = [json.loads(x) for x in out.getvalue().splitlines()]
    validator = Draft202012Validator(JSONL_SCHEMA)
    for r in records:
        assert [e.message for e in validator.iter_errors(r)] == [], r
        assert set(r) == set(JSONL_SCHEMA["properties"])
    errors = {r["case"]: r for r in records if r["error"] is not None}
    assert errors["bad-date"]["line"] == len(CASES) + 2  # the error record carries the case id and line
    assert None in errors  # the lines without a readable case id
    if flags.get("letter") == "json":
        assert Draft202012Validator(LETTER_SCHEMA).is_valid(records[0]["letter"])
    if flags.get("letter") == "text":
        assert records[0]["letter"].startswith("Independent Medical Review")
    decided = [r for r in records if r["error"] is None]
    assert any(q["outcome"] == "modified" and q["modified"] for r in decided for q in r["requests"])
    assert all((q["criteria"] is not None) == bool(flags.get("explain")) for r in decided for q in r["requests"])


def test_the_cli_prints_the_schemas(monkeypatch):
    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    assert json.loads(runner.invoke(main, ["schema", "--output", "letter"]).stdout) == LETTER_SCHEMA
    assert json.loads(runner.invoke(main, ["schema", "--output", "jsonl"]).stdout) == JSONL_SCHEMA
    r = runner.invoke(main, ["schema", "--output", "jsonl", "--guideline", "tpi"])
    assert r.exit_code == 2 and "apply to the case schema only" in r.stderr


def test_format_is_honoured_with_jsonl(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    src = tmp_path / "cases.jsonl"
    src.write_text(json.dumps(read_case_file("docs/examples/seed-2014-12-18.yaml"), default=to_json_value) + "\n")
    runner = CliRunner()
    plain = json.loads(runner.invoke(main, ["check", "--jsonl", str(src)]).stdout)
    assert plain["letter"] is None
    text = json.loads(runner.invoke(main, ["check", "--jsonl", str(src), "--format", "text"]).stdout)
    assert "Determination: UPHELD." in text["letter"]
    md = json.loads(runner.invoke(main, ["check", "--jsonl", str(src), "--format", "markdown"]).stdout)
    assert md["letter"].startswith("# Independent Medical Review")
    js = json.loads(runner.invoke(main, ["check", "--jsonl", str(src), "--format", "json"]).stdout)
    assert js["letter"]["requests"][0]["determination"] == "upheld"
    assert set(plain) == set(text) == set(js)


def test_items_no_guideline_decides_match_both_schemas(source_pack):
    """Item-level "not addressed" results: the letter's entry and the batch record keep their documented shapes."""
    path = ROOT / "tests" / "data" / "items" / "mixed.yaml"
    letter = json.loads(api.render(api.check_case(str(path), source_pack), "json"))
    assert [e.message for e in Draft202012Validator(LETTER_SCHEMA).iter_errors(letter)] == []
    assert any(r["outcome"] == "not addressed" for r in letter["requests"])
    out = io.StringIO()
    check_stream([json.dumps(read_case_file(str(path)), default=to_json_value)], out, source_pack)
    (record,) = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [e.message for e in Draft202012Validator(JSONL_SCHEMA).iter_errors(record)] == []
    missing = [r for r in record["requests"] if r["guideline"] is None]
    assert missing and all(r["not_addressed"]["reason"] and r["certified"] is None for r in missing)
    assert {tuple(sorted(r)) for r in record["requests"]} == {tuple(sorted(JSONL_SCHEMA["properties"]["requests"]
                                                                          ["items"]["properties"]))}
