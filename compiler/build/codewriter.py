"""A small safe writer of Python source: the only way text gets into generated checkers.

Guideline text enters generated code only as `literal()` of plain values
(exact str, int, bool, Decimal, date, Duration, frozenset, tuple, and an
enum member by its value), names only
through `mangle()`, comments only through `comment()`. Every line is checked
to be a single line, and each line remembers the `.mtus` line it came from so
that tracebacks can be mapped back to the guideline.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from enum import Enum
from typing import Optional

from mtus.compiler.check.runtime import Duration

_PREFIX = re.compile(r"[a-z]+\Z")
_PREFIXES: set[str] = set()  # the prefixes mangle() has checked (a handful)
INDENT = "    "


def literal(value) -> str:
    """Python source for a plain value, built only from repr() of str/int and from ints.

    Exact types are required (a str subclass could override __repr__), so no
    guideline text can ever be spliced into code as anything but a literal.
    """
    t = type(value)
    if t is str or t is int or t is bool or value is None:  # the common cases first
        return repr(value)
    if t is tuple:  # mostly of names: a str item is written here rather than by a call per item
        return _tuple([repr(x) if type(x) is str else literal(x) for x in value])
    if t is Decimal:
        if not value.is_finite():
            raise ValueError(f"not a finite number: {value!r}")
        return f"Decimal({str(value)!r})"
    if t is datetime.date:
        return f"date({value.year!r}, {value.month!r}, {value.day!r})"
    if t is Duration:
        if value.start is not None:
            raise ValueError("a measured duration is not a literal")
        return f"Duration({int(value.months)!r}, {int(value.days)!r})"
    if t is frozenset:
        items = [literal(x) for x in sorted(value, key=_order)]  # sorted: byte-identical across runs
        return f"frozenset({_tuple(items)})" if items else "frozenset()"
    if isinstance(value, Enum):  # the model's kinds and operators: written as their (exact) value
        return literal(value.value)
    raise TypeError(f"cannot write a {t.__name__} as a literal")


def _tuple(items: list[str]) -> str:
    if len(items) == 1:
        return f"({items[0]},)"
    return f"({', '.join(items)})"


def _order(x):
    """A sort key for set elements: by kind, then by value (durations by their parts)."""
    if type(x) is Duration:
        return ("duration", (x.months, x.days), "")
    if type(x) in (int, Decimal):
        return ("number", x, "")
    return (type(x).__name__, 0, x) if type(x) is not bool else ("bool", int(x), "")


def mangle(prefix: str, name: str) -> str:
    """A Python identifier for a guideline name that can clash with nothing.

    `f`, `fact` -> `f_fact`. Every generated name of our own starts with `_`
    and runtime names never match `<lowercase prefix>_`, so a user name (even
    `class` or `__import__`) cannot shadow anything. A name that is not a
    plain ASCII identifier is written as hex: `fX_<hex>`, which no plain
    name can produce (`X` is not `_`).
    """
    if prefix not in _PREFIXES:
        if not (type(prefix) is str and _PREFIX.match(prefix)):
            raise ValueError(f"bad prefix {prefix!r}")
        _PREFIXES.add(prefix)
    # an ASCII identifier is exactly [A-Za-z_][A-Za-z0-9_]*: str methods, three times as fast as a regex
    if type(name) is str and name.isascii() and name.isidentifier():
        return f"{prefix}_{name}"
    return f"{prefix}X_{str(name).encode('utf-8', 'surrogatepass').hex()}"  # a lone surrogate too


def comment_text(text: str, limit: int = 100) -> str:
    """Text that is safe after `#`: printable, one line, bounded; otherwise its repr()."""
    text = str(text)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    if not text.isprintable():
        text = repr(text)  # repr() escapes every non-printable character, line breaks included
    return text


class CodeWriter:
    """Lines of Python with indentation and a table of the `.mtus` line behind each line.

    A large pack writes hundreds of thousands of lines, so `indent()` and
    `origin()` are small classes rather than generator context managers
    (which cost three times as much), and the indentation is kept as text.
    """

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._origins: list[Optional[int]] = []
        self._level = 0
        self._prefix = ""  # INDENT * self._level
        self._origin: Optional[int] = None

    def line(self, text: str = "", origin: Optional[int] = None) -> None:
        """One line at the current indentation; `origin`: its `.mtus` line, as `with self.origin(...)` gives it."""
        # isprintable() is false for every line break (\n, \r, \u2028, ...) and true for ""
        if not text.isprintable():
            raise ValueError(f"generated line is not a single printable line: {text!r}")
        if text:
            self._lines.append(self._prefix + text)
            self._origins.append(self._origin if origin is None else origin)
        else:
            self._lines.append("")
            self._origins.append(None)

    def comment(self, text: str) -> None:
        self.line("# " + comment_text(text))

    def indent(self) -> "_Indent":
        """A block one level deeper: `with w.indent(): ...` (a new object each time: one the writer kept would
        refer back to it, a cycle left for the collector to find in every generated module)."""
        return _Indent(self)

    def origin(self, mtus_line: Optional[int]) -> "_Origin":
        """Tag the lines written inside with the `.mtus` line they implement."""
        return _Origin(self, mtus_line)

    @property
    def next_line(self) -> int:
        """The 1-based number the next line will get."""
        return len(self._lines) + 1

    def source_lines(self, first: int = 1) -> tuple[tuple[int, int, int], ...]:
        """(first, last, mtus line) ranges of consecutive lines with the same origin; `first`: the number of
        the writer's first line in the module it ends up in."""
        out: list[tuple[int, int, int]] = []
        start = last = origin = None
        for i, o in enumerate(self._origins, start=first):
            if o is not None and o == origin and last == i - 1:
                last = i
                continue
            if origin is not None:
                out.append((start, last, origin))
            start, last, origin = i, i, o
        if origin is not None:
            out.append((start, last, origin))
        return tuple(out)

    def getvalue(self) -> str:
        return "\n".join(self._lines) + "\n"


class _Indent:
    """CodeWriter.indent(): one level deeper while inside."""

    __slots__ = ("w",)

    def __init__(self, w: CodeWriter) -> None:
        self.w = w

    def __enter__(self) -> None:
        w = self.w
        w._level += 1
        w._prefix = INDENT * w._level

    def __exit__(self, *exc: object) -> None:
        w = self.w
        w._level -= 1
        w._prefix = INDENT * w._level


class _Origin:
    """CodeWriter.origin(line): the lines written inside are tagged with line (None keeps the enclosing one)."""

    __slots__ = ("w", "line", "saved")

    def __init__(self, w: CodeWriter, line: Optional[int]) -> None:
        self.w, self.line = w, line

    def __enter__(self) -> None:
        w = self.w
        self.saved = w._origin
        if self.line is not None:
            w._origin = self.line

    def __exit__(self, *exc: object) -> None:
        self.w._origin = self.saved
