"""A Pygments lexer for `.mtus` files, registered under the `pygments.lexers` entry point.

So ```` ```mtus ```` blocks are highlighted wherever Pygments is used (the MkDocs
site, Sphinx, `pygmentize -l mtus`), and `.mtus` files are recognised by name.
It is a plain regular-expression lexer: it does not parse, and colours a word
by what it usually is (a history field called `date` is coloured as the type).
The words come from the grammar; tests/test_highlight.py checks the two agree.
"""

from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import Comment, Error, Keyword, Literal, Name, Number, Operator, Punctuation, String, Whitespace

from mtus.grammar import keywords

#: Lines that open a part of the file.
SECTIONS = ("guideline", "formulary", "facts", "tables", "criteria", "example", "ingredients", "products")
#: Words that introduce a line or a clause of one.
STATEMENTS = ("source", "section", "page", "pages", "version", "services", "states", "cpt", "hcpcs", "class",
              "ingredient", "form", "says", "cite", "allows", "fewer", "when", "exclude", "let", "otherwise", "given", "expect",
              "because", "from", "product", "item", "default", "as", "force", "until", "mtus", "rank",
              "request", "detail", "required", "checked", "stated", "none", "presumed", "silent", "on", "denial", "shows")
#: The types of facts, fields and tables.
TYPES = ("finding", "number", "count", "percent", "quantity", "duration", "date", "text", "one", "set",
         "history", "icd10")
#: Words that combine or compare values.
OPERATORS = ("and", "or", "not", "in", "contains", "only", "any", "all", "of", "between", "at", "least",
             "distinct", "within", "where", "documented", "time", "to", "sum", "last", "first")
#: Values and outcomes.
CONSTANTS = ("present", "absent", "certified", "modified", "met", "applicable", "applies", "does", "apply")

#: Every word of the language, from the grammar; the groups above sort them (tests/test_highlight.py).
KEYWORDS = keywords()
_CALLS = ("any", "all", "count", "sum", "last", "first")
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_UNIT = r"[A-Za-z][A-Za-z0-9]*(?:/[A-Za-z][A-Za-z0-9]*)?"
_NUMBER = r"\d+(?:\.\d+)?"
_NOT_A_WORD = r"(?!(?:" + "|".join(sorted(KEYWORDS, key=len, reverse=True)) + r")\b)"


class MtusLexer(RegexLexer):
    """MTUS guideline (`.mtus`) files: guidelines and formularies."""

    name = "MTUS"
    aliases = ["mtus"]
    filenames = ["*.mtus"]
    mimetypes = ["text/x-mtus"]

    tokens = {
        "root": [
            (r"[ \t]+", Whitespace),
            (r"\r?\n", Whitespace),
            (r"\\[ \t]*\r?\n", Punctuation),  # a line continued on the next
            (r"#[^\n]*", Comment.Single),
            (r'"""', String.Doc, "textblock"),
            (r'"', String.Double, "string"),
            (r"\d{4}-\d{2}-\d{2}\b", Literal.Date),
            (r"(cpt|hcpcs)(\s+)([0-9A-Za-z][0-9]{3}[0-9A-Za-z])\b", bygroups(Keyword, Whitespace, Number.Integer)),
            (r"(page|pages)(\s+)(\d+(?:-\d+)?)", bygroups(Keyword, Whitespace, Number.Integer)),
            (r"(,)(\s*)(\d+-\d+)(?![-\d])", bygroups(Punctuation, Whitespace, Number.Integer)),  # a page range in a list
            (r"(quantity)(\s+)(" + _UNIT + r")", bygroups(Keyword.Type, Whitespace, Name.Constant)),
            (r"(" + _NUMBER + r")(%)", bygroups(Number, Operator)),
            (r"(" + _NUMBER + r")([ \t]+)(" + _NOT_A_WORD + _UNIT + r")",
             bygroups(Number, Whitespace, Name.Constant)),
            (r"\d+\.\d+", Number.Float),
            (r"\d+", Number.Integer),
            (r"(request)(\.)(date)\b", bygroups(Name.Builtin, Punctuation, Name.Builtin)),
            (r"(\.)(" + _NAME + r")", bygroups(Punctuation, Name.Attribute)),
            (words(_CALLS, suffix=r"(?=\s*\()"), Name.Builtin),
            (r"(one|set)(\s+)(of)\b", bygroups(Keyword.Type, Whitespace, Keyword.Type)),
            # a declaration or a criterion: `name:` (not a record's `field:` inside braces)
            (r"(exclude)(\s+)(" + _NAME + r")(\s*)(:)",
             bygroups(Keyword, Whitespace, Name.Function, Whitespace, Punctuation)),
            # `let name =`: the `=` names a value (punctuation), it does not compare
            (r"(let)(\s+)(" + _NAME + r")(\s*)(=)(?!=)",
             bygroups(Keyword, Whitespace, Name.Variable, Whitespace, Punctuation)),
            (r"(" + _NAME + r")(\s*)(:)", bygroups(Name.Variable, Whitespace, Punctuation)),
            (words(SECTIONS, prefix=r"\b", suffix=r"\b"), Keyword.Declaration),
            (words(STATEMENTS, prefix=r"\b", suffix=r"\b"), Keyword),
            (words(TYPES, prefix=r"\b", suffix=r"\b"), Keyword.Type),
            (words(OPERATORS, prefix=r"\b", suffix=r"\b"), Operator.Word),
            (words(CONSTANTS, prefix=r"\b", suffix=r"\b"), Keyword.Constant),
            (_NAME, Name),
            (r"<=|>=|!=|<|>|=|\+|-|\*|/", Operator),
            (r"[()\[\]{},.:]", Punctuation),
            (r".", Error),
        ],
        "string": [
            (r'\\.', String.Escape),
            (r'[^"\\\n]+', String.Double),
            (r'"', String.Double, "#pop"),
            (r"\n", Error, "#pop"),  # a string is closed on its line
        ],
        "textblock": [
            (r'"""', String.Doc, "#pop"),
            (r'[^"]+', String.Doc),
            (r'"', String.Doc),
        ],
    }


__all__ = ["MtusLexer", "KEYWORDS"]
