"""The front end's entry points: read, parse, build, run the passes.

No input makes these functions raise: unreadable files, undecodable bytes,
absurd nesting and internal errors all come back as diagnostics.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Optional

import attrs

from dsl import diagnostics as diag
from dsl import model
from dsl.build import TooDeep, build
from dsl.parser import parse
from dsl.passes import Context, run
from dsl.source import Source

#: Files larger than this are refused before parsing (E901).
MAX_FILE_BYTES = 10 * 1024 * 1024


@attrs.frozen
class CheckResult:
    """The outcome of checking one file: a model, or diagnostics, or both (warnings)."""

    source: Source
    model: Optional[model.Guideline]
    diagnostics: tuple[diag.Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return self.model is not None and not any(d.is_error for d in self.diagnostics)


def check_text(text: str, path: str = "<text>") -> CheckResult:
    """Check guideline source text; never raises."""
    source = Source(path, text)
    try:
        return _check(source)
    except RecursionError:
        return CheckResult(source, None, (diag.error(
            "E901", "the guideline is nested too deeply to check", source.whole(),
            hint="split deeply nested conditions into separate criteria"),))
    except MemoryError:
        return CheckResult(source, None, (diag.error("E901", "the guideline is too large to check", source.whole()),))
    except Exception as e:  # noqa: BLE001 - the promise is: diagnostics, never a traceback
        return CheckResult(source, None, (diag.error(
            "E999", f"internal error while checking this file: {type(e).__name__}: {e}", source.whole(),
            hint="this is a bug in mtus; please report it with the file"),))


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
        return CheckResult(source, None, (diag.error("E901", "this expression is nested too deeply", e.span,
                                                     hint="split it into separate criteria"),))
    ctx = run(Context(source, tree))
    return CheckResult(source, ctx.model, tuple(diag.finalize(ctx.diagnostics)))


def read_source(path: str | os.PathLike) -> Source | diag.Diagnostic:
    """Read a file as UTF-8 text (a BOM is allowed), or explain why it cannot be read."""
    p = str(path)
    try:
        size = os.path.getsize(p)
        if size > MAX_FILE_BYTES:
            return diag.error("E901", f"the file is {size:,} bytes; guidelines are limited to {MAX_FILE_BYTES:,}",
                              Source(p, "").whole())
        data = Path(p).read_bytes()
    except OSError as e:
        return diag.error("E100", f"cannot read the file: {e.strerror or e}", Source(p, "").whole())
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        prefix = data[: e.start].decode("utf-8", errors="replace")
        src = Source(p, prefix)
        end = len(prefix)
        return diag.error("E100", f"the file is not valid UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start})",
                          src.span(end, end), hint="save the file as UTF-8")
    return Source(p, text.replace("\r\n", "\n").replace("\r", "\n"))


def check_file(path: str | os.PathLike) -> CheckResult:
    """Read and check one `.mtus` file; never raises."""
    src = read_source(path)
    if isinstance(src, diag.Diagnostic):
        return CheckResult(Source(str(path), ""), None, (src,))
    return check_text(src.text, src.path)


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
    return [check_file(p) for p in find_sources(paths)]
