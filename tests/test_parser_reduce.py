"""The syntax tree the happy path builds as it reduces (dsl/reduce.py) is the one dsl/build.py builds from Lark's tree.

Compared node by node, field by field, with the type of every value (a
token where a str belongs would compare equal), every span and the order of
every tuple, on every `.mtus` file of the repository, on generated
guidelines (bench/genpack.py), on random ones (tests/strategies.py), on
mutated texts and on edges: the lines that may appear once but are repeated,
`let`s under nested `when`s, a `cite` with nothing after it, expressions
nested up to and past the depth dsl/build.py refuses. A text Lark refuses, or
one dsl/build.py refuses (TooDeep), makes the happy path give up; the front
end's results (model and diagnostics) are the same with or without it.
"""

from __future__ import annotations

import random

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtus.dsl import ast
from mtus.dsl import parser as dsl_parser
from mtus.dsl.build import MAX_DEPTH, TooDeep, _Builder, build
from mtus.dsl.frontend import check_text
from mtus.dsl.parser import Node, _building_path, _happy_path, _HappyPath, _lark, parse
from mtus.dsl.source import Source
from tests.conftest import ROOT
from tests.strategies import guidelines, to_mtus
from tests.test_parser_fastpath import FILES, _generated, _mutate, _seeds, _text


def _same(ours, theirs, where: list) -> None:
    assert type(ours) is type(theirs), where
    if attrs.has(type(ours)):
        for f in attrs.fields(type(ours)):
            _same(getattr(ours, f.name), getattr(theirs, f.name), where + [f.name])
    elif isinstance(ours, (tuple, list)):
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _same(a, b, where + [i])
    else:
        assert ours == theirs, where


def _reference(text: str, path: str):
    """dsl/build.py's tree of Lark's own parse, or why there is none (Lark's exception, or TooDeep)."""
    try:
        tree = _lark().parse(text)
    except Exception as e:  # noqa: BLE001 - a text with an error: the happy path must give up on it
        return e
    try:
        return _Builder(Source(path, text)).start(tree)
    except TooDeep as e:
        return e


def _check(text: str, path: str = "g.mtus"):
    ours = _building_path(_lark()).parse(text, path)
    theirs = _reference(text, path)
    if isinstance(theirs, Exception):
        assert ours is None, f"the happy path built a tree where dsl/build.py's path has {type(theirs).__name__}"
    else:
        assert ours is not None, "the happy path gave up on a text Lark parses and dsl/build.py builds"
        _same(ours, theirs, [])
    return ours


def test_the_building_path_is_taken():
    """With the Lark this project pins, the happy path builds the syntax tree itself (else a Lark upgrade moved its
    internals or the grammar has a rule dsl/reduce.py has no maker for: Lark's tree would be built again)."""
    happy = _building_path(_lark())
    assert isinstance(happy, _HappyPath) and happy.context is not None
    assert _happy_path(_lark()).context is None  # (the tokens' path, for the formatter, keeps Lark's tree)
    result = parse(Source("opioids.mtus", _text(ROOT / "guidelines" / "opioids.mtus")))
    assert isinstance(result.tree, ast.Guideline)
    assert build(result.tree, Source("opioids.mtus", "")) is result.tree


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_file_builds_as_dsl_build_builds_it(path):
    _check(_text(path), str(path))


def test_generated_guidelines_build_as_dsl_build_builds_them():
    texts = _generated()
    assert len(texts) >= 60
    for i, text in enumerate(texts):
        assert _check(text, f"g{i}.mtus") is not None


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(guidelines())
def test_random_guidelines_build_as_dsl_build_builds_them(g):
    text = to_mtus(g)
    assert _check(text if text.endswith("\n") else text + "\n") is not None


@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**9), st.integers(1, 3))
def test_mutated_texts_build_or_give_up_as_dsl_build(seed, edits):
    rng = random.Random(seed)
    seeds = _seeds()
    text = seeds[rng.randrange(len(seeds))]
    for _ in range(edits):
        text = _mutate(text, rng)
    _check(text if text.endswith("\n") else text + "\n")


HEAD = 'guideline g "G"\n  source "S" page 1\n'
FACTS = "\nfacts\n  a: finding \"a\"\n  n: number \"n\"\n"


