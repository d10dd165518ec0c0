"""A forgiving character scanner used only to explain syntax errors.

Lark stops at the first error and knows nothing of what comes before or
after it in the author's terms. This scanner finds, without ever failing,
the pieces of text the messages talk about: the word before an error,
brackets left open, the last line with content.
"""

from __future__ import annotations

import re
from typing import NamedTuple, Optional

_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {v: k for k, v in _OPENERS.items()}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d[\d.\-]*%?|<=|>=|!=|[^\sA-Za-z0-9_\"#]")


class Piece(NamedTuple):
    kind: str  # "word" | "string" | "text" | "comment" | "open" | "close"
    start: int
    end: int
    text: str


def pieces(text: str, upto: Optional[int] = None) -> list[Piece]:
    """The pieces of `text` that start before `upto` (all of them by default)."""
    out: list[Piece] = []
    i, n = 0, len(text) if upto is None else min(upto, len(text))
    while i < n:
        c = text[i]
        if c in " \t\r\n\\":
            i += 1
        elif c == "#":
            j = text.find("\n", i)
            j = len(text) if j < 0 else j
            out.append(Piece("comment", i, j, text[i:j]))
            i = j
        elif text.startswith('"""', i):
            j = text.find('"""', i + 3)
            j = len(text) if j < 0 else j + 3
            out.append(Piece("text", i, j, text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < len(text) and text[j] not in '"\n':
                j += 2 if text[j] == "\\" else 1
            j = min(len(text), j + 1 if j < len(text) and text[j] == '"' else j)
            out.append(Piece("string", i, j, text[i:j]))
            i = j
        elif c in _OPENERS:
            out.append(Piece("open", i, i + 1, c))
            i += 1
        elif c in _CLOSERS:
            out.append(Piece("close", i, i + 1, c))
            i += 1
        else:
            m = _WORD.match(text, i)
            j = m.end() if m else i + 1
            out.append(Piece("word", i, j, text[i:j]))
            i = j
    return out


def open_brackets(text: str, upto: int) -> list[Piece]:
    """Brackets opened before offset `upto` and not closed before it, outermost first."""
    stack: list[Piece] = []
    for p in pieces(text, upto):
        if p.kind == "open":
            stack.append(p)
        elif p.kind == "close" and stack and _OPENERS[stack[-1].text] == p.text:
            stack.pop()
    return stack


def unmatched_closer(text: str, at: int) -> bool:
    """True when the bracket at offset `at` closes nothing opened before it."""
    if at >= len(text) or text[at] not in _CLOSERS:
        return False
    return not any(_OPENERS[b.text] == text[at] for b in open_brackets(text, at))


def closer_for(opener: str) -> str:
    return _OPENERS[opener]


def previous(text: str, at: int) -> Optional[Piece]:
    """The last piece with content (not a comment) that ends at or before `at`."""
    for p in reversed(pieces(text, at)):
        if p.kind != "comment" and p.end <= at:
            return p
    return None


def next_piece(text: str, at: int) -> Optional[Piece]:
    """The first piece with content that starts at or after `at`."""
    for p in pieces(text[: at + 200] if len(text) > at + 200 else text):
        if p.start >= at and p.kind != "comment":
            return p
    return None


def only_blank_after(text: str, at: int) -> bool:
    """True when nothing but whitespace and comments follows offset `at`."""
    rest = text[at:]
    return all(not line.strip() or line.strip().startswith("#") for line in rest.split("\n"))


def line_head(text: str, at: int) -> str:
    """The first word of the line containing offset `at`."""
    start = text.rfind("\n", 0, at) + 1
    m = re.match(r"[ \t]*([A-Za-z_][A-Za-z0-9_]*)", text[start:])
    return m.group(1) if m else ""
