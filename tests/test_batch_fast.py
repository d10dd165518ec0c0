"""The batch's fast path (check/batchread.py) gives, line for line, the record the case reader gives.

Each test runs the same lines twice, with the fast path and with it turned off,
and compares the output text byte for byte; and every decided record against
deciding its case alone (api.check_case).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from mtus.compiler.check import api, batch
from mtus.compiler.check.batch import check_stream
from mtus.compiler.check.casefile import read_case_file
from mtus.compiler.check.runtime import to_json_value

ROOT = Path(__file__).resolve().parent.parent
CASE_FILES = sorted(p for p in (ROOT / "tests" / "cases").rglob("*.yaml") if "bad" not in p.parts) + \
    sorted((ROOT / "docs" / "examples").glob("*.yaml"))

TPI = {"case": "t-1", "date": "2014-12-18",
       "request": {"item": "Trigger point injections x3 (CPT 20553)", "facts": {"injections": 3,
                                                                                "substance": "local anesthetic"}},
       "facts": {"twitch_response": "present", "referred_pain": "present", "symptom_onset": "2014-06-01",
                 "conservative_care_failed": "present", "radiculopathy": "absent",
                 "diagnoses": ["myofascial pain syndrome"], "prior_injections": []}}


def _with(path: str, value) -> dict:
    """TPI with one value replaced (path: dotted keys; None deletes the key)."""
    case = json.loads(json.dumps(TPI))
    *parents, last = path.split(".")
    where = case
    for p in parents:
        where = where[p]
    if value is None:
        del where[last]
    else:
        where[last] = value
    return case


#: Lines the fast path must either read exactly as the case reader does or leave to it.
ODD = [
    json.dumps(TPI),
    json.dumps(_with("facts.twitch_response", True)),
    json.dumps(_with("facts.twitch_response", 1)),
    json.dumps(_with("facts.twitch_response", "Present ")),
    json.dumps(_with("facts.twitch_response", "maybe")),
    json.dumps(_with("facts.twitch_response", {"value": "present", "source": "p. 3"})),
    json.dumps(_with("facts.twitch_response", None)),
    json.dumps(_with("facts.diagnoses", "myofascial pain syndrome")),
    json.dumps(_with("facts.diagnoses", ["a", 1])),
    json.dumps(_with("facts.diagnoses", [["nested"]])),
    json.dumps(_with("facts.diagnoses", [{"a": 1}])),
    json.dumps(_with("facts.prior_injections", [{"date": "2014-01-01", "relief": "60%", "relief_lasted": "8 weeks",
                                                 "function_improved": "present"}])),
    json.dumps(_with("facts.prior_injections", [{"date": "2014-01-01", "relief": "160%"}])),
    json.dumps(_with("facts.prior_injections", [{"dose": 1}])),
    json.dumps(_with("facts.prior_injections", ["x"])),
    json.dumps(_with("facts.prior_injections", {"date": "2014-01-01"})),
    json.dumps(_with("facts.unknown_fact", "present")),
    json.dumps(_with("facts.pain_relief", "present")),  # another guideline's fact: a warning
    json.dumps(_with("request.facts.injections", "3")),
    json.dumps(_with("request.facts.injections", 3.0)),
    json.dumps(_with("request.facts.injections", -1)),
    json.dumps(_with("request.facts.injections", True)),
    json.dumps(_with("request.facts.twitch_response", "present")),
    json.dumps(_with("request.facts", None)),
    json.dumps(_with("request.guideline", "tpi")),
    json.dumps(_with("request.guideline", "nope")),
    json.dumps(_with("request.guideline", 7)),
    json.dumps(_with("request.item", "  trigger point injection  ")),
    json.dumps(_with("request.item", "trigger point injection\nsecond line")),
    json.dumps(_with("request.item", "a treatment no guideline governs")),
    json.dumps(_with("request.item", 20553)),
    json.dumps(_with("request.item", "")),
    json.dumps(_with("request.extra", 1)),
    json.dumps(_with("case", 17)),
    json.dumps(_with("case", True)),
    json.dumps(_with("case", 10 ** 30)),
    json.dumps(_with("case", "two\nlines")),
    json.dumps(_with("case", None)),
    json.dumps(_with("date", "2014-02-30")),
    json.dumps(_with("date", 20141218)),
    json.dumps(_with("date", None)),
    json.dumps(_with("summary", "A summary.")),
    json.dumps(_with("expected", "x")),
    json.dumps({**{k: v for k, v in TPI.items() if k != "request"}, "requests": [TPI["request"], TPI["request"]]}),
    json.dumps({**{k: v for k, v in TPI.items() if k != "request"}, "requests": [TPI["request"],
                                                                                {"item": "massage therapy"}]}),
    json.dumps({**{k: v for k, v in TPI.items() if k != "request"}, "requests": []}),
    json.dumps({**TPI, "requests": [TPI["request"]]}),
    json.dumps({**{k: v for k, v in TPI.items() if k != "request"}, "requests": TPI["request"]}),
    '{"case": "nan", "date": "2014-12-18", "request": {"item": "tpi"}, "facts": {"radiculopathy": NaN}}',
    '{"case": "surrogate \\ud800", "date": "2014-12-18", "request": {"item": "trigger point injection"}}',
    "\ufeff" + json.dumps(TPI),
    '{"case": "dup", "case": "dup2", "date": "2014-12-18", "request": {"item": "trigger point injection"}}',
    '{"case": "long", "date": "2014-12-18", "request": {"item": "tpi", "facts": {"injections": '
    + "9" * 5000 + "}}}",
    "[1, 2]",
    '"text"',
    "{not json",
    "[" * 5000 + "]" * 5000,
]


def _run(lines, pack, fast: bool, monkeypatch, **kw) -> str:
    if not fast:
        monkeypatch.setattr(batch, "_fast", lambda *a: None)
    out = io.StringIO()
    check_stream(lines, out, pack, **kw)
    monkeypatch.undo()
    return out.getvalue()


def _case_lines() -> list[str]:
    return [json.dumps(read_case_file(str(p)), default=to_json_value) for p in CASE_FILES]


@pytest.mark.parametrize("strict, end", [(False, ""), (True, ""), (False, "\n"), (False, "\r\n")])
def test_the_fast_path_writes_what_the_case_reader_writes(source_pack, monkeypatch, strict, end):
    lines = [line + end for line in ODD + _case_lines()]  # as batch.JsonLines gives them: with their line ends
    fast = _run(lines, source_pack, True, monkeypatch, strict=strict)
    slow = _run(lines, source_pack, False, monkeypatch, strict=strict)
    for n, (a, b) in enumerate(zip(fast.splitlines(), slow.splitlines()), 1):
        assert a == b, f"line {n}: {lines[n - 1][:200]}"
    assert len(fast.splitlines()) == len(slow.splitlines()) == len(lines)


def test_the_fast_path_takes_the_plain_lines(source_pack, monkeypatch):
    """The comparison above is not vacuous: the plain lines do go the fast way (and odd ones do not)."""
    taken = []
    real = batch._fast

    def spy(pack, lineno, line):
        got = real(pack, lineno, line)
        taken.append(got is not None)
        return got

    monkeypatch.setattr(batch, "_fast", spy)
    check_stream(ODD[:7], io.StringIO(), source_pack)
    assert taken == [True, True, False, True, False, True, True]  # 1 is not a finding


def test_benchmark_lines_through_the_fast_path_decide_as_each_case_alone(source_pack, monkeypatch):
    """The batch benchmark's lines (bench/jsonl.py): the same text both ways, and each record's result is
    the one deciding the case alone gives."""
    from bench import jsonl

    lines = list(jsonl.lines(400, distinct=200))
    fast = _run(lines, source_pack, True, monkeypatch)
    assert fast == _run(lines, source_pack, False, monkeypatch)
    for line, text in zip(lines, fast.splitlines()):
        record = json.loads(text)
        letter = api.check_case(json.loads(line, parse_float=__import__("decimal").Decimal), source_pack)
        assert [d.result.unmet_ids() for d in letter.decisions] == [r["unmet"] for r in record["requests"]]
        assert [d.certified for d in letter.decisions] == [r["certified"] for r in record["requests"]]


def test_the_record_text_is_the_encoders(source_pack):
    """The fast path writes its records by hand: the text is what the encoder writes for the same record."""
    from mtus.compiler.check.batch import Options, _encode, _fast, _record

    for n, line in enumerate(ODD + _case_lines(), 1):
        got = _fast(source_pack, n, line)
        if got is not None:
            assert got[2] == _encode(_record(source_pack, n, line, Options()))
