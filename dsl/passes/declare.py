"""Pass 1, declare: every fact, history field and table gets a type and a label.

Guarantees: fact names, field names, table names, table keys and `one of`
members are unique; each fact and table has a model.Type; defaults and table
entries have their fact's or table's type; a fact bound to the product
(`from product ...`) names a product field and has its type. Reports E401,
E205, E305, E306, E308, E310, E405, E406, and E110 for a fact, field or table
named like a keyword. After an error it still declares the fact or table as
the author most likely meant it (the first of two duplicates; a `quantity
weeks` as a duration), so that later passes do not report consequences.
"""

from __future__ import annotations

from mtus.dsl import ast, model
from mtus.dsl import diagnostics as diag
from mtus.dsl.passes import literals
from mtus.dsl.passes.literals import text_key
from mtus.dsl.passes.context import Context, did_you_mean
from mtus.dsl.passes.hints import example_of

_SIMPLE = {
    "finding": model.T_BOOL, "number": model.T_NUMBER, "count": model.T_COUNT,
    "percent": model.T_PERCENT, "duration": model.T_DURATION, "date": model.T_DATE,
    "text": model.T_TEXT,
}
_DECLARED = {"enum": "one of", "set_text": "set of text", "set_enum": "set of", "finding": "finding",
             "set_icd10": "set of icd10", "set_cpt": "set of cpt"}


def humanize(name: str) -> str:
    return name.replace("_", " ").strip()


#: Words that begin a value in a condition, so a fact or field named so could not be read.
OPERAND_KEYWORDS = frozenset({"not", "any", "all", "count", "sum", "last", "first", "time", "at", "documented",
                              "present", "absent"})


def _check_name(ctx: Context, name: str, span, what: str) -> None:
    if name in OPERAND_KEYWORDS:
        ctx.report(diag.error("E110", f"`{name}` is a word of the language and cannot name a {what}", span,
                              hint=f"conditions would read `{name}` as the keyword; rename the {what}, e.g. `{name}_`"))


def _members(ctx: Context, ref: ast.TypeRef) -> tuple[str, ...]:
    seen: dict[str, ast.StringLit] = {}
    for m in ref.members:
        if m.value in seen:
            ctx.report(diag.error("E401", f'"{m.value}" is listed twice', m.span,
                                  notes=[diag.Note("first listed here", seen[m.value].span)],
                                  hint="delete the second one"))
        else:
            seen[m.value] = m
    return tuple(seen)


def type_of(ctx: Context, ref: ast.TypeRef, fields: tuple[ast.Field, ...] = (), in_history=False) -> model.Type:
    if ref.kind == "count" and ref.unit is not None:
        if ref.unit.lower() in literals.DURATION_UNITS:
            ctx.report(diag.error("E306", f"`{ref.unit}` is a unit of time, not what a count counts", ref.span,
                                  hint="declare a length of time as `duration`; a count counts things, "
                                       "e.g. `count visits`"))
            return model.T_COUNT
        return model.Type(model.COUNT, unit=ref.unit)
    if ref.kind in _SIMPLE:
        return _SIMPLE[ref.kind]
    if ref.kind == "quantity":
        if ref.unit.lower() in literals.DURATION_UNITS:
            ctx.report(diag.error("E306", f"`{ref.unit}` is a unit of time, not of a quantity", ref.span,
                                  hint="declare the fact as `duration`; a duration can be compared with any "
                                       "unit of time, e.g. `>= 6 weeks`"))
            return model.T_DURATION
        return model.Type(model.QUANTITY, unit=ref.unit)
    if ref.kind == "enum":
        return model.Type(model.ENUM, members=_members(ctx, ref))
    if ref.kind == "set_text":
        return model.Type(model.SET, element=model.T_TEXT)
    if ref.kind in ("icd10", "cpt"):
        return model.Type(model.CODE, system=ref.kind)
    if ref.kind in ("set_icd10", "set_cpt"):
        return model.Type(model.SET, element=model.Type(model.CODE, system=ref.kind[4:]))
    if ref.kind == "set_enum":
        return model.Type(model.SET, element=model.Type(model.ENUM, members=_members(ctx, ref)))
    if ref.kind == "history":
        if in_history:
            ctx.report(diag.error("E301", "a history field cannot itself be a history", ref.span,
                                  hint="declare the nested history as a separate fact"))
        seen: dict[str, ast.Field] = {}
        out = []
        for f in fields:
            if f.name in seen:
                ctx.report(diag.error("E401", f"field `{f.name}` is declared twice", f.name_span,
                                      notes=[diag.Note("first declared here", seen[f.name].name_span)],
                                      hint="rename one of them or delete the second"))
                continue
            seen[f.name] = f
            _check_name(ctx, f.name, f.name_span, "field")
            out.append(model.Field(f.name, type_of(ctx, f.type, in_history=True), f.label or humanize(f.name)))
        return model.Type(model.HISTORY, fields=tuple(out))
    raise AssertionError(ref.kind)


