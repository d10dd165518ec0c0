"""The `mtus` console script: `mtus check` read by a small argument reader, every other command by click (cli.py).

Importing click is about a tenth of a check's start-up, so the reader takes `mtus check`'s usual argument
lists itself and calls the function the click command calls (checkcmd.run_check). Anything it does not
fully understand (--help, an unknown or malformed option, a value click would refuse, shell completion,
a stream click would re-wrap) goes to click unread, so every message and exit status is click's.
"""

from __future__ import annotations

import gc
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

# --name -> (the keyword of checkcmd.run_check, the values click accepts or None for any text)
_VALUES = {"--pack": ("pack_spec", None), "--format": ("fmt", ("text", "markdown", "json")),
           "--wording": ("wording", ("imr", "ur")), "--jsonl": ("jsonl", None), "--jobs": ("jobs", None),
           "--pack-sha256": ("pack_sha256", None), "--color": ("color", ("auto", "always", "never"))}
_FLAGS = {"--explain": "explain", "--strict": "strict", "--exit-code": "exit_code", "-q": "quiet", "--quiet": "quiet"}


def read_check_args(args: list[str]) -> Optional[dict]:
    """`mtus check`'s arguments (after `check`) as run_check's keywords and `color`, or None for click to read.

    As click reads them: options before or after the case, `--name value` or `--name=value`, a value taken
    whatever it starts with, the last of a repeated option kept. None for anything else.
    """
    opts: dict = {"case": None, "format_given": False, "color": "auto"}
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg[:1] != "-" or arg == "-":
            if opts["case"] is not None:  # a second CASE: click says "unexpected extra argument"
                return None
            opts["case"] = arg
            continue
        name, eq, value = arg.partition("=")
        if name in _FLAGS and not eq:
            opts[_FLAGS[name]] = True
            continue
        if name not in _VALUES:  # --help, --, -qq, an unknown or misspelt option, a flag given a value
            return None
        if not eq:
            if not rest:
                return None
            value = rest.pop(0)
        key, choices = _VALUES[name]
        if choices is not None and value not in choices:
            return None
        if key == "jobs":  # click.IntRange(1, 64); any other spelling of a number is click's to read
            if not (value.isascii() and value.isdigit() and 1 <= int(value) <= 64):
                return None
            value = int(value)
        opts[key] = value
        opts["format_given"] |= key == "fmt"
    case = opts["case"]
    if case is not None and case != "-":  # click.Path(dir_okay=False): a folder or an unreadable file is refused
        try:
            mode = os.stat(case).st_mode
        except (OSError, ValueError):
            pass  # a missing file is the case reader's to report
        else:
            import stat

            if stat.S_ISDIR(mode) or not os.access(case, os.R_OK):
                return None
    return opts


def _plain_streams() -> bool:
    """Whether click.echo would write to the standard streams as they are (it re-wraps one whose encoding is
    ASCII, and uses the console API on Windows): if not, click does the writing."""
    import codecs

    if sys.platform == "win32":
        return False
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None) or "ascii"
        try:
            if codecs.lookup(encoding).name == "ascii":
                return False
        except LookupError:
            pass
    return True


def _completing() -> bool:
    """Whether a shell asks click for completions (its `_PROG_COMPLETE` variable)."""
    return any(k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ)


def run(argv: Optional[list[str]] = None, started=lambda: None) -> Optional[int]:
    """Run the `mtus` command line on argv (default: sys.argv's arguments); `started()` once the command's
    modules are imported."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["check"] and not _completing() and _plain_streams():
        opts = read_check_args(args[1:])
        if opts is not None:
            return _check(opts, started)
    from mtus.compiler.tools.cli import main as click_main

    started()
    return click_main(argv)  # None: click reads sys.argv itself, as the console script always did


def _check(opts: dict, started) -> None:
    import errno
    from functools import partial

    from mtus.compiler.tools.checkcmd import run_check
    from mtus.compiler.tools.output import color_for, plain_echo

    started()
    echo = partial(plain_echo, color=color_for(opts.pop("color")))
    try:
        run_check(echo, **opts)
    except (EOFError, KeyboardInterrupt):  # as click ends a command interrupted
        echo("", err=True)
        echo("Aborted!", err=True)
        sys.exit(1)
    except OSError as e:  # a closed pipe (`mtus check case.yaml | head`): exit 1 quietly, as click does
        if e.errno != errno.EPIPE:
            raise
        sys.stdout, sys.stderr = _Pacified(sys.stdout), _Pacified(sys.stderr)
        sys.exit(1)


class _Pacified:
    """A stream whose flush ignores a closed pipe (click's wrapper after EPIPE), so exiting prints nothing."""

    def __init__(self, stream):
        self._stream = stream

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as e:
            import errno

            if e.errno != errno.EPIPE:
                raise

    def __getattr__(self, name):
        return getattr(self._stream, name)


def main() -> Optional[int]:
    """The console script."""
    # The modules imported at start-up live as long as the process: no collection while they are imported
    # (they make few cycles), and none over them afterwards, at exit included (gc.freeze): about 14 ms of a
    # check's start-up. Collection is on again before the command runs.
    gc.disable()
    try:
        return run(None, _started)
    finally:
        _started()


def _started() -> None:
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
