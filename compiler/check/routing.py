"""Routing a request item to the guideline that governs it on the request date, or saying why none does.

A Router is built once per pack from the guidelines' declared services, their
periods in force and the formulary; it caches routed items, so batch checking
does not re-normalise every name for every case. Items are read as reviewers
write them (compiler/check/itemtext.py): shorthand expanded, a brand with its
generic in parentheses routed like the brand.
"""

from __future__ import annotations

import datetime
import re
from collections import Counter

from mtus.compiler.check.editions import in_force, is_mtus, period_text, rank
from mtus.compiler.check.index import RouteTables
from mtus.compiler.check.info import FormularyInfo, GuidelineInfo, Service
from mtus.compiler.check.itemtext import ItemDetail, level_count, outside_parentheses, program_days, routing_text
from mtus.compiler.check.runtime import Duration, Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Mapping, Optional, Sequence

#: A procedure code in an item, bare or after its system's name: a CPT code ("20552", "CPT 0232T") or an
#: HCPCS Level II code ("E0730 TENS unit", "HCPCS E0730": a letter A-V and four digits).
_CODE = re.compile(r"\b(\d{4}[0-9A-Z]|[A-V]\d{4})\b", re.I)
_NON_WORD = re.compile(r"[^a-z0-9]+")
#: Plural words in items that name a product's dosage form or a service in the singular.
_SINGULAR = {"patches": "patch", "creams": "cream", "gels": "gel", "lotions": "lotion", "ointments": "ointment",
             "tablets": "tablet", "capsules": "capsule"}
#: Dosage forms an item may name after a bare ingredient ("lidocaine 5% patch").
_ITEM_FORMS = ("cream", "gel", "lotion", "ointment", "patch")
#: The approach facts a guideline may declare for the approach an item names.
APPROACHES = ("transforaminal", "interlaminar", "caudal")
#: Items of one case that no guideline governs and whose closest services are searched; later
#: ones get the plain hint (the search is a courtesy: it must not make a case of 1,000 such items slow).
MAX_CLOSEST_SEARCHES = 100
_NO_GUIDELINE_HINT = "add `guideline: <id>` if one of the pack's guidelines applies (`mtus rationale` lists them)"

#: The closest-service hint reads at most this many words of an item (an item is one line; a
#: 20,000-character one would otherwise be thousands of runs of words against every name).
HINT_WORDS = 20


def _norm(text: str) -> str:
    return " ".join(_SINGULAR.get(w, w) for w in _NON_WORD.sub(" ", text.lower()).split())


def _close(word: str, options) -> Optional[str]:
    import difflib  # only for a misspelt name or an item no guideline governs: not at start-up

    m = difflib.get_close_matches(word, sorted(options), n=3, cutoff=0.6)
    if not m:
        return None
    return "did you mean " + " or ".join(f"`{x}`" for x in m) + "?"


class Product(Record):
    """A drug the request item names, as the pack's formulary describes it."""

    __slots__ = ("name", "ingredients", "classes", "form")
    name: str
    ingredients: frozenset
    classes: frozenset
    form: Optional[str]

    def __init__(self, name: str, ingredients: frozenset, classes: frozenset, form: Optional[str]) -> None:
        self.name = name
        self.ingredients = ingredients
        self.classes = classes
        self.form = form

    def value(self, part: str):
        return {"ingredients": self.ingredients, "classes": self.classes, "form": self.form,
                "name": self.name}[part]


class Route(Record):
    """Where an item goes: a guideline id, or why none (`key` is the request key the problem is about).

    A miss about `guideline` (an unknown id) is an error in the case file; a
    miss about `item` is an item-level result: the item is not addressed.
    """

    __slots__ = ("guideline", "key", "message", "hint", "closest", "kind")
    guideline: Optional[str]
    key: str
    message: str
    hint: Optional[str]
    closest: tuple  # (guideline id, service name) pairs nearest an item no guideline governs
    kind: str  # why not routed: none (no guideline), several, not_in_force, or unknown_id

    def __init__(self, guideline: Optional[str], key: str = "item", message: str = "", hint: Optional[str] = None,
                 closest: tuple = (), kind: str = "none") -> None:
        self.guideline = guideline
        self.key = key
        self.message = message
        self.hint = hint
        self.closest = closest
        self.kind = kind

    @property
    def addressed_elsewhere(self) -> bool:
        """Several guidelines govern the item: it is not decided, but it is not unaddressed either."""
        return self.kind == "several"

    def to_json(self) -> dict:
        return {"kind": self.kind, "reason": self.message, "hint": self.hint,
                "closest": [{"guideline": g, "service": s} for g, s in self.closest]}


