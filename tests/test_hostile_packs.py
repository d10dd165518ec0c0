"""Hostile packs and output folders: `-o` deletes only packs, a broken pack is refused by name, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from mtus.compiler.build.packwriter import build_pack, write_pack
from mtus.compiler.check.pack import PackError, load_pack, load_pack_files
from mtus.compiler.tools.cli import main
from tests.conftest import GUIDELINES, ROOT
from tests.packedit import part, rehashed, with_manifest, with_part

TPI = str(GUIDELINES / "tpi.mtus")


@pytest.fixture(scope="module")
def tpi_files():
    return dict(build_pack([TPI], name="t", version="1").files)


@pytest.fixture
def built(tmp_path, tpi_files):
    out = tmp_path / "pack"
    write_pack(build_pack([TPI], name="t", version="1"), str(out))
    return out


def compile_to(out) -> "CliRunner":
    return CliRunner().invoke(main, ["compile", TPI, "-o", str(out)])


# ------------------------------------------------ 2. -o deletes only what mtus wrote
@pytest.mark.parametrize("manifest", [b"{}", b"[]", b"not json", b'{"format": 1, "files": {}}',
                                      b'{"format": 1, "files": {"notes.txt": "0"}}'])
def test_compile_never_replaces_a_folder_that_only_has_a_manifest(tmp_path, manifest):
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_bytes(manifest)
    (out / "notes.txt").write_text("precious")
    r = compile_to(out)
    assert r.exit_code == 1 and "is not empty and is not a pack, so it is not replaced" in r.output, r.output
    assert (out / "notes.txt").read_text() == "precious" and (out / "manifest.json").read_bytes() == manifest


def test_compile_never_follows_a_symlinked_manifest(tmp_path, built):
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").symlink_to(built / "manifest.json")
    (out / "notes.txt").write_text("precious")
    r = compile_to(out)
    assert r.exit_code == 1 and "manifest.json: is a symbolic link" in r.output, r.output
    assert (out / "notes.txt").read_text() == "precious"


@pytest.mark.parametrize("change", ["extra", "pycache", "altered", "part altered", "missing"])
def test_compile_never_replaces_a_pack_with_something_it_did_not_write(built, change):
    if change == "extra":
        (built / "mine.txt").write_text("precious")
    elif change == "pycache":
        (built / "__pycache__").mkdir()
        (built / "__pycache__" / "x.pyc").write_text("precious")
    elif change == "altered":
        (built / "descriptions.jsonl").write_text("{}")
    elif change == "part altered":  # the same size, one part's bytes changed
        f = built / "checkers.txt"
        f.write_bytes(f.read_bytes().replace(b"evaluate", b"Evaluate", 1))
    else:
        (built / "descriptions.jsonl").unlink()
    before = sorted(p.relative_to(built).as_posix() for p in built.rglob("*"))
    r = compile_to(built)
    assert r.exit_code == 1 and "so it is not replaced" in r.output, r.output
    assert sorted(p.relative_to(built).as_posix() for p in built.rglob("*")) == before


def test_compile_replaces_a_pack_it_wrote_and_an_empty_folder(tmp_path, built):
    assert compile_to(built).exit_code == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    assert compile_to(empty).exit_code == 0 and (empty / "manifest.json").is_file()


# ------------------------------------------------ 5. a broken pack is refused by name
def _set(key, value):
    def change(m):
        m[key] = value
    return change


def _info(files, data: bytes) -> dict:
    """The pack with tpi's description replaced (placed and hashed as its builder would)."""
    return with_part(files, "descriptions.jsonl", "tpi", data)


def _fact_kind(files, kind) -> bytes:
    info = json.loads(part(files, "descriptions.jsonl", "tpi"))
    info["facts"]["injections"]["kind"] = kind
    return json.dumps(info).encode() + b"\n"


def _shape_kind(files, kind) -> bytes:
    info = json.loads(part(files, "descriptions.jsonl", "tpi"))
    info["criteria"][0]["shape"]["kind"] = kind
    return json.dumps(info).encode() + b"\n"


def _with_formulary(files, change) -> dict:
    """The pack with a formulary.json that is well formed but for `change`."""
    good = {"id": "d", "title": "D", "citation": None, "ingredients": {"carisoprodol": ["muscle relaxant"]},
            "products": {"Soma": {"ingredients": ["carisoprodol"], "form": "tablet"}}}
    files = rehashed(files, "formulary.json", json.dumps({**good, **change}).encode())
    return with_manifest(files, _set("formulary", "formulary.json"))


