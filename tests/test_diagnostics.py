"""Malformed guidelines get one clear diagnostic each; the rendered text is a reviewed snapshot.

Every file in tests/bad/ has one problem, named by the file. Its diagnostics
are rendered as `mtus lint` prints them, with paths relative to the
repository so the snapshots do not depend on the machine.
"""

from __future__ import annotations

import json

import attrs
import pytest

from mtus.compiler.tools.lint import with_lints
from mtus.dsl import check_file, check_text
from mtus.dsl.codes import CODES, PACK_CODES
from mtus.dsl.diagnostics import MAX_PER_FILE, render_json, render_text
from tests.conftest import ROOT

BAD = ROOT / "tests" / "bad"
FILES = sorted(BAD.glob("*.mtus"))

#: The code each malformed file must produce (and nothing else).
EXPECTED = {
    "aggregate_on_non_history": "E307",
    "aggregate_without_field": "E307",
    "all_without_where": "E307",
    "allows_fewer_fact_not_read": "E407",
    "allows_fewer_not_a_count": "E301",
    "allows_fewer_unknown_fact": "E201",
    "at_least_more_than_listed": "E305",
    "edition_ends_before_it_starts": "E409",
    "from_item_unknown_part": "E465",
    "from_item_quantity_not_a_count": "E466",
    "from_item_quantity_twice": "E467",
    "service_code_of_the_other_kind": "E468",
    "from_item_quantity_not_a_request_detail": "W430",
    "example_dated_outside_edition": "W403",
    "not_mtus_rank_one": "E409",
    "bad_character": "E101",
    "bad_character_at_sign": "E101",
    "bad_citation": "E110",
    "bad_date_literal": "E305",
    "bad_default": "E308",
    "bad_example_value": "E308",
    "code_given_as_a_pattern": "E308",
    "code_not_a_code": "E415",
    "code_ordered_comparison": "E301",
    "code_pattern_compared_with_text": "W409",
    "code_range_out_of_order": "E415",
    "count_compared_with_a_unit": "E306",
    "count_distinct_without_field": "E307",
    "count_of_a_set_with_where": "E307",
    "criterion_not_true_or_false": "E304",
    "curly_quotes": "E101",
    "date_compared_with_duration": "E302",
    "double_equals": "E110",
    "duplicate_criterion": "E401",
    "duplicate_enum_member": "E401",
    "duplicate_fact": "E401",
    "duplicate_given_in_example": "E401",
    "duplicate_history_field": "E401",
    "duration_vs_percent": "E302",
    "empty_criteria_section": "E111",
    "empty_guideline": "E402",
    "example_given_with_comparison": "E110",
    "example_set_value_unknown_member": "E203",
    "example_without_expect": "E111",
    "expect_modified_not_allowed": "E407",
    "expect_modified_not_fewer": "E407",
    "expect_modified_zero": "E305",
    "example_outcome_of_an_exclusion": "E411",
    "exclusion_by_absence": "W405",
    "history_without_silence_rule": "W404",
    "fact_named_present": "E110",
    "fields_under_non_history": "E405",
    "detail_mixed_with_clinical_fact": "W406",
    "formulary_duplicate_ingredient": "E401",
    "formulary_duplicate_product": "E401",
    "formulary_unknown_ingredient": "E207",
    "formulary_unknown_section": "E110",
    "history_field_used_as_fact": "E201",
    "history_field_without_row": "E205",
    "history_without_fields": "E405",
    "indentation_matches_no_block": "E104",
    "keyword_as_criterion_id": "E110",
    "keyword_as_fact_name": "E110",
    "let_given_in_example": "E201",
    "let_in_its_own_definition": "E414",
    "let_named_like_a_fact": "E401",
    "let_named_like_a_field": "W408",
    "let_under_when": "E413",
    "let_unused": "W407",
    "let_used_above": "E414",
    "last_of_a_history_that_may_be_empty": "W410",
    "lookup_key_member_without_entry": "W402",
    "lookup_key_not_text": "E301",
    "missing_citation": "E403",
    "missing_colon": "E110",
    "missing_expression_after_operator": "E110",
    "missing_operand_after_and": "E110",
    "missing_page": "E403",
    "missing_section_indentation": "E110",
    "missing_title": "E110",
    "nested_too_deeply": "E901",
    "not_utf8": "E100",
    "nul_byte": "E101",
    "of_without_sum": "E307",
    "ordered_comparison_of_text": "E301",
    "percent_vs_plain_number": "E309",
    "product_fact_unknown_field": "E205",
    "product_fact_wrong_type": "E308",
    "quantities_multiplied_into_no_unit": "E303",
    "quantity_in_units_of_time": "E306",
    "quantity_without_unit": "E306",
    "says_given_twice": "E401",
    "says_under_when": "E110",
    "single_quoted_text": "E101",
    "stray_indentation": "E110",
    "sum_of_not_summable": "E301",
    "tab_indented_after_spaces": "E104",
    "tab_mixed_with_spaces": "E104",
    "table_duplicate_key": "E401",
    "table_low_end_without_ranges": "E205",
    "table_otherwise_twice": "E401",
    "table_range_of_text": "E308",
    "table_range_out_of_order": "E305",
    "table_entry_wrong_type": "E308",
    "table_of_findings": "E310",
    "table_without_entries": "E406",
    "time_from_not_a_date": "E301",
    "truncated_in_member_list": "E111",
    "unbalanced_closing_parenthesis": "E110",
    "unclosed_parenthesis": "E110",
    "on_denial_given_twice": "E401",
    "on_denial_indented_says": "E110",
    "on_denial_without_says": "E110",
    "shows_without_computed_value": "E412",
    "shows_without_placeholder": "E412",
    "unclosed_parenthesis_at_end": "E111",
    "unclosed_set_brace": "E110",
    "unclosed_string": "E102",
    "unclosed_text_block": "E103",
    "unit_mismatch": "E303",
    "unknown_criterion_in_example": "E204",
    "unknown_enum_member": "E203",
    "unknown_fact": "E201",
    "unknown_fact_misspelled": "E201",
    "unknown_history_field": "E202",
    "unknown_outcome_in_expect": "E110",
    "unknown_request_field": "E205",
    "unknown_section": "E110",
    "unknown_table": "E206",
    "unused_fact": "W401",
    "silence_rule_that_does_not_fit": "E410",
    "when_never_true": "E404",
    "within_not_a_duration": "E302",
    "wrong_type_in_and": "E301",
    "wrong_type_not_count": "E301",
}

