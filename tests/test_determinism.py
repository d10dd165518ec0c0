"""Compiling and checking give byte-identical output whatever the hash seed, locale or time zone."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import GUIDELINES, ROOT

SEED = ROOT / "docs" / "examples" / "seed-2014-12-18.yaml"
ENVIRONMENTS = [
    {"PYTHONHASHSEED": "0", "LC_ALL": "C", "TZ": "UTC"},
    {"PYTHONHASHSEED": "1", "LC_ALL": "C.UTF-8", "TZ": "America/Los_Angeles"},
    {"PYTHONHASHSEED": "4242", "LC_ALL": "POSIX", "TZ": "Pacific/Kiritimati"},  # UTC+14: another date
]


def _mtus(args, env_extra, cwd):
    env = dict(os.environ, **env_extra)
    return subprocess.run([sys.executable, "-c", "from mtus.compiler.tools.cli import main; main()", *args],
                          env=env, cwd=cwd, capture_output=True, check=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = []
    for i, extra in enumerate(ENVIRONMENTS):
        work = tmp_path_factory.mktemp(f"env{i}")
        extra = dict(extra, MTUS_CACHE_DIR=str(work / "cache"))
        compiled = _mtus(["compile", str(GUIDELINES), "-o", str(work / "pack")], extra, ROOT)
        assert compiled.returncode == 0, compiled.stderr
        files = {p.relative_to(work / "pack").as_posix(): p.read_bytes()
                 for p in sorted((work / "pack").rglob("*")) if p.is_file()}
        letters = {fmt: _mtus(["check", str(SEED), "--pack", str(work / "pack"), "--format", fmt, "--explain"],
                              extra, ROOT).stdout for fmt in ("text", "json")}
        out.append((files, letters))
    return out


def test_compiled_pack_is_byte_identical(runs):
    first = runs[0][0]
    assert first
    for files, _ in runs[1:]:
        assert files == first


def test_letters_are_byte_identical(runs):
    first = runs[0][1]
    assert b"UPHELD" in first["text"]
    for _, letters in runs[1:]:
        assert letters == first