BROKEN = {
    "manifest is a list": (lambda f: {**f, "manifest.json": b"[]"}, "manifest.json: is not a valid pack manifest"),
    "manifest is a string": (lambda f: {**f, "manifest.json": b'"x"'}, "manifest.json: is not a valid pack manifest"),
    "manifest is not UTF-8": (lambda f: {**f, "manifest.json": b"\xff{}"}, "manifest.json: is not a valid pack manifest"),
    "manifest nested deeply": (lambda f: {**f, "manifest.json": b"[" * 100_000 + b"]" * 100_000},
                               "manifest.json: is not a valid pack manifest"),
    "no format": (lambda f: with_manifest(f, lambda m: m.pop("format")), "manifest.json: has no pack format"),
    "format true": (lambda f: with_manifest(f, _set("format", True)), "manifest.json: pack format True"),
    "format text": (lambda f: with_manifest(f, _set("format", "1")), "manifest.json: pack format '1'"),
    "files a list": (lambda f: with_manifest(f, _set("files", [])), "manifest.json: is not a valid pack manifest"),
    "files missing": (lambda f: with_manifest(f, lambda m: m.pop("files")), "is not a valid pack manifest"),
    "hash a number": (lambda f: with_manifest(f, lambda m: m["files"].update({"routing.json": 1})),
                      "manifest.json: is not a valid pack manifest"),
    "guidelines missing": (lambda f: with_manifest(f, lambda m: m.pop("guidelines")), "`guidelines` must be a list"),
    "guidelines a dict": (lambda f: with_manifest(f, _set("guidelines", {})), "`guidelines` must be a list"),
    "id a number": (lambda f: with_manifest(f, _set("guidelines", [7])), "guideline 1 (7) is not a guideline id"),
    "id an entry": (lambda f: with_manifest(f, _set("guidelines", [{"id": "tpi"}])), "guideline 1 ({'id': 'tpi'})"),
    "id a path": (lambda f: with_manifest(f, _set("guidelines", ["../../etc/x"])),
                  "guideline 1 ('../../etc/x') is not a guideline id"),
    "id of two lines": (lambda f: with_manifest(f, _set("guidelines", ["tpi\nx"])),
                        "guideline 1 ('tpi\\nx') is not a guideline id"),
    "id of no parts": (lambda f: with_manifest(f, lambda m: m["guidelines"].append("other")),
                       "manifest.json: is not a valid pack manifest (`checkers` must give the end and the sha256 of "
                       "each guideline's part of checkers.txt, in the order of `guidelines`)"),
    "info not JSON": (lambda f: _info(f, b"{nope"), "descriptions.jsonl#tpi: is not a valid guideline description"),
    "info a list": (lambda f: _info(f, b"[]"), "descriptions.jsonl#tpi: is not a valid guideline description"),
    "info nested deeply": (lambda f: _info(f, b"[" * 100_000),
                           "descriptions.jsonl#tpi: is not a valid guideline description"),
    "info of another place": (lambda f: with_manifest(f, lambda m: m["descriptions"]["ends"].__setitem__(0, 10)),
                              "descriptions.jsonl: is "),
    "info altered": (lambda f: {**f, "descriptions.jsonl": f["descriptions.jsonl"].replace(b"tpi", b"tpj", 1)},
                     "descriptions.jsonl#tpi: does not match its sha256 in the manifest"),
    "checker altered": (lambda f: {**f, "checkers.txt": f["checkers.txt"].replace(b"tpi", b"tpj", 1)},
                        "checkers.txt#tpi: does not match its sha256 in the manifest"),
    "listed twice": (lambda f: with_manifest(f, lambda m: m["guidelines"].append("tpi")),
                     "guideline `tpi` is listed twice"),
    "path outside": (lambda f: with_manifest(f, lambda m: m["files"].update({"../x": "0" * 64})), "which is outside"),
    "absolute path": (lambda f: with_manifest(f, lambda m: m["files"].update({"/etc/passwd": "0" * 64})),
                      "which is outside"),
    "formulary a number": (lambda f: with_manifest(f, _set("formulary", 3)), "`formulary` must name a .json file"),
    "formulary missing": (lambda f: with_manifest(f, _set("formulary", "f.json")), "`formulary` must name a .json file"),
    "fact of no kind the reader has": (lambda f: _info(f, _fact_kind(f, "colour")),
                                       "descriptions.jsonl#tpi: is not a valid guideline description"),
    "criterion shape of no kind the letters phrase": (
        lambda f: _info(f, _shape_kind(f, "colour")), "descriptions.jsonl#tpi: is not a valid guideline description"),
    "formulary products a list": (lambda f: _with_formulary(f, {"products": []}), "is not a valid formulary file"),
    "formulary form a number": (lambda f: _with_formulary(f, {"products": {"Soma": {"ingredients": ["carisoprodol"],
                                                                                    "form": 3}}}),
                                "is not a valid formulary file"),
    "formulary classes a string": (lambda f: _with_formulary(f, {"ingredients": {"carisoprodol": "muscle relaxant"}}),
                                   "is not a valid formulary file"),
    "extra file": (lambda f: {**f, "notes.txt": b"x"}, "notes.txt: is not listed in the manifest"),
    "extra cache file": (lambda f: {**f, "__pycache__/tpi.cpython-311.pyc": b"x"},
                         "__pycache__/tpi.cpython-311.pyc: is not listed in the manifest"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_pack_is_refused_by_name(tpi_files, name):
    make, message = BROKEN[name]
    with pytest.raises(PackError) as e:
        load_pack_files(make(tpi_files), "hostile")
    assert message in str(e.value)
    assert str(e.value).startswith("hostile")  # names the file in the pack


@pytest.mark.parametrize("name", ["manifest nested deeply", "id a number", "info not JSON", "extra cache file",
                                  "id a path"])
def test_check_with_a_broken_pack_is_an_error_not_a_traceback(tmp_path, tpi_files, name):
    out = tmp_path / "pack"
    for rel, data in BROKEN[name][0](tpi_files).items():
        if ".." in rel or rel.startswith("/"):
            continue
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
    mtus = os.path.join(os.path.dirname(sys.executable), "mtus")
    r = subprocess.run([mtus, "check", "--pack", str(out),
                        str(ROOT / "docs/examples/seed-2014-12-18.yaml")], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode in (1, 2) and "Traceback" not in r.stderr, r.stderr
    assert str(out) in r.stderr


def test_pack_files_that_are_not_regular_files_are_refused(built, tmp_path):
    os.mkfifo(built / "fifo")  # would block a plain open() forever
    with pytest.raises(PackError, match="fifo: is not a regular file"):
        load_pack(str(built))
    os.unlink(built / "fifo")
    (built / "zero").symlink_to("/dev/zero")
    with pytest.raises(PackError, match="zero: is a symbolic link"):
        load_pack(str(built))
    os.unlink(built / "zero")
    (tmp_path / "elsewhere").mkdir()
    (built / "sub").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(PackError, match="sub: is a symbolic link"):
        load_pack(str(built))
    os.unlink(built / "sub")
    # a file of parts swapped for a link or a FIFO after the pack was opened: refused when a part is read
    for make, why in ((lambda p: p.symlink_to("/dev/zero"), "is a symbolic link"),
                      (os.mkfifo, "is not a regular file")):
        p = load_pack(str(built))
        saved = (built / "checkers.txt").read_bytes()
        os.unlink(built / "checkers.txt")
        make(built / "checkers.txt")
        with pytest.raises(PackError, match=f"checkers.txt: {why}"):
            p.guidelines["tpi"].module  # noqa: B018
        os.unlink(built / "checkers.txt")
        (built / "checkers.txt").write_bytes(saved)


def test_an_oversized_pack_file_is_refused_by_a_bounded_read(built, monkeypatch):
    from mtus.compiler.check import pack

    monkeypatch.setattr(pack, "MAX_PACK_FILE_BYTES", 400)  # the manifest of one guideline is over 400 bytes
    too_large = r"manifest\.json: is larger than the limit of 400 bytes for a pack file"
    with pytest.raises(PackError, match=too_large):
        load_pack(str(built))
    monkeypatch.setattr(pack, "MAX_PACK_FILE_BYTES", 10_000)  # the checker is larger: refused before it is read
    p = load_pack(str(built))
    with pytest.raises(PackError, match=r"checkers\.txt#tpi: is larger than the limit of 10,000 bytes"):
        p.guidelines["tpi"].module  # noqa: B018


def test_a_cache_entry_others_can_write_is_not_used(tmp_path, monkeypatch):
    """A poisoned cache entry (self-consistent, but someone else's code) is never loaded."""
    from mtus.compiler.check import pack

    monkeypatch.setenv("MTUS_CACHE_DIR", str(tmp_path / "cache"))
    first = pack.pack_from_sources([TPI])
    (entry,) = (tmp_path / "cache").iterdir()
    assert first.location == str(entry) or first.location.startswith("<compiled")
    files = dict(load_files(entry))
    text = part(files, "checkers.txt", "tpi").decode().replace("def evaluate(facts, request_date):",
                                                               "import builtins\nbuiltins.mtus_cache_pwned = 1\n\n"
                                                               "def evaluate(facts, request_date):")
    shutil.rmtree(entry)
    poisoned = with_part(files, "checkers.txt", "tpi", text.encode())
    for rel, data in poisoned.items():
        (entry / rel).parent.mkdir(parents=True, exist_ok=True)
        (entry / rel).write_bytes(data)
    os.chmod(entry, 0o777)  # what makes it poisonable: anyone may write in it
    import builtins
    import datetime

    p = pack.pack_from_sources([TPI])
    p.guidelines["tpi"].evaluate({}, datetime.date(2020, 1, 1))
    assert not hasattr(builtins, "mtus_cache_pwned")
    os.chmod(entry, 0o700)  # a private entry is the user's own: it is used
    p = pack.pack_from_sources([TPI])
    assert p.location == str(entry)
    p.guidelines["tpi"].evaluate({}, datetime.date(2020, 1, 1))
    assert getattr(builtins, "mtus_cache_pwned", None) == 1  # (the test can fail: the check above is real)
    del builtins.mtus_cache_pwned


def load_files(root):
    from mtus.compiler.check.pack import read_pack_dir

    return read_pack_dir(root)