@pytest.mark.parametrize("text", [
    # lines that may appear once, repeated: the header's, a criterion's, a table's default row; in every order
    'guideline g "G"\n  source "S" page 1\n  source "T" page 2\n  version "1"\n  version "2"\n  states "x"\n'
    '  states "y"\n  in force from 2020-01-01\n  in force until 2021-01-01\n  not mtus rank 2\n  not mtus rank 3\n'
    '  on denial says "a"\n  on denial says """b\n   c"""\n    cite pages 3\n  services "x", cpt 97110\n'
    '  services hcpcs e0730, class "c", ingredient "i", form "f"\n'
    + FACTS + '\ntables\n  t: number "t"\n    "a": 1\n    otherwise: 2\n    otherwise: 3\n    "b": 3-5 weeks\n'
    '    otherwise: 4\n  u: count visits\n\ncriteria\n  c: a\n    says "x"\n    says "y"\n    shows "s {}"\n'
    '    shows "t"\n    allows fewer n\n    allows fewer m\n    cite section "s"\n    cite\n'
    '  exclude d: not a\n    cite\n',
    # lets: at the top, under a `when`, under a `when` under a `when`, between them
    HEAD + FACTS + '\ncriteria\n  let x = n + 1\n  when a\n    let y = x * 2\n      says "why"\n    when not a\n'
    '      let z = y - 1\n      c: z > 3\n    let w = 1\n    d: w = 1\n  let v = 2\n  e: v in {1, 2,}\n',
    # a `cite` with nothing after it, under a criterion and under `on denial says`
    'guideline g "G"\n  on denial says "x"\n    cite\n' + FACTS + '\ncriteria\n  c: a\n    cite\n',
    # every expression, parenthesised, the same `and`/`or` nested in brackets
    HEAD + FACTS + '\ncriteria\n  c: ((a or (a or a)) and (a and a)) or not (n between 1 and (2 + 3) * 4)\n'
    '  d: n not in {1, 2} and {} contains any of {1} and {1} contains only {1} and {1} contains 1\n'
    '  e: time from request.date to 2020-01-01 < 3 months and at least 2 of {a, a, a,}\n'
    '  f: count distinct(h of h.x * 2 within 3 months where h.y = "z").q >= 10% and t["k"].low = 1 mg\n'
    '  g: documented h.x and present = a and absent != a and "s" = "s\\"t"\n',
    # examples: sets, rows, every verdict and outcome
    HEAD + FACTS + '\ncriteria\n  c: a\n\nexample "e \\\\ \\n"\n  given a = present, n = 3 mg/day, h = [{x: 1, y: "z",},]\n'
    '  given s = {"a", "b",}, t = {}, r = [], q = [{}]\n  expect not certified because c not met, c met, c not documented,'
    ' c not applicable, c applies, c does not apply\n\nexample "f"\n  given a = absent\n  expect modified 3\n'
    '\nexample "g"\n  given a = 2020-01-01\n  expect certified\n',
    # a formulary, with its source repeated
    'formulary f "F"\n  source "S" page 1\n  source "T" section "2" pages 3-4, 5\n\ningredients\n  "a": "b", "c"\n'
    '\nproducts\n  "p": "a"\n  "q": "a", "c" as "patch"\n',
    'formulary f "F"\n\ningredients\n  "a": "b"\n',
    # types
    HEAD + '\nfacts\n  a: one of {"x", "y",} "a", request detail, required\n  b: set of {"x"}\n  c: set of text\n'
    '  d: set of icd10\n  e: set of cpt\n  f: icd10\n  g: cpt\n  h: text\n  i: date\n  j: duration\n  k: percent\n'
    '  l: quantity mg "l" from product strength default 3 mg, checked when stated, none when silent\n'
    '  m: history "m", presumed absent when silent\n    x: number "x"\n    y: text\n  n: count "n" from item q\n',
])
def test_edges_build_as_dsl_build_builds_them(text):
    assert _check(text) is not None


def _nested(kind: str, levels: int) -> str:
    x = "a"
    for _ in range(levels):
        x = {"not": f"not {x}", "arith": f"{x} + 1", "parens": f"({x} or a)", "lookup": f"t[{x}]",
             "between": f"n between 1 and ({x})", "set": f"{{{x}}}"}[kind]
    return HEAD + FACTS + f"\ncriteria\n  c: {x}\n"


