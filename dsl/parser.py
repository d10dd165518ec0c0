"""The only facade over Lark: text in; the syntax tree, or Lark's tree for dsl/build.py, or the syntax diagnostics out.

A file that parses is read by one loop of ours over Lark's own tables
(_HappyPath, about 40% less CPU), which builds the syntax tree as it reduces
(dsl/reduce.py); anything else by Lark itself, so the errors are Lark's. The
tables are kept as plain values in the grammar cache (_front_path), so that a
file that parses is read without importing Lark at all (about half the CPU of
linting one guideline); Lark is imported where a file has an error, and for
the tools that use its tree (lex, the formatter). Its exceptions never leave this module;
dsl/syntax_errors.py phrases them for guideline authors. After a syntax error
the parser does not guess what the author meant (LALR error recovery would
report follow-on errors): the statement with the error, and the lines
indented under it, are set aside and the file is read again, so that
independent errors further down are reported too (at most MAX_SYNTAX_ERRORS).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import marshal
import operator
import os
import re
import stat
import sys
from typing import TYPE_CHECKING, Any, Iterator

try:
    from re import _constants as sre_constants
    from re import _parser as sre_parse
except ImportError:  # Python 3.10
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

import attrs

from mtus.dsl import ast
from mtus.dsl import diagnostics as diag
from mtus.dsl.source import Source, Span
from mtus.grammar import grammar_text
from mtus.dsl.syntax_errors import IndentProblem, indent_error, syntax_error

if TYPE_CHECKING:
    from lark import Lark, Token, Tree

    from mtus.dsl.larktree import Node

    _token = Token

#: Lark's names this module uses, imported into it when Lark is first needed (_with_lark): a file that parses is
#: read from the tables kept in the grammar cache without them (_front_path).
_LARK_NAMES = ("Lark", "Token", "Tree", "Node", "_token")


def _with_lark() -> None:
    """Import Lark, and its names this module uses (a file with an error, Lark's tree for the tools, no cache)."""
    if "_token" in globals():
        return
    from lark import Lark, Token, Tree

    from mtus.dsl.larktree import Node

    # Token(...) without its check for a deprecated keyword argument, where Lark has it.
    globals().update(Lark=Lark, Token=Token, Tree=Tree, Node=Node, _token=getattr(Token, "_future_new", Token))


def __getattr__(name: str) -> Any:
    """Lark's names (Node, Token, ...) for other modules and tests, importing Lark when first asked for."""
    if name in _LARK_NAMES:
        _with_lark()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

TAB_WIDTH = 8
#: Words, names, numbers, strings, symbols and line ends in one file beyond this are refused while
#: they are read (E901): parsing costs per token, and 256 KiB of `or a` is 100,000 of them (34 s to
#: lint on a loaded machine). The largest bundled guideline has about 1,500.
MAX_TOKENS = 20_000
_OPEN = {"LPAR", "LSQB", "LBRACE"}
_CLOSE = {"RPAR", "RSQB", "RBRACE"}


class TooManyTokens(Exception):
    """The file has more than MAX_TOKENS tokens; `token` is the first one over."""

    def __init__(self, token: Token):
        super().__init__(token)
        self.token = token


class _Indenter:
    """Turns newlines into _INDENT/_DEDENT tokens (ignored inside brackets).

    Like lark.indenter.Indenter, but an inconsistent dedent reports where it
    happened and which levels were open; indentation must use one character
    throughout the file (spaces, or tabs); a stray closing bracket is left for
    the parser to report.
    """

    always_accept = ("_NL",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        levels = [0]
        depth = 0
        token = None
        style = None  # (character, token) of the first indented line
        for count, token in enumerate(stream):
            if count >= MAX_TOKENS:
                raise TooManyTokens(token)
            if token.type == "_NL":
                if depth > 0:
                    continue
                yield token
                indent_str = token.value.rsplit("\n", 1)[1]
                if indent_str:
                    if " " in indent_str and "\t" in indent_str:
                        raise IndentProblem(token, "mixed", levels[:], 0)
                    if style is None:
                        style = (indent_str[0], token)
                    elif style[0] != indent_str[0]:
                        raise IndentProblem(token, "style", levels[:], 0, first=style[1])
                indent = indent_str.count(" ") + indent_str.count("\t") * TAB_WIDTH
                if indent > levels[-1]:
                    levels.append(indent)
                    yield Token.new_borrow_pos("_INDENT", indent_str, token)
                else:
                    open_levels = levels[:]
                    while indent < levels[-1]:
                        levels.pop()
                        yield Token.new_borrow_pos("_DEDENT", indent_str, token)
                    if indent != levels[-1]:
                        raise IndentProblem(token, "dedent", open_levels, indent)
                continue
            yield token
            if token.type in _OPEN:
                depth += 1
            elif token.type in _CLOSE and depth > 0:
                depth -= 1
        while len(levels) > 1:
            levels.pop()
            yield Token.new_borrow_pos("_DEDENT", "", token) if token else Token("_DEDENT", "")


class _NodeBuilder:
    """Builds one rule's node as Lark's callback chain for the rule would, in one call, and gives it its tokens.

    The chain (lark.parse_tree_builder) drops punctuation and keywords,
    splices the children of `_rule`s in, puts maybe_placeholders' None for an
    absent `[x]`, keeps a `?rule`'s only child as it is, and makes the Node; a
    call each, for a million nodes in a large pack. The tokens are by Lark's
    rule (PropagatePositions): a node starts where its first child that has a
    position starts, counting an inlined rule's punctuation, and ends likewise
    at its last. A chain of another shape (another Lark) is called as it is.
    tests/test_parser_positions.py compares every node with a plain Lark's.
    """

    __slots__ = ("chain", "fused", "name", "include", "nones", "span", "pick", "expand1", "first_is_token",
                 "last_is_token")

    def __init__(self, chain, first_is_token: bool, last_is_token: bool, fuse: bool = True):
        self.first_is_token = first_is_token  # the rule's first symbol is a terminal: its first child is a token
        self.last_is_token = last_is_token
        self.chain, self.fused, self.name = chain, False, None
        self.include = self.span = self.pick = None
        self.nones = 0
        self.expand1 = False
        from lark.parse_tree_builder import ChildFilterLALR, ChildFilterLALR_NoPlaceholders, ExpandSingleChild

        link = chain
        if type(link) is ChildFilterLALR:
            self.include, self.nones, link = tuple(link.to_include), link.append_none, link.node_builder
        elif type(link) is ChildFilterLALR_NoPlaceholders:
            self.include, link = tuple((i, expand, 0) for i, expand in link.to_include), link.node_builder
        if type(link) is ExpandSingleChild:
            self.expand1, link = True, link.node_builder
        if not (fuse and type(link) is functools.partial and link.func is Node and len(link.args) == 1
                and not link.keywords):
            self.include, self.nones, self.expand1 = None, 0, False
            return
        self.fused, self.name = True, link.args[0]
        if self.include is not None and not self.nones and not any(e or n for _, e, n in self.include):
            kept = [i for i, _, _ in self.include]  # some children as they are: one slice, or one itemgetter
            if not kept:
                self.span = slice(0, 0)
            elif kept == list(range(kept[0], kept[-1] + 1)):
                self.span = slice(kept[0], kept[-1] + 1)
            else:
                self.pick = operator.itemgetter(*kept)

    @property
    def passes_its_child(self) -> bool:
        """A `?rule` of one symbol, nothing filtered: its one child is what it builds, positions and all."""
        return self.expand1 and self.include is None

    def __call__(self, children: list):
        if not self.fused:
            node = self.chain(children)
        else:
            kids = children
            if self.include is not None:
                if self.span is not None:
                    kids = children[self.span]
                elif self.pick is not None:
                    kids = list(self.pick(children))
                else:
                    kids = _filter(children, self.include, self.nones)
            node = kids[0] if self.expand1 and len(kids) == 1 else Node(self.name, kids)
        if node.__class__ is not Node:
            return node  # a rule inlined into its only child, a token (or None): it has its own position
        if self.first_is_token:
            start = children[0]
        else:
            for c in children:
                if c.__class__ is Node:
                    if c.outer_start is not None:
                        start = c.outer_start
                        break
                elif isinstance(c, Token):
                    start = c
                    break
            else:
                return node  # matched nothing
        if self.last_is_token:
            end = children[-1]
        else:
            for c in reversed(children):
                if c.__class__ is Node:
                    if c.outer_end is not None:
                        end = c.outer_end
                        break
                elif isinstance(c, Token):
                    end = c
                    break
        if node.start is None:  # else an inlined node (`?rule`): its own extent stays, its parent sees the outer
            node.start, node.end = start, end
        node.outer_start, node.outer_end = start, end
        return node


def _ignoring_positions(build):
    """A Lark callback as the happy path calls a rule's builder (a _NodeBuilder finds its positions itself)."""
    call = build.__call__ if isinstance(build, _NodeBuilder) else build  # (a bound method: called faster)
    return lambda context, children, start, end: call(children)


class _NotLaidOut(Exception):
    """A rule the happy path's makers cannot build (another Lark, another grammar)."""


def _picker(include: tuple | None, nones: int):
    """How a rule's children are filtered as Lark's callback chain filters them (_NodeBuilder's include and nones),
    for its maker (dsl/reduce.py), where a `_rule` Lark splices in left its children as a list; or None: all are
    kept."""
    if include is None:
        return None
    if not nones and not any(expand or add for _, expand, add in include):  # some children as they are
        kept = [i for i, _, _ in include]
        if not kept or kept == list(range(kept[0], kept[-1] + 1)):  # one slice (as _NodeBuilder's span)
            return operator.itemgetter(slice(kept[0], kept[-1] + 1) if kept else slice(0, 0))
        pick = operator.itemgetter(*kept)
        return lambda children: list(pick(children))
    # The shapes most reductions have, each in one expression (_splice's loop cost a tenth of building the tree).
    if len(include) == 2 and not nones and not include[0][2] and not include[1][2]:
        (i, expand_i, _), (j, expand_j, _) = include
        if i == 0 and expand_i and not expand_j:  # a left-recursive list growing by one
            return lambda children: _grown(children[0], children[j])
        if not expand_i and expand_j:  # the first of a list, then the rest
            return lambda children: [children[i], *children[j]]
    if not any(expand or add for _, expand, add in include):  # some children as they are, then None for `[x]`s
        pad = [None] * nones
        if len(include) == 1:
            k = include[0][0]
            return lambda children: [children[k], *pad]
        get = operator.itemgetter(*(i for i, _, _ in include)) if include else (lambda children: ())
        return lambda children: [*get(children), *pad]
    return functools.partial(_splice, include, nones)


def _grown(items: list, item) -> list:
    items.append(item)
    return items


def _splice(include: tuple, nones: int, children: list) -> list:
    """Lark's child filter (see _filter) over a rule's built children, where a spliced `_rule`'s are a list."""
    filtered: list = []
    for i, expand, add_none in include:
        if add_none:
            filtered += [None] * add_none
        if expand:
            if filtered:
                filtered += children[i]
            else:  # a left-recursive list: it goes on growing
                filtered = children[i]
        else:
            filtered.append(children[i])
    if nones:
        filtered += [None] * nones
    return filtered


def _expanding(make):
    """A `?rule`'s maker: its only child as it is (with the rule's text, if it matched nothing, as _NodeBuilder
    sets node.start), else make's node."""
    def expand(context, kids: list, start, end):
        if len(kids) != 1:
            return make(context, kids, start, end)
        kid = kids[0]
        if start is not None and getattr(kid, "span", None) is context.nothing:
            kid.span = Span(context.file, start[2], end[7], start[3], start[4], end[5], end[6])  # (tokens: tuples)
        return kid
    return expand


def _filter(children: list, include: tuple, nones: int) -> list:
    """lark.parse_tree_builder.ChildFilterLALR: the children kept, `_rule`s spliced in, None for absent `[x]`s.
    _splice's, each spliced `_rule` node standing for its children list (that very list: a left-recursive one
    goes on growing, as in Lark)."""
    kids = list(children)
    for i, expand, _ in include:
        if expand:
            kids[i] = children[i].children
    return _splice(include, nones, kids)


@functools.lru_cache(maxsize=2)
def _build(keep_all_tokens: bool) -> Lark:
    _with_lark()
    lark = Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        postlex=_Indenter(),
        tree_class=Node,
        maybe_placeholders=True,
        keep_all_tokens=keep_all_tokens,
        cache=grammar_cache(f"grammar-{int(keep_all_tokens)}.lark"),
    )
    # Lark's parser calls these callbacks (one per rule) as it reduces; replaced in place, as the parser
    # holds this very dict (tests/test_parser_positions.py checks every node against Lark's own).
    callbacks = lark._callbacks
    for rule in callbacks:
        symbols = getattr(rule, "expansion", None) or ()
        callbacks[rule] = _NodeBuilder(callbacks[rule], bool(symbols) and symbols[0].is_term,
                                       bool(symbols) and symbols[-1].is_term)
    _lex_faster(lark)
    return lark


def _lex_faster(lark: Lark) -> None:
    """Drive Lark's contextual lexer with one loop of our own instead of its layers of calls per token.

    The same per-state regular expressions, keyword callbacks, ignored terminals
    and line counting as lark.lexer.BasicLexer.next_token, which reading a
    file spent a fifth of its time getting through; anything unexpected
    (no terminal matches: a syntax error) is handed back to Lark's own loop at
    that point, so errors are Lark's. A Lark whose lexer is not laid out as
    expected keeps its own loop. tests/test_parser_positions.py compares every
    token and error with Lark's own lexing.
    """
    from lark.lexer import ContextualLexer

    contextual = getattr(lark.parser.lexer, "lexer", None)  # under the Indenter's PostLexConnector
    if not isinstance(contextual, ContextualLexer):
        return
    lexers = contextual.lexers
    if not all(_lays_out(b) for b in lexers.values()):
        return  # pragma: no cover - another Lark's internals

    contextual.lex = functools.partial(_lex, _LexTables(lexers), contextual.lex)


def _lays_out(basic) -> bool:
    """Whether one state's lexer (a lark.lexer.BasicLexer) has what _LexTables reads."""
    # (the scanner is a property that compiles it: looked up on the class)
    return hasattr(type(basic), "scanner") and hasattr(basic, "ignore_types") and hasattr(basic, "newline_types")


class _LexTables(dict):
    """Parser state -> what its lexer tries, made when first needed (as Lark compiles its scanners)."""

    def __init__(self, lexers: dict):
        super().__init__()
        self.lexers = lexers

    def __missing__(self, state):
        basic = self.lexers[state]
        mres = tuple(basic.scanner._mres)  # building the scanner also sets the keyword callbacks
        self[state] = table = (mres, frozenset(basic.ignore_types), frozenset(basic.newline_types),
                               dict(basic.callback))
        return table


def _lex(tables: dict, lark_lex, lexer_state, parser_state) -> Iterator[Token]:
    """lark.lexer.ContextualLexer.lex, the terminals to try chosen by the parser's state before each token."""
    text = lexer_state.text  # a str up to Lark 1.1, a TextSlice after
    text, end = (text, len(text)) if isinstance(text, str) else (text.text, text.end)
    counter = lexer_state.line_ctr
    pos, line, column, line_start = counter.char_pos, counter.line, counter.column, counter.line_start_pos
    while pos < end:
        mres, ignore, newline, callback = tables[parser_state.position]
        for mre in mres:
            m = mre.match(text, pos, end)
            if m:
                break
        else:  # Lark's own loop reports it, from here
            counter.char_pos, counter.line, counter.column, counter.line_start_pos = pos, line, column, line_start
            yield from lark_lex(lexer_state, parser_state)
            return
        kind = m.lastgroup
        value = m.group(0)
        token = None if kind in ignore and kind not in callback else _token(kind, value, pos, line, column)
        if kind in newline:
            lines = value.count("\n")
            if lines:
                line += lines
                line_start = pos + value.rindex("\n") + 1
        pos = m.end()
        column = pos - line_start + 1
        if token is None:
            continue
        token.end_line, token.end_column, token.end_pos = line, column, pos
        if kind in callback:
            token = callback[kind](token)
        if kind in ignore:
            continue
        counter.char_pos, counter.line, counter.column, counter.line_start_pos = pos, line, column, line_start
        lexer_state.last_token = token
        yield token
    counter.char_pos, counter.line, counter.column, counter.line_start_pos = pos, line, column, line_start


class _KeywordTypes(dict):
    """A word's terminal after Lark's keyword callback (NAME `and` -> AND), remembered: the callback is a pure
    function of the text, and names recur. Bounded, so that a file of made-up names cannot grow it for ever.

    The callback (lark.lexer.UnlessCallback) gives the word the terminal of
    the first of its scanner's expressions that matches all of it, else
    leaves it as it is: so does this, with the same expressions (_lexer_spec).
    """

    def __init__(self, mres: tuple, kind: str):
        super().__init__()
        self.mres, self.kind = mres, kind

    def __missing__(self, value: str) -> str:
        kind = self.kind
        for mre in self.mres:
            m = mre.fullmatch(value)
            if m:
                kind = m.lastgroup
                break
        if len(self) < 4096:
            self[value] = kind
        return kind


def _first_match(mres: tuple, text: str, pos: int, end: int):
    """The first of a lexer's expressions to match (Lark splits one of over 100 terminals)."""
    for mre in mres:
        m = mre.match(text, pos, end)
        if m:
            return m
    return None


def _no_match(text: str, pos: int, end: int) -> None:
    return None


#: What a terminal needs beyond making its token: counting its lines, skipping it, its keyword type, _Indenter's
#: handling (line ends, brackets).
_LINES, _IGNORED, _KEYWORD, _INDENTS = 1, 2, 4, 8
_LAYOUT = _OPEN | _CLOSE | {"_NL"}

#: Spaces and tabs between tokens, when the grammar ignores them as one terminal: skipped by the expression that
#: matches the next token (a third of all matches were of them), where _blanks_first shows that it is the same.
_BLANKS = "[\t ]*"


#: Terminals' expressions as the grammar has them, and the same in a form Python's re matches several times faster (no
#: group, and no alternation, per character): a string with its escapes (a sixth of all matching time), a text block
#: up to the first `"""` after its own, a number. Each matches exactly what the grammar's does, at every position
#: (tests/test_parser_reduce.py compares them), where the grammar's is what Lark's lexer is given.
_FASTER = {
    '"(?!"")([^"\\\\\n]|\\\\.)*"': '"(?!"")[^"\\\\\n]*(?:\\\\.[^"\\\\\n]*)*"',
    '"""(.|\n)*?"""': '"""[^"]*(?:"(?!"")[^"]*)*"""',
    "\\d+(\\.\\d+)?": "\\d+(?:\\.\\d+)?",
}


def _faster(pattern: str, terminals: list) -> str:
    """A lexer's expression (its terminals, each a named group) with the terminals of _FASTER in their faster form."""
    for t in terminals:
        regexp = t.pattern.to_regexp()
        if regexp in _FASTER:
            pattern = pattern.replace(f"(?P<{t.name}>{regexp})", f"(?P<{t.name}>{_FASTER[regexp]})")
    return pattern


def _blanks_first(terminals: list, ignore: frozenset) -> bool:
    """Whether a lexer's expression, its terminals tried in this order, matches all the spaces and tabs that come
    next as one ignored terminal: then skipping them first finds the same next token."""
    for t in terminals:
        regexp = t.pattern.to_regexp()
        if t.name in ignore and regexp in ("[\t ]+", "[ \t]+", r"[\t ]+", r"[ \t]+"):
            return True
        if _regexp_may_start_blank(regexp):
            return False  # this terminal might match at a blank, before the blanks' own
    return False


@functools.lru_cache(maxsize=None)
def _regexp_may_start_blank(regexp: str) -> bool:
    try:
        return _may_start_blank(sre_parse.parse(regexp)) is not False
    except Exception:  # noqa: BLE001 - an expression this reading does not follow: it may
        return True


def _may_start_blank(items) -> bool | None:
    """Whether a parsed expression (re's parser) may match text starting with a space or a tab; True where this
    reading is unsure, None where the expression may match nothing at all (what follows it decides)."""
    c = sre_constants
    for op, av in items:
        if op is c.LITERAL:
            return av in (9, 32)
        if op is c.IN:  # a class: [...] or [^...]
            blank_in = {c.CATEGORY_SPACE: True, c.CATEGORY_NOT_DIGIT: True, c.CATEGORY_NOT_WORD: True,
                        c.CATEGORY_NOT_LINEBREAK: True, c.CATEGORY_DIGIT: False, c.CATEGORY_WORD: False,
                        c.CATEGORY_NOT_SPACE: False, c.CATEGORY_LINEBREAK: False}
            negate = av[:1] == [(c.NEGATE, None)]
            for blank in (9, 32):
                hit = False
                for kind, arg in av[negate:]:
                    if kind is c.LITERAL:
                        hit = hit or arg == blank
                    elif kind is c.RANGE:
                        hit = hit or arg[0] <= blank <= arg[1]
                    elif kind is c.CATEGORY and arg in blank_in:
                        hit = hit or blank_in[arg]
                    else:
                        return True
                if hit != negate:
                    return True
            return False
        if op is c.SUBPATTERN:
            first = _may_start_blank(av[-1])
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT):
            first = _may_start_blank(av[2])
            if first is False and av[0] == 0:
                first = None
        elif op is c.BRANCH:
            firsts = [_may_start_blank(b) for b in av[1]]
            first = True if True in firsts else None if None in firsts else False
        elif op in (c.ASSERT, c.ASSERT_NOT, c.AT):
            continue  # matches no character (and may only make a match fail)
        else:
            return True
        if first is not None:
            return first
    return None


