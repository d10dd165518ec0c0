"""Syntax errors phrased for guideline authors: what is wrong, where, and how to fix it.

dsl/parser.py hands Lark's first error here. The message says in words what
the language expected and what it found; Lark's terminal names (RPAR, _NL,
$END, ...) never reach the author. Common slips get a specific message: an
unclosed bracket, `==`, a keyword used as a name, a missing indentation, a
section with nothing in it, typographic quotes and comparison signs.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Optional

from mtus.dsl import diagnostics as diag
from mtus.dsl import scan
from mtus.dsl.source import Source, Span
from mtus.grammar import keywords

if TYPE_CHECKING:  # Lark is imported only where a file has an error (dsl/parser.py reads one that parses without it)
    from lark import Token
    from lark.exceptions import UnexpectedInput


class IndentProblem(Exception):
    """Raised by the indenter: `kind` is "dedent", "mixed" or "style"."""

    def __init__(self, token: Token, kind: str, levels: list[int], found: int, first: Optional[Token] = None):
        super().__init__(kind)
        self.token = token
        self.kind = kind
        self.levels = levels
        self.found = found
        self.first = first


# ----------------------------------------------------------------- words
_WORDS = {
    "NAME": "a name",
    "STRING": 'a quoted text such as "fibromyalgia"',
    "TEXT_BLOCK": 'a """text block"""',
    "NUMBER": "a number",
    "INT": "a whole number",
    "DATE": "a date such as 2014-12-18",
    "PAGE_SPEC": "a page number (`122`, `74-96`)",
    "CPT_CODE": "a CPT or HCPCS code such as 20552 or E0730",
    "COMPARE": "a comparison such as `<=`",
    "ADD_OP": "`+` or `-`",
    "MUL_OP": "`*` or `/`",
    "UNIT": "a unit (`months`, `mg`, ...)",
    "_NL": "the end of the line",
    "_INDENT": "an indented line",
    "_DEDENT": "the end of the indented block",
    "$END": "the end of the file",
}

_EXPR_START = {"NAME", "NUMBER", "STRING", "DATE", "LPAR", "LBRACE", "NOT", "DOCUMENTED", "TIME", "AT",
               "ANY", "ALL", "COUNT", "SUM", "LAST", "FIRST", "PRESENT", "ABSENT"}
_OPERATORS = {"COMPARE", "AND", "OR", "IN", "NOT", "BETWEEN", "CONTAINS", "ADD_OP", "MUL_OP"}
_OPERATOR_EXAMPLES = {"COMPARE": "<=", "AND": "and", "OR": "or", "ADD_OP": "+", "MUL_OP": "*", "IN": "in",
                      "NOT": "not in", "BETWEEN": "between", "CONTAINS": "contains"}
_TYPES = {"FINDING", "__ANON_0", "COUNT", "PERCENT", "QUANTITY", "DURATION", "__ANON_1", "TEXT", "ONE", "SET",
          "HISTORY"}
#: The types a fact can have, for hints.
TYPES_HINT = ("the types are `finding`, `number`, `count`, `percent`, `quantity <unit>`, `duration`, `date`, "
              "`text`, `one of {...}`, `set of text`, `set of {...}` and `history`")
_CLOSER_NAMES = {"RPAR": ")", "RBRACE": "}", "RSQB": "]"}

#: Words of the language that the lexer reads as keywords where a name could also stand.
KEYWORDS = keywords()
_SECTIONS = ("facts", "tables", "criteria", "example")
_FORMULARY_SECTIONS = ("ingredients", "products")

#: Characters from word processors and mathematics, with what to write instead.
_LOOKALIKES = {
    "≤": "write `<=`", "≥": "write `>=`", "≠": "write `!=`", "＝": "write `=`",
    "“": 'use straight double quotes: "like this"', "”": 'use straight double quotes: "like this"',
    "‘": 'texts are written in straight double quotes: "like this"',
    "’": 'texts are written in straight double quotes: "like this"',
    "'": 'texts are written in double quotes: "like this"',
    "–": "use a plain `-`", "—": "use a plain `-`", "×": "write `*`", "÷": "write `/`",
    ";": "end the line instead; each criterion is on its own line",
    "&": "write `and`", "|": "write `or`", "!": "write `not`, or `!=` for \"is not equal to\"",
    "\u00a0": "this is a non-breaking space; replace it with an ordinary space",
    "\ufeff": "a byte order mark can only stand at the very start of the file; delete it",
}


def _describe(terminal: str) -> str:
    if terminal in _WORDS:
        return _WORDS[terminal]
    from mtus.dsl.parser import terminal_pattern

    literal = terminal_pattern(terminal)
    if literal is not None:
        return f"`{literal}`"
    return "something else"  # pragma: no cover - every regex terminal is in _WORDS


def expected_words(expected: set[str]) -> list[str]:
    """What the parser would accept, as a short list of phrases an author understands."""
    expected = set(expected)
    words = []
    if len(expected & _EXPR_START) >= 4:
        words.append("a value (a fact name, a number, `(`, ...)")
        expected -= _EXPR_START | {"MINUS"}
    if len(expected & _TYPES) >= 4:
        words.append("a type (`finding`, `count`, `date`, `one of {...}`, ...)")
        expected -= _TYPES
    if len(expected & _OPERATORS) >= 3:
        shown = [f"`{_OPERATOR_EXAMPLES[t]}`" for t in sorted(expected & _OPERATORS, key=list(_OPERATOR_EXAMPLES).index)]
        words.append("an operator (" + ", ".join(shown[:3]) + ", ...)")
        expected -= _OPERATORS
    if len(expected) > 1:
        expected -= {"_INDENT", "_DEDENT"}  # layout: true, but the other words say more
    if "UNIT" in expected and "__ANON_2" in expected:
        words.append("a unit (`weeks`, `mg`, `%`, ...)")
        expected -= {"UNIT", "__ANON_2"}
    if len(expected) > 2:
        expected.discard("DOT")  # `a.b` paths: true but never what the author was after
    words += sorted(_describe(t) for t in expected)
    for last in ("the end of the indented block", "the end of the line", "the end of the file"):
        if last in words:  # the end-of-line alternative reads best last
            words.remove(last)
            words.append(last)
    return words


def join(words: list[str]) -> str:
    if len(words) > 7:
        words = words[:6] + ["something else that fits here"]
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _shown(text: str) -> str:
    text = text if len(text) <= 30 else text[:27] + "..."
    return f"`{text}`"


# ---------------------------------------------------------- lexical errors
def _character_error(source: Source, pos: int, allowed: set[str]) -> diag.Diagnostic:
    text = source.text
    ch = text[pos: pos + 1]
    span = source.span(pos, pos + 1)
    if text.startswith('"""', pos):
        return diag.error("E103", "this text block is not closed", source.span(pos, pos + 3),
                          hint='end the text block with """ on a line of its own')
    if ch == '"':
        return diag.error("E102", "this text is not closed on the same line", span,
                          hint='add the closing `"`, or use """...""" for text over several lines')
    if ch == "\x00":
        return diag.error("E101", "the file contains a NUL byte", span, hint="is this a text file? save it as UTF-8 text")
    if ch in _LOOKALIKES:
        what = "a non-breaking space" if ch == "\u00a0" else f"`{ch}`"
        return diag.error("E101", f"{what} is not part of the language", span, hint=_LOOKALIKES[ch])
    shown = ch if ch.isprintable() else f"U+{ord(ch):04X}"
    if ch.isalpha():
        return diag.error("E101", f"the letter `{ch}` cannot be used outside quotes", span,
                          hint="names use the letters A-Z and a-z, digits and `_`; text with other letters goes "
                               "in double quotes")
    if ch and ch in "()[]{}:,.%+-*/<>=":
        return diag.error("E110", f"`{ch}` cannot stand here; expected {join(expected_words(allowed))}", span)
    return diag.error("E101", f"the character `{shown}` is not part of the language", span,
                      hint="delete it; names use letters, digits and `_`, and texts go in double quotes")


