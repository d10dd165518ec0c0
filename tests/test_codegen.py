"""The Python backend: generated modules are reviewed snapshots, deterministic, safe, and agree with the interpreter."""

from __future__ import annotations

import ast
import datetime
import os
import subprocess
import sys
import textwrap
from decimal import Decimal

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from mtus.compiler.check import runtime as rt
from mtus.compiler.build.interpret import evaluate
from mtus.compiler.build.codegen import generate_module, load_module, mtus_frames
from mtus.dsl import check_file, check_text
from tests.conftest import GUIDELINES, ROOT



def _first_keyword(path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            return words[0]
    return ""


#: The bundled guidelines (a formulary file among them is a drug vocabulary, not a checker).
FILES = [p for p in sorted(GUIDELINES.glob("*.mtus")) if _first_keyword(p) != "formulary"]
RD = datetime.date(2014, 12, 18)

#: What generated code may call besides runtime names and its own local functions.
ALLOWED_CALLS = {"Decimal", "date", "frozenset", "len", "ImportError", "_get"}  # _get is facts.get, bound once
ALLOWED_METHODS = {"get", "append"}
ALLOWED_IMPORTS = {("datetime", "date"), ("decimal", "Decimal")}


EXTENSIONS_TEXT = """\
guideline opioids "Opioids: on-going management"
  source "MTUS Chronic Pain Medical Treatment Guidelines" pages 74-96

facts
  ingredients: set of text "ingredients of the requested product" from product ingredients
  form: one of {"tablet", "patch"} "dosage form"
  visits_to_date: count "visits to date"
  visits_requested: count "visits requested"
  regimen: history "opioids taken"
    date: date "date"
    drug: text "opioid"
    daily_mg: number "daily dose in mg"
  onset: date "onset of pain"

tables
  mme_factor: number "morphine milligram equivalent conversion factor"
    "codeine": 0.15
    "hydrocodone": 1
    "Oxycodone": 1.5
  trial: duration "length of a trial"
    "tablet": 4 weeks
    "patch": 1 month

criteria
  ceiling: sum(regimen of daily_mg * mme_factor[drug] within 3 months where daily_mg > 0) <= 120
  no_acetaminophen: not (ingredients contains "acetaminophen")
  trial_over: time from onset to request.date >= trial[form]
  visit_limit: visits_to_date + visits_requested <= 10
    allows fewer visits_requested
  per_request: visits_requested <= 8
    allows fewer visits_requested
  chronic: onset + 3 months < request.date

example "partial"
  given request.date = 2014-12-18, visits_to_date = 4, visits_requested = 12, regimen = [], onset = 2014-01-02
  given form = "tablet", ingredients = {"oxycodone"}
  expect modified 6 because visit_limit not met
"""


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


def model_of(text: str, path: str = "opioids.mtus"):
    result = check_text(text, path)
    assert result.ok, [d.message for d in result.diagnostics]
    return result.model


EXTENSIONS = model_of(EXTENSIONS_TEXT)


def assert_safe_module(source: str) -> None:
    """Only allowed imports; every call is to a runtime export, an allowed constructor or a local function."""
    tree = ast.parse(source)
    local_functions = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            raise AssertionError(f"plain import: {ast.dump(node)}")
        if isinstance(node, ast.ImportFrom):
            if node.module == "mtus.compiler.check.runtime":
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

    def test_extensions_snapshot(self, py_snapshot):
        """Tables, sum of an expression, allows fewer and calendar arithmetic, as a reviewer reads them."""
        assert generate_module(EXTENSIONS) == py_snapshot


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_generation_is_deterministic(path):
    assert generate_module(model(path)) == generate_module(model(path))


def test_generation_is_byte_identical_across_processes():
    code = textwrap.dedent("""
        import sys
        from mtus.dsl import check_file, check_text
        from mtus.compiler.build.codegen import generate_module
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
    from mtus.compiler.tools.examples import runtime_value
    g = model(path)
    m = load_module(generate_module(g), g.id)
    for ex in g.examples:
        facts = {name: runtime_value(v) for name, v in ex.facts}
        got = m.evaluate(facts, ex.request_date)
        assert got == evaluate(g, facts, ex.request_date)
        assert got.certified == ex.certified
        assert (got.modified.certified if got.modified is not None else None) == ex.modified
        outcomes = {c.id: c.outcome for c in got.criteria}
        assert [(cid, outcomes[cid]) for cid, _ in ex.reasons] == list(ex.reasons)
        assert m.unmet(facts, ex.request_date) == got.unmet_ids()


def test_comments_name_guideline_criteria_and_source_lines():
    g = model(GUIDELINES / "tpi.mtus")
    source = generate_module(g)
    # the first two lines are fixed (Python reads a `coding:` declaration there); the title comes after
    assert source.splitlines()[2] == f"# Checker for guideline {g.id}: {g.title}"
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


# ------------------------------------------- tables, sums of, partial certification
def test_extension_module_is_safe_and_keeps_tables_as_module_constants():
    source = generate_module(EXTENSIONS)
    assert_safe_module(source)
    tree = ast.parse(source)
    tables = {n.targets[0].id: n.value for n in tree.body
              if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name) and n.targets[0].id.startswith("_table")}
    assert set(tables) == {"_table_mme_factor", "_table_trial"}
    m = load_module(source, "opioids_tables")
    # keys as they are compared; values as the runtime reads them
    assert m._table_mme_factor == {"codeine": Decimal("0.15"), "hydrocodone": 1, "oxycodone": Decimal("1.5")}
    assert m._table_trial == {"tablet": rt.Duration(0, 28), "patch": rt.Duration(1, 0)}
    for value in tables.values():
        assert isinstance(value, ast.Dict) and all(isinstance(k, ast.Constant) for k in value.keys)


def _small_guidelines():
    from tests import test_interpret as ti
    return {"opioids": ti.OPIOIDS, "few": ti.ONE_OF_FEW, "calendar": ti.CALENDAR, "extensions": EXTENSIONS}


SMALL_CASES = [
    ({"drug": "codeine", "form": "tablet", "regimen": (), "visits_to_date": 4, "visits_requested": 12}, RD),
    ({"drug": " Oxycodone  ER", "form": "patch", "visits_to_date": 4, "visits_requested": 2,
      "regimen": ({"date": RD, "drug": "hydrocodone", "daily_mg": 60, "weeks": rt.Duration(0, 42)},
                  {"date": RD, "drug": "fentanyl", "daily_mg": 1}, {"daily_mg": 3})}, RD),
    ({"drug": "tramadol", "form": "tablet", "visits_to_date": 9, "visits_requested": 40,
      "regimen": ({"date": RD, "drug": "Oxycodone", "daily_mg": 80},)}, RD),
    ({"sessions": 7, "hours": 1, "weekly": False}, RD),
    ({"sessions": 9, "hours": 12, "weekly": True}, RD),
    ({"sessions": 2, "hours": 12, "weekly": None}, RD),
    ({"onset": datetime.date(9999, 12, 1), "lasted": rt.Duration(1, 0), "visits": ({"date": datetime.date(1, 1, 1)},)},
     datetime.date(9999, 12, 18)),
    ({"onset": datetime.date(1, 2, 1), "lasted": rt.Duration(0, 42), "visits": ({"date": datetime.date(1, 2, 1)},)},
     datetime.date(1, 3, 1)),
    ({"onset": datetime.date(2014, 1, 2), "form": "tablet", "ingredients": frozenset({"Acetaminophen "}),
      "visits_to_date": 4, "visits_requested": 12, "regimen": ()}, RD),
    ({"onset": datetime.date(2014, 1, 2), "form": "tablet", "ingredients": frozenset({"oxycodone"}),
      "visits_to_date": 4, "visits_requested": 12, "regimen": ()}, RD),
    ({"onset": datetime.date(9999, 11, 30), "form": "patch", "ingredients": frozenset(),
      "visits_to_date": 0, "visits_requested": 9, "regimen": ()}, datetime.date(9999, 12, 31)),
]


@pytest.mark.parametrize("name", ["opioids", "few", "calendar", "extensions"])
def test_extensions_compiled_agree_with_the_interpreter(name):
    g = _small_guidelines()[name]
    m = load_module(generate_module(g), name)
    modified = 0
    for facts, request_date in SMALL_CASES:
        facts = {k: v for k, v in facts.items() if g.fact(k) is not None}
        expected = evaluate(g, facts, request_date)
        got = m.evaluate(facts, request_date)
        assert got == expected, facts
        assert got.modified == expected.modified and got.to_json() == expected.to_json()
        assert m.unmet(facts, request_date) == expected.unmet_ids()  # ids at the amount requested
        modified += got.modified is not None
    assert modified or name == "calendar"


def test_the_fast_path_is_not_searched_for_a_modification():
    source = generate_module(EXTENSIONS)
    tree = ast.parse(source)
    unmet = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "unmet")
    called = {n.func.id for n in ast.walk(unmet) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert "modify" not in called
    m = load_module(source, "opioids_fast")
    facts, request_date = SMALL_CASES[8]
    assert m.unmet(facts, request_date) == ["no_acetaminophen", "visit_limit", "per_request"]
    facts = dict(facts, ingredients=frozenset({"oxycodone"}))
    r = m.evaluate(facts, request_date)
    assert r.modified == rt.Modification("visits_requested", 6, 12) and r.determination == "modified"
    assert m.unmet(facts, request_date) == ["visit_limit", "per_request"]


def test_a_guideline_without_allows_fewer_has_no_search():
    source = generate_module(model(GUIDELINES / "tpi.mtus"))
    assert "modify" not in source and "_ALLOWS_FEWER" not in source


def test_calendar_arithmetic_off_the_calendar_never_raises_in_compiled_code():
    g = _small_guidelines()["calendar"]
    m = load_module(generate_module(g), "calendar_ends")
    for onset in (datetime.date(9999, 12, 31), datetime.date(1, 1, 1), datetime.date(9999, 10, 31)):
        for rd in (datetime.date(9999, 12, 31), datetime.date(1, 1, 1), datetime.date(1, 1, 31)):
            for lasted in (rt.Duration(0, 10**6), rt.Duration(10**6, 0), rt.Duration(-5, 0), rt.Duration(1, 0)):
                facts = {"onset": onset, "lasted": lasted, "visits": ({"date": onset}, {})}
                expected = evaluate(g, facts, rd)
                assert m.evaluate(facts, rd) == expected
                assert m.unmet(facts, rd) == expected.unmet_ids()