def route_tables(services_of: Mapping[str, Sequence[Service]], formulary: Optional[FormularyInfo]) -> RouteTables:
    """The router's tables from each guideline's services (in order) and the formulary: what a pack's routing.json
    holds (build/packwriter.py writes them, so no name is normalised when a pack is opened)."""
    cpt: dict[str, set] = {}
    names: list[tuple[str, str]] = []  # (normalised service name, guideline id)
    raw_names: list[str] = []
    drug: dict[tuple[str, str], set] = {}  # (kind, value) -> guideline ids
    for gid, svcs in services_of.items():
        for svc in svcs:
            if svc.kind in ("cpt", "hcpcs"):  # one table: the two systems' codes never collide
                cpt.setdefault(svc.value.upper(), set()).add(gid)
            elif svc.kind == "name":
                names.append((f" {_norm(svc.value)} ", gid))
                raw_names.append(svc.value)
            else:
                drug.setdefault((svc.kind, svc.value), set()).add(gid)
    drug_names: list[tuple[frozenset, str, str]] = []  # (words, kind, name)
    single_forms: dict[str, set] = {}  # ingredient -> forms of its single-ingredient products
    if formulary is not None:
        named = []
        for kind, vocabulary in (("products", formulary.products), ("ingredients", formulary.ingredients)):
            for name in vocabulary:
                n = _norm(name)
                if n:
                    named.append((len(n), frozenset(n.split()), kind, name))
        # longest name first; products before ingredients of the same length
        named.sort(key=lambda x: (-x[0], x[2] != "products"))
        drug_names = [(words, kind, name) for _, words, kind, name in named]
        for entry in formulary.products.values():
            if len(entry.ingredients) == 1 and entry.form:
                single_forms.setdefault(entry.ingredients[0], set()).add(entry.form)
    return RouteTables.with_raw_names(cpt, names, raw_names, list(services_of), drug, drug_names, single_forms)


