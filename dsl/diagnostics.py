"""Diagnostics as data: stable code, severity, message, spans, notes and a hint.

Passes create Diagnostic values; nothing prints. `render_text` gives the
`file:line:col: error[CODE]: message` form with the source line and a caret
underline; `render_json` gives the same data for tools.
"""

from __future__ import annotations

import json
from typing import Iterable, Mapping

import attrs

from mtus.dsl.codes import CODES
from mtus.dsl.source import Source, Span

ERROR = "error"
WARNING = "warning"

#: More diagnostics than this per file are summarised in one line.
MAX_PER_FILE = 50


@attrs.frozen
class Note:
    message: str
    span: Span | None = None


@attrs.frozen
class Diagnostic:
    code: str = attrs.field(validator=attrs.validators.in_(CODES))
    message: str
    span: Span
    hint: str | None = None
    notes: tuple[Note, ...] = ()
    severity: str = attrs.field(default=ERROR)

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def sort_key(self):
        return (self.span.path, self.span.start, self.code, self.message)

    def to_json(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "span": self.span.to_json(),
            "hint": self.hint,
            "notes": [
                {"message": n.message, "span": n.span.to_json() if n.span else None}
                for n in self.notes
            ],
        }


def error(code: str, message: str, span: Span, hint: str | None = None, notes=()) -> Diagnostic:
    return Diagnostic(code, message, span, hint, tuple(notes), ERROR)


def warning(code: str, message: str, span: Span, hint: str | None = None, notes=()) -> Diagnostic:
    return Diagnostic(code, message, span, hint, tuple(notes), WARNING)


def finalize(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Sort, de-duplicate and keep at most MAX_PER_FILE diagnostics per file."""
    out: list[Diagnostic] = []
    seen = set()
    per_file: dict[str, int] = {}
    for d in sorted(diagnostics, key=Diagnostic.sort_key):
        key = (d.code, d.span.path, d.span.start, d.span.end, d.message)
        if key in seen:
            continue
        seen.add(key)
        n = per_file.get(d.span.path, 0)
        per_file[d.span.path] = n + 1
        if n < MAX_PER_FILE:
            out.append(d)
    for path, n in sorted(per_file.items()):
        if n > MAX_PER_FILE:
            last = [d for d in out if d.span.path == path][-1]
            out.append(
                attrs.evolve(
                    last,
                    message=f"{n - MAX_PER_FILE} more diagnostics in this file were not shown",
                    notes=(),
                    hint="fix the errors above and run `mtus lint` again",
                )
            )
    return out


#: Longer source lines are shown as a window around the caret.
EXCERPT_WIDTH = 100


def _visible(text: str) -> str:
    """The line with tabs and control characters shown one column each."""
    return "".join(" " if c == "\t" else (c if c.isprintable() else "\N{REPLACEMENT CHARACTER}") for c in text)


def _excerpt(source: Source | None, span: Span, label: str = "") -> list[str]:
    if source is None:
        return []
    text = _visible(source.line_text(span.line))
    if not text and span.line > 1 and span.column == 1:
        return []
    gutter = str(span.line)
    pad = " " * len(gutter)
    start = span.column
    if span.end_line == span.line:
        width = max(1, span.end_column - span.column)
    else:
        width = max(1, len(text) - span.column + 1)
    if len(text) > EXCERPT_WIDTH:
        left = max(0, min(start - 1 - 20, len(text) - EXCERPT_WIDTH))
        shown = text[left:left + EXCERPT_WIDTH]
        prefix = "..." if left > 0 else ""
        suffix = "..." if left + EXCERPT_WIDTH < len(text) else ""
        start = start - left + len(prefix)
        width = max(1, min(width, EXCERPT_WIDTH - (start - len(prefix)) + 1))
        text = prefix + shown + suffix
    underline = " " * (start - 1) + "^" * width
    lines = [f"{pad} |", f"{gutter} | {text}", f"{pad} | {underline.rstrip()}{(' ' + label) if label else ''}"]
    return lines


def render_text(diagnostics: Iterable[Diagnostic], sources: Mapping[str, Source]) -> str:
    """Render diagnostics the way compilers do: location, message, excerpt, hint."""
    blocks = []
    for d in diagnostics:
        s = d.span
        lines = [f"{s.path}:{s.line}:{s.column}: {d.severity}[{d.code}]: {d.message}"]
        lines += _excerpt(sources.get(s.path), s)
        for note in d.notes:
            if note.span is not None:
                n = note.span
                lines.append(f"note: {n.path}:{n.line}:{n.column}: {note.message}")
                lines += _excerpt(sources.get(n.path), n)
            else:
                lines.append(f"note: {note.message}")
        if d.hint:
            lines.append(f"hint: {d.hint}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def render_json(diagnostics: Iterable[Diagnostic]) -> str:
    return json.dumps([d.to_json() for d in diagnostics], indent=2, sort_keys=True) + "\n"


def summary(diagnostics: Iterable[Diagnostic]) -> str:
    ds = list(diagnostics)
    errors = sum(1 for d in ds if d.is_error)
    warnings = len(ds) - errors
    def plural(n, word):
        return f"{n} {word}{'' if n == 1 else 's'}"
    return f"{plural(errors, 'error')}, {plural(warnings, 'warning')}"
