"""The Python backend: generated modules are reviewed snapshots, deterministic, safe, and agree with the interpreter."""

from __future__ import annotations

import ast
import datetime
import os
import subprocess
import sys
import textwrap

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from compiler import runtime as rt
from compiler.interpret import evaluate
from compiler.python import generate_module, load_module, mtus_frames
from dsl import check_file
from tests.conftest import GUIDELINES, ROOT

FILES = sorted(GUIDELINES.glob("*.mtus"))
RD = datetime.date(2014, 12, 18)

#: What generated code may call besides runtime names and its own local functions.
ALLOWED_CALLS = {"Decimal", "date", "frozenset", "len", "ImportError", "_get"}  # _get is facts.get, bound once
ALLOWED_METHODS = {"get", "append"}
ALLOWED_IMPORTS = {("datetime", "date"), ("decimal", "Decimal")}


class PythonSnapshot(SingleFileSnapshotExtension):
    """One reviewable .py file per guideline (syrupy 7 spells the attribute `file_extension`)."""

    file_extension = "py"
    _file_extension = "py"  # the attribute's name in syrupy < 5
    _write_mode = WriteMode.TEXT


@pytest.fixture
def py_snapshot(snapshot):
    return snapshot.use_extension(PythonSnapshot)


def model(path):
    result = check_file(path)
    assert result.ok, [d.message for d in result.diagnostics]
    return result.model


def assert_safe_module(source: str) -> None:
    """Only allowed imports; every call is to a runtime export, an allowed constructor or a local function."""
    tree = ast.parse(source)
    local_functions = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            raise AssertionError(f"plain import: {ast.dump(node)}")
        if isinstance(node, ast.ImportFrom):
            if node.module == "compiler.runtime":
                assert all(a.name in rt.__all__ for a in node.names), ast.dump(node)
            else:
                assert {(node.module, a.name) for a in node.names} <= ALLOWED_IMPORTS, ast.dump(node)
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name):
                assert f.id in rt.__all__ or f.id in ALLOWED_CALLS or f.id in local_functions, f.id
            else:
                assert isinstance(f, ast.Attribute) and f.attr in ALLOWED_METHODS, ast.dump(f)
        assert not isinstance(node, (ast.Global, ast.Nonlocal, ast.Lambda, ast.ClassDef, ast.Delete)), ast.dump(node)
        if isinstance(node, ast.Attribute):
            assert not node.attr.startswith("__"), node.attr
        if isinstance(node, ast.Name):
            assert node.id not in ("eval", "exec", "open", "compile", "getattr", "__import__", "globals"), node.id


class TestGeneratedModule:
    """Snapshots live in tests/__snapshots__/test_codegen/ as .py files; the class keeps their names from matching test_*.py."""

    @pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
    def test_snapshot(self, path, py_snapshot):
        assert generate_module(model(path)) == py_snapshot


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_generation_is_deterministic(path):
    assert generate_module(model(path)) == generate_module(model(path))


def test_generation_is_byte_identical_across_processes():
    code = textwrap.dedent("""
        import sys
        from dsl import check_file
        from compiler.python import generate_module
        sys.stdout.write(generate_module(check_file(sys.argv[1]).model))
    """)
    path = str(GUIDELINES / "tpi.mtus")
    outs = set()
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        outs.add(subprocess.run([sys.executable, "-c", code, path], cwd=ROOT, env=env, check=True,
                                capture_output=True, text=True).stdout)
    assert outs == {generate_module(model(GUIDELINES / "tpi.mtus"))}


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_generated_module_is_safe(path):
    assert_safe_module(generate_module(model(path)))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_module_interface(path):
    g = model(path)
    before = (set(sys.modules), list(sys.path))
    m = load_module(generate_module(g), f"checker_{g.id}")
    assert (set(sys.modules), list(sys.path)) == before
    assert m.GUIDELINE_ID == g.id
    assert m.RUNTIME_VERSION == rt.RUNTIME_VERSION
    assert m.CRITERIA == tuple(c.id for c in g.criteria)
    assert m.SOURCE_FILE == path.name
    result = m.evaluate({}, RD)
    assert isinstance(result, rt.GuidelineResult) and result == evaluate(g, {}, RD)
    assert m.unmet({}, RD) == result.unmet_ids()


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_the_guidelines_examples_through_the_compiled_module(path):
    from compiler.testing import runtime_value
    g = model(path)
    m = load_module(generate_module(g), g.id)
    for ex in g.examples:
        facts = {name: runtime_value(v) for name, v in ex.facts}
        got = m.evaluate(facts, ex.request_date)
        assert got == evaluate(g, facts, ex.request_date)
        assert got.certified == ex.certified
        outcomes = {c.id: c.outcome for c in got.criteria}
        assert [(cid, outcomes[cid]) for cid, _ in ex.reasons] == list(ex.reasons)
        assert m.unmet(facts, ex.request_date) == got.unmet_ids()


def test_comments_name_guideline_criteria_and_source_lines():
    g = model(GUIDELINES / "tpi.mtus")
    source = generate_module(g)
    assert source.startswith(f"# Checker for guideline {g.id}: {g.title}\n")
    for c in g.criteria:
        assert f"# {'exclude ' if c.exclude else ''}{c.id}" in source
        assert f"(tpi.mtus:{c.span.line})" in source


def test_source_lines_map_each_criterion_back_to_its_mtus_line():
    g = model(GUIDELINES / "tpi.mtus")
    source = generate_module(g)
    m = load_module(source, "tpi_lines")
    lines = source.splitlines()
    for c in g.criteria:
        appends = [i for i, text in enumerate(lines, start=1) if text.strip() == f"_out.append({c.id!r})"]
        assert [rt.mtus_line(m.SOURCE_LINES, i) for i in appends] == [c.span.line]


def test_a_traceback_maps_back_to_the_mtus_line():
    g = model(GUIDELINES / "tpi.mtus")
    m = load_module(generate_module(g), "tpi_tb")
    per_session = next(c for c in g.criteria if c.id == "per_session")
    bad = {"injections": "five"}  # a case loader would never let this through
    for fn in (m.unmet, m.evaluate):
        with pytest.raises(TypeError) as info:
            fn(bad, RD)
        assert mtus_frames(info.value, m) == [("tpi.mtus", per_session.span.line)]


def test_a_runtime_of_another_version_is_refused(monkeypatch):
    source = generate_module(model(GUIDELINES / "tpi.mtus"))
    monkeypatch.setattr(rt, "RUNTIME_VERSION", rt.RUNTIME_VERSION + 1)
    with pytest.raises(ImportError, match="runtime version"):
        load_module(source, "tpi_old")


def test_fast_path_needs_no_result_objects():
    # unmet builds the list of ids only: no decide(), CriterionResult or FactValue in its body
    source = generate_module(model(GUIDELINES / "tpi.mtus"))
    tree = ast.parse(source)
    unmet = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "unmet")
    called = {n.func.id for n in ast.walk(unmet) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert not called & {"decide", "FactValue", "CriterionResult", "strict_m", "and_m"}