# ----------------------------------------------------------- syntax errors
class _Error:
    """The facts about one unexpected token, in source terms."""

    def __init__(self, source: Source, token: Token, expected: set[str]):
        self.source = source
        self.text = source.text
        self.token = token
        self.expected = expected
        self.type = token.type
        if token.type == "$END" or token.start_pos is None:
            self.pos = len(self.text)
        elif token.type in ("_INDENT", "_DEDENT"):
            self.pos = min(token.end_pos, len(self.text))
        else:
            self.pos = min(token.start_pos, len(self.text))
        self.layout = self.type in ("_NL", "_INDENT", "_DEDENT", "$END")
        self.prev = scan.previous(self.text, self.pos)
        self.at_end = self.type in ("$END", "_DEDENT", "_NL") and scan.only_blank_after(self.text, self.pos)

    def found_span(self) -> Span:
        if self.type in ("$END", "_DEDENT"):
            at = self.prev.end if self.prev is not None else self.pos
            return self.source.span(at, at)  # just after the last thing written
        if self.type == "_NL":
            return self.source.span(self.pos, self.pos + 1)
        if self.type == "_INDENT":
            nxt = scan.next_piece(self.text, self.pos)
            return self.source.span(nxt.start, nxt.end) if nxt else self.source.span(self.pos, self.pos)
        end = self.token.end_pos if self.token.end_pos is not None else self.pos + len(str(self.token.value))
        return self.source.span(self.pos, min(end, len(self.text)))

    def found(self) -> str:
        if self.at_end:
            return "the end of the file"
        if self.type == "_NL":
            return "the end of the line"
        if self.type == "_DEDENT":
            return "the end of the indented block"
        if self.type == "_INDENT":
            nxt = scan.next_piece(self.text, self.pos)
            return f"an indented line{' starting with ' + _shown(nxt.text) if nxt else ''}"
        return _shown(str(self.token.value))

    def after(self) -> str:
        p = self.prev
        if p is None or self.type in ("_INDENT", "_DEDENT", "$END"):
            return ""
        if self.source.position(p.start)[0] != self.source.position(self.pos)[0]:
            return ""
        return f" after {_shown(p.text)}"

    def span_of(self, piece: scan.Piece) -> Span:
        return self.source.span(piece.start, piece.end)


