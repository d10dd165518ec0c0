"""Rule packs at check time: load and verify a pack, and the source-pack cache.

A pack is a folder:

    manifest.json            name, version, compiler and runtime versions,
                             sha256 of every source and every generated file
    guidelines/<id>.py       the compiled checker (build/codegen.py)
    guidelines/<id>.json     check-time description: facts, statements (check/info.py's GuidelineInfo)

Loading verifies every hash and the runtime version before executing any
generated code, and refuses unlisted files. This module imports nothing from
the front end or the code generator: checking a case needs only the runtime.
A source pack (`--pack file.mtus`) whose cache entry is missing is compiled by
build/packwriter.py, imported only then.
"""
from __future__ import annotations

import hashlib
import json
import os
import types
from pathlib import Path
from typing import Iterable, Mapping, Optional

import attrs

from mtus.compiler.check import runtime
from mtus.compiler.check.info import GuidelineInfo

PACK_FORMAT = 1
MANIFEST = "manifest.json"
FORMULARY = "formulary.json"
MAX_PACK_FILE_BYTES = 20 * 1024 * 1024


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


def _json_bytes(data) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _display_path(path: str) -> str:
    return Path(path).name


def is_pack_dir(path: Path) -> bool:
    return (path / MANIFEST).is_file()


# ------------------------------------------------------------------- loading
@attrs.frozen
class LoadedGuideline:
    """One guideline of a verified pack. Its checker module is executed on first use:
    a reviewer's case touches one or two of a pack's guidelines, not all of them."""

    id: str
    info: GuidelineInfo
    source: bytes = attrs.field(repr=False)
    filename: str
    _cache: dict = attrs.field(factory=dict, eq=False, repr=False)

    @property
    def module(self) -> types.ModuleType:
        if "module" not in self._cache:
            try:
                module = _module_from_text(checker_text(self.source, self.filename), f"mtus_pack_{self.id}",
                                           self.filename)
            except ImportError as e:  # the module refuses a runtime it was not built for
                raise PackError(f"{self.filename}: built for another runtime version ({e})") from None
            if getattr(module, "RUNTIME_VERSION", None) != runtime.RUNTIME_VERSION:
                raise PackError(f"{self.filename}: built for another runtime version")
            self._cache["module"] = module
        return self._cache["module"]

    def evaluate(self, facts, request_date) -> runtime.GuidelineResult:
        return self.module.evaluate(facts, request_date)


@attrs.frozen
class Pack:
    name: str
    version: str
    digest: str  # sha256 of manifest.json: names the exact pack in letters
    guidelines: Mapping[str, LoadedGuideline]
    location: str
    formulary: Optional[Mapping] = None  # describe_formulary() data, when the pack has one
    _cache: dict = attrs.field(factory=dict, eq=False, repr=False)

    def reader(self):
        """The case reader for this pack (routing tables built once)."""
        if "reader" not in self._cache:
            from mtus.compiler.check.case import CaseReader
            self._cache["reader"] = CaseReader(self.infos, self.formulary)
        return self._cache["reader"]

    @property
    def infos(self) -> dict[str, GuidelineInfo]:
        return {gid: g.info for gid, g in self.guidelines.items()}

    def label(self) -> str:
        return f"{self.name} {self.version} (sha256 {self.digest[:16]})"


def _read(root: Path, rel: str) -> bytes:
    if rel.startswith("/") or ".." in Path(rel).parts:
        raise PackError(f"{root / MANIFEST}: lists `{rel}`, which is outside the pack")
    p = root / rel
    if p.is_symlink():
        raise PackError(f"{p}: is a symbolic link; packs hold plain files")
    try:
        if p.stat().st_size > MAX_PACK_FILE_BYTES:
            raise PackError(f"{p}: is larger than a pack file may be")
        return p.read_bytes()
    except FileNotFoundError:
        raise PackError(f"{p}: missing from the pack (the manifest lists it)") from None
    except OSError as e:
        raise PackError(f"{p}: cannot be read: {e.strerror or e}") from None


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


def load_pack_files(files: Mapping[str, bytes], location: str) -> Pack:
    """Verify and load a pack given as files (from disk or memory)."""
    raw = files.get(MANIFEST)
    if raw is None:
        raise PackError(f"{location}: not a pack (no {MANIFEST})")
    try:
        manifest = json.loads(raw)
        listed = manifest["files"]
        guidelines = manifest["guidelines"]
        if not isinstance(listed, dict) or not isinstance(guidelines, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise PackError(f"{location}/{MANIFEST}: is not a valid pack manifest") from None
    if manifest.get("format") != PACK_FORMAT:
        raise PackError(f"{location}/{MANIFEST}: pack format {manifest.get('format')!r}; this mtus reads format {PACK_FORMAT}")
    if manifest.get("runtime") != runtime.RUNTIME_VERSION:
        raise PackError(f"{location}/{MANIFEST}: compiled for runtime {manifest.get('runtime')!r}, but this mtus "
                        f"provides runtime {runtime.RUNTIME_VERSION}; recompile the pack with `mtus compile`")
    extra = sorted(set(files) - set(listed) - {MANIFEST})
    if extra:
        raise PackError(f"{location}/{extra[0]}: is not listed in the manifest; the pack was altered")
    for rel, digest in sorted(listed.items()):
        if rel not in files:
            raise PackError(f"{location}/{rel}: missing from the pack (the manifest lists it)")
        if sha256(files[rel]) != digest:
            raise PackError(f"{location}/{rel}: does not match its sha256 in the manifest; the pack was altered")
    loaded = {}
    for entry in guidelines:
        gid = entry["id"]
        try:
            info = GuidelineInfo.from_json(json.loads(files[entry["info"]]))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise PackError(f"{location}/{entry['info']}: is not a valid guideline description ({e})") from None
        # every hash was verified above; the module runs when the guideline is first used
        loaded[gid] = LoadedGuideline(gid, info, files[entry["module"]], f"{location}/{entry['module']}")
    formulary = None
    if manifest.get("formulary"):
        try:
            formulary = json.loads(files[manifest["formulary"]])
        except (KeyError, ValueError):
            raise PackError(f"{location}/{manifest['formulary']}: missing or not valid JSON") from None
    return Pack(manifest.get("name", "?"), str(manifest.get("version", "?")), sha256(raw), loaded, location,
                formulary)


def load_pack(path: str) -> Pack:
    """Load a pack folder, verifying it first (see module docstring)."""
    root = Path(path)
    if not root.is_dir():
        raise PackError(f"{root}: is not a pack folder")
    files: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for fn in sorted(filenames):
            rel = os.path.relpath(os.path.join(dirpath, fn), root).replace(os.sep, "/")
            files[rel] = _read(root, rel)
    return load_pack_files(files, str(root))


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
            write_pack(pack, str(cached))
        except (OSError, PackError):
            pass  # a read-only cache only costs speed
    return load_pack_files(pack.files, "<compiled from " + ", ".join(_display_path(f) for f in files) + ">")


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


__all__ = ["Pack", "PackError", "CompileError", "load_pack", "load_pack_files", "pack_from_sources",
           "bundled_pack", "open_pack"]

