"""Source files and spans: where every node and diagnostic points back to."""

from __future__ import annotations

import attrs


@attrs.define(unsafe_hash=True)
class Span:
    """A half-open character range in one source file, with 1-based line/column.

    Treated as immutable (it is hashed and shared between nodes) but not an
    attrs-frozen class: building a syntax tree makes one per node and token
    (about 400 a guideline), and a frozen class's `__init__` set each field
    through object.__setattr__, 3.5 times the cost of a plain slotted one.
    """

    path: str
    start: int
    end: int
    line: int
    column: int
    end_line: int
    end_column: int

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
        }


@attrs.frozen
class Source:
    """The text of one `.mtus` file as the front end saw it (after decoding)."""

    path: str
    text: str

    def line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        if 1 <= line <= len(lines):
            return lines[line - 1]
        return ""

    def span(self, start: int, end: int) -> Span:
        """Build a span from character offsets, computing line and column."""
        start = max(0, min(start, len(self.text)))
        end = max(start, min(end, len(self.text)))
        line, col = self.position(start)
        end_line, end_col = self.position(end)
        return Span(self.path, start, end, line, col, end_line, end_col)

    def position(self, offset: int) -> tuple[int, int]:
        line = self.text.count("\n", 0, offset) + 1
        line_start = self.text.rfind("\n", 0, offset) + 1
        return line, offset - line_start + 1

    def whole(self) -> Span:
        return self.span(0, 0)
