"""Diagnosis and procedure codes: shapes checked at compile time, patterns matched alike by both back ends."""

from __future__ import annotations

import datetime

import pytest

from mtus.compiler.build.codegen import generate_module, load_module
from mtus.compiler.build.interpret import evaluate
from mtus.compiler.check.runtime import code_matches, member_code
from mtus.dsl import check_text
from mtus.dsl.passes.medcodes import check

SOURCE = '''\
guideline tpi_codes "Trigger point injections: coverage by code"
  source "MTUS Chronic Pain Medical Treatment Guidelines" page 122

facts
  diagnosis: icd10 "primary diagnosis"
  other_diagnoses: set of icd10 "other diagnoses"
  procedure: cpt "procedure code requested"

criteria
  myofascial_pain: diagnosis in {"M79.1*", "M79.7", "M54.10-M54.18"}
  exclude radiculopathy: other_diagnoses contains any of {"M54.1*", "M51.1*"}
  trigger_point_injection: procedure = "20552-20553"
'''


@pytest.mark.parametrize("code, pattern, matches", [
    ("M79.1", "M79.1", True), ("m79.1", "M79.1", True), ("M791", "M79.1", True), ("M79.11", "M79.1", False),
    ("M79.11", "M79.1*", True), ("M79.1", "M79.1*", True), ("M79.2", "M79.1*", False), ("M7", "M79.1*", False),
    ("M54.16", "M54.10-M54.18", True), ("M54.10", "M54.10-M54.18", True), ("M54.18", "M54.10-M54.18", True),
    ("M54.181", "M54.10-M54.18", True),  # below an end: in the range
    ("M54.19", "M54.10-M54.18", False), ("M54.1", "M54.10-M54.18", False), ("M54.5", "M54.10-M54.18", False),
    ("S32.01", "S32.0-S32.29", True), ("S32", "S32.0-S32.29", False), ("S32.3", "S32.0-S32.29", False),
    ("97112", "97110-97140", True), ("97150", "97110-97140", False), ("J1030", "J1030", True),
])
def test_a_code_matches_a_code_a_prefix_or_a_range(code, pattern, matches):
    assert code_matches(code, pattern) is matches


def test_set_operations_on_codes():
    codes = frozenset({"M79.18", "M54.50"})
    assert member_code("contains", codes, "M79.1*") is True
    assert member_code("contains any of", codes, frozenset({"M51.1*", "M54.5*"})) is True
    assert member_code("contains only", codes, frozenset({"M79.1*"})) is False
    assert member_code("contains only", codes, frozenset({"M79.1*", "M54.5*"})) is True
    assert member_code("not in", "M79.7", frozenset({"M79.1*"})) is True
    assert member_code("in", None, frozenset({"M79.1*"})) is None


@pytest.mark.parametrize("text, system, problem", [
    ("M79.1", "icd10", None), ("M79.1*", "icd10", None), ("M*", "icd10", None), ("T81.4XXA", "icd10", None),
    ("M54.10-M54.18", "icd10", None), ("20552", "cpt", None), ("0001F", "cpt", None), ("J1030", "cpt", None),
    ("9711*", "cpt", None),
    ("myofascial pain", "icd10", '"myofascial pain" is not an ICD-10-CM code'),
    ("20552", "icd10", '"20552" is not an ICD-10-CM code'),
    ("M79.1", "cpt", '"M79.1" is not a CPT or HCPCS code'),
    ("M79.12345", "icd10", '"M79.12345" is not an ICD-10-CM code'),
    ("M54.18-M54.10", "icd10", 'the range "M54.18-M54.10" ends below where it starts'),
    ("M5*4", "icd10", '"M5*4" is not an ICD-10-CM code'),
    ("*", "icd10", '"*" is not the start of an ICD-10-CM code'),
])
def test_shapes_are_checked_when_the_guideline_is_compiled(text, system, problem):
    assert check(text, system) == problem


def test_both_back_ends_decide_by_the_patterns():
    g = check_text(SOURCE, "tpi_codes.mtus").model
    module = load_module(generate_module(g), g.id)
    day = datetime.date(2021, 3, 1)
    cases = {
        "certified": {"diagnosis": "m79.18", "other_diagnoses": frozenset({"M54.50"}), "procedure": "20553"},
        "radiculopathy": {"diagnosis": "M54.16", "other_diagnoses": frozenset({"M54.17"}), "procedure": "20552"},
        "other diagnosis": {"diagnosis": "G89.29", "other_diagnoses": frozenset(), "procedure": "20550"},
    }
    outcomes = {}
    for name, facts in cases.items():
        want = evaluate(g, facts, day)
        assert module.evaluate(facts, day) == want
        assert module.unmet(facts, day) == want.unmet_ids()
        outcomes[name] = [c.outcome for c in want.criteria]
    assert outcomes == {"certified": ["met", "does not apply", "met"],
                        "radiculopathy": ["met", "applies", "met"],
                        "other diagnosis": ["not met", "does not apply", "not met"]}


def test_a_code_on_the_left_is_turned_to_the_right_and_a_text_fact_is_no_code():
    g = check_text(SOURCE.replace('procedure = "20552-20553"', '"20552-20553" = procedure'), "x.mtus").model
    assert g.criteria[2].expr.right.value == "20552-20553"
    result = check_text(SOURCE.replace('procedure: cpt', 'procedure: text'), "x.mtus")
    # a text fact compares texts, as before, but a pattern there is said to be only text
    assert [(d.code, d.span.line) for d in result.diagnostics] == [("W409", 12)]
    assert result.model.criteria[2].expr.right.type.kind == "text"
    assert check_text(SOURCE.replace('procedure: cpt', 'procedure: text').replace('"20552-20553"', '"20552"'),
                      "x.mtus").diagnostics == ()
