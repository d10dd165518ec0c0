"""The examples written in the bundled guidelines pass, and cover every reachable outcome."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mtus.compiler.tools.cli import main
from mtus.compiler.tools.examples import render_report, run_examples
from mtus.dsl import check_file
from mtus.dsl.model import Guideline
from tests.conftest import GUIDELINES

FILES = sorted(GUIDELINES.glob("*.mtus"))


def _guidelines():
    out = []
    for path in FILES:
        model = check_file(path).model
        if isinstance(model, Guideline):
            out.append(model)
    return out


@pytest.fixture(scope="module")
def report():
    return run_examples(_guidelines())


def test_every_bundled_example_passes(report):
    assert report.runs, "the bundled guidelines carry examples"
    assert not report.failed, render_report(report)


def test_every_guideline_has_examples(report):
    with_examples = {r.guideline for r in report.runs}
    assert with_examples == {g.id for g in _guidelines()}


def test_examples_reach_every_reachable_outcome(report):
    incomplete = [c.guideline for c in report.coverages if not c.complete]
    assert not incomplete, render_report(report, show_coverage=True)


FAILING = '''guideline t "T"
  source "S" page 1
facts
  a: finding "finding a"
  n: count "units"
criteria
  has_a: a
  limit: n <= 4
example "wrong on purpose"
  given request.date = 2014-12-18, a = present, n = 6
  expect not certified because has_a not met
'''


def test_failing_example_is_reported_criterion_by_criterion(tmp_path, snapshot):
    f = tmp_path / "t.mtus"
    f.write_text(FAILING)
    r = CliRunner().invoke(main, ["test", str(f), "--coverage"])
    assert r.exit_code == 1
    assert r.stdout.replace(str(tmp_path), "<tmp>") == snapshot


def test_cli_test_passes_on_bundled_guidelines():
    r = CliRunner().invoke(main, ["test", str(GUIDELINES), "--coverage"])
    assert r.exit_code == 0, r.stdout
    assert "0 failed" in r.stdout
