"""The batch's reader per guideline (check/batchread.py) against the general case reader, on generated lines.

Lines start from every case file of the repository and from the batch
benchmark's TPI cases (bench/jsonl.py), so they route to most guidelines of
the bundled pack; hypothesis then puts values drawn from each declared fact's
kind into the case's or the request's facts: well-formed ones in several
spellings, and hostile ones (bad dates, negative or huge counts, unknown
`one of` values, numbers with too many digits, texts over the limit, nested
lists, `{value, source}`, empty values, unknown facts and fields). Each line's
record must be byte for byte the one the case reader's path writes, and where
the fast path takes a line its facts must be the reader's, value and type.
"""

from __future__ import annotations

import copy
import datetime
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtus.compiler.check.batch import Options, _encode, _fast_decoder, _line, _record
from mtus.compiler.check.case import MAX_COUNT, MAX_HISTORY
from mtus.compiler.check.casefile import MAX_TEXT_CHARS, CaseError, read_case_file
from mtus.compiler.check.runtime import to_json_value
from tests.conftest import tiers

ROOT = Path(__file__).resolve().parent.parent
CASE_FILES = sorted(p for p in (ROOT / "tests" / "cases").rglob("*.yaml") if "bad" not in p.parts) + \
    sorted((ROOT / "docs" / "examples").glob("*.yaml"))
_NUM = "\x00num:"  # a value written as this text becomes the JSON number after it (Decimals keep their digits)


def _templates() -> list[dict]:
    from bench import jsonl

    out = [json.loads(json.dumps(read_case_file(str(p)), default=to_json_value)) for p in CASE_FILES]
    out += [{k: v for k, v in data.items() if k != "patient"} for data in out if "patient" in data]
    out += [json.loads(line) for line in jsonl.lines(40, distinct=40)]
    return out


TEMPLATES = _templates()


def num(text: str) -> str:
    return _NUM + text


def _line_text(data: dict) -> str:
    """The line's JSON, each num() written as a bare number."""
    text = json.dumps(data)
    out, i = [], 0
    marker = '"\\u0000num:'
    while True:
        j = text.find(marker, i)
        if j < 0:
            return "".join(out) + text[i:]
        k = text.index('"', j + len(marker))
        out.append(text[i:j] + text[j + len(marker):k])
        i = k + 1


# ------------------------------------------------------------------ values by kind
_FINDINGS = ["present", "absent", "yes", "no", "true", "false", " Present ", "ABSENT", True, False,
             1, 0, "maybe", "", num("1.0")]
_COUNTS = [0, 1, 2, 4, MAX_COUNT, MAX_COUNT + 1, -1, "3", " 7 ", "07", "x", True, num("3.0"), num("3.5"),
           num("1e2"), 10 ** 30, num("9" * 120), "9" * 50, "٣"]
_NUMBERS = [0, 3, num("2.5"), num("-0.5"), num("1E+3"), "2.5", " 4 ", "abc", num("1" * 40), num("0." + "0" * 40 + "1"),
            "1" * 200, num("1e400"), True, "NaN", "Infinity"]
_PERCENTS = ["50%", "49.5%", "100%", "0%", "101%", "-1%", "50 %", 50, num("62.5"), "50", "abc%", "1" * 130 + "%",
             True]
_DURATIONS = ["8 weeks", "1 week", " 3 Months ", "10 days", "1 year", "2 years", "0 days", "8 wks",
              "1234567 days", "0000001 days", "-1 weeks", 8, "", "٣ days"]
_DATES = ["2014-12-18", "2016-02-29", "2009-07-17", "2009-07-18", "2016-07-28", "2016-07-29",
          " 2014-12-18 ", "2014-02-30", "2015-02-29", "2014-2-3", "20141218",
          20141218, "9999-12-31", "0001-01-01", "0000-01-01", "٢٠١٤-١٢-١٨", "2014-12-18T00:00"]
