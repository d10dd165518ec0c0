"""The parser's happy path (dsl/parser.py: _HappyPath) builds exactly the tree Lark's own parse builds, or gives up.

It gives up on anything off the happy path, and Lark then parses the text
itself, so errors stay Lark's. This compares the two node by node and token
by token (types, texts, every position, each node's start/end/outer tokens)
on every `.mtus` file of the repository, on generated guidelines
(bench/genpack.py), on random guidelines (tests/strategies.py) and on texts
mutated the ways authors break them: a text Lark parses must give the same
tree, a text Lark refuses must make the happy path give up, and `parse` must
report the same diagnostics either way. Each rule's node builder is compared
with Lark's callback chain for the rule, for every rule of the grammar.
"""

from __future__ import annotations

import functools
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark import Token, Tree

from mtus.dsl import parser as dsl_parser
from mtus.dsl.frontend import normalize
from mtus.dsl.parser import Node, _happy_path, _HappyPath, _lark, _lark_all_tokens, _LarkOnly, parse
from mtus.dsl.source import Source
from tests.conftest import ROOT
from tests.strategies import guidelines, to_mtus

FILES = sorted(p for p in ROOT.rglob("*.mtus") if ".venv" not in p.parts)
LARKS = {"tree": _lark, "all tokens": _lark_all_tokens}


def _text(path) -> str:
    text = normalize(path.read_bytes().decode("utf-8", errors="replace"))
    return text if text.endswith("\n") else text + "\n"


@functools.lru_cache(maxsize=1)
def _generated() -> tuple[str, ...]:
    """Guidelines as bench/genpack.py writes them for the compile benchmark (each bundled one, renamed)."""
    import tempfile
    from pathlib import Path

    from bench import genpack

    with tempfile.TemporaryDirectory() as folder:
        genpack.generate(folder, 60, own_services=True)
        return tuple(_text(p) for p in sorted(Path(folder).glob("*.mtus")))


def _token(t: Token | None) -> tuple | None:
    if t is None:
        return None
    return (type(t), t.type, str(t), t.value, t.start_pos, t.end_pos, t.line, t.column, t.end_line, t.end_column)


def _same(ours, theirs, where: list) -> None:
    assert type(ours) is type(theirs), where
    if isinstance(ours, Token):
        assert _token(ours) == _token(theirs), where
    elif isinstance(ours, Tree):
        assert ours.data == theirs.data and len(ours.children) == len(theirs.children), where
        assert vars(ours).keys() == vars(theirs).keys(), where  # no attribute more or less
        for name in ("start", "end", "outer_start", "outer_end"):
            assert _token(getattr(ours, name)) == _token(getattr(theirs, name)), where + [name]
        for i, (a, b) in enumerate(zip(ours.children, theirs.children)):
            _same(a, b, where + [ours.data, i])
    else:
        assert ours is None and theirs is None, where


def _lark_parse(lark, text: str):
    """Lark's own parse of the text: its tree, or the exception it raised."""
    try:
        return lark.parse(text)
    except Exception as e:  # noqa: BLE001 - a text with an error: the happy path must give up on it
        return e


def _check(text: str, which: str = "tree") -> None:
    lark = LARKS[which]()
    ours = _happy_path(lark).parse(text)
    theirs = _lark_parse(lark, text)
    if isinstance(theirs, Exception):
        assert ours is None, f"the happy path parsed a text Lark refuses ({type(theirs).__name__})"
    else:
        assert ours is not None, "the happy path gave up on a text Lark parses"
        _same(ours, theirs, [])
        assert _tokens_and_objects(ours) == _tokens_and_objects(theirs)  # no token object twice in the tree


def _tokens_and_objects(tree) -> tuple[int, int]:
    tokens = list(tree.scan_values(lambda v: isinstance(v, Token)))
    return len(tokens), len({id(t) for t in tokens})


def test_the_happy_path_is_taken():
    """With the Lark this project pins, the happy path is laid out over it (else a Lark upgrade moved its
    internals: every parse would quietly be Lark's own, at 1.7 times the cost), and `parse` reads a file that
    parses without Lark's parse."""
    for make in LARKS.values():
        assert isinstance(_happy_path(make()), _HappyPath)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_lark(), "parse", lambda *args, **kwargs: pytest.fail("Lark parsed a file without errors"))
        assert parse(Source("opioids.mtus", _text(ROOT / "guidelines" / "opioids.mtus"))).tree is not None