def _unclosed_bracket(err: _Error) -> Optional[diag.Diagnostic]:
    opens = scan.open_brackets(err.text, err.pos)
    if not opens:
        return None
    b = opens[-1]
    closer = scan.closer_for(b.text)
    b_line = err.source.position(b.start)[0]
    if err.at_end:
        return diag.error("E111", f"the file ends before this `{b.text}` is closed", err.span_of(b),
                          hint=f"close it with `{closer}`")
    if err.source.position(err.pos)[0] > b_line:
        found = err.found_span()
        return diag.error(
            "E110", f"this `{b.text}` is not closed", err.span_of(b),
            notes=[diag.Note(f"so line {found.line} is read as part of the same expression", found)],
            hint=f"add `{closer}` before the end of line {b_line}; inside brackets a new line does not end the criterion")
    if err.layout and err.expected & set(_CLOSER_NAMES):
        return diag.error("E110", f"expected {join(expected_words(err.expected))}{err.after()}, found {err.found()}",
                          err.found_span(), notes=[diag.Note(f"the `{b.text}` opened here is not closed", err.span_of(b))],
                          hint=f"add `{closer}`")
    return None


def _indentation(err: _Error) -> Optional[diag.Diagnostic]:
    """A line that should be indented and is not, or a block with nothing in it."""
    if err.expected != {"_INDENT"}:
        return None
    head = scan.line_head(err.text, err.prev.start) if err.prev else ""
    what, example = {
        "facts": ("its facts", '`  injections: count "injections requested"`'),
        "criteria": ("its criteria", "`  per_session: injections <= 4`"),
        "tables": ("its tables", '`  mme_factor: number "conversion factor"`'),
        "ingredients": ("its ingredients", '`  "hydrocodone": "opioid"`'),
        "products": ("its products", '`  "Norco": "hydrocodone", "acetaminophen" as "tablet"`'),
        "example": ("its `given` and `expect` lines", "`  given injections = 4`"),
        "when": ("the criteria that apply when the condition holds", "`    per_session: injections <= 4`"),
    }.get(head, ("the lines that belong to it", ""))
    nxt = scan.next_piece(err.text, err.pos)
    starts_section = nxt is not None and nxt.text in _SECTIONS + _FORMULARY_SECTIONS
    if err.at_end or starts_section or nxt is None:
        span = err.span_of(err.prev) if err.prev else err.found_span()
        return diag.error("E111" if err.at_end else "E110", f"nothing is indented under `{head}`", span,
                          hint=f"write {what} on the lines below, indented by two more spaces"
                               + (f", e.g. {example}" if example else ""))
    return diag.error("E110", f"this line belongs under `{head}` and must be indented",
                      err.source.span(nxt.start, nxt.end),
                      hint=f"indent the lines under `{head}` by two more spaces than `{head}` itself")