def _tables(lark: Lark) -> tuple[dict, list, dict] | None:
    """Lark's tables as the happy path reads them, in plain values: the start and end states, the LALR table (state ->
    symbol -> a state to shift to, or ~i to reduce by the i-th rule), and each rule's (length, name, how its node
    is built: None where a `?rule` passes its one child on, else _NodeBuilder's (name, expand1, include, nones,
    whether a token is kept), or False for a chain it does not know); with Lark's rules in that order, and its
    lexers by state. None where Lark's internals are not laid out as expected."""
    from lark.lexer import ContextualLexer
    from lark.parsers.lalr_analysis import Shift

    try:
        frontend = lark.parser
        contextual = frontend.lexer.lexer  # under the Indenter's PostLexConnector
        table = frontend.parser.parser.parse_table
        callbacks = frontend.parser.parser.callbacks
        (start,) = lark.options.start
        states, start_state, end_state = table.states, table.start_states[start], table.end_states[start]
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    if not (isinstance(contextual, ContextualLexer) and isinstance(lark.options.postlex, _Indenter)
            and all(_lays_out(b) for b in contextual.lexers.values())
            and callbacks is lark._callbacks and not any(isinstance(k, str) for k in callbacks)
            and all(isinstance(k, int) for k in states) and not states.get(end_state)
            and not any(row.get("$END", (None,))[0] is Shift for row in states.values())):
        return None  # (the loop ends at the end state, which has no action, and never shifts the end)
    actions: dict = {state: {} for state in states}
    reductions: dict = {}
    for state, row in states.items():
        for symbol, (action, arg) in row.items():
            # (names are plain strings: Lark's may be Tokens, which marshal does not write)
            if action is Shift:
                actions[state][str(symbol)] = arg
            else:
                actions[state][str(symbol)] = ~reductions.setdefault(arg, len(reductions))
    rules = []
    for rule in reductions:
        build, size = callbacks[rule], len(rule.expansion)
        if isinstance(build, _NodeBuilder) and size == 1 and build.passes_its_child:
            plan: Any = None
        elif isinstance(build, _NodeBuilder) and build.fused:
            plan = (str(build.name), build.expand1, build.include, build.nones,
                    any(rule.expansion[i].is_term for i, _, _ in build.include or ()))
        else:
            plan = False
        rules.append((size, str(rule.origin.name), plan))
    return ({"start": start_state, "end": end_state, "actions": actions, "rules": tuple(rules)}, list(reductions),
            contextual.lexers)


