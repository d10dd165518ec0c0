"""The Pygments lexer (dsl/highlight.py) and the editor grammar (editors/vscode/).

- Pygments finds the lexer through the entry point, by name and by file name;
- no `Error` token in any bundled guideline or any ```mtus block of the docs;
- every token the parser reads is coloured as what it is (a string as a string, a
  keyword as a keyword, a name as a name), checked token by token against
  dsl/parser.py's `lex` on every bundled guideline;
- the lexer's words are exactly the grammar's;
- the token streams of a guideline with every construct and of a formulary are reviewed
  snapshots;
- the VS Code extension: its manifest, language configuration and TextMate grammar are
  valid, name the grammar's words, and start `mtus lsp`.
"""

from __future__ import annotations

import json
import re
from importlib import metadata

import pytest
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
from pygments.token import Comment, Error, Keyword, Literal, Name, Number, Operator, Punctuation, String

from mtus.dsl.highlight import KEYWORDS, MtusLexer
from mtus.dsl.parser import keywords, lex
from mtus.dsl.source import Source
from tests.conftest import GUIDELINES, ROOT

FILES = sorted(GUIDELINES.glob("*.mtus"))
VSCODE = ROOT / "editors" / "vscode"


def tokens(text: str):
    return list(MtusLexer().get_tokens_unprocessed(text))


def test_registered_through_the_entry_point():
    points = {ep.name: ep.value for ep in metadata.entry_points(group="pygments.lexers")}
    assert points.get("mtus") == "mtus.dsl.highlight:MtusLexer"
    assert isinstance(get_lexer_by_name("mtus"), MtusLexer)
    assert isinstance(get_lexer_for_filename("guidelines/tpi.mtus"), MtusLexer)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_no_error_tokens_in_bundled_guidelines(path):
    errors = [(i, v) for i, t, v in tokens(path.read_text(encoding="utf-8")) if t in Error]
    assert errors == []


def test_no_error_tokens_in_the_docs():
    from tests.test_docs import GOOD

    for where, _info, body in GOOD:
        errors = [(i, v) for i, t, v in tokens(body) if t in Error]
        assert errors == [], where


def test_bad_characters_are_errors():
    assert [v for _i, t, v in tokens('c: a @ b and “x”\n') if t in Error] == ["@", "“", "”"]


def test_the_words_are_the_grammars():
    """One list of words, read from the grammar's text, is what Lark finds in it too; the highlighter sorts them all."""
    from mtus.dsl import highlight
    from mtus.dsl.passes.declare import OPERAND_KEYWORDS
    from mtus.dsl.syntax_errors import KEYWORDS as SYNTAX_KEYWORDS
    from mtus.grammar import keywords as grammar_keywords

    assert grammar_keywords() == keywords() == KEYWORDS == SYNTAX_KEYWORDS
    groups = (highlight.SECTIONS, highlight.STATEMENTS, highlight.TYPES, highlight.OPERATORS, highlight.CONSTANTS)
    assert sorted(w for g in groups for w in g) == sorted(KEYWORDS)  # each word in exactly one group
    assert OPERAND_KEYWORDS <= KEYWORDS


def test_completions_offer_only_words_of_the_language():
    from mtus.dsl import navigate

    lists = (navigate.SECTION_WORDS, navigate.FORMULARY_SECTIONS, navigate.HEADER_WORDS, navigate.CRITERIA_WORDS,
             navigate.EXAMPLE_WORDS, navigate.TYPE_WORDS, navigate.EXPRESSION_WORDS)
    words = {w for lst in lists for phrase in lst for w in re.findall(r"[a-z]+", phrase)}
    assert words <= KEYWORDS, sorted(words - KEYWORDS)


#: What a parser token must be coloured as.
EXPECTED = {
    "STRING": String, "TEXT_BLOCK": String.Doc, "NUMBER": Number, "INT": Number, "PAGE_SPEC": Number,
    "CPT_CODE": Number, "DATE": Literal.Date, "UNIT": Name.Constant, "COMPARE": Operator, "ADD_OP": Operator,
    "MUL_OP": Operator,
}


