"""Code injection: hostile guideline text compiles to modules whose code and behaviour are unchanged by it."""

from __future__ import annotations

import ast
import datetime
import io
import tokenize
from decimal import Decimal

import pytest

from mtus.compiler.build.codewriter import CodeWriter, comment_text, literal, mangle
from mtus.compiler.build.interpret import evaluate
from mtus.compiler.build.codegen import generate_module, load_module
from mtus.compiler.check.runtime import APPLIES, DOES_NOT_APPLY, MET, NOT_DOCUMENTED, NOT_MET, Duration, Modification
from mtus.dsl import model
from tests.strategies import CITATION, span
from tests.test_codegen import assert_safe_module

RD = datetime.date(2014, 12, 18)

NASTY = [
    "it's", 'say "hi"', "back\\slash", "ends with a backslash\\", '"""', "'''", 'a"""b\'\'\'c',
    "line\nbreak", "carriage\r\nreturn", "__import__('os').system('echo pwned')",
    "'); import os; os.system('echo pwned'); ('", '"); import os #', "# not a comment",
    "déjà vu \u2028 \u0085 \u00a0 🎉 汉字", "nul\x00byte", "{injections} %s {0}", "\t tab",
    "x" * 10_000,
]
#: Keys distinct as texts compare (a table cannot list one key twice).
TABLE_KEYS = [k for i, k in enumerate(NASTY) if all(" ".join(k.split()).casefold() != " ".join(x.split()).casefold()
                                                    for x in NASTY[:i])]
NASTY_NAMES = ["class", "__import__", "_get", "facts", "request_date", "f_x", "x", "é", "a b",
               "'); import os #", "\n", "x" * 500]


