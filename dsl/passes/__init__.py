"""The checking passes, in the order they run.

Each pass is a small function over a shared Context that adds diagnostics and
fills in the part of the model it guarantees. Every pass runs, so a file with
several independent mistakes reports all of them; a pass skips what an
earlier pass could not establish (an unknown name is in ctx.failed, a
mistyped expression has no typed form), so an author never sees errors that
are only consequences of earlier ones. The model is built only when no pass
reported an error.

A formulary file (a drug vocabulary, not a guideline) has one pass of its own,
passes/formulary.py.
"""

from __future__ import annotations

from mtus.dsl import ast
from mtus.dsl.passes.context import Context
from mtus.dsl.passes.declare import declare
from mtus.dsl.passes.formulary import check_formulary
from mtus.dsl.passes.resolve import resolve
from mtus.dsl.passes.typecheck import typecheck
from mtus.dsl.passes.validate import validate

#: (name, function) in running order. Each docstring states its guarantee.
PASSES = (
    ("declare", declare),
    ("resolve", resolve),
    ("typecheck", typecheck),
    ("validate", validate),
)


def run(ctx: Context) -> Context:
    if isinstance(ctx.tree, ast.Formulary):
        check_formulary(ctx)
        return ctx
    for _name, fn in PASSES:
        fn(ctx)
    return ctx


__all__ = ["Context", "PASSES", "run"]
