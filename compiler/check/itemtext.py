"""Request items as reviewers write them: quantity, frequency, dosing and approach read; shorthand expanded for routing.

"Norco 10/325 #180", "PT 2x6 lumbar", "Acupuncture x6", "TFESI L4-5" and
"Norco (hydrocodone/acetaminophen)" are how items appear in requests for
authorization and IMR letters. The numbers are kept (an ItemDetail); the
shorthand is expanded into the words the pack's service names use, so the
pack, not this module, decides which guideline governs.
"""

from __future__ import annotations

import re

from mtus.compiler.check.lazyre import DIGIT, Lazy, literal_prefixes
from mtus.compiler.check.runtime import Record, as_dict

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                 "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "once": 1, "twice": 2, "thrice": 3}
_NUM = r"(\d{1,3}|" + "|".join(_WORD_NUMBERS) + r")"
_WEEK = r"(?:weeks?|wks?)"


def _n(word: str) -> int:
    return int(word) if word.isdigit() else _WORD_NUMBERS[word.lower()]


#: "2 times a week for 3 weeks", "2x/week x 6 weeks", "twice weekly for four weeks", "3 x per wk x 4 wks",
#: "3 visits per week x 4 weeks"
_PER_WEEK_FOR = Lazy(_NUM + r"\s*(?:x|times|visits?|sessions?|treatments?)?\s*(?:/|per|a|an|each)?\s*"
                     r"(?:week|wk|weekly)\b\.?,?\s*"
                     r"(?:x|for|times)\s*" + _NUM + r"\s*" + _WEEK + r"\b", re.I, ("week", "wk"))
#: "2x6", "2 x 6", "3X4": visits per week by weeks, the physical medicine convention
#: (not a spinal level's "L4-5 x 2", nor "x 2 levels")
_BY = Lazy(r"(?<![\d/.-])\b(\d{1,2})\s*[xX]\s*(\d{1,2})\b(?!\s*(?:mg|mcg|ml|cm|mm|%|/|refill|levels?))", 0, (DIGIT,))
#: "x6", "x 12", "times 6", "6 visits", "12 sessions"
_TIMES = Lazy(r"(?:\bx|\btimes)\s*(\d{1,3})\b"
              r"(?!\s*(?:refills?|levels?|mg|mcg|ml|/|%|" + _WEEK + r"|months?|days?|hours?|hrs?))", re.I, (DIGIT,))
_UNITS = Lazy(_NUM + r"\s*(?:visits?|sessions?|treatments?|injections?)\b", re.I,
              ("visit", "session", "treatment", "injection"))
_FOR_WEEKS = Lazy(r"\bfor\s+" + _NUM + r"\s*" + _WEEK + r"\b", re.I, ("week", "wk"))
#: "#180", "# 60", "qty 60", "quantity: 90", "120 tablets"
_QUANTITIES = (Lazy(r"#\s*(\d{1,4})\b", 0, (DIGIT,)), Lazy(r"\b(?:qty|quantity)\s*[:.#]?\s*(\d{1,4})\b", re.I, (DIGIT,)),
               Lazy(r"\b(\d{1,4})\s*(?:tablets?|tabs?|capsules?|caps?|pills?|patch(?:es)?)\b"
                    r"(?!\.?\s*(?:po|p\.o|by mouth|orally|q|bid|b\.i\.d|tid|t\.i\.d|qid|daily|every|at|per|a day))", re.I,
                    (DIGIT,)))
_PRODUCT_NUMBER = Lazy(r"\b(?:tylenol|codeine)\s*(?:#|no\.?)\s*[234]\b", re.I, ("tylenol", "codeine"))
_STRENGTH = Lazy(r"\b(\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)?\s*(?:mg|mcg|g|%)(?:/(?:ml|hr|h))?|"
                 r"\d+(?:\.\d+)?/\d+(?:\.\d+)?)(?![\d/])", re.I, (DIGIT,))
#: Sig abbreviations, as written with or without dots.
_SIGS = (("qhs", "at bedtime"), ("qid", "four times daily"), ("tid", "three times daily"),
         ("bid", "twice daily"), ("qd", "once daily"), ("daily", "once daily"), ("prn", "as needed"),
         ("qod", "every other day"))
