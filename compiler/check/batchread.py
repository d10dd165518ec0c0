"""The batch's fast path: a well-formed JSON case read into each request's facts without the general reader.

Batch lines are many and alike: the same few items, the same words for the
same findings. `FastReader.read` takes a decoded line that has the plain shape
of a case (`case`, `date`, `request`/`requests` with `item` and `facts`, and
`facts`), converts each value with the case reader's own converters
(check/case.py), remembering each conversion, and routes each item once per
item text. It answers None for anything else: another key, a `{value,
source}` fact, an unknown fact, any value the reader would refuse, an item no
guideline decides, a fact no requested guideline reads (a warning). Those
lines go to the case reader, which says what is wrong, so every result is
the one the case reader gives (tests/test_batch_fast.py compares them).
"""

from __future__ import annotations

import datetime
from typing import Any, Optional

from mtus.compiler.check.case import _CONVERT, MAX_HISTORY, MAX_REQUESTS, CaseReader, _Bad, parse_date
from mtus.compiler.check.itemtext import read_detail
from mtus.compiler.check.routing import detail_facts

#: Remembered conversions and routes per reader: beyond these, values are converted each time.
MAX_REMEMBERED = 200_000
MAX_ITEMS = 4_096

_NOT = object()  # a value the fast path does not take: the case reader decides the line


