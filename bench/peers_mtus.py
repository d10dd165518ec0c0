"""mtus as an engine of the shared peers harness (bench/peers: bench_peers.py --extra-factory).

The harness evaluates its eight trigger point criteria on its own generated
cases with peer rule engines and a hand-written function. Here the criteria
are `bench/peers_tpi.mtus`, compiled by mtus (front end, checks, Python
backend) when the harness calls the factory, so its "compile ms" column is
mtus compiling the guideline from text. The checker is the generated module's
fast path `unmet_record`, which returns the criterion ids not met or not
documented in source order: the harness's ids in its order.

The checker reads the harness's case itself, inside the timed call: the
guideline is compiled with a layout (`LAYOUT`: the facts nested in the case's
`trigger_points` and `prior` objects; every other fact is the case key of its
name), so the generated `unmet_record` reads each fact where the harness keeps
it, as the hand-written function does. Nothing is converted: the harness's
values are already the runtime's (bools, ints, strings, a list of diagnoses).
`adapter` and `adapter_by_name` are the two ways an integrator without a
layout would map a case to flat facts first (bench/suite.py times them too).

From a copy of the harness, with its venv (`pip install -r requirements.txt`,
plus `pip install attrs` for mtus):

    .venv/bin/python bench_peers.py --extra-path /work/main --extra-factory bench.peers_mtus:make_check
"""

from __future__ import annotations

from pathlib import Path

GUIDELINE = Path(__file__).resolve().with_name("peers_tpi.mtus")
_EMPTY: dict = {}


#: Where the harness keeps the facts it nests (the rest are its case keys of the same name).
LAYOUT = {
    "twitch_response": ("trigger_points", "twitch_response"),
    "referred_pain": ("trigger_points", "referred_pain"),
    "pain_relief_percent": ("prior", "pain_relief_percent"),
    "relief_weeks": ("prior", "relief_weeks"),
    "functional_improvement": ("prior", "functional_improvement"),
}


def compile_module(path: Path = GUIDELINE):
    """The checker module compiled from the guideline at path, with the harness's layout."""
    from mtus.compiler.build.codegen import generate_module, load_module
    from mtus.dsl import check_file
    from mtus.dsl.diagnostics import render_text

    result = check_file(str(path))
    if not result.ok:
        raise RuntimeError(render_text(result.diagnostics, {result.source.path: result.source}))
    return load_module(generate_module(result.model, LAYOUT), result.model.id)


def compile_unmet(path: Path = GUIDELINE):
    """The compiled checker's `unmet(facts, request_date)` on flat facts, for the guideline at path."""
    return compile_module(path).unmet


def reader(unmet_record):
    """check(case) -> unmet ids: the checker reading the harness case where the layout says (no mapping)."""

    def check(case):
        return unmet_record(case, None)  # no criterion reads request.date

    return check


def adapter(unmet):
    """check(case) -> unmet ids, the case first mapped to flat facts by one merge (the adapter before layouts)."""

    def check(case):
        get = case.get
        # The guideline's facts are the case's keys, with the fields of its two nested objects lifted beside
        # them: one merge in C, no key read in Python. The merge copies the keys the guideline does not read
        # too (ids, notes, visits); the checker reads only its own names. The case itself is left unchanged.
        return unmet({**case, **get("trigger_points", _EMPTY), **get("prior", _EMPTY)}, None)

    return check


def adapter_by_name(unmet):
    """The adapter as first written: a mapping of exactly the guideline's 13 facts, each read from the case by
    name (kept to measure against: bench/suite.py times both)."""

    def check(case):
        get = case.get
        tp = get("trigger_points", _EMPTY)
        prior = get("prior", _EMPTY)
        facts = {  # the facts the guideline declares, under its names (the harness's keys)
            "twitch_response": tp.get("twitch_response"), "referred_pain": tp.get("referred_pain"),
            "symptom_duration_months": get("symptom_duration_months"),
            "conservative_therapy_failed": get("conservative_therapy_failed"),
            "radiculopathy": get("radiculopathy"), "injections_per_session": get("injections_per_session"),
            "is_repeat": get("is_repeat"), "pain_relief_percent": prior.get("pain_relief_percent"),
            "relief_weeks": prior.get("relief_weeks"), "functional_improvement": prior.get("functional_improvement"),
            "months_since_last_injection": get("months_since_last_injection"),
            "substance": get("substance"), "diagnoses": get("diagnoses"),
        }
        return unmet(facts, None)  # no criterion reads request.date

    return check


def make_check():
    """The harness's factory: compile the guideline with mtus, return check(case)."""
    return reader(compile_module().unmet_record)