class Router:
    """The pack's routing tables: CPT and HCPCS codes, service names and drug services to guideline ids."""

    CACHE_SIZE = 4096

    def __init__(self, infos: Mapping[str, GuidelineInfo], formulary: Optional[FormularyInfo] = None,
                 services: Optional[Mapping[str, Sequence[Service]]] = None, tables: Optional[RouteTables] = None):
        self.infos = infos
        self.formulary = formulary
        if tables is None:  # a pack's routing.json carries them; else from the services (the pack's index's, if given)
            tables = route_tables(services if services is not None else {gid: info.services for gid, info in infos.items()},
                                  formulary)
        self.tables = tables
        self._cpt, self._drug = tables.cpt, tables.drug
        self._drug_names, self._single_forms = tables.drug_names, tables.single_forms
        self._products: dict[str, Optional[Product]] = {}
        self._routes: dict[tuple, list[str]] = {}
        self._hint_index: dict[str, tuple[str, str]] = {}
        self._hint_names: Optional[list[_HintName]] = None  # prepared on the first hint: most runs need none
        self._closest_cache: dict[str, tuple] = {}

    def _prepare_hints(self) -> None:
        """The closest-service hint's names, prepared once (lower-cased name -> first guideline declaring it)."""
        index: dict[str, tuple[str, str]] = {}
        for (_, gid), raw in zip(self.tables.names, self.tables.raw_names):
            index.setdefault(raw.lower(), (gid, raw))
        self._hint_index = index
        self._hint_names = [_HintName(key, n, len(n.split()), tuple(Counter(n).items()))
                            for key in index for n in [_norm(key)]]

    def services(self, item: str) -> list[str]:
        """Guidelines whose CPT or HCPCS codes or service names the request item mentions (shorthand expanded)."""
        found = set()
        for m in _CODE.finditer(item):
            found |= self._cpt.get(m.group(1).upper(), set())
        text = f" {_norm(routing_text(item))} "
        tables = self.tables
        named = [(name, tables.owner(i)) for i, name in enumerate(tables.texts) if name in text]

        def inside(name: str, gid: str) -> bool:
            return any(other != gid and name != longer and name in longer for longer, other in named)

        # The most specific name decides: "post-op physical therapy" routes to the
        # postsurgical guideline only, not also to the guideline named "physical
        # therapy" (nor through that one's CPT codes); names that do not overlap
        # still route to several guidelines, which is not decided.
        winners = {gid for name, gid in named if not inside(name, gid)}
        found = (found | winners) - ({gid for name, gid in named if inside(name, gid)} - winners)
        found -= _purposes(text, [(name, gid) for name, gid in named if gid in winners])
        if not found and _norm(item) in self.infos:
            found.add(_norm(item))
        return sorted(found)

    def product(self, item: str) -> Optional[Product]:
        """The formulary product (or ingredients) the item names: a brand before the generic in its parentheses."""
        if item in self._products:
            return self._products[item]
        found = None
        if self._drug_names:
            text = routing_text(item)
            outside = outside_parentheses(text)
            found = (self._find_product(outside) if outside else None) or self._find_product(text)
        if len(self._products) < self.CACHE_SIZE:
            self._products[item] = found
        return found

    def _find_product(self, text: str) -> Optional[Product]:
        words = _norm(text).split()
        have = set(words)
        named = [(kind, name) for names, kind, name in self._drug_names if names <= have]  # any word order
        product = next((name for kind, name in named if kind == "products"), None)
        if product is not None:  # the longest product named
            entry = self.formulary.products[product]
            return self._product(product, entry.ingredients, entry.form)
        ingredients = [name for kind, name in named if kind == "ingredients"]
        if not ingredients:
            return None
        form = next((w for w in words if w in _ITEM_FORMS), None)
        if form == "patch" and len(ingredients) == 1:
            forms = self._single_forms.get(ingredients[0], set())
            if "patch" not in forms and "transdermal system" in forms:
                form = "transdermal system"  # "fentanyl patch": the transdermal opioid, not a topical patch
        ingredients.sort(key=lambda i: _norm(text).find(_norm(i)))
        return self._product("/".join(ingredients), ingredients, form)

    def _product(self, name: str, ingredients, form: Optional[str]) -> Product:
        classes = {c for i in ingredients for c in self.formulary.ingredients.get(i, ())}
        return Product(name, frozenset(ingredients), frozenset(classes), form)

    def by_product(self, product: Optional[Product]) -> list[str]:
        """Guidelines that govern a drug: by dosage form, else by ingredient, else by drug class."""
        if product is None:
            return []
        tiers = (("form", {product.form} if product.form else set()), ("ingredient", product.ingredients),
                 ("class", product.classes))
        for kind, values in tiers:
            found = set()
            for v in values:
                found |= self._drug.get((kind, v), set())
            if found:
                return sorted(found)
        return []

    def route(self, item: str, product: Optional[Product]) -> list[str]:
        """Every guideline (every edition) whose services the item names."""
        key = (item, product)
        if key not in self._routes:
            matches = self.services(item) or self.by_product(product)
            if len(self._routes) >= self.CACHE_SIZE:
                return matches
            self._routes[key] = matches
        return self._routes[key]

    def resolve(self, item: str, explicit: Optional[str], product: Optional[Product],
                date: Optional[datetime.date] = None, closest: bool = True) -> Route:
        """The one guideline for an item on the request date, or why there is none.

        Among the guidelines in force on the date, an MTUS guideline governs; a
        source outside the MTUS is used only where none does, the highest in the
        hierarchy (the lowest rank) first. With `closest` false, an item no
        guideline governs gets no search for the closest services (a case's
        reader stops searching after MAX_CLOSEST_SEARCHES items).
        """
        if explicit is not None:
            if explicit not in self.infos:
                return Route(None, "guideline", f"`{explicit}` is not a guideline in the pack",
                             _close(explicit, self.infos) or "guidelines: " + ", ".join(sorted(self.infos)),
                             kind="unknown_id")
            if not in_force(self.infos[explicit], date):
                return self._not_in_force(item, [explicit], date)
            return Route(explicit)
        matches = self.route(item, product)
        current = [g for g in matches if in_force(self.infos[g], date)]
        if matches and not current:
            return self._not_in_force(item, matches, date)
        governing = [g for g in current if is_mtus(self.infos[g])]
        if not governing and current:
            best = min(rank(self.infos[g]) for g in current)
            governing = [g for g in current if rank(self.infos[g]) == best]
        if len(governing) == 1:
            return Route(governing[0])
        if governing:
            return Route(None, "item", f'"{item}" matches several guidelines: ' + ", ".join(governing),
                         "request each treatment as its own item, or add `guideline: <id>` to the request",
                         kind="several")
        if product is not None:
            what = ", ".join(sorted(product.ingredients))
            return Route(None, "item", f'no guideline in this pack governs "{item}" ({product.name}: {what})',
                         _NO_GUIDELINE_HINT)
        return self._closest(item) if closest else Route(None, "item", f'no guideline in this pack governs "{item}"',
                                                         _NO_GUIDELINE_HINT)

    def _not_in_force(self, item: str, gids: list, date: Optional[datetime.date]) -> Route:
        periods = "; ".join(f"{g}: {period_text(self.infos[g]) or 'no period'}" for g in gids)
        when = date.isoformat() if date else "the request date"
        return Route(None, "item", f'no guideline for "{item}" in this pack is in force on {when} ({periods})',
                     "the guidelines in force on the date of the request apply; add the edition in force to the pack",
                     kind="not_in_force")

    def _closest(self, item: str) -> Route:
        closest = self.closest(item)
        hint = ("closest services: " + ", ".join(f"{gid} ({name})" for gid, name in closest)) if closest else \
            _NO_GUIDELINE_HINT
        return Route(None, "item", f'no guideline in this pack governs "{item}"', hint, closest)

    def closest(self, item: str) -> tuple:
        """Up to three (guideline id, service name) pairs whose service names are nearest the item, best first.

        The whole item is scored against each name, and so is every run of as
        many of its words as the name has (only its first HINT_WORDS words are
        read): a name is close at a whole-item ratio of 0.6 or a run's of 0.8.
        """
        text = " ".join(_norm(routing_text(item)).split()[:HINT_WORDS])
        if text in self._closest_cache:
            return self._closest_cache[text]
        if self._hint_names is None:
            self._prepare_hints()
        words = text.split()
        whole = (text, Counter(text))
        runs: dict[int, list] = {}  # runs of k words, with their characters, shared by names of k words
        scored = []
        for name in self._hint_names or ():
            k = name.words
            if k not in runs:
                runs[k] = [(r, Counter(r)) for r in
                           (" ".join(words[i:i + k]) for i in range(max(1, len(words) - k + 1)))]
            score = name.score(whole, runs[k])
            if score is not None:
                scored.append((score, name.key))
        best: dict[str, str] = {}
        for _, key in sorted(scored, key=lambda x: (-x[0], x[1])):
            gid, name = self._hint_index[key]
            best.setdefault(gid, name)
        found = tuple(list(best.items())[:3])
        if len(self._closest_cache) < self.CACHE_SIZE:
            self._closest_cache[text] = found
        return found