_SIG = Lazy(r"(?<![a-z])(" + "|".join(r"\.?".join(s) + r"\.?" for s, _ in _SIGS) + r")(?![a-z])", re.I)
_EVERY_HOURS = Lazy(r"\bq\.?\s*(\d{1,2})(?:\s*-\s*(\d{1,2}))?\s*h(?:rs?|ours?)?\b", re.I, (DIGIT,))
_APPROACHES = {"transforaminal": "transforaminal", "interlaminar": "interlaminar", "caudal": "caudal",
               "tfesi": "transforaminal", "tfe": "transforaminal", "ilesi": "interlaminar",
               "snrb": "transforaminal", "selective nerve root": "transforaminal", "nerve root block": "transforaminal"}
_APPROACH = Lazy(r"\b(" + "|".join(sorted(_APPROACHES, key=len, reverse=True)) + r")s?\b", re.I,
                 tuple(k.lower() for k in _APPROACHES))
_REGIONS = {"cervical": "cervical", "thoracic": "thoracic", "lumbar": "lumbar", "lumbosacral": "lumbar",
            "lesi": "lumbar", "cesi": "cervical", "caudal": "lumbar"}
_REGION = Lazy(r"\b(" + "|".join(_REGIONS) + r")\b", re.I, tuple(k.lower() for k in _REGIONS))
_LEVEL_REGIONS = {"C": "cervical", "T": "thoracic", "L": "lumbar", "S": "lumbar"}  # the region of a level
_LEVEL = Lazy(r"\b([CTLS]\d{1,2})\s*(?:-|to|/)\s*([CTLS]?\d{1,2})\b", re.I, (DIGIT,))

#: Reviewers' shorthand -> the words a pack's service names use. Whole words only.
_SHORTHAND = (
    (r"tfesis?|tfes?", "transforaminal epidural steroid injection"),
    (r"lesis?", "lumbar epidural steroid injection"),
    (r"cesis?", "cervical epidural steroid injection"),
    (r"ilesis?", "interlaminar epidural steroid injection"),
    (r"snrbs?|(?:selective\s+)?nerve\s+root\s+blocks?(?:\s+injections?)?|selective\s+nerve\s+blocks?",
     "transforaminal epidural steroid injection"),
    (r"epidurals?(?!\s+(?:steroid|injection|block))", "epidural injection"),
    (r"epidural\s+steroids?(?!\s+injection)", "epidural steroid injection"),
    (r"epidural\s+blocks?", "epidural injection"),
    (r"inj|injx|injs|injections", "injection"),
    (r"tylenol\s*(?:#|no\.?)\s*[234]|tylenol\s+with\s+codeine(?:\s*(?:#|no\.?)\s*[234])?", "Tylenol with Codeine"),
    (r"tpis?", "trigger point injection"),
    (r"chiro", "chiropractic"),
    (r"physio", "physiotherapy"),
    (r"ot", "occupational therapy"),
    (r"ifc?\s+unit|ics\s+unit", "interferential"),
    (r"urine\s+tox", "urine toxicology"),
)
_SHORTHAND_RE = [(Lazy(r"(?<![a-z0-9])(?:" + p + r")(?![a-z0-9])", re.I, literal_prefixes(p)), w) for p, w in _SHORTHAND]
_DOTTED = Lazy(r"\b(?:[A-Za-z]\.){2,}", 0, (".",))
_PARENS = Lazy(r"\(([^()]*)\)", 0, ("(",))


class ItemDetail(Record):
    """What an item states besides the service: units requested, frequency, dosing, approach."""

    __slots__ = ("quantity", "per_week", "weeks", "strength", "dosing", "approach", "region", "levels", "length",
                 "purchase", "hours_per_week")
    quantity: Optional[int]  # units requested: "#180", "x6", or visits per week times weeks
    per_week: Optional[int]
    weeks: Optional[int]
    strength: Optional[str]
    dosing: Optional[str]
    approach: Optional[str]  # transforaminal, interlaminar, caudal
    region: Optional[str]  # cervical, thoracic, lumbar
    levels: tuple
    length: Optional[tuple[int, str]]  # the length of use or rental: "x30 days" (30, "day"), "3-month rental"
    purchase: Optional[bool]  # True for "purchase", False for "rental"/"rent"; None when it says neither
    hours_per_week: Optional[int]  # hours of care a week: "20 hours per week", "4 hrs/day x 5 days/week" (20)

    def __init__(self, quantity: Optional[int] = None, per_week: Optional[int] = None, weeks: Optional[int] = None,
                 strength: Optional[str] = None, dosing: Optional[str] = None, approach: Optional[str] = None,
                 region: Optional[str] = None, levels: tuple = (), length: Optional[tuple[int, str]] = None,
                 purchase: Optional[bool] = None, hours_per_week: Optional[int] = None) -> None:
        self.quantity = quantity
        self.per_week = per_week
        self.weeks = weeks
        self.strength = strength
        self.dosing = dosing
        self.approach = approach
        self.region = region
        self.levels = levels
        self.length = length
        self.purchase = purchase
        self.hours_per_week = hours_per_week

    def to_json(self) -> dict:
        out = {k: (list(v) if isinstance(v, tuple) else v) for k, v in as_dict(self).items()
               if v not in (None, ())}
        if self.length is not None:  # as the item says it: "30 days"
            n, unit = self.length
            out["length"] = f"{n} {unit}{'' if n == 1 else 's'}"
        return out