class _LarkLexers(dict):
    """Parser state -> its lexer's spec (_lexer_spec), made from Lark's lexer for it when first needed; states that
    share a lexer share its spec."""

    def __init__(self, lexers: dict):
        super().__init__()
        self.lexers = lexers
        self.made: dict = {}  # id of Lark's lexer (kept alive by lexers) -> its spec
        self.tables: dict = {}  # a keyword table -> itself, so that equal ones are one (and kept once)

    def __missing__(self, state: int):
        basic = self.lexers[state]
        if id(basic) not in self.made:
            self.made[id(basic)] = _lexer_spec(basic, self.tables)
        self[state] = spec = self.made[id(basic)]
        return spec


def _lexer_spec(basic, tables: dict):
    """What the happy path's lexer does in the states that share one of Lark's (a lark.lexer.BasicLexer), in plain
    values: (its expressions as (pattern, flags), the terminals that need more than making a token with their
    _LINES/_IGNORED/_KEYWORD/_INDENTS flags, each word terminal's keyword table: the (pattern, flags) of its
    keyword callback's expressions); None for a lexer with callbacks other than keywords (not on the happy path)."""
    from lark.lexer import UnlessCallback

    mres = tuple(basic.scanner._mres)  # building the scanner also sets the keyword callbacks
    ignore, newline = frozenset(map(str, basic.ignore_types)), frozenset(map(str, basic.newline_types))
    callback = {str(kind): c for kind, c in basic.callback.items()}
    if not all(type(c) is UnlessCallback for c in callback.values()) or ignore & callback.keys():
        return None
    keywords = {}
    for kind, c in callback.items():
        table = tuple((m.pattern, m.flags) for m in c.scanner._mres)
        keywords[kind] = tables.setdefault(table, table)
    special: dict = {}
    for kinds, flag in ((newline, _LINES), (ignore, _IGNORED), (keywords, _KEYWORD), (_LAYOUT, _INDENTS)):
        for kind in kinds:
            special[kind] = special.get(kind, 0) | flag
    terminals = basic.scanner.terminals
    if len(mres) > 1:
        patterns = tuple((m.pattern, m.flags) for m in mres)
    elif _blanks_first(terminals, ignore):
        patterns = ((f"{_BLANKS}(?:{_faster(mres[0].pattern, terminals)})", mres[0].flags),)
    else:
        patterns = ((_faster(mres[0].pattern, terminals), mres[0].flags),)
    return patterns, special, keywords