class _HintName:
    """One service name, prepared once per pack for the closest-service hint.

    Its score against an item is difflib's ratio, exactly; the cheap upper
    bounds (lengths, then shared characters) skip every ratio that could not
    reach its cutoff, which is nearly all of them, so the hint for an item
    costs a few comparisons per name instead of one full match per run of words.
    """

    __slots__ = ("key", "norm", "words", "chars")
    key: str  # the name as the guideline declares it, lower case (sorting ties)
    norm: str
    words: int
    chars: tuple  # (character, count) pairs

    def __init__(self, key: str, norm: str, words: int, chars: tuple) -> None:
        self.key = key
        self.norm = norm
        self.words = words
        self.chars = chars

    def _ratio(self, text: tuple, cutoff: float) -> float:
        """difflib's ratio of a (text, its characters) to the name if it may reach cutoff, else 0.0 (below cutoff)."""
        string, chars = text
        total = len(string) + len(self.norm)
        if not total or 2.0 * min(len(string), len(self.norm)) / total < cutoff:
            return 0.0
        if 2.0 * sum(min(n, chars[c]) for c, n in self.chars) / total < cutoff:  # difflib's quick_ratio
            return 0.0
        import difflib

        return difflib.SequenceMatcher(None, string, self.norm).ratio()

    def score(self, whole: tuple, runs: list) -> Optional[float]:
        """The larger of the whole item's and its best run's ratios, if either reaches its cutoff; else None."""
        ratio = self._ratio(whole, 0.6)
        if ratio >= 0.6:  # close: its score is the best run's exact ratio when that is higher
            return max([ratio] + [self._ratio(r, 0.0) for r in runs])
        window = max((self._ratio(r, 0.8) for r in runs), default=0.0)
        return window if window >= 0.8 else None