#: What a request's product provides to a fact declared `from product FIELD`, and the type it has.
PRODUCT_FIELDS = {
    "ingredients": (model.Type(model.SET, element=model.T_TEXT), "set of text"),
    "classes": (model.Type(model.SET, element=model.T_TEXT), "set of text"),
    "form": (model.T_TEXT, "text"),
    "name": (model.T_TEXT, "text"),
}
_PRODUCT_WHAT = {"ingredients": "the names of the product's ingredients",
                 "classes": "the classes of the product's ingredients",
                 "form": "the product's dosage form", "name": "the product's name"}


def _product_source(ctx: Context, f: ast.Fact, t: model.Type):
    """The product field a fact is bound to, checked against the fact's type; None if there is none or it is wrong."""
    if f.source is None:
        return None
    if f.source not in PRODUCT_FIELDS:
        hint = did_you_mean(f.source, PRODUCT_FIELDS) or \
            "a product provides `ingredients`, `classes`, `form` or `name`"
        ctx.report(diag.error("E205", f"a product has no `{f.source}`", f.source_span, hint=hint))
        return None
    want, written = PRODUCT_FIELDS[f.source]
    if t != want:
        ctx.report(diag.error("E308", f"`from product {f.source}` gives {want.describe()}, but `{f.name}` is declared "
                                      f"as {t.describe()}", f.type.span,
                              hint=f"{_PRODUCT_WHAT[f.source]} are read as `{written}`: declare "
                                   f"`{f.name}: {written}`" if written.startswith("set") else
                              f"{_PRODUCT_WHAT[f.source]} is read as `{written}`: declare `{f.name}: {written}`"))
        return None
    return f.source


#: The parts of a request item a fact may be read from (`from item quantity`): what each is, and what it is
#: read as (the declaration it needs).
ITEM_PARTS = {
    "quantity": ("the number of units it requests (\"x4\", \"#60\", \"2x6\": 12)", "injections, visits, sessions"),
    "levels": ("the number of spinal levels it names (\"L4-5 and L5-S1\": 2)", "levels to be injected"),
    "length": ("the length of use it states (\"rental x30 days\", \"3-month rental\")", "a length of use or rental"),
    "purchase": ("whether it is a purchase (\"purchase\": present; \"rental\": absent)", "a purchase"),
    "frequency": ("the visits per week it states (\"2x6\", \"3 times a week for 4 weeks\": 2, 3)", "visits per week"),
    "hours": ("the hours of care per week it states (\"4 hrs/day x 5 days/week\": 20)", "hours of care per week"),
    "days": ("the full days of a day program it requests (\"x10 days\"; \"160 hours\": 20; \"2 weeks\": 10)",
             "full-day sessions"),
}
#: The kinds of fact each part fills, and how the declaration reads.
_PART_KINDS = {"quantity": ((model.COUNT, model.NUMBER), "count"), "levels": ((model.COUNT, model.NUMBER), "count"),
               "length": ((model.DURATION,), "duration"), "purchase": ((model.BOOL,), "finding"),
               "frequency": ((model.COUNT, model.NUMBER), "count"), "hours": ((model.COUNT, model.NUMBER), "count"),
               "days": ((model.COUNT, model.NUMBER), "count")}


