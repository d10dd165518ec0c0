"""Rule packs: deterministic builds, verified loads, atomic writes."""

from __future__ import annotations

import json
import os
import re

import pytest

from mtus.compiler.build import packwriter as packmod
from mtus.compiler.check.pack import PackError, load_pack
from mtus.compiler.build.packwriter import build_pack, write_pack
from mtus.compiler.check.runtime import RUNTIME_VERSION
from tests.conftest import GUIDELINES, tiers
from tests.packedit import part


@pytest.fixture
def built(tmp_path):
    out = tmp_path / "pack"
    write_pack(build_pack([str(GUIDELINES)], name="t", version="1"), str(out))
    return out


def test_pack_is_byte_identical_across_builds(tmp_path):
    a = build_pack([str(GUIDELINES)], name="t", version="1").files
    b = build_pack([str(GUIDELINES)], name="t", version="1").files
    assert a == b
    write_pack(build_pack([str(GUIDELINES)], name="t", version="1"), str(tmp_path / "x"))
    for rel, data in a.items():
        assert (tmp_path / "x" / rel).read_bytes() == data


def test_manifest_records_hashes_and_guidelines(built):
    m = json.loads((built / "manifest.json").read_text())
    assert m["runtime"] == RUNTIME_VERSION
    ids = sorted(p.stem for p in GUIDELINES.glob("*.mtus") if p.stem != "formulary")
    assert m["format"] == 3 and m["guidelines"] == ids
    # the checkers and descriptions are two files, each guideline's part placed and hashed by the manifest
    assert sorted(p.name for p in built.iterdir()) == ["checkers.txt", "descriptions.jsonl", "formulary.json",
                                                        "manifest.json", "routing.json"]
    assert set(m["files"]) == {"formulary.json", "routing.json"} and m["routing"] == "routing.json"
    assert m["formulary"] == "formulary.json"
    assert set(m["sources"]) == {p.name for p in GUIDELINES.glob("*.mtus")}
    files = {p.name: p.read_bytes() for p in built.iterdir()}
    for rel, key in (("checkers.txt", "checkers"), ("descriptions.jsonl", "descriptions")):
        ends = m[key]["ends"]
        assert len(ends) == len(m[key]["sha256"]) == len(ids) and ends == sorted(ends) and ends[-1] == len(files[rel])
        assert [packmod.sha256(part(files, rel, gid)) for gid in ids] == m[key]["sha256"]
    descriptions = files["descriptions.jsonl"].decode().splitlines()  # one JSON line each, in the order of ids
    assert [json.loads(line)["id"] for line in descriptions] == ids
    tpi_info = json.loads(part(files, "descriptions.jsonl", "tpi"))
    assert tpi_info["citation"]["pages"] == "122"
    assert part(files, "checkers.txt", "tpi").decode().splitlines()[2].startswith("# Checker for guideline tpi:")
    routing = json.loads((built / "routing.json").read_text())
    assert ["20553", [routing["guidelines"].index("tpi")]] in routing["cpt"]
    # each guideline's names are consecutive: one run (its first name's position, its number) per guideline
    starts, owners = routing["name_runs"][::2], routing["name_runs"][1::2]
    assert starts == sorted(set(starts)) and len(set(owners)) == len(owners)
    i = owners.index(routing["guidelines"].index("tpi"))
    end = starts[i + 1] if i + 1 < len(starts) else len(routing["names"])
    assert " trigger point injection " in routing["names"][starts[i]:end]
    # each fact's guidelines: a text of their numbers
    facts, tpi = dict(routing["facts"]), str(routing["guidelines"].index("tpi"))
    declared = tpi_info["facts"]
    assert declared and all(tpi in facts[f].split() for f in declared)
    p = load_pack(str(built))
    assert (" trigger point injection ", "tpi") in p.index.tables.names
    # a name is kept as written only where that is not its normalised form
    written = dict(zip(routing["written_at"], routing["written"]))
    assert written and all(raw != routing["names"][i].strip() for i, raw in written.items())
    assert all(raw.lower() == raw for raw in p.index.tables.raw_names if raw not in written.values())


