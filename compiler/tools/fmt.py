"""`mtus fmt`, the command: format files in place, or report what would change (--check, --diff).

The layout itself, and formatting a file safely, are the front end's
(dsl/format.py); this module only walks the paths, reads standard input and
words the report.
"""

from __future__ import annotations

import attrs

from mtus.dsl import diagnostics as diag
from mtus.dsl.format import FileResult, FormatError, format_file, format_text
from mtus.dsl.frontend import find_sources, normalize
from mtus.dsl.source import Source


@attrs.frozen
class FmtReport:
    stdout: str
    stderr: str
    exit_code: int  # 0 done; 1 a file would change (--check) or cannot be formatted; 2 nothing to format


def fmt_command(paths, check: bool = False, diff: bool = False, stdin=None) -> FmtReport:
    """`mtus fmt`: format files in place, or (--check, --diff) only report what would change."""
    write = not (check or diff)
    out: list[str] = []
    err: list[str] = []
    failed = would_change = changed = unchanged = 0
    results: list[FileResult] = []
    for p in paths:
        if str(p) == "-":
            text = stdin.read() if stdin is not None else ""
            try:
                formatted = format_text(text, "<stdin>")
                results.append(FileResult("<stdin>", text, formatted))
            except FormatError as e:
                results.append(FileResult("<stdin>", text, None, e.message, e.diagnostics,
                                          Source("<stdin>", normalize(text))))
        else:
            files = find_sources([p])
            if not files:
                err.append(f"{p}: no .mtus files found\n")
            results += [format_file(f, write) for f in files]
    if not results:
        return FmtReport("", "".join(err) or "no .mtus files found\n", 2)
    for r in results:
        if r.formatted is None:
            failed += 1
            if r.diagnostics:
                sources = {r.source.path: r.source} if r.source is not None else {}
                err.append(diag.render_text(r.diagnostics, sources))
            err.append(f"{r.path}: error: cannot format: {r.error}\n")
            continue
        if r.path == "<stdin>" and write:
            out.append(r.formatted)
            continue
        if diff and r.changed:
            out.append(r.diff())
        if r.changed:
            if write:
                changed += 1
                err.append(f"reformatted {r.path}\n")
            else:
                would_change += 1
                if check:
                    err.append(f"would reformat {r.path}\n")
        else:
            unchanged += 1
    done = changed if write else would_change
    verb = "reformatted" if write else "would be reformatted"
    parts = [f"{done} file{'s' if done != 1 else ''} {verb}", f"{unchanged} unchanged"]
    if failed:
        parts.append(f"{failed} could not be formatted")
    if not (len(results) == 1 and results[0].path == "<stdin>" and write and not failed):
        err.append(", ".join(parts) + "\n")
    code = 1 if failed or (check and would_change) else 0
    return FmtReport("".join(out), "".join(err), code)