class FastReader:
    """The fast path for one pack's case reader; not thread-safe (one per process, as batch.py uses it)."""

    def __init__(self, reader: CaseReader):
        self.reader = reader
        self.all_facts = reader.all_facts
        self.infos = reader.infos
        self._convs: dict[int, tuple] = {}  # id(schema) -> (its converter, the values of the texts it has seen)
        self._keep: list = []  # the schemas whose ids key _convs: alive, so no other object takes an id
        self._scopes: dict[Optional[str], dict] = {}  # None (the case's facts) or a guideline id -> name -> converter
        self._dates: dict[str, datetime.date] = {}
        self._items: dict[tuple, tuple] = {}  # (item, guideline) -> (stripped item, product, detail)
        self._routes: dict[tuple, Optional[str]] = {}  # (item, guideline, date) -> the guideline deciding it
        self._bases: dict[tuple, tuple] = {}  # (guideline id, item) -> (facts the item documents, declared)
        self.checkers: dict[str, tuple] = {}  # guideline id -> what batch.py calls of its checker

    # ---------------------------------------------------------------- values
    def converter(self, schema) -> tuple:
        """(conv, texts) for the fact `schema`, made once: conv(raw) is the runtime value (or _NOT), by the case
        reader's converter; texts holds the value of each text seen (most lines repeat the same words), looked up
        by the caller before calling conv."""
        made = self._convs.get(id(schema))
        if made is not None:
            return made
        kind = schema.kind
        if kind == "history":
            fields = {name: self.converter(f) for name, f in schema.fields.items()}
            texts: dict[str, Any] = {}  # a history is never a text

            def conv(raw: Any) -> Any:
                if type(raw) is not list or len(raw) > MAX_HISTORY:
                    return _NOT
                rows = []
                for entry in raw:
                    if type(entry) is not dict:
                        return _NOT
                    row = {}
                    for fname, fraw in entry.items():
                        f = fields.get(fname)
                        if f is None:
                            return _NOT
                        v = f[1].get(fraw, _NOT) if type(fraw) is str else _NOT
                        if v is _NOT:
                            v = f[0](fraw)
                            if v is _NOT:
                                return _NOT
                        row[fname] = v
                    rows.append(row)
                return tuple(rows)
        else:
            to_value = _CONVERT[kind]
            texts = {}  # the value of each text seen
            lists: dict[tuple, Any] = {}  # the value of each list of texts seen
            ints: dict[int, Any] = {}  # the value of each int seen (looked up for an int only: True == 1)

            def remembered(seen: dict, key: Any, raw: Any) -> Any:
                v = seen.get(key, _NOT)
                if v is _NOT:
                    try:
                        v = to_value(raw, schema)
                    except _Bad:
                        return _NOT
                    if len(seen) < MAX_REMEMBERED:
                        seen[key] = v
                return v

            def conv(raw: Any) -> Any:
                t = type(raw)
                if t is str:
                    return remembered(texts, raw, raw)
                if t is int:
                    return remembered(ints, raw, raw)
                if t is list:  # a set's entries: remembered by their texts
                    if not all(type(x) is str for x in raw):  # the reader words what is wrong
                        return _NOT
                    return remembered(lists, tuple(raw), raw)
                if raw is None or t is dict:  # empty, or {value, source}: the case reader says how
                    return _NOT
                try:
                    return to_value(raw, schema)
                except _Bad:
                    return _NOT

        made = self._convs[id(schema)] = (conv, texts)
        self._keep.append(schema)  # its id stays its own while the converter is kept
        return made

    def facts(self, raw: Any, scope: Optional[str], allowed) -> Optional[dict]:
        """Converted facts, or None where the case reader would refuse one or read it otherwise."""
        if raw is None:
            return {}
        if type(raw) is not dict:
            return None
        convs = self._scopes.get(scope)
        if convs is None:
            convs = self._scopes[scope] = {}
        out = {}
        for name, v in raw.items():
            made = convs.get(name)
            if made is None:
                schema = allowed.get(name)
                if schema is None:
                    return None
                made = convs[name] = self.converter(schema)
            if type(v) is str:  # a text seen before: no call
                value = made[1].get(v, _NOT)
                if value is _NOT:
                    value = made[0](v)
                    if value is _NOT:
                        return None
            else:
                value = made[0](v)
                if value is _NOT:
                    return None
            out[name] = value
        return out

    def date(self, raw: Any) -> Optional[datetime.date]:
        if type(raw) is not str:
            return None
        d = self._dates.get(raw)
        if d is None:
            try:
                d = parse_date(raw)
            except _Bad:
                return None
            if len(self._dates) < MAX_REMEMBERED:
                self._dates[raw] = d
        return d

    # ---------------------------------------------------------------- a line
    def read(self, data: Any) -> Optional[tuple[Optional[str], datetime.date, list[tuple[str, str, dict]]]]:
        """(case id, review date, [(item, guideline id, facts)]) of a plain, valid case; None otherwise."""
        if type(data) is not dict:
            return None
        for k in data:
            if k not in ("case", "date", "request", "requests", "facts"):
                return None
        cid = data.get("case")
        if cid is not None:
            if type(cid) is int and -(1 << 63) <= cid < 1 << 63:  # a longer one: the case reader's way
                cid = str(cid)
            elif type(cid) is not str or "\n" in cid:
                return None
        date = self.date(data.get("date"))
        if date is None:
            return None
        if "request" in data:
            if "requests" in data:
                return None
            raw_requests = [data["request"]]
        else:
            raw_requests = data.get("requests")
            if type(raw_requests) is dict:
                raw_requests = [raw_requests]
            elif type(raw_requests) is not list or not 0 < len(raw_requests) <= MAX_REQUESTS:
                return None
        shared = self.facts(data.get("facts"), None, self.all_facts)
        if shared is None:
            return None
        if len(raw_requests) == 1:  # the usual line: one request, every shared fact its guideline's
            one = self.request(raw_requests[0], date, shared)
            return None if one is None else (cid, date, [one])
        requests = []
        read: set = set()
        for r in raw_requests:
            parts = self.parts(r, date)
            if parts is None:
                return None
            stripped, gid, base, declared, own = parts
            facts = dict(base)
            for n, v in shared.items():
                if n in declared:
                    facts[n] = v
            facts.update(own)
            read.update(declared)
            requests.append((stripped, gid, facts))
        for n in shared:  # a shared fact no requested guideline reads is a warning: the case reader words it
            if n not in read:
                return None
        return cid, date, requests

    def parts(self, r: Any, date: datetime.date) -> Optional[tuple[str, str, dict, dict, dict]]:
        """(item, guideline id, facts the item documents, the guideline's facts, the request's own facts) of
        a plain request; None where the case reader decides the line."""
        if type(r) is not dict:
            return None
        for k in r:
            if k not in ("item", "guideline", "facts"):
                return None
        item, explicit = r.get("item"), r.get("guideline")
        if type(item) is not str or (explicit is not None and type(explicit) is not str):
            return None
        routed = self.route(item, explicit, date)
        if routed is None:
            return None
        stripped, gid, base, declared = routed
        own = self.facts(r.get("facts"), gid, declared)
        return None if own is None else (stripped, gid, base, declared, own)

    def request(self, r: Any, date: datetime.date, shared: dict) -> Optional[tuple[str, str, dict]]:
        """(item, guideline id, facts) of a line's only request, or None where the case reader decides the line:
        as the loop in read() does for several, with a shared fact its guideline does not read a warning."""
        parts = self.parts(r, date)
        if parts is None:
            return None
        stripped, gid, base, declared, own = parts
        if not shared.keys() <= declared.keys():  # a shared fact its guideline does not read: the reader warns
            return None
        return stripped, gid, {**base, **shared, **own}

    def route(self, item: str, explicit: Optional[str], date: datetime.date) -> Optional[tuple]:
        """(item stripped, guideline id, facts the item documents, the guideline's facts), or None if not decided."""
        key = (item, explicit)
        found = self._items.get(key)
        if found is None:
            stripped = item.strip()
            if not stripped or "\n" in stripped:
                return None
            router = self.reader.router
            found = (stripped, router.product(item), read_detail(item))
            if len(self._items) < MAX_ITEMS:
                self._items[key] = found
        stripped, product, detail = found
        rkey = (item, explicit, date)
        gid = self._routes.get(rkey, _NOT)
        if gid is _NOT:
            gid = self.reader.router.resolve(item, explicit, product, date, False).guideline
            if len(self._routes) < MAX_REMEMBERED:
                self._routes[rkey] = gid
        if gid is None:
            return None
        bkey = (gid, item)
        base = self._bases.get(bkey)
        if base is None:
            info = self.infos[gid]
            declared = info.facts
            facts, _ = detail_facts(info, detail, stripped)
            if product is not None:  # facts the guideline takes from the product: the case may override
                for n, schema in declared.items():
                    part = schema.from_product
                    if part and product.value(part) is not None:
                        facts[n] = product.value(part)
            base = (facts, declared)
            if len(self._bases) < MAX_ITEMS:
                self._bases[bkey] = base
        return stripped, gid, base[0], base[1]