def test_many_files_are_compared():
    assert len(FILES) > 100


@pytest.mark.parametrize("which", LARKS)
@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_file_parses_as_lark_parses_it(path, which):
    _check(_text(path), which)


def test_generated_guidelines_parse_as_lark_parses_them():
    texts = _generated()
    assert len(texts) >= 60
    for text in texts:
        _check(text)


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(guidelines())
def test_random_guidelines_parse_as_lark_parses_them(g):
    """Guidelines drawn by tests/strategies.py, written out as text: every construct, nested, parenthesised."""
    text = to_mtus(g)
    _check(text if text.endswith("\n") else text + "\n", "tree")


# ------------------------------------------------------------------ mutations
# What an author's edit does to a file: cut short, a line lost or doubled, an indentation off, a bracket
# too many or too few, a word where another belongs.

def _mutate(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    kind = rng.randrange(9)
    if kind == 0:
        return text[:rng.randrange(len(text) + 1)]
    if kind == 1:
        del lines[i]
    elif kind == 2:
        lines.insert(i, lines[i])
    elif kind == 3:
        lines[i] = rng.choice([" ", "  ", "\t", "   "]) + lines[i]
    elif kind == 4:
        lines[i] = lines[i][rng.randrange(1, 4):] if lines[i].startswith("  ") else lines[i]
    elif kind == 5:
        at = rng.randrange(len(lines[i]) + 1)
        lines[i] = lines[i][:at] + rng.choice("()[]{},:.") + lines[i][at:]
    elif kind == 6:
        lines[i] = "".join(c for c in lines[i] if c not in rng.choice(["()", "[]", "{}", '"', ",", ":"]))
    elif kind == 7:
        words = lines[i].split(" ")
        at = rng.randrange(len(words))
        words[at] = rng.choice(["and", "or", "not", "given", "facts", "x", "3", '"s"', "-", "#", "\\", '"""'])
        lines[i] = " ".join(words)
    else:
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def _seeds() -> list[str]:
    return [_text(p) for p in FILES if "bad" not in p.parts][:400]


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**9), st.integers(1, 3))
def test_mutated_texts_parse_or_fail_as_with_lark(seed, edits):
    rng = random.Random(seed)
    seeds = _seeds()
    text = seeds[rng.randrange(len(seeds))]
    for _ in range(edits):
        text = _mutate(text, rng)
    _check(text if text.endswith("\n") else text + "\n", rng.choice(list(LARKS)))


def _diagnostics(text: str, lark_only: bool) -> tuple:
    with pytest.MonkeyPatch.context() as m:
        if lark_only:
            m.setattr(dsl_parser, "_happy_path", lambda lark: _LarkOnly())
            m.setattr(dsl_parser, "_building_path", lambda lark: _LarkOnly())
            m.setattr(dsl_parser, "_front_path", lambda: _LarkOnly())
        result = parse(Source("g.mtus", text))
    return result.tree is None, result.diagnostics


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**9))
def test_mutated_texts_give_the_diagnostics_lark_gives(seed):
    rng = random.Random(seed)
    seeds = _seeds()
    text = _mutate(seeds[rng.randrange(len(seeds))], rng)
    assert _diagnostics(text, lark_only=False) == _diagnostics(text, lark_only=True)


@pytest.mark.parametrize("text", [
    "",
    "\n",
    "# only a comment",
    "guideline",
    'guideline g "G"\n  source "S" page 1\n',
    'guideline g "G"\n\tsource "S" page 1\n  version "1"\n',  # tabs, then spaces: IndentProblem
    'guideline g "G"\n  source "S" page 1\n version "1"\n',  # a dedent to no open level
    'guideline g "G"\n  source "S" page 1\n\ncriteria\n  c: (a\n  or b)\n',  # a newline inside brackets
    'guideline g "G"\n  source "S" page 1\n\ncriteria\n  c: a)\n',  # a stray closing bracket
    'guideline g "G"\n  source "S" page 1 \\\n   section "2"\n',  # a continued line
    'guideline g "G"\n  source "S" page 1\n\\\n',  # the text ends with ignored characters
    # two blocks still open at the end (the last line end continued): closed by the end, not by a line
    'guideline g "G"\n  source "S" page 1\n\nfacts\n  a: finding "a"\n\ncriteria\n  c: a\n    says "x"\n    \\\n',
    'guideline g "G" # a comment at the end\n  source "S" page 1   # and here\n',
    'guideline g "G"\n  source "S" page 1\n\ncriteria\n  c: a ~ b\n',  # no terminal matches
])
def test_edges_parse_or_fail_as_with_lark(text):
    for which in LARKS:
        _check(text if text.endswith("\n") else text + "\n", which)
    assert _diagnostics(text, lark_only=False) == _diagnostics(text, lark_only=True)


