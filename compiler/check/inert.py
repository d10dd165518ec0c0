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

from mtus.compiler.check.lazyre import Lazy  # the Markdown patterns: compiled when a Markdown letter is written

#: C0 controls but the line feed, DEL, C1 controls, line/paragraph separators, bidirectional
#: embeddings, overrides and isolates, the byte order mark, and lone surrogates. Its classes beyond
#: Latin-1 take half a millisecond to compile: it is compiled for the first text that is not ASCII.
_UNSAFE = Lazy("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
#: The same characters within ASCII (the usual letter is ASCII text).
_UNSAFE_ASCII = re.compile("[\x00-\x09\x0b-\x1f\x7f]")


def _escape(m: re.Match) -> str:
    c = m.group()
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def inert(text: str) -> str:
    """text with every control character (line feeds kept) written as a visible escape."""
    unsafe = _UNSAFE_ASCII if text.isascii() else _UNSAFE.compiled()
    if unsafe.search(text) is None:  # the usual letter: no copy
        return text
    return unsafe.sub(_escape, text)


#: A line that starts with one of these can open a Markdown block: heading, quote, list, rule,
#: code fence (`=` and `|` need a next line, and the text is kept on one line).
_BLOCK_START = Lazy(r"[#>+\-]|\d{1,9}[.)]")
#: Inline markup: emphasis, code, links and images; `_` only at a word's edge (inside a word it is
#: never emphasis: fact names stay as written); a backslash that would escape what follows.
_INLINE = Lazy(r"[*`\[\]]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|\\(?=[!-/:-@\[-`{-~])")
#: Raw HTML, autolinks, entities and strikethrough, written as entities: every Markdown flavour
#: reads `&lt;` as `<`, not all read `\<` as one.
_ENTITY = Lazy(r"<(?=[A-Za-z/!?])|&(?=[#A-Za-z])|~")
_ENTITIES = {"<": "&lt;", "&": "&amp;", "~": "&#126;"}


def markdown_text(text: str) -> str:
    """Text from a case (or a sentence quoting it) as Markdown that renders as exactly that text, on one line.

    Line breaks become spaces (a Markdown paragraph renders them so; the text
    letter wraps the same way), so no line of the text can start a heading, a
    list or a quote of its own; the start, which does begin a line or a list
    item, is escaped if it could open a block; and characters that would make
    emphasis, code, a link, an image, raw HTML or an entity are escaped.
    """
    text = " ".join(text.split()) if "\n" in text or "\t" in text else text.strip(" ")
    text = _INLINE.sub(lambda m: "\\" + m.group(), text)
    text = _ENTITY.sub(lambda m: _ENTITIES[m.group()], text)
    m = _BLOCK_START.match(text)
    if m is not None:
        text = text[:m.end() - 1] + "\\" + text[m.end() - 1:]
    return text
