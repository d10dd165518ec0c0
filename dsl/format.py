"""The canonical layout of `.mtus` files, and formatting a file safely (the `mtus fmt` command is compiler/tools/fmt.py).

The formatter works on the parser's tokens (dsl/parser.py `lex`) and on what
lies between them: spaces, line breaks, comments and `\\` continuations. It
never adds, drops or rewrites a token, so strings and text blocks stay exactly
as written. What it decides:

- indentation: two spaces per block level, whatever the file used (tabs too);
- spacing: one space between words, none inside brackets, before `,` `:` `.`
  `%`, after `any(`-style operations or before a table's `[`; two before a
  comment that follows code;
- the author's line breaks are kept. Inside brackets a continued line lines up
  after the open bracket, or four spaces in when the bracket ends its line; a
  `\\` continuation (needed outside brackets only; dropped inside them) goes
  four spaces past the line it continues (two for `given` and `expect`, which
  never have lines indented under them, so a criterion's continued condition
  does not line up with its `says`);
- comments stay where they were: a comment after code stays after it; a
  comment on a line of its own takes the indentation of the block it sits in;
- blank lines: the author's groups are kept, at most one blank line in a row,
  none at the start of a block or the ends of the file, and one before every
  section (`facts`, `tables`, `criteria`, `example`, ...) and its comments.

Every result is checked before it is returned: the output must lex to the same
tokens with the same comments, and build the same syntax tree and checked model
(ignoring source positions). Otherwise FormatError: nothing is written.
"""

from __future__ import annotations

import difflib
import errno
import os
import tempfile
from typing import Iterable, Optional

import attrs

from mtus.dsl import diagnostics as diag
from mtus.dsl.build import build
from mtus.dsl.frontend import check_text, find_sources, normalize, read_source_and_bytes
from mtus.dsl.parser import TAB_WIDTH, Lexeme, lex, parse
from mtus.dsl.source import Source, Span

INDENT = "  "             #: one block level
CONTINUATION = 4          #: a continued line, past the line it continues
EXAMPLE_CONTINUATION = 2  #: a continued `given` or `expect` line (nothing is ever indented under them)
_OPEN, _CLOSE = "([{", ")]}"
_NO_SPACE_BEFORE = {",", ":", ".", "%"}
_CALLS = {"any", "all", "count", "sum", "last", "first"}  # `any(` without a space
#: Lines that start a section: one blank line before them (and before the comments on top of them).
SECTIONS = {"guideline", "formulary", "facts", "tables", "criteria", "example", "ingredients", "products"}


class FormatError(Exception):
    """The file cannot be formatted: a syntax error (diagnostics), or a layout that would change it."""

    def __init__(self, message: str, diagnostics: tuple[diag.Diagnostic, ...] = ()):
        super().__init__(message)
        self.message = message
        self.diagnostics = diagnostics


# ------------------------------------------------------------ between tokens
@attrs.frozen
class _Event:
    kind: str            # "nl" | "comment" | "cont"
    text: str = ""       # the comment, without trailing spaces
    width: int = -1      # a comment on its own line: its indentation, as the indenter counts it


def _width(indent: str) -> int:
    return indent.count(" ") + indent.count("\t") * TAB_WIDTH


def _scan_gap(gap: str) -> tuple[list[_Event], str]:
    """The line breaks, comments and `\\` continuations between two tokens, and the indentation
    of the last line break (the indentation the parser's indenter reads for the next statement)."""
    events: list[_Event] = []
    i, n = 0, len(gap)
    line_start = -1      # where the current line began, if a line break or continuation began it
    last_indent = ""
    while i < n:
        c = gap[i]
        if c in " \t":
            i += 1
        elif c == "\n":
            events.append(_Event("nl"))
            i += 1
            line_start = i
            j = i
            while j < n and gap[j] in " \t":
                j += 1
            last_indent = gap[i:j]
        elif c == "#":
            end = gap.find("\n", i)
            end = n if end < 0 else end
            width = _width(gap[line_start:i]) if line_start >= 0 else -1  # -1: after code on its line
            events.append(_Event("comment", gap[i:end].rstrip(), width))
            i = end
        elif c == "\\":
            j = i + 1
            while j < n and gap[j] in " \t":
                j += 1
            if j >= n or gap[j] != "\n":
                raise FormatError(f"unexpected text between tokens: {gap[i:i + 20]!r}")
            events.append(_Event("cont"))
            i = j + 1
            line_start = i
        else:
            raise FormatError(f"unexpected text between tokens: {gap[i:i + 20]!r}")
    return events, last_indent


