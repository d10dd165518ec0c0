"""The reviewer's casebook (tests/casebook/): every case decided as its expectation says, and the issue's ratios.

Each case's expectation was written from the guideline text before the case was
run (docs/case-files.md, "Casebook expectations"). A case marked `disputed:`
records a known disagreement between that text and the pack: it must still
disagree (otherwise the note is stale and the test says so).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mtus.compiler.tools import casebook as cb
from tests.conftest import ROOT

CASEBOOK = ROOT / "tests" / "casebook"
CASES = cb.case_files([str(CASEBOOK)])


def _id(path: str) -> str:
    return str(Path(path).relative_to(CASEBOOK))


@pytest.fixture(scope="module")
def runs(source_pack):
    return {p: cb.run_case(p, source_pack, str(CASEBOOK)) for p in CASES}


@pytest.mark.parametrize("path", CASES, ids=_id)
def test_case_decided_as_expected(runs, path):
    run = runs[path]
    assert not run.errors, "\n".join(run.errors)
    for r in run.runs:
        if r.disputed:
            assert r.problems, (f"{r.item}: marked disputed ({r.expected.disputed}) but now decided as expected; "
                                "remove `disputed:` and its entry in the review notes")
        else:
            assert not r.problems, f"{r.item}:\n  " + "\n  ".join(r.problems)


@pytest.mark.parametrize("path", CASES, ids=_id)
def test_case_sits_in_its_guidelines_folder(source_pack, path):
    """The folder names the guideline the request must route to (or `guideline:` in the expectation says which)."""
    folder = Path(path).parent.name
    data = cb.read_case_file(path)
    exps = cb.expectations(data)
    assert folder in source_pack.guidelines or all(e.guideline for e in exps), \
        f"{_id(path)}: folder `{folder}` is not a guideline id of the pack"


def test_no_decision_rests_on_an_unstated_presumption(runs):
    """Issue 15: no case is certified or denied only because of a presumption the letter does not state."""
    bad = [f"{_id(p)}: {msg}" for p, run in runs.items() for r in run.runs for msg in r.problems
           if msg.startswith("presumption:") and "letter does not state" in msg]
    assert not bad, "\n".join(bad)


def _ratios(runs):
    reqs = [r for run in runs.values() for r in run.runs]
    n = len(reqs)
    certified = sum(r.expected.determination == "certified" for r in reqs)
    clinical = sum(r.expected.determination == "not certified" and r.expected.basis == "clinical" for r in reqs)
    return n, certified, clinical


def test_casebook_mix_of_determinations(runs):
    """Issue 15: at least 40% certified and at least 30% not certified for a clinical reason."""
    n, certified, clinical = _ratios(runs)
    assert n, "the casebook is empty"
    assert certified * 100 >= 40 * n, f"{certified} of {n} requests expected certified: under 40%"
    assert clinical * 100 >= 30 * n, f"{clinical} of {n} requests expected not certified for a clinical reason: under 30%"


def test_casebook_size():
    """Issue 15: at least 100 case files across the guidelines."""
    assert len(CASES) >= 100, f"the casebook has {len(CASES)} case files"


def test_expectation_errors_name_the_file_and_what_is_wrong(tmp_path, source_pack):
    case = tmp_path / "tpi" / "bad.yaml"
    case.parent.mkdir()
    case.write_text("date: 2014-12-18\nrequests:\n  - item: Trigger point injection\n"
                    "expected:\n  determination: denied\n  deciding: {trigger_points: not met}\n  rests_on: x\n")
    run = cb.run_case(str(case), source_pack)
    assert run.status == "FAIL"
    (err,) = run.errors
    assert str(case) in err and "`determination` must be one of certified, not certified, modified" in err


def test_mismatch_reports_expected_and_actual(tmp_path, source_pack):
    """A wrong expectation is reported with the determination and each deciding criterion, never silently passed."""
    case = tmp_path / "tpi" / "wrong.yaml"
    case.parent.mkdir()
    case.write_text("date: 2014-12-18\nrequests:\n  - item: Trigger point injection\n    facts: {injections: 6}\n"
                    "expected:\n  determination: certified\n  deciding: {per_session: met}\n"
                    "  rests_on: no more than 3-4 injections per session\n")
    run = cb.run_case(str(case), source_pack)
    (r,) = run.runs
    assert run.status == "FAIL"
    assert "determination: expected certified, got not certified" in r.problems
    assert "per_session: expected met, got not met" in r.problems
    text = cb.render_casebook(cb.CasebookReport((run,)))
    assert "FAIL" in text and "expected deciding: per_session met" in text and "rests on:" in text


def test_cli_runs_a_casebook_folder(tmp_path):
    from click.testing import CliRunner

    from mtus.compiler.tools.cli import main

    folder = CASEBOOK / "psych_treatment"
    result = CliRunner().invoke(main, ["test", str(folder)])
    assert result.exit_code == 0, result.output
    assert "per guideline (expected / decided by mtus):" in result.output
    assert "psych_treatment" in result.output and " 0 failed" in result.output


def test_an_item_no_guideline_decides_is_a_failure_not_a_crash(tmp_path, source_pack):
    case = tmp_path / "tpi" / "mri.yaml"
    case.parent.mkdir()
    case.write_text("date: 2014-12-18\nrequests:\n  - item: MRI lumbar spine\n"
                    "expected:\n  determination: certified\n  deciding: {trigger_points: met}\n  rests_on: x\n")
    run = cb.run_case(str(case), source_pack)
    (r,) = run.runs
    assert run.status == "FAIL" and r.problems[0].startswith("not addressed by any guideline")


@pytest.mark.parametrize("path", CASES, ids=_id)
def test_case_reads_without_warnings(path):
    """A casebook case is a model of a well-written case file: no warning (an unquoted `#` cut an item)."""
    from mtus.compiler.check.casefile import read_case_file
    assert [w.message for w in read_case_file(path).warnings] == []
