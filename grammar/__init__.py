"""The .mtus grammar, shipped as package data (`mtus.lark`), and the words of the language it defines."""

import functools
import re
from importlib import resources


def grammar_text() -> str:
    """The Lark grammar of the .mtus language."""
    return resources.files(__name__).joinpath("mtus.lark").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def keywords() -> frozenset:
    """Every word of the language (`guideline`, `facts`, `and`, `within`, ...): the grammar's quoted words.

    The one list the syntax errors, the type checker, the highlighter and the
    editor completions use. Read from the grammar's text, not through Lark, so
    the highlighter stays light; tests/test_highlight.py checks it against the
    words Lark itself finds.
    """
    words = set()
    for line in grammar_text().splitlines():
        words.update(re.findall(r'"([A-Za-z][A-Za-z0-9]*)"', line.split("//", 1)[0]))
    return frozenset(words)