#: A length of use or rental: "x30 days", "x 3 months", "30-day rental", "for 1 month", "3 mo rental".
_LENGTH = Lazy(r"(?<![\d./])(\d{1,3})[\s-]*(days?|weeks?|wks?|months?|mos?)\b", re.I, (DIGIT,))
_LENGTH_UNITS = {"d": "day", "w": "week", "m": "month"}
_PURCHASE = Lazy(r"\b(purchase|buy|rental|rent)\b", re.I, ("purchase", "buy", "rent"))


_HOURS = r"(\d{1,3})\s*(?:hours?|hrs?)\s*(?:/|per|a|an|each)\s*"
#: Hours of care a week, stated ("20 hours per week", "20 hrs/wk") or as hours a day by days a week
#: ("4 hrs/day x 5 days/week", "8 hours a day, 7 days a week").
_HOURS_WEEK = Lazy(_HOURS + r"(?:week|wk)\b", re.I, ("hour", "hr"))
_HOURS_DAY = Lazy(_HOURS + r"day\b\.?,?\s*(?:x|for|times)?\s*(\d)\s*days?\s*(?:/|per|a|an|each)\s*(?:week|wk)\b", re.I,
                  ("hour", "hr"))


def _hours_per_week(item: str) -> Optional[int]:
    """The hours of care a week the item states, if it states them (at most the 168 hours of a week)."""
    m = _HOURS_WEEK.search(item)
    hours = int(m.group(1)) if m else None
    if hours is None:
        d = _HOURS_DAY.search(item)
        hours = int(d.group(1)) * int(d.group(2)) if d and int(d.group(2)) <= 7 else None
    return hours if hours is not None and 0 < hours <= 168 else None


#: A day program's length in days, hours or weeks: "x10 days", "x10 additional days", "(20 days)",
#: "160 hours", "x 80 hrs", "2 weeks"; not a rate ("4 hrs/day", "20 hours per week").
_PROGRAM_DAYS = Lazy(r"(?<![\d./])(\d{1,3})\s*(?:additional\s+|more\s+|full[- ]?)?"
                     r"(days?|hours?|hrs?|weeks?|wks?)\b(?!\s*(?:/|per\b|a\s+(?:day|week)|each))", re.I, (DIGIT,))
#: Hours in a full day of a day program, days in its week ("160 hours (20 days)").
FULL_DAY_HOURS, PROGRAM_WEEK_DAYS = 8, 5


def program_days(item: str, quantity: Optional[int]) -> Optional[int]:
    """The full days a day program item requests: its days, else its hours in full days, else its weeks of
    five days, else its bare quantity ("FRP x10"); None where hours are not whole days (part-day sessions).

    Not part of ItemDetail: only an item a guideline reads as a day program has days ("Norco for 2 weeks"
    has none)."""
    found: dict[str, int] = {}
    for m in _PROGRAM_DAYS.finditer(item):
        found.setdefault(m.group(2)[0].lower(), int(m.group(1)))  # d(ays), h(ours/rs), w(eeks/ks)
    if "d" in found:
        return found["d"] or None
    if "h" in found:
        days, part = divmod(found["h"], FULL_DAY_HOURS)
        return None if part or not days else days  # part-day hours: left to the case
    if "w" in found:
        return found["w"] * PROGRAM_WEEK_DAYS or None
    return quantity


def _length(item: str) -> Optional[tuple[int, str]]:
    """The length of use an item states (the first one), as (number, "day" | "week" | "month")."""
    m = _LENGTH.search(item)
    if not m or int(m.group(1)) == 0:
        return None
    return int(m.group(1)), _LENGTH_UNITS[m.group(2)[0].lower()]


