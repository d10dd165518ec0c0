"""`mtus lint`: check files (or standard input) and render their diagnostics."""

from __future__ import annotations

import sys

import attrs

from mtus.dsl import diagnostics as diag
from mtus.dsl import lints, model
from mtus.dsl.frontend import check_paths, find_sources


def with_lints(result) -> list:
    """A file's diagnostics and, for a guideline that checks, the silence lints (dsl/lints.py)."""
    ds = list(result.diagnostics)
    if isinstance(result.model, model.Guideline):
        ds = diag.finalize(ds + lints.lint(result.model))
    return ds


@attrs.frozen
class LintReport:
    output: str
    summary: str
    exit_code: int  # 0 clean (warnings allowed), 1 errors, 2 nothing to check


def check_inputs(paths, stdin=None) -> list:
    """The front end's result for each `.mtus` file named or found in the folders named; `-` reads `stdin`."""
    from mtus.dsl.frontend import check_text

    results = []
    for p in paths:
        if str(p) == "-":
            results.append(check_text((stdin or sys.stdin).read(), "<stdin>"))
        else:
            results += check_paths(find_sources([p]))
    return results


def lint_paths(paths, fmt: str = "text", stdin=None) -> LintReport:
    results = check_inputs(paths, stdin)
    if not results:
        return LintReport("", "no .mtus files found in " + ", ".join(map(str, paths)), 2)
    if all(r.ok for r in results):  # the pack-level check needs every file's model
        from mtus.compiler.build.packwriter import with_fact_conflicts

        results = with_fact_conflicts(results)
    ds = [d for r in results for d in with_lints(r)]
    if fmt == "json":
        out = diag.render_json(ds)
    else:
        out = diag.render_text(ds, {r.source.path: r.source for r in results})
    n = len(results)
    summary = f"checked {n} file{'s' if n != 1 else ''}: {diag.summary(ds)}"
    return LintReport(out, summary, 1 if any(d.is_error for d in ds) else 0)