def _colour_ok(kind: str, text: str, ttype) -> bool:
    if kind in EXPECTED:
        return ttype in EXPECTED[kind]
    if kind == "KEYWORD":
        return ttype in Keyword or ttype in Operator.Word or ttype in Name.Builtin
    if kind == "PUNCT":
        return ttype in Punctuation or (text == "%" and ttype in Operator)
    if kind == "NAME":
        return ttype in Name
    raise AssertionError(kind)


@pytest.mark.parametrize("path", FILES + ["SAMPLE", "FORMULARY"], ids=[p.stem for p in FILES] + ["sample", "formulary"])
def test_parser_tokens_are_coloured_as_what_they_are(path):
    text = globals()[path] if isinstance(path, str) else path.read_text(encoding="utf-8")
    at = {}
    for i, ttype, value in tokens(text):
        for k in range(i, i + len(value)):
            at[k] = ttype
    lexed = lex(Source(str(path), text))
    assert lexed.lexemes is not None
    wrong = []
    for lx in lexed.lexemes:
        if lx.kind == "NAME" and lx.text in KEYWORDS:
            continue  # a field called `date`: the highlighter does not parse
        if not _colour_ok(lx.kind, lx.text, at[lx.start]):
            wrong.append((lx.kind, lx.text, str(at[lx.start])))
    assert wrong == []
    # and every comment is a comment
    for m in re.finditer(r"(?m)^\s*(#.*)$", text):
        assert at[m.start(1)] in Comment


#: Every construct of the language, in one guideline and one formulary (the snapshots below).
SAMPLE = r'''# A guideline with every construct.
guideline sample "Every construct"  # a trailing comment
  source "MTUS Chronic Pain Medical Treatment Guidelines" section "2" pages 29, 41-42
  version "2009"
  services "trigger point injection", cpt 20552, cpt 0232T, class "opioid", ingredient "tramadol", form "patch"
  states """
    A text block, "quoted" # not a comment
  """

facts
  twitch: finding "twitch response" default absent
  score: number "pain score"
  injections: count "injections \"requested\""
  relief: percent "pain relief"
  dose: quantity MME/day "daily dose"
  lasted: duration "duration of relief"
  onset: date "onset of symptoms"
  note: text "a note"
  substance: one of {"saline", "local anesthetic"} "substance"
  diagnoses: set of text "diagnoses"
  regions: set of {"neck", "low back"} "regions"
  drug: text "requested product" from product name
  prior: history "prior injections"
    date: date "date of the injection"
    relief: percent "relief"
    visits: count "visits"

tables
  limit: count "visit limit"
    "saline": 2
    "local anesthetic": 4

criteria
  chronic: time from onset to request.date > 3 months and onset < 2014-12-18
  per_session: injections <= limit[substance] and score between 1.5 and 7
    says "no more than 3-4 injections per session"
    cite pages 122
    allows fewer injections
  exclude fibro: diagnoses contains any of {"fibromyalgia"} or regions contains only {"neck"}
  when any(prior where relief >= 50%) and not (substance in {"saline"})
    repeat: last(prior).relief >= 50% and count(prior within 12 months) < 4 \
        and sum(prior of visits * 2) + 1 <= 10 and dose / 2 <= 60 MME/day
    either: at least 1 of {twitch, documented note, lasted >= 6 weeks}

example "every kind of value"
  given request.date = 2014-12-18, twitch = present, score = 4.5, injections = 6
  given substance = "saline", regions = {"neck"}, prior = [{date: 2014-09-01, relief: 60%, visits: 2}]
  expect modified 2 because per_session not met, repeat not applicable
'''

FORMULARY = '''formulary drugs "Drug vocabulary"
  source "FDA labels" page 1

ingredients
  "hydrocodone": "opioid"
  "acetaminophen": "analgesic", "antipyretic"

products
  "Norco": "hydrocodone", "acetaminophen" as "tablet"
'''


def _stream(text: str) -> str:
    return "\n".join(f"{str(t).removeprefix('Token.')} {v!r}" for _i, t, v in tokens(text) if v.strip()) + "\n"


def test_sample_is_a_valid_guideline_and_formulary():
    from mtus.dsl import check_text

    assert check_text(SAMPLE).ok and check_text(FORMULARY).ok