def comments(text: str) -> list[str]:
    """Every comment of a file that parses, in order (without trailing spaces)."""
    source = Source("<text>", _terminated(normalize(text)))
    lexed = lex(source)
    if lexed.lexemes is None:
        raise FormatError("the file has a syntax error", lexed.diagnostics)
    return [e.text for gap in _gaps(source.text, lexed.lexemes) for e in _scan_gap(gap)[0] if e.kind == "comment"]


def _terminated(text: str) -> str:
    return text if text.endswith("\n") or not text else text + "\n"


def _gaps(text: str, lexemes: tuple[Lexeme, ...]) -> list[str]:
    starts = [0] + [lx.end for lx in lexemes]
    ends = [lx.start for lx in lexemes] + [len(text)]
    return [text[a:b] for a, b in zip(starts, ends)]


def _space(prev: Lexeme, nxt: Lexeme) -> str:
    if prev.kind == "PUNCT" and prev.text in _OPEN or prev.text == "." and prev.kind == "PUNCT":
        return ""
    if any(x.kind == "PUNCT" and x.text == "-" for x in (prev, nxt)):  # a range `3-8` (arithmetic's is ADD_OP)
        return ""
    if nxt.kind == "PUNCT" and (nxt.text in _CLOSE or nxt.text in _NO_SPACE_BEFORE):
        return ""
    if nxt.text == "(" and prev.kind == "KEYWORD" and prev.text in _CALLS:
        return ""
    if nxt.text == "[" and prev.kind == "NAME":
        return ""
    return " "


# ------------------------------------------------------------------- layout
@attrs.define
class _Bracket:
    column: int        # where the bracket is in the output
    line_indent: int   # the indentation of the output line it is on
    hanging: bool = False  # the bracket ends its line: what follows goes on indented lines


