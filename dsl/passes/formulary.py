"""The one pass of a formulary file: its vocabulary is consistent; build model.Formulary.

Guarantees: ingredient names are unique, and so are product names, the
classes of one ingredient and the ingredients of one product (all compared as
texts are matched: ignoring case and runs of spaces); every ingredient a
product lists is declared under `ingredients` (E207, with "did you mean");
`source` is given at most once. Reports E401 and E207. The model lists a
product's ingredients as the `ingredients` section spells them.
"""

from __future__ import annotations

from typing import Optional

from mtus.dsl import ast, model
from mtus.dsl import diagnostics as diag
from mtus.dsl.passes.context import Context, did_you_mean
from mtus.dsl.passes.literals import text_key


def _unique(ctx: Context, items: tuple[ast.StringLit, ...], what: str) -> list[ast.StringLit]:
    """The items without repeats (E401 for each repeat), in order."""
    seen: dict[str, ast.StringLit] = {}
    for s in items:
        k = text_key(s.value)
        if k in seen:
            same = seen[k].value == s.value
            ctx.report(diag.error(
                "E401", f'"{s.value}" is listed twice {what}' if same else
                f'"{s.value}" and "{seen[k].value}" are the same name {what}', s.span,
                notes=[diag.Note("first listed here", seen[k].span)],
                hint="delete the second one" + ("" if same else "; names are matched ignoring case and spacing")))
        else:
            seen[k] = s
    return list(seen.values())


def check_formulary(ctx: Context) -> None:
    """Check a formulary file and assemble model.Formulary when it has no errors."""
    tree: ast.Formulary = ctx.tree
    for keyword, span, first in tree.repeated:
        ctx.report(diag.error("E401", f"`{keyword}` is given twice for the formulary", span,
                              notes=[diag.Note("first given here", first)],
                              hint="keep one; the second would silently replace the first"))
    declared: dict[str, ast.Ingredient] = {}
    ingredients = []
    for ing in tree.ingredients:
        k = text_key(ing.name.value)
        if k in declared:
            first = declared[k].name
            same = first.value == ing.name.value
            ctx.report(diag.error(
                "E401", f'ingredient "{ing.name.value}" is declared twice' if same else
                f'ingredients "{ing.name.value}" and "{first.value}" are the same name', ing.name.span,
                notes=[diag.Note("first declared here", first.span)],
                hint="list all its classes on one line: " + f'`"{first.value}": "class", "another class"`'
                + ("" if same else "; names are matched ignoring case and spacing")))
            continue
        declared[k] = ing
        classes = _unique(ctx, ing.classes, f'as a class of "{ing.name.value}"')
        ingredients.append(model.Ingredient(ing.name.value, tuple(c.value for c in classes), ing.name.span))
    names = [i.name.value for i in tree.ingredients]
    seen: dict[str, ast.Product] = {}
    products = []
    for p in tree.products:
        k = text_key(p.name.value)
        if k in seen:
            first = seen[k].name
            same = first.value == p.name.value
            ctx.report(diag.error(
                "E401", f'product "{p.name.value}" is declared twice' if same else
                f'products "{p.name.value}" and "{first.value}" are the same name', p.name.span,
                notes=[diag.Note("first declared here", first.span)],
                hint="keep one line per product" + ("" if same else "; names are matched ignoring case and spacing")))
            continue
        seen[k] = p
        listed = []
        for s in _unique(ctx, p.ingredients, f'in product "{p.name.value}"'):
            ing = declared.get(text_key(s.value))
            if ing is None:
                ctx.report(diag.error("E207", f'"{s.value}" is not an ingredient declared in this formulary', s.span,
                                      hint=_ingredient_hint(s.value, names)))
            else:
                listed.append(ing.name.value)
        products.append(model.Product(p.name.value, tuple(listed), p.form.value if p.form else None, p.name.span))
    if any(d.is_error for d in ctx.diagnostics):
        return
    ctx.model = model.Formulary(
        id=tree.id, title=tree.title, citation=_citation(tree.citation), ingredients=tuple(ingredients),
        products=tuple(products), path=ctx.source.path, span=tree.span,
    )


def _ingredient_hint(name: str, names: list[str]) -> str:
    return did_you_mean(name, names, quote='"') or \
        f'declare it under `ingredients` with its classes, e.g. `"{name}": "opioid"`'


def _citation(c: Optional[ast.Citation]) -> Optional[model.Citation]:
    if c is None:
        return None
    return model.Citation(c.source or "", c.section, c.pages.text if c.pages else None)