def read_detail(item: str) -> ItemDetail:
    """The quantity, frequency, strength, dosing, approach, region and levels an item states."""
    per_week = weeks = quantity = None
    m = _PER_WEEK_FOR.search(item)
    if m:
        per_week, weeks = _n(m.group(1)), _n(m.group(2))
    else:
        m = _BY.search(item)
        if m:
            per_week, weeks = int(m.group(1)), int(m.group(2))
    counted = _PRODUCT_NUMBER.sub(" ", item)  # "Tylenol #3 #60": #3 names the product, #60 is the quantity
    q = next((found for found in (p.search(counted) for p in _QUANTITIES) if found), None)
    if q:  # "#60" before "qty 60" before "1 tab": the dispensed quantity, not the dose
        quantity = int(q.group(1))
    elif per_week is not None and weeks is not None:
        quantity = per_week * weeks
    else:
        t = _TIMES.search(item) or _UNITS.search(item)
        if t:
            quantity = _n(t.group(1))
        w = _FOR_WEEKS.search(item)
        if w:
            weeks = _n(w.group(1))
    s = _STRENGTH.search(_PARENS.sub(" ", item)) or _STRENGTH.search(item)
    sigs = [label for found in _SIG.finditer(item)
            for key, label in _SIGS if found.group(1).replace(".", "").lower() == key]
    h = _EVERY_HOURS.search(item)
    if h:
        sigs.insert(0, f"every {h.group(1)}{'-' + h.group(2) if h.group(2) else ''} hours")
    a = _APPROACH.search(item)
    r = _REGION.search(item)
    levels = tuple(_level(x.group(1), x.group(2)) for x in _LEVEL.finditer(item))
    region = _REGIONS[r.group(1).lower()] if r else (_LEVEL_REGIONS[levels[0][0]] if levels else None)
    p = _PURCHASE.search(item)
    return ItemDetail(quantity, per_week, weeks, " ".join(s.group(1).split()) if s else None,
                      ", ".join(dict.fromkeys(sigs)) or None,
                      _APPROACHES[a.group(1).lower()] if a else None,
                      region, levels, _length(item),
                      p.group(1).lower() in ("purchase", "buy") if p else None, _hours_per_week(item))


#: The vertebrae in order, top down: a level is the segment between two adjacent ones (L4-L5, L5-S1).
_SPINE = {v: i for i, v in enumerate([f"C{n}" for n in range(1, 8)] + [f"T{n}" for n in range(1, 13)]
                                     + [f"L{n}" for n in range(1, 6)] + ["S1"])}


def level_count(levels: tuple) -> Optional[int]:
    """How many spinal levels (segments) the item's levels cover: "L4-L5" and "L5-S1" are 2, "L4-S1" is 2.

    None when the item names none, or a level that is not a span between two
    vertebrae top down (a reviewer would have to ask).
    """
    segments: set[int] = set()
    for level in levels:
        top, _, bottom = level.partition("-")
        if top not in _SPINE or bottom not in _SPINE or _SPINE[bottom] <= _SPINE[top]:
            return None
        segments.update(range(_SPINE[top], _SPINE[bottom]))
    return len(segments) or None


def _level(top: str, bottom: str) -> str:
    """A spinal level in one spelling: L4-5 and L4-L5 are both L4-L5."""
    top, bottom = top.upper(), bottom.upper()
    return f"{top}-{bottom if bottom[0].isalpha() else top[0] + bottom}"


#: "s/p" (status post) and a surgery named after it in the same clause: the item is post-operative care
#: ("PT x12 s/p R knee arthroscopy"). Not "s/p fall" nor "s/p MVA": those name an injury, not a surgery.
_STATUS_POST = Lazy(r"\b(?:s/p|status\s+post)\b[^,;]*?(?:\b\w+(?:ectomy|otomy|ostomy|plasty|oscopy|desis|pexy|rrhaphy)"
                    r"|\b(?:orif|repair|release|fusion|fixation|replacement|reconstruction|decompression|"
                    r"arthroplasty|surgery|amputation)\b)", re.I, ("s/p", "status"))
_POST_OP = Lazy(r"\bpost[\s-]?(?:op|operative|surgical)\b", re.I, ("post",))


def routing_text(item: str) -> str:
    """The item with reviewers' shorthand written out (dotted abbreviations closed up: P.T. -> PT), and
    "post-op" before an item that says it follows a surgery ("s/p ... arthroscopy"), as "post-op" routes."""
    text = _DOTTED.sub(lambda m: m.group(0).replace(".", ""), item)
    for pattern, words in _SHORTHAND_RE:
        text = pattern.sub(words, text)
    if _STATUS_POST.search(text) and not _POST_OP.search(text):
        text = "post-op " + text
    return text


def outside_parentheses(item: str) -> Optional[str]:
    """The item without its parenthesised parts ("Norco (hydrocodone/APAP)" -> "Norco"), if it has any."""
    if "(" not in item:
        return None
    return " ".join(_PARENS.sub(" ", item).split())