def test_loaded_pack_evaluates(built):
    import datetime
    p = load_pack(str(built))
    r = p.guidelines["tpi"].evaluate({}, datetime.date(2014, 12, 18))
    assert not r.certified


def _first_use(pack, rel, gid="tpi"):
    """Use guideline `gid`'s part of `rel`: its description is read, or its checker executed."""
    g = pack.guidelines[gid]
    return g.info if rel.endswith(".jsonl") else g.module


def _alter_part(built, rel, gid="tpi"):
    """One letter of guideline `gid`'s part of `rel` changed (the file keeps its size)."""
    f = built / rel
    data = bytearray(f.read_bytes())
    m = json.loads((built / "manifest.json").read_text())
    i = m["guidelines"].index(gid)
    start = m[{"checkers.txt": "checkers", "descriptions.jsonl": "descriptions"}[rel]]["ends"][i - 1] if i else 0
    at = data.index(b"e", start + 40)
    data[at:at + 1] = b"E"
    f.write_bytes(bytes(data))


@pytest.mark.parametrize("rel", ["checkers.txt", "descriptions.jsonl"])
def test_an_altered_part_is_refused_by_name_before_it_is_used(built, rel):
    _alter_part(built, rel)
    p = load_pack(str(built))  # opening reads only the manifest: start-up does not grow with the pack
    with pytest.raises(PackError, match=rf"{built}/{rel}#tpi: does not match its sha256"):
        _first_use(p, rel)
    with pytest.raises(PackError, match=rf"{rel}#tpi: does not match its sha256"):
        _first_use(p, rel)  # and again: nothing unverified was kept
    _first_use(p, rel, "aeds")  # the others' parts are intact, and used


def test_an_altered_checker_never_runs(built):
    import builtins

    f = built / "checkers.txt"
    f.write_bytes(f.read_bytes().replace(b"def evaluate(facts, request_date):",
                                         b"import builtins; builtins.mtus_altered_ran = 1\ndef evaluate(facts, "
                                         b"request_date):"))
    p = load_pack(str(built))
    with pytest.raises(PackError, match="checkers.txt: is [0-9,]+ bytes, but the manifest places its parts in"):
        p.guidelines["tpi"].evaluate({}, None)
    assert not hasattr(builtins, "mtus_altered_ran")


@pytest.mark.parametrize("cut", [1, 100])
def test_a_truncated_or_lengthened_file_of_parts_is_refused(built, cut):
    f = built / "checkers.txt"
    data = f.read_bytes()
    f.write_bytes(data[:-cut])
    with pytest.raises(PackError, match="checkers.txt: is [0-9,]+ bytes, but the manifest places its parts in "
                                        f"{len(data):,}; the pack was altered"):
        load_pack(str(built)).guidelines["aeds"].module  # noqa: B018 - the first part is whole, but the file is not
    f.write_bytes(data + b"\n" * cut)  # bytes after the last part: in no part, under no hash
    with pytest.raises(PackError, match="checkers.txt: is [0-9,]+ bytes, but the manifest places its parts in"):
        load_pack(str(built)).guidelines["tpi"].module  # noqa: B018


def test_altered_manifest_is_refused(built):
    m = built / "manifest.json"
    data = json.loads(m.read_text())
    data["checkers"]["sha256"][data["guidelines"].index("tpi")] = "0" * 64
    m.write_text(json.dumps(data))
    with pytest.raises(PackError, match="checkers.txt#tpi: does not match"):
        load_pack(str(built)).guidelines["tpi"].module  # noqa: B018
    m.write_text("{not json")
    with pytest.raises(PackError, match="manifest.json: is not a valid pack manifest"):
        load_pack(str(built))


def test_the_routing_index_is_the_descriptions_index(built):
    """routing.json's tables and facts are those the router builds from the guidelines' descriptions."""
    from mtus.compiler.check.index import PackIndex, RouteTables
    from mtus.compiler.check.routing import route_tables

    p = load_pack(str(built))
    assert p.index is not None and p.index.services is None
    full = PackIndex.of({gid: g.info for gid, g in p.guidelines.items()})
    assert dict(p.index.facts) == dict(full.facts)
    built_now = route_tables(full.services, p.formulary)
    for field in (*RouteTables.__slots__, "names", "raw_names"):
        assert getattr(p.index.tables, field) == getattr(built_now, field), field


