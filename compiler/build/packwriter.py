"""Rule packs at compile time: compile guidelines into pack files, and write a pack folder.

Writing goes to a temporary folder renamed into place, so a crash never leaves
half a pack. Loading (and the pack layout) is check/pack.py's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable, Mapping, Optional

import attrs

from mtus.compiler.check import runtime
from mtus.compiler.check.info import FormularyInfo
from mtus.compiler.check.pack import (CHECKERS, DESCRIPTIONS, FORMULARY, MANIFEST, PACK_FORMAT, PARTS, ROUTING,
                                      CompileError, PackError, _display_path, compiler_version, read_pack_dir,
                                      sha256, verify_listing)
from mtus.compiler.check.routing import route_tables
from mtus.compiler.check.runtime import evolve


def _json_bytes(data) -> bytes:
    """A pack's JSON file: keys sorted (the same bytes every build), no indentation (json's C encoder does not
    indent: 2,000 descriptions were 0.35 s indented, 0.11 s not; and fewer bytes to hash at every start-up)."""
    return (json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


# ------------------------------------------------------------------ building
@attrs.frozen
class PackFiles:
    """A compiled pack in memory: relative path -> bytes, manifest included."""

    files: Mapping[str, bytes]

    @property
    def manifest(self) -> dict:
        return json.loads(self.files[MANIFEST])


def build_pack(paths: Iterable[str], name: str = "mtus-pack", version: str = "0") -> PackFiles:
    """Compile `.mtus` files or folders into pack files. Raises CompileError on diagnostics."""
    from mtus.dsl.frontend import check_paths, cycles_not_collected, find_sources

    sources = find_sources(paths)
    if not sources:
        raise PackError("no .mtus files found in " + ", ".join(map(str, paths)))
    with cycles_not_collected():  # one collection after it all, not one between checking and generating
        return pack_from_results(check_paths(sources), name, version)


def pack_from_text(text: str, path: str = "<stdin>", name: str = "mtus-pack", version: str = "0"):
    """A loaded pack from one `.mtus` source given as text (`--pack -`). Raises CompileError."""
    from mtus.compiler.check.pack import load_built_pack
    from mtus.dsl.frontend import check_text

    return load_built_pack(pack_from_results([check_text(text, path)], name, version).files, path)


def pack_from_results(results: list, name: str = "mtus-pack", version: str = "0") -> PackFiles:
    """Pack files from the front end's results (one per source). Raises CompileError on diagnostics."""
    from mtus.dsl.frontend import cycles_not_collected

    with cycles_not_collected():
        return _pack_from_results(results, name, version)


def _pack_from_results(results: list, name: str, version: str) -> PackFiles:
    from mtus.compiler.build.packinfo import describe, describe_formulary
    from mtus.compiler.build.codegen import generate_module
    from mtus.dsl.model import Formulary, Guideline

    if any(not r.ok for r in results):
        raise CompileError(results)
    infos = {id(r): describe(r.model) for r in results if isinstance(r.model, Guideline)}
    # each description as JSON once: the fact checks compare its facts, the pack stores it
    described_json = {key: info.to_json() for key, info in infos.items()}
    results = with_fact_conflicts(results, described_json)
    if any(not r.ok for r in results):
        raise CompileError(results)
    files: dict[str, bytes] = {}
    source_hashes = {}
    seen: dict[str, str] = {}
    described = {}
    parts: dict[str, tuple[bytes, bytes]] = {}  # id -> (checker, description)
    formulary = None
    for r in results:
        source_hashes[_display_path(r.source.path)] = sha256(r.source.text.encode("utf-8"))
        if isinstance(r.model, Formulary):
            formulary = _merge_formulary(formulary, describe_formulary(r.model), r.source.path)
            continue
        g = r.model
        if g.id in seen:
            raise PackError(f"{r.source.path}: guideline id `{g.id}` is also used by {seen[g.id]}")
        seen[g.id] = r.source.path
        parts[g.id] = (generate_module(g).encode("utf-8"), _json_bytes(described_json[id(r)]))
        # title, citation, services and facts are the description's (and routing.json's): the manifest lists ids
        described[g.id] = infos[id(r)]
    _check_drug_services(results, formulary)
    if formulary is not None:
        files[FORMULARY] = _json_bytes(formulary.to_json())
    # the routing index (check/index.py) in the router's form: a case is read without normalising a service name
    # or opening other guidelines' files, however large the pack
    ids = sorted(described)
    # from the formulary as check time reads it (its file's key order breaks ties between names of one length)
    tables = route_tables({gid: described[gid].services for gid in ids},
                          FormularyInfo.from_json(json.loads(files[FORMULARY])) if formulary is not None else None)
    facts: dict[str, list[str]] = {}
    for gid in ids:
        for fact in described[gid].facts:
            facts.setdefault(fact, []).append(gid)
    files[ROUTING] = (json.dumps(tables.to_json(ids, facts), separators=(",", ":"), ensure_ascii=False) + "\n").encode()
    places = {}
    for rel, which in ((CHECKERS, 0), (DESCRIPTIONS, 1)):
        files[rel], places[PARTS[rel]] = joined_parts([parts[gid][which] for gid in ids])
    manifest = {
        "format": PACK_FORMAT,
        "name": name,
        "version": version,
        "compiler": compiler_version(),
        "runtime": runtime.RUNTIME_VERSION,
        "sources": source_hashes,
        # the files of parts are listed by their parts' places and hashes: a part is checked without reading the rest
        "files": {p: sha256(b) for p, b in sorted(files.items()) if p not in PARTS},
        "guidelines": ids,
        **places,
        "formulary": FORMULARY if formulary is not None else None,
        "routing": ROUTING,
    }
    files[MANIFEST] = _json_bytes(manifest)
    return PackFiles(files)


