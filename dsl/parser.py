"""The only facade over Lark: text in, Lark tree or one syntax diagnostic out.

Lark's exceptions never leave this module; dsl/syntax_errors.py phrases them
for guideline authors. Parsing stops at the first syntax error: LALR error
recovery would guess at the author's intent and report follow-on errors.
"""

from __future__ import annotations

import functools
from typing import Iterator

import attrs
from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedInput

from mtus.dsl import diagnostics as diag
from mtus.dsl.source import Source
from mtus.grammar import grammar_text
from mtus.dsl.syntax_errors import IndentProblem, indent_error, syntax_error

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


@functools.lru_cache(maxsize=2)
def _build(keep_all_tokens: bool) -> Lark:
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        postlex=_Indenter(),
        propagate_positions=True,
        maybe_placeholders=True,
        keep_all_tokens=keep_all_tokens,
    )


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
    tree: Tree | None
    diagnostics: tuple[diag.Diagnostic, ...]


def _run(lark: Lark, source: Source) -> ParseResult:
    text = source.text
    if not text.endswith("\n"):
        text += "\n"  # every statement ends with a newline; offsets are unchanged
    try:
        return ParseResult(lark.parse(text), ())
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


def parse(source: Source) -> ParseResult:
    """Parse one source file. Returns a tree, or the first syntax error as a diagnostic."""
    return _run(_lark(), source)


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
