"""The checking passes, in the order they run.

Each pass is a small function over a shared Context that adds diagnostics and
fills in the part of the model it guarantees. The driver stops after the first
pass that reports an error, so later passes can rely on earlier guarantees and
an author never sees errors that are only consequences of earlier ones.
"""

from __future__ import annotations

from dsl.passes.context import Context
from dsl.passes.declare import declare
from dsl.passes.resolve import resolve
from dsl.passes.typecheck import typecheck
from dsl.passes.validate import validate

#: (name, function) in running order. Each docstring states its guarantee.
PASSES = (
    ("declare", declare),
    ("resolve", resolve),
    ("typecheck", typecheck),
    ("validate", validate),
)


def run(ctx: Context) -> Context:
    for _name, fn in PASSES:
        fn(ctx)
        if any(d.is_error for d in ctx.diagnostics):
            break
    return ctx


__all__ = ["Context", "PASSES", "run"]
