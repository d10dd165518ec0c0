"""A pack's routing index: which guideline covers which services and declares which facts.

The compiler writes it into the pack as `routing.json` (RouteTables.to_json),
in the form the router uses: service names normalised, CPT codes and drug
services as tables, fact names with the guidelines declaring them. Reading a
case then opens the description of only the guidelines it routes to, and no
name is normalised at start-up. A set of descriptions given directly has its
index computed from the descriptions.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping

from mtus.compiler.check.info import FactInfo, GuidelineInfo, Service

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator, Optional, Sequence


class PackIndex:
    """services: guideline id -> its services; facts: fact name -> the ids of the guidelines declaring it, in order;
    tables: the router's tables when the pack carries them (then `services` is None: nothing needs them)."""

    __slots__ = ("services", "facts", "tables")

    def __init__(self, services: Optional[Mapping[str, Sequence[Service]]],
                 facts: Mapping[str, tuple[str, ...]], tables: Optional[RouteTables] = None):
        self.services = services
        self.facts = facts
        self.tables = tables

    @classmethod
    def of(cls, infos: Mapping[str, GuidelineInfo]) -> "PackIndex":
        """The index of descriptions already loaded (every one of them is read)."""
        facts: dict[str, list[str]] = {}
        for gid, info in infos.items():
            for name in info.facts:
                facts.setdefault(name, []).append(gid)
        return cls({gid: info.services for gid, info in infos.items()}, {n: tuple(g) for n, g in facts.items()})


#: The version of routing.json's layout; a pack with another is refused (recompile it). 2: the service names
#: and the names as written as parallel lists (a large pack's 14,000 pairs decoded 2.5x faster than pairs).
#: 3: each name's guideline as runs (the names of one guideline are consecutive), each fact's guidelines as one
#: text of numbers, read when the fact is first looked up (30,000 numbers were a third of opening a large pack).
ROUTING_FORMAT = 3


class RouteTables:
    """The router's tables (routing.Router): CPT code -> guideline ids; the padded normalised service names
    (`texts`), each guideline's consecutive (`starts`: where its first name is, `owners`: its position in
    `ids`); (drug service kind, value) -> ids; the formulary's names as word sets, longest first; each
    ingredient's single-ingredient dosage forms. `written`: the service names as written where that is not
    the normalised name without its padding (by position in `texts`), for the closest-service hint (raw_names)."""

    __slots__ = ("cpt", "texts", "starts", "owners", "ids", "written", "drug", "drug_names", "single_forms")

    def __init__(self, cpt: dict[str, set], texts: list[str], starts: list[int], owners: list[int],
                 ids: Sequence[str], written: dict[int, str], drug: dict[tuple[str, str], set],
                 drug_names: list[tuple[frozenset, str, str]], single_forms: dict[str, set]):
        self.cpt, self.texts, self.starts, self.owners, self.ids = cpt, texts, starts, owners, ids
        self.written, self.drug, self.drug_names, self.single_forms = written, drug, drug_names, single_forms

    @classmethod
    def with_raw_names(cls, cpt, names: list[tuple[str, str]], raw_names: list[str], ids: Sequence[str], drug,
                       drug_names, single_forms):
        """The tables, given every service name as written beside its normalised form (what `written` keeps)
        and its guideline; `ids`: every guideline, in the pack's order."""
        at = {gid: i for i, gid in enumerate(ids)}
        written = {i: raw for i, (raw, (name, _)) in enumerate(zip(raw_names, names)) if raw != name[1:-1]}
        starts, owners = [], []
        for i, (_, gid) in enumerate(names):
            if not owners or owners[-1] != at[gid]:
                starts.append(i)
                owners.append(at[gid])
        return cls(cpt, [name for name, _ in names], starts, owners, list(ids), written, drug, drug_names,
                   single_forms)

    def owner(self, i: int) -> str:
        """The id of the guideline whose service name is `texts[i]`."""
        return self.ids[self.owners[bisect_right(self.starts, i) - 1]]

    @property
    def names(self) -> list[tuple[str, str]]:
        """(padded normalised service name, guideline id), in order."""
        return [(text, self.owner(i)) for i, text in enumerate(self.texts)]

    @property
    def raw_names(self) -> list[str]:
        """Each service name as written, in the order of `names` (made when a hint first needs them)."""
        return [self.written.get(i, name[1:-1]) for i, name in enumerate(self.texts)]

    def to_json(self, ids: Sequence[str], facts: Mapping[str, Sequence[str]]) -> dict:
        """routing.json: guidelines by their position in `ids` (the manifest's order); sets sorted."""
        at = {gid: i for i, gid in enumerate(ids)}
        return {"format": ROUTING_FORMAT, "guidelines": list(ids),
                "cpt": [[code, sorted(at[g] for g in gids)] for code, gids in sorted(self.cpt.items())],
                "names": list(self.texts),
                "name_runs": [x for start, o in zip(self.starts, self.owners) for x in (start, at[self.ids[o]])],
                "written_at": sorted(self.written),
                "written": [raw for _, raw in sorted(self.written.items())],
                "drug": [[kind, value, sorted(at[g] for g in gids)] for (kind, value), gids in sorted(self.drug.items())],
                "drug_names": [[sorted(words), kind, name] for words, kind, name in self.drug_names],
                "single_forms": [[i, sorted(forms)] for i, forms in sorted(self.single_forms.items())],
                "facts": [[name, " ".join(str(at[g]) for g in gids)] for name, gids in facts.items()]}

    @classmethod
    def from_json(cls, data: Any, ids: Sequence[str],
                  where: str = "routing.json") -> tuple[RouteTables, Mapping[str, tuple[str, ...]]]:
        """The tables and the facts index of routing.json, for a pack whose guidelines are `ids` in order.

        ValueError saying what is wrong if it is not one (any other shape, another format, other guidelines).
        Every table is checked now, but for each fact's guideline numbers: checked when the fact is first
        looked up (FactGuidelines, whose errors name the file as `where`).
        """
        if not isinstance(data, dict) or data.get("format") != ROUTING_FORMAT:
            raise ValueError(f"not a routing table of format {ROUTING_FORMAT}")
        ids = list(ids)
        if data.get("guidelines") != ids:
            raise ValueError("it lists other guidelines than the manifest")
        count = len(ids)
        try:  # checked with whole-list operations (str.join refuses a non-text, a list index a non-integer)
            def numbers(xs: Any, below: int = count) -> list[int]:
                if type(xs) is not list or set(map(type, xs)) - {int} or (xs and not 0 <= min(xs) <= max(xs) < below):
                    raise ValueError
                return xs

            def gids(xs: Any) -> list[str]:
                return [ids[i] for i in numbers(xs)]

            rows = _list(data["cpt"])
            cpt = {code: set(gids(g)) for code, g in rows}
            _texts(list(cpt))
            texts = _texts(_list(data["names"]))
            runs = numbers(data["name_runs"], max(count, len(texts)))
            starts, owners = runs[::2], runs[1::2]
            if (len(starts) != len(owners) or starts != sorted(set(starts)) or (texts and starts[:1] != [0])
                    or (starts and starts[-1] >= len(texts)) or (owners and max(owners) >= count)):
                raise ValueError
            at = _list(data["written_at"])  # positions in `texts`
            raws = _texts(_list(data["written"]))
            if set(map(type, at)) - {int} or (at and not 0 <= min(at) <= max(at) < len(texts)) or len(at) != len(raws):
                raise ValueError
            written = dict(zip(at, raws))
            rows = _list(data["drug"])
            drug = {(kind, value): set(gids(g)) for kind, value, g in rows}
            _texts([k + v for k, v in drug])
            rows = _list(data["drug_names"])
            drug_names = [(frozenset(_texts(_list(words))), kind, name) for words, kind, name in rows]
            _texts([k + n for _, k, n in drug_names])
            single_forms = {i: set(_texts(_list(forms))) for i, forms in _list(data["single_forms"])}
            _texts(list(single_forms))
            facts = dict(_list(data["facts"]))
            _texts(list(facts) + list(facts.values()))
        except (TypeError, ValueError, KeyError, IndexError):
            raise ValueError("its tables are not lists of texts and guideline numbers") from None
        return (cls(cpt, texts, starts, owners, ids, written, drug, drug_names, single_forms),
                FactGuidelines(facts, ids, where))