def _keyword_as_name(err: _Error) -> Optional[diag.Diagnostic]:
    p = err.prev
    if p is None or p.text not in KEYWORDS or err.text[p.start - 1: p.start] == ".":
        return None
    if str(err.token.value) == ":" and err.after():
        return diag.error("E110", f"`{p.text}` is a keyword of the language and cannot be used as an id",
                          err.span_of(p), hint=f"choose another id, e.g. `{p.text}_`")
    declared = re.search(rf"^[ \t]+{p.text}[ \t]*:", err.text, re.MULTILINE) is not None
    if declared and err.after():
        return diag.error(
            "E110", f"expected {join(expected_words(err.expected))}{err.after()}, found {err.found()}",
            err.found_span(),
            hint=f"`{p.text}` is a keyword of the language, so a fact named `{p.text}` cannot be used in a "
                 f"condition; rename the fact, e.g. `{p.text}_`")
    return None


def _line_above(err: _Error) -> str:
    """The last non-blank line before the error's line, stripped (text blocks count as their last line)."""
    lines = [line.strip() for line in err.text[:err.pos].splitlines()[:-1] if line.strip()]
    if lines and lines[-1] == '"""':  # a text block closes here: its line is the one that opened it
        return next((line for line in reversed(lines[:-1]) if '"""' in line), "")
    return lines[-1] if lines else ""