def joined_parts(parts: list[bytes]) -> tuple[bytes, dict]:
    """One file of the guidelines' parts, one after another, and the manifest's entry placing them: each part's
    end and sha256 (check/pack.py reads a part, and checks its hash, without reading the others)."""
    ends, end = [], 0
    for part in parts:
        end += len(part)
        ends.append(end)
    return b"".join(parts), {"ends": ends, "sha256": [sha256(part) for part in parts]}


def with_fact_conflicts(results: list, described_json: Optional[dict] = None) -> list:
    """The results, with an E408 error on each fact declared by two guidelines with a different meaning.

    A case's `facts:` gives one value to every guideline that reads the name, so
    the name must mean the same everywhere: same type, allowed values, unit,
    default and silence rule (everything the pack info says but the label).
    `described_json` maps id(result) to its description as JSON (describe(...).to_json()), made here if not given.
    """
    from mtus.compiler.build.packinfo import describe
    from mtus.dsl import diagnostics as diag
    from mtus.dsl.model import Guideline

    first: dict[str, tuple] = {}
    added: dict[int, list] = {}
    for i, r in enumerate(results):
        g = r.model
        if not isinstance(g, Guideline):
            continue
        known = described_json.get(id(r)) if described_json is not None else None
        facts = known["facts"] if known is not None else {n: f.to_json() for n, f in describe(g).facts.items()}
        for f in g.facts:
            meaning = {k: v for k, v in facts[f.name].items() if k != "label"}
            if f.name not in first:
                first[f.name] = (g.id, f, meaning)
                continue
            other, f0, meaning0 = first[f.name]
            if meaning == meaning0:
                continue
            added.setdefault(i, []).append(diag.error(
                "E408", f"the fact `{f.name}` is declared here as {_meaning(meaning)}, but guideline {other} "
                f"declares it as {_meaning(meaning0)}", f.span,
                hint=f"a case's facts give one value to every guideline reading `{f.name}`: declare it as {other} "
                     f"does, or give one of them another name",
                notes=[diag.Note(f"{other} declares `{f.name}` here", f0.span)]))
    return [attrs.evolve(r, diagnostics=tuple(diag.finalize(list(r.diagnostics) + added[i]))) if i in added else r
            for i, r in enumerate(results)]


def _meaning(m: dict) -> str:
    """A fact's declaration as messages show it: "a count", "one of {a, b} (silent: b)"."""
    kind = m["kind"]
    text = {"enum": "one of {" + ", ".join(m.get("members", ())) + "}", "set": "a set",
            "history": "a history with fields " + ", ".join(m.get("fields", {}))}.get(kind, f"a {kind}")
    if "unit" in m:
        text += f" in {m['unit']}"
    extra = [f"{k} {json.dumps(v, sort_keys=True)}" for k, v in sorted(m.items())
             if k not in ("kind", "members", "unit", "fields") and v not in (None, False)]
    return text + (f" ({'; '.join(extra)})" if extra else "")


