"""Case files are untrusted: every malformed input is a CaseError naming the key, never a crash."""

from __future__ import annotations

import copy
import json
import os

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtus.compiler.check.case import MAX_HISTORY, case_from_data
from mtus.compiler.check.casefile import MAX_CASE_BYTES, MAX_DEPTH, CaseError, parse_case_text, read_case_file
from mtus.compiler.check.letter import render as render_letter
from mtus.compiler.tools.cli import main
from tests.conftest import GUIDELINES

VALID = {
    "case": "hostile-base",
    "date": "2014-12-18",
    "requests": [{"item": "Trigger point injections", "facts": {"injections": 2, "substance": "local anesthetic"}}],
    "facts": {
        "twitch_response": "present", "referred_pain": "present", "symptom_onset": "2014-03-02",
        "conservative_care_failed": "present", "radiculopathy": "absent", "diagnoses": ["cervicalgia"],
        "prior_injections": [{"date": "2014-09-15", "relief": "60%", "relief_lasted": "8 weeks",
                              "function_improved": "present"}],
    },
}

# Values of the wrong type for every kind of slot: each must be refused where a specific type is expected.
WRONG = [{"nested": {"map": 1}}, ["a", "list"], "2014-02-30", -3, "not a value", 10**30]


def _paths(value, prefix=()):
    """Every key path of a nested structure (mappings and lists)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,))


def _set(data, path, value):
    out = copy.deepcopy(data)
    target = out
    for k in path[:-1]:
        target = target[k]
    target[path[-1]] = value
    return out


def _key(path) -> str:
    text = ""
    for k in path:
        text += f"[{k}]" if isinstance(k, int) else (f".{k}" if text else k)
    return text


@pytest.fixture(scope="module")
def infos(source_pack):
    return source_pack.infos


def test_valid_base_case_loads(infos):
    assert case_from_data(copy.deepcopy(VALID), "<case>", infos).requests[0].guideline == "tpi"


TYPED = [p for p in _paths(VALID) if p not in (("case",),) and not (len(p) >= 2 and p[-1] == "item")]


@pytest.mark.parametrize("path", TYPED, ids=_key)
def test_wrong_type_at_every_key_is_a_clear_error(infos, path):
    for wrong in WRONG:
        data = _set(VALID, path, wrong)
        try:
            case_from_data(data, "<case>", infos)
        except CaseError as e:
            keys = [p.key for p in e.problems]
            # the problem names the key that was changed (or the entry/list that holds it)
            assert any(k == _key(path) or _key(path).startswith(k) or k.startswith(_key(path)) for k in keys), \
                (path, wrong, keys)
            assert all(p.message for p in e.problems)
        else:
            # a few substitutions are legitimately valid (a text diagnosis, a set given as one value)
            assert isinstance(wrong, str) and path[-2:] in (("diagnoses", 0),) or path[-1] == "diagnoses", (path, wrong)


def test_oversized_case_file_is_refused_by_a_bounded_read(tmp_path, monkeypatch):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as f:
        f.truncate(100 * 1024 * 1024)  # sparse: 100 MB without writing them
    from mtus.compiler.check import bounded

    real, asked = os.read, []

    def spy(fd, n):
        asked.append(n)
        return real(fd, n)
    monkeypatch.setattr(bounded.os, "read", spy)
    with pytest.raises(CaseError, match=f"larger than the limit of {MAX_CASE_BYTES:,} bytes"):
        read_case_file(str(big))
    assert sum(asked) <= MAX_CASE_BYTES + 1  # never more than the limit and one byte


@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "folder"])
def test_a_case_file_that_is_not_a_regular_file_is_refused_at_once(tmp_path, special):
    """/dev/zero would fill memory, a FIFO would block forever: both are refused before reading."""
    path = {"/dev/zero": "/dev/zero", "fifo": str(tmp_path / "fifo"), "folder": str(tmp_path)}[special]
    if special == "fifo":
        os.mkfifo(path)
    with pytest.raises(CaseError, match="is not a regular file"):
        read_case_file(path)


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_a_guideline_that_is_not_a_regular_file_is_a_diagnostic(tmp_path, special):
    from mtus.dsl import check_file

    path = "/dev/zero" if special == "/dev/zero" else str(tmp_path / "g.mtus")
    if special == "fifo":
        os.mkfifo(path)
    r = check_file(path)
    assert not r.ok and r.diagnostics[0].code == "E100" and "not a regular file" in r.diagnostics[0].message


def test_a_guideline_over_the_limit_is_refused_by_a_bounded_read(tmp_path):
    from mtus.dsl import check_file
    from mtus.dsl.frontend import MAX_FILE_BYTES

    big = tmp_path / "big.mtus"
    with open(big, "wb") as f:
        f.truncate(100 * MAX_FILE_BYTES)
    r = check_file(str(big))
    assert r.diagnostics[0].code == "E901" and f"{MAX_FILE_BYTES:,} bytes" in r.diagnostics[0].message


def _or_chain(n: int) -> str:
    """A guideline whose one criterion is `a or a or ...` with n `or a` (two tokens each)."""
    return ('guideline big "Big"\n  source "MTUS Chronic Pain Medical Treatment Guidelines" section "2" page 1\n\n'
            'facts\n  a: finding "a"\n\ncriteria\n  c: a' + " or a" * n + '\n    says "x"\n')


def test_a_guideline_of_more_tokens_than_the_limit_is_refused_while_it_is_read(monkeypatch):
    """Parsing costs per token: 256 KiB of `or a` took 34 s to lint; past MAX_TOKENS the parser stops (E901)."""
    from mtus.dsl import check_text
    from mtus.dsl import parser as dsl_parser
    from mtus.dsl.frontend import MAX_FILE_BYTES

    assert check_text(_or_chain(10)).ok
    monkeypatch.setattr(dsl_parser, "MAX_TOKENS", 60)
    seen = []
    real = dsl_parser._Indenter.process
    monkeypatch.setattr(dsl_parser._Indenter, "process",
                        lambda self, stream: real(self, (seen.append(t) or t for t in stream)))
    assert check_text(_or_chain(10)).ok  # 47 tokens
    seen.clear()
    r = check_text(_or_chain(30), "big.mtus")
    (d,) = r.diagnostics
    assert d.code == "E901" and "more than 60 words, names, numbers and symbols" in d.message and d.hint
    assert d.span.line == 8 and r.model is None
    assert len(seen) == 61  # read up to the first token over, no further
    monkeypatch.undo()
    at_limit = _or_chain((MAX_FILE_BYTES - 300) // 5)  # the whole byte limit of `or a`: refused, not parsed
    r = check_text(at_limit, "big.mtus")
    assert [d.code for d in r.diagnostics] == ["E901"] and "20,000 words" in r.diagnostics[0].message


@pytest.mark.parametrize("text", [
    "[" * 10000 + "]" * 10000,
    "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 200)),
    json.dumps(json.loads("[" * 900 + "]" * 900)),
])
def test_deep_nesting_is_refused(text):
    with pytest.raises(CaseError):
        parse_case_text(text, "deep.yaml")


def test_nesting_limit_is_enforced_exactly():
    ok = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    parse_case_text(ok, "ok.json")
    with pytest.raises(CaseError, match="nested"):
        parse_case_text("[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2), "deep.json")


def test_history_length_is_limited(infos):
    data = _set(VALID, ("facts", "prior_injections"), [{"date": "2014-01-01"}] * (MAX_HISTORY + 1))
    with pytest.raises(CaseError, match="at most 1,000|at most 1000"):
        case_from_data(data, "<case>", infos)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=400))
def test_any_text_is_a_case_or_a_case_error(infos, text):
    try:
        case_from_data(parse_case_text(text, "fuzz.yaml"), "fuzz.yaml", infos)
    except CaseError:
        pass


def test_cli_exits_2_for_every_hostile_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    files = {
        "bomb.yaml": "a: &a [x, x, x]\nb: [*a, *a]\n",
        "tag.yaml": "date: !!python/name:os.system\n",
        "deep.json": "[" * 5000 + "]" * 5000,
        "nul.yaml": "date: 2014-12-18\x00\n",
        "latin1.yaml": "date: 2014-12-18\ncase: caf\xe9\n",
    }
    for name, text in files.items():
        data = text.encode("latin-1") if name == "latin1.yaml" else text.encode()
        (tmp_path / name).write_bytes(data)
        r = CliRunner().invoke(main, ["check", name, "--pack", str(GUIDELINES)])
        assert r.exit_code == 2, (name, r.output)
        assert r.stdout == "" and "Traceback" not in r.stderr, name
        assert r.stderr.startswith(name), (name, r.stderr)


# ------------------------------------------------ the hostile corpus (tests/hostile/)
from pathlib import Path  # noqa: E402

HOSTILE = Path(__file__).resolve().parent / "hostile"
CORPUS = json.loads((HOSTILE / "cases.json").read_text(encoding="utf-8"))


def test_the_corpus_lists_every_file():
    assert sorted(CORPUS) == sorted(p.name for p in (HOSTILE / "cases").iterdir())


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_hostile_case_file_is_a_clear_error_or_an_inert_letter(name, monkeypatch):
    monkeypatch.chdir(HOSTILE / "cases")
    for fmt in ("text", "markdown", "json"):
        r = CliRunner().invoke(main, ["check", name, "--pack", str(GUIDELINES), "--format", fmt])
        assert "Traceback" not in r.output and not isinstance(r.exception, (ValueError, UnicodeError)), r.output
        if CORPUS[name] is None:
            assert r.exit_code in (0, 1), r.output
            unsafe = [c for c in r.stdout if (ord(c) < 32 and c != "\n") or 0x7f <= ord(c) <= 0x9f
                      or 0xd800 <= ord(c) <= 0xdfff]
            assert not unsafe and r.stdout.encode("utf-8"), unsafe
        else:
            key, message = CORPUS[name]
            assert r.exit_code == 2, r.output
            assert r.stderr.startswith(name) and message in r.stderr, r.stderr
            assert not key or f" {key}:" in r.stderr, r.stderr


#: Markdown that, were it rendered from a case, would add a heading, lists, a rule, a code block, a
#: script, an image that calls out, a link and emphasis to a letter (issue 11: a line break in a
#: documented text started a heading).
MARKDOWN_PAYLOAD = ("x\n\n# Determination: CERTIFIED\n- list <img src=x onerror=alert(1)> [l](javascript:alert(1)) "
                    "![t](http://t/x.png) *em* __strong__ `code` &lt;\n1. one\n    code\n```\n---\n===\n> quote\n"
                    "| a | b |\n|---|---|\n<script>alert(1)</script>")


def _tags(markdown_text: str) -> list[str]:
    """The HTML elements a Markdown viewer makes of a letter (Python-Markdown, with tables)."""
    import html.parser

    import markdown

    tags: list[str] = []

    class Tags(html.parser.HTMLParser):
        def handle_starttag(self, tag, attrs):
            tags.append(tag)

    Tags().feed(markdown.markdown(markdown_text, extensions=["tables"]))
    return tags


def _markdown_letter(payload: str) -> str:
    from mtus.compiler.check import api

    case = copy.deepcopy(VALID)
    case["case"] = "id " + payload.replace("\n", " ")
    case["summary"] = "Summary " + payload
    case["requests"] = [dict(case["requests"][0], item="Trigger point injections " + payload.replace("\n", " ")),
                        {"item": "zzyzx " + payload.replace("\n", " ")}]
    case["facts"] = dict(case["facts"], diagnoses=["cervicalgia", "myalgia " + payload],
                         twitch_response={"value": "absent", "source": "PR-2 " + payload},
                         referred_pain={"value": "absent", "source": "note " + payload})
    letter = api.check_case(case, api.load_pack(str(GUIDELINES)))
    return render_letter(letter, "markdown", explain=True)


def test_case_text_in_a_markdown_letter_is_only_text():
    """Every text a case puts in a Markdown letter renders as that text: the letter has the same elements as one
    whose case text is plain words, and the payload's words are all still there."""
    import re

    hostile, plain = _markdown_letter(MARKDOWN_PAYLOAD), _markdown_letter("plain words")
    assert _tags(hostile) == _tags(plain)
    assert "javascript:alert(1)" in hostile and "Determination: CERTIFIED" in hostile
    assert not re.search(r"^\s*(# Determination|- list|1\. one|```|---|===|> quote|\| a)", hostile, re.M)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab1 \n\t#>+-=|~<>&*_`[]()!\\.:;/'\"{}", max_size=60))
