"""mtus back ends: check/ (what checking a case loads), build/ (what compiles a pack), tools/ (the commands)."""

#: The version of mtus: pyproject.toml reads it from here (one place), and packs record it.
__version__ = "0.1.0"