def test_token_stream_of_a_guideline(snapshot):
    assert [v for _i, t, v in tokens(SAMPLE) if t in Error] == []
    assert _stream(SAMPLE) == snapshot


def test_token_stream_of_a_formulary(snapshot):
    assert [v for _i, t, v in tokens(FORMULARY) if t in Error] == []
    assert _stream(FORMULARY) == snapshot


# ------------------------------------------------------------------ VS Code
def test_vscode_manifest_starts_mtus_lsp():
    manifest = json.loads((VSCODE / "package.json").read_text())
    lang = manifest["contributes"]["languages"][0]
    assert lang["id"] == "mtus" and ".mtus" in lang["extensions"]
    assert (VSCODE / lang["configuration"]).is_file()
    grammar = manifest["contributes"]["grammars"][0]
    assert grammar["language"] == "mtus" and grammar["scopeName"] == "source.mtus"
    assert (VSCODE / grammar["path"]).is_file()
    assert "onLanguage:mtus" in manifest["activationEvents"]
    settings = manifest["contributes"]["configuration"]["properties"]
    assert settings["mtus.server.command"]["default"] == "mtus"
    assert settings["mtus.server.args"]["default"] == ["lsp"]
    main = (VSCODE / manifest["main"]).read_text()
    assert "mtus.server.command" in main and "vscode-languageclient" in main
    assert "vscode-languageclient" in manifest["dependencies"]


def test_vscode_language_configuration():
    conf = json.loads((VSCODE / "language-configuration.json").read_text())
    assert conf["comments"]["lineComment"] == "#"
    assert ["(", ")"] in conf["brackets"] and ["{", "}"] in conf["brackets"] and ["[", "]"] in conf["brackets"]


def _patterns(node):
    if isinstance(node, dict):
        for key in ("match", "begin", "end"):
            if key in node:
                yield node[key]
        for value in node.values():
            yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


def test_textmate_grammar_is_valid_and_has_every_word():
    grammar = json.loads((VSCODE / "syntaxes" / "mtus.tmLanguage.json").read_text())
    assert grammar["scopeName"] == "source.mtus" and "mtus" in grammar["fileTypes"]
    patterns = list(_patterns(grammar))
    assert len(patterns) >= 10
    for p in patterns:
        re.compile(p)  # the grammar's expressions stay in the subset Python and Oniguruma share
    words = set()
    for p in patterns:
        for group in re.findall(r"\\b\(\?:([a-z0-9|]+)\)\\b", p):
            words |= set(group.split("|"))
    assert words == KEYWORDS
    for name in ("comment", "string", "keyword", "constant"):
        assert any(name in r.get("name", "") for r in grammar["repository"].values()), name


def test_textmate_grammar_colours_the_guidelines_like_pygments():
    """A small TextMate interpreter (match rules and begin/end strings) on tpi.mtus: no word
    that Pygments calls a keyword is left uncoloured, and comments and strings agree."""
    grammar = json.loads((VSCODE / "syntaxes" / "mtus.tmLanguage.json").read_text())
    rules = [grammar["repository"][inc["include"][1:]] for inc in grammar["patterns"]]
    text = (GUIDELINES / "tpi.mtus").read_text(encoding="utf-8")
    scopes = {}
    pos = 0
    while pos < len(text):
        best = None
        for rule in rules:
            m = re.compile(rule.get("match") or rule["begin"], re.M).search(text, pos)
            if m and m.end() > m.start() and (best is None or m.start() < best[0].start()):
                best = (m, rule)
        if best is None:
            break
        m, rule = best
        end = m.end()
        if "begin" in rule:
            close = re.compile(rule["end"], re.M).search(text, m.end())
            end = close.end() if close else len(text)
        for k in range(m.start(), end):
            scopes[k] = rule["name"]
        pos = end
    for i, ttype, value in tokens(text):
        scope = scopes.get(i, "")
        if ttype in Comment:
            assert scope.startswith("comment"), (i, value)
        elif ttype in String:
            assert scope.startswith("string"), (i, value, scope)
        elif ttype in Keyword and value in KEYWORDS:
            assert scope.startswith(("keyword", "storage", "constant", "support")), (i, value, scope)