def hostile_guideline() -> model.Guideline:
    sp = span(3)
    enum_t = model.Type(model.ENUM, members=tuple(NASTY))
    h_t = model.Type(model.HISTORY, fields=(model.Field("date", model.T_DATE, "date"),
                                            model.Field('re"lief\n', model.T_PERCENT, "relief")))
    f_enum, f_text, f_set, f_hist, f_default = NASTY_NAMES[9], "class", "__import__", "h'\"\n", "_get"
    facts = (
        model.Fact(f_enum, enum_t, "one of", NASTY[0], None, sp),
        model.Fact(f_text, model.T_TEXT, "text", NASTY[7], None, sp),
        model.Fact(f_set, model.Type(model.SET, element=model.T_TEXT), "set of text", "x", None, sp),
        model.Fact(f_hist, h_t, "history", "h", None, sp),
        model.Fact(f_default, model.T_BOOL, "finding", "d",
                   model.Const(False, model.T_BOOL, "absent\nimport os", sp), sp),
        model.Fact("x", model.T_COUNT, "count", "x", None, sp),
        model.Fact("f_x", model.T_COUNT, "count", "f_x", None, sp),
        model.Fact(NASTY[10], model.T_COUNT, "count", NASTY[11], None, sp),
    )
    # tables named like our own names and like code, keyed and filled with hostile text
    text_table = model.Table(NASTY_NAMES[9], model.T_TEXT, NASTY[7],
                             tuple(model.TableEntry(k, model.Const(v, model.T_TEXT, v, sp))
                                   for k, v in zip(TABLE_KEYS, reversed(NASTY))), sp)
    number_table = model.Table("_table_x", model.T_NUMBER, '"""',
                               tuple(model.TableEntry(k, model.Const(Decimal(i), model.T_NUMBER, str(i), sp))
                                     for i, k in enumerate(TABLE_KEYS)), sp)
    code_table = model.Table("__import__", model.T_COUNT, "x",
                             (model.TableEntry("os", model.Const(1, model.T_COUNT, "1\nimport os", sp)),), sp)

    def ref(name):
        f = next(f for f in facts if f.name == name)
        return model.FactRef(f.name, f.type, sp)

    def c(value, t, text="\"\"\"\n__import__('os')"):
        return model.Const(value, t, text, sp)

    any_h = model.Query("any", ref(f_hist), None, None, None, None, model.T_BOOL, sp)
    when = model.Condition(0, any_h, span(20))
    last_relief = model.Query("last", ref(f_hist), None, None, None, 're"lief\n', model.T_PERCENT, sp)
    relief = model.FieldRef('re"lief\n', model.T_PERCENT, sp)
    weighted = model.Query("sum", ref(f_hist), None, None, None, None, model.T_PERCENT, sp,
                           value=model.Arith("*", relief, model.Lookup("_table_x", ref(f_text), model.T_NUMBER, sp),
                                             model.T_PERCENT, sp))
    window = model.Query("count", ref(f_hist), model.Period(12, 0), "12 months\n#",
                         model.Compare(">=", model.FieldRef('re"lief\n', model.T_PERCENT, sp),
                                       c(Decimal("50"), model.T_PERCENT), sp), None, model.T_COUNT, sp)
    exprs = [
        model.Member("in", ref(f_enum), c(frozenset(NASTY), model.Type(model.SET, element=enum_t)), sp),
        model.Compare("=", ref(f_text), c(NASTY[9], model.T_TEXT), sp),
        model.Member("contains", ref(f_set), c(NASTY[13], model.T_TEXT), sp),
        model.Not(ref(f_default), sp),
        model.Compare("<", ref("x"), ref("f_x"), sp),
        model.Compare("=", ref(f_enum), c(NASTY[-1], enum_t), sp),
        model.Compare(">=", last_relief, c(Decimal("50"), model.T_PERCENT, "50%\n'''"), sp),
        model.Compare("<=", window, c(1, model.T_COUNT), sp),
        model.Compare("=", model.Lookup(NASTY_NAMES[9], ref(f_enum), model.T_TEXT, sp), c(NASTY[1], model.T_TEXT), sp),
        model.Compare("<=", weighted, c(Decimal("100"), model.T_PERCENT, "100%\n\"\"\""), sp),
        model.Compare("<", model.Lookup("__import__", ref(f_text), model.T_COUNT, sp), ref(NASTY[10]), sp),
    ]
    criteria = tuple(
        model.Criterion(NASTY_NAMES[i % len(NASTY_NAMES)] + ("" if i < len(NASTY_NAMES) else str(i)),
                        i == 5, e, NASTY[i], CITATION, (when,) if 6 <= i < 10 else (), span(10 + i),
                        allows_fewer=NASTY[10] if i == 10 else None)
        for i, e in enumerate(exprs))
    return model.Guideline(
        id="tpi'\"\n__import__('os')", title='"""\nimport os\n"""', citation=CITATION, services=(),
        states=NASTY[3], version=NASTY[8], facts=facts, criteria=criteria, conditions=(when,), examples=(),
        path="/tmp/evil\n\"name'.mtus", span=span(1), tables=(text_table, number_table, code_table))


G = hostile_guideline()
SOURCE = generate_module(G)
MODULE = load_module(SOURCE, "hostile")


def test_hostile_text_compiles_to_a_safe_module():
    assert_safe_module(SOURCE)


def test_top_level_names_are_only_ours():
    tree = ast.parse(SOURCE)
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets}
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ImportFrom):
            names |= {a.asname or a.name for a in node.names}
    ours = {"GUIDELINE_ID", "RUNTIME_VERSION", "SOURCE_FILE", "CRITERIA", "SOURCE_LINES", "unmet", "evaluate"}
    assert ours <= names
    for n in names - ours:
        exported = __import__("mtus.compiler.check.runtime", fromlist=["__all__"]).__all__
        assert n.startswith("_") or n in ("date", "Decimal") or n in exported, n