@pytest.mark.parametrize("fmt", [1, 2])
def test_a_pack_of_an_earlier_format_is_refused_with_what_to_do(built, fmt):
    """Format 1 listed an entry per guideline, format 2 two files a guideline (guidelines/<id>.py and .json);
    this mtus reads format 3."""
    m = built / "manifest.json"
    data = json.loads(m.read_text())
    data["format"] = fmt
    data["files"].update({f"guidelines/{g}.{ext}": "0" * 64 for g in data["guidelines"] for ext in ("py", "json")})
    m.write_text(json.dumps(data))
    with pytest.raises(PackError, match=f"manifest.json: pack format {fmt}; this mtus reads format 3: recompile the "
                                        "pack with `mtus compile`"):
        load_pack(str(built))


@pytest.mark.parametrize("change", [
    lambda d: d["checkers"]["ends"].pop(),  # one guideline placed nowhere
    lambda d: d["descriptions"]["sha256"].append("0" * 64),
    lambda d: d["checkers"]["ends"].reverse(),  # parts that end before they start
    lambda d: d["checkers"]["ends"].__setitem__(0, -1),
    lambda d: d["checkers"]["ends"].__setitem__(0, 1.5),
    lambda d: d["checkers"]["ends"].__setitem__(0, True),
    lambda d: d["checkers"]["ends"].__setitem__(0, "10"),
    lambda d: d["descriptions"]["sha256"].__setitem__(3, "0" * 63),
    lambda d: d["descriptions"]["sha256"].__setitem__(3, "0" * 64 + "\n" + "0" * 64),
    lambda d: d["descriptions"]["sha256"].__setitem__(3, 7),
    lambda d: d["descriptions"].pop("sha256"),
    lambda d: d.__setitem__("checkers", [1, 2]),
    lambda d: d.pop("descriptions"),
])
def test_a_manifest_that_does_not_place_every_part_is_refused_at_open(built, change):
    m = built / "manifest.json"
    data = json.loads(m.read_text())
    change(data)
    m.write_text(json.dumps(data))
    with pytest.raises(PackError, match=r"manifest.json: is not a valid pack manifest \(`(checkers|descriptions)` "
                                        r"must give the end and the sha256 of each guideline's part of "
                                        r"(checkers.txt|descriptions.jsonl), in the order of `guidelines`\)"):
        load_pack(str(built))


def test_opening_a_pack_reads_only_its_manifest_and_formulary(built, monkeypatch):
    from mtus.compiler.check import pack as packmod_

    read = []
    real = packmod_.read_bounded
    monkeypatch.setattr(packmod_, "read_bounded", lambda path, *a, **k: read.append(os.path.basename(path)) or
                        real(path, *a, **k))
    parts = []
    real_range = packmod_.read_range
    monkeypatch.setattr(packmod_, "read_range", lambda path, start, stop, **k: parts.append(
        (os.path.basename(path), stop - start)) or real_range(path, start, stop, **k))
    p = load_pack(str(built))
    assert sorted(read) == ["formulary.json", "manifest.json", "routing.json"] and parts == []
    p.reader().router.services("20553")
    assert sorted(read) == ["formulary.json", "manifest.json", "routing.json"] and parts == []
    p.guidelines["tpi"].module  # noqa: B018 - a checker used reads its own part, no other
    m = json.loads((built / "manifest.json").read_text())
    i = m["guidelines"].index("tpi")
    assert parts == [("checkers.txt", m["checkers"]["ends"][i] - m["checkers"]["ends"][i - 1])]


def _rehash(built, rel: str) -> None:
    """The manifest updated to the file's new sha256: a pack altered consistently, as only its builder could."""
    m = built / "manifest.json"
    data = json.loads(m.read_text())
    data["files"][rel] = packmod.sha256((built / rel).read_bytes())
    m.write_text(json.dumps(data))


