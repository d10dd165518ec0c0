"""Lark's tree node as dsl/parser.py builds it, apart so that reading a file that parses imports no Lark."""

from __future__ import annotations

from lark import Token, Tree


class Node(Tree):
    """A node of the parse tree, with the tokens its text starts and ends with (None if it matched nothing).

    `start`/`end` are the node's own extent; `outer_start`/`outer_end` also
    cover the punctuation of a rule inlined into it (`( expr )`), which is
    what the node's parent counts: the spans of Lark's propagate_positions,
    kept as two tokens instead of a dozen attributes per node (that cost 35%
    of a parse).
    """

    start: Token | None = None
    end: Token | None = None
    outer_start: Token | None = None
    outer_end: Token | None = None