def test_every_hostile_string_is_one_literal_in_the_code():
    constants = {n.value for n in ast.walk(ast.parse(SOURCE)) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    for s in NASTY:
        assert s in constants
    for t in G.tables:
        assert t.name in constants  # named in what a lookup misses
        for e in t.entries:
            assert " ".join(e.key.split()).casefold() in constants  # keys as they are compared
    for c in G.criteria:
        assert c.id in constants
    assert MODULE.GUIDELINE_ID == G.id
    assert MODULE.CRITERIA == tuple(c.id for c in G.criteria)
    assert MODULE.SOURCE_FILE == "evil\n\"name'.mtus"


def test_comments_cannot_end_early():
    # every comment token is a whole line's tail, and nothing after it becomes code
    tokens = list(tokenize.generate_tokens(io.StringIO(SOURCE).readline))
    comments = [t for t in tokens if t.type == tokenize.COMMENT]
    assert comments
    for t in comments:
        assert "\n" not in t.string and "\r" not in t.string
    assert SOURCE.splitlines()[4].startswith('"""A compiled mtus checker')  # the docstring is ours, not the title


@pytest.mark.parametrize("member", NASTY, ids=range(len(NASTY)))
def test_every_hostile_member_is_matched_exactly(member):
    facts = {NASTY_NAMES[9]: member}
    r = MODULE.evaluate(facts, RD)
    assert r == evaluate(G, facts, RD)
    first = r.criteria[0]
    assert first.outcome == MET and first.read[0].value == member
    assert r.criteria[5].outcome == (APPLIES if member == NASTY[-1] else DOES_NOT_APPLY)  # the exclusion on the long member


def test_hostile_text_compares_as_free_text():
    facts = {"class": NASTY[9].upper(), "__import__": frozenset({"  " + NASTY[13] + " "})}
    r = MODULE.evaluate(facts, RD)
    assert r == evaluate(G, facts, RD)
    assert [c.outcome for c in r.criteria[1:3]] == [MET, MET]


def test_missing_names_keep_hostile_spelling():
    r = MODULE.evaluate({}, RD)
    assert r == evaluate(G, {}, RD)
    # met whatever the `one of` fact is: decided in every reading of it, named as spelled
    assert (r.criteria[0].outcome, r.criteria[0].readings) == (MET, (NASTY_NAMES[9],))
    assert r.criteria[1].missing == ("class",)
    rows = ({"date": RD},)
    r = MODULE.evaluate({"h'\"\n": rows}, RD)
    assert r == evaluate(G, {"h'\"\n": rows}, RD)
    assert (r.criteria[6].outcome, r.criteria[6].missing) == (NOT_DOCUMENTED, ('h\'"\n.re"lief\n',))


def test_hostile_tables_are_module_constants_with_inert_keys_and_values():
    tree = ast.parse(SOURCE)
    tables = {n.targets[0].id: n.value for n in tree.body if isinstance(n, ast.Assign)
              and isinstance(n.targets[0], ast.Name) and n.targets[0].id.startswith("_table")}
    assert len(tables) == 3 and "_table__table_x" in tables and "_table___import__" in tables
    for value in tables.values():
        assert isinstance(value, ast.Dict)
        assert all(isinstance(k, ast.Constant) and type(k.value) is str for k in value.keys)
    text_table = next(v for k, v in vars(MODULE).items() if k.startswith("_tableX_"))
    assert set(text_table.values()) <= set(NASTY)


@pytest.mark.parametrize("key", TABLE_KEYS, ids=range(len(TABLE_KEYS)))
def test_every_hostile_key_is_looked_up_as_text(key):
    rows = ({"date": RD, 're"lief\n': 10},)
    for spelling in (key, key.upper(), f"  {key} "):
        facts = {NASTY_NAMES[9]: key, "class": spelling, "h'\"\n": rows}
        r = MODULE.evaluate(facts, RD)
        assert r == evaluate(G, facts, RD)
        assert MODULE.unmet(facts, RD) == r.unmet_ids()
        # both lookups found their entry: the one by the `one of` member and the one inside the sum
        assert r.criteria[8].missing == () and r.criteria[8].outcome in (MET, NOT_MET)
        assert r.criteria[9].missing == () and r.criteria[9].outcome in (MET, NOT_MET)


def test_a_hostile_key_not_in_the_table_is_named_as_given():
    # no row's words are all in it either (a row whose words a key contains is that key's row)
    key = "'); exec(compile) #\n\"\"\"[9]"
    rows = ({"date": RD, 're"lief\n': 10},)
    facts = {"class": key, "h'\"\n": rows, NASTY[10]: 3}
    r = MODULE.evaluate(facts, RD)
    assert r == evaluate(G, facts, RD)
    assert r.criteria[9].missing == (f"_table_x[{key}]",)
    assert r.criteria[10].missing == (f"__import__[{key}]",)


def test_partial_certification_with_hostile_names():
    fact, cid = NASTY[10], NASTY_NAMES[10 % len(NASTY_NAMES)]
    assert SOURCE.count("_ALLOWS_FEWER = ") == 1 and repr(fact) in SOURCE
    small = model.Guideline(
        id="g", title="t", citation=CITATION, services=(), states=None, version=None,
        facts=(model.Fact(fact, model.T_COUNT, "count", "n", None, span(2)),),
        criteria=(model.Criterion(cid, False, model.Compare("<=", model.FactRef(fact, model.T_COUNT, span(3)),
                                                            model.Const(3, model.T_COUNT, "3\n#", span(3)), span(3)),
                                  None, CITATION, (), span(3), allows_fewer=fact),),
        conditions=(), examples=(), path="g.mtus", span=span(1))
    source = generate_module(small)
    assert_safe_module(source)
    m = load_module(source, "hostile_fewer")
    r = m.evaluate({fact: 9}, RD)
    assert r == evaluate(small, {fact: 9}, RD)
    assert r.modified == Modification(fact, 3, 9) and m.unmet({fact: 9}, RD) == [cid]


@pytest.mark.parametrize("facts", [
    {}, {"x": 1, "f_x": 2}, {"x": 2, "f_x": 1}, {"_get": True}, {"_get": False},
    {"h'\"\n": ({"date": RD, 're"lief\n': 50},)}, {"h'\"\n": ({"date": RD, 're"lief\n': 49}, {"date": RD})},
    {"h'\"\n": ()}, {NASTY_NAMES[9]: "not a member"},
    {"class": "os", NASTY[10]: 2}, {"class": " Os ", NASTY[10]: 1}, {"class": NASTY[5], NASTY_NAMES[9]: NASTY[4]},
    {"class": NASTY[2], "h'\"\n": ({"date": RD, 're"lief\n': 50}, {"date": RD, 're"lief\n': 30})},
])
def test_behaviour_matches_the_interpreter(facts):
    expected = evaluate(G, facts, RD)
    assert MODULE.evaluate(facts, RD) == expected
    assert MODULE.unmet(facts, RD) == expected.unmet_ids()


# ----------------------------------------------------------- the code writer
def test_mangled_names_are_identifiers_and_distinct():
    names = NASTY_NAMES + NASTY + ["fX_61", "X_61", "a", "A", "_"]
    mangled = [mangle("f", n) for n in names]
    assert all(m.isidentifier() for m in mangled)
    assert len(set(mangled)) == len(set(names))
    assert mangle("f", "class") == "f_class"
    assert mangle("f", "a b").startswith("fX_")


def test_literals_only_for_plain_values():
    class Sneaky(str):
        def __repr__(self):
            return "__import__('os')"

    for bad in (Sneaky("x"), 1.5, Decimal("NaN"), object(), [1], {"a": 1}, Duration(1, 0, RD)):
        with pytest.raises((TypeError, ValueError)):
            literal(bad)
    assert literal(Decimal("50")) == "Decimal('50')"
    assert literal(datetime.date(2014, 12, 18)) == "date(2014, 12, 18)"
    assert literal(Duration(0, 42)) == "Duration(0, 42)"
    for s in NASTY:
        assert ast.literal_eval(literal(s)) == s


def test_comment_text_is_one_printable_line():
    for s in NASTY:
        t = comment_text(s)
        assert t.isprintable() and "\n" not in t and len(t) <= 102


def test_writer_refuses_a_line_with_a_line_break():
    w = CodeWriter()
    with pytest.raises(ValueError):
        w.line("x = 1\nimport os")
    with pytest.raises(ValueError):
        w.line("x = 1\u2028")


# ------------------------------------------- every slot, fuzzed, through the loader
import builtins  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from mtus.compiler.build.codegen import FIRST_LINES  # noqa: E402
from mtus.compiler.check.pack import LoadedGuideline, checker_text  # noqa: E402
from mtus.compiler.check.runtime import norm_text  # noqa: E402

#: Payloads that, if any reached code, would set builtins.mtus_pwned: through a source encoding
#: declaration (the bytes would be read as UTF-7, where +AAo- is a line break), line breaks,
#: quotes that end a literal, and a comment that ends early.
CANARY = "mtus_pwned"
PAYLOADS = [
    f"x coding:utf-7 +AAo-__import__('builtins').{CANARY} = 1+AAo-#",
    f"# -*- coding: utf-7 -*- +AAo-__import__('builtins').{CANARY}=1",
    f"vim: set fileencoding=utf-7 : +AAo-__import__('builtins').{CANARY}=1",
    f"\n__import__('builtins').{CANARY} = 1\n#",
    f"\r__import__('builtins').{CANARY} = 1\r#",
    f"'''\n__import__('builtins').{CANARY} = 1\n'''",
    f'"); __import__("builtins").{CANARY} = 1; ("',
    f"\\\n__import__('builtins').{CANARY} = 1",
    f"\x0c__import__('builtins').{CANARY} = 1",
    f"\u2028__import__('builtins').{CANARY} = 1",
    "\ufeff\x00\udcff",
]
HOSTILE_TEXT = st.one_of(st.sampled_from(PAYLOADS), st.text(min_size=1, max_size=60),
                         st.builds(lambda a, b: a + b, st.sampled_from(PAYLOADS), st.text(max_size=20)))
#: The slots user text reaches in a generated checker, each given its own string.
SLOTS = ("path", "id", "title", "fact", "label", "says", "citation", "table", "table_label", "history", "field",
         "const")


def slot_guideline(text: dict, members: list, keys: list) -> model.Guideline:
    """A guideline whose every name, label, text, member and key is the given string."""
    sp = span(3)
    enum_t = model.Type(model.ENUM, members=tuple(members))
    h_t = model.Type(model.HISTORY, fields=(model.Field("date", model.T_DATE, "date"),
                                            model.Field(text["field"], model.T_PERCENT, text["label"])))
    fact_enum, fact_text, fact_hist = "0" + text["fact"], "1" + text["fact"], "2" + text["history"]
    facts = (model.Fact(fact_enum, enum_t, "one of", text["label"], None, sp),
             model.Fact(fact_text, model.T_TEXT, "text", text["label"], None, sp),
             model.Fact(fact_hist, h_t, "history", text["label"], None, sp))
    table = model.Table(text["table"], model.T_TEXT, text["table_label"],
                        tuple(model.TableEntry(k, model.Const(text["const"] + k, model.T_TEXT, k, sp)) for k in keys),
                        sp)
    citation = model.Citation(text["citation"], text["citation"], text["citation"])
    enum_ref = model.FactRef(fact_enum, enum_t, sp)
    text_ref = model.FactRef(fact_text, model.T_TEXT, sp)
    hist_ref = model.FactRef(fact_hist, h_t, sp)
    exprs = [
        model.Member("in", enum_ref, model.Const(frozenset(members), model.Type(model.SET, element=enum_t),
                                                 text["const"], sp), sp),
        model.Compare("=", text_ref, model.Const(text["const"], model.T_TEXT, text["const"], sp), sp),
        model.Compare("=", model.Lookup(text["table"], text_ref, model.T_TEXT, sp),
                      model.Const(text["const"], model.T_TEXT, text["const"], sp), sp),
        model.Compare(">=", model.Query("last", hist_ref, None, None, None, text["field"], model.T_PERCENT, sp),
                      model.Const(Decimal("50"), model.T_PERCENT, text["const"], sp), sp),
    ]
    criteria = tuple(model.Criterion(text["id"] + "_" * i, False, e, text["says"], citation, (), span(10 + i))
                     for i, e in enumerate(exprs))
    return model.Guideline(id=text["id"], title=text["title"], citation=citation, services=(), states=text["says"],
                           version=text["says"], facts=facts, criteria=criteria, conditions=(), examples=(),
                           path=text["path"], span=span(1), tables=(table,))


def skeleton(source: str) -> str:
    """The module's code with every text literal blanked, names numbered by first use and module constants inlined.

    Two guidelines that differ only in their texts have equal skeletons exactly when no text changed the code.
    """
    tree = ast.parse(source)
    consts = {n.targets[0].id: n.value for n in tree.body if isinstance(n, ast.Assign)
              and isinstance(n.targets[0], ast.Name) and n.targets[0].id.startswith("_K")}
    # dropped: the runtime names imported (what is used, checked by assert_safe_module), the constants
    # (inlined below) and the line table (its numbers move with the header's length)
    tree.body = [n for n in tree.body if not (isinstance(n, ast.ImportFrom) and n.module.endswith("runtime"))
                 and not (isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)
                          and (n.targets[0].id in consts or n.targets[0].id == "SOURCE_LINES"))]
    numbers: dict[str, str] = {}

    def number(name: str) -> str:
        return numbers.setdefault(name, f"n{len(numbers)}")

    class Canon(ast.NodeTransformer):
        def visit_Name(self, node):
            if node.id in consts:
                return self.visit(consts[node.id])
            return ast.Name(number(node.id), node.ctx)

        def visit_FunctionDef(self, node):
            node.name = number(node.name)
            return self.generic_visit(node)

        def visit_arg(self, node):
            node.arg = number(node.arg)
            return node

        def visit_Constant(self, node):
            return ast.Constant("S") if isinstance(node.value, str) else node

    return ast.dump(Canon().visit(tree))


