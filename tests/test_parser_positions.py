"""The parser's tokens and node positions are the ones Lark gives by itself.

Every span of every diagnostic and model node comes from them. For speed the
front end keeps two tokens per node instead of Lark's propagate_positions
(dsl/parser.py: Node, _NodeBuilder), drives Lark's lexer with a loop of its
own (_lex_faster) and reads a file that parses with a loop of its own
(_HappyPath), so this compares them with a plain Lark parser, node by node
and token by token, and the errors of the files that do not parse, on every
`.mtus` file of the repository.
"""

from __future__ import annotations

import functools

import pytest
from lark import Lark, Token, Tree

from mtus.dsl.frontend import normalize
from mtus.dsl.parser import Node, _happy_path, _Indenter, _lark
from mtus.grammar import grammar_text
from tests.conftest import ROOT

FILES = sorted(p for p in ROOT.rglob("*.mtus") if ".venv" not in p.parts)


@functools.lru_cache(maxsize=1)
def _reference() -> Lark:
    return Lark(grammar_text(), parser="lalr", lexer="contextual", postlex=_Indenter(),
                propagate_positions=True, maybe_placeholders=True)


def _extent(node) -> tuple | None:
    if isinstance(node, Token):
        return (node.start_pos, node.end_pos, node.line, node.column, node.end_line, node.end_column)
    if isinstance(node, Node):
        s, e = node.start, node.end
        return None if s is None else (s.start_pos, e.end_pos, s.line, s.column, e.end_line, e.end_column)
    m = node.meta
    return None if m.empty else (m.start_pos, m.end_pos, m.line, m.column, m.end_line, m.end_column)


def _compare(ours, theirs, where: list) -> None:
    assert type(ours) is type(theirs) or (isinstance(ours, Node) and isinstance(theirs, Tree)), where
    assert _extent(ours) == _extent(theirs), where
    if isinstance(ours, Token):
        assert (ours.type, str(ours)) == (theirs.type, str(theirs)), where
    if isinstance(ours, Tree):
        assert ours.data == theirs.data and len(ours.children) == len(theirs.children), where
        for i, (a, b) in enumerate(zip(ours.children, theirs.children)):
            if a is None or b is None:
                assert a is b, where + [i]
            else:
                _compare(a, b, where + [ours.data, i])


def test_many_files_are_compared():
    assert len(FILES) > 100


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_positions_are_lark_own(path):
    text = normalize(path.read_bytes().decode("utf-8", errors="replace"))
    if not text.endswith("\n"):
        text += "\n"
    try:
        theirs = _reference().parse(text)
    except Exception as e:  # noqa: BLE001 - a file with a syntax error: the same error
        with pytest.raises(type(e)) as ours:
            _lark().parse(text)
        assert _error(ours.value) == _error(e)
        return
    _compare(_lark().parse(text), theirs, [])
    _compare(_happy_path(_lark()).parse(text), theirs, [])  # and the loop a file that parses is read by


def _error(e: Exception) -> tuple:
    token = getattr(e, "token", None)
    return (type(e), str(e).split("\n")[0], getattr(e, "line", None), getattr(e, "column", None),
            getattr(e, "pos_in_stream", None), sorted(getattr(e, "expected", None) or ()),
            sorted(getattr(e, "allowed", None) or ()),
            None if token is None else (token.type, str(token), _extent(token)))
