"""Routing a request item to the guideline that governs it: explicit id, CPT code, service name or drug.

A Router is built once per pack from the guidelines' declared services and the
formulary; it caches routed items, so batch checking does not re-normalise
every name for every case.
"""

from __future__ import annotations

import difflib
import re
from typing import Mapping, Optional

import attrs

from mtus.compiler.check.info import GuidelineInfo

_CPT = re.compile(r"\b(?:cpt\s*)?(\d{4}[0-9A-Z])\b", re.I)
_NON_WORD = re.compile(r"[^a-z0-9]+")


def _norm(text: str) -> str:
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())


def _close(word: str, options) -> Optional[str]:
    m = difflib.get_close_matches(word, sorted(options), n=3, cutoff=0.6)
    if not m:
        return None
    return "did you mean " + " or ".join(f"`{x}`" for x in m) + "?"


@attrs.frozen
class Product:
    """A drug the request item names, as the pack's formulary describes it."""

    name: str
    ingredients: frozenset
    classes: frozenset
    form: Optional[str]

    def value(self, part: str):
        return {"ingredients": self.ingredients, "classes": self.classes, "form": self.form,
                "name": self.name}[part]


@attrs.frozen
class Route:
    """Where an item goes: a guideline id, or why none (`key` is the request key the problem is about)."""

    guideline: Optional[str]
    key: str = "item"
    message: str = ""
    hint: Optional[str] = None


class Router:
    """The pack's routing tables: CPT codes, service names and drug services to guideline ids."""

    CACHE_SIZE = 4096

    def __init__(self, infos: Mapping[str, GuidelineInfo], formulary: Optional[Mapping] = None):
        self.infos = infos
        self.formulary = formulary
        self._cpt: dict[str, set] = {}
        self._names: list[tuple[str, str]] = []  # (normalised service name, guideline id)
        self._drug: dict[tuple[str, str], set] = {}  # (kind, value) -> guideline ids
        for gid, info in infos.items():
            for svc in info.services:
                if svc.kind == "cpt":
                    self._cpt.setdefault(svc.value.upper(), set()).add(gid)
                elif svc.kind == "name":
                    self._names.append((f" {_norm(svc.value)} ", gid))
                else:
                    self._drug.setdefault((svc.kind, svc.value), set()).add(gid)
        self._drug_names: list[tuple[str, str, str]] = []  # (normalised, kind, name)
        if formulary:
            for kind in ("products", "ingredients"):
                for name in formulary[kind]:
                    n = _norm(name)
                    if n:
                        self._drug_names.append((f" {n} ", kind, name))
            # longest name first; products before ingredients of the same length
            self._drug_names.sort(key=lambda x: (-len(x[0]), x[1] != "products"))
        self._products: dict[str, Optional[Product]] = {}
        self._routes: dict[tuple, list[str]] = {}

    def services(self, item: str) -> list[str]:
        """Guidelines whose CPT codes or service names the request item mentions."""
        found = set()
        for m in _CPT.finditer(item):
            found |= self._cpt.get(m.group(1).upper(), set())
        text = f" {_norm(item)} "
        named = [(name, gid) for name, gid in self._names if name in text]

        def inside(name: str, gid: str) -> bool:
            return any(other != gid and name != longer and name in longer for longer, other in named)

        # The most specific name decides: "post-op physical therapy" routes to the
        # postsurgical guideline only, not also to the guideline named "physical
        # therapy" (nor through that one's CPT codes); names that do not overlap
        # still route to several guidelines, which is an error for the case.
        winners = {gid for name, gid in named if not inside(name, gid)}
        found = (found | winners) - ({gid for name, gid in named if inside(name, gid)} - winners)
        if not found and _norm(item) in self.infos:
            found.add(_norm(item))
        return sorted(found)

    def product(self, item: str) -> Optional[Product]:
        """The formulary product (or single ingredient) the item names; the longest name wins."""
        if item in self._products:
            return self._products[item]
        found = None
        if self._drug_names:
            text = f" {_norm(item)} "
            hit = next(((kind, name) for n, kind, name in self._drug_names if n in text), None)
            if hit is not None:
                kind, name = hit
                if kind == "products":
                    entry = self.formulary["products"][name]
                    ingredients, form = entry["ingredients"], entry["form"]
                else:
                    ingredients, form = [name], None
                classes = {c for i in ingredients for c in self.formulary["ingredients"].get(i, ())}
                found = Product(name, frozenset(ingredients), frozenset(classes), form)
        if len(self._products) < self.CACHE_SIZE:
            self._products[item] = found
        return found

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
        key = (item, product)
        if key not in self._routes:
            matches = self.services(item) or self.by_product(product)
            if len(self._routes) >= self.CACHE_SIZE:
                return matches
            self._routes[key] = matches
        return self._routes[key]

    def resolve(self, item: str, explicit: Optional[str], product: Optional[Product]) -> Route:
        """The one guideline for an item, or why there is none (unknown id, several, none)."""
        if explicit is not None:
            if explicit in self.infos:
                return Route(explicit)
            return Route(None, "guideline", f"`{explicit}` is not a guideline in the pack",
                         _close(explicit, self.infos) or "guidelines: " + ", ".join(sorted(self.infos)))
        matches = self.route(item, product)
        if len(matches) == 1:
            return Route(matches[0])
        if matches:
            return Route(None, "item", f'"{item}" matches several guidelines: ' + ", ".join(matches),
                         "add `guideline: <id>` to the request")
        if product is not None:
            what = ", ".join(sorted(product.ingredients))
            return Route(None, "item", f'no guideline in the pack governs "{item}" ({product.name}: {what})',
                         "add `guideline: <id>` if one of the pack's guidelines applies (`mtus rationale` lists them)")
        names = {s.value: gid for gid, info in self.infos.items() for s in info.services if s.kind == "name"}
        close = difflib.get_close_matches(item.lower(), sorted(names), n=6, cutoff=0.4)
        best: dict[str, str] = {}
        for c in close:
            best.setdefault(names[c], c)
        hint = ("closest: " + ", ".join(f"{gid} ({name})" for gid, name in best.items())) if best else \
            "add `guideline: <id>`; guidelines: " + ", ".join(sorted(self.infos))
        return Route(None, "item", f'no guideline governs "{item}"', hint)


def route_item(item: str, infos: Mapping[str, GuidelineInfo]) -> list[str]:
    """Guidelines whose CPT codes or service names the request item mentions."""
    return Router(infos).services(item)


def find_product(item: str, formulary: Optional[Mapping]) -> Optional[Product]:
    """The formulary product (or single ingredient) the item names."""
    return Router({}, formulary).product(item)


def route_product(product: Optional[Product], infos: Mapping[str, GuidelineInfo]) -> list[str]:
    """Guidelines that govern a drug: by dosage form, else by ingredient, else by drug class."""
    return Router(infos).by_product(product)
