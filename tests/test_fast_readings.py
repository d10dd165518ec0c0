"""The fast path skips every-reading only where no reading can change which criteria it names.

`silence.reading_risks` reads each criterion's shape: a finding read once,
outside the `when`s, through and/or/not/at least cannot make an open criterion
pass (or an open exclusion apply) in every reading. Where a criterion reads a
finding otherwise (twice, in a `when`, under `documented`, a `one of` fact), the
generated `unmet` tries every reading when that fact is undocumented and
nothing fails outright. Each small guideline here is decided on every combination of its
facts (documented true, documented false, silent), compiled against the
reference interpreter, which always tries every reading.
"""

from __future__ import annotations

import datetime
import itertools

import pytest

from mtus.compiler.build import silence
from mtus.compiler.build.codegen import generate_module, load_module
from mtus.compiler.build.interpret import evaluate
from mtus.dsl import check_text

RD = datetime.date(2015, 3, 1)
HEADER = 'guideline g "G"\n  source "MTUS" page 1\n\n'
FINDINGS = "".join(f'  {n}: finding "{n}"\n' for n in "abcr") + '  k: one of {"x", "y", "z"} "kind"\n'

#: guideline body -> whether trying every reading can ever change the fast path's answer
SHAPES = {
    "positive": ("criteria\n  both: a and b\n  either: at least 1 of {c, r}\n", False),
    "or_inside_and": ("criteria\n  mixed: (a or b) and c\n  alone: r\n", False),
    "negated_once": ("criteria\n  absent: not a\n  present: b and not (c or r)\n", False),
    # read twice: `a or not a` is open in three-valued logic and true in every reading
    "read_twice": ("criteria\n  twice: a or not a or b\n  other: c\n", True),
    # `when not r` with the criterion met: not applicable where r holds, met where it does not
    "gate": ("criteria\n  when not r\n    gated: c\n  plain: b\n", True),
    "gate_plain": ("criteria\n  when r\n    gated: a\n  other: b and c\n", True),
    "exclusion": ("criteria\n  exclude barred: a and not b\n  needed: c\n", False),
    "exclusion_twice": ("criteria\n  exclude barred: a or not a\n  needed: c\n", True),
    "documented": ("criteria\n  said: documented a and (not a or b)\n  needed: c\n", True),
    # a `one of` fact tested against some of its values is true in some reading and false in another
    "one_of_some": ('criteria\n  kind: k in {"x", "y"} and a\n  other: k != "z" or b\n', False),
    # ... but against all of them it is true in every reading, though open
    "one_of_all": ('criteria\n  kind: k in {"x", "y", "z"} or a\n  other: b\n', True),
}


def _guideline(body: str):
    r = check_text(HEADER + "facts\n" + FINDINGS + "\n" + body, "g.mtus")
    assert r.ok, [d.message for d in r.diagnostics]
    return r.model


@pytest.mark.parametrize("name", list(SHAPES))
def test_fast_path_names_what_every_reading_names(name):
    body, changes = SHAPES[name]
    g = _guideline(body)
    assert silence.readings_change_unmet(g) is changes
    module = load_module(generate_module(g), g.id)
    for values in itertools.product((True, False, None), (True, False, None), (True, False, None),
                                    (True, False, None), ("x", "y", "z", None)):
        facts = {n: v for n, v in zip("abcrk", values) if v is not None}
        assert module.unmet(facts, RD) == evaluate(g, facts, RD).unmet_ids(), facts


def test_a_gate_on_a_silent_finding_is_decided_in_every_reading():
    """Not applicable where r holds and met where it does not: certified, though `when not r` is open."""
    g = _guideline(SHAPES["gate"][0])
    module = load_module(generate_module(g), g.id)
    assert module.unmet({"b": True, "c": True}, RD) == []


def test_a_criterion_read_only_positively_stays_unmet_in_the_all_absent_reading():
    g = _guideline(SHAPES["positive"][0])
    source = generate_module(g)
    assert "unmet_in_every_reading" not in source.split("def evaluate")[0]
    module = load_module(source, g.id)
    assert module.unmet({"a": True, "c": True}, RD) == ["both"]
