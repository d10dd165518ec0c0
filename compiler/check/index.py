"""A pack's routing index: which guideline covers which services and declares which facts.

The manifest carries it (build/packwriter.py writes each guideline's `services`
and `facts`), so reading a case opens the description of only the guidelines
it routes to: start-up does not grow with the pack. A pack without it (or a
set of descriptions given directly) has its index computed from the descriptions.
"""

from __future__ import annotations

from typing import Iterator, Mapping, Sequence

from mtus.compiler.check.info import FactInfo, GuidelineInfo, Service


class ServiceEntry:
    """A service as the manifest lists it: what routing reads of info.Service (built at a tenth of its cost)."""

    __slots__ = ("kind", "value")

    def __init__(self, kind: str, value: str):
        self.kind = kind
        self.value = value

    def __eq__(self, other: object) -> bool:
        return getattr(other, "kind", None) == self.kind and getattr(other, "value", None) == self.value

    def __hash__(self) -> int:
        return hash((self.kind, self.value))

    def __repr__(self) -> str:
        return f"ServiceEntry({self.kind!r}, {self.value!r})"


class PackIndex:
    """services: guideline id -> its services; facts: fact name -> the ids of the guidelines declaring it, in order."""

    __slots__ = ("services", "facts")

    def __init__(self, services: Mapping[str, Sequence[Service | ServiceEntry]], facts: Mapping[str, tuple[str, ...]]):
        self.services = services
        self.facts = facts

    @classmethod
    def of(cls, infos: Mapping[str, GuidelineInfo]) -> "PackIndex":
        """The index of descriptions already loaded (every one of them is read)."""
        facts: dict[str, list[str]] = {}
        for gid, info in infos.items():
            for name in info.facts:
                facts.setdefault(name, []).append(gid)
        return cls({gid: info.services for gid, info in infos.items()}, {n: tuple(g) for n, g in facts.items()})


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
