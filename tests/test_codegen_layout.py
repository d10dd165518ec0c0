"""A checker compiled with a layout reads an integrator's nested records as `unmet` reads flat facts.

`generate_module(g, layout)` adds `unmet_record(record, date)` (the fast path
reading each fact where the layout puts it) and `facts_of_record(record)`.
Both must agree with `unmet` on the flat facts for every guideline and case:
random layouts nest random facts at random depths, sharing parent objects.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtus.compiler.build.codegen import generate_module, load_module
from mtus.dsl import check_file
from tests.conftest import tiers
from tests.strategies import cases
from tests.test_codegen import FILES

PARENTS = ("exam", "prior", "history", "exam.spine")


def _settings(n: int) -> settings:
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def nest(facts: dict, layout: dict) -> dict:
    """The record an integrator would hold: each fact at its layout path (the rest at the top by name)."""
    record: dict = {}
    for name, value in facts.items():
        *parents, key = layout.get(name, (name,))
        here = record
        for p in parents:
            here = here.setdefault(p, {})
        here[key] = value
    return record


@st.composite
def layouts(draw, g) -> dict:
    """Some facts under some parent path, each under its own name or a renamed key."""
    out = {}
    for f in g.facts:
        where = draw(st.integers(0, len(PARENTS)))
        if where == len(PARENTS):
            continue  # read at the top level by name
        key = f.name if draw(st.booleans()) else f"{f.name}_key"
        out[f.name] = (*PARENTS[where].split("."), key)
    return out


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
@tiers(fast=25, slow=300)
def test_unmet_record_agrees_with_unmet(path, n):
    g = check_file(path).model
    plain = load_module(generate_module(g), g.id)

    @_settings(n)
    @given(st.data())
    def check(data):
        layout = data.draw(layouts(g), label="layout")
        module = load_module(generate_module(g, layout), g.id)
        for _ in range(4):
            facts, request_date = data.draw(cases(g), label="case")
            record = nest(facts, layout)
            assert module.facts_of_record(record) == {f.name: facts.get(f.name) for f in g.facts}
            assert module.unmet_record(record, request_date) == plain.unmet(facts, request_date), (layout, facts)

    check()


def test_a_missing_or_null_object_leaves_its_facts_silent():
    g = check_file(next(p for p in FILES if p.stem == "tpi")).model
    layout = {f.name: ("exam", f.name) for f in g.facts}
    module = load_module(generate_module(g, layout), g.id)
    everything = module.unmet({}, None)
    assert module.unmet_record({}, None) == everything
    assert module.unmet_record({"exam": None}, None) == everything


@pytest.mark.parametrize("layout, message", [
    ({"no_such_fact": ("a",)}, "the layout names 'no_such_fact', which guideline tpi does not declare"),
    ({"radiculopathy": ()}, "the layout's path for 'radiculopathy' must be one or more keys"),
    ({"radiculopathy": ("exam", 3)}, "the layout's path for 'radiculopathy' must be one or more keys"),
])
def test_a_wrong_layout_is_refused_with_what_is_wrong(layout, message):
    g = check_file(next(p for p in FILES if p.stem == "tpi")).model
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        generate_module(g, layout)


def test_a_text_path_is_one_key():
    g = check_file(next(p for p in FILES if p.stem == "tpi")).model
    module = load_module(generate_module(g, {"radiculopathy": "radic"}), g.id)
    assert module.facts_of_record({"radic": True})["radiculopathy"] is True


@pytest.mark.parametrize("case", [
    {"trigger_points": {"twitch_response": True, "referred_pain": True}, "symptom_duration_months": 4,
     "conservative_therapy_failed": True, "radiculopathy": False, "injections_per_session": 3, "is_repeat": True,
     "prior": {"pain_relief_percent": 60, "relief_weeks": 6, "functional_improvement": True},
     "months_since_last_injection": 2, "substance": "local anesthetic", "diagnoses": ["cervicalgia"]},
    {"trigger_points": {"twitch_response": False}, "is_repeat": True, "prior": {"relief_weeks": 2}},
    {},
], ids=["certified", "repeat without relief", "empty"])
def test_the_peers_harness_reader_decides_as_the_flat_facts(case):
    from bench import peers_mtus

    module = peers_mtus.compile_module()
    assert peers_mtus.make_check()(case) == peers_mtus.adapter(module.unmet)(case)
