"""Facts a case gives that its guidelines do not read (warnings, --strict), one meaning per fact name
in a pack (E408), and `mtus check --exit-code`."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from mtus.compiler.build.packwriter import build_pack
from mtus.compiler.check import api
from mtus.compiler.check.casefile import CaseError
from mtus.compiler.check.pack import CompileError
from mtus.compiler.tools.cli import main
from mtus.compiler.tools.lint import lint_paths
from mtus.dsl import diagnostics as diag
from tests.conftest import ROOT

# An ESI request written with trigger point injection fact names: the reviewer's mistake of issue 17.
ESI_WITH_TPI_FACTS = """\
case: esi-with-tpi-facts
date: 2015-03-02
request:
  item: Lumbar epidural steroid injection L4-5
facts:
  radiculopathy: present
  fluoroscopy: present
  prior_injections: []
"""


@pytest.fixture
def run(monkeypatch):
    monkeypatch.chdir(ROOT)
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)
    return invoke


@pytest.fixture
def esi_case(tmp_path):
    path = tmp_path / "esi.yaml"
    path.write_text(ESI_WITH_TPI_FACTS)
    return str(path)


def test_a_fact_no_requested_guideline_reads_is_a_warning_naming_who_reads_it(source_pack, esi_case):
    case = api.read_case(esi_case, source_pack)
    assert [w.key for w in case.warnings] == ["facts.radiculopathy", "facts.prior_injections"]
    first = case.warnings[0]
    assert first.severity == "warning" and first.line == 6
    assert first.render() == (
        f"{esi_case}:6: warning: facts.radiculopathy: `radiculopathy` is not a fact of esi (the requested item's "
        "guideline), so it is ignored; tpi reads it\n"
        "hint: did you mean `radiculopathy_on_exam` or `radiculopathy_corroborated`? "
        "`mtus template esi` lists the facts esi reads")
    assert "did you mean `prior_esis`?" in case.warnings[1].hint


def test_a_fact_some_requested_guideline_reads_is_not_reported(source_pack):
    case = api.read_case({"date": "2015-03-02", "requests": [{"item": "epidural steroid injection"},
                                                             {"item": "trigger point injection"}],
                          "facts": {"radiculopathy": "present", "fluoroscopy": "present"}}, source_pack)
    assert case.warnings == ()


def test_the_cli_warns_on_stderr_and_still_decides(run, esi_case):
    r = run("check", esi_case)
    assert r.exit_code == 0
    assert "Determination:" in r.stdout
    assert "warning: facts.radiculopathy:" in r.stderr and "tpi reads it" in r.stderr
    assert run("check", esi_case, "-q").stderr == ""


def test_the_json_letter_lists_the_warnings(run, esi_case):
    data = json.loads(run("check", esi_case, "--format", "json").stdout)
    assert [(w["key"], w["severity"], w["line"]) for w in data["warnings"]] == [
        ("facts.radiculopathy", "warning", 6), ("facts.prior_injections", "warning", 8)]
    assert json.loads(run("check", "docs/examples/seed-2014-12-18.yaml", "--format", "json").stdout)["warnings"] == []


def test_strict_makes_them_errors_and_exit_2(run, esi_case, source_pack):
    r = run("check", "--strict", esi_case)
    assert r.exit_code == 2 and r.stdout == ""
    assert f"{esi_case}:6: error: facts.radiculopathy: `radiculopathy` is not a fact of esi" in r.stderr
    assert "so it is ignored" not in r.stderr  # it is not: nothing is decided
    with pytest.raises(CaseError):
        source_pack.reader().read({"date": "2015-03-02", "request": {"item": "ESI"},
                                   "facts": {"radiculopathy": True}}, "<case>", strict=True)


def test_strict_in_batch_makes_the_line_an_error_record(run, tmp_path):
    lines = tmp_path / "cases.jsonl"
    lines.write_text(json.dumps({"case": "a", "date": "2015-03-02", "request": {"item": "ESI"},
                                 "facts": {"radiculopathy": "present"}}) + "\n")
    loose = json.loads(run("check", "--jsonl", str(lines)).stdout)
    assert loose["error"] is None and loose["warnings"][0]["key"] == "facts.radiculopathy"
    r = run("check", "--jsonl", str(lines), "--strict")
    strict = json.loads(r.stdout)
    assert r.exit_code == 2 and strict["case"] == "a" and strict["line"] == 1
    assert "not a fact of esi" in strict["error"][0]["message"]


def test_a_request_fact_of_another_guideline_names_the_guideline_that_reads_it(source_pack):
    with pytest.raises(CaseError) as e:
        api.read_case({"date": "2015-03-02", "request": {"item": "ESI", "facts": {"twitch_response": True}}},
                      source_pack)
    (p,) = e.value.problems
    assert p.key == "request.facts.twitch_response"
    assert p.message == "`twitch_response` is not a fact of esi; tpi reads it"
    assert p.hint == "`mtus template esi` lists the facts esi reads"


# ------------------------------------------------------------------ E408
def _docs_example() -> tuple[str, str, str]:
    """The two guidelines and the error shown in docs/diagnostics.md under E408."""
    text = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    section = text.split("## E408", 1)[1].split("\n## ", 1)[0]
    sources, error = re.findall(r"```text\n(.*?)```", section, re.S)
    a, b = sources.split("\n\n")
    return a + "\n", b, error.strip()


def test_a_fact_name_with_two_meanings_in_one_pack_is_e408_as_documented(tmp_path, monkeypatch):
    a, b, documented = _docs_example()
    folder = tmp_path / "guidelines"
    folder.mkdir()
    (folder / "a.mtus").write_text(a)
    (folder / "b.mtus").write_text(b)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CompileError) as e:
        build_pack(["guidelines"])
    ds = [d for r in e.value.results for d in r.diagnostics]
    assert [d.code for d in ds] == ["E408"]
    (d,) = ds
    assert d.notes[0].span.path == "guidelines/a.mtus" and d.notes[0].span.line == 4
    rendered = diag.render_text(ds, {r.source.path: r.source for r in e.value.results})
    assert rendered.splitlines()[0] == documented
    assert "hint: a case's facts give one value to every guideline reading `radiculopathy`" in rendered
    report = lint_paths(["guidelines"])
    assert report.exit_code == 1 and documented in report.output


def test_the_same_fact_declared_alike_is_no_conflict(tmp_path):
    a, _, _ = _docs_example()
    (tmp_path / "a.mtus").write_text(a)
    (tmp_path / "c.mtus").write_text(a.replace('guideline a "A"', 'guideline c "C"')
                                     .replace('finding "radiculopathy"', 'finding "radicular signs"'))
    assert build_pack([str(tmp_path)]).manifest["guidelines"] == ["a", "c"]


def test_a_different_default_is_a_conflict(tmp_path):
    a, _, _ = _docs_example()
    (tmp_path / "a.mtus").write_text(a)
    (tmp_path / "c.mtus").write_text(a.replace('guideline a "A"', 'guideline c "C"')
                                     .replace('finding "radiculopathy"', 'finding "radiculopathy" default absent'))
    with pytest.raises(CompileError) as e:
        build_pack([str(tmp_path)])
    (d,) = [d for r in e.value.results for d in r.diagnostics]
    assert d.code == "E408" and "guideline a declares it as a finding" in d.message


# ------------------------------------------------------------- --exit-code
def test_exit_code_reports_the_decision(run, tmp_path):
    assert run("check", "tests/cases/tpi/certified_first.yaml", "--exit-code").exit_code == 0
    assert run("check", "docs/examples/seed-2014-12-18.yaml").exit_code == 0  # a result, not an error
    upheld = run("check", "docs/examples/seed-2014-12-18.yaml", "--exit-code")
    assert upheld.exit_code == 1 and "UPHELD" in upheld.stdout
    assert run("check", "tests/cases/aquatic_therapy/modified_after_land_therapy.yaml", "--exit-code").exit_code == 1
    assert run("check", "tests/cases/bad/bad_date.yaml", "--exit-code").exit_code == 2
    assert run("check", "tests/cases/tpi/certified_first.yaml", "--exit-code", "--pack", "no/such").exit_code == 2


def test_exit_code_in_batch(run, tmp_path):
    from mtus.compiler.check.casefile import read_case_file
    from mtus.compiler.check.runtime import to_json_value

    def line(path):
        return json.dumps(read_case_file(path), default=to_json_value)

    good = tmp_path / "good.jsonl"
    good.write_text(line("tests/cases/tpi/certified_first.yaml") + "\n")
    assert run("check", "--jsonl", str(good), "--exit-code").exit_code == 0
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(line("tests/cases/tpi/certified_first.yaml") + "\n" + line("docs/examples/seed-2014-12-18.yaml"))
    assert run("check", "--jsonl", str(mixed)).exit_code == 0
    assert run("check", "--jsonl", str(mixed), "--exit-code").exit_code == 1


def test_exit_code_counts_an_item_not_addressed_as_not_certified(run):
    r = run("check", "tests/data/items/mixed.yaml", "--exit-code")
    assert r.exit_code == 1 and "NOT ADDRESSED" in r.stdout
    assert run("check", "tests/data/items/mixed.yaml").exit_code == 0