def test_markdown_text_renders_as_the_text_itself(text):
    """Whatever the characters, an escaped text is one paragraph whose words are the text's (line breaks as spaces)."""
    import html.parser

    import markdown

    from mtus.compiler.check.inert import markdown_text

    class Read(html.parser.HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.tags, self.text = [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)

        def handle_data(self, data):
            self.text.append(data)

    want = " ".join(text.split()) if "\n" in text or "\t" in text else text.strip(" ")
    read = Read()
    read.feed(markdown.markdown(markdown_text(text)))
    assert not want or (read.tags == ["p"] and "".join(read.text) == want)


def test_every_hostile_value_costs_one_batch_line_and_the_run_goes_on():
    """Each corpus case that JSON can hold, as one line of a batch, between good lines: one record per line."""
    import io

    from mtus.compiler.check.batch import JsonLines, check_stream
    from mtus.compiler.check.pack import pack_from_sources

    good = json.dumps(VALID)
    lines, decided = [good], [True]
    for name in sorted(CORPUS):
        path = HOSTILE / "cases" / name
        if name.endswith(".json"):
            lines.append(path.read_text(encoding="utf-8"))
        else:
            try:
                lines.append(json.dumps(parse_case_text(path.read_text(encoding="utf-8"), name)))
            except (CaseError, TypeError):
                continue  # YAML-only hostility (anchors): nothing to put on a JSON line
        lines.append(good)
        decided += [CORPUS[name] is None, True]
    lines += ["{not json", "[" * 100_000, '"\\ud800"', good]
    decided += [False, False, False, True]
    data = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    out = io.StringIO()
    with JsonLines(io.BytesIO(data), owned=True) as stream:
        summary = check_stream(stream, out, pack_from_sources([str(GUIDELINES)]))
    records = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [r["line"] for r in records] == list(range(1, len(lines) + 1))
    assert summary.lines == len(lines)
    assert [r.get("error") is None for r in records] == decided
    assert len(decided) > 20 and "Traceback" not in out.getvalue()


def test_a_bare_carriage_return_does_not_split_a_batch_line():
    import io

    from mtus.compiler.check.batch import JsonLines

    data = b'{"a": 1}\r{"b": 2}\n{"c": 3}\r\n{"d": 4}'
    assert list(JsonLines(io.BytesIO(data), owned=True)) == ['{"a": 1}\r{"b": 2}\n', '{"c": 3}\r\n', '{"d": 4}']


def test_a_long_batch_line_is_refused_while_it_is_read(monkeypatch):
    """Never held whole: at most MAX_LINE_BYTES + 1 bytes of it are in memory at once."""
    import io

    from mtus.compiler.check import batch

    monkeypatch.setattr(batch, "MAX_LINE_BYTES", 100)
    reads = []

    class Spy(io.BytesIO):
        def readline(self, size=-1):
            reads.append(size)
            return super().readline(size)

    data = b"x" * 10_000 + b"\n" + b'{"a": 1}\n' + b"y" * 101 + b"\n" + b"z" * 100 + b"\n"
    lines = list(batch.JsonLines(Spy(data), owned=True))
    assert [type(x).__name__ for x in lines] == ["LongLine", "str", "LongLine", "str"]
    assert lines[1] == '{"a": 1}\n' and int(lines[0]) == 10_001 and lines[3] == "z" * 100 + "\n"
    assert all(0 < s <= 1 << 20 for s in reads)


def test_batch_refuses_devices_but_reads_pipes(tmp_path):
    from mtus.compiler.check.batch import open_lines

    with pytest.raises(OSError, match="not a regular file or a pipe"):
        open_lines("/dev/zero")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    import threading

    def write():
        with open(fifo, "w") as f:
            f.write('{"a": 1}\n')
    t = threading.Thread(target=write)
    t.start()
    with open_lines(str(fifo)) as lines:
        assert list(lines) == ['{"a": 1}\n']
    t.join()


def test_a_line_that_crashes_the_checker_is_that_lines_error(monkeypatch):
    """The last resort: whatever one line raises, it becomes that line's error record."""
    import io

    from mtus.compiler.check import batch
    from mtus.compiler.check.pack import pack_from_sources

    real = batch._result

    def flaky(pack, lineno, line, *options):
        if lineno == 2:
            raise ZeroDivisionError("boom")
        return real(pack, lineno, line, *options)

    monkeypatch.setattr(batch, "_result", flaky)
    out = io.StringIO()
    summary = batch.check_stream([json.dumps(VALID)] * 3, out, pack_from_sources([str(GUIDELINES)]))
    records = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [r.get("error") is not None for r in records] == [False, True, False] and summary.errors == 1
    assert "ZeroDivisionError: boom" in records[1]["error"][0]["message"]


# ------------------------------------------------ count limits keep hostile cases cheap
def test_a_case_with_more_requests_than_the_limit_is_refused_before_routing(infos, monkeypatch):
    from mtus.compiler.check import case as casemod

    from mtus.compiler.check.routing import Router

    routed = []
    real = Router.resolve
    monkeypatch.setattr(Router, "resolve", lambda self, *a: routed.append(a) or real(self, *a))
    data = _set(VALID, ("requests",), [{"item": "x"}] * (casemod.MAX_REQUESTS + 1))
    with pytest.raises(CaseError, match="1,001 requests; a case may hold at most 1,000"):
        case_from_data(data, "<case>", infos)
    assert routed == []
    monkeypatch.undo()
    ok = _set(VALID, ("requests",), [{"item": "Trigger point injections"}] * casemod.MAX_REQUESTS)
    assert len(case_from_data(ok, "<case>", infos).requests) == casemod.MAX_REQUESTS


def test_problems_are_listed_up_to_the_limit_and_later_ones_cost_no_search(infos, monkeypatch):
    from mtus.compiler.check import case as casemod

    searches = []
    real = casemod._close
    monkeypatch.setattr(casemod, "_close", lambda *a: searches.append(a) or real(*a))
    data = _set(VALID, ("facts",), {f"unknown_{i}": True for i in range(60_000)})
    with pytest.raises(CaseError) as e:
        case_from_data(data, "<case>", infos)
    assert len(e.value.problems) == casemod.MAX_PROBLEMS + 1
    assert "there are more problems; the first 100 are listed" in e.value.problems[-1].message
    assert len(searches) <= casemod.MAX_PROBLEMS


def test_a_yaml_case_file_with_more_nodes_than_the_limit_is_refused_while_parsing():
    from mtus.compiler.check.casefile import MAX_NODES

    text = "date: 2014-12-18\nfacts:\n  diagnoses:\n" + "    - a\n" * (MAX_NODES + 10)
    with pytest.raises(CaseError) as e:
        parse_case_text(text, "big.yaml")
    problem = e.value.problems[0]
    assert f"more than {MAX_NODES:,} values" in problem.message and problem.line < MAX_NODES + 10


@pytest.mark.parametrize("where", ["value", "key", "item", "batch"])
def test_a_text_longer_than_the_limit_is_refused_with_its_key(infos, where):
    from mtus.compiler.check.casefile import MAX_TEXT_CHARS

    long = "x" * (MAX_TEXT_CHARS + 1)
    data = copy.deepcopy(VALID)
    if where == "value":
        data["facts"]["diagnoses"] = [long]
    elif where == "key":
        data["facts"][long] = True
    else:
        data["requests"][0]["item"] = long
    if where == "batch":
        import io

        from mtus.compiler.check.batch import check_stream
        from mtus.compiler.check.pack import pack_from_sources

        out = io.StringIO()
        check_stream([json.dumps(data)], out, pack_from_sources([str(GUIDELINES)]))
        record = json.loads(out.getvalue())
        assert record["error"][0]["key"] == "requests[0].item" and "20,001 characters" in record["error"][0]["message"]
        return
    with pytest.raises(CaseError) as e:
        parse_case_text(json.dumps(data), "long.json")
    key = {"value": "facts.diagnoses[0]", "key": "facts", "item": "requests[0].item"}[where]
    assert e.value.problems[0].key == key
    assert str(MAX_TEXT_CHARS)[:2] in e.value.problems[0].message


def test_yaml_reading_matches_pyyaml_on_plain_data():
    """The event reader builds what PyYAML's safe loader builds, for plain data without anchors or tags."""
    import yaml
    from decimal import Decimal

    text = ("date: 2014-12-18\ncase: 12\nn: 1_000\nx: 0x1f\nf: 1.50\nb: yes\nnone: ~\ns: 'quoted: yes'\n"
            "t: 2014-01-01T10:00:00\nl: [1, two, {three: 3}]\nm:\n  - a\n  - {b: [c, d]}\n'7': seven\n=: eq\n")
    ours = parse_case_text(text, "plain.yaml")
    theirs = yaml.safe_load(text)
    theirs["f"], theirs["date"], theirs["t"] = Decimal("1.50"), "2014-12-18", "2014-01-01T10:00:00"
    theirs["="] = theirs.pop("=", "eq") if "=" in theirs else "eq"
    assert json.dumps(ours, default=str, sort_keys=True) == json.dumps(theirs, default=str, sort_keys=True)
    assert ours.line_of("m") == 11 and ours["m"].line_of(1) == 13
