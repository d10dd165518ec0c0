"""Messages for the confusing cases a new reviewer met (issue 17): a misspelled keyword, and a `#` in a YAML item."""

from __future__ import annotations

import pytest

from mtus.compiler.check.casefile import CaseError, comment_in_item, parse_case_text
from mtus.dsl.frontend import check_text

HEAD = 'guideline x "X"\n  source "S" page 1\nfacts\n  a: finding "a"\ncriteria\n'


@pytest.mark.parametrize("line, keyword", [("exlcude b: a", "exclude"), ("exclud b: a", "exclude"),
                                           ("wehn a", "when")])
def test_a_misspelled_keyword_is_not_told_to_take_a_colon(line, keyword):
    (d,) = check_text(HEAD + "  " + line + "\n  c: a\n").diagnostics
    assert d.code == "E110"
    word, after = line.split(" ", 1)
    assert d.hint == f"`{word}` is not a keyword; did you mean `{keyword} {after.split(':')[0].split()[0]} ...`?"
    assert "colon" not in d.hint


def test_an_id_without_its_colon_still_gets_the_colon_hint():
    (d,) = check_text(HEAD + "  per_session a\n").diagnostics
    assert d.hint == "put a colon after the id: `per_session: a ...`"


@pytest.mark.parametrize("services, hint", [
    ('hcpcs "E0730"', "write the code as billed, five characters without quotes: `hcpcs E0730`"),
    ("hcpcs E073", "write the code as billed, five characters without quotes: `hcpcs E0730`"),
    ("cpt 2055", "write the code as billed, five characters without quotes: `cpt 20552`"),
])
def test_a_malformed_service_code_says_how_codes_are_written(services, hint):
    text = f'guideline x "X"\n  source "S" page 1\n  services "TENS unit", {services}\nfacts\n  a: finding "a"\n' \
           'criteria\n  c: a\n'
    (d,) = check_text(text).diagnostics
    assert (d.code, d.hint) == ("E110", hint)
    assert "a CPT or HCPCS code such as 20552 or E0730" in d.message


NORCO = "date: 2015-03-02\nrequests:\n  - item: Norco 10/325 #180\n  - item: \"Norco 10/325 #120\"\n" \
        "  - item: Norco 5/325  # written as a comment\n"


def test_an_item_cut_short_by_a_hash_is_a_warning_with_line_and_column(source_pack):
    case = source_pack.reader().read(parse_case_text(NORCO, "case.yaml"), "case.yaml")
    assert [r.item for r in case.requests] == ["Norco 10/325", "Norco 10/325 #120", "Norco 5/325"]
    (w,) = case.warnings
    assert (w.severity, w.key, w.line) == ("warning", "requests[0].item", 3)
    assert w.message == 'the item ends at column 24, where `#180` starts a YAML comment: the request reads ' \
                        '"Norco 10/325"'
    assert w.hint == 'quote the item to keep the `#`: item: "Norco 10/325 #180"'


def test_strict_makes_it_an_error(source_pack):
    with pytest.raises(CaseError) as e:
        source_pack.reader().read(parse_case_text("date: 2015-03-02\nrequest:\n  item: Norco 10/325 #180\n", "c.yaml"),
                                  "c.yaml", strict=True)
    (p,) = e.value.problems
    assert (p.severity, p.key, p.line) == ("error", "request.item", 3)


@pytest.mark.parametrize("text", ["item: 'Norco #1'\n", "item: Norco # a comment\n", "note: a #b\n",
                                  '{"item": "Norco 10/325 #180"}\n'])
def test_no_warning_when_the_hash_is_kept_or_meant(text):
    assert comment_in_item(text, "c") == [] or text.startswith("{")
    data = parse_case_text(text, "c.yaml")
    assert getattr(data, "warnings", []) == []
