"""The .mtus grammar, shipped as package data (`mtus.lark`)."""

from importlib import resources


def grammar_text() -> str:
    """The Lark grammar of the .mtus language."""
    return resources.files(__name__).joinpath("mtus.lark").read_text(encoding="utf-8")
