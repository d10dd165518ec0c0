"""check/inert.py: every unsafe character escaped, whether the text is ASCII (a small pattern) or not (the full one)."""

from __future__ import annotations

from mtus.compiler.check.inert import inert

UNSAFE = ([chr(c) for c in range(0x20) if c != 0x0A] + [chr(c) for c in range(0x7F, 0xA0)]
          + ["\u2028", "\u2029", "\u202a", "\u202e", "\u2066", "\u2069", "\ufeff", "\ud800", "\udfff"])


def test_every_unsafe_character_is_escaped_in_ascii_and_other_text():
    for c in UNSAFE:
        n = ord(c)
        shown = f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"
        assert inert(f"a{c}b\n") == f"a{shown}b\n"
        assert inert(f"é{c}b\n") == f"é{shown}b\n"  # not ASCII: the full pattern


def test_safe_text_is_returned_as_it_is():
    for text in ("Trigger point injections\n", "déjà vu \u00a0 🎉 汉字 \u2027 \u202f \u2065 \ufefe", ""):
        assert inert(text) is text