def distinct_texts(texts: list) -> list:
    """Texts that stay distinct as the runtime compares them (a table or a `one of` cannot list one twice)."""
    out: list = []
    for t in texts:
        if norm_text(t) and all(norm_text(t) != norm_text(x) and t != x for x in out):
            out.append(t)
    return out


def load_as_the_pack_loader_does(source: str, name: str):
    """The module as `mtus check` gets it: the pack file's bytes, decoded and compiled by check/pack.py."""
    return LoadedGuideline(name, {}, source.encode("utf-8"), f"fuzz/{name}.py").module


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.fixed_dictionaries({slot: HOSTILE_TEXT for slot in SLOTS}),
       members=st.lists(HOSTILE_TEXT, min_size=1, max_size=4), keys=st.lists(HOSTILE_TEXT, min_size=1, max_size=4))
def test_no_text_in_any_slot_becomes_code(texts, members, keys):
    assert_no_text_becomes_code(texts, members, keys)


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_no_payload_in_any_slot_becomes_code(payload):
    """The fast tier's share of the property above: each payload in every slot at once."""
    assert_no_text_becomes_code({s: payload for s in SLOTS}, [payload, payload + "2"], [payload])


def assert_no_text_becomes_code(texts, members, keys):
    members, keys = distinct_texts(members), distinct_texts(keys)
    if not members or not keys:
        return
    hostile = slot_guideline(texts, members, keys)
    source = generate_module(hostile)
    text = checker_text(source.encode("utf-8"), "fuzz.py")
    assert tuple(text.splitlines()[:2]) == FIRST_LINES  # no user text where Python looks for `coding:`
    assert_safe_module(text)  # the very text the loader compiles
    # the same guideline with plain texts: the code must be the same, only the literals differ
    plain = slot_guideline({s: f"plain_{s}" for s in SLOTS}, [f"m{i}" for i in range(len(members))],
                           [f"k{i}" for i in range(len(keys))])
    assert skeleton(text) == skeleton(generate_module(plain))
    constants = {n.value for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Constant)}
    assert {hostile.id, *members, *(c.id for c in hostile.criteria)} <= constants  # each text whole, one literal
    module = load_as_the_pack_loader_does(source, "fuzzed")
    for facts in ({}, {hostile.facts[0].name: members[0], hostile.facts[1].name: keys[0]}):
        r = module.evaluate(facts, RD)
        assert r == evaluate(hostile, facts, RD)
    assert not hasattr(builtins, CANARY)


