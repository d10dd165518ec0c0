"""Rule packs at check time: load and verify a pack, and the source-pack cache.

A pack is a folder of four or five files, however many guidelines it has:

    manifest.json            name, version, compiler and runtime versions, sha256 of every source and of the
                             files routing.json and formulary.json, the guideline ids, and where each guideline's
                             checker and description sit in the two files below, with the sha256 of each part
    checkers.txt             every guideline's compiled checker (build/codegen.py), one after another in the
                             manifest's order: each one a Python module of its own, never one program
    descriptions.jsonl       every guideline's check-time description (check/info.py's GuidelineInfo), one JSON
                             line each, in the same order
    routing.json             the router's tables and each fact's guidelines (check/index.py's RouteTables)
    formulary.json           the drug vocabulary, when the sources have one

Opening a pack folder reads only its manifest: its structure, the runtime
version and the folder's listing (no unlisted, missing or linked file) are
verified at once, so a broken pack is refused before any case is read. Each
other file, and each guideline's part of checkers.txt and descriptions.jsonl,
is read and its sha256 checked just before its first use (a checker before it
is executed), so start-up does not grow with the pack: a case reads the parts
of the one or two guidelines it uses. A pack given in memory is verified whole.
This module imports nothing from the front end or the code generator: checking
a case needs only the runtime. A source pack (`--pack file.mtus`) whose cache
entry is missing is compiled by build/packwriter.py, imported only then.
"""
from __future__ import annotations

import errno
import gc
import hashlib
import json
import os
import re
import types
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from mtus.compiler.check import runtime
from mtus.compiler.check.bounded import Refused, read_bounded, read_range
from mtus.compiler.check.index import PackIndex, RouteTables
from mtus.compiler.check.info import FormularyInfo, GuidelineInfo
from mtus.compiler.check.runtime import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable, Optional

#: 3: the guidelines' checkers and descriptions are parts of two files, placed by the manifest (format 2 had
#: two files a guideline: creating 4,000 files was most of compiling 2,000 guidelines, and 2 ms of opening them).
PACK_FORMAT = 3
MANIFEST = "manifest.json"
FORMULARY = "formulary.json"
ROUTING = "routing.json"
CHECKERS = "checkers.txt"
DESCRIPTIONS = "descriptions.jsonl"
#: The files of which each guideline has a part, and the manifest's key that places the parts.
PARTS = {CHECKERS: "checkers", DESCRIPTIONS: "descriptions"}
MAX_PACK_FILE_BYTES = 20 * 1024 * 1024  # a file, or a guideline's part of checkers.txt or descriptions.jsonl
MAX_PACK_FILES = 10_000
MAX_PACK_BYTES = 200 * 1024 * 1024


class PackError(Exception):
    """A pack that cannot be written or loaded; the message names the file."""


class CompileError(Exception):
    """Sources with errors: carries the front end's results for rendering."""

    def __init__(self, results):
        super().__init__("the guidelines have errors")
        self.results = results


def compiler_version() -> str:
    """The mtus version packs record: compiler/__init__.py's, which the package metadata is built from.

    Read from the package itself, not importlib.metadata, which costs 10-25 ms
    to import on every bundled-pack check.
    """
    from mtus.compiler import __version__
    return __version__


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _display_path(path: str) -> str:
    return Path(path).name


def is_pack_dir(path: Path) -> bool:
    return (path / MANIFEST).is_file()