class _HappyPath:
    """Parses a file without syntax errors in one loop of ours, or gives up (None) and Lark parses it.

    Lark spends about 3 µs a token passing it through a lexer generator, the
    indenter's generator and ParserState.feed_token. This loop does the same
    three things with Lark's own tables: the contextual lexer's per-state
    expressions and keyword callbacks, _Indenter's rules, Lark's LALR table
    and the callbacks that build each rule's node. Anything off the happy
    path (no terminal matches, a token the table has no action for, an
    indentation problem, too many tokens) gives up at once, so that every
    error, its diagnostics and the recovery stay Lark's and _Indenter's.
    tests/test_parser_fastpath.py compares it with Lark's own parse.

    With makers (dsl/reduce.py, for the front end), each reduction builds the
    syntax tree's node instead of Lark's, from the values its children built
    and the tokens its text starts and ends with by Lark's rules (kept beside
    the stack, as Lark keeps them in each node); tokens are then tuples, which
    no node keeps. An expression nested as deep as dsl/build.py refuses gives up
    too. tests/test_parser_reduce.py compares the tree with dsl/build.py's.
    """

    def __init__(self, tables: dict, specs, makers=None, builds: list | None = None):
        """From the plain tables of _tables (a dict of ints, strings, tuples), the lexers' specs (state -> _lexer_spec,
        made when first needed), and makers (dsl/reduce.py) or else Lark's callbacks for the rules (builds)."""
        self.tables, self.specs = tables, specs
        self.lexers = _Lexers(self._lexer)
        self.keywords: dict = {}  # (a word's terminal, its keyword table) -> _KeywordTypes
        self.shared: dict = {}  # id of a lexer's spec (states with the same terminals share one) -> ours
        self.start, self.end = tables["start"], tables["end"]
        # Lark's table, state -> symbol -> a state to shift to, or ~i to reduce by the rule rules[i]: (symbols taken
        # off the stack, the state to go to after it from each state left on top, what builds its node or None where
        # a `?rule` of one symbol keeps its child as it is; what filters its children first, or None).
        self.actions: dict = tables["actions"]
        gotos: dict = {}  # a rule's name -> {state: the state after the rule from there}
        for state, row in self.actions.items():
            for symbol, act in row.items():
                if act >= 0:
                    gotos.setdefault(symbol, {})[state] = act  # (terminals too: never looked up)
        self.context = makers.context if makers is not None else None
        self.rules = tuple(self._reduction(size, gotos.get(origin, {}), plan, makers, builds and builds[i])
                           for i, (size, origin, plan) in enumerate(tables["rules"]))

    @staticmethod
    def _reduction(size: int, goto: dict, plan, makers, build) -> tuple:
        """What reducing by a rule does: (its length, its gotos, fn(context, children, start, end) -> its value, or
        None where a `?rule` of one symbol keeps its child as it is; what filters its children first, or None)."""
        if plan is None:
            return size, goto, None, None
        if makers is None:
            return size, goto, _ignoring_positions(build), None
        if plan is False:  # a callback chain _NodeBuilder does not know
            raise _NotLaidOut(goto)
        name, expand1, include, nones, includes_token = plan
        make = makers.MAKERS.get(name) or (makers.inlined if name.startswith("_") else None)
        one = expand1 and include is not None and len(include) == 1 and not nones and not any(
            expand or nones for _, expand, nones in include)  # an inlined rule that always passes its child
        if (make is None and not one) or (expand1 and includes_token):  # (a token's position is its own)
            raise _NotLaidOut(name)
        return size, goto, _expanding(make) if expand1 else make, _picker(include, nones)

    @classmethod
    def of(cls, lark: Lark, makers=None) -> _HappyPath | None:
        """The happy path over a Lark built by _build, or None where Lark's internals are not laid out as expected;
        with makers (dsl/reduce.py), one that builds the syntax tree as it reduces."""
        found = _tables(lark)
        if found is None:
            return None
        tables, rules, lexers = found
        callbacks = lark._callbacks
        try:
            return cls(tables, _LarkLexers(lexers), makers, None if makers is not None else [callbacks[r] for r in rules])
        except _NotLaidOut:
            return None

    @classmethod
    def kept(cls, data: dict, makers) -> _HappyPath | None:
        """The happy path from what plain() gave (read back from the grammar cache), with no Lark; None where the
        makers have changed since (else it is as the one of() gives)."""
        try:
            return cls(data, data["lexers"], makers)
        except _NotLaidOut:
            return None

    def plain(self) -> dict:
        """Everything this path was made of, as plain values (dicts, tuples, strings, ints): what kept() takes."""
        for state in self.actions:
            self.specs[state]  # (each state's lexer spec, made now)
        return {**self.tables, "lexers": {state: self.specs[state] for state in self.actions}}

    def _lexer(self, state: int) -> tuple:
        """What the lexer does in a parser state: a function matching its terminals at a position, the terminals that
        need more than making a token (_LINES, _IGNORED, _KEYWORD, _INDENTS), the keyword types of words; a lexer with
        callbacks other than keywords matches nothing (not on the happy path)."""
        spec = self.specs[state]
        lexer = self.shared.get(id(spec))
        if lexer is None:
            self.shared[id(spec)] = lexer = self._new_lexer(spec)
        return lexer

    def _new_lexer(self, spec) -> tuple:
        if spec is None:
            return _no_match, {}, {}
        patterns, special, tables = spec
        keywords = {}
        for kind, table in tables.items():
            if (kind, table) not in self.keywords:
                self.keywords[kind, table] = _KeywordTypes(tuple(re.compile(p, f) for p, f in table), kind)
            keywords[kind] = self.keywords[kind, table]
        if len(patterns) > 1:
            match = functools.partial(_first_match, tuple(re.compile(p, f) for p, f in patterns))
        else:
            match = re.compile(*patterns[0]).match
        return match, special, keywords

    def parse(self, text: str, file: str = "<text>"):
        """The tree Lark would build of a text ending with a newline (or with makers, the syntax tree of the file at
        that path), or None for Lark to parse it."""
        if self.context is None:
            return self._parse(text, file)
        try:
            return self._parse(text, file)
        except Exception:  # noqa: BLE001 - nested too deep (GiveUp), or else: Lark's parse and dsl/build.py say
            return None

    def _parse(self, text: str, file: str):
        lexers, actions, rules = self.lexers, self.actions, self.rules
        limit = MAX_TOKENS  # read now: tests lower it
        end = len(text)
        pos, line, line_start = 0, 1, 0
        state = self.start
        stack = [state]  # the parser's states, and beside them the values of its symbols
        values: list = []
        outs: dict = {}  # place in values -> the outer start and end tokens of the rule's node there
        context = self.context(file) if self.context is not None else None
        # Building the syntax tree (dsl/reduce.py), a token is a tuple (type, value, start_pos, line, column,
        # end_line, end_column, end_pos): a fifth of the cost of making a Lark Token, and no tree holds it.
        tuples = context is not None
        tokens = tuple if tuples else Token  # (the class of a token among the values; no rule's value is one)
        levels = [0]  # the indentation of each open block
        style = None  # the character every indentation uses (the first one's)
        depth = 0  # brackets open: newlines inside them are not the end of a line
        count = 0
        last = None  # the last token read
        made: list = []  # tokens of ours to parse next (_INDENT, _DEDENT, the end), the next one last
        while True:
            if made:
                token = made.pop()
                kind = token[0] if tuples else token.type
            else:
                match, special, keywords = lexers[state]
                m = match(text, pos, end)
                if m is None:
                    if pos < end:
                        return None  # no terminal matches: a syntax error
                    # The blocks still open close, then the end: reductions up to the end state, where no action is.
                    made = [_made("$END", "", None, tuples)] + [_made("_DEDENT", "", last, tuples) for _ in levels[1:]]
                    continue
                kind = m.lastgroup
                value = m.group(kind)  # (blanks before it skipped)
                pos = m.end()
                start = pos - len(value)
                column = start - line_start + 1
                flags = special.get(kind)
                if flags is None:  # most tokens: nothing to do but make it
                    if tuples:
                        token = (kind, value, start, line, column, line, pos - line_start + 1, pos)
                    else:
                        token = _token(kind, value, start, line, column, line, pos - line_start + 1, pos)
                else:
                    start_line = line
                    if flags & _LINES:
                        lines = value.count("\n")
                        if lines:
                            line += lines
                            line_start = start + value.rindex("\n") + 1
                    if flags & _IGNORED:
                        continue
                    if flags & _KEYWORD:
                        kind = keywords[kind][value]
                    if tuples:
                        token = (kind, value, start, start_line, column, line, pos - line_start + 1, pos)
                    else:
                        token = _token(kind, value, start, start_line, column, line, pos - line_start + 1, pos)
                    if kind == "_NL":  # as _Indenter.process
                        if depth:
                            count += 1
                            if count > limit:
                                return None
                            last = token
                            continue
                        at = value.rfind("\n")
                        if at < 0:
                            return None
                        indent_str = value[at + 1:]
                        indent = 0
                        if indent_str:
                            if style is None:
                                style = indent_str[0]
                            if (" " in indent_str and "\t" in indent_str) or indent_str[0] != style:
                                return None
                            indent = indent_str.count(" ") + indent_str.count("\t") * TAB_WIDTH
                        if indent > levels[-1]:
                            levels.append(indent)
                            made.append(_made("_INDENT", indent_str, token, tuples))
                        elif indent < levels[-1]:
                            while indent < levels[-1]:
                                levels.pop()
                                made.append(_made("_DEDENT", indent_str, token, tuples))
                            if indent != levels[-1]:
                                return None
                    elif kind in _OPEN:
                        depth += 1
                    elif depth and kind in _CLOSE:
                        depth -= 1
                count += 1
                if count > limit:
                    return None
                last = token
            while True:  # reduce, then shift the token
                try:
                    act = actions[state][kind]
                except KeyError:
                    return values[-1] if state == self.end and kind == "$END" else None
                if act >= 0:
                    state = act
                    stack.append(state)
                    values.append(token)
                    break
                size, goto, build, pick = rules[~act]
                if build is None:
                    del stack[-1]
                else:
                    at = len(values) - size
                    if size:
                        children = values[at:]
                        del values[at:]
                        del stack[-size:]
                        # The tokens the rule's text starts and ends with, by Lark's rule (_NodeBuilder): a token
                        # child's own, else the outer ones of the first/last child that has any.
                        s = children[0]
                        if s.__class__ is not tokens:
                            s = outs[at][0]
                            if s is None:
                                s = _first(children, outs, at, 0, tokens)
                        e = children[-1]
                        if e.__class__ is not tokens:
                            e = outs[at + size - 1][1]
                            if e is None:
                                e = _first(children[::-1], outs, at + size - 1, 1, tokens)
                    else:
                        children = []
                        s = e = None
                    values.append(build(context, children if pick is None else pick(children), s, e))
                    outs[at] = (s, e)
                state = goto[stack[-1]]
                stack.append(state)


