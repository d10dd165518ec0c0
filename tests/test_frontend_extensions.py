"""The front end of the drug and partial-certification constructs: types, model values, diagnostics.

Tables and `table[key]`, `sum(h of ...)`, facts `from product ...`, drug
services, `allows fewer`, `expect modified N`, and formulary files.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from mtus.dsl import check_file, check_text, model
from mtus.dsl.dump import dump
from mtus.dsl.model import COUNT, DURATION, NUMBER, PERCENT, QUANTITY, SET, TEXT, Type

HEAD = 'guideline g "G"\n  source "Chronic Pain Guidelines" page 74\n'
FACTS = '''\
facts
  drug: text "the drug"
  opioid: one of {"codeine", "oxycodone"} "the opioid"
  dose: quantity mg "daily dose"
  score: number "pain score"
  n: count "visits requested"
  done: count "visits to date"
  f: finding "a finding"
  regimen: history "opioids taken"
    date: date "date"
    drug: text "opioid"
    kind: one of {"codeine", "oxycodone", "tramadol"} "opioid"
    mg: number "daily dose in mg"
    dose: quantity mg "daily dose"
    relief: percent "relief"
    lasted: duration "how long"
    visits: count "visits"
    ok: finding "tolerated"
'''
TABLES = '''\
tables
  factor: number "conversion factor"
    "codeine": 0.15
    "oxycodone": 1.5
'''


def run(criteria: str, facts: str = FACTS, tables: str = TABLES, extra: str = ""):
    return check_text(HEAD + facts + tables + "criteria\n" + criteria + extra, "x.mtus")


def errors(criteria: str, facts: str = FACTS, tables: str = TABLES, extra: str = "") -> list[str]:
    return [d.code for d in run(criteria, facts, tables, extra).diagnostics if d.is_error]


def codes(criteria: str, facts: str = FACTS, tables: str = TABLES, extra: str = "") -> list[str]:
    """All codes but W401 (unused facts are beside the point here)."""
    return [d.code for d in run(criteria, facts, tables, extra).diagnostics if d.code != "W401"]


def checked(criteria: str, facts: str = FACTS, tables: str = TABLES, extra: str = "") -> model.Guideline:
    result = run(criteria, facts, tables, extra)
    assert not [d for d in result.diagnostics if d.is_error], [(d.code, d.message) for d in result.diagnostics]
    return result.model


def expr(condition: str, tables: str = TABLES) -> model.Expr:
    return checked(f"  c: {condition}\n", tables=tables).criteria[0].expr


def diagnostic(criteria: str, code: str, **kw):
    ds = [d for d in run(criteria, **kw).diagnostics if d.code == code]
    assert len(ds) == 1, [(d.code, d.message) for d in run(criteria, **kw).diagnostics]
    return ds[0]


# -------------------------------------------------------------------- tables
def table(decl: str) -> model.Table:
    m = checked("  c: drug = \"x\"\n", tables="tables\n" + decl)
    return m.tables[0]


@pytest.mark.parametrize("decl, kind, value", [
    ('  t: number\n    "a": 1\n', NUMBER, Decimal(1)),
    ('  t: number\n    "a": 0.15\n', NUMBER, Decimal("0.15")),
    ('  t: count\n    "a": 10\n', COUNT, 10),
    ('  t: percent\n    "a": 50%\n', PERCENT, Decimal(50)),
    ('  t: quantity mg\n    "a": 120 mg\n', QUANTITY, Decimal(120)),
    ('  t: duration\n    "a": 6 weeks\n', DURATION, model.Period(0, 42)),
    ('  t: text\n    "a": "tablet"\n', TEXT, "tablet"),
])
def test_table_entries_are_typed_with_the_table_type(decl, kind, value):
    t = table(decl)
    assert t.type.kind == kind
    [entry] = t.entries
    assert entry.key == "a" and entry.value.type == t.type and entry.value.value == value
    assert type(entry.value.value) is type(value)


def test_a_table_has_its_name_label_and_entries_in_order():
    m = checked('  c: factor[drug] > 1\n')
    [t] = m.tables
    assert (t.name, t.type, t.label) == ("factor", model.T_NUMBER, "conversion factor")
    assert [e.key for e in t.entries] == ["codeine", "oxycodone"]
    assert t.span.line == 22


def test_a_table_label_defaults_to_its_name_in_words():
    assert table('  max_visits: count\n    "a": 1\n').label == "max visits"


def test_a_guideline_without_tables_has_none():
    assert checked("  c: f\n", tables="").tables == ()


@pytest.mark.parametrize("decl", [
    '  t: count\n    "a": 1.5\n',
    '  t: number\n    "a": 1.5%\n',
    '  t: percent\n    "a": 50\n',
    '  t: quantity mg\n    "a": 120 MME\n',
    '  t: duration\n    "a": 6\n',
    '  t: text\n    "a": 1\n',
    '  t: number\n    "a": "one"\n',
    '  t: number\n    "a": present\n',
])
def test_entries_of_the_wrong_type_are_e308(decl):
    assert errors('  c: t[drug] = t[drug]\n', tables="tables\n" + decl) == ["E308"]


@pytest.mark.parametrize("kind", ["finding", "date", 'one of {"a"}', "set of text", 'set of {"a"}'])
def test_tables_of_other_types_are_e310_without_follow_ons(kind):
    assert errors('  c: t[drug] = t[drug]\n', tables=f'tables\n  t: {kind}\n    "a": present\n') == ["E310"]


def test_a_history_table_is_e310():
    assert errors("  c: f\n", tables='tables\n  t: history\n') == ["E310"]


def test_a_table_without_entries_is_e406_and_its_lookups_stay_silent():
    assert codes('  c: factor[drug] > 1\n', tables='tables\n  factor: number "f"\n') == ["E406"]


def test_keys_are_unique_ignoring_case_and_spacing():
    d = diagnostic('  c: t[drug] > 1\n', "E401", tables='tables\n  t: number\n    "low  back": 1\n    "Low back": 2\n')
    assert d.message == '"Low back" and "low  back" are the same key'
    assert d.notes[0].span.line == 23
    assert errors('  c: t[drug] > 1\n', tables='tables\n  t: number\n    "a": 1\n    "a": 2\n') == ["E401"]


def test_duplicate_tables_and_a_table_named_like_a_fact_are_e401():
    assert errors("  c: t[drug] > 1\n", tables='tables\n  t: number\n    "a": 1\n  t: count\n    "b": 2\n') == ["E401"]
    d = diagnostic("  c: f\n", "E401", tables='tables\n  drug: number\n    "a": 1\n')
    assert d.message == "`drug` is declared as a fact and as a table"


def test_a_table_named_like_an_operand_keyword_is_e110():
    assert errors("  c: f\n", tables='tables\n  count: number\n    "a": 1\n') == ["E110"]


def test_an_unused_table_is_w401():
    result = run("  c: f\n")
    assert "table `factor` is declared but no criterion looks it up" in [d.message for d in result.diagnostics]
    assert result.ok


def test_a_table_looked_up_only_in_a_when_condition_is_used():
    result = run('  when factor[drug] > 1\n    c: f\n', facts='facts\n  drug: text\n  f: finding\n')
    assert result.diagnostics == ()


def test_the_sections_come_in_order():
    result = check_text(HEAD + TABLES + FACTS + "criteria\n  c: f\n")
    assert [d.code for d in result.diagnostics] == ["E110"]
    assert "`facts`, `tables`, `criteria` and `example`" in result.diagnostics[0].hint


# ------------------------------------------------------------------- lookups
def test_a_lookup_has_the_table_type_and_its_key():
    e = expr("factor[drug] > 1").left
    assert isinstance(e, model.Lookup)
    assert (e.table, e.type) == ("factor", model.T_NUMBER)
    assert isinstance(e.key, model.FactRef) and e.key.name == "drug"
    assert model.children(e) == (e.key,)
    assert model.facts_read(e) == ("drug",)


def test_a_lookup_works_in_arithmetic_with_units():
    e = expr("dose * factor[opioid] <= 120 mg").left
    assert e.type == Type(QUANTITY, unit="mg")
    assert e.right.key.type.kind == model.ENUM


def test_a_lookup_by_a_fixed_text():
    e = expr('factor["codeine"] < 1').left
    assert isinstance(e.key, model.Const) and e.key.value == "codeine"


@pytest.mark.parametrize("key", ["n", "score", "f", "dose", "regimen", "{\"a\"}", "1", "request.date"])
def test_a_key_that_is_not_a_text_is_e301(key):
    assert errors(f"  c: factor[{key}] > 1\n") == ["E301"]


def test_an_unknown_table_is_e206_with_suggestions():
    d = diagnostic("  c: factors[drug] > 1\n", "E206")
    assert (d.message, d.hint) == ("`factors` is not a declared table", "did you mean `factor`?")
    assert d.span.column == 6 and d.span.end_column == 13
    assert "is a fact" in diagnostic("  c: drug[opioid] > 1\n", "E206").hint
    assert "declare it in a `tables` section" in diagnostic("  c: t[drug] > 1\n", "E206", tables="").hint


def test_an_unknown_table_does_not_also_warn_about_unused_tables_or_facts():
    assert codes("  c: factors[drug] > 1\n") == ["E206"]
    assert [d.code for d in run("  c: factors[drug] > 1\n").diagnostics] == ["E206"]


def test_an_unknown_key_is_reported_once():
    assert codes("  c: factor[drugg] > 1\n") == ["E201"]


def test_w402_for_members_without_an_entry():
    t = 'tables\n  t: number\n    "Codeine": 1\n'
    d = diagnostic("  c: t[opioid] > 1\n", "W402", tables=t)
    assert d.message == 'table `t` has no entry for "oxycodone"'
    assert d.severity == "warning"
    assert run("  c: t[opioid] > 1\n", tables=t).ok


def test_w402_lists_several_members():
    d = diagnostic("  c: any(regimen where t[kind] > 1)\n", "W402", tables='tables\n  t: number\n    "codeine": 1\n')
    assert d.message == 'table `t` has no entries for "oxycodone", "tramadol"'


def test_no_w402_when_every_member_has_an_entry_matched_like_text():
    result = run("  c: t[opioid] > 1 and t[drug] > 1\n", tables='tables\n  t: number\n    "CODEINE": 1\n    "oxycodone ": 2\n')
    assert [d.code for d in result.diagnostics if d.code != "W401"] == []


def test_w402_for_a_fixed_key_that_is_not_in_the_table():
    d = diagnostic('  c: factor["codein"] > 1\n', "W402")
    assert d.hint == 'did you mean "codeine"?'
    assert codes('  c: factor["Codeine"] > 1\n') == []


# ----------------------------------------------------------------- sum of
def test_sum_of_an_expression_per_entry():
    q = expr("sum(regimen of mg * factor[drug]) <= 120").left
    assert isinstance(q, model.Query)
    assert (q.op, q.field, q.type) == ("sum", None, model.T_NUMBER)
    assert isinstance(q.value, model.Arith)
    assert isinstance(q.value.left, model.FieldRef) and q.value.left.name == "mg"
    assert isinstance(q.value.right.key, model.FieldRef) and q.value.right.key.name == "drug"
    assert model.children(q) == (q.history, q.value)


@pytest.mark.parametrize("value, t", [
    ("visits", model.T_COUNT),
    ("visits * 2", model.T_COUNT),
    ("mg / 2", model.T_NUMBER),
    ("relief", model.T_PERCENT),
    ("dose * 2", Type(QUANTITY, unit="mg")),
    ("lasted + 1 week", model.T_DURATION),
    ("1", model.T_COUNT),
])
def test_the_sum_has_the_type_of_its_expression(value, t):
    assert expr(f"sum(regimen of {value}) = sum(regimen of {value})").left.type == t


def test_sum_of_keeps_within_and_where():
    q = expr('sum(regimen of mg within 1 year where drug != "codeine" and ok) < 100').left
    assert (q.within, q.within_text) == (model.Period(12, 0), "1 year")
    assert isinstance(q.where, model.Logic)
    assert model.children(q) == (q.history, q.where, q.value)


def test_a_field_in_the_sum_hides_a_fact_of_the_same_name():
    q = expr("sum(regimen of dose) < 100 mg").left
    assert isinstance(q.value, model.FieldRef)


def test_facts_read_inside_the_sum_are_read():
    m = checked("  c: sum(regimen of mg * score) < 100\n", facts=FACTS)
    assert model.facts_read(m.criteria[0].expr) == ("regimen", "score")


@pytest.mark.parametrize("value", ["drug", "ok", "date", "kind", "mg > 1", 'regimen.mg'])
def test_sum_of_what_cannot_be_added_up(value):
    assert errors(f"  c: sum(regimen of {value}) > 1\n") in (["E301"], ["E205"])


def test_sum_of_a_text_is_e301():
    d = diagnostic("  c: sum(regimen of drug) > 1\n", "E301")
    assert d.message == "cannot add up `drug`, which is a text"
    d = diagnostic("  c: sum(regimen of ok) > 1\n", "E301")
    assert "count(regimen where ...)" in d.hint


@pytest.mark.parametrize("condition", ["count(regimen of mg) > 1", "any(regimen of mg)", "last(regimen of mg).mg > 1",
                                       "sum(regimen.mg of mg) > 1", "sum(regimen of mg).mg > 1"])
def test_only_sum_takes_of_and_then_no_field(condition):
    assert errors(f"  c: {condition}\n") == ["E307"]


def test_an_unknown_field_in_the_sum_is_e201_with_the_fields_suggested():
    d = diagnostic("  c: sum(regimen of mgg) > 1\n", "E201")
    assert d.hint == "did you mean `mg`?"


# ------------------------------------------------------------- product facts
PRODUCT_FACTS = '''\
facts
  ingredients: set of text "ingredients" from product ingredients
  classes: set of text "classes" from product classes
  form: text "dosage form" from product form
  product: text "product" from product name
  other: text "not from the product"
'''


def test_facts_bound_to_the_product():
    m = checked('  c: ingredients contains "x" and classes contains "y" and form = "z" and product = other\n',
                facts=PRODUCT_FACTS, tables="")
    assert {f.name: f.source for f in m.facts} == {"ingredients": "ingredients", "classes": "classes",
                                                   "form": "form", "product": "name", "other": None}
    assert m.fact("ingredients").type == Type(SET, element=model.T_TEXT)
    assert m.fact("form").type == model.T_TEXT


def test_a_product_fact_may_have_a_default():
    m = checked('  c: form = "tablet"\n', facts='facts\n  form: text "form" from product form default "tablet"\n',
                tables="")
    assert m.fact("form").default.value == "tablet" and m.fact("form").source == "form"


@pytest.mark.parametrize("decl", [
    "x: text from product ingredients",
    'x: set of {"a"} from product ingredients',
    "x: text from product classes",
    "x: set of text from product form",
    'x: one of {"tablet"} from product form',
    "x: count from product name",
    "x: history from product name\n    d: date",
])
def test_a_product_fact_of_the_wrong_type_is_e308(decl):
    assert errors("  c: documented x\n", facts=f"facts\n  {decl}\n", tables="") == ["E308"]


def test_an_unknown_product_field_is_e205():
    d = diagnostic("  c: documented x\n", "E205", facts="facts\n  x: set of text from product ingredient\n", tables="")
    assert (d.message, d.hint) == ("a product has no `ingredient`", "did you mean `ingredients`?")
    assert d.span.column == 31


def test_from_product_is_only_for_facts():
    assert errors("  c: any(h)\n", facts="facts\n  h: history\n    x: text from product form\n", tables="") == ["E110"]


# ------------------------------------------------------------ drug services
def test_drug_services_keep_their_kind():
    text = ('guideline g "G"\n  source "S" page 1\n  services class "opioid", ingredient "tramadol", '
            'form "patch", "opioid prescription", cpt 99213\n  services form "lotion"\nfacts\n  f: finding\n'
            "criteria\n  c: f\n")
    m = check_text(text).model
    assert [(s.kind, s.value) for s in m.services] == [
        ("class", "opioid"), ("ingredient", "tramadol"), ("form", "patch"), ("name", "opioid prescription"),
        ("cpt", "99213"), ("form", "lotion")]
    assert "services: class 'opioid', ingredient 'tramadol', form 'patch'" in dump(m)


def test_class_and_form_are_still_names_elsewhere():
    m = checked('  c: form = "x" and class = "y"\n', facts="facts\n  form: text\n  class: text\n", tables="")
    assert [f.name for f in m.facts] == ["form", "class"]


# ------------------------------------------------------------- allows fewer
PT = '''\
facts
  done: count "visits to date"
  n: count "visits requested"
  weeks: duration "weeks requested"
  f: finding "improving"
'''


def test_allows_fewer_is_on_the_criterion():
    m = checked("  c: done + n <= 10\n    says \"up to 10\"\n    allows fewer n\n  d: f\n", facts=PT, tables="")
    assert [c.allows_fewer for c in m.criteria] == ["n", None]
    assert m.criteria[0].says == "up to 10"
    assert "    allows fewer n\n" in dump(m)


def test_allows_fewer_under_when():
    m = checked("  when f\n    c: done + n <= 10\n      allows fewer n\n", facts=PT, tables="")
    assert m.criteria[0].allows_fewer == "n" and m.criteria[0].conditions


def test_allows_fewer_of_a_non_count_is_e301():
    d = diagnostic("  c: weeks <= 8 weeks\n    allows fewer weeks\n", "E301", facts=PT, tables="")
    assert d.message == "`allows fewer` reduces a count, but `weeks` is a duration"


def test_allows_fewer_of_a_fact_the_criterion_does_not_read_is_e407():
    assert errors("  c: done <= 10\n    allows fewer n\n  d: n > 0\n", facts=PT, tables="") == ["E407"]
    # read only by the `when` around it is not read by the criterion
    assert errors("  when n > 0\n    c: done <= 10\n      allows fewer n\n", facts=PT, tables="") == ["E407"]


def test_allows_fewer_of_an_unknown_fact_is_e201():
    d = diagnostic("  c: done + n <= 10\n    allows fewer nn\n", "E201", facts=PT, tables="")
    assert d.hint == "did you mean `n`?"
    assert d.span.line == 10


def test_allows_fewer_twice_is_e401():
    assert errors("  c: done + n <= 10\n    allows fewer n\n    allows fewer n\n", facts=PT, tables="") == ["E401"]


def test_allows_fewer_of_a_mistyped_criterion_stays_silent():
    assert errors("  c: done + n\n    allows fewer n\n", facts=PT, tables="") == ["E304"]


# ---------------------------------------------------------- expect modified
def example(expect: str, given: str = "done = 4, n = 12", allows: bool = True) -> str:
    fewer = "    allows fewer n\n" if allows else ""
    return f'  c: done + n <= 10\n{fewer}  d: f\nexample "e"\n  given request.date = 2014-12-18, {given}\n  {expect}\n'


def test_expect_modified_is_on_the_example():
    m = checked(example("expect modified 6 because c not met"), facts=PT, tables="")
    [ex] = m.examples
    assert (ex.certified, ex.modified, ex.reasons) == (False, 6, (("c", "not met"),))
    assert ex.request_date == datetime.date(2014, 12, 18)
    assert "'e': modified 6, request.date 2014-12-18" in dump(m)


@pytest.mark.parametrize("expect, certified", [("expect certified", True), ("expect not certified", False)])
def test_other_verdicts_are_not_modified(expect, certified):
    [ex] = checked(example(expect), facts=PT, tables="").examples
    assert (ex.certified, ex.modified) == (certified, None)


def test_expect_modified_0_is_e305():
    d = diagnostic(example("expect modified 0"), "E305", facts=PT, tables="")
    assert d.span.column == 19 and d.span.end_column == 20


def test_expect_modified_without_allows_fewer_is_e407():
    assert errors(example("expect modified 6", allows=False), facts=PT, tables="") == ["E407"]


def test_expect_modified_without_the_amount_requested_is_e407():
    d = diagnostic(example("expect modified 6", given="done = 4"), "E407", facts=PT, tables="")
    assert d.message == "the example does not give `n`, the amount that may be reduced"


@pytest.mark.parametrize("n", [12, 13])
def test_expect_modified_to_as_many_as_requested_is_e407(n):
    d = diagnostic(example(f"expect modified {n}"), "E407", facts=PT, tables="")
    assert d.hint == "expect a number from 1 to 11"


def test_expect_modified_with_one_requested_is_e407():
    d = diagnostic(example("expect modified 1", given="done = 10, n = 1"), "E407", facts=PT, tables="")
    assert "nothing fewer" in d.hint


def test_expect_modified_is_not_a_number_with_decimals():
    assert errors(example("expect modified 6.5"), facts=PT, tables="") == ["E110"]


# ------------------------------------------------------------------ formulary
FORMULARY = '''\
formulary mtus_drugs "Drug vocabulary"
  source "FDA labels" section "2" pages 1-3

ingredients
  "hydrocodone": "opioid"
  "acetaminophen": "analgesic"
  "carisoprodol": "muscle relaxant", "sedating"

products
  "Norco": "Hydrocodone", "acetaminophen" as "tablet"
  "Soma": "carisoprodol"
'''


def formulary(text: str = FORMULARY):
    return check_text(text, "drugs.mtus")


def test_a_formulary_file_gives_a_formulary():
    result = formulary()
    assert result.ok and result.diagnostics == ()
    f = result.model
    assert isinstance(f, model.Formulary)
    assert (f.id, f.title, f.path) == ("mtus_drugs", "Drug vocabulary", "drugs.mtus")
    assert f.citation == model.Citation("FDA labels", "2", "1-3")
    assert [(i.name, i.classes) for i in f.ingredients] == [
        ("hydrocodone", ("opioid",)), ("acetaminophen", ("analgesic",)),
        ("carisoprodol", ("muscle relaxant", "sedating"))]
    # a product's ingredients as the ingredients section spells them
    assert [(p.name, p.ingredients, p.form) for p in f.products] == [
        ("Norco", ("hydrocodone", "acetaminophen"), "tablet"), ("Soma", ("carisoprodol",), None)]
    assert f.products[0].span.line == 10 and f.ingredients[2].span.line == 7


def test_a_formulary_needs_no_citation_and_no_products():
    f = formulary('formulary d "D"\ningredients\n  "lidocaine": "local anesthetic"\n').model
    assert f.citation is None and f.products == ()


def test_a_formulary_needs_ingredients():
    result = formulary('formulary d "D"\nproducts\n  "Soma": "carisoprodol"\n')
    assert [d.code for d in result.diagnostics] == ["E110"]
    result = formulary('formulary d "D"\n')
    assert [d.code for d in result.diagnostics] == ["E111"]


def test_the_dump_of_a_formulary():
    assert dump(formulary().model) == (
        "formulary mtus_drugs 'Drug vocabulary'\n"
        "  cites: FDA labels, section 2, pages 1-3\n"
        "ingredients\n"
        "  'hydrocodone': 'opioid'\n"
        "  'acetaminophen': 'analgesic'\n"
        "  'carisoprodol': 'muscle relaxant', 'sedating'\n"
        "products\n"
        "  'Norco': 'hydrocodone', 'acetaminophen' as 'tablet'\n"
        "  'Soma': 'carisoprodol'\n")


@pytest.mark.parametrize("old, new", [
    ('"carisoprodol": "muscle relaxant", "sedating"', '"carisoprodol": "sedating", "muscle relaxant", "Sedating"'),
    ('  "Soma": "carisoprodol"\n', '  "Soma": "carisoprodol"\n  "soma": "carisoprodol"\n'),
    ('"Soma": "carisoprodol"', '"Soma": "carisoprodol", "Carisoprodol"'),
    ('  "acetaminophen": "analgesic"\n', '  "acetaminophen": "analgesic"\n  "acetaminophen": "antipyretic"\n'),
    ('  source "FDA labels" section "2" pages 1-3\n', '  source "A" page 1\n  source "B" page 2\n'),
])
def test_formulary_duplicates_are_e401(old, new):
    assert old in FORMULARY
    result = formulary(FORMULARY.replace(old, new))
    assert [d.code for d in result.diagnostics] == ["E401"] and result.model is None


def test_a_product_ingredient_not_declared_is_e207():
    result = formulary(FORMULARY.replace('"Soma": "carisoprodol"', '"Soma": "carisoprodl", "aspirin"'))
    assert [(d.code, d.hint) for d in result.diagnostics] == [
        ("E207", 'did you mean "carisoprodol"?'),
        ("E207", 'declare it under `ingredients` with its classes, e.g. `"aspirin": "opioid"`'),
    ]


def test_guideline_sections_are_not_part_of_a_formulary():
    result = formulary(FORMULARY + "criteria\n  c: f\n")
    [d] = result.diagnostics
    assert (d.code, d.message) == ("E110", "`criteria` is not a section of a formulary")


def test_a_file_that_is_neither_kind():
    [d] = check_text('rule g "G"\n').diagnostics
    assert d.message == "a file must start with a `guideline` or `formulary` line, not `rule`"


def test_check_file_and_lint_read_both_kinds(tmp_path):
    from mtus.compiler.tools.lint import lint_paths

    (tmp_path / "drugs.mtus").write_text(FORMULARY, encoding="utf-8")
    (tmp_path / "g.mtus").write_text(HEAD + "facts\n  f: finding\ncriteria\n  c: f\n", encoding="utf-8")
    assert isinstance(check_file(tmp_path / "drugs.mtus").model, model.Formulary)
    assert isinstance(check_file(tmp_path / "g.mtus").model, model.Guideline)
    report = lint_paths([str(tmp_path)])
    assert (report.exit_code, report.summary) == (0, "checked 2 files: 0 errors, 0 warnings")
    (tmp_path / "drugs.mtus").write_text(FORMULARY.replace('"Soma": "carisoprodol"', '"Soma": "x"'), encoding="utf-8")
    report = lint_paths([str(tmp_path)])
    assert report.exit_code == 1 and "error[E207]" in report.output


# ---------------------------------------------------------------- the dump
def test_the_dump_shows_tables_lookups_sums_and_product_facts():
    m = checked("  c: sum(regimen of mg * factor[drug] within 1 year) <= 120\n",
                facts='facts\n  drug: text "d" from product name\n' + FACTS.split("\n", 2)[2])
    text = dump(m)
    assert "  drug: text from product name  # d\n" in text
    assert "tables\n  factor: number  # conversion factor\n    'codeine': 0.15:number\n" in text
    assert "(sum regimen of (* .mg:number factor[.drug:text]:number):number within 1 year):number" in text


def test_a_mistyped_amount_requested_is_reported_once():
    assert errors(example("expect modified 6", given='done = 4, n = "twelve"'), facts=PT, tables="") == ["E308"]


def test_what_a_misused_sum_mentions_is_not_also_unused():
    result = run('  c: sum(f of factor[drug] where drug = "a") > 1\n', facts="facts\n  f: finding\n  drug: text\n")
    assert [d.code for d in result.diagnostics] == ["E307"]


def test_from_product_after_default_says_where_it_goes():
    [d] = run('  c: x = "a"\n', facts='facts\n  x: text "l" default "a" from product form\n', tables="").diagnostics
    assert (d.code, d.hint) == ("E110", "write `from product ...` before `default`")
    [d] = run('  c: x <= 4\n', facts='facts\n  x: count "l" default 1 from item quantity, request detail, required\n',
              tables="").diagnostics
    assert (d.code, d.hint) == ("E110", "write `from item ...` before `default`")