def evil_source(payload: str) -> str:
    """A `.mtus` guideline with the payload in every string it may hold."""
    q = payload.replace("\\", "\\\\").replace('"', '\\"')
    return f'''guideline evil "{q}"
  source "{q}" section "{q}" page 1

facts
  a: finding "{q}"
  kind: one of {{"{q}", "b"}} "{q}"
  code: text "{q}"

tables
  t: text "{q}"
    "{q}": "{q}"

criteria
  c1: a and kind = "{q}" and t[code] = "{q}"
    says "{q}"
'''


@pytest.mark.parametrize("payload", PAYLOADS[:3] + PAYLOADS[6:7], ids=range(4))
def test_a_coding_declaration_in_a_guideline_never_runs(payload, tmp_path):
    """The reported attack, end to end: `.mtus` -> mtus compile -> pack on disk -> mtus check."""
    from click.testing import CliRunner

    from mtus.compiler.check.pack import load_pack
    from mtus.compiler.tools.cli import main
    from tests.packedit import part

    src = tmp_path / "coding=utf-7 +AAo-x.mtus"  # the file name is user text too
    src.write_text(evil_source(payload), encoding="utf-8")
    out = tmp_path / "pack"
    runner = CliRunner()
    r = runner.invoke(main, ["compile", str(src), "-o", str(out)])
    assert r.exit_code == 0, r.output
    checker = part({rel: (out / rel).read_bytes() for rel in ("manifest.json", "checkers.txt")}, "checkers.txt", "evil")
    assert tuple(checker.decode("utf-8").splitlines()[:2]) == FIRST_LINES
    assert_safe_module(checker_text(checker, "evil.py"))
    case = tmp_path / "case.yaml"
    case.write_text("request_date: 2020-01-01\nguideline: evil\nfacts:\n  a: true\n", encoding="utf-8")
    r = runner.invoke(main, ["check", "--pack", str(out), str(case)])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.output
    assert not hasattr(builtins, CANARY)
    pack = load_pack(str(out))
    assert pack.guidelines["evil"].evaluate({"a": True}, RD).criteria[0].outcome == NOT_DOCUMENTED
    assert not hasattr(builtins, CANARY)