def _made(kind: str, value: str, borrow, tuples: bool):
    """A token of the indenter's (_INDENT, _DEDENT) or the end, where another token is (or nowhere, for none)."""
    if tuples:
        return (kind, value, *(borrow[2:] if borrow is not None and borrow[1] else (None,) * 6))
    if kind == "$END":
        return _token(kind, value)
    return Token.new_borrow_pos(kind, value, borrow) if borrow else Token(kind, value)


def _first(children: list, outs: dict, at: int, which: int, tokens: type):
    """The start (which=0) of the first child that has one, children counted from `at` in the stack; or, children
    reversed and counted down from `at`, the end (which=1) of the last."""
    step = 1 - 2 * which
    for i, c in enumerate(children):
        if c.__class__ is tokens:
            return c
        t = outs[at + i * step][which]
        if t is not None:
            return t
    return None


class _Lexers(dict):
    """Parser state -> what the happy path's lexer does in it, made when first needed."""

    def __init__(self, make):
        super().__init__()
        self.make = make

    def __missing__(self, state: int) -> tuple:
        self[state] = lexer = self.make(state)
        return lexer


def grammar_cache(name: str) -> str | bool:
    """Where Lark keeps the analysed grammar between processes, or False for none.

    Analysing the grammar is about 0.1 s of every process that compiles (the
    cache: about 13 ms); Lark checks the grammar, its options and its own
    version against the file, and rebuilds it when they differ. The file is
    a pickle, and loading one that someone else wrote would run their code, so
    it lives only in a folder of mtus's cache (MTUS_CACHE_DIR, else
    ~/.cache/mtus) that this user owns and no one else can write to. The
    happy path's tables (_front_path) are kept there too.
    """
    try:
        import resource
    except ImportError:  # not a Unix
        resource = None  # type: ignore[assignment]
    if resource is not None and resource.getrlimit(resource.RLIMIT_FSIZE)[0] == 0:
        return False  # a process that may write no file (the server's sandboxed workers) keeps no cache
    base = os.environ.get("MTUS_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "mtus")
    folder = os.path.join(base, "grammar")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        st = os.lstat(folder)
    except OSError:
        return False
    getuid = getattr(os, "getuid", None)
    if not stat.S_ISDIR(st.st_mode) or st.st_mode & 0o022 or (getuid is not None and st.st_uid != getuid()):
        return False
    return os.path.join(folder, name)


@functools.lru_cache(maxsize=2)
def _happy_path(lark: Lark) -> _HappyPath | _LarkOnly:
    return _HappyPath.of(lark) or _LarkOnly()


@functools.lru_cache(maxsize=2)
def _building_path(lark: Lark) -> _HappyPath | _LarkOnly:
    """The happy path that builds the syntax tree as it reduces (dsl/reduce.py), else the one that builds Lark's."""
    from mtus.dsl import reduce  # (it reads dsl/build.py, which reads this module)

    return _HappyPath.of(lark, reduce) or _happy_path(lark)


#: The file in the grammar cache that keeps the front end's happy path (_HappyPath.plain()) between processes.
_KEPT = "happy-path.marshal"
_KEPT_MAGIC = b"mtus happy path 1\n"
#: A kept file is about 250 KiB; one far larger is not ours.
_KEPT_MAX = 16 * 1024 * 1024


@functools.lru_cache(maxsize=1)
def _front_path() -> _HappyPath | _LarkOnly:
    """The happy path the front end reads files with: made from the tables kept in the grammar cache, without
    importing Lark (about half of linting one guideline); else from Lark's own, keeping its tables for the next
    process. A kept file that is damaged, not this user's, or made from another grammar, Lark or parser is not used
    (and is made again)."""
    from mtus.dsl import reduce  # (it reads dsl/build.py, which reads this module)

    where = grammar_cache(_KEPT)
    key = _kept_key() if where else None
    if where and key:
        data = _read_kept(where, key)
        if data is not None:
            try:
                happy = _HappyPath.kept(data, reduce)
            except Exception:  # noqa: BLE001 - not laid out as plain() writes it: made again
                happy = None
            if happy is not None:
                return happy
    happy = _building_path(_lark())
    if where and key and isinstance(happy, _HappyPath) and happy.context is not None:
        _keep(where, key, happy.plain())
    return happy


def _kept_key() -> bytes | None:
    """What the kept tables depend on, hashed: the grammar's text, Lark's version (its package's __init__.py, which
    has it, read without importing Lark), this module's code and Python's version; None where one cannot be read."""
    try:
        spec = importlib.util.find_spec("lark")
        origin = spec.origin if spec is not None else None
        if origin is None:
            return None
        key = hashlib.sha256()
        for part in (grammar_text().encode("utf-8"), _bytes(origin), _bytes(__file__), sys.version.encode()):
            key.update(hashlib.sha256(part).digest())
        return key.digest()
    except (OSError, ImportError, ValueError):
        return None


def _bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _read_kept(path: str, key: bytes) -> dict | None:
    """The tables kept at path for this key, or None: no file, not a regular file this user owns, damaged (its
    digest), or made for another key. marshal of plain values: reading it runs no code."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        try:
            st = os.fstat(fd)
            getuid = getattr(os, "getuid", None)
            if (not stat.S_ISREG(st.st_mode) or (getuid is not None and st.st_uid != getuid())
                    or st.st_size > _KEPT_MAX):
                return None
            blob = f.read(_KEPT_MAX + 1)
        except OSError:
            return None
    head = len(_KEPT_MAGIC)
    if blob[:head] != _KEPT_MAGIC or blob[head:head + 32] != key:
        return None
    if hashlib.sha256(blob[head:head + 32] + blob[head + 64:]).digest() != blob[head + 32:head + 64]:
        return None
    try:
        data = marshal.loads(blob[head + 64:])
    except (EOFError, ValueError, TypeError):
        return None
    return data if type(data) is dict else None


def _keep(path: str, key: bytes, data: dict) -> None:
    """Write the tables for the next process (magic, key, digest of key and payload, payload), whole or not at all."""
    import tempfile

    try:
        payload = marshal.dumps(data)
    except ValueError:  # pragma: no cover - a value plain() should not have made (tests/test_parser_kept.py)
        return
    blob = _KEPT_MAGIC + key + hashlib.sha256(key + payload).digest() + payload
    try:
        fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".happy-path-")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(temporary, path)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass


class _LarkOnly:
    """Where Lark's internals are not as _HappyPath expects: every text is Lark's to parse."""

    @staticmethod
    def parse(text: str, file: str = "<text>") -> None:
        return None


def _lark() -> Lark:
    """The parser the front end uses: punctuation and keywords are dropped from the tree."""
    return _build(False)


def terminal_pattern(name: str) -> str | None:
    """The literal text of a keyword or punctuation terminal, e.g. COLON -> ":"."""
    try:
        pattern = _lark().get_terminal(name).pattern
    except KeyError:
        return None
    return pattern.value if pattern.type == "str" else None


@attrs.frozen
class ParseResult:
    #: Lark's tree for dsl/build.py; or, from the happy path, the syntax tree already built (build() passes it on)
    tree: Tree | ast.Guideline | ast.Formulary | None
    diagnostics: tuple[diag.Diagnostic, ...]


def _run(lark: Lark, source: Source, building: bool = False) -> ParseResult:
    from lark.exceptions import LarkError, UnexpectedInput

    text = source.text
    if not text.endswith("\n"):
        text += "\n"  # every statement ends with a newline; offsets are unchanged
    try:
        happy = _building_path(lark) if building else _happy_path(lark)
        return ParseResult(happy.parse(text, source.path) or lark.parse(text), ())
    except IndentProblem as e:
        return ParseResult(None, (indent_error(source, e),))
    except TooManyTokens as e:
        at = e.token.start_pos or 0
        return ParseResult(None, (diag.error(
            "E901", f"the guideline has more than {MAX_TOKENS:,} words, names, numbers and symbols; "
            f"a guideline may have at most {MAX_TOKENS:,}", source.span(at, max(at + 1, e.token.end_pos or 0)),
            hint="split it into several guidelines (the largest bundled one has about 1,500)"),))
    except UnexpectedInput as e:
        return ParseResult(None, (syntax_error(source, e),))
    except LarkError as e:  # pragma: no cover - Lark internals we have not seen fail
        return ParseResult(None, (diag.error("E110", "the file could not be parsed", source.whole(),
                                             hint=f"the parser reported: {e}"),))


#: Syntax errors reported per file: the first, and independent ones after it.
MAX_SYNTAX_ERRORS = 5
#: Each further error costs a parse of the file again: beyond this size (3.5 times the largest bundled
#: guideline) only the first is reported, so that a hostile file cannot make lint parse it 5 times over.
MAX_RECOVERY_CHARS = 64 * 1024
#: Errors after which the rest of the file cannot be read apart from them.
_FINAL = frozenset({"E111", "E103", "E901"})


def parse(source: Source) -> ParseResult:
    """Parse one source file. Returns a tree, or its syntax errors as diagnostics (the first, then others found
    by reading the file again without the statement in error, while each is further down)."""
    text = source.text if source.text.endswith("\n") else source.text + "\n"  # (as _run)
    tree = _front_path().parse(text, source.path)
    if tree is not None:
        return ParseResult(tree, ())
    result = _run(_lark(), source, building=True)
    if result.tree is not None or not result.diagnostics:
        return result
    found = [result.diagnostics[0]]
    text = source.text
    while len(found) < MAX_SYNTAX_ERRORS and found[-1].code not in _FINAL and len(text) <= MAX_RECOVERY_CHARS:
        blanked, end = _set_aside(text, found[-1].span.line)
        if not _statements_before(text, found[-1].span.line):
            break  # an error in the file's first line: without it nothing below can be read
        again = _run(_lark(), Source(source.path, blanked))
        if again.tree is not None or not again.diagnostics:
            break
        d = again.diagnostics[0]
        if d.span.start < end or d.code in _FINAL:  # not clear of what was set aside: a consequence of it
            break
        found.append(d)  # the same offsets: setting aside keeps every character's position
        text = blanked
    return ParseResult(None, tuple(found))


def _set_aside(text: str, line: int) -> tuple[str, int]:
    """text with the statement on a line (from where it starts, with the lines indented under it) blanked out,
    every character but line ends a space; and the offset where what was blanked ends."""
    lines = text.split("\n")
    depth = _bracket_depths(lines)
    first = min(max(line - 1, 0), len(lines) - 1)
    while first > 0 and (depth[first] > 0 or lines[first - 1].rstrip().endswith("\\")):
        first -= 1  # a statement continued from the lines above starts there
    indent = len(lines[first]) - len(lines[first].lstrip())
    last = first + 1
    while last < len(lines) and (depth[last] > 0 or not lines[last].strip() or lines[last].lstrip().startswith("#")
                                 or len(lines[last]) - len(lines[last].lstrip()) > indent):
        last += 1
    while last > first + 1 and not lines[last - 1].strip():
        last -= 1  # blank lines after the block stay
    out = lines[:first] + [" " * len(x) for x in lines[first:last]] + lines[last:]
    return "\n".join(out), sum(len(x) + 1 for x in lines[:last])


def _statements_before(text: str, line: int) -> bool:
    """Whether a line other than blank lines and comments comes before the given line."""
    return any(x.strip() and not x.lstrip().startswith("#") for x in text.split("\n")[:max(line - 1, 0)])


def _bracket_depths(lines: list[str]) -> list[int]:
    """The depth of open brackets at the start of each line, strings and comments aside (a rough reading:
    it only decides how much of the file an error sets aside)."""
    depths, depth, in_block = [], 0, False
    for line in lines:
        depths.append(depth)
        i = 0
        while i < len(line):
            if in_block:
                end = line.find('"""', i)
                if end < 0:
                    break
                in_block, i = False, end + 3
                continue
            c = line[i]
            if line.startswith('"""', i):
                in_block, i = True, i + 3
                continue
            if c == "#":
                break
            if c == '"':
                end = line.find('"', i + 1)
                i = len(line) if end < 0 else end + 1
                continue
            if c in "([{":
                depth += 1
            elif c in ")]}" and depth > 0:
                depth -= 1
            i += 1
    return depths


# ------------------------------------------------------- tokens, for tooling
# The formatter, the language server and the highlighter's tests need the
# tokens as the parser read them (its contextual lexer decides NAME vs UNIT vs
# keyword). Comments, line breaks and `\` continuations are not tokens: they
# are everything between two tokens' spans.

@attrs.frozen
class Lexeme:
    """One token of a file: `kind` is a terminal of the grammar (NAME, STRING, TEXT_BLOCK,
    NUMBER, INT, DATE, UNIT, PAGE_SPEC, CPT_CODE, COMPARE, ADD_OP, MUL_OP), or KEYWORD for
    a word of the language (`guideline`, `and`, `not`) and PUNCT for `( ) { } [ ] , : . % =` and the `-`
    of a range (`3-8`; arithmetic's `-` is ADD_OP)."""

    kind: str
    text: str
    start: int
    end: int


@attrs.frozen
class LexResult:
    lexemes: tuple[Lexeme, ...] | None  # None after a syntax error
    diagnostics: tuple[diag.Diagnostic, ...]


def _lark_all_tokens() -> Lark:
    """The same grammar keeping every token, for the formatter's lexemes."""
    return _build(True)


@functools.lru_cache(maxsize=1)
def _literal_terminals() -> dict[str, str]:
    """Terminal name -> its literal text, for the keyword and punctuation terminals."""
    return {t.name: t.pattern.value for t in _lark().terminals if t.pattern.type == "str"}


def keywords() -> frozenset[str]:
    """Every word of the language as Lark reads the grammar; mtus.grammar.keywords() is the list to use."""
    return frozenset(v for v in _literal_terminals().values() if v[:1].isalpha())  # `icd10` too


def lex(source: Source) -> LexResult:
    """The tokens of a file that parses, in order; or its first syntax error."""
    parsed = _run(_lark_all_tokens(), source)
    if parsed.tree is None:
        return LexResult(None, parsed.diagnostics)
    literal = _literal_terminals()
    out = []
    for tok in parsed.tree.scan_values(lambda v: isinstance(v, Token)):
        if tok.type in ("_NL", "_INDENT", "_DEDENT"):
            continue
        kind = tok.type
        if kind in literal:
            kind = "KEYWORD" if literal[kind][:1].isalpha() else "PUNCT"
        out.append(Lexeme(kind, str(tok), tok.start_pos, tok.end_pos))
    out.sort(key=lambda lx: lx.start)
    return LexResult(tuple(out), ())
