"""The front end's entry points: read, parse, build, run the passes.

No input makes these functions raise: unreadable files, undecodable bytes,
absurd nesting and internal errors all come back as diagnostics.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import stat
from typing import Iterable, Optional, Union

import attrs

from mtus.dsl import diagnostics as diag
from mtus.dsl import model
from mtus.dsl.build import MAX_DEPTH, TooDeep, build
from mtus.dsl.parser import parse
from mtus.dsl.passes import Context, run
from mtus.dsl.source import Source

#: Files larger than this are refused before parsing (E901). The largest bundled
#: guideline is 14 KB; a 1 MB file took over 15 s to lint (bench/hostile.py), so
#: the limit keeps the worst case a few seconds (docs/security.md).
MAX_FILE_BYTES = 256 * 1024


@attrs.frozen
class CheckResult:
    """The outcome of checking one file: a model, or diagnostics, or both (warnings)."""

    source: Source
    model: Optional[Union[model.Guideline, model.Formulary]]  # by the file's first keyword
    diagnostics: tuple[diag.Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return self.model is not None and not any(d.is_error for d in self.diagnostics)


def normalize(text: str) -> str:
    """The text as the front end reads it: no byte order mark, `\n` line ends."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def check_text(text: str, path: str = "<text>") -> CheckResult:
    """Check guideline source text; never raises."""
    source = Source(path, normalize(text))
    size = len(source.text.encode("utf-8", errors="replace"))
    if size > MAX_FILE_BYTES:
        return CheckResult(Source(path, ""), None, (_too_large(path, size),))
    return _check_safely(source)


def _check_safely(source: Source) -> CheckResult:
    """_check, every exception a diagnostic."""
    try:
        return _check(source)
    except RecursionError:
        return CheckResult(source, None, (diag.error(
            "E901", "the guideline is nested too deeply to check", source.whole(),
            hint="split deeply nested conditions into separate criteria"),))
    except MemoryError:
        return CheckResult(source, None, (diag.error("E901", "the guideline is too large to check", source.whole()),))
    except Exception as e:  # noqa: BLE001 - the promise is: diagnostics, never a traceback
        detail = f"{type(e).__name__}: {e}"[:200]
        return CheckResult(source, None, (diag.error(
            "E999", "mtus failed while checking this file (an internal error, not a problem in the file)",
            source.whole(), hint=f"this is a bug in mtus; please report it with the file ({detail})"),))


def _check(source: Source) -> CheckResult:
    if "\x00" in source.text:
        at = source.text.index("\x00")
        return CheckResult(source, None, (diag.error("E101", "the file contains a NUL byte", source.span(at, at + 1),
                                                     hint="is this a text file? save it as UTF-8 text"),))
    parsed = parse(source)
    if parsed.tree is None:
        return CheckResult(source, None, tuple(diag.finalize(parsed.diagnostics)))
    try:
        tree = build(parsed.tree, source)
    except TooDeep as e:
        word = re.match(r"\S{1,40}", source.text[e.span.start:e.span.start + 40])
        span = source.span(e.span.start, e.span.start + (word.end() if word else 1))
        return CheckResult(source, None, (diag.error(
            "E901", f"this expression is nested more than {MAX_DEPTH} levels deep", span,
            hint="simplify it or split it into several criteria (two `not`s in a row cancel out)"),))
    ctx = run(Context(source, tree))
    return CheckResult(source, ctx.model, tuple(diag.finalize(ctx.diagnostics)))


def _too_large(path: str, size: Optional[int]) -> diag.Diagnostic:
    what = (f"the file is {size:,} bytes; a guideline may be at most {MAX_FILE_BYTES:,} bytes" if size is not None
            else f"the file is larger than the {MAX_FILE_BYTES:,} bytes a guideline may be")
    return diag.error("E901", what,
                      Source(path, "").whole(), hint="is this the right file? split very long guidelines into several files")


def _read_bounded(path: str) -> Optional[bytes]:
    """At most MAX_FILE_BYTES of a regular file; None if it is larger. OSError if it is not a regular file.

    The limit is the read's, not stat()'s (`/dev/zero` has no size, a file may
    grow), and a FIFO is refused before it can block. compiler/check/bounded.py
    does the same for check time, which may not import the front end.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(0, "not a regular file")
        chunks, size, want = [], 0, st.st_size + 1
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, min(MAX_FILE_BYTES + 1 - size, want))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            want = 1 << 20
    finally:
        os.close(fd)
    return b"".join(chunks) if size <= MAX_FILE_BYTES else None


def _read(path: str) -> tuple[Source, Optional[diag.Diagnostic], Optional[bytes]]:
    """The file's text (undecodable bytes shown as U+FFFD), the reason it cannot be checked if any, its bytes."""
    try:
        data = _read_bounded(path)
        if data is None:
            return Source(path, ""), _too_large(path, None), None
    except OSError as e:
        return Source(path, ""), diag.error("E100", f"cannot read the file: {e.strerror or e}",
                                            Source(path, "").whole()), None
    except ValueError as e:  # e.g. a NUL character in the path itself
        return Source(path, ""), diag.error("E100", f"cannot read the file: {e}", Source(path, "").whole()), None
    try:
        return Source(path, normalize(data.decode("utf-8"))), None, data
    except UnicodeDecodeError as e:
        prefix = normalize(data[: e.start].decode("utf-8", errors="replace"))
        src = Source(path, normalize(data.decode("utf-8", errors="replace")))
        at = len(prefix)
        line, col = src.position(at)
        return src, diag.error(
            "E100", f"the file is not valid UTF-8 text: byte 0x{data[e.start]:02x} on line {line}, column {col} "
                    "cannot be read", src.span(at, at + 1),
            hint="save the file with the UTF-8 encoding (it was probably saved as Latin-1 or Windows-1252)"), data


def read_source(path: str | os.PathLike) -> Source | diag.Diagnostic:
    """Read a file as UTF-8 text (a BOM is allowed), or explain why it cannot be read."""
    src, problem, _ = _read(str(path))
    return problem if problem is not None else src


def read_source_and_bytes(path: str | os.PathLike) -> tuple[Source | diag.Diagnostic, Optional[bytes]]:
    """read_source(), and the bytes it was read from (one read: the formatter compares them before writing)."""
    src, problem, data = _read(str(path))
    return (problem if problem is not None else src), data


def check_file(path: str | os.PathLike) -> CheckResult:
    """Read and check one `.mtus` file; never raises."""
    src, problem, _ = _read(str(path))
    if problem is not None:
        return CheckResult(src, None, (problem,))
    return _check_safely(src)  # read bounded to MAX_FILE_BYTES, decoded strictly and normalised: check_text's checks


def find_sources(paths: Iterable[str | os.PathLike]) -> list[str]:
    """Expand folders into the `.mtus` files below them, sorted; keep files as given."""
    out: list[str] = []
    for p in paths:
        p = str(p)
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs.sort()
                out += [os.path.join(root, f) for f in sorted(files) if f.endswith(".mtus")]
        else:
            out.append(p)
    return out


def check_paths(paths: Iterable[str | os.PathLike]) -> list[CheckResult]:
    with cycles_not_collected():
        return [check_file(p) for p in find_sources(paths)]


@contextlib.contextmanager
def cycles_not_collected():
    """Python's cycle collector paused, then as it was: checking or compiling many files keeps every model
    until the end, and each full collection walked all of them again (17% of compiling 2,000 guidelines, a
    share that grew with the pack). What few cycles the front end leaves are collected after it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
