"""The front end's happy path kept in the grammar cache (dsl/parser.py: _front_path), so that a file that parses is
read without importing Lark: made from what is kept, it parses every text as the one made from Lark's own tables;
a kept file that is damaged, not this user's, or made for another grammar, Lark or parser is not used."""

from __future__ import annotations

import ast as python_ast
import marshal
import os
import random
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtus.dsl import parser as dsl_parser
from mtus.dsl import reduce
from mtus.dsl.parser import _building_path, _HappyPath, _KEPT, _keep, _kept_key, _lark, _read_kept
from tests.conftest import GUIDELINES
from tests.test_parser_fastpath import FILES, _generated, _mutate, _seeds, _text
from tests.test_parser_reduce import _same


def _kept() -> _HappyPath:
    """The happy path as a later process makes it: from the plain values written, read back."""
    happy = _HappyPath.kept(marshal.loads(marshal.dumps(_building_path(_lark()).plain())), reduce)
    assert happy is not None
    return happy


def _check(kept: _HappyPath, text: str, path: str = "g.mtus") -> None:
    ours = kept.parse(text, path)
    theirs = _building_path(_lark()).parse(text, path)
    assert (ours is None) == (theirs is None)
    _same(ours, theirs, [])


def test_every_file_parses_as_with_larks_tables():
    kept = _kept()
    assert isinstance(_building_path(_lark()), _HappyPath)
    built = 0
    for path in FILES:
        _check(kept, _text(path), path.name)
        built += kept.parse(_text(path), path.name) is not None
    assert built > 50


def test_generated_guidelines_parse_as_with_larks_tables():
    kept = _kept()
    for text in _generated()[:20]:
        _check(kept, text)


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**9), st.integers(1, 3))
def test_mutated_texts_parse_or_give_up_as_with_larks_tables(seed, edits):
    rng = random.Random(seed)
    seeds = _seeds()
    text = seeds[rng.randrange(len(seeds))]
    for _ in range(edits):
        text = _mutate(text, rng)
    _check(_kept(), text if text.endswith("\n") else text + "\n")


def test_what_is_kept_is_plain_values():
    """Only values marshal writes and reads back as they were (no code, no object of Lark's), states sharing a
    lexer still sharing it once read back."""
    plain = _building_path(_lark()).plain()

    def walk(value):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(k)
                walk(v)
        elif isinstance(value, (tuple, frozenset)):
            for v in value:
                walk(v)
        else:
            assert value is None or type(value) in (str, int, bool), type(value)

    walk(plain)
    back = marshal.loads(marshal.dumps(plain))
    assert back == plain
    lexers = back["lexers"].values()
    assert len({id(spec) for spec in lexers}) < len(lexers) / 2


@pytest.fixture
def kept_file(tmp_path, monkeypatch):
    monkeypatch.setenv("MTUS_CACHE_DIR", str(tmp_path))
    where = dsl_parser.grammar_cache(_KEPT)
    key = _kept_key()
    assert where and key
    _keep(where, key, _building_path(_lark()).plain())
    return where, key


def test_a_kept_file_is_read_back(kept_file):
    where, key = kept_file
    data = _read_kept(where, key)
    assert data == marshal.loads(marshal.dumps(_building_path(_lark()).plain()))
    assert (os.stat(where).st_mode & 0o777) == 0o600


def test_a_damaged_or_foreign_kept_file_is_not_read(kept_file, monkeypatch):
    where, key = kept_file
    blob = open(where, "rb").read()
    assert _read_kept(where, b"\0" * 32) is None  # another grammar, Lark, parser or Python
    for damaged in (blob[:1000], blob[:-1] + bytes([blob[-1] ^ 1]), b"", blob[:40] + b"x" + blob[41:]):
        with open(where, "wb") as f:
            f.write(damaged)
        assert _read_kept(where, key) is None
    with open(where, "wb") as f:
        f.write(blob)
    assert _read_kept(where, key) is not None
    monkeypatch.setattr(os, "getuid", lambda: os.stat(where).st_uid + 1)  # another user's file
    assert _read_kept(where, key) is None
    monkeypatch.undo()
    os.rename(where, where + ".real")
    os.symlink(where + ".real", where)  # a link: not followed
    assert _read_kept(where, key) is None