class _Layout:
    def __init__(self, text: str, lexemes: tuple[Lexeme, ...]):
        self.text = text
        self.lexemes = lexemes
        self.lines: list[str] = []
        self.cur = ""               # the output line being built
        self.cur_indent = 0
        self.logical_indent = 0     # the indentation of the first line of the current statement
        self.logical_step = CONTINUATION  # how far its continued lines go in
        self.brackets: list[_Bracket] = []
        self.levels = [0]           # the input's indentation widths, as the parser's indenter keeps them
        self.level = 0

    # output ---------------------------------------------------------------
    def newline(self) -> None:
        self.lines.append(self.cur.rstrip())
        self.cur = ""

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def start_line(self, indent: int) -> None:
        self.cur = " " * indent
        self.cur_indent = indent

    def emit(self, lx: Lexeme) -> None:
        self.cur += lx.text
        if "\n" in lx.text:  # a text block: kept verbatim, its last line goes on
            first, *middle, last = lx.text.split("\n")
            self.lines.append(self.cur[: len(self.cur) - len(lx.text)] + first)
            self.lines.extend(middle)
            self.cur = last
        if lx.kind == "PUNCT" and lx.text in _OPEN:
            self.brackets.append(_Bracket(len(self.cur) - 1, self.cur_indent))
        elif lx.kind == "PUNCT" and lx.text in _CLOSE and self.brackets:
            self.brackets.pop()

    def continuation_indent(self, nxt: Optional[Lexeme]) -> int:
        if self.brackets:
            b = self.brackets[-1]
            closing = nxt is not None and nxt.kind == "PUNCT" and nxt.text in _CLOSE
            if b.hanging:
                return b.line_indent if closing else b.line_indent + CONTINUATION
            return b.column if closing else b.column + 1
        return self.logical_indent + self.logical_step

    # the statement level of a new line --------------------------------------
    def next_level(self, width: int) -> tuple[int, list[int]]:
        """The level of a statement indented `width` in the input, and the widths open before it."""
        before = self.levels[:]
        if width > self.levels[-1]:
            self.levels.append(width)
        else:
            while width < self.levels[-1]:
                self.levels.pop()
        return len(self.levels) - 1, before

    # the whole file ---------------------------------------------------------
    def run(self) -> str:
        gaps = _gaps(self.text, self.lexemes)
        prev: Optional[Lexeme] = None
        for i, gap in enumerate(gaps):
            nxt = self.lexemes[i] if i < len(self.lexemes) else None
            self.gap(gap, prev, nxt, nxt is not None and self._starts_section(i))
            if nxt is not None:
                self.emit(nxt)
                prev = nxt
        if self.cur.strip():
            self.newline()
        while self.lines and self.lines[-1] == "":
            self.lines.pop()
        return "\n".join(self.lines) + "\n" if self.lines else ""

    def _starts_section(self, i: int) -> bool:
        lx = self.lexemes[i]
        return lx.kind == "KEYWORD" and lx.text in SECTIONS and i > 0

    def gap(self, gap: str, prev: Optional[Lexeme], nxt: Optional[Lexeme], section: bool) -> None:
        events, last_indent = _scan_gap(gap)
        # A `\\` continues the statement only outside brackets, between two tokens, with no
        # line break before the next token; inside brackets it is a plain line break, and
        # anywhere else it does nothing.
        breaks = any(e.kind == "nl" for e in events)
        cont = False
        if self.brackets:
            events = [_Event("nl") if e.kind == "cont" else e for e in events]
            breaks = breaks or any(e.kind == "nl" for e in events)
        else:
            cont = not breaks and prev is not None and nxt is not None and any(e.kind == "cont" for e in events)
            events = [e for e in events if e.kind != "cont"]

        # a comment after code, before the line break
        k = 0
        if prev is not None and events and events[0].kind == "comment" and events[0].width < 0:
            self.cur += "  " + events[0].text
            k = 1
        rest = events[k:]

        if prev is None:  # the start of the file
            self.emit_own_lines(rest, 0, lambda _e: 0)
            return
        if not breaks and not cont:
            if nxt is not None:
                self.cur += _space(prev, nxt)
            return
        if self.brackets and prev.kind == "PUNCT" and prev.text in _OPEN and breaks:
            self.brackets[-1].hanging = True

        if not breaks:  # a `\` continuation only
            self.cur += " \\"
            self.newline()
            self.start_line(self.continuation_indent(nxt))
            return

        self.newline()
        if self.brackets:  # a line break inside brackets: comments and the next line are continuation lines
            indent = self.continuation_indent(nxt)
            comment_indent = self.continuation_indent(None)
            for e in rest:
                if e.kind == "comment":
                    self.lines.append(" " * comment_indent + e.text)
            self.start_line(indent)
            return

        # a new statement (or the end of the file)
        prev_level = self.level
        if nxt is None:
            level, before = 0, self.levels[:]
        else:
            level, before = self.next_level(_width(last_indent))
        widths = {k: w for k, w in enumerate(before)}
        widths[level] = self.levels[level] if nxt is not None else 0
        low, high = min(level, prev_level), max(level, prev_level)

        def comment_level(e: _Event) -> int:
            return min(range(low, high + 1), key=lambda k: (abs(widths.get(k, 2 * k) - e.width), k != level))

        if level > prev_level:  # no blank line at the start of a block
            while rest and rest[1:2] and rest[0].kind == "nl" and rest[1].kind == "nl":
                rest = rest[1:]
        self.emit_own_lines(rest, level, comment_level, section=section and level == 0)
        self.level = level
        if nxt is not None:
            self.start_line(len(INDENT) * level)
            self.logical_indent = self.cur_indent
            self.logical_step = EXAMPLE_CONTINUATION if nxt.text in ("given", "expect") else CONTINUATION

    def emit_own_lines(self, events: list[_Event], level: int, comment_level, section: bool = False) -> None:
        """Comments on lines of their own and blank lines, from the events after the last line break."""
        # events[0] is the line break that ended the previous line (if any): blank lines are the line
        # breaks after it with nothing in between.
        items: list[tuple[str, str]] = []  # ("blank", "") | ("comment", text)
        seen_nl = not self.lines and not self.cur  # at the start of the file, nothing to end
        pending_blank = False
        for e in events:
            if e.kind == "nl":
                if seen_nl:
                    pending_blank = True
                seen_nl = True
            else:
                if pending_blank and items:
                    items.append(("blank", ""))
                elif pending_blank and self.lines:
                    items.append(("blank", ""))
                pending_blank = False
                items.append(("comment", " " * (len(INDENT) * comment_level(e)) + e.text))
                seen_nl = False
        if pending_blank and (self.lines or items):
            items.append(("blank", ""))
        if section and self.lines:
            # one blank line before a section and the comments on top of it (those at level 0)
            j = len(items)
            while j > 0 and items[j - 1][0] == "comment" and not items[j - 1][1].startswith(" "):
                j -= 1
            if not any(kind == "blank" for kind, _ in items[j:]) and (j == 0 or items[j - 1][0] != "blank"):
                items.insert(j, ("blank", ""))
        for kind, text in items:
            if kind == "blank":
                self.blank()
            else:
                self.lines.append(text)