def test_an_altered_routing_table_is_refused_at_open(built):
    r = built / "routing.json"
    r.write_text(r.read_text().replace('"20553"', '"20554"'))
    with pytest.raises(PackError, match="routing.json: does not match its sha256 in the manifest"):
        load_pack(str(built))


_BAD = "its tables are not lists of texts and guideline numbers"


@pytest.mark.parametrize("change, why", [
    (lambda d: d.update(format=2), "not a routing table of format 3"),
    (lambda d: d["guidelines"].reverse(), "it lists other guidelines than the manifest"),
    (lambda d: d["name_runs"].extend([len(d["names"]), 0]), _BAD),  # a run of no names
    (lambda d: d["name_runs"].extend([len(d["names"]) - 1, 999]), _BAD),  # no such guideline
    (lambda d: d["name_runs"].append(0), _BAD),  # half a run
    (lambda d: d["name_runs"].__setitem__(2, 0), _BAD),  # two runs from the same name
    (lambda d: d["name_runs"].__setitem__(0, 1), _BAD),  # the first names of none
    (lambda d: d["name_runs"].__setitem__(1, 1.5), _BAD),
    (lambda d: (d["written_at"].append(99999), d["written"].append("x")), _BAD),
    (lambda d: (d["written_at"].append(0), d["written"].append(1)), _BAD),
    (lambda d: d["facts"].append(["x", [0]]), _BAD),
    (lambda d: d["facts"].append([1, "0"]), _BAD),
    (lambda d: d["cpt"].append([20553, [0]]), _BAD),
    (lambda d: d.pop("drug"), _BAD),
    (lambda d: d.update(drug_names={"a": 1}), _BAD),
])
def test_a_malformed_routing_table_is_refused_at_open(built, change, why):
    r = built / "routing.json"
    data = json.loads(r.read_text())
    change(data)
    r.write_text(json.dumps(data))
    _rehash(built, "routing.json")
    with pytest.raises(PackError, match=f"routing.json: is not a valid routing table \\({why}\\); recompile the pack"):
        load_pack(str(built))
    r.write_text("[")
    _rehash(built, "routing.json")
    with pytest.raises(PackError, match="routing.json: is not a valid routing table; recompile the pack .*not valid JSON"):
        load_pack(str(built))


@pytest.mark.parametrize("numbers", ["0 x", "99999", "", "0  1", "-1", "1.5"])
def test_a_fact_whose_guideline_numbers_are_not_numbers_is_refused_when_first_looked_up(built, numbers):
    r = built / "routing.json"
    data = json.loads(r.read_text())
    data["facts"] = [[name, numbers if name == "referred_pain" else gids] for name, gids in data["facts"]]
    r.write_text(json.dumps(data))
    _rehash(built, "routing.json")
    p = load_pack(str(built))
    assert p.index.facts["radiculopathy"]
    with pytest.raises(PackError, match=re.escape(f"{built}/routing.json: the guidelines of fact `referred_pain` are "
                                                  "not guideline numbers") + ".*; recompile the pack"):
        p.index.facts["referred_pain"]  # noqa: B018


def test_a_missing_or_misnamed_routing_table_is_refused_at_open(built):
    m = built / "manifest.json"
    data = json.loads(m.read_text())
    for name in ("checkers.txt", "descriptions.jsonl", "manifest.json", "nowhere.json", 3):
        m.write_text(json.dumps(dict(data, routing=name)))
        with pytest.raises(PackError, match="manifest.json: `routing` must name a .json file of the pack"):
            load_pack(str(built))
    m.write_text(json.dumps(data))
    os.remove(built / "routing.json")
    with pytest.raises(PackError, match="routing.json: missing from the pack"):
        load_pack(str(built))


def test_other_runtime_version_is_refused(built):
    m = built / "manifest.json"
    data = json.loads(m.read_text())
    data["runtime"] = RUNTIME_VERSION + 1
    m.write_text(json.dumps(data))
    with pytest.raises(PackError, match="recompile the pack"):
        load_pack(str(built))


