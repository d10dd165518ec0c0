"""Values given in examples: well-formed ones decode to exact values, near misses are reported as mistakes.

dsl/passes/examples.py reads the commonest well-formed values without building a typed
constant; these pin down that it reads them exactly as the general path does and leaves
every mistake to it.
"""

import datetime
from decimal import Decimal

from mtus.dsl.frontend import check_text
from mtus.dsl.model import Period

HEAD = '''guideline demo "Demo guideline"
  source "MTUS Chronic Pain Medical Treatment Guidelines" page 122

facts
  pain: finding "pain"
  visits: count "visits requested"
  onset: date "onset"
  course: duration "course requested"
  relief: percent "relief"
  dose: number "dose"
  note: text "note"
  side: one of {"left", "right"} "side"
  tags: set of {"a", "b"} "tags"
  words: set of text "words"
  prior: history "prior visits"
    date: date "date"
    relief: percent "relief"
    lasted: duration "how long"

criteria
  c1: visits <= 4 and pain and onset <= request.date and course <= 2 weeks and relief >= 10% and dose <= 2
  c2: side = "left" and tags contains "a" and words contains "x" and note = "n" and any(prior where relief >= 50%)
'''


def example(given: str) -> str:
    return HEAD + f'\nexample "e"\n  given {given}\n  expect certified\n'


def test_well_formed_values_decode_exactly():
    r = check_text(example(
        'request.date = 2014-12-18, pain = present, visits = 3, onset = 2014-02-28, course = 2 Weeks, relief = 60%, '
        'dose = 2, note = "n", side = "left", tags = {"a", "b"}, words = "x", '
        'prior = [{date: 2014-08-04, relief: 60%, lasted: 1 month}]'))
    assert r.ok, r.diagnostics
    (ex,) = r.model.examples
    assert ex.request_date == datetime.date(2014, 12, 18)
    values = dict(ex.facts)
    assert values == {
        "pain": True, "visits": 3, "onset": datetime.date(2014, 2, 28), "course": Period(0, 14),
        "relief": Decimal("60"), "dose": Decimal(2), "note": "n", "side": "left", "tags": frozenset({"a", "b"}),
        "words": frozenset({"x"}),
        "prior": ((("date", datetime.date(2014, 8, 4)), ("relief", Decimal("60")), ("lasted", Period(1, 0))),),
    }
    assert type(values["visits"]) is int and type(values["dose"]) is Decimal and type(values["pain"]) is bool


def codes(given: str) -> list[str]:
    return [f"{d.code} {d.message}" for d in check_text(example(given)).diagnostics]


def test_near_misses_are_reported_by_the_general_path():
    assert codes("request.date = 2014-02-30") == ["E305 `2014-02-30` is not a calendar date"]
    assert codes("onset = 2014-02-30") == ["E305 `2014-02-30` is not a calendar date"]
    assert codes("visits = 1.5") == ["E308 `1.5` is not a count"]
    assert codes("course = 1.5 weeks") == ["E305 a duration must be a whole number of weeks"]
    assert codes("course = 2000 years") == ["E305 `2000 years` is longer than 100 years"]
    assert codes('side = "middle"') == ['E203 "middle" is not one of the values declared for this fact']
    assert codes('tags = {"a", "c"}') == ['E203 "c" is not one of the values declared for this fact']
    assert codes("pain = 1") == ["E308 `1` is not a true/false finding"]
    assert codes("prior = [{date: 2014-02-30}]") == ["E305 `2014-02-30` is not a calendar date"]
    assert codes("prior = [{relief: present}]") == ["E308 `present` is not a percent"]