# ------------------------------------------------------------------- loading
class _Files:
    """A pack's files by relative path, each read (and, from a folder, checked against its sha256) when first used.

    In memory every whole file was verified when the pack was loaded; in a
    folder, a file, or a guideline's part of one, is read bounded and its hash
    compared with the manifest's just before its content is used, and the bytes
    used are the bytes hashed.
    """

    def __init__(self, location: str, listed: Mapping[str, str], places: Mapping[str, _Places],
                 memory: Optional[Mapping[str, bytes]] = None):
        self.location = location
        self._listed = listed
        self._places = places  # by file of parts (CHECKERS, DESCRIPTIONS)
        self._memory = memory

    def read(self, rel: str) -> bytes:
        """A whole file (routing.json, formulary.json), verified."""
        where = f"{self.location}/{rel}"
        if self._memory is not None:
            return self._memory[rel]
        try:
            data = read_bounded(os.path.join(self.location, rel), MAX_PACK_FILE_BYTES, follow_links=False)
        except (Refused, OSError) as e:
            raise _unreadable(where, e) from None
        if sha256(data) != self._listed[rel]:
            raise PackError(f"{where}: does not match its sha256 in the manifest; the pack was altered")
        return data

    def part(self, rel: str, i: int, gid: str) -> bytes:
        """Guideline `gid`'s part of `rel` (the i-th in the manifest's order), verified against its own sha256."""
        places = self._places[rel]
        start, stop, digest = places.start(i), places.ends[i], places.digests[i]
        where = f"{self.location}/{rel}#{gid}"
        if stop - start > MAX_PACK_FILE_BYTES:
            raise PackError(f"{where}: is larger than the limit of {MAX_PACK_FILE_BYTES:,} bytes for a pack file")
        if self._memory is not None:
            whole = self._memory[rel]
            data, size = whole[start:stop], len(whole)
        else:
            try:
                data, size = read_range(os.path.join(self.location, rel), start, stop, follow_links=False)
            except (Refused, OSError) as e:
                raise _unreadable(f"{self.location}/{rel}", e) from None
        places.check(self.location, rel, size)
        if sha256(data) != digest:
            raise PackError(f"{where}: does not match its sha256 in the manifest; the pack was altered")
        return data


def _unreadable(where: str, e: Exception) -> PackError:
    """The PackError of a pack file that a bounded read refused or the system could not read."""
    if isinstance(e, Refused):
        why = " for a pack file" if e.too_large else "; a pack holds only folders and regular files"
        return PackError(f"{where}: {e}{why}")
    if isinstance(e, OSError) and e.errno == errno.ELOOP:  # O_NOFOLLOW met a link put there since the pack was opened
        return PackError(f"{where}: is a symbolic link; packs hold plain files")
    return PackError(f"{where}: cannot be read: {getattr(e, 'strerror', None) or e}")


class _Places:
    """Where each guideline's part of one file sits: the end of each part (a part starts where the one before
    it ends) and the sha256 of each, in the manifest's order of guidelines."""

    __slots__ = ("ends", "digests")

    def __init__(self, ends: list[int], digests: list[str]):
        self.ends = ends
        self.digests = digests

    def start(self, i: int) -> int:
        return self.ends[i - 1] if i else 0

    def check(self, location: str, rel: str, size: int) -> None:
        """PackError unless the file of the parts is `size` bytes: every byte is in a part whose hash is listed."""
        end = self.ends[-1] if self.ends else 0
        if size != end:  # bytes added or cut: the parts are not where the manifest places them
            raise PackError(f"{location}/{rel}: is {size:,} byte{'' if size == 1 else 's'}, but the manifest places "
                            f"its parts in {end:,}; the pack was altered")


#: sha256 digests as the manifest writes them, one a line (a large pack's thousands checked at once).
_DIGESTS = re.compile(r"[0-9a-f]{64}(?:\n[0-9a-f]{64})*")


def _places(manifest: dict, rel: str, n: int, where: str) -> _Places:
    """The places of the n guidelines' parts of `rel` from a manifest; PackError if they are not n ends in
    order and n digests."""
    key = PARTS[rel]
    table = manifest.get(key)
    ends = table.get("ends") if isinstance(table, dict) else None
    digests = table.get("sha256") if isinstance(table, dict) else None
    what = (f"{where}: is not a valid pack manifest (`{key}` must give the end and the sha256 of each guideline's "
            f"part of {rel}, in the order of `guidelines`)")
    if type(ends) is not list or type(digests) is not list or len(ends) != n or len(digests) != n:
        raise PackError(what)
    if n and (any(type(e) is not int for e in ends) or ends[0] < 0 or ends != sorted(ends)):
        raise PackError(what)
    try:
        joined = "\n".join(digests)
    except TypeError:
        raise PackError(what) from None
    if (n and not _DIGESTS.fullmatch(joined)) or joined.count("\n") != max(n - 1, 0):
        raise PackError(what)
    return _Places(ends, digests)