#: Raw parser vocabulary that must never reach an author.
INTERNAL = ("RPAR", "LPAR", "RBRACE", "LBRACE", "RSQB", "LSQB", "_NL", "_INDENT", "_DEDENT", "$END",
            "__ANON", "Token(", "Tree(", "Traceback", "UnexpectedToken", "COMPARE", "Decimal(")


@pytest.fixture
def in_repo(monkeypatch):
    monkeypatch.chdir(ROOT)


def check_relative(path):
    """Check and lint a file by its path relative to the repository (the caller is in the repository)."""
    result = check_file(path.relative_to(ROOT).as_posix())
    return attrs.evolve(result, diagnostics=tuple(with_lints(result)))


def rendered(result) -> str:
    return render_text(result.diagnostics, {result.source.path: result.source})


def test_the_corpus_is_the_list_above():
    assert [p.stem for p in FILES] == sorted(EXPECTED)
    assert len(FILES) >= 45


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_bad_file(path, snapshot, in_repo):
    result = check_relative(path)
    text = rendered(result)
    assert [d.code for d in result.diagnostics] == [EXPECTED[path.stem]], text
    d = result.diagnostics[0]
    assert d.span.path == f"tests/bad/{path.name}"
    assert not d.message[0].isupper() and not d.message.endswith("."), d.message  # house style
    if d.is_error:
        assert result.model is None and not result.ok
    else:
        assert result.model is not None and result.ok
    for word in INTERNAL:
        assert word not in text, text
    assert text == snapshot


def test_every_code_but_the_internal_error_is_covered(in_repo):
    covered = {d.code for p in FILES for d in check_relative(p).diagnostics}
    assert covered == set(CODES) - {"E999"} - PACK_CODES  # pack-level codes: tests/test_strict_facts.py