def test_too_many_tokens_is_left_to_lark(monkeypatch):
    """Past MAX_TOKENS the happy path gives up and Lark's reading refuses the file (E901); at the limit it parses."""
    text = 'guideline g "G"\n  source "S" page 1\n'  # 9 tokens: guideline g "G" _NL source "S" page 1 _NL
    monkeypatch.setattr(dsl_parser, "MAX_TOKENS", 9)
    assert _happy_path(_lark()).parse(text) is not None
    monkeypatch.setattr(dsl_parser, "MAX_TOKENS", 8)
    assert _happy_path(_lark()).parse(text) is None
    assert [d.code for d in parse(Source("g.mtus", text)).diagnostics] == ["E901"]


@pytest.mark.parametrize(("regexp", "may"), [
    (r"[\t ]+", True), (r" ", True), (r"\s", True), (r"\W", True), (r"[^\d]", True), (r"[^\S]", True), (r".", True),
    (r"[\x00-z]", True), (r"x|\x20", True), (r"(?:x)?\t", True), (r"\b \b", True), (r"[^\n]", True), (r"a*+ ", True),
    (r"[^\s]", False), (r"\d+", False), (r"\w", False), (r"[\S]", False), (r"[!-z]", False), (r"(?:x)?y", False),
    (r"(?=a)b", False), (r"(?i:A)", False), (r"\n", False), (r'"(?!"")([^"\\\n]|\\.)*"', False), (r"a*", None),
])
def test_which_terminals_may_start_with_a_blank(regexp, may):
    """A lexer skips blanks before matching only where no terminal tried before the blanks' own could match one."""
    assert dsl_parser._may_start_blank(dsl_parser.sre_parse.parse(regexp)) is may


def test_blanks_are_skipped_where_the_grammar_allows():
    happy = _happy_path(_lark())
    assert happy.parse(_text(ROOT / "guidelines" / "opioids.mtus")) is not None
    patterns = [lexer[0].__self__.pattern for lexer in happy.lexers.values()]
    assert sum(p.startswith(dsl_parser._BLANKS) for p in patterns) > len(patterns) / 2


def _children(rule, n: int) -> list:
    """Children a rule's callback might be given, fresh: a token for each terminal; for each rule, a node with
    tokens (or, every third one, one that matched nothing), as the rule's own builder would have left it."""
    out: list = []
    for k, symbol in enumerate(rule.expansion):
        at = 10 * (n + k)
        token = Token("X", "x", at, 1, at + 1, 1, at + 2, at + 1)
        if symbol.is_term:
            out.append(Token(symbol.name, "x", at, 1, at + 1, 1, at + 2, at + 1))
        elif (n + k) % 3 == 2:
            out.append(Node(symbol.name, []))
        else:
            node = Node(symbol.name, [token])
            node.start = node.end = node.outer_start = node.outer_end = token
            out.append(node)
    return out


@pytest.mark.parametrize("which", LARKS)
def test_every_rule_builds_as_its_lark_chain(which):
    """Each rule's fused builder gives what Lark's callback chain (called link by link) gives with the same
    positions, for every rule of the grammar, including those no file of the repository uses."""
    lark = LARKS[which]()
    happy = _happy_path(lark)
    fused = 0
    for rule, build in lark._callbacks.items():
        chain = build.chain
        symbols = rule.expansion
        plain = dsl_parser._NodeBuilder(chain, bool(symbols) and symbols[0].is_term,
                                        bool(symbols) and symbols[-1].is_term, fuse=False)
        fused += build.fused
        for n in range(3):
            _same(build(_children(rule, n)), plain(_children(rule, n)), [str(rule), n])
    assert fused == len(lark._callbacks)  # every chain of this Lark is one the builders know
    assert any(r[2] is None for r in happy.rules)  # and some `?rule`s just pass their child on