class LoadedGuideline:
    """One guideline of a verified pack. Its description is read and its checker module executed on first
    use (each part's hash checked just before): a reviewer's case touches one or two of a pack's
    guidelines, not all of them."""

    def __init__(self, id: str, info: Optional[GuidelineInfo], source: Optional[bytes], filename: str,
                 files: Optional[_Files] = None, index: int = -1):
        self.id = id
        self.filename = filename  # the checker's name in tracebacks and messages: `<pack>/checkers.txt#<id>`
        self._info = info
        self._source = source
        self._files = files  # where `info` and `source` are read from when not given
        self._index = index  # the guideline's place in the manifest's order
        self._module: Optional[types.ModuleType] = None

    def __repr__(self) -> str:
        return f"LoadedGuideline({self.id!r}, {self.filename!r})"

    @property
    def info(self) -> GuidelineInfo:
        if self._info is None:
            assert self._files is not None
            data = self._files.part(DESCRIPTIONS, self._index, self.id)
            self._info = _read_info(data, f"{self._files.location}/{DESCRIPTIONS}#{self.id}")
        return self._info

    @property
    def source(self) -> bytes:
        if self._source is not None:
            return self._source
        assert self._files is not None
        return self._files.part(CHECKERS, self._index, self.id)  # not kept: it is needed once, to compile

    @property
    def module(self) -> types.ModuleType:
        if self._module is None:
            try:
                module = _module_from_text(checker_text(self.source, self.filename), f"mtus_pack_{self.id}",
                                           self.filename)
            except ImportError as e:  # the module refuses a runtime it was not built for
                raise PackError(f"{self.filename}: built for another runtime version ({e})") from None
            if getattr(module, "RUNTIME_VERSION", None) != runtime.RUNTIME_VERSION:
                raise PackError(f"{self.filename}: built for another runtime version")
            self._module = module
        return self._module

    def evaluate(self, facts, request_date) -> runtime.GuidelineResult:
        return self.module.evaluate(facts, request_date)


class _Guidelines(Mapping[str, LoadedGuideline]):
    """A pack folder's guidelines by id, each made when first looked up: a large pack has thousands, a case uses one."""

    def __init__(self, ids: list[str], files: _Files, location: str):
        self._ids = {gid: i for i, gid in enumerate(ids)}  # in the manifest's order
        self._files = files
        self._location = location
        self._made: dict[str, LoadedGuideline] = {}

    def __getitem__(self, gid: str) -> LoadedGuideline:
        g = self._made.get(gid)
        if g is None:
            i = self._ids[gid]  # KeyError: not a guideline of the pack
            g = self._made[gid] = LoadedGuideline(gid, None, None, f"{self._location}/{CHECKERS}#{gid}", self._files,
                                                  i)
        return g

    def __contains__(self, gid: object) -> bool:
        return gid in self._ids

    def __iter__(self):
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


class _Infos(Mapping[str, GuidelineInfo]):
    """The pack's guideline descriptions by id, each read when first asked for."""

    def __init__(self, guidelines: Mapping[str, LoadedGuideline]):
        self._guidelines = guidelines

    def __getitem__(self, gid: str) -> GuidelineInfo:
        return self._guidelines[gid].info

    def __contains__(self, gid: object) -> bool:
        return gid in self._guidelines

    def __iter__(self):
        return iter(self._guidelines)

    def __len__(self) -> int:
        return len(self._guidelines)