_TEXTS = ["lumbago", "myofascial pain syndrome", "", "  padded  ", "a\nb", 5, "é" * 30]
_OTHER = [None, {"value": "present", "source": "p. 3"}, {"value": "present", "extra": 1}, {"source": "p. 3"},
          [["nested"]], [{"a": 1}], {"a": 1}]


@st.composite
def raw_value(draw, schema, depth: int = 0):
    """A value for a fact or field of this schema, as a case file could write it: fine or hostile."""
    kind = schema.kind.value
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(_OTHER))
    if kind == "finding":
        return draw(st.sampled_from(_FINDINGS))
    if kind == "count":
        return draw(st.sampled_from(_COUNTS))
    if kind == "number":
        return draw(st.sampled_from(_NUMBERS))
    if kind == "percent":
        return draw(st.sampled_from(_PERCENTS))
    if kind == "quantity":
        unit = schema.unit
        return draw(st.sampled_from([f"90 {unit}", f"0.5 {unit}", "90 kg", 90, num("2.5"), "-5", f"-5 {unit}"]))
    if kind == "duration":
        return draw(st.sampled_from(_DURATIONS))
    if kind == "date":
        return draw(st.sampled_from(_DATES))
    if kind == "text":
        return draw(st.sampled_from(_TEXTS + ["x" * (MAX_TEXT_CHARS + 1)]))
    if kind == "enum":
        return draw(st.sampled_from(_members(schema.members)))
    if kind == "set":
        element = schema.element
        pool = _members(element.members) if element.kind == "enum" else _TEXTS[:4] + [5]
        if draw(st.integers(0, 5)) == 0:
            return draw(st.sampled_from(pool))  # a set written as its one entry
        return draw(st.lists(st.sampled_from(pool), max_size=4))
    assert kind == "history", kind
    if draw(st.integers(0, 15)) == 0:
        return [{}] * (MAX_HISTORY + 1)
    if draw(st.integers(0, 15)) == 0:
        return draw(st.sampled_from(["2014-01-01", ["x"], {"date": "2014-01-01"}]))
    rows = []
    for _ in range(draw(st.integers(0, 3))):
        row = {}
        for name, f in schema.fields.items():
            if draw(st.integers(0, 4)):
                row[name] = draw(raw_value(f, depth + 1))
        if draw(st.integers(0, 12)) == 0:
            row["unknown_field"] = "present"
        rows.append(row)
    return rows


def _members(members) -> list:
    ms = list(members or ())
    return ms + [m.upper() for m in ms[:2]] + [f"  {m}  " for m in ms[:1]] + ["no such value", 3]


@st.composite
def lines(draw, pack) -> str:
    """A template case with some of its guidelines' facts set to drawn values (and now and then an odd key)."""
    data = copy.deepcopy(draw(st.sampled_from(TEMPLATES)))
    gids = _routed(pack, data)
    requests = data.get("requests", data.get("request"))
    requests = requests if isinstance(requests, list) else [requests]
    for _ in range(draw(st.integers(0, 5))):
        gid = draw(st.sampled_from(gids))
        facts = pack.infos[gid].facts
        name = draw(st.sampled_from(sorted(facts)))
        where = draw(st.integers(0, 3))
        if where == 0 and isinstance(requests[0], dict):  # the request's own facts
            target = requests[draw(st.integers(0, len(requests) - 1))].setdefault("facts", {})
        else:
            target = data.setdefault("facts", {})
        if not isinstance(target, dict):
            continue
        if draw(st.integers(0, 6)) == 0:
            target.pop(name, None)
        else:
            target[name] = draw(raw_value(facts[name]))
    odd = draw(st.integers(0, 30))
    if odd == 0:
        data.setdefault("facts", {})["no_such_fact"] = "present"
    elif odd == 1:
        other = draw(st.sampled_from(sorted(pack.index.facts)))
        data.setdefault("facts", {})[other] = "present"  # perhaps no requested guideline reads it: a warning
    elif odd == 2:
        data["date"] = draw(st.sampled_from(_DATES))
    elif odd == 3:
        data["case"] = draw(st.sampled_from([17, True, "two\nlines", 10 ** 20, None, ["x"]]))
    elif odd == 4:
        data["facts"] = draw(st.sampled_from([None, [], "present"]))
    return _line_text(data)