def _special(err: _Error) -> Optional[diag.Diagnostic]:
    value = str(err.token.value)
    if "GUIDELINE" in err.expected:
        example = 'guideline tpi "Trigger point injections"'
        drugs = 'formulary mtus_drugs "Drug vocabulary"'
        if err.at_end:
            return diag.error("E111", "the file has no guideline in it", err.found_span(),
                              hint=f"a guideline file starts with a line such as `{example}`; a drug vocabulary "
                                   f"with a line such as `{drugs}`")
        return diag.error("E110", f"a file must start with a `guideline` or `formulary` line, not {err.found()}",
                          err.found_span(), hint=f"start with a line such as `{example}` (or `{drugs}` for a drug "
                                                 "vocabulary)")
    joined = err.text[err.pos - 1: err.pos + 1] if err.pos > 0 else ""
    if joined == "==":
        return diag.error("E110", "`==` is not an operator of the language", err.source.span(err.pos - 1, err.pos + 1),
                          hint="equality is written with a single `=`, e.g. `injections = 4`")
    if joined in ("=<", "=>", "=!"):
        right = {"=<": "<=", "=>": ">=", "=!": "!="}[joined]
        return diag.error("E110", f"`{joined}` is not an operator of the language",
                          err.source.span(err.pos - 1, err.pos + 1), hint=f"write `{right}`")
    if err.type in _CLOSER_NAMES and scan.unmatched_closer(err.text, err.pos):
        return diag.error("E110", f"this `{value}` closes nothing", err.found_span(),
                          hint=f"delete it, or add the `{ {')': '(', ']': '[', '}': '{'}[value] }` it closes")
    if "PAGE_SPEC" in err.expected and err.type != "PAGE_SPEC":
        return diag.error("E110", f"expected a page number{err.after()}, found {err.found()}", err.found_span(),
                          hint="write pages as numbers: `page 122`, `pages 74-96` or `pages 29, 41-42`")
    if err.expected & {"MET", "NOT"} and err.expected <= {"MET", "NOT", "DOCUMENTED", "APPLICABLE", "APPLIES",
                                                          "DOES", "APPLY"}:
        return diag.error("E110", f"expected an outcome{err.after()}, found {err.found()}", err.found_span(),
                          hint="an outcome is `met`, `not met`, `not documented` or `not applicable`; for an "
                               "exclusion `applies`, `does not apply` or `not applicable`")
    if err.expected == {"GIVEN"}:
        return diag.error("E110", f"expected a `given` line, found {err.found()}", err.found_span(),
                          hint="an example states the case first: `given name = value, ...`, then `expect ...`")
    if err.expected == {"SAYS"} and err.text[:err.pos].rstrip().endswith("denial"):
        return diag.error("E110", f"expected `says` after `on denial`, found {err.found()}", err.found_span(),
                          hint='write the sentence every denial carries as `on denial says "..."`')
    if err.expected == {"CITE"} and _line_above(err).startswith("on denial"):
        return diag.error("E110", "only a `cite` line can be indented under `on denial says`", err.found_span(),
                          hint="give the sentence its own page with `cite pages 79-80`; "
                               "other lines go at the header's indentation")
    attribute = err.prev.text if err.prev is not None else None
    if "COLON" in err.expected and attribute in ("says", "shows", "cite", "allows") \
            and scan.line_head(err.text, err.pos) == attribute:
        # `says` where a criterion may start (under `when`, or not indented under its criterion)
        return diag.error("E110", f"`{attribute}` belongs to a criterion, but here it starts a line where a criterion "
                                  "or a `when` block may start", err.found_span(),
                          hint=f"indent `{attribute}` under the criterion it belongs to, one step further than the "
                               f"criterion's id; a `when` condition has no `{attribute}` of its own")
    if err.expected <= {"SAYS", "SHOWS", "CITE", "ALLOWS"} and err.type != "_INDENT":
        return diag.error("E110", "only `says`, `shows`, `cite` and `allows fewer` lines can be indented under a criterion",
                          err.found_span(), hint=f"line {err.found()} up with the criterion above it")
    if "EXPECT" in err.expected and "GIVEN" in err.expected and err.layout:
        return diag.error("E111" if err.at_end else "E110", "this example has no `expect` line", err.found_span(),
                          hint="end the example with `expect certified`, or "
                               "`expect not certified because <criterion> not met`")
    if err.expected & {"CRITERIA", "EXAMPLE", "FACTS", "TABLES"} and re.fullmatch(r"[A-Za-z_]\w*", value) \
            and err.source.position(err.pos)[1] == 1:
        order = "the sections are `facts`, `tables`, `criteria` and `example`, in that order"
        if value in _SECTIONS:
            return diag.error("E110", f"a `{value}` section cannot come here", err.found_span(),
                              hint=f"{order}; `facts`, `tables` and `criteria` appear once each")
        return diag.error("E110", f"`{value}` is not a section of a guideline", err.found_span(),
                          hint=f"{order}, each at the start of a line; if this line belongs to the section "
                               "above, indent it")
    in_formulary = err.expected & {"INGREDIENTS", "PRODUCTS"} or \
        (err.expected <= {"$END", "_DEDENT"} and re.match(r"(\s*#[^\n]*\n)*\s*formulary\b", err.text))
    if in_formulary and re.fullmatch(r"[A-Za-z_]\w*", value) and err.source.position(err.pos)[1] == 1:
        order = "the sections of a formulary are `ingredients` and then `products`, once each"
        if value in _FORMULARY_SECTIONS:
            return diag.error("E110", f"an `{value}` section cannot come here" if value[0] == "i" else
                              f"a `{value}` section cannot come here", err.found_span(), hint=order)
        return diag.error("E110", f"`{value}` is not a section of a formulary", err.found_span(),
                          hint=f"{order}, each at the start of a line; if this line belongs to the section "
                               "above, indent it")
    if err.expected == {"STRING"} and err.prev is not None and scan.line_head(err.text, err.pos) == "guideline":
        return diag.error("E110", "the guideline has no title", err.found_span(),
                          hint=f'write the title in quotes after the id: guideline {err.prev.text} "Trigger point injections"')
    if err.expected == {"_DEDENT"}:
        return diag.error("E110", f"expected the end of the indented block, found {err.found()}", err.found_span(),
                          hint="the block above is complete; if this line starts something new, un-indent it")
    if err.type == "_INDENT":
        return diag.error("E110", "this line is indented, but the line above has nothing that can be indented under it",
                          err.found_span(),
                          hint="indent only what belongs to the line above: fields of a history, `says` and "
                               "`cite` under a criterion, criteria under `when`")
    return None


def syntax_error(source: Source, e: UnexpectedInput) -> diag.Diagnostic:
    """One diagnostic for Lark's first error, in the author's terms."""
    from lark import Token
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    if isinstance(e, UnexpectedCharacters):
        return _character_error(source, e.pos_in_stream, set(e.allowed or ()))
    if isinstance(e, UnexpectedEOF):
        token = Token("$END", "")
        expected = set(e.expected)
    else:
        assert isinstance(e, UnexpectedToken)
        token = e.token
        expected = set(e.accepts or e.expected)
    err = _Error(source, token, expected)
    for rule in (_unclosed_bracket, _indentation, _keyword_as_name, _special):
        d = rule(err)
        if d is not None:
            return d
    words = join(expected_words(expected))
    if err.at_end:
        return diag.error("E111", f"the file ends too early: expected {words}{err.after()}", err.found_span(),
                          hint=_hint(err))
    return diag.error("E110", f"expected {words}{err.after()}, found {err.found()}", err.found_span(), hint=_hint(err))


