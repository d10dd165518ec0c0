"""The README's two commands stay true: CI runs the test command, the main job works."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```sh\n(.*?)\n```", text, re.S)[:2]


def test_readme_starts_with_the_two_commands():
    main, tests = _commands()
    assert "pip install ." in main and "mtus check docs/examples/seed-2014-12-18.yaml" in main
    assert "pip install '.[test]'" in tests and tests.endswith("python -m pytest")
    assert (ROOT / "docs" / "examples" / "seed-2014-12-18.yaml").is_file()


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'pip install --quiet ".[test]"' in ci
    assert "-m pytest\n" in ci
    # and the slow tier the default run leaves out (pyproject.toml's addopts)
    assert "-m pytest -m slow\n" in ci


def test_the_installed_distribution_ships_grammar_and_guidelines():
    """A real (non-editable) install must carry the package data; CI installs that way."""
    import json
    from importlib import metadata

    import pytest

    import sysconfig

    # Look in site-packages only: an in-tree build leaves mtus.egg-info in the
    # checkout, which is on sys.path and is not what was installed.
    found = [d for d in metadata.distributions(name="mtus", path=[sysconfig.get_paths()["purelib"]])]
    if not found:
        pytest.skip("mtus is not installed into site-packages (running from a checkout)")
    dist = found[0]
    direct = dist.read_text("direct_url.json")
    if direct and json.loads(direct).get("dir_info", {}).get("editable"):
        pytest.skip("editable install: package data is read from the checkout")
    names = {str(f).replace("\\\\", "/") for f in dist.files or ()}
    assert "mtus/grammar/mtus.lark" in names
    assert "mtus/guidelines/tpi.mtus" in names
    assert not any(n.startswith("tests/") for n in names)
    # one import namespace: nothing generic at the top of site-packages
    tops = {n.split("/")[0] for n in names if not n.startswith(("..", "mtus-"))}
    assert tops == {"mtus"}, tops
