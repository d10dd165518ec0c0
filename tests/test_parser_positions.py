"""The parser's node positions (dsl/parser.py: Node, _Positions) are the ones Lark's propagate_positions gives.

Every span of every diagnostic and model node comes from them; the front end
keeps two tokens per node instead of Lark's meta for speed, so this compares
the two node by node on every `.mtus` file of the repository that parses.
"""

from __future__ import annotations

import functools

import pytest
from lark import Lark, Token, Tree

from mtus.dsl.frontend import normalize
from mtus.dsl.parser import Node, _Indenter, _lark
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
    except Exception:  # noqa: BLE001 - a file with a syntax error: nothing to compare
        return
    _compare(_lark().parse(text), theirs, [])