def test_the_internal_error_code_is_only_for_bugs(monkeypatch):
    # E999 cannot be triggered by any input: it is the safety net for a bug in a pass.
    import mtus.dsl.frontend

    def broken(ctx):
        raise KeyError("a bug")

    monkeypatch.setattr(mtus.dsl.frontend, "run", broken)
    result = check_text((BAD / "unused_fact.mtus").read_text(), "x.mtus")
    assert [d.code for d in result.diagnostics] == ["E999"]
    assert "please report it" in result.diagnostics[0].hint


def test_json_rendering(in_repo):
    result = check_relative(BAD / "unknown_fact_misspelled.mtus")
    data = json.loads(render_json(result.diagnostics))
    assert data == [{
        "code": "E201",
        "severity": "error",
        "message": "`twitch_respnse` is not a declared fact",
        "span": {"path": "tests/bad/unknown_fact_misspelled.mtus", "line": 10, "column": 19,
                 "end_line": 10, "end_column": 33},
        "hint": "did you mean `twitch_response`?",
        "notes": [],
    }]


def test_json_rendering_of_notes(in_repo):
    result = check_relative(BAD / "duplicate_criterion.mtus")
    [data] = json.loads(render_json(result.diagnostics))
    assert data["notes"] == [{"message": "first declared here",
                              "span": {"path": "tests/bad/duplicate_criterion.mtus", "line": 8, "column": 3,
                                       "end_line": 8, "end_column": 14}}]


SEVERAL = '''\
guideline demo "Demo guideline"
  source "MTUS Chronic Pain Medical Treatment Guidelines" page 122

facts
  injections: count "injections requested per session"
  twitch_response: finding "twitch response"
  daily_dose: quantity mg "total daily dose"
  onset: date "onset of symptoms"
  injections: number "injections again"

criteria
  trigger_points: twitch_respnse
  per_session: injections <= 4 and not injections
  dose: daily_dose <= 120 MME/day
  chronic: time from onset to request.date > 3 months
  per_session: injections >= 1
  when onset > 3 months
    recent: onset >= 2014-02-30

example "bad values"
  given injections = "four", onset = 2014-01-01
  expect not certified because per_sesion not met
'''


def test_independent_errors_are_all_reported_sorted_without_follow_ons():
    result = check_text(SEVERAL, "several.mtus")
    found = [(d.span.line, d.code) for d in result.diagnostics]
    assert found == [
        (9, "E401"),    # duplicate fact
        (12, "E201"),   # misspelled fact (no W401 for twitch_response: it is probably the one meant)
        (13, "E301"),   # `not` of a count; the `and` around it stays silent
        (14, "E303"),   # mg vs MME/day
        (16, "E401"),   # duplicate criterion
        (17, "E302"),   # date compared with a duration in `when`
        (18, "E305"),   # the criterion under the broken `when` is still checked
        (21, "E308"),   # example value of the wrong type
        (22, "E204"),   # unknown criterion in the example
    ]
    assert result.model is None


def test_a_misspelled_fact_does_not_also_warn_that_the_fact_is_unused():
    result = check_text((BAD / "unknown_fact_misspelled.mtus").read_text(), "x.mtus")
    assert [d.code for d in result.diagnostics] == ["E201"]


def test_syntax_errors_after_the_first_are_reported_when_independent():
    text = (BAD / "missing_colon.mtus").read_text() + "  other injections >= 1\n"
    result = check_text(text, "x.mtus")
    assert [(d.code, d.span.line) for d in result.diagnostics] == [("E110", 8), ("E110", 9)]
    # a statement continued over lines, and the lines indented under a statement, are set aside with it
    text = ('guideline g "G"\n  source "S" page 1\nfacts\n  a: finding "a"\n  b: finding "b"\ncriteria\n'
            '  c1: (a or\n       b < <\n       a)\n    says "x" "y"\n  c2 b\n  c3: a\n  c4: a b\n')
    got = [(d.span.line, d.message) for d in check_text(text, "x.mtus").diagnostics]
    assert got == [(7, "this `(` is not closed"), (11, "expected `:` after `c2`, found `b`"),
                   (13, "expected an operator (`<=`, `and`, `or`, ...), `[` or the end of the line after `a`, "
                        "found `b`")]  # line 10's error went with its criterion
    # an error in the first line leaves nothing else to read apart from it
    result = check_text((BAD / "missing_title.mtus").read_text(), "x.mtus")
    assert [d.span.line for d in result.diagnostics] == [1]