def _routed(pack, data: dict) -> list[str]:
    try:
        case = pack.reader().read(data, "template")
    except CaseError:
        return sorted(pack.infos)[:1]
    return [r.guideline for r in case.requests if r.guideline is not None] or sorted(pack.infos)[:1]


# ------------------------------------------------------------------ comparisons
def typed(x):
    """A value with its type, all the way down (True == 1 and Decimal("1.0") == 1 must not pass as equal)."""
    if isinstance(x, dict):
        return {k: typed(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [typed(v) for v in x])
    if isinstance(x, frozenset):
        return ("frozenset", sorted(map(repr, x)))
    return (type(x).__name__, repr(x))


def _general(pack, n: int, line: str, opts: Options) -> tuple[bool, bool, str]:
    """What batch._line gives for a line the fast path does not take: the case reader's record."""
    record = _record(pack, n, line, opts)
    decided = record["error"] is None and any(r["guideline"] is not None for r in record["requests"])
    return decided, decided and all(r["certified"] for r in record["requests"]), _encode(record)


def compare(pack, line: str, strict: bool) -> bool:
    """Asserts the fast path and the case reader agree on the line; True if the fast path took it."""
    opts = Options(strict=strict)
    assert _line(pack, 7, line, opts) == _general(pack, 7, line, opts), line[:500]
    try:
        data = _fast_decoder()(line)
    except ValueError:
        return False
    got = pack.fast_reader().read(data)
    if got is None:
        return False
    case = pack.reader().read(json.loads(line, parse_float=Decimal), "line")
    cid, date, requests = got
    assert (cid, date) == (case.id, case.date)
    assert not case.warnings
    assert [(item, gid, typed(facts)) for item, gid, facts in requests] == \
        [(r.item, r.guideline, typed(dict(r.facts))) for r in case.requests]
    return True


def _settings(n: int) -> settings:
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


@tiers(fast=300, slow=3000)
def test_generated_lines_read_as_the_case_reader_reads_them(source_pack, n):
    @_settings(n)
    @given(st.data())
    def check(data):
        line = data.draw(lines(source_pack), label="line")
        compare(source_pack, line, strict=data.draw(st.booleans(), label="strict"))

    check()


def test_the_templates_go_the_fast_way_over_many_guidelines(source_pack):
    """Not vacuous: the unmodified templates are read by the fast path, and they reach many guidelines."""
    taken = set()
    for data in TEMPLATES:
        line = json.dumps(data)
        if compare(source_pack, line, strict=False):
            taken.update(gid for _, gid, _ in source_pack.fast_reader().read(json.loads(line))[2])
    assert len(taken) >= 12, taken


def test_remembered_values_do_not_leak_between_kinds_or_types(source_pack):
    """A value remembered for one fact is not another's, and 1 is not True nor 1.0 (equal keys in a dict)."""
    base = {"case": "k", "date": "2014-12-18", "request": {"item": "trigger point injection"}}
    seen = [
        {**base, "request": {"item": "trigger point injection", "facts": {"injections": 1}}},
        {**base, "request": {"item": "trigger point injection", "facts": {"injections": True}}},
        {**base, "request": {"item": "trigger point injection", "facts": {"injections": num("1.0")}}},
        {**base, "facts": {"twitch_response": "present", "referred_pain": "present"}},
        {**base, "facts": {"twitch_response": "present", "symptom_onset": "present"}},
        {**base, "facts": {"diagnoses": ["fibromyalgia"], "prior_injections": [{"relief": "50%"}]}},
        {**base, "facts": {"diagnoses": "fibromyalgia", "prior_injections": [{"relief": 50}]}},
        {**base, "facts": {"diagnoses": [["fibromyalgia"]]}},
        {**base, "facts": {"prior_injections": [{"relief": "50%", "date": "50%"}]}},
        {**base, "facts": {"prior_injections": [{"function_improved": True}]}},
        {**base, "facts": {"prior_injections": [{"function_improved": 1}]}},
        {**base, "facts": {"prior_injections": [{"function_improved": num("1.0")}]}},
        {**base, "date": "2014-12-18 "},
    ]
    for data in seen * 2:  # the second time, every value is remembered
        compare(source_pack, _line_text(data), strict=False)


def test_a_long_line_of_many_values_is_still_the_readers(source_pack):
    """Remembering stops at its bound: beyond it values are converted each time, with the same result."""
    from mtus.compiler.check import batchread

    old = batchread.MAX_REMEMBERED
    batchread.MAX_REMEMBERED = 3
    try:
        fresh = type(source_pack.fast_reader())(source_pack.reader())
        for day in range(1, 29):
            data = {"case": "d", "date": f"2014-12-{day:02d}", "request": {"item": "trigger point injection"},
                    "facts": {"symptom_onset": f"2014-01-{day:02d}", "twitch_response": "present",
                              "prior_injections": [{"date": f"2014-0{1 + day % 9}-01", "relief": f"{day}%"}]}}
            got = fresh.read(json.loads(json.dumps(data)))
            case = source_pack.reader().read(data, "line")
            assert typed(got[2][0][2]) == typed(dict(case.requests[0].facts))
        assert len(fresh._routes) <= 3
    finally:
        batchread.MAX_REMEMBERED = old


@pytest.mark.parametrize("strict", [False, True])
def test_bench_lines_with_hostile_values(source_pack, strict):
    """The benchmark's own lines, each with one value swapped for a hostile one, both ways."""
    from bench import jsonl

    hostile = {"symptom_onset": "2014-02-30", "injections": -1, "substance": "no such value",
               "twitch_response": "maybe", "diagnoses": [1], "relief": "1" * 130 + "%", "relief_lasted": "8 wks",
               "conservative_care_failed": None, "radiculopathy": {"value": "absent", "source": 3}}
    for i, line in enumerate(jsonl.lines(60, distinct=60)):
        data = json.loads(line)
        name, value = list(hostile.items())[i % len(hostile)]
        if name in ("injections", "substance"):
            data["request"]["facts"][name] = value
        elif name in ("relief", "relief_lasted"):
            data["facts"]["prior_injections"] = [{"date": "2014-01-01", name: value}]
        else:
            data["facts"][name] = value
        assert not compare(source_pack, _line_text(data), strict)
        assert compare(source_pack, line, strict)  # the untouched line: the fast path takes it


def test_a_route_changes_on_the_days_an_edition_starts_and_ends(source_pack):
    """Routes are remembered per stretch between the dates the candidates' editions change: each side of each
    change routes as the case reader does, whichever date of a stretch is seen first."""
    from mtus.compiler.check.batchread import FastReader

    period = source_pack.infos["tpi"].in_force
    first, last = datetime.date.fromisoformat(period.start), datetime.date.fromisoformat(period.end)
    one = datetime.timedelta(days=1)
    dates = [last, first + 5 * one, first - one, first, last + one, last + 40 * one, first - 40 * one,
             datetime.date(1, 1, 1), datetime.date(9999, 12, 31)]
    fresh = FastReader(source_pack.reader())
    for explicit in (None, "tpi"):
        for d in dates:
            data = {"case": "e", "date": d.isoformat(), "request": {"item": "trigger point injection"}}
            if explicit:
                data["request"]["guideline"] = explicit
            got = fresh.read(json.loads(json.dumps(data)))
            in_force = first <= d <= last
            assert (got is not None) == in_force, d
            if in_force:
                assert got[2][0][1] == "tpi"
            compare(source_pack, _line_text(data), strict=False)
