"""Case files are untrusted: every malformed input is a CaseError naming the key, never a crash."""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtus.compiler.check.case import MAX_HISTORY, case_from_data
from mtus.compiler.check.casefile import MAX_CASE_BYTES, MAX_DEPTH, CaseError, parse_case_text, read_case_file
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


def test_oversized_case_file_is_refused_without_reading_it(tmp_path):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as f:
        f.truncate(100 * 1024 * 1024)  # sparse: 100 MB without writing them
    with pytest.raises(CaseError, match=f"the limit is {MAX_CASE_BYTES:,}"):
        read_case_file(str(big))


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
