"""Shared fixtures: the repository's folders, independent of the working directory."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDELINES = ROOT / "guidelines"


def tiers(fast, slow, name: str = "n"):
    """Run a test at two sizes: `fast` in the default tier, `slow` in the slow one (`pytest -m slow`)."""
    return pytest.mark.parametrize(name, [pytest.param(fast, id="fast"),
                                          pytest.param(slow, id="slow", marks=pytest.mark.slow)])


@pytest.fixture
def guideline_files():
    return sorted(GUIDELINES.glob("*.mtus"))


@pytest.fixture(autouse=True, scope="session")
def _private_pack_cache(tmp_path_factory):
    """Tests never read or write the user's pack cache."""
    import os

    old = os.environ.get("MTUS_CACHE_DIR")
    os.environ["MTUS_CACHE_DIR"] = str(tmp_path_factory.mktemp("mtus-cache"))
    yield
    if old is None:
        os.environ.pop("MTUS_CACHE_DIR", None)
    else:
        os.environ["MTUS_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def source_pack():
    """The bundled guidelines compiled in memory (no cache), shared by a test session."""
    from mtus.compiler.check.pack import load_pack_files
    from mtus.compiler.build.packwriter import build_pack

    files = build_pack([str(GUIDELINES)], name="mtus-test", version="1")
    return load_pack_files(files.files, "<test pack>")
