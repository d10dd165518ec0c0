"""Lark's analysed grammar kept between processes (dsl/parser.py's grammar_cache): only in a private folder."""

from __future__ import annotations

import os
import subprocess
import sys

from mtus.dsl.parser import grammar_cache
from tests.conftest import GUIDELINES

PARSE = ("import sys\nfrom mtus.dsl.frontend import check_file\n"
         "r = check_file(sys.argv[1])\nprint(r.ok)")


def _parse_in_a_new_process(cache):
    return subprocess.run([sys.executable, "-c", PARSE, str(GUIDELINES / "tpi.mtus")], capture_output=True, text=True,
                          env=dict(os.environ, MTUS_CACHE_DIR=str(cache)))


def test_the_grammar_is_cached_in_a_private_folder_and_read_back(tmp_path):
    first = _parse_in_a_new_process(tmp_path)
    assert first.returncode == 0 and first.stdout.strip() == "True" and first.stderr == ""
    folder = tmp_path / "grammar"
    assert (folder.stat().st_mode & 0o777) == 0o700
    cached = folder / "grammar-0.lark"
    assert sorted(p.name for p in folder.iterdir()) == ["grammar-0.lark", "happy-path.marshal"]
    before = cached.stat().st_mtime_ns
    second = _parse_in_a_new_process(tmp_path)
    assert second.stdout.strip() == "True" and second.stderr == ""
    assert cached.stat().st_mtime_ns == before  # read, not written again


def test_a_damaged_cache_is_rebuilt_silently(tmp_path):
    _parse_in_a_new_process(tmp_path)
    cached = tmp_path / "grammar" / "grammar-0.lark"
    cached.write_bytes(cached.read_bytes()[:1000])
    (tmp_path / "grammar" / "happy-path.marshal").unlink()  # (else the next process needs no Lark to read the file)
    r = _parse_in_a_new_process(tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == "True" and r.stderr == ""
    assert cached.stat().st_size > 1000


def test_no_cache_where_others_could_write(tmp_path, monkeypatch):
    monkeypatch.setenv("MTUS_CACHE_DIR", str(tmp_path))
    assert grammar_cache("g") == str(tmp_path / "grammar" / "g")
    os.chmod(tmp_path / "grammar", 0o777)
    assert grammar_cache("g") is False
    os.rmdir(tmp_path / "grammar")
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    (tmp_path / "grammar").symlink_to(tmp_path / "elsewhere")
    assert grammar_cache("g") is False
    (tmp_path / "grammar").unlink()
    (tmp_path / "grammar").write_text("")
    assert grammar_cache("g") is False


def test_a_process_that_may_write_no_file_keeps_no_cache(tmp_path):
    code = ("import resource\nresource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))\n" + PARSE)
    r = subprocess.run([sys.executable, "-c", code, str(GUIDELINES / "tpi.mtus")], capture_output=True, text=True,
                       env=dict(os.environ, MTUS_CACHE_DIR=str(tmp_path)))
    assert r.stdout.strip() == "True" and r.stderr == ""
    assert not (tmp_path / "grammar").exists()
