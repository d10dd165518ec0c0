"""Lazily compiled patterns (check/lazyre.py) answer as the compiled pattern does, for every item-text pattern."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from mtus.compiler.check import itemtext
from mtus.compiler.check.lazyre import Lazy, literal_prefixes
from tests.conftest import ROOT

PATTERNS = [v for v in vars(itemtext).values() if isinstance(v, Lazy)] + list(itemtext._QUANTITIES) + \
    [p for p, _ in itemtext._SHORTHAND_RE]

ITEMS = sorted({m.group(1).strip().strip("'\"") for path in ROOT.glob("**/*.yaml") if ".venv" not in path.parts
                for m in re.finditer(r"(?m)^\s*-?\s*item:\s*(.+)$", path.read_text(errors="replace"))})
WRITTEN = ["Norco 10/325 #180", "PT 2x6 lumbar", "Acupuncture x6", "TFESI L4-5", "Norco (hydrocodone/APAP)",
           "Tylenol #3 #60", "tylenol with codeine no. 4 qty: 30", "3 visits per week x 4 weeks", "2 times a week for 3 wks",
           "twice weekly for four weeks", "Gabapentin 300 mg t.i.d. prn", "Oxycodone 5mg q4-6h", "LESIs", "CESI C5-6",
           "ILESI", "SNRB L5", "selective nerve root block injection", "epidural steroids", "epidural blocks", "Epidurals",
           "TPIs", "chiro 6", "physio x 8", "OT 2x4", "IF unit", "ICS unit", "urine tox", "P.T. 12 sessions",
           "caudal epidural", "Interlaminar", "lumbosacral", "Thoracic T4 to T6", "inj", "Injx", "injections",
           "120 tablets", "60 caps", "patches 30", "1 tab po bid", "L4/5", "leſi", "TPI ×4", "İnj", "ınj", "KNEE",
           "Trigger Point Injections Bilateral Paraspinous Thoracic", "", "#", "(", "x", "12"]


def _same(lazy: Lazy, text: str) -> None:
    eager = re.compile(lazy.pattern, lazy.flags)
    m, e = lazy.search(text), eager.search(text)
    assert (m and (m.span(), m.groups())) == (e and (e.span(), e.groups())), (lazy.pattern, text)
    assert [x.span() for x in lazy.finditer(text)] == [x.span() for x in eager.finditer(text)], (lazy.pattern, text)
    assert lazy.sub("<>", text) == eager.sub("<>", text)
    if m is not None or e is not None:
        assert lazy.may_match(text)


def test_every_item_written_in_the_repository_is_matched_as_compiled():
    assert len(ITEMS) > 50 and len(PATTERNS) > 30
    for text in ITEMS + WRITTEN:
        for lazy in PATTERNS:
            _same(lazy, text)


WORDS = ["week", "wk", "x", "for", "two", "visit", "injection", "tylenol", "#", "no.", "mg", "q", "h", "tfe", "lesi",
         "cesi", "snrb", "nerve root", "epidural", "inj", "tpi", "chiro", "ot", "if", "ics", "unit", "urine", "tox", "(",
         ")", ".", "P", "T", "L4", "-", "5", "/", " ", "ſ", "K", "İ", "ı", "٣", "\u00a0"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS) | st.text(max_size=3), max_size=8).map("".join))
def test_any_text_is_matched_as_compiled(text):
    for lazy in PATTERNS:
        _same(lazy, text)


def test_nothing_is_compiled_for_an_item_that_cannot_match():
    fresh = [Lazy(p.pattern, p.flags, p.needs) for p in PATTERNS if p.needs]
    quiet = [lazy for lazy in fresh if not lazy.may_match("massage")]
    assert quiet and all(lazy.search("massage") is None and lazy._compiled is None for lazy in quiet)


def test_literal_prefixes():
    assert literal_prefixes(r"tfesis?|tfes?") == ("tfesi", "tfe")
    assert literal_prefixes(r"ifc?\s+unit|ics\s+unit") == ("if", "ics")
    assert literal_prefixes(r"epidurals?(?!\s+(?:steroid|injection))") == ("epidural",)
    assert literal_prefixes(r"a[|(]b|C\|d|e") == ("a", "c", "e")
    for none in (r"snrb|(?:selective\s+)?nerve", r"\bx", r"x{2}", r"x*y", r"[ab]c", r""):
        assert literal_prefixes(none) is None, none
