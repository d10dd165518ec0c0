"""`mtus diff`: the cases whose determination or deciding criteria change between two packs."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mtus.compiler.check.pack import pack_from_sources
from mtus.compiler.tools.cli import main
from mtus.compiler.tools.diff import case_files, diff_packs, render_table

GUIDELINE = '''guideline tpi "Trigger point injections"
  source "MTUS Chronic Pain Medical Treatment Guidelines" page 122
  services "trigger point injection", "trigger point injections"
{extra}
facts
  twitch_response: finding "a twitch response"
  injections: count "injections requested per session"

criteria
  trigger_points: twitch_response
  per_session: injections <= {limit}
'''

CASES = {
    # certified under the old limit of 4 injections, not under the new limit of 3
    "a.yaml": "case: a\ndate: 2015-03-02\nrequest: {item: Trigger point injections x4, "
              "facts: {twitch_response: present, injections: 4}}\n",
    # not certified either way; the new limit adds a deciding criterion
    "b.yaml": "case: b\ndate: 2015-03-02\nrequest: {item: Trigger point injections, facts: {injections: 4}}\n",
    # unchanged: 2 injections pass both limits
    "c.yaml": "case: c\ndate: 2015-03-02\nrequest: {item: Trigger point injections, "
              "facts: {twitch_response: present, injections: 2}}\n",
    # an edition no longer in force under the new pack: not addressed
    "d.json": '{"case": "d", "date": "2017-03-02", "request": {"item": "Trigger point injections", '
              '"facts": {"twitch_response": "present", "injections": 2}}}',
}


@pytest.fixture
def setup(tmp_path):
    old, new, cases = tmp_path / "old", tmp_path / "new", tmp_path / "cases"
    for d in (old, new, cases):
        d.mkdir()
    (old / "tpi.mtus").write_text(GUIDELINE.format(limit=4, extra=""), encoding="utf-8")
    (new / "tpi.mtus").write_text(GUIDELINE.format(limit=3, extra="  in force until 2016-07-28\n"),
                                  encoding="utf-8")
    for name, text in CASES.items():
        (cases / name).write_text(text, encoding="utf-8")
    return old, new, cases


def test_changed_determinations_and_criteria_are_reported(setup):
    old, new, cases = setup
    report = diff_packs(pack_from_sources([str(old)]), pack_from_sources([str(new)]), case_files(str(cases)))
    assert (report.cases, report.items) == (4, 4)
    by_case = {c.case: c for c in report.changes}
    assert set(by_case) == {"a", "b", "d"}
    a, b, d = by_case["a"], by_case["b"], by_case["d"]
    assert a.kind == "determination"
    assert (a.old.determination, a.new.determination) == ("certified", "not certified")
    assert a.new.deciding == (("per_session", "not met"),)
    assert b.kind == "criteria" and b.old.determination == b.new.determination == "not certified"
    assert b.old.deciding == (("trigger_points", "not documented"),)
    assert b.new.deciding == (("trigger_points", "not documented"), ("per_session", "not met"))
    assert d.kind == "determination" and d.new == d.new.__class__(None, "not addressed")
    assert (report.count("determination"), report.count("criteria")) == (2, 1)


def test_table_and_json(setup):
    old, new, cases = setup
    report = diff_packs(pack_from_sources([str(old)]), pack_from_sources([str(new)]), case_files(str(cases)))
    table = render_table(report)
    assert "a     Trigger point injections x4  determination  tpi: certified" in table
    assert "tpi: not certified (per_session not met)" in table
    assert table.rstrip().endswith("4 case(s), 4 item(s): 2 changed determination, "
                                   "1 changed deciding criteria only, 1 unchanged")
    data = report.to_json()
    assert data["changed_determination"] == 2 and data["changed_criteria"] == 1
    assert data["changes"][0] == {
        "case": "a", "item": "Trigger point injections x4", "change": "determination",
        "old": {"guideline": "tpi", "determination": "certified", "deciding": []},
        "new": {"guideline": "tpi", "determination": "not certified",
                "deciding": [{"criterion": "per_session", "outcome": "not met"}]}}


def test_cli_exit_codes(setup, tmp_path):
    old, new, cases = setup
    runner = CliRunner()
    r = runner.invoke(main, ["diff", str(old), str(new), "--cases", str(cases)], catch_exceptions=False)
    assert r.exit_code == 1 and "2 changed determination" in r.stdout
    r = runner.invoke(main, ["diff", str(old), str(old), "--cases", str(cases), "--format", "json"],
                      catch_exceptions=False)
    assert r.exit_code == 0 and json.loads(r.stdout)["changes"] == []
    bad = tmp_path / "bad.yaml"
    bad.write_text("date: [\n", encoding="utf-8")
    r = runner.invoke(main, ["diff", str(old), str(new), "--cases", str(bad)], catch_exceptions=False)
    assert r.exit_code == 2 and "no readable case file" in r.stderr and "bad.yaml" in r.stderr
    (cases / "broken.yaml").write_text("date: [\n", encoding="utf-8")  # skipped; the others still compared
    r = runner.invoke(main, ["diff", str(old), str(new), "--cases", str(cases)], catch_exceptions=False)
    assert r.exit_code == 1 and "1 file(s) skipped, not readable as case files:" in r.stdout
    assert "broken.yaml" in r.stdout and "4 case(s), 4 item(s)" in r.stdout