@pytest.mark.parametrize("kind", ["not", "arith", "parens", "lookup", "between", "set"])
def test_deep_expressions_build_or_are_refused_as_dsl_build(kind):
    """Up to the depth dsl/build.py refuses, the same tree; past it the happy path gives up and the front end says
    E901 (each level deeper here nests one expression more: `(a or a) or a` is one `or` in the tree, two in Lark's)."""
    built = {levels: _check(_nested(kind, levels)) for levels in range(MAX_DEPTH - 3, MAX_DEPTH + 3)}
    assert built[MAX_DEPTH - 3] is not None and built[MAX_DEPTH + 2] is None
    assert [d.code for d in check_text(_nested(kind, MAX_DEPTH + 2)).diagnostics] == ["E901"]


def _front_end(text: str, building: bool):
    with pytest.MonkeyPatch.context() as m:
        if not building:
            m.setattr(dsl_parser, "_building_path", _happy_path)
            m.setattr(dsl_parser, "_front_path", lambda: _happy_path(_lark()))
        result = check_text(text, "g.mtus")
    return result.model, result.diagnostics


@pytest.mark.parametrize("path", [p for p in FILES if "bad" in p.parts][:60] + FILES[:10],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_the_front_end_says_the_same_with_or_without_it(path):
    text = _text(path)
    assert _front_end(text, True) == _front_end(text, False)


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**9))
def test_mutated_texts_give_the_same_results_with_or_without_it(seed):
    rng = random.Random(seed)
    seeds = _seeds()
    text = _mutate(seeds[rng.randrange(len(seeds))], rng)
    assert _front_end(text, True) == _front_end(text, False)


def test_every_rule_filters_its_children_as_lark_does():
    """Each rule's picker (what its maker is given) keeps, splices and pads the children as Lark's filter does, for
    every rule of the grammar, including those no file of the repository uses; a spliced `_rule` left a list."""
    lark = _lark()
    picked = 0
    for rule, builder in lark._callbacks.items():
        if builder.include is None:
            continue
        nodes, values = [], []
        for k, symbol in enumerate(rule.expansion):
            if symbol.name.startswith("_") and not symbol.is_term:
                items = [object() for _ in range(k % 3 + 1)]
                nodes.append(Node(symbol.name, list(items)))
                values.append(list(items))
            else:
                x = object()
                nodes.append(x)
                values.append(x)
        theirs = dsl_parser._filter(nodes, builder.include, builder.nones)
        ours = dsl_parser._picker(builder.include, builder.nones)(values)
        assert type(ours) is list and len(ours) == len(theirs), rule
        assert all(a is b for a, b in zip(ours, theirs)), rule
        picked += 1
    assert picked > 50


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet='"\\\n\r\t x1.#', max_size=40), st.integers(0, 40))
def test_the_faster_expressions_match_as_the_grammars(text, at):
    """The lexer's faster forms of the grammar's expressions (dsl/parser.py's _FASTER) match the same text, wherever
    they start, on texts of quotes, backslashes, line ends and digits (where they could differ)."""
    import re

    assert len(dsl_parser._FASTER) == 3
    for theirs, ours in dsl_parser._FASTER.items():
        a = re.compile(theirs).match(text, min(at, len(text)))
        b = re.compile(ours).match(text, min(at, len(text)))
        assert (a and a.span()) == (b and b.span()), (theirs, text, at)


def test_the_faster_expressions_are_the_grammars():
    """Each of _FASTER's expressions is one a terminal of the grammar has (else the grammar changed them: no faster
    form is used), and the happy path's lexers use the faster ones."""
    regexps = {t.pattern.to_regexp() for t in _lark().terminals}
    assert set(dsl_parser._FASTER) <= regexps
    happy = _building_path(_lark())
    assert happy.parse(_text(ROOT / "guidelines" / "opioids.mtus"), "opioids.mtus") is not None
    patterns = [lexer[0].__self__.pattern for lexer in happy.lexers.values() if hasattr(lexer[0], "__self__")]
    assert any(ours in p for p in patterns for ours in dsl_parser._FASTER.values())
    assert not any(theirs in p for p in patterns for theirs in dsl_parser._FASTER)