def test_syntax_errors_are_capped():
    from mtus.dsl.parser import MAX_SYNTAX_ERRORS
    text = 'guideline g "G"\n  source "S" page 1\ncriteria\n' + "".join(f"  c{i} x\n" for i in range(10))
    lines = [d.span.line for d in check_text(text, "x.mtus").diagnostics]
    assert lines == list(range(4, 4 + MAX_SYNTAX_ERRORS))


def test_diagnostics_are_capped_per_file():
    names = [f"unknown_{i:03}" for i in range(MAX_PER_FILE + 15)]
    text = 'guideline g "G"\n  source "S" page 1\ncriteria\n' + "".join(f"  c{i}: {n}\n" for i, n in enumerate(names))
    result = check_text(text, "many.mtus")
    ds = result.diagnostics
    assert len(ds) == MAX_PER_FILE + 1
    assert [d.span.line for d in ds[:MAX_PER_FILE]] == list(range(4, 4 + MAX_PER_FILE))
    assert all(d.code == "E201" for d in ds)
    assert ds[-1].message == "15 more diagnostics in this file were not shown"
    assert ds[-1].hint == "fix the errors above and run `mtus lint` again"


def test_warnings_keep_the_model():
    result = check_text((BAD / "unused_fact.mtus").read_text(), "x.mtus")
    assert result.ok and result.model is not None
    assert [d.severity for d in result.diagnostics] == ["warning"]


def test_invalid_utf8_written_by_the_test(tmp_path):
    path = tmp_path / "cp1252.mtus"
    path.write_bytes((BAD / "unused_fact.mtus").read_bytes().replace(b"radiculopathy\"", b"radiculopathie \x93\""))
    result = check_file(path)
    assert [d.code for d in result.diagnostics] == ["E100"]
    assert "byte 0x93" in result.diagnostics[0].message
    assert result.diagnostics[0].span.line == 6


def test_long_lines_are_shown_around_the_caret(in_repo):
    text = rendered(check_relative(BAD / "nested_too_deeply.mtus"))
    assert max(len(line) for line in text.splitlines()) < 130
    assert "..." in text


HEAD = 'guideline g "G"\n  source "S" page 1\n'


@pytest.mark.parametrize("text, codes", [
    # the history's missing fields are reported once, not again at each use
    (HEAD + "facts\n  h: history\ncriteria\n  c: last(h).relief > 1\n", ["E405"]),
    # without criteria, facts are not also reported unused one by one
    (HEAD + "facts\n  f: finding\n  g: finding\n", ["E402"]),
    # a quantity declared in weeks is then used as the duration it was meant to be
    (HEAD + "facts\n  d: quantity weeks\ncriteria\n  c: d >= 6 weeks\n", ["E306"]),
    # of two declarations the first counts; uses that fit it are fine
    (HEAD + "facts\n  n: count\n  n: text\ncriteria\n  c: n <= 4\n", ["E401"]),
    # an unknown name inside a larger condition: the condition stays silent
    (HEAD + "facts\n  n: count\ncriteria\n  c: not (nn <= 4 and n + 1 > 2)\n", ["E201"]),
    # a bad `when` condition: the criteria under it are still checked, once each
    (HEAD + "facts\n  n: count\ncriteria\n  when n\n    c: n <= 4\n    d: n = \"x\"\n", ["E304", "E302"]),
    # a misspelled history field in an example row
    (HEAD + "facts\n  h: history\n    date: date\ncriteria\n  c: any(h)\n"
            'example "e"\n  given h = [{dat: 2014-01-01}]\n  expect certified\n', ["E202"]),
])
def test_no_follow_on_errors(text, codes):
    result = check_text(text, "x.mtus")
    assert [d.code for d in result.diagnostics] == codes, rendered(result)


def test_a_large_file_reports_its_first_syntax_error_only():
    from mtus.dsl.parser import MAX_RECOVERY_CHARS
    text = 'guideline g "G"\n  source "S" page 1\ncriteria\n' + "  c x\n" * 3 + "# padding\n" * (MAX_RECOVERY_CHARS // 10)
    assert [d.span.line for d in check_text(text, "x.mtus").diagnostics] == [4]
    assert [d.span.line for d in check_text(text[:2000], "x.mtus").diagnostics] == [4, 5, 6]