#: Words after which an item names what the service is for, not another service: "Psychological
#: evaluation for SCS trial" is an evaluation; the stimulator is its purpose.
_PURPOSE = (" for ", " prior to ", " before ", " in preparation for ")


def _purposes(text: str, named: list[tuple[str, str]]) -> set[str]:
    """Guidelines the item names only as the purpose of a service it names first (none if it names no purpose).

    text is normalised and padded with spaces, as `Router.services` matches names in it.
    """
    cut = min((i for i in (text.find(w) for w in _PURPOSE) if i >= 0), default=-1)
    if cut < 0:
        return set()
    before = {gid for name, gid in named if text.find(name) + len(name) <= cut + 1}
    if not before:
        return set()
    return {gid for name, gid in named if gid not in before}


def detail_facts(info: GuidelineInfo, detail: ItemDetail, item: str) -> tuple[dict, dict]:
    """Facts the item itself documents, for the guideline that declares them: the approach, the units requested.

    A finding named for an approach (`transforaminal`) is present when the item
    names that approach and absent when it names another; a `one of` request
    detail whose values are approaches (`esi_approach`) takes the one named; the
    fact declared `from item quantity` is the item's quantity ("PT 2x6": 12
    visits; "Trigger point injections x4": 4 injections), and no other fact is
    (a TENS unit's "x1" is one unit, not one lead); the fact declared `from
    item levels` is the number of spinal levels it names ("L4-5 and L5-S1": 2);
    `from item length` the length of use it states ("rental x30 days"), and
    `from item purchase` whether it is a purchase ("purchase": present,
    "rental": absent); `from item frequency` the visits per week ("2x6": 2),
    `from item hours` the hours of care per week ("4 hrs/day x 5 days/week": 20),
    `from item days` the full days of a day program ("160 hours": 20).
    The case's own facts override these.
    """
    declared = info.facts
    facts: dict[str, Any] = {}
    if detail.approach is not None:
        for name in APPROACHES:
            if name in declared and declared[name].kind == "finding":
                facts[name] = detail.approach == name
        schema = declared.get("approach")
        if schema is not None and (schema.kind == "text" or detail.approach in (schema.members or ())):
            facts["approach"] = detail.approach
        for name, schema in declared.items():  # a `one of` request detail whose values are approaches
            members = schema.members or ()
            if schema.detail and detail.approach in members and set(members) <= set(APPROACHES):
                facts[name] = detail.approach
    levels = level_count(detail.levels)
    for name, schema in declared.items():
        if schema.from_item == "quantity" and detail.quantity is not None:
            facts[name] = detail.quantity
        elif schema.from_item == "levels" and levels is not None:
            facts[name] = levels
        elif schema.from_item == "length" and detail.length is not None:
            n, unit = detail.length
            facts[name] = Duration(n, 0) if unit == "month" else Duration(0, n * (7 if unit == "week" else 1))
        elif schema.from_item == "purchase" and detail.purchase is not None:
            facts[name] = detail.purchase
        elif schema.from_item == "frequency" and detail.per_week is not None:
            facts[name] = detail.per_week
        elif schema.from_item == "hours" and detail.hours_per_week is not None:
            facts[name] = detail.hours_per_week
        elif schema.from_item == "days":
            days = program_days(item, detail.quantity)
            if days is not None:
                facts[name] = days
    return facts, {n: f'the request ("{item}")' for n in facts}


def route_item(item: str, infos: Mapping[str, GuidelineInfo]) -> list[str]:
    """Guidelines whose CPT codes or service names the request item mentions."""
    return Router(infos).services(item)


def find_product(item: str, formulary: Optional[FormularyInfo]) -> Optional[Product]:
    """The formulary product (or single ingredient) the item names."""
    return Router({}, formulary).product(item)


def route_product(product: Optional[Product], infos: Mapping[str, GuidelineInfo]) -> list[str]:
    """Guidelines that govern a drug: by dosage form, else by ingredient, else by drug class."""
    return Router(infos).by_product(product)