# ---------------------------------------------------------------- the check
def erase_positions(x):
    """A syntax tree or model as nested tuples, without source positions: what "unchanged" compares."""
    if isinstance(x, Span):
        return None
    if attrs.has(type(x)):
        return (type(x).__qualname__,) + tuple((f.name, erase_positions(getattr(x, f.name)))
                                                for f in attrs.fields(type(x)))
    if isinstance(x, (tuple, list)):
        return tuple(erase_positions(i) for i in x)
    if isinstance(x, frozenset):
        return frozenset(erase_positions(i) for i in x)
    if isinstance(x, dict):
        return tuple(sorted((k, erase_positions(v)) for k, v in x.items()))
    return x


def _tree(source: Source):
    parsed = parse(source)
    return build(parsed.tree, source) if parsed.tree is not None else None


def _verify(source: Source, lexemes: tuple[Lexeme, ...], out: str) -> None:
    """Refuse a layout that changed anything but the layout."""
    after = Source(source.path, out)
    lexed = lex(after)
    if lexed.lexemes is None:
        raise FormatError("the formatted text does not parse (a bug in mtus fmt; the file was left as it was)",
                          lexed.diagnostics)
    if [(lx.kind, lx.text) for lx in lexed.lexemes] != [(lx.kind, lx.text) for lx in lexemes]:
        raise FormatError("formatting changed the tokens (a bug in mtus fmt; the file was left as it was)")
    if comments(source.text) != comments(out):
        raise FormatError("formatting changed the comments (a bug in mtus fmt; the file was left as it was)")
    if erase_positions(_tree(source)) != erase_positions(_tree(after)):
        raise FormatError("formatting changed the syntax tree (a bug in mtus fmt; the file was left as it was)")
    before_model = check_text(source.text, source.path).model
    after_model = check_text(out, source.path).model
    if erase_positions(before_model) != erase_positions(after_model):
        raise FormatError("formatting changed the checked model (a bug in mtus fmt; the file was left as it was)")


def layout(text: str, lexemes: tuple[Lexeme, ...]) -> str:
    """The canonical layout of text whose tokens are lexemes (no checks)."""
    return _Layout(text, lexemes).run()


def format_text(text: str, path: str = "<text>") -> str:
    """The text in the canonical layout. Raises FormatError on a syntax error or a layout that changed it."""
    source = Source(path, _terminated(normalize(text)))
    lexed = lex(source)
    if lexed.lexemes is None:
        raise FormatError("cannot format a file with a syntax error", lexed.diagnostics)
    out = layout(source.text, lexed.lexemes)
    _verify(source, lexed.lexemes, out)
    return out


# -------------------------------------------------------------------- files
class WriteRefused(Exception):
    """The formatted text is not written: the file is read-only, or it changed after it was read."""


def write_atomic(path: str | os.PathLike, text: str, expected: Optional[bytes] = None) -> None:
    """Replace the file's contents all at once, never over an edit made since it was read.

    The text goes to a temporary file in the same folder first. A read-only file
    is refused (a rename would swap it anyway: only the folder's permission
    counts). Without `expected` the temporary file is renamed into place. With
    `expected` (the bytes that were read), the file is first taken aside by a
    rename, so no save can reach it unseen: it must still hold exactly those
    bytes; the new text is then linked into place only if no save has created
    the file anew meanwhile; and the file taken aside is read once more, so a
    save written into it through a handle opened earlier is put back. Any
    change found leaves the user's text in place and raises WriteRefused. On
    any failure the original file is in place and no temporary file is left.
    """
    target = os.path.realpath(path)  # write through a symbolic link, keep the link
    mode = os.stat(target).st_mode
    if not mode & 0o222 or not os.access(target, os.W_OK):
        raise WriteRefused("the file is read-only; it was not formatted")
    folder = os.path.dirname(target) or "."
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(target) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode & 0o7777)
        if expected is None:
            os.replace(tmp, target)
        else:
            _swap_unless_changed(target, tmp, expected)
    finally:
        _remove(tmp)


