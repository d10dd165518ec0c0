"""The bundled MTUS guidelines (`*.mtus`), shipped as package data."""

from importlib import resources
from pathlib import Path


def bundled_dir() -> Path:
    """The folder holding the bundled `.mtus` files of the installed package."""
    return Path(str(resources.files(__name__)))
