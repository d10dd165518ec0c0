"""Every bundled guideline checks cleanly; its model outline is a reviewed snapshot."""

from __future__ import annotations

import pytest

from mtus.dsl import check_file
from mtus.dsl.dump import dump
from tests.conftest import GUIDELINES

FILES = sorted(GUIDELINES.glob("*.mtus"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_guideline_model(path, snapshot):
    result = check_file(path)
    assert [d.message for d in result.diagnostics] == []
    assert result.ok
    assert dump(result.model) == snapshot


def test_tpi_uses_the_case_file_fact_names():
    model = check_file(GUIDELINES / "tpi.mtus").model
    names = [f.name for f in model.facts]
    assert names == ["twitch_response", "referred_pain", "symptom_onset", "conservative_care_failed",
                     "radiculopathy", "injections", "substance", "diagnoses", "prior_injections"]
    history = model.fact("prior_injections").type
    assert [f.name for f in history.fields] == ["date", "relief", "relief_lasted", "function_improved"]