class Pack(Record):
    """An opened, verified pack: its guidelines, formulary and routing index (what a check needs of it)."""

    __slots__ = ("name", "version", "digest", "guidelines", "location", "formulary", "index", "_cache")
    _uncompared = _unshown = ("_cache",)
    name: str
    version: str
    digest: str  # sha256 of manifest.json: names the exact pack in letters
    guidelines: Mapping[str, LoadedGuideline]
    location: str
    formulary: Optional[FormularyInfo]  # the drug vocabulary, when the pack has one
    index: Optional[PackIndex]  # routing.json's index; None (a pack made of descriptions): computed from them
    _cache: dict  # what is made from the pack on first use (the case reader, the descriptions)

    def __init__(self, name: str, version: str, digest: str, guidelines: Mapping[str, LoadedGuideline], location: str,
                 formulary: Optional[FormularyInfo] = None, index: Optional[PackIndex] = None,
                 cache: Optional[dict] = None) -> None:
        self.name = name
        self.version = version
        self.digest = digest
        self.guidelines = guidelines
        self.location = location
        self.formulary = formulary
        self.index = index
        self._cache = {} if cache is None else cache

    def reader(self):
        """The case reader for this pack (routing tables built once)."""
        if "reader" not in self._cache:
            from mtus.compiler.check.case import CaseReader
            self._cache["reader"] = CaseReader(self.infos, self.formulary, self.index)
        return self._cache["reader"]

    def fast_reader(self):
        """The batch's fast path over this pack's case reader (check/batchread.py)."""
        if "fast" not in self._cache:
            from mtus.compiler.check.batchread import FastReader
            self._cache["fast"] = FastReader(self.reader())
        return self._cache["fast"]

    @property
    def infos(self) -> Mapping[str, GuidelineInfo]:
        """Every guideline's description by id; each is read (and verified) when first looked up."""
        if "infos" not in self._cache:
            self._cache["infos"] = _Infos(self.guidelines)
        return self._cache["infos"]

    def label(self) -> str:
        return f"{self.name} {self.version} (sha256 {self.digest[:16]})"


def _walk(root: Path, visit) -> None:
    """visit(relative path, DirEntry) for every non-folder entry below root, in name order; folders are followed,
    symbolic links refused."""
    pending = [(root, "")]
    while pending:
        folder, prefix = pending.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as e:
            raise PackError(f"{folder}: cannot be read: {e.strerror or e}") from None
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_symlink():
                raise PackError(f"{root / rel}: is a symbolic link; packs hold plain files")
            if entry.is_dir(follow_symlinks=False):
                pending.append((Path(entry.path), rel + "/"))
                continue
            visit(rel, entry)


def list_pack_dir(root: Path) -> set[str]:
    """The relative paths of the files in a pack folder, none read; anything but folders and regular files is refused.

    Nothing is skipped (not even `__pycache__/`): whatever is in the folder must
    be listed in the manifest. One pass over the entries' types (no stat per
    file); of several bad entries, the first by name is reported.
    """
    names: set[str] = set()
    bad: list[tuple[str, bool]] = []  # (relative path, is a link)
    pending = [(str(root), "")]
    while pending:
        folder, prefix = pending.pop()
        try:
            entries = os.scandir(folder)
        except OSError as e:
            raise PackError(f"{folder}: cannot be read: {e.strerror or e}") from None
        with entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False):
                    names.add(prefix + entry.name)
                elif entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, prefix + entry.name + "/"))
                else:
                    bad.append((prefix + entry.name, entry.is_symlink()))
        if len(names) > MAX_PACK_FILES:
            raise PackError(f"{root}: holds more than {MAX_PACK_FILES:,} files; not a pack")
    if bad:
        rel, link = min(bad)
        raise PackError(f"{root / rel}: " + ("is a symbolic link; packs hold plain files" if link else
                                             "is not a regular file; a pack holds only folders and regular files"))
    return names