def test_kept_tables_of_another_key_are_not_used_or_kept():
    """The key changes with the grammar's text, Lark's package and this module's code."""
    key = _kept_key()
    with pytest.MonkeyPatch.context() as m:
        m.setattr(dsl_parser, "grammar_text", lambda: "start: NAME\n")
        assert _kept_key() not in (None, key)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(dsl_parser, "__file__", GUIDELINES / "tpi.mtus")
        assert _kept_key() not in (None, key)


CHECK = ("import sys\nfrom mtus.dsl.frontend import check_file\n"
         "r = check_file(sys.argv[1])\n"
         "print(repr((r.ok, [(d.code, d.message, d.span.line, d.span.column) for d in r.diagnostics], "
         "'lark' in sys.modules)))")


def _check_in_a_new_process(cache, path):
    r = subprocess.run([sys.executable, "-c", CHECK, str(path)], capture_output=True, text=True,
                       env=dict(os.environ, MTUS_CACHE_DIR=str(cache)))
    assert r.returncode == 0 and r.stderr == "", r.stderr
    return python_ast.literal_eval(r.stdout.strip())


def test_a_file_that_parses_is_checked_without_lark_and_an_error_with_it(tmp_path):
    good = GUIDELINES / "tpi.mtus"
    bad = tmp_path / "bad.mtus"
    bad.write_text(good.read_text(encoding="utf-8").replace("\ncriteria\n", "\ncriteria\n  (\n", 1), encoding="utf-8")
    cache = tmp_path / "cache"
    first = _check_in_a_new_process(cache, good)
    assert first[0] and first[2]  # the first process makes the tables from Lark's, and keeps them
    kept = cache / "grammar" / "happy-path.marshal"
    assert kept.is_file()
    written = kept.stat().st_mtime_ns
    assert _check_in_a_new_process(cache, good) == (True, first[1], False)  # read back: no Lark
    wrong = _check_in_a_new_process(cache, bad)
    assert not wrong[0] and wrong[1] and wrong[1][0][0] == "E110" and wrong[2]  # an error: Lark's, as before
    from mtus.dsl.frontend import check_file

    assert wrong[1] == [(d.code, d.message, d.span.line, d.span.column) for d in check_file(str(bad)).diagnostics]
    assert kept.stat().st_mtime_ns == written
    # damaged: not used, made again from Lark's, the same result
    kept.write_bytes(kept.read_bytes()[:5000])
    assert _check_in_a_new_process(cache, good) == (True, first[1], True)
    assert kept.stat().st_size > 5000
    assert _check_in_a_new_process(cache, good) == (True, first[1], False)


def test_a_kept_file_of_another_key_or_user_is_made_again(tmp_path):
    """As after an upgrade of Lark or mtus (another key), or a file this user does not own: not read, the same
    result from Lark's tables, and this process's own kept in its place."""
    good = GUIDELINES / "tpi.mtus"
    cache = tmp_path / "cache"
    first = _check_in_a_new_process(cache, good)
    kept = cache / "grammar" / "happy-path.marshal"
    blob = kept.read_bytes()
    at = len(dsl_parser._KEPT_MAGIC)
    kept.write_bytes(blob[:at] + bytes(32) + blob[at + 32:])  # another key (its digest as it was)
    assert _check_in_a_new_process(cache, good) == (True, first[1], True)
    # made again (the same tables; a dict's order may differ, as sets are ordered by the process's hash seed)
    assert kept.read_bytes()[at:at + 32] == blob[at:at + 32] and _read_kept(str(kept), _kept_key()) is not None
    if os.getuid() == 0:  # (only root can give a file to another user)
        os.chown(kept, 65534, 65534)
        assert _check_in_a_new_process(cache, good) == (True, first[1], True)
        assert kept.stat().st_uid == 0 and _read_kept(str(kept), _kept_key()) is not None
    assert _check_in_a_new_process(cache, good) == (True, first[1], False)
