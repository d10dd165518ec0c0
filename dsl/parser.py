"""The only facade over Lark: text in, Lark tree or diagnostics out.

Lark's exceptions never leave this module. Syntax errors are phrased for
guideline authors: what was expected, in words, and what was found.
"""

from __future__ import annotations

import functools
from typing import Iterator

import attrs
from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from dsl import diagnostics as diag
from dsl.source import Source, Span
from grammar import grammar_text

TAB_WIDTH = 8
_OPEN = {"LPAR", "LSQB", "LBRACE"}
_CLOSE = {"RPAR", "RSQB", "RBRACE"}


class _IndentError(Exception):
    def __init__(self, token: Token, expected: list[int], found: int):
        self.token = token
        self.expected = expected
        self.found = found


class _Indenter:
    """Turns newlines into _INDENT/_DEDENT tokens (ignored inside brackets).

    Like lark.indenter.Indenter, but an inconsistent dedent reports where it
    happened, and a stray closing bracket is left for the parser to report.
    """

    always_accept = ("_NL",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        levels = [0]
        depth = 0
        token = None
        for token in stream:
            if token.type == "_NL":
                if depth > 0:
                    continue
                yield token
                indent_str = token.value.rsplit("\n", 1)[1]
                indent = indent_str.count(" ") + indent_str.count("\t") * TAB_WIDTH
                if indent > levels[-1]:
                    levels.append(indent)
                    yield Token.new_borrow_pos("_INDENT", indent_str, token)
                else:
                    while indent < levels[-1]:
                        levels.pop()
                        yield Token.new_borrow_pos("_DEDENT", indent_str, token)
                    if indent != levels[-1]:
                        raise _IndentError(token, levels[:], indent)
                continue
            yield token
            if token.type in _OPEN:
                depth += 1
            elif token.type in _CLOSE and depth > 0:
                depth -= 1
        while len(levels) > 1:
            levels.pop()
            yield Token.new_borrow_pos("_DEDENT", "", token) if token else Token("_DEDENT", "")


@functools.lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        postlex=_Indenter(),
        propagate_positions=True,
        maybe_placeholders=True,
    )


@attrs.frozen
class ParseResult:
    tree: Tree | None
    diagnostics: tuple[diag.Diagnostic, ...]


def parse(source: Source) -> ParseResult:
    """Parse one source file. Returns a tree, or the first syntax error as a diagnostic."""
    text = source.text
    if not text.endswith("\n"):
        text += "\n"  # every statement ends with a newline; offsets are unchanged
    try:
        return ParseResult(_lark().parse(text), ())
    except _IndentError as e:
        return ParseResult(None, (_indent_error(source, e),))
    except UnexpectedInput as e:
        return ParseResult(None, (_syntax_error(source, e),))
    except LarkError as e:  # pragma: no cover - Lark internals we have not seen fail
        return ParseResult(None, (diag.error("E110", f"the file could not be parsed: {e}", source.whole()),))


# ------------------------------------------------------------------ messages
_WORDS = {
    "NAME": "a name",
    "STRING": 'a quoted text such as "fibromyalgia"',
    "TEXT_BLOCK": 'a """text block"""',
    "NUMBER": "a number",
    "INT": "a whole number",
    "DATE": "a date such as 2014-12-18",
    "PAGE_SPEC": "a page such as 122 or 74-96",
    "CPT_CODE": "a CPT code such as 20552",
    "COMPARE": "a comparison such as `>= 3 months`",
    "ADD_OP": "`+` or `-`",
    "MUL_OP": "`*` or `/`",
    "UNIT": "a unit such as `months` or `mg`",
    "_NL": "the end of the line",
    "_INDENT": "an indented line",
    "_DEDENT": "a line with less indentation",
    "EXCLUDE": "`exclude`",
    "$END": "the end of the file",
}

# Groups of expected tokens that mean one thing to an author.
_EXPR_START = {"NAME", "NUMBER", "STRING", "DATE", "LPAR", "LBRACE", "NOT", "DOCUMENTED", "TIME", "AT"}
_EXPR_CONTINUE = {"COMPARE", "AND", "OR", "IN", "BETWEEN", "CONTAINS", "ADD_OP", "MUL_OP"}


def _describe(terminal: str) -> str:
    if terminal in _WORDS:
        return _WORDS[terminal]
    try:
        pattern = _lark().get_terminal(terminal).pattern
    except KeyError:
        return terminal.lower()
    return f"`{pattern.value}`"


def _found(token: Token) -> str:
    if token.type == "$END":
        return "the end of the file"
    if token.type == "_NL":
        return "the end of the line"
    if token.type in ("_INDENT", "_DEDENT"):
        return "a change of indentation"
    value = str(token.value)
    if len(value) > 30:
        value = value[:27] + "..."
    return f"`{value}`"


