"""Regular expressions compiled on first use, and skipped for a text that lacks a word every match contains.

Compiling a pattern is pure Python (the `re` module's compiler): the item-text patterns alone were about a
tenth of `mtus check`'s start-up, though most items need few of them. A `Lazy` pattern compiles when first
searched; with `needs`, lowercase ASCII words (or DIGIT) of which every match contains at least one, a text
holding none of them is answered without compiling or searching. That answer is exact only for ASCII text
(`re.IGNORECASE` and `\\d` reach beyond ASCII), so any other text is searched.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterator, Optional

#: In `needs`: a digit 0-9.
DIGIT = "0-9"
_DIGITS = "0123456789"


class Lazy:
    """re.compile(pattern, flags), compiled on first use: search, sub and finditer (which skip a text without
    `needs`), match and fullmatch (which do not)."""

    __slots__ = ("pattern", "flags", "needs", "_compiled")

    def __init__(self, pattern: str, flags: int = 0, needs: Optional[tuple[str, ...]] = None):
        self.pattern, self.flags, self.needs = pattern, flags, needs
        self._compiled: Optional[re.Pattern] = None

    def compiled(self) -> re.Pattern:
        if self._compiled is None:
            self._compiled = re.compile(self.pattern, self.flags)
        return self._compiled

    def may_match(self, text: str) -> bool:
        """False only when no match is possible: ASCII text holding none of the needed words."""
        if self.needs is None or not text.isascii():
            return True
        lower = text.lower()
        return any(any(d in lower for d in _DIGITS) if w == DIGIT else w in lower for w in self.needs)

    def search(self, text: str) -> Optional[re.Match]:
        return self.compiled().search(text) if self.may_match(text) else None

    def sub(self, repl, text: str, count: int = 0) -> str:
        return self.compiled().sub(repl, text, count) if self.may_match(text) else text

    def finditer(self, text: str) -> Iterator[re.Match]:
        return self.compiled().finditer(text) if self.may_match(text) else iter(())

    def match(self, text: str) -> Optional[re.Match]:
        return self.compiled().match(text)

    def fullmatch(self, text: str) -> Optional[re.Match]:
        return self.compiled().fullmatch(text)


def literal_prefixes(pattern: str) -> Optional[tuple[str, ...]]:
    """The lowercase letters each top-level alternative of `pattern` must begin with ("inj|tfes?" -> ("inj",
    "tfe")), as `needs`; None if an alternative begins with anything else (a group, a class, an escape)."""
    alternatives, depth, start, in_class, i = [], 0, 0, False, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":  # an escaped character is never a group, a class or a bar
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c in "()":
            depth += 1 if c == "(" else -1
        elif c == "|" and depth == 0:
            alternatives.append(pattern[start:i])
            start = i + 1
        i += 1
    alternatives.append(pattern[start:])
    out = []
    for alt in alternatives:
        n = 0
        while n < len(alt) and alt[n].isascii() and alt[n].isalnum():
            n += 1
        if n < len(alt) and alt[n] in "?*{":  # the last letter may be absent
            n -= 1
        if n <= 0:
            return None
        out.append(alt[:n].lower())
    return tuple(out)
