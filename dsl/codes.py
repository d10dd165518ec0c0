"""The catalogue of stable diagnostic codes: one line of documentation each.

Codes never change meaning once released; tools and docs refer to them.
E1xx: reading and syntax. E2xx: names. E3xx: types and units.
E4xx: structure. W4xx: warnings. E9xx: limits and internal errors.
"""

CODES: dict[str, str] = {
    # reading and syntax
    "E100": "the file could not be read or is not valid UTF-8 text",
    "E101": "a character that cannot start any part of the language",
    "E102": "a string is not closed on the same line",
    "E103": "a triple-quoted text block is not closed",
    "E104": "indentation does not match any enclosing block, or mixes tabs and spaces",
    "E110": "the parser found something other than what the language allows here",
    "E111": "the file ends in the middle of a construct",
    # names
    "E201": "a name that is not a declared fact",
    "E202": "a field that the history does not declare",
    "E203": "a value that is not a member of the fact's `one of` list",
    "E204": "a criterion id (in an example) that the guideline does not declare",
    "E205": "a path such as `request.x`, `fact.field` or `from product x` that does not exist",
    "E206": "a lookup `name[key]` whose table is not declared under `tables`",
    "E207": "a product ingredient that the formulary's `ingredients` section does not declare",
    # types and units
    "E301": "an operand of the wrong type for its operator",
    "E302": "two values of different kinds are compared or combined",
    "E303": "two quantities with different units are compared or combined",
    "E304": "a criterion or `when` condition that is not true/false",
    "E305": "a literal that is not valid (date, number, page)",
    "E306": "a unit after a number that the fact's type does not use",
    "E307": "a history operation used on something that is not a history",
    "E308": "a default, example, table entry or product value of the wrong type for its fact or table",
    "E309": "a percent compared with a plain number (write `50%`)",
    "E310": "a table declared with a type its entries cannot have",
    # structure
    "E401": "the same id declared twice",
    "E402": "a guideline with no criteria",
    "E403": "a guideline without a citation (source, and a page or section)",
    "E404": "a `when` condition that can never be true",
    "E405": "indented fields under a fact that is not a `history`, or a `history` without fields",
    "E406": "a table with no entries",
    "E407": "partial certification that cannot happen (`allows fewer`, `expect modified`)",
    "E408": "a fact name two guidelines of one pack declare with a different type, values, unit, default or silence rule",
    "E409": "an edition period that ends before it starts, or a `not mtus` rank outside the hierarchy",
    "E410": "a silence rule (`request detail`, `required`, `checked when stated`, `none when silent`, "
            "`presumed absent when silent`) that does not fit its fact, or is written twice",
    "E411": "an example outcome its criterion cannot have (`met` for an exclusion, `applies` for a criterion for use)",
    "E412": "a `shows` line that cannot be shown (no `{}`, or no computed value compared)",
    "E413": "a `let` written under a `when` (a named value is defined once, at the top level of `criteria`)",
    "E414": "a named value used above its `let`, or in its own definition",
    "E415": "a text compared with a code that is not an ICD-10-CM or CPT/HCPCS code, prefix (`M79.1*`) or range",
    "E465": "a `from item PART` whose part a request item does not give (an item gives its `quantity` and `levels`)",
    "E466": "a fact read `from item quantity` (or `levels`) that is not a count or number",
    "E467": "a second fact read from the same part of the item in one guideline (an item states one quantity)",
    "E468": "a service code that is not of its kind (`cpt E0730`: an HCPCS code; `hcpcs 20552`: a CPT code)",
    "W401": "a fact or table that no criterion reads",
    "W402": "a table lookup whose key may be a value the table has no entry for",
    "W403": "an example dated when the guideline's edition is not in force",
    "W404": "a history or request detail without a declared silence rule (`mtus lint`)",
    "W405": "an exclusion that can hold only because a fact is absent or negated (`mtus lint`)",
    "W406": "a criterion that reads a request detail together with clinical facts (`mtus lint`)",
    "W407": "a named value (`let`) that no criterion uses",
    "W408": "a named value with the name of a history field, which hides it inside `where` and `of`",
    "W409": "a code pattern (`\"M79.1*\"`, a range) compared with free text, where it matches only letter for letter",
    "W410": "a `last(h)` or `first(h)` that no `when any(h)` or `any(h) and` guards (`mtus lint`)",
    "W430": "a fact read `from item quantity` (or `levels`) that is not a request detail",
    # limits and internal errors
    "E901": "the input is nested too deeply or is too large to check",
    "E999": "an internal error in mtus (please report it)",
}

#: Codes found only across the files of a pack (compiler/build/packwriter.py), never in one file alone.
PACK_CODES = frozenset({"E408"})


def describe(code: str) -> str:
    return CODES[code]