def _article(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def _item_source(ctx: Context, f: ast.Fact, t: model.Type, first: dict[str, ast.Fact], detail: bool):
    """The item part a fact is read from (`from item quantity`), checked; None if there is none or it is wrong.

    E465 an unknown part, E466 a fact that is not a count or number, E467 a
    second fact from the same part (one item states one quantity), W430 a fact
    that is not a request detail (the part describes the request). `first`
    holds the fact first read from each part.
    """
    part = f.from_item
    if part is None:
        return None
    span = f.from_item_span or f.span
    if part not in ITEM_PARTS:
        listed = [f"its `{p}`, {what}" for p, (what, _) in ITEM_PARTS.items()]
        parts = "; ".join(listed[:-1]) + "; and " + listed[-1]
        ctx.report(diag.error("E465", f"a request item has no `{part}` to read `{f.name}` from", span,
                              hint=did_you_mean(part, ITEM_PARTS) or f"an item gives {parts}"))
        return None
    counts = ITEM_PARTS[part][1]
    kinds, word = _PART_KINDS[part]
    if t.kind not in kinds:
        ctx.report(diag.error("E466", f"`{f.name}` is {t.describe()}, but an item's {part} is {_article(word)}",
                              f.type.span, hint=f"declare `{f.name}: {word} \"...\"` for {counts}, or delete "
                                                f"`from item {part}`"))
        return None
    if part in first:
        earlier = first[part]
        ctx.report(diag.error("E467", f"`{f.name}` and `{earlier.name}` are both read from the item's {part}", span,
                              notes=[diag.Note("first read from it here", earlier.from_item_span or earlier.span)],
                              hint=f"an item states one {part}: keep `from item {part}` on the fact a reviewer "
                                   "reads it as"))
        return None
    if not detail:
        ctx.report(diag.warning("W430", f"`{f.name}` is read from the item's {part} but is not a request detail",
                                span, hint=f"the {part} describes the request: write `{f.name}: ... from item {part}, "
                                           "request detail, checked when stated` (or `required`)"))
    return part


#: The kinds of value a table can hold.
TABLE_KINDS = ("number", "count", "percent", "quantity", "duration", "text")


def _tables(ctx: Context) -> None:
    seen: dict[str, ast.Table] = {}
    for tb in ctx.tree.tables:
        if tb.name in seen:
            ctx.report(diag.error("E401", f"table `{tb.name}` is declared twice", tb.name_span,
                                  notes=[diag.Note("first declared here", seen[tb.name].name_span)],
                                  hint="rename one of them or delete the second"))
            continue
        seen[tb.name] = tb
        if tb.name in ctx.facts:
            fact = next(f for f in ctx.tree.facts if f.name == tb.name)
            ctx.report(diag.error("E401", f"`{tb.name}` is declared as a fact and as a table", tb.name_span,
                                  notes=[diag.Note("the fact is declared here", fact.name_span)],
                                  hint="give the table its own name, e.g. `" + tb.name + "_table`"))
        _check_name(ctx, tb.name, tb.name_span, "table")
        t = type_of(ctx, tb.type)
        label = tb.label or humanize(tb.name)
        if tb.type.kind not in TABLE_KINDS:
            ctx.report(diag.error("E310", f"a table cannot hold {t.describe() if t.kind != model.HISTORY else 'histories'}",
                                  tb.type.span,
                                  hint="a table gives each key a number, count, percent, quantity, duration or "
                                       "text; for a finding per key, write the condition with `in`, e.g. "
                                       '`drug in {"codeine", "tramadol"}`'))
            ctx.broken_tables.add(tb.name)
            ctx.tables[tb.name] = model.Table(tb.name, t, label, (), tb.span)
            continue
        if not tb.entries:
            ctx.report(diag.error("E406", f"table `{tb.name}` has no entries", tb.name_span,
                                  hint='list its entries on the lines below it, indented, one `"key": value` '
                                       f"each, e.g. `\"codeine\": {example_of(t)[1:-1]}`"))
            ctx.broken_tables.add(tb.name)
        keys: dict[str, ast.TableEntry] = {}
        entries = []
        otherwise = _table_entry(ctx, tb, tb.otherwise, t) if tb.otherwise is not None else None
        for e in tb.entries:
            k = text_key(e.key.value)
            if k in keys:
                same = keys[k].key.value == e.key.value
                ctx.report(diag.error("E401", f'"{e.key.value}" is listed twice in table `{tb.name}`' if same else
                                      f'"{e.key.value}" and "{keys[k].key.value}" are the same key', e.key.span,
                                      notes=[diag.Note("first listed here", keys[k].key.span)],
                                      hint="keep one entry per key" + ("" if same else
                                           "; keys are matched ignoring case and spacing, like texts")))
                continue
            keys[k] = e
            entry = _table_entry(ctx, tb, e, t)
            if entry is not None:
                entries.append(entry)
        ctx.tables[tb.name] = model.Table(tb.name, t, label, tuple(entries), tb.span, otherwise)


def _table_value(ctx: Context, tb: ast.Table, lit, t: model.Type):
    """One value of a table entry, typed with the table's type; None if reported (E305, E308)."""
    c = literals.literal(lit)
    if isinstance(c, diag.Diagnostic):
        ctx.report(c)
        return None
    fitted = literals.fits(c, t)
    if fitted is None:
        shown = f'"{c.text}"' if c.type.kind == model.TEXT else f"`{c.text}`"
        ctx.report(diag.error("E308", f"{shown} is not {t.describe()}, the type of table `{tb.name}`", lit.span,
                              hint=f"write the number alone: `{c.value}`" if t.kind in model.NUMERIC
                              and c.type.kind in (model.PERCENT, model.QUANTITY) else
                              f"write {t.describe()} such as {example_of(t)}"))
    return fitted


def _table_entry(ctx: Context, tb: ast.Table, e: ast.TableEntry, t: model.Type):
    """An entry (or the `otherwise` row) typed: a value, or a range whose ends are in order (E305)."""
    if not isinstance(e.value, ast.RangeLit):
        value = _table_value(ctx, tb, e.value, t)
        return None if value is None else model.TableEntry(e.key.value, value)
    if t.kind not in (model.NUMBER, model.COUNT, model.QUANTITY, model.DURATION):
        ctx.report(diag.error("E308", f"a range is not {t.describe()}, the type of table `{tb.name}`", e.value.span,
                              hint="ranges are of numbers, counts, quantities or durations; "
                                   f"write {t.describe()} such as {example_of(t)}"))
        return None
    low, high = (_table_value(ctx, tb, x, t) for x in (e.value.low, e.value.high))
    if low is None or high is None:
        return None
    if e.value.low.value > e.value.high.value:
        ctx.report(diag.error("E305", f"the range `{e.value.low.text}-{e.value.high.text}` ends below where it starts",
                              e.value.span, hint=f"write the smaller end first: `{e.value.high.text}-{e.value.low.text}`"))
        return None
    return model.TableEntry(e.key.value, high, low)


#: Which facts each silence rule fits, and the words that explain it in a hint.
_RULE_FITS = {
    "none when silent": (lambda t, detail: t.kind == model.HISTORY and not detail,
                         "only a history can be read as none when the record is silent (a first request)"),
    "presumed absent when silent": (lambda t, detail: t.kind == model.BOOL and not detail,
                                    "only a finding (a red flag such as aberrant behaviour) can be presumed absent"),
    "checked when stated": (lambda t, detail: detail,
                            "only a request detail is checked when stated: write `, request detail, checked when "
                            "stated`"),
    "required": (lambda t, detail: detail or t.kind == model.HISTORY,
                 "only a history or a request detail needs `required`: every other fact is required already"),
}


def _rules(ctx: Context, f: ast.Fact, t: model.Type, default) -> tuple[bool, "str | None"]:
    """(declared a request detail, its silence rule) from the clauses after the label; E410 where one does not fit."""
    detail = False
    silence = None
    seen: dict[str, ast.Rule] = {}
    for r in f.rules:
        if r.words in seen:
            ctx.report(diag.error("E410", f"`{r.words}` is written twice for `{f.name}`", r.span,
                                  notes=[diag.Note("first written here", seen[r.words].span)],
                                  hint="delete the second one"))
            continue
        seen[r.words] = r
        if r.words == "request detail":
            if t.kind == model.HISTORY:
                ctx.report(diag.error("E410", f"history `{f.name}` cannot be a request detail", r.span,
                                      hint="a request detail describes the request (quantity, frequency, levels, "
                                           "approach, injectate); a history is what happened before it"))
            else:
                detail = True
    for r in f.rules:
        if r.words == "request detail" or seen.get(r.words) is not r:
            continue
        fits, why = _RULE_FITS[r.words]
        if not fits(t, detail):
            ctx.report(diag.error("E410", f"`{r.words}` does not fit `{f.name}`, {t.describe()}"
                                          + (" that is not a request detail" if r.words == "checked when stated" else ""),
                                  r.span, hint=why))
        elif silence is not None:
            ctx.report(diag.error("E410", f"`{f.name}` has two silence rules, `{silence}` and `{r.words}`", r.span,
                                  hint="keep the one that says what a record silent on it means"))
        elif default is not None:
            ctx.report(diag.error("E410", f"`{f.name}` has a default and the silence rule `{r.words}`", r.span,
                                  hint="the silence rule says what silence means; delete the default"))
        else:
            silence = r.words
    return detail, silence


def declare(ctx: Context) -> None:
    """Give every fact and table a type; reject duplicates and mistyped defaults and entries."""
    seen: dict[str, ast.Fact] = {}
    from_item: dict[str, ast.Fact] = {}  # the first fact read from each part of the item
    for f in ctx.tree.facts:
        if f.name in seen:
            ctx.report(diag.error("E401", f"fact `{f.name}` is declared twice", f.name_span,
                                  notes=[diag.Note("first declared here", seen[f.name].name_span)],
                                  hint="rename one of them or delete the second"))
            continue
        seen[f.name] = f
        _check_name(ctx, f.name, f.name_span, "fact")
        if f.fields and f.type.kind != "history":
            ctx.report(diag.error("E405", f"only a `history` fact has indented fields; `{f.name}` is not a history",
                                  f.fields[0].span, hint=f"declare it as `{f.name}: history`, or un-indent the field "
                                                         "to make it a fact of its own"))
        if f.type.kind == "history" and not f.fields:
            ctx.report(diag.error("E405", f"history `{f.name}` declares no fields", f.name_span,
                                  hint="list the fields of each entry on the lines below it, indented, "
                                       'e.g. `date: date "date of the injection"`'))
        t = type_of(ctx, f.type, f.fields)
        default = None
        if f.default is not None:
            c = literals.literal(f.default)
            if isinstance(c, diag.Diagnostic):
                ctx.report(c)
            else:
                default = literals.fits(c, t)
                if default is None or t.kind in (model.HISTORY, model.SET):
                    ctx.report(diag.error("E308", f"the default `{c.text}` is not {t.describe()}", f.default.span,
                                          hint="for a finding write `default absent` or `default present`"))
                    default = None
        declared = _DECLARED.get(f.type.kind, f.type.kind)
        source = _product_source(ctx, f, t)
        detail, silence = _rules(ctx, f, t, default)
        part = _item_source(ctx, f, t, from_item, detail)
        if part is not None:
            from_item[part] = f
        ctx.facts[f.name] = model.Fact(f.name, t, declared, f.label or humanize(f.name), default, f.span,
                                       source=source, detail=detail, silence=silence, from_item=part)
    _tables(ctx)
    _lets(ctx)


def _lets(ctx: Context) -> None:
    """The named values: unique names (E401), not under a `when` (E413, declared all the same), not hidden by a
    history field (W408)."""
    tree = ctx.tree
    for let in tree.lets:
        _check_name(ctx, let.name, let.name_span, "named value")
        if let.under_when is not None:
            ctx.report(diag.error("E413", f"`let {let.name}` is written under a `when`", let.name_span,
                                  notes=[diag.Note("the `when` block", let.under_when)],
                                  hint="a named value is the same wherever it is used: write the `let` at the "
                                       "top level of `criteria`, above the criteria that use it"))
            # still declared, so that its uses do not also report an unknown name
        first = ctx.lets.get(let.name)
        other = first.name_span if first is not None else next(
            (x.name_span for x in (*tree.facts, *tree.tables) if x.name == let.name), None)
        if other is not None:
            what = "named value" if first is not None else ("fact" if let.name in ctx.facts else "table")
            ctx.report(diag.error("E401", f"`{let.name}` is already declared as a {what}", let.name_span,
                                  notes=[diag.Note("first declared here", other)],
                                  hint="give the named value a name of its own"))
            continue
        ctx.lets[let.name] = let
        owners = [f.name for f in ctx.facts.values() if f.type.kind == model.HISTORY and f.type.field(let.name)]
        if owners:
            ctx.report(diag.warning("W408", f"named value `{let.name}` has the name of a field of `{owners[0]}`",
                                    let.name_span,
                                    hint=f"inside `where` or `of` over `{owners[0]}`, `{let.name}` means the field, "
                                         "not this value: rename the value"))