def _repacked(module_bytes: bytes) -> dict:
    """The bundled tpi guideline's pack with its checker replaced and the manifest re-hashed to match."""
    from mtus.compiler.build.packwriter import build_pack
    from mtus.guidelines import bundled_dir
    from tests.packedit import with_part

    return with_part(build_pack([str(bundled_dir() / "tpi.mtus")]).files, "checkers.txt", "tpi", module_bytes)


def test_the_loader_compiles_text_so_a_coding_declaration_is_inert():
    """Even a checker whose first line declares UTF-7 (not one mtus writes) is read as UTF-8 by the loader."""
    from mtus.compiler.check.pack import load_pack_files

    payload = f"# coding:utf-7 +AAo-__import__('builtins').{CANARY} = 1+AAo-#\n".encode()
    from mtus.dsl import check_file
    from mtus.guidelines import bundled_dir

    files = _repacked(payload + generate_module(check_file(str(bundled_dir() / "tpi.mtus")).model).encode())
    pack = load_pack_files(files, "hostile-pack")
    assert pack.guidelines["tpi"].evaluate({}, RD).criteria
    assert not hasattr(builtins, CANARY)


@pytest.mark.parametrize("module, message", [
    (b"x = '\xff'\n", "hostile-pack/checkers.txt#tpi: is not UTF-8 text (byte 5)"),
    (b"def (:\n", "hostile-pack/checkers.txt#tpi:1: is not a valid generated checker"),
    (b"x = 1\x00\n", "hostile-pack/checkers.txt#tpi"),
])
def test_a_checker_that_is_not_utf8_python_is_refused_by_name(module, message):
    from mtus.compiler.check.pack import PackError, load_pack_files

    pack = load_pack_files(_repacked(module), "hostile-pack")
    with pytest.raises(PackError) as e:
        pack.guidelines["tpi"].evaluate({}, RD)
    assert message in str(e.value)