def _merge_formulary(into: Optional[FormularyInfo], new: FormularyInfo, path: str) -> FormularyInfo:
    """Several formulary files make one vocabulary (named by the first); a name may be defined once."""
    if into is None:
        return new
    for section, names in (("ingredient", new.ingredients), ("product", new.products)):
        for name in names:
            if name in (into.ingredients if section == "ingredient" else into.products):
                raise PackError(f"{path}: {section} \"{name}\" is already defined by another formulary file")
    return evolve(into, ingredients={**into.ingredients, **new.ingredients},
                  products={**into.products, **new.products})


def _check_drug_services(results, formulary: Optional[FormularyInfo]) -> None:
    """Drug services (class/ingredient/form) must name something the formulary defines."""
    import difflib

    from mtus.dsl.model import Guideline

    known = {"class": set(), "ingredient": set(), "form": set()}
    if formulary is not None:
        for name, classes in formulary.ingredients.items():
            known["ingredient"].add(name)
            known["class"].update(classes)
        known["form"].update(p.form for p in formulary.products.values() if p.form)
    for r in results:
        if not isinstance(r.model, Guideline):
            continue
        for svc in r.model.services:
            if svc.kind in known and svc.value not in known[svc.kind]:
                if formulary is None:
                    raise PackError(f"{r.source.path}: services {svc.kind} \"{svc.value}\" needs a formulary file "
                                    f"among the sources")
                close = difflib.get_close_matches(svc.value, sorted(known[svc.kind]), n=1)
                hint = f" (did you mean \"{close[0]}\"?)" if close else ""
                raise PackError(f"{r.source.path}: services {svc.kind} \"{svc.value}\" is not a drug {svc.kind} "
                                f"in the formulary{hint}")


def write_pack(pack: PackFiles, out_dir: str, durable: bool = True) -> Path:
    """Write a pack atomically: into a temporary sibling folder, then renamed into place.

    An existing folder is replaced only if it is empty or verifies as a pack
    (its manifest lists exactly its files, with matching hashes), so `-o` can
    never delete a file mtus did not write. `durable` syncs every file and the
    new folder to disk before the rename, and the parent folder after it (a pack
    the user asked for); the cache does without, since an entry a crash left
    truncated fails its hashes when opened and is compiled again.
    """
    target = Path(out_dir)
    if target.is_symlink():
        raise PackError(f"{target}: refusing to write through a symbolic link")
    if target.exists():
        if not target.is_dir():
            raise PackError(f"{target}: exists and is not a folder")
        if any(target.iterdir()):
            try:
                verify_listing(read_pack_dir(target), str(target))
            except PackError as e:
                raise PackError(f"{target}: is not empty and is not a pack, so it is not replaced ({e}); "
                                f"choose another output folder") from None
    parent = target.parent if str(target.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    import shutil
    import tempfile

    tmp = tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent)
    try:
        made = {""}
        for rel, data in sorted(pack.files.items()):
            folder = _pack_relative(rel)
            if folder not in made:  # the temporary folder is new and private: no link in it leads out
                os.makedirs(os.path.join(tmp, folder), exist_ok=True)
                made.add(folder)
            _write_new(os.path.join(tmp, rel), data, durable)
        if durable:
            _sync_folder(tmp)  # the files' names, before the folder is renamed into place
        old = None
        if target.exists():
            # Directories cannot be swapped atomically: move the old pack aside,
            # and put it back if the new one cannot be moved into place.
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=parent))
            os.rmdir(old)
            os.replace(target, old)
        try:
            os.replace(tmp, target)
        except BaseException:
            if old is not None:
                os.replace(old, target)
            raise
        if durable:
            _sync_folder(str(parent))  # the rename itself
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _sync_folder(path: str) -> None:
    """Sync a folder's entries to disk, so that names created or renamed in it survive a crash. Where a folder
    cannot be opened or synced (Windows; some file systems), there is nothing more to do."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_new(path: str, data: bytes, durable: bool) -> None:
    """Create the file `path` (it must not exist) holding `data`; synced to disk if `durable`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


def _pack_relative(rel: str) -> str:
    """The folder of a pack file's name, refusing a name that could lead outside the pack (read lexically:
    the names are the compiler's, and a pack is one folder of files)."""
    parts = rel.split("/")
    if rel.startswith("/") or "\\" in rel or "\0" in rel or any(p in ("", ".", "..") for p in parts):
        raise PackError(f"{rel}: refusing to write outside the pack folder")
    return "/".join(parts[:-1])


__all__ = ["PackFiles", "build_pack", "write_pack"]