_NEEDS_RIGHT = ("<", "<=", ">", ">=", "=", "!=", "+", "-", "*", "/")


#: Keywords that start a line and are followed by a word: a misspelling of one reads as an id without its colon.
_LINE_KEYWORDS = ("exclude", "when", "example", "given", "expect", "source", "services", "states", "version",
                  "guideline", "says", "cite", "default")


def _misspelled_keyword(err: _Error, word: str) -> Optional[str]:
    """The keyword a word at the start of its line is a typo of (`exlcude` -> `exclude`), if any."""
    import difflib

    if word in KEYWORDS or scan.line_head(err.text, err.pos) != word:
        return None
    close = difflib.get_close_matches(word.lower(), _LINE_KEYWORDS, n=1, cutoff=0.7)
    return close[0] if close else None


def _hint(err: _Error) -> Optional[str]:
    """A hint for the generic "expected ..., found ..." message, when one helps."""
    expected, prev = err.expected, err.prev
    if len(expected & _TYPES) >= 4:
        return TYPES_HINT
    if "COMPARE" in expected and scan.line_head(err.text, err.pos) == "given":
        return "an example gives each value as `name = value`, e.g. `given injections = 4, radiculopathy = absent`"
    if prev is None:
        return None
    if err.type == "_NL" and "COLON" in expected:
        return f"write `{prev.text}: ...` with a colon after the name"
    if "COLON" in expected and prev.kind == "word":
        keyword = _misspelled_keyword(err, prev.text)
        if keyword is not None:  # `exlcude b: ...`: a colon after `exlcude` would only make a new mistake
            return f"`{prev.text}` is not a keyword; did you mean `{keyword} {err.token.value} ...`?"
        return f"put a colon after the id: `{prev.text}: {err.token.value} ...`"
    if prev.text in ("cpt", "hcpcs") and "CPT_CODE" in expected:
        example = "20552" if prev.text == "cpt" else "E0730"
        return f"write the code as billed, five characters without quotes: `{prev.text} {example}`"
    if err.type == "COMPARE":
        return "comparisons do not chain: write `a < b and b < c`, or `b between a and c`"
    # `default 1 from item ...`: after a number `from` reads as its unit, and the error is at `item`
    source_word = str(err.token.value) == "from" or (str(err.token.value) in ("item", "product") and prev.text == "from")
    if source_word and re.search(r"\bdefault\b", err.text[err.text.rfind("\n", 0, err.pos) + 1:err.pos]):
        after = err.text[err.pos:].split()[1:2] if str(err.token.value) == "from" else [str(err.token.value)]
        return f"write `from {'item' if after == ['item'] else 'product'} ...` before `default`"
    if err.layout and prev.text in _NEEDS_RIGHT:
        return f"`{prev.text}` needs something on its right, e.g. `injections {prev.text} 4`"
    if err.layout and prev.text in ("and", "or", "not", "in"):
        return f"complete the condition after `{prev.text}`"
    return None


def indent_error(source: Source, e: IndentProblem) -> diag.Diagnostic:
    t = e.token
    end = min(t.end_pos, len(source.text))
    start = end - len(t.value.rsplit("\n", 1)[1])
    span = source.span(start, max(end, start + 1))
    if e.kind == "mixed":
        return diag.error("E104", "this line is indented with both tabs and spaces", span,
                          hint="indent with spaces only")
    if e.kind == "style":
        first = e.first
        first_end = first.end_pos
        first_start = first_end - len(first.value.rsplit("\n", 1)[1])
        this, other = ("a tab", "spaces") if source.text[start] == "\t" else ("spaces", "tabs")
        return diag.error("E104", f"this line is indented with {this}, but the file is indented with {other}", span,
                          notes=[diag.Note(f"the first indented line uses {other}", source.span(first_start, first_end))],
                          hint="indent with spaces only")
    levels = [n for n in e.levels]
    shown = ", ".join(str(n) for n in levels[:-1]) + (" or " if len(levels) > 1 else "") + str(levels[-1])
    return diag.error(
        "E104", f"this line is indented by {e.found} space{'' if e.found == 1 else 's'}, which lines it up with "
                "no enclosing block",
        span, hint=f"indent it by {shown} spaces, like one of the lines above it")
