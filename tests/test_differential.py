"""Differential property tests: compiled checkers and the reference interpreter agree on every case.

For each bundled guideline and for random well-typed guidelines, random
cases must give identical results from the interpreter, the compiled
`evaluate` (outcomes, read values, missing facts, partial certification) and
the compiled fast path `unmet`. Random guidelines include named values
(`let`), table lookups (with ranges and `otherwise` rows), ICD-10-CM and CPT
codes tested against patterns, `sum(h of ...)`, `count distinct(h.field)`,
`count(s)` of a set, criteria that allow fewer, and dates at the ends of the
calendar. The default tier runs a few hundred examples; the slow tier
(`pytest -m slow`) about 10,000. Every run draws the same examples
(derandomized, no example database), so what the last test asserts about the
cases it drew holds on every run or on none.
"""

from __future__ import annotations

import collections

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mtus.compiler.build.interpret import evaluate
from mtus.compiler.build.codegen import generate_module, load_module
from mtus.dsl import check_file, check_text, model
from mtus.dsl.passes.validate import constant_truth
from tests.conftest import tiers
from tests.strategies import cases, guidelines, shape, to_mtus
from tests.test_codegen import FILES

CASES_PER_GUIDELINE = 6
RANDOM_GUIDELINES = 2700  # the slow tier's count, enough to reach every construct


def _settings(n: int) -> settings:
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


def _all(g) -> model.Logic:
    """Every criterion and `when` condition of g as one expression, to ask what they read."""
    return model.Logic("and", tuple(c.expr for c in (*g.criteria, *g.conditions)), g.span)


def _walk(e):
    yield e
    for c in model.children(e):
        yield from _walk(c)


def assert_agree(g, module, facts, request_date):
    expected = evaluate(g, facts, request_date)
    got = module.evaluate(facts, request_date)
    for want, have in zip(expected.criteria, got.criteria):
        assert have == want, (facts, request_date)
    assert (got.modified, got.determination) == (expected.modified, expected.determination), (facts, request_date)
    assert got == expected
    assert module.unmet(facts, request_date) == expected.unmet_ids()
    return expected


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
@tiers(fast=40, slow=500)
def test_bundled_guideline_compiled_agrees_with_interpreter(path, n):
    result = check_file(path)
    assert result.ok
    g = result.model
    module = load_module(generate_module(g), g.id)

    @_settings(n)
    @given(cases(g))
    def check(case):
        facts, request_date = case
        assert_agree(g, module, facts, request_date)

    check()


@tiers(fast=200, slow=RANDOM_GUIDELINES)  # each checked on CASES_PER_GUIDELINE cases
def test_random_guidelines_compiled_agrees_with_interpreter(n):
    seen = collections.Counter()

    @_settings(n)
    @given(st.data())
    def check(data):
        g = data.draw(guidelines(), label="guideline")
        module = load_module(generate_module(g), "random")
        for _ in range(CASES_PER_GUIDELINE):
            facts, request_date = data.draw(cases(g), label="case")
            r = assert_agree(g, module, facts, request_date)
            seen["modified"] += r.modified is not None
            seen["not in a table"] += any("[" in m for c in r.criteria for m in c.missing)
            seen["calendar end"] += request_date.year in (1, 9999)
            presumptive = {f.name for f in g.facts if f.silence in ("none when silent", "presumed absent when silent")}
            silent = [(c, r.name) for c in r.criteria for r in c.read if r.name in presumptive and not r.documented]
            seen["presumption decided"] += any(name in c.presumed for c, name in silent)
            seen["presumption did not decide"] += any(name not in c.presumed for c, name in silent)
            seen["named value"] += bool(g.values)
            seen["table otherwise"] += any(t.otherwise is not None for t in g.tables)
            seen["range low end"] += "].low" in to_mtus(g)
            seen["count distinct"] += "count distinct(" in to_mtus(g)
            seen["count of a set"] += any(isinstance(x, model.SetCount) for x in _walk(_all(g)))
            seen["code"] += any(f.type.kind == "code" or (f.type.element is not None and f.type.element.kind == "code")
                                for f in g.facts if f.name in model.facts_read(_all(g)))

    check()
    if n == RANDOM_GUIDELINES:
        # the new constructs were exercised, not just generated (each in dozens of cases or more); the
        # fast tier's first couple of hundred guidelines are too plain to reach partial certification
        assert seen["modified"] and seen["not in a table"] and seen["calendar end"] and seen["named value"], seen
        assert seen["table otherwise"] and seen["range low end"] and seen["code"], seen
        assert seen["count distinct"] and seen["count of a set"], seen
        # presumptions are kept only where they decide (runtime.decisive_presumptions): both ways drawn
        assert seen["presumption decided"] and seen["presumption did not decide"], seen


@tiers(fast=60, slow=300)
def test_random_guidelines_are_what_the_front_end_builds(n):
    """The strategies stay honest: their models are the front end's models of some .mtus text."""

    @_settings(n)
    @given(guidelines())
    def check(g):
        # the front end refuses a `when` that can never hold (E404); so do we
        assume(all(constant_truth(c.expr) is not False for c in g.conditions))
        text = to_mtus(g)
        result = check_text(text, "random.mtus")
        assert [d.message for d in result.diagnostics if d.is_error] == [], text
        m = result.model
        assert shape(m.facts) == shape(g.facts), text
        assert shape(m.tables) == shape(g.tables), text
        assert shape(m.values) == shape(g.values), text
        assert shape(m.conditions) == shape(g.conditions), text
        assert [shape(c) for c in m.criteria] == [shape(c) for c in g.criteria], text

    check()