def test_extra_and_missing_files_are_refused(built):
    (built / "guidelines").mkdir()
    (built / "guidelines" / "evil.py").write_text("import os\n")
    with pytest.raises(PackError, match="guidelines/evil.py: is not listed in the manifest"):
        load_pack(str(built))
    os.remove(built / "guidelines" / "evil.py")
    os.rmdir(built / "guidelines")
    for rel in ("descriptions.jsonl", "checkers.txt"):
        os.remove(built / rel)
        with pytest.raises(PackError, match=f"{rel}: missing from the pack"):
            load_pack(str(built))


def test_manifest_paths_cannot_leave_the_pack(built):
    m = built / "manifest.json"
    data = json.loads(m.read_text())
    data["files"]["../outside.py"] = "0" * 64
    m.write_text(json.dumps(data))
    with pytest.raises(PackError):
        load_pack(str(built))


def test_write_refuses_symlinked_output(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(PackError, match="symbolic link"):
        write_pack(build_pack([str(GUIDELINES)]), str(link))


def test_failed_write_leaves_the_old_pack_intact(built, monkeypatch):
    before = {p: p.read_bytes() for p in built.rglob("*") if p.is_file()}
    real_replace = os.replace
    calls = []

    def failing_replace(a, b):
        calls.append((a, b))
        if len(calls) == 2:  # after moving the old pack aside, before the new one lands
            raise OSError("disk full")
        return real_replace(a, b)

    monkeypatch.setattr(packmod.os, "replace", failing_replace)
    with pytest.raises(OSError):
        write_pack(build_pack([str(GUIDELINES)], name="t", version="2"), str(built))
    monkeypatch.setattr(packmod.os, "replace", real_replace)
    after = {p: p.read_bytes() for p in built.rglob("*") if p.is_file()}
    assert after == before
    assert not [p for p in built.parent.iterdir() if p.name.startswith(".pack.")]


def test_warm_source_cache_does_not_import_the_front_end(tmp_path):
    import subprocess
    import sys
    env = dict(os.environ, MTUS_CACHE_DIR=str(tmp_path / "cache"))
    code = ("import sys; from mtus.compiler.check.pack import pack_from_sources; pack_from_sources([%r]); "
            "print('lark' in sys.modules, 'mtus.dsl' in sys.modules)") % str(GUIDELINES)
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert first.stdout.split() == ["True", "True"]  # cold: compiled
    warm = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert warm.stdout.split() == ["False", "False"]


def _snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@tiers(fast=5, slow=1, name="stride")
def test_a_failure_at_any_write_step_never_leaves_half_a_pack(tmp_path, monkeypatch, stride):
    """Fail the k-th file write or rename, for every k (every 5th in the default tier): the old pack or the new one, whole."""
    target = tmp_path / "pack"
    write_pack(build_pack([str(GUIDELINES)], name="t", version="1"), str(target))
    old = _snapshot(target)
    new_pack = build_pack([str(GUIDELINES)], name="t", version="2")
    real_write, real_replace = packmod._write_new, os.replace
    k = 1 - stride
    while True:
        k += stride
        calls = {"n": 0}

        def counting(real, calls=calls, k=k):
            def f(*args, **kwargs):
                calls["n"] += 1
                if calls["n"] == k:
                    raise OSError(f"simulated failure at step {k}")
                return real(*args, **kwargs)
            return f

        monkeypatch.setattr(packmod, "_write_new", counting(real_write))
        monkeypatch.setattr(packmod.os, "replace", counting(real_replace))
        try:
            write_pack(new_pack, str(target))
            failed = False
        except OSError:
            failed = True
        monkeypatch.undo()
        now = _snapshot(target)
        assert now in (old, dict(new_pack.files)), f"step {k}: a mixed pack"
        assert [p.name for p in tmp_path.iterdir()] == ["pack"], f"step {k}: temporary folders left"
        if failed:
            assert now == old, f"step {k}: the old pack was not kept"
            load_pack(str(target))
        else:
            assert now == dict(new_pack.files)
            break
    assert k > len(new_pack.files)  # every file write and both renames were failed once (in the slow tier)


@pytest.mark.parametrize("name", ["../x.py", "/tmp/x.py", "guidelines/../../x.py", "a//b.py", "./x.py",
                                  "guidelines\\..\\x.py", "x\0.py", ""])
def test_a_file_name_that_could_lead_outside_the_pack_is_refused(tmp_path, name):
    files = dict(build_pack([str(GUIDELINES / "tpi.mtus")]).files)
    files[name] = b"print('escaped')\n"
    with pytest.raises(PackError, match="outside the pack folder"):
        write_pack(packmod.PackFiles(files), str(tmp_path / "pack"))
    assert [p.name for p in tmp_path.rglob("*")] == [], "nothing written, nothing left behind"


def test_only_a_pack_the_user_asked_for_is_synced_to_disk(tmp_path, monkeypatch):
    """`mtus compile -o` syncs every file before the rename; the cache does not (an entry a crash left
    truncated fails its hashes when opened and is compiled again)."""
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(packmod.os, "fsync", lambda fd: synced.append(os.readlink(f"/proc/self/fd/{fd}")) or
                        real_fsync(fd))
    pack = build_pack([str(GUIDELINES / "tpi.mtus")])
    write_pack(pack, str(tmp_path / "asked"))
    # each file, then the new folder (the names in it), then its parent (the rename), in that order
    assert len(synced) == len(pack.files) + 2
    assert [os.path.basename(p) for p in synced[:-2]] == sorted(pack.files)
    assert os.path.basename(synced[-2]).startswith(".asked.") and synced[-1] == str(tmp_path)
    synced.clear()
    write_pack(pack, str(tmp_path / "cached"), durable=False)
    assert synced == []
    assert _snapshot(tmp_path / "cached") == _snapshot(tmp_path / "asked") == dict(pack.files)


def test_a_module_built_for_another_runtime_is_refused_when_first_used(built, monkeypatch):
    import datetime
    p = load_pack(str(built))
    monkeypatch.setattr(packmod.runtime, "RUNTIME_VERSION", packmod.runtime.RUNTIME_VERSION + 1)
    with pytest.raises(PackError, match="checkers.txt#tpi: built for another runtime version"):
        p.guidelines["tpi"].evaluate({}, datetime.date(2014, 12, 18))


@pytest.mark.parametrize("rel", ["checkers.txt", "descriptions.jsonl", "routing.json"])
@pytest.mark.parametrize("command", [["check", "docs/examples/seed-2014-12-18.yaml", "--pack"], ["schema"],
                                     ["template", "tpi", "--pack"]])
def test_a_file_found_altered_on_first_use_is_an_error_not_a_traceback(built, rel, command):
    import subprocess
    import sys

    from tests.conftest import ROOT

    if rel == "routing.json":
        f = built / rel
        f.write_bytes(f.read_bytes().replace(b"tpi", b"tpj", 1))
    else:
        _alter_part(built, rel)
    mtus = os.path.join(os.path.dirname(sys.executable), "mtus")
    r = subprocess.run([mtus, *command, str(built)], capture_output=True, text=True, cwd=ROOT)
    if command[0] != "check" and rel == "checkers.txt":  # these never run a checker
        assert r.returncode == 0, r.stderr
        return
    assert r.returncode in (1, 2) and "Traceback" not in r.stderr, r.stderr
    where = f"{built}/{rel}" + ("" if rel == "routing.json" else "#tpi")
    assert f"{where}: does not match its sha256 in the manifest" in r.stderr


def test_compiling_leaves_no_cycles_for_the_collector():
    """Compiling runs with the cycle collector paused (dsl.frontend.cycles_not_collected); what it leaves in cycles
    is found when it resumes, by one pass over everything compiling made (a closure calling itself in the code
    generator, once per criterion, was 0.25 s of compiling 2,000 guidelines). Nothing should be left."""
    import gc

    build_pack([str(GUIDELINES)])  # Lark's grammar analysed, caches warm
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        build_pack([str(GUIDELINES)])
        gc.collect()
        left = [type(o).__qualname__ for o in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert left == []