def _expected_words(expected: set[str]) -> list[str]:
    expected = set(expected)
    words = []
    if len(expected & _EXPR_START) >= 4:
        words.append("a value such as a fact name, a number or `(`")
        expected -= _EXPR_START | {"AGG_OP", "ANY", "ALL", "COUNT", "SUM", "LAST", "FIRST", "PRESENT", "ABSENT", "MINUS"}
    if "COMPARE" in expected and len(expected & _EXPR_CONTINUE) >= 3:
        words.append("a comparison such as `>= 3 months`")
        expected -= _EXPR_CONTINUE
        expected.add("AND")
        expected.add("OR")
    if len(expected) > 2:
        expected.discard("DOT")  # `a.b` paths: true but never what the author was after
    words += sorted(_describe(t) for t in expected)
    # the end-of-line alternative reads best last
    for last in ("the end of the line", "the end of the file"):
        if last in words:
            words.remove(last)
            words.append(last)
    return words


def _join(words: list[str]) -> str:
    if len(words) > 7:
        words = words[:6] + ["something else that fits here"]
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _token_span(source: Source, token: Token) -> Span:
    if token.type in ("$END",) or token.start_pos is None:
        end = len(source.text)
        return source.span(end, end)
    start = token.start_pos
    end = token.end_pos if token.type != "_NL" else start + 1
    if token.type in ("_INDENT", "_DEDENT"):
        start = end = token.end_pos
    return source.span(start, min(end, len(source.text)))


_KEYWORDS_AS_NAMES = {
    "any", "all", "count", "sum", "last", "first", "time", "from", "to", "at", "least", "of",
    "and", "or", "not", "in", "between", "contains", "only", "documented", "within", "where",
    "present", "absent", "when", "exclude", "says", "cite", "source", "section", "page", "pages",
    "facts", "criteria", "example", "given", "expect", "because", "guideline", "services",
    "states", "version", "cpt", "finding", "number", "count", "percent", "quantity",
    "duration", "date", "text", "one", "set", "history", "default", "met", "certified",
}


def _syntax_error(source: Source, e: UnexpectedInput) -> diag.Diagnostic:
    if isinstance(e, UnexpectedCharacters):
        span = source.span(e.pos_in_stream, e.pos_in_stream + 1)
        ch = source.text[e.pos_in_stream : e.pos_in_stream + 1]
        if source.text.startswith('"""', e.pos_in_stream):
            return diag.error("E103", 'this text block is not closed', source.span(e.pos_in_stream, e.pos_in_stream + 3),
                              hint='end the text block with """')
        if ch == '"':
            return diag.error("E102", "this string is not closed on the same line", span,
                              hint='add the closing `"`, or use """...""" for text over several lines')
        if ch == "\t":
            return diag.error("E101", "a tab here cannot be read", span, hint="use spaces")
        shown = repr(ch)[1:-1] if not ch.isprintable() else ch
        hint = None
        if ch == "'":
            hint = 'texts are written in double quotes: "like this"'
        elif ch == "\x00":
            hint = "the file contains a NUL byte; is it a text file?"
        elif ch in "=!<>" :
            hint = "comparisons are written `<`, `<=`, `>`, `>=`, `=` and `!=`"
        return diag.error("E101", f"unexpected character `{shown}`", span, hint=hint)
    if isinstance(e, UnexpectedEOF):
        end = len(source.text)
        return diag.error("E111", "the file ends too early", source.span(end, end),
                          hint=f"expected {_join(_expected_words(set(e.expected)))}")
    assert isinstance(e, UnexpectedToken)
    token = e.token
    span = _token_span(source, token)
    expected = set(e.accepts or e.expected) if getattr(e, "accepts", None) else set(e.expected)
    words = _join(_expected_words(expected))
    if token.type == "$END":
        return diag.error("E111", f"the file ends too early: expected {words}", span)
    hint = None
    value = str(token.value)
    if "NAME" in expected and value in _KEYWORDS_AS_NAMES:
        hint = f"`{value}` is a keyword of the language; choose another name, e.g. `{value}_`"
    elif value in ("=", "<", ">") and token.start_pos and source.text[token.start_pos - 1] in "=<>!":
        hint = "comparisons are written `<`, `<=`, `>`, `>=`, `=` (equality is a single `=`) and `!=`"
    elif token.type in ("_DEDENT", "_NL") and expected & {"RPAR", "RBRACE", "RSQB"}:
        closer = {"RPAR": ")", "RBRACE": "}", "RSQB": "]"}[sorted(expected & {"RPAR", "RBRACE", "RSQB"})[0]]
        hint = f"a bracket is not closed: add `{closer}`"
    elif token.type == "_INDENT":
        hint = "indent only the lines that belong to the line above (fact fields, `says`, criteria under `when`)"
    elif token.type == "_NL" and "COLON" in expected:
        hint = "write `name: ...` with a colon after the name"
    prev = ""
    history = getattr(e, "token_history", None)
    if history:
        last = history[-1]
        if last.type not in ("_NL", "_INDENT", "_DEDENT"):
            prev = f" after `{last.value}`"
    return diag.error("E110", f"expected {words}{prev}, found {_found(token)}", span, hint=hint)


def _indent_error(source: Source, e: _IndentError) -> diag.Diagnostic:
    t = e.token
    end = t.end_pos
    levels = ", ".join(str(n) for n in e.expected)
    return diag.error(
        "E104",
        f"this line is indented by {e.found} spaces, which matches no enclosing block",
        source.span(end, end + 1),
        hint=f"indent it by one of: {levels} spaces",
    )
