"""Inert output: text from a case made safe to print to a terminal or a Markdown viewer.

A case file is untrusted, and its text (case id, items, documented values)
is quoted in letters. Printed raw, an ESC or OSC sequence would drive the
reader's terminal (colours, titles, hyperlinks, even a cleared screen), a
carriage return would overwrite a line, bidirectional controls would reorder
what is seen, and a lone surrogate cannot be written as UTF-8 at all. Each
such character is written as its Python escape, e.g. `\\x1b`.
"""

from __future__ import annotations

import re

#: C0 controls but the line feed, DEL, C1 controls, line/paragraph separators, bidirectional
#: embeddings, overrides and isolates, the byte order mark, and lone surrogates.
_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")


def _escape(m: re.Match) -> str:
    c = m.group()
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def inert(text: str) -> str:
    """text with every control character (line feeds kept) written as a visible escape."""
    if _UNSAFE.search(text) is None:  # the usual letter: no copy
        return text
    return _UNSAFE.sub(_escape, text)