class FactGuidelines(Mapping[str, tuple[str, ...]]):
    """fact name -> the ids of the guidelines declaring it, in order, from routing.json's text of guideline
    numbers for the fact (`"0 7 12"`), read when the fact is first looked up: a case names a dozen facts of a
    pack's hundreds. A text that is not such numbers is a PackError then (the file matched its sha256)."""

    __slots__ = ("_numbers", "_ids", "_where", "_made")

    def __init__(self, numbers: dict[str, str], ids: Sequence[str], where: str = "routing.json"):
        self._numbers = numbers
        self._ids = ids
        self._where = where  # the file, for errors
        self._made: dict[str, tuple[str, ...]] = {}

    def __getitem__(self, name: str) -> tuple[str, ...]:
        made = self._made.get(name)
        if made is None:
            text, ids = self._numbers[name], self._ids
            numbers = [int(n) for n in text.split()] if _NUMBERS.fullmatch(text) else [len(ids)]
            if max(numbers) >= len(ids):
                from mtus.compiler.check.pack import PackError  # (check/pack.py imports this module)

                raise PackError(f"{self._where}: the guidelines of fact `{name}` are not guideline numbers "
                                f"({text[:40]!r}); recompile the pack with `mtus compile`")
            made = self._made[name] = tuple([ids[n] for n in numbers])
        return made

    def __contains__(self, name: object) -> bool:
        return name in self._numbers

    def __iter__(self) -> Iterator[str]:
        return iter(self._numbers)

    def __len__(self) -> int:
        return len(self._numbers)


_NUMBERS = re.compile(r"\d{1,9}(?: \d{1,9})*")


def _texts(xs: list) -> list:
    "".join(xs)  # TypeError unless every one is a text
    return xs


def _list(x: Any) -> list:
    if type(x) is not list:
        raise TypeError
    return x


class AllFacts(Mapping[str, FactInfo]):
    """Every fact of the pack by name, each read from a guideline declaring it when first asked for.

    A fact declared by several guidelines has one meaning (the compiler refuses
    a conflict, E408); the last declaring guideline's entry is the one used.
    """

    def __init__(self, infos: Mapping[str, GuidelineInfo], facts: Mapping[str, tuple[str, ...]]):
        self._infos = infos
        self._facts = facts
        self._loaded: dict[str, FactInfo] = {}

    def __getitem__(self, name: str) -> FactInfo:
        fact = self._loaded.get(name)
        if fact is None:
            fact = self._loaded[name] = self._infos[self._facts[name][-1]].facts[name]
        return fact

    def get(self, name, default=None):  # type: ignore[override]  # the common case, without a KeyError
        return self[name] if name in self._facts else default

    def __contains__(self, name: object) -> bool:
        return name in self._facts

    def __iter__(self) -> Iterator[str]:
        return iter(self._facts)

    def __len__(self) -> int:
        return len(self._facts)