def read_pack_dir(root: Path) -> dict[str, bytes]:
    """Every file in a pack folder, by relative path; anything but plain folders and regular files is refused.

    Nothing is skipped (not even `__pycache__/`): whatever is in the folder must
    be listed in the manifest. Each file is read bounded (check/bounded.py).
    """
    files: dict[str, bytes] = {}
    total = 0

    def visit(rel: str, entry) -> None:
        nonlocal total
        where = root / rel
        if len(files) >= MAX_PACK_FILES:
            raise PackError(f"{root}: holds more than {MAX_PACK_FILES:,} files; not a pack")
        # not a link: checked above; the files of parts hold every guideline's (each part is bounded when read)
        limit = MAX_PACK_BYTES if rel in PARTS else MAX_PACK_FILE_BYTES
        try:
            data = read_bounded(entry.path, limit, follow_links=False)
        except (Refused, OSError) as e:
            raise _unreadable(str(where), e) from None
        total += len(data)
        if total > MAX_PACK_BYTES:
            raise PackError(f"{root}: holds more than {MAX_PACK_BYTES:,} bytes; not a pack")
        files[rel] = data

    _walk(root, visit)
    return files


def _json(data: bytes, where: str, what: str):
    """Parsed JSON of a pack file, or PackError naming the file (deep nesting included)."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError):  # ValueError covers bad UTF-8 and bad JSON
        raise PackError(f"{where}: {what} (not valid JSON)") from None


def verify_manifest(raw: Optional[bytes], names: Iterable[str], location: str) -> dict:
    """The manifest, once its structure is valid and it lists exactly the files `names`; PackError otherwise.

    No file but the manifest is read: each is checked against its sha256 when first used.
    """
    if raw is None:
        raise PackError(f"{location}: not a pack (no {MANIFEST})")
    where = f"{location}/{MANIFEST}"
    manifest = _json(raw, where, "is not a valid pack manifest")
    if not isinstance(manifest, dict):
        raise PackError(f"{where}: is not a valid pack manifest (a JSON object)")
    fmt = manifest.get("format")
    if type(fmt) is not int or fmt != PACK_FORMAT:
        found = "has no pack format" if fmt is None else f"pack format {fmt!r}"
        raise PackError(f"{where}: {found}; this mtus reads format {PACK_FORMAT}: recompile the pack with `mtus compile`")
    listed = manifest.get("files")
    try:  # whole-list checks (str.join refuses a non-text): a large pack lists thousands of files
        valid = isinstance(listed, dict) and isinstance("".join(listed) + "".join(listed.values()), str)
    except TypeError:
        valid = False
    if not valid:
        raise PackError(f"{where}: is not a valid pack manifest (`files` must map each path to its sha256)")
    joined = "\n" + "\n".join(listed) + "\n"
    if "\\" in joined or "\n/" in joined or ".." in joined or "\n\n" in joined or f"\n{MANIFEST}\n" in joined:
        for rel in sorted(listed):  # which one, for the message
            if rel.startswith("/") or "\\" in rel or ".." in rel.split("/") or rel in ("", MANIFEST):
                raise PackError(f"{where}: lists `{rel}`, which is outside the pack")
    present = set(names)
    extra = sorted(present - set(listed) - {MANIFEST, *PARTS})
    if extra:
        raise PackError(f"{location}/{extra[0]}: is not listed in the manifest; the pack was altered")
    missing = sorted((set(listed) | set(PARTS)) - present)
    if missing:
        raise PackError(f"{location}/{missing[0]}: missing from the pack (the manifest lists it)")
    return manifest


def verify_listing(files: Mapping[str, bytes], location: str) -> dict:
    """The manifest, once it lists exactly the pack's files with their sha256 (and places every guideline's parts
    of checkers.txt and descriptions.jsonl, with theirs); PackError naming the file otherwise.

    This is what makes a folder a pack: `mtus compile -o` replaces nothing else.
    """
    manifest = verify_manifest(files.get(MANIFEST), files, location)
    for rel, digest in sorted(manifest["files"].items()):
        if sha256(files[rel]) != digest:
            raise PackError(f"{location}/{rel}: does not match its sha256 in the manifest; the pack was altered")
    where = f"{location}/{MANIFEST}"
    ids = _guideline_ids(manifest, where)
    for rel in PARTS:
        places, data = _places(manifest, rel, len(ids), where), files[rel]
        places.check(location, rel, len(data))
        for i, gid in enumerate(ids):
            if sha256(data[places.start(i):places.ends[i]]) != places.digests[i]:
                raise PackError(f"{location}/{rel}#{gid}: does not match its sha256 in the manifest; the pack was "
                                "altered")
    return manifest


#: A guideline id, as the grammar's NAME (_IDS: several, one a line, checked at once). An id names no file, but
#: it is part of the checker's name in tracebacks and of messages: it holds no path, space or line break.
_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_IDS = re.compile(f"{_ID.pattern}(?:\n{_ID.pattern})*")


def _guideline_ids(manifest: dict, where: str) -> list[str]:
    """The guideline ids of a verified manifest, in order; PackError if they are not distinct names."""
    ids = manifest.get("guidelines")
    if type(ids) is not list:
        raise PackError(f"{where}: is not a valid pack manifest (`guidelines` must be a list of guideline ids)")
    try:
        joined = "\n".join(ids)
    except TypeError:
        joined = None
    if ids and (joined is None or not _IDS.fullmatch(joined) or joined.count("\n") != len(ids) - 1):
        i, bad = next((i, x) for i, x in enumerate(ids) if type(x) is not str or not _ID.fullmatch(x))
        raise PackError(f"{where}: guideline {i + 1} ({bad!r}) is not a guideline id (a name of letters, digits "
                        "and _)")
    if len(set(ids)) != len(ids):
        twice = next(gid for gid, n in Counter(ids).items() if n > 1)
        raise PackError(f"{where}: guideline `{twice}` is listed twice")
    return ids


def _routing_index(name, files: _Files, manifest: dict, location: str, ids: list[str]) -> PackIndex:
    """The index of the pack's routing.json (its tables and facts); PackError naming the file if it is not one."""
    if type(name) is not str or not name.endswith(".json") or name not in manifest["files"] or name == MANIFEST:
        raise PackError(f"{location}/{MANIFEST}: `routing` must name a .json file of the pack")
    where = f"{location}/{name}"
    hint = "recompile the pack with `mtus compile`"
    data = _json(files.read(name), where, f"is not a valid routing table; {hint}")
    try:
        tables, facts = RouteTables.from_json(data, ids, where)
    except ValueError as e:
        raise PackError(f"{where}: is not a valid routing table ({e}); {hint}") from None
    return PackIndex(None, facts, tables)


