"""`mtus template`: a fill-in case file per guideline, that `mtus check` reads once filled in."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from click.testing import CliRunner

from mtus.compiler.check import api
from mtus.compiler.check.casefile import parse_case_text
from mtus.compiler.check.runtime import evolve
from mtus.compiler.tools.cli import main
from mtus.compiler.tools.template import TemplateError, resolve, silence, template, template_for
from tests.conftest import ROOT


@pytest.fixture
def run(monkeypatch):
    monkeypatch.chdir(ROOT)
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)
    return invoke


def fill(text: str, date: str, **facts: str) -> str:
    """The template with its date written and the named facts uncommented with these values."""
    text = text.replace("date: YYYY-MM-DD", f"date: {date}", 1)
    for name, value in facts.items():
        text, n = re.subn(rf"^(\s*)# {name}:.*$", rf"\g<1>{name}: {value}", text, count=1, flags=re.M)
        assert n == 1, name
    return text


def test_every_guideline_template_lists_every_fact_it_reads(source_pack):
    for gid, g in source_pack.guidelines.items():
        text = template(source_pack, gid)
        data = yaml.safe_load(text)  # valid YAML as it is
        assert data["request"]["guideline"] == gid
        for name, schema in g.info.facts.items():
            assert re.search(rf"^\s*# {name}:", text, re.M), (gid, name)
            assert schema.label[1:] in " ".join(text.replace("#  ", "").split()), (gid, name)  # wrapped
        assert text.count("If the record is silent:") == len(g.info.facts)


def test_the_tpi_template_says_type_values_and_silence(source_pack):
    text = template(source_pack, "Trigger Point Injections Bilateral Paraspinous Thoracic")
    assert "  item: Trigger Point Injections Bilateral Paraspinous Thoracic\n  guideline: tpi\n" in text
    # the injectate is a request detail checked only when stated: it goes under the request
    block = text.split("    # Injected substance.\n", 1)[1].split("\n\n", 1)[0]
    assert block.splitlines()[0].startswith("    # A request detail. One of: local anesthetic, local anesthetic with")
    assert "# If the record is silent: not checked: the criteria that read it do not apply." in block
    assert block.splitlines()[-1] == "    # substance: local anesthetic"
    # facts come in the order the guideline's criteria read them: trigger points first, as on its page
    assert text.index("# substance:") < text.index("# twitch_response:") < text.index("# symptom_onset:")


def test_a_filled_in_template_checks(source_pack, tmp_path):
    text = template(source_pack, "tpi")
    empty = api.check_case(parse_case_text(fill(text, "2014-12-18"), "t.yaml"), source_pack)
    assert not empty.decisions[0].certified
    assert {r.outcome for r in empty.decisions[0].result.reasons} == {"not documented"}
    full = fill(text, "2014-12-18", twitch_response="present", referred_pain="present", symptom_onset="2014-01-02",
                conservative_care_failed="present", radiculopathy="absent", injections="3",
                substance="local anesthetic", prior_injections="[]", diagnoses="[lumbago]")
    letter = api.check_case(parse_case_text(full, "t.yaml"), source_pack)
    assert letter.decisions[0].certified and letter.case.warnings == ()


def test_the_cli_template_then_check_from_stdin(run):
    r = run("template", "esi")
    assert r.exit_code == 0 and "guideline: esi" in r.stdout
    filled = fill(r.stdout, "2015-03-02", radiculopathy_on_exam="present")
    checked = run("check", "-", "--format", "json", input=filled)
    assert checked.exit_code == 0, checked.stderr
    assert checked.stderr == ""  # a template never gives facts the guideline does not read
    assert json.loads(checked.stdout)["requests"][0]["guideline"] == "esi"


def test_items_route_as_check_routes_them(source_pack):
    assert resolve(source_pack, "Norco 10/325 #120").guideline == "opioids"
    assert resolve(source_pack, "CPT 20553").guideline == "tpi"
    with pytest.raises(TemplateError, match=r'no guideline of the pack governs "tpj".*closest: tpi'):
        resolve(source_pack, "tpj")


def test_an_unknown_item_exits_2(run):
    r = run("template", "injection")
    assert r.exit_code == 2 and r.stdout == ""
    assert 'error: no guideline of the pack governs "injection"' in r.stderr and "closest: esi, tpi" in r.stderr


def _with_rules(info, **rules):
    facts = dict(info.facts)
    for name, (rule, detail) in rules.items():
        facts[name] = evolve(facts[name], silence=rule, detail=detail)
    return evolve(info, facts=facts)


def test_silence_follows_the_declared_rule_first(source_pack):
    info = _with_rules(source_pack.guidelines["tpi"].info, prior_injections=("none when silent", False),
                       injections=("required", True), diagnoses=(None, False))
    assert silence(info, "prior_injections") == "none: the request is reviewed as an initial one"
    assert silence(info, "injections").startswith("the request is incomplete")
    assert silence(info, "diagnoses") == "the exclusion that reads it does not apply"


def test_request_details_go_under_the_request(source_pack):
    info = _with_rules(source_pack.guidelines["tpi"].info, injections=("required", True))
    text = template_for(info)
    request_part, record_part = text.split("\nfacts:", 1)
    assert "    # A request detail. A count: a whole number, 0 or more. Read by per_session." in request_part
    assert "    # injections: 1" in request_part and "# injections:" not in record_part


def test_schema_for_one_guideline(run):
    r = run("schema", "--guideline", "esi")
    assert r.exit_code == 0
    schema = json.loads(r.stdout)
    facts = schema["properties"]["facts"]["properties"]
    assert "radiculopathy_on_exam" in facts and "twitch_response" not in facts
    assert schema["properties"]["request"]["properties"]["guideline"] == {
        "enum": ["esi"], "description": "the guideline id, when the item does not name it"}
    assert len(r.stdout) < len(run("schema").stdout) / 5
    bad = run("schema", "--guideline", "tpj")
    assert bad.exit_code == 2 and "no guideline `tpj`" in bad.stderr


def _doc_blocks(lang: str) -> list[str]:
    text = (ROOT / "docs" / "case-files.md").read_text(encoding="utf-8")
    return re.findall(rf"```{lang}\n(.*?)```", text, re.S)


def test_the_docs_template_excerpt_is_what_template_prints(run):
    excerpt = _doc_blocks("yaml")[0]
    real = run("template", "Trigger Point Injections Bilateral Paraspinous Thoracic").stdout
    # what silence means follows the guidelines' declared rules, which may be refined: the rest must match
    for line in excerpt.splitlines():
        if line.strip() != "..." and "If the record is silent" not in line:
            assert line in real.splitlines(), line


def test_the_docs_filled_in_case_checks_as_the_seed_does(run, tmp_path):
    filled = _doc_blocks("yaml")[1]
    path = tmp_path / "case.yaml"
    path.write_text(filled)
    r = run("check", str(path), "--format", "json")
    assert r.exit_code == 0 and r.stderr == ""
    seed = run("check", "docs/examples/seed-2014-12-18.yaml", "--format", "json")
    assert json.loads(r.stdout)["requests"][0]["reasons"] == json.loads(seed.stdout)["requests"][0]["reasons"]


def test_the_docs_jsonl_records_are_real(run, tmp_path):
    shown = [json.loads(x) for x in _doc_blocks("json")[1].splitlines()]
    from mtus.compiler.check.schema import JSONL_SCHEMA

    for record in shown:
        assert set(record) == set(JSONL_SCHEMA["properties"])
    src = tmp_path / "cases.jsonl"
    src.write_text('\n{"case": "bad-date", "date": "2014-02-30", "request": {"item": "trigger point injection"}}\n')
    (bad,) = [json.loads(x) for x in run("check", "--jsonl", str(src)).stdout.splitlines()]
    assert bad == shown[1]
