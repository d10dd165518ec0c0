"""The import rules between the layers, read from the source (docs/architecture.md).

    grammar  <-  dsl  <-  compiler.build  <-  compiler.tools
                          compiler.check  <-  compiler.build, compiler.tools

compiler/check/ is what a reviewer's `mtus check` loads: it imports nothing from the
front end, Lark or the code generator. The one exception is named here: a source pack
whose cache entry is missing is compiled on demand (check/pack.py, inside a function).
The two back ends (build/codegen.py, build/interpret.py) do not import each other.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# layer -> the mtus packages (and third-party modules) it must never import
FORBIDDEN = {
    "compiler/check": ("mtus.dsl", "mtus.grammar", "mtus.compiler.build", "mtus.compiler.tools", "lark"),
    "compiler/build": ("mtus.compiler.tools",),
    "compiler/tools": (),  # the top: it may use every layer
    "dsl": ("mtus.compiler",),
    "grammar": ("mtus.dsl", "mtus.compiler"),
}
# (file, imported module) pairs allowed inside a function body: the on-demand compile of a source pack
LAZY_ALLOWED = {("compiler/check/pack.py", "mtus.compiler.build.packwriter")}


def imports(path: Path) -> list[tuple[str, bool, int]]:
    """Every module `path` imports: (name, at module level?, line)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    top = set(map(id, tree.body))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, id(node) in top, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.module, id(node) in top, node.lineno))
    return found


def _layer_files(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_point_one_way(layer):
    wrong = []
    for path in _layer_files(layer):
        rel = path.relative_to(ROOT).as_posix()
        for name, _top, line in imports(path):
            if (rel, name) in LAZY_ALLOWED:
                continue
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[layer]):
                wrong.append(f"{rel}:{line} imports {name}")
    assert not wrong, "\n".join(wrong)


# back ends -> modules they must not import: both call the runtime (and build/lowering.py), never each other
BACK_ENDS = {"compiler/build/codegen.py": "mtus.compiler.build.interpret",
             "compiler/build/interpret.py": "mtus.compiler.build.codegen"}


@pytest.mark.parametrize("rel", sorted(BACK_ENDS))
def test_the_back_ends_share_the_runtime_not_each_other(rel):
    assert BACK_ENDS[rel] not in [name for name, _top, _line in imports(ROOT / rel)]


def test_the_lazy_exception_is_lazy():
    for rel, name in LAZY_ALLOWED:
        found = [(n, top) for n, top, _ in imports(ROOT / rel) if n == name]
        assert found and not any(top for _, top in found), f"{rel} must import {name} inside a function only"


def test_every_layer_is_checked():
    layers = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "compiler").rglob("*.py")} - {"compiler"}
    assert layers <= set(FORBIDDEN), f"add the new layer to FORBIDDEN: {sorted(layers - set(FORBIDDEN))}"


def test_checking_with_a_compiled_pack_loads_no_front_end(tmp_path):
    """The rule above, observed: a whole `mtus check` run with a compiled pack, through click and through the
    console script. The console script's path (what `mtus check` runs, with a pack folder or the bundled pack
    from the cache) also imports neither attrs nor typing: check time's classes are written out by hand
    (runtime.Record), and its annotations are read by mypy only."""
    from mtus.compiler.build.packwriter import build_pack, write_pack

    pack = tmp_path / "pack"
    write_pack(build_pack([str(ROOT / "guidelines")]), str(pack))
    report = ("front = ('lark', 'mtus.dsl', 'mtus.grammar', 'mtus.compiler.build')\n"
              "slow = ('attrs', 'attr', 'typing')\n"
              "print([sorted(m for m in sys.modules if any(m == b or m.startswith(b + '.') for b in bad))\n"
              "       for bad in (front, slow)])")
    via_click = ("import sys\nfrom mtus.compiler.tools.cli import main\n"
                 "try:\n    main(['check', sys.argv[1], '--pack', sys.argv[2]])\nexcept SystemExit:\n    pass\n")
    via_script = ("import sys\nfrom mtus.compiler.tools.entry import main\n"
                  "sys.argv = ['mtus', 'check', sys.argv[1]] + (['--pack', sys.argv[2]] if sys.argv[2] else [])\n"
                  "try:\n    main()\nexcept SystemExit:\n    pass\n")
    found = {}
    # the bundled pack twice: the first run compiles it into the cache, the second opens it as any pack
    runs = (("click", via_click, pack), ("script", via_script, pack), ("cold", via_script, ""),
            ("bundled", via_script, ""))
    for name, code, pack_arg in runs:
        r = subprocess.run([sys.executable, "-c", code + report, str(ROOT / "docs" / "examples" / "seed-2014-12-18.yaml"),
                            str(pack_arg)], capture_output=True, text=True,
                           env=dict(os.environ, MTUS_CACHE_DIR=str(tmp_path / "cache")))
        assert r.returncode == 0, r.stderr
        assert "UPHELD" in r.stdout
        found[name] = ast.literal_eval(r.stdout.strip().splitlines()[-1])
    assert found["click"][0] == []  # click itself imports typing
    assert found["script"] == [[], []]
    assert found["bundled"] == [[], []]


def test_the_front_end_imports_lark_only_when_it_needs_it():
    """A file that parses is read from the tables kept in the grammar cache (dsl/parser.py: _front_path), so the
    front end imports Lark inside functions only: where a file has an error, and for the tools that use Lark's
    tree (tests/test_parser_kept.py checks a whole check of a file in a fresh process)."""
    for name in ("parser", "build", "reduce", "syntax_errors", "frontend", "source", "diagnostics", "model"):
        path = ROOT / "dsl" / f"{name}.py"
        top = [line for module, at_top, line in imports(path) if at_top and (module == "lark" or module.startswith(
            ("lark.", "mtus.dsl.larktree")))]
        assert not top, f"dsl/{name}.py imports Lark at module level (line {top})"
    r = subprocess.run([sys.executable, "-c", "import sys, mtus.dsl.frontend, mtus.dsl.parser\n"
                        "print(sorted(m for m in sys.modules if m == 'lark' or m.startswith('lark.')))"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stderr