def _read_info(data: bytes, where: str) -> GuidelineInfo:
    """A guideline's description from its verified bytes; PackError naming the file if it is not one."""
    parsed = _json(data, where, "is not a valid guideline description")
    try:
        return GuidelineInfo.from_json(parsed)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise PackError(f"{where}: is not a valid guideline description ({e})") from None


def _read_formulary(data: bytes, where: str) -> FormularyInfo:
    """The pack's formulary from its verified bytes; PackError naming the file if it is not one."""
    parsed = _json(data, where, "is not a valid formulary file")
    if not isinstance(parsed, dict):
        raise PackError(f"{where}: is not a formulary (a JSON object)")
    try:
        return FormularyInfo.from_json(parsed)
    except (KeyError, TypeError, AttributeError) as e:
        raise PackError(f"{where}: is not a valid formulary file ({e})") from None


def checker_text(source: bytes, filename: str) -> str:
    """A generated checker's bytes as the exact text that is compiled: strict UTF-8.

    Compiling text, never bytes, is what keeps a `coding:` declaration in the
    file from changing how Python reads it (compile() honours one only in
    bytes); the code generator's safety tests parse this same text.
    """
    try:
        return source.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PackError(f"{filename}: is not UTF-8 text (byte {e.start}); a generated checker is UTF-8") from None


