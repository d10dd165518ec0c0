"""Item-level results: an item no guideline decides is a result in every format, and the other items are decided."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner

from mtus.compiler.check.batch import check_stream
from mtus.compiler.tools.cli import main
from tests.conftest import ROOT

MIXED = "tests/data/items/mixed.yaml"
NONE = "tests/data/items/none.yaml"


@pytest.fixture
def run(monkeypatch):
    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args), catch_exceptions=False)


def test_text_letter_decides_the_routable_item_and_states_the_others(run, snapshot):
    r = run("check", MIXED, "--pack", "guidelines/")
    assert r.exit_code == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout.count("Determination: NOT ADDRESSED.") == 2
    assert "The request for MRI lumbar spine without contrast is not addressed by the guidelines in this pack." \
        in " ".join(r.stdout.split())
    assert "Determination: NOT DECIDED." in r.stdout
    letter, rule_pack = r.stdout.rsplit("Rule pack: ", 1)
    assert rule_pack.startswith("mtus-pack 0 (sha256 ")  # the digest changes with every guideline edit
    assert letter == snapshot


def test_markdown_letter_states_each_item_level_result(run):
    r = run("check", MIXED, "--pack", "guidelines/", "--format", "markdown")
    assert r.exit_code == 0
    assert "## Item 2: Lunesta 3mg #30" in r.stdout
    assert "**Determination: Not addressed.** The request for Lunesta 3mg #30 is not addressed" in r.stdout
    assert "**Reason:** No guideline in this pack governs \"Lunesta 3mg #30\" (Lunesta: eszopiclone)." in r.stdout


def test_json_letter_has_a_result_per_item(run):
    r = run("check", MIXED, "--pack", "guidelines/", "--format", "json")
    assert r.exit_code == 0
    items = json.loads(r.stdout)["requests"]
    assert [i["determination"] for i in items] == ["upheld", "not addressed", "not addressed", "not decided"]
    assert [i["guideline"] for i in items] == ["tpi", None, None, None]
    assert items[1]["not_addressed"]["kind"] == "none" and "eszopiclone" in items[1]["not_addressed"]["reason"]
    assert items[3]["not_addressed"]["kind"] == "several"
    assert items[0]["detail"] == {"quantity": 4}
    assert items[1]["detail"] == {"quantity": 30, "strength": "3mg"}


def test_no_item_decided_prints_the_letter_and_exits_2(run):
    r = run("check", NONE, "--pack", "guidelines/")
    assert r.exit_code == 2
    assert "Determination: NOT ADDRESSED." in r.stdout
    assert "Hint: add `guideline: <id>` if one of the pack's guidelines applies" in r.stdout
    assert "no item was decided" in r.stderr


def test_batch_record_has_a_result_per_item(source_pack):
    case = {"case": "b", "date": "2014-12-18",
            "requests": [{"item": "Norco 10/325 #120"}, {"item": "Lunesta 3mg #30"}]}
    out = io.StringIO()
    summary = check_stream([json.dumps(case), json.dumps({"date": "2014-12-18", "request": {"item": "MRI"}})],
                           out, source_pack)
    first, second = (json.loads(x) for x in out.getvalue().splitlines())
    assert [r["guideline"] for r in first["requests"]] == ["opioids", None]
    assert first["requests"][1]["determination"] == "not addressed"
    assert second["requests"][0]["not_addressed"]["kind"] == "none"
    assert (summary.decided, summary.errors) == (1, 1)  # a line with no item decided is not decided
