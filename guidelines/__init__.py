"""The bundled MTUS guidelines (`*.mtus`), shipped as package data."""

from pathlib import Path


def bundled_dir() -> Path:
    """The folder holding the bundled `.mtus` files of the installed package: this package's own folder.

    Not importlib.resources, whose files() is this same folder for a package installed as files: importing it
    imports typing, tempfile and zipfile, about 7 ms of every `mtus check` without `--pack`.
    """
    return Path(__file__).parent