def _module_from_text(text: str, name: str, filename: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = filename
    try:
        code = compile(text, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as e:  # ValueError: a NUL byte
        where = f":{e.lineno}" if getattr(e, "lineno", None) else ""
        what = e.msg if isinstance(e, SyntaxError) else e
        raise PackError(f"{filename}{where}: is not a valid generated checker ({what}); recompile the pack") from None
    exec(code, module.__dict__)  # noqa: S102 - verified generated code, see load_pack
    return module


def _pack(manifest: dict, digest: str, location: str, memory: Optional[Mapping[str, bytes]] = None,
          eager: bool = False) -> Pack:
    """The Pack of a verified manifest (`digest`: its sha256), its files in a folder at `location` or in
    `memory`. With `eager` (files in memory), every description is read now. The manifest's `sources` are not
    kept: in a large pack they are much of it."""
    where = f"{location}/{MANIFEST}"
    if manifest.get("runtime") != runtime.RUNTIME_VERSION:
        raise PackError(f"{where}: compiled for runtime {manifest.get('runtime')!r}, but this mtus "
                        f"provides runtime {runtime.RUNTIME_VERSION}; recompile the pack with `mtus compile`")
    ids = _guideline_ids(manifest, where)
    files = _Files(location, manifest["files"], {rel: _places(manifest, rel, len(ids), where) for rel in PARTS},
                   memory)
    # the module runs, and the description is read, when the guideline is first used
    loaded: Mapping[str, LoadedGuideline] = _Guidelines(ids, files, location)
    if eager:
        loaded = dict(loaded.items())
        for g in loaded.values():
            g.info  # noqa: B018 - a bad description in memory is refused at once
    manifest.pop("sources", None)  # not needed to check a case: not kept
    # read and checked now: a pack whose tables are broken is refused before any case
    index = _routing_index(manifest.get("routing"), files, manifest, location, ids)
    formulary = None
    name = manifest.get("formulary")
    if name is not None:
        if type(name) is not str or name not in manifest["files"] or name == MANIFEST:
            raise PackError(f"{where}: `formulary` must name a .json file of the pack")
        formulary = _read_formulary(files.read(name), f"{location}/{name}")
    return Pack(str(manifest.get("name", "?")), str(manifest.get("version", "?")), digest, loaded,
                location, formulary, index)


def load_pack_files(files: Mapping[str, bytes], location: str) -> Pack:
    """Verify and load a pack given as files in memory (every hash checked now). No generated code runs here."""
    manifest = verify_listing(files, location)
    return _pack(manifest, sha256(files[MANIFEST]), location, files, eager=True)


def load_built_pack(files: Mapping[str, bytes], location: str) -> Pack:
    """A pack this process has just compiled (build/packwriter.py), loaded from memory: its files are the
    compiler's, so nothing is hashed again and each description is read when first used (2,000 guidelines:
    0.5 s less)."""
    manifest = json.loads(files[MANIFEST])
    return _pack(manifest, sha256(files[MANIFEST]), location, files)


def load_pack(path: str) -> Pack:
    """Open a pack folder: its manifest's structure and listing are verified now, each other file's sha256 just
    before its first use (see module docstring). Start-up reads one file however large the pack."""
    # no collection while a large pack's manifest and tables are built: they make no cycles, and each
    # collection would scan them all again
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _load_pack(path)
    finally:
        if enabled:
            gc.enable()


def _load_pack(path: str) -> Pack:
    root = Path(path)
    if not root.is_dir():
        raise PackError(f"{root}: is not a pack folder")
    location = str(root)
    names = list_pack_dir(root)
    raw = None
    if MANIFEST in names:
        where = f"{location}/{MANIFEST}"
        try:
            raw = read_bounded(str(root / MANIFEST), MAX_PACK_FILE_BYTES, follow_links=False)
        except (Refused, OSError) as e:
            raise _unreadable(where, e) from None
    manifest = verify_manifest(raw, names, location)
    digest = sha256(raw) if raw is not None else ""
    raw = None  # released: a large pack's manifest is megabytes
    return _pack(manifest, digest, location)


# -------------------------------------------------------------- source packs
def _find_sources(paths: Iterable[str]) -> list[str]:
    """The `.mtus` files named or below the folders named, sorted.

    Like dsl.frontend.find_sources, repeated here because importing `dsl`
    imports Lark, and a warm cache must not pay for the front end.
    """
    out: list[str] = []
    for p in map(str, paths):
        if os.path.isdir(p):
            for root, dirs, names in os.walk(p):
                dirs.sort()
                out += [os.path.join(root, n) for n in sorted(names) if n.endswith(".mtus")]
        else:
            out.append(p)
    return out


def cache_dir() -> Path:
    base = os.environ.get("MTUS_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "mtus" / "packs"


def _compiler_fingerprint() -> bytes:
    """A hash of the compiler's own files, so a changed compiler never reuses a stale cache.

    The files are read as bytes, not imported: the warm path stays free of the front end.
    """
    import importlib.util

    h = hashlib.sha256()
    for package in ("mtus.grammar", "mtus.dsl", "mtus.compiler"):
        spec = importlib.util.find_spec(package)
        for root in (spec.submodule_search_locations or []) if spec else []:
            for dirpath, dirnames, names in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
                for n in sorted(names):
                    if n.endswith((".py", ".lark")):
                        h.update(n.encode() + b"\0" + Path(dirpath, n).read_bytes())
    return h.digest()


def _private(folder: Path) -> bool:
    """True if only this user can change the cache entry `folder`: one others can write to could hold their code.

    An entry that is not private is not used (the pack is compiled in memory).
    The entries mtus writes are private (tempfile.mkdtemp makes them 0700), and
    no one else can add a file to one; a missing entry will be written by us.
    """
    try:
        st = folder.lstat()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    import stat

    if not stat.S_ISDIR(st.st_mode):
        return False
    getuid = getattr(os, "getuid", None)
    return getuid is None or (st.st_uid == getuid() and not st.st_mode & 0o022)


def _sources_key(files: list[str], name: str, version: str) -> str:
    h = hashlib.sha256()
    h.update(f"{compiler_version()}\0{runtime.RUNTIME_VERSION}\0{name}\0{version}\0".encode())
    h.update(_compiler_fingerprint())
    for f in files:
        h.update(Path(f).name.encode() + b"\0")
        h.update(hashlib.sha256(Path(f).read_bytes()).digest())
    return h.hexdigest()


def pack_from_sources(paths: Iterable[str], name: str = "mtus-pack", version: str = "0",
                      use_cache: bool = True) -> Pack:
    """Compile sources in memory, caching the pack by the sources' hash.

    A warm cache loads like any pack (verified, no front end imported).
    """
    files = _find_sources(paths)
    if not files:
        raise PackError("no .mtus files found in " + ", ".join(map(str, paths)))
    try:
        key = _sources_key(files, name, version)
    except OSError as e:
        raise PackError(f"{e.filename}: cannot be read: {e.strerror}") from None
    cached = cache_dir() / key[:32]
    use_cache = use_cache and _private(cached)
    if use_cache and is_pack_dir(cached):
        try:
            return load_pack(str(cached))
        except PackError:
            import shutil

            shutil.rmtree(cached, ignore_errors=True)  # a damaged cache entry is rebuilt
    from mtus.compiler.build.packwriter import build_pack, write_pack

    pack = build_pack(files, name=name, version=version)
    if use_cache:
        try:
            write_pack(pack, str(cached), durable=False)  # a damaged entry fails its hashes and is rebuilt
        except (OSError, PackError):
            pass  # a read-only cache only costs speed
    return load_built_pack(pack.files, "<compiled from " + ", ".join(_display_path(f) for f in files) + ">")


def bundled_pack(use_cache: bool = True) -> Pack:
    """The MTUS guidelines shipped with the package, compiled on first use and cached."""
    from mtus.guidelines import bundled_dir

    return pack_from_sources([str(bundled_dir())], name="mtus-bundled", version=compiler_version(),
                             use_cache=use_cache)


def open_pack(spec: Optional[str]) -> Pack:
    """A pack from `--pack`: a pack folder, `.mtus` sources (files or folders), or the bundled one."""
    if spec is None:
        return bundled_pack()
    p = Path(spec)
    if p.is_dir() and is_pack_dir(p):
        return load_pack(spec)
    if p.exists():
        return pack_from_sources([spec])
    raise PackError(f"{spec}: no such pack folder or .mtus file")


__all__ = ["Pack", "PackError", "CompileError", "load_pack", "load_pack_files", "load_built_pack", "pack_from_sources",
           "bundled_pack", "open_pack"]

