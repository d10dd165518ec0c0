"""Shared fixtures: the repository's folders, independent of the working directory."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDELINES = ROOT / "guidelines"


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", default=False,
                     help="run property tests with many more examples")


@pytest.fixture
def guideline_files():
    return sorted(GUIDELINES.glob("*.mtus"))
