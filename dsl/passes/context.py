"""State shared by the checking passes: the AST in, diagnostics and the model out."""

from __future__ import annotations

import difflib
from typing import Iterable, Optional, Union

import attrs

from mtus.dsl import ast, model
from mtus.dsl.diagnostics import Diagnostic
from mtus.dsl.source import Source


@attrs.define
class Context:
    source: Source
    tree: Union[ast.Guideline, ast.Formulary]
    diagnostics: list[Diagnostic] = attrs.field(factory=list)
    # declare: every fact with its type, keyed by name
    facts: dict[str, model.Fact] = attrs.field(factory=dict)
    # declare: every table with its value type and typed entries, keyed by name
    tables: dict[str, model.Table] = attrs.field(factory=dict)
    # declare: tables whose declaration had an error (lookups in them are not checked further)
    broken_tables: set[str] = attrs.field(factory=set)
    # declare: the named values (`let`) that may be used, keyed by name (not those under a `when`)
    lets: dict[str, ast.Let] = attrs.field(factory=dict)
    # resolve: names of the named values that criteria, conditions or other values use
    lets_used: set[str] = attrs.field(factory=set)
    # typecheck: each named value with its typed expression (absent if its expression had an error)
    values: dict[str, model.NamedValue] = attrs.field(factory=dict)
    # resolve: what each path in an expression names ("fact", "field", "value", "request.date"), by id() of
    # the ast.Path (as ctx.failed: hashing a path by value hashed its spans, a tenth of the passes' time)
    resolved: dict[int, str] = attrs.field(factory=dict)
    # resolve: id() of AST nodes whose names were reported as unknown (later passes skip them)
    failed: set[int] = attrs.field(factory=set)
    # resolve: names of the facts that criteria and `when` conditions read
    read: set[str] = attrs.field(factory=set)
    # resolve: names of the tables that criteria and `when` conditions look up
    tables_read: set[str] = attrs.field(factory=set)
    # typecheck: typed criteria, conditions and examples
    criteria: list[model.Criterion] = attrs.field(factory=list)
    conditions: list[model.Condition] = attrs.field(factory=list)
    examples: list[model.Example] = attrs.field(factory=list)
    # validate: the finished model (a formulary file's model comes from passes/formulary.py)
    model: Optional[Union[model.Guideline, model.Formulary]] = None

    def report(self, d: Diagnostic) -> None:
        self.diagnostics.append(d)


def did_you_mean(name: str, candidates: Iterable[str], quote: str = "`") -> Optional[str]:
    """A "did you mean" hint for a misspelled name (or, with quote='"', a value), or None."""
    pool = sorted(set(candidates))
    matches = difflib.get_close_matches(name, pool, n=3, cutoff=0.6)
    if not matches:
        matches = [c for c in pool if c.lower() == name.lower()]
    if not matches:
        return None
    shown = [f"{quote}{m}{quote}" for m in matches]
    if len(shown) == 1:
        return f"did you mean {shown[0]}?"
    return "did you mean " + ", ".join(shown[:-1]) + f" or {shown[-1]}?"
