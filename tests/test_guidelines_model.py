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


def test_the_backends_never_change_a_model():
    """The model's records are not attrs-frozen (a frozen `__init__` was a fifth of checking), so this holds by
    rule, not by construction: generating the checker, describing the guideline and interpreting a case read
    the model and its shared type constants and change nothing."""
    import copy
    import datetime

    from mtus.compiler.build.codegen import generate_module
    from mtus.compiler.build.interpret import evaluate
    from mtus.compiler.build.packinfo import describe
    from mtus.dsl import model as m

    constants = {name: (value, copy.deepcopy(value)) for name, value in vars(m).items() if name.startswith("T_")}
    assert constants
    for path in FILES:
        g = check_file(path).model
        if not isinstance(g, m.Guideline):
            continue
        before, outline = copy.deepcopy(g), dump(g)
        generate_module(g)
        describe(g)
        evaluate(g, {}, datetime.date(2020, 1, 1))
        assert g == before and dump(g) == outline, path.name
    assert all(value == kept for value, kept in constants.values())