_CHANGED = "the file changed while it was being formatted; it was not written (run `mtus fmt` again)"


def _swap_unless_changed(target: str, new: str, expected: bytes) -> None:
    """Put `new` at target if target still holds `expected`; otherwise leave the user's text there."""
    fd, aside = tempfile.mkstemp(dir=os.path.dirname(new), prefix=os.path.basename(new)[:-len(".tmp")],
                                 suffix=".old")
    os.close(fd)
    try:
        os.replace(target, aside)  # from here a save creates a new file at target, or writes into `aside`
        if _read(aside, len(expected)) != expected:
            _put_back(aside, target, None)
            raise WriteRefused(_CHANGED)
        ours = os.stat(new)
        _link(new, target)
        if _read(aside, len(expected)) != expected:  # saved through a handle opened before the rename
            _put_back(aside, target, (ours.st_dev, ours.st_ino))
            raise WriteRefused(_CHANGED)
    except BaseException:
        if os.path.lexists(aside) and not os.path.lexists(target):
            os.rename(aside, target)  # a failure before the new text was in place: the original goes back
        raise
    finally:
        _remove(aside)


def _link(new: str, target: str) -> None:
    """Give `new` the name target, never over a file there (a save made since target was taken aside)."""
    try:
        os.link(new, target)
    except FileExistsError:
        raise WriteRefused(_CHANGED) from None
    except OSError as e:
        if e.errno not in _NO_HARD_LINKS:
            raise
        if os.path.lexists(target):  # no hard links here (FAT, some network folders): check, then rename
            raise WriteRefused(_CHANGED) from None
        os.rename(new, target)


_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}


def _put_back(aside: str, target: str, ours: Optional[tuple]) -> None:
    """Return the user's edited file from `aside` to target, unless a newer save is already there."""
    if ours is None:
        try:
            _link(aside, target)
        except WriteRefused:
            pass  # a later save is in place: it supersedes the one taken aside, as it would have anyway
        return
    st = os.stat(target)
    if (st.st_dev, st.st_ino) == ours:  # still the formatted text: the edit replaces it
        os.replace(aside, target)


def _read(path: str, limit: int) -> bytes:
    with open(path, "rb") as f:
        return f.read(limit + 1)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


@attrs.frozen
class FileResult:
    """What formatting one file found: its text before and after, or why it could not be formatted."""

    path: str
    original: str
    formatted: Optional[str]
    error: Optional[str] = None
    diagnostics: tuple[diag.Diagnostic, ...] = ()
    source: Optional[Source] = None

    @property
    def changed(self) -> bool:
        return self.formatted is not None and self.formatted != self.original

    def diff(self) -> str:
        if not self.changed:
            return ""
        return "".join(difflib.unified_diff(
            self.original.splitlines(True), self.formatted.splitlines(True),
            fromfile=f"{self.path} (original)", tofile=f"{self.path} (formatted)"))


def format_file(path: str | os.PathLike, write: bool = True) -> FileResult:
    """Format one file; with write, replace it atomically when it changes. Never raises for a bad file."""
    path = str(path)
    src, raw = read_source_and_bytes(path)  # one bounded read: what is formatted is what was read
    if isinstance(src, diag.Diagnostic):
        return FileResult(path, "", None, src.message, (src,))
    original = raw.decode("utf-8")
    try:
        formatted = format_text(src.text, path)
    except FormatError as e:
        return FileResult(path, original, None, e.message, e.diagnostics, src)
    result = FileResult(path, original, formatted, source=src)
    if write and result.changed:
        try:
            write_atomic(path, formatted, expected=raw)
        except WriteRefused as e:
            return FileResult(path, original, None, str(e), (), src)
        except OSError as e:
            return FileResult(path, original, None, f"cannot write the file: {e.strerror or e}", (), src)
    return result


def format_paths(paths: Iterable[str | os.PathLike], write: bool = True) -> list[FileResult]:
    """Format the `.mtus` files given and those in the folders given."""
    return [format_file(p, write) for p in find_sources(paths)]
