"""Output as click writes it, without click: painted diagnostics, and echo for text on the standard streams."""

from __future__ import annotations

import os
import re
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Optional

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2

if TYPE_CHECKING:
    Echo = Callable[..., None]

_SEVERITY = re.compile(r"(?m)(?<![\w-])(error|warning)(\[\w+\])?:")
_HINT = re.compile(r"(?m)^(hint|note):")
# click.style(text, fg=colour, bold=True)'s codes, written out so painting needs no click (a test compares them)
_STYLE = {"red": "\x1b[31m\x1b[1m", "yellow": "\x1b[33m\x1b[1m", "cyan": "\x1b[36m\x1b[1m"}
_RESET = "\x1b[0m"
_ANSI = None  # click's pattern of a style code, compiled when text to strip has one


def color_for(setting: str) -> Optional[bool]:
    """--color's value as click's colour flag: True to keep style codes, False to drop them, None for a terminal's."""
    # https://no-color.org: NO_COLOR (non-empty) turns colour off unless asked for outright
    if setting == "always":
        return True
    if setting == "never" or os.environ.get("NO_COLOR"):
        return False
    return None


def style(text: str, fg: str) -> str:
    """`text` in bold and a colour, as click.style(text, fg=fg, bold=True) writes it."""
    return _STYLE[fg] + text + _RESET


def paint(text: str) -> str:
    """Diagnostics coloured as compilers do: errors red, warnings yellow, hints cyan.

    The echo drops the colour again unless --color and the terminal allow it.
    """
    text = _SEVERITY.sub(lambda m: style(m.group(0), "red" if m.group(1) == "error" else "yellow"), text)
    return _HINT.sub(lambda m: style(m.group(0), "cyan"), text)


def plain_echo(text: str, err: bool = False, nl: bool = True, color: Optional[bool] = None) -> None:
    """click.echo for text on sys.stdout/sys.stderr: style codes kept only for a terminal (or color=True), flushed.

    The fast path uses it only where click.echo would write to the stream as it is (entry.py checks the
    streams' encodings first).
    """
    global _ANSI
    stream = sys.stderr if err else sys.stdout
    if stream is None:
        return
    out = text + "\n" if nl else text
    if not out:
        stream.flush()
        return
    if "\x1b" in out and (not _isatty(stream) if color is None else not color):
        if _ANSI is None:
            _ANSI = re.compile(r"\033\[[0-?]*[ -/]*[@-~]")
        out = _ANSI.sub("", out)
    stream.write(out)
    stream.flush()


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:  # noqa: BLE001 - a stream that cannot say is not a terminal (as click reads it)
        return False


def echo_err(echo: Echo, text: str) -> None:
    """Diagnostics (painted) on standard error."""
    echo(paint(text.rstrip("\n")), err=True)


def fail(echo: Echo, message: str, code: int) -> None:
    """Print an error on standard error and exit with `code`."""
    echo_err(echo, message)
    sys.exit(code)
