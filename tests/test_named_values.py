"""Named values (`let`): checked, evaluated alike by both back ends, named in letters and by the editor."""

from __future__ import annotations

import datetime
from decimal import Decimal

from mtus.compiler.build.codegen import generate_module, load_module
from mtus.compiler.build.interpret import evaluate
from mtus.compiler.build.packinfo import describe
from mtus.compiler.check.rationale import Explainer
from mtus.dsl import check_text, model
from mtus.dsl.navigate import Analysis, complete

OPIOIDS = '''\
guideline opioids "Opioids"
  source "MTUS Chronic Pain Medical Treatment Guidelines" page 86

facts
  regimen: history "opioids taken and their daily doses", required
    drug: text "opioid"
    daily_mg: number "milligrams a day"
  pain_consultation: finding "a pain management consultation"

tables
  mme_factor: number "oral morphine milligram equivalent conversion factor"
    "hydrocodone": 1
    "oxycodone": 1.5

criteria
  let current_mme = sum(regimen of daily_mg * mme_factor[drug])
    says "the current regimen's total daily dose in oral morphine equivalents"
  let within_ceiling = current_mme <= 120
  ceiling: within_ceiling or pain_consultation
  above_90: current_mme <= 90 or pain_consultation
'''

DATE = datetime.date(2015, 3, 2)
HIGH = {"regimen": ({"drug": "oxycodone", "daily_mg": Decimal(60)}, {"drug": "hydrocodone", "daily_mg": Decimal(60)}),
        "pain_consultation": False}


def _model() -> model.Guideline:
    result = check_text(OPIOIDS, "opioids.mtus")
    assert result.ok, result.diagnostics
    return result.model


def test_a_named_value_is_in_the_model_and_in_each_use():
    g = _model()
    assert [v.name for v in g.values] == ["current_mme", "within_ceiling"]
    assert g.values[0].label == "the current regimen's total daily dose in oral morphine equivalents"
    assert g.values[1].label == "within ceiling"  # no `says`: the name in words
    ceiling = g.criteria[0].expr
    assert isinstance(ceiling, model.Logic) and isinstance(ceiling.operands[0], model.ValueRef)
    # a use reads what its definition reads: the regimen, through both values
    assert model.facts_read(ceiling) == ("regimen", "pain_consultation")


def test_both_back_ends_compute_the_value_once_named_and_show_it():
    g = _model()
    module = load_module(generate_module(g), g.id)
    for facts in (HIGH, {"pain_consultation": False}, {"regimen": ({"drug": "methadone", "daily_mg": Decimal(30)},)},
                  {"regimen": ({"drug": "hydrocodone", "daily_mg": Decimal(80)},), "pain_consultation": False}):
        want = evaluate(g, facts, DATE)
        assert module.evaluate(facts, DATE) == want
        assert module.unmet(facts, DATE) == want.unmet_ids()
    r = evaluate(g, HIGH, DATE)
    assert [c.outcome for c in r.criteria] == ["not met", "not met"]
    assert [(x.expr, x.value) for x in r.criteria[1].computed] == [("current_mme", Decimal("150.0"))]
    # a named condition shows the values it compares
    assert [x.expr for x in r.criteria[0].computed] == ["current_mme"]
    assert evaluate(g, {"regimen": ({"drug": "hydrocodone", "daily_mg": Decimal(80)},)}, DATE).criteria[1].outcome \
        == "met"
    assert evaluate(g, {"pain_consultation": False}, DATE).criteria[0].missing == ("regimen",)


def test_the_letter_calls_the_value_by_its_label():
    g = _model()
    info = describe(g)
    assert info.criteria[1].computed[0].label == g.values[0].label
    reasons = Explainer(info).reasons(evaluate(g, HIGH, DATE), {})
    text = " ".join(r.text for r in reasons)
    assert "the current regimen's total daily dose in oral morphine equivalents is 150" in text, text


def test_the_editor_finds_hovers_and_completes_a_value():
    a = Analysis(OPIOIDS, "opioids.mtus")
    use = OPIOIDS.index("current_mme <= 90") + 3
    target = a.at(use)
    assert target.kind == "value" and target.name == "current_mme"
    assert target.declaration.line == 16
    assert "total daily dose" in target.hover and "Used by: `above_90`" in target.hover
    assert any(c.label == "within_ceiling" and c.kind == "named"
               for c in complete(OPIOIDS + "  x: wi", len(OPIOIDS) + len("  x: wi"), a.tree))


def test_a_value_is_named_in_the_trace_and_the_outline():
    from mtus.dsl.dump import dump
    text = dump(_model())
    assert "values\n  $current_mme (line 16): (sum regimen of (* .daily_mg:number mme_factor[.drug:text]:number)" in text
    assert "(or $within_ceiling:bool pain_consultation:bool)" in text


def test_explain_names_a_named_value_by_its_label(tmp_path):
    """`--explain` shows a `let` value with the label its `let` gives it (issue 14, item 1)."""
    from mtus.compiler.check import api
    (tmp_path / "opioids.mtus").write_text(OPIOIDS.replace('page 86\n', 'page 86\n  services "Norco"\n', 1))
    case = tmp_path / "case.yaml"
    case.write_text("date: 2015-03-02\nrequests:\n  - item: Norco\nfacts:\n  pain_consultation: absent\n"
                    "  regimen: [{drug: hydrocodone, daily_mg: 60}, {drug: oxycodone, daily_mg: 60}]\n")
    letter = api.check_case(str(case), api.load_pack(str(tmp_path)))
    text = " ".join(api.render(letter, "text", explain=True).split())
    assert ("computed current_mme (the current regimen's total daily dose in oral morphine equivalents) = 150"
            in text)

