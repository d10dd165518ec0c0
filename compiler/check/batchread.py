"""The batch's fast path: a well-formed JSON case read into each request's facts by a reader per guideline.

Batch lines are many and alike: the same few items, the same words for the
same findings. `FastReader.read` takes a decoded line that has the plain shape
of a case (`case`, `date`, `request`/`requests` with `item` and `facts`, and
`facts`), routes each item once per item text and date, and hands its facts
to the reader of the guideline it routes to (`GuidelineReader`, built once
from that guideline's fact schema): it knows each declared fact's kind and
remembers each value it has converted, keyed by the fact's name and the value
as written, so a value seen before costs one dict lookup; any other value goes
through the case reader's own converter for its kind (check/case.py); a
fact written `{value, source}` is read for its value (the compact record
cites no sources). It answers None for anything else: another key (a
patient), an undeclared or unknown fact, any value the reader would refuse or
read otherwise, an item no guideline decides, a shared fact no requested
guideline reads (a warning). Those lines go to the case reader, which says
what is wrong, so every result is the one the case reader gives
(tests/test_batch_fast.py and tests/test_batchread.py compare them).
"""

from __future__ import annotations

import datetime
from bisect import bisect_right
from typing import Any, Callable, Mapping, Optional

from mtus.compiler.check.case import _CONVERT, MAX_HISTORY, MAX_REQUESTS, CaseReader, _Bad, parse_date
from mtus.compiler.check.itemtext import read_detail
from mtus.compiler.check.routing import detail_facts

#: Remembered values per guideline reader and routes per fast reader: beyond these, values are converted each time.
MAX_REMEMBERED = 200_000
#: Items remembered (what each is, what it documents): item texts are fewer than values, but each is kept whole.
MAX_ITEMS = 4_096

_NOT = object()  # a value the fast path does not take: the case reader decides the line
_TOP = frozenset(("case", "date", "request", "requests", "facts"))
_REQUEST = frozenset(("item", "guideline", "facts"))
#: Top keys the compact record does not read: the case file's summary (checked as the reader checks it) and a
#: casebook's `expected:` (ignored by the reader).
_IGNORED = frozenset(("summary", "expected"))
_SOURCED = frozenset(("value", "source"))


def _converter(schema) -> Callable[[Any], Any]:
    """raw -> the runtime value of a fact or history field of this schema by the case reader's converter, or _NOT
    where the reader refuses it or reads it otherwise (an empty value, `{value, source}`, a history)."""
    kind = schema.kind
    if kind == "history":
        return _history(schema)
    to_value = _CONVERT[kind]

    def conv(raw: Any) -> Any:
        if raw is None or type(raw) is dict:  # empty, or {value, source}: the case reader says how
            return _NOT
        try:
            return to_value(raw, schema)
        except _Bad:
            return _NOT

    return conv


def _history(schema) -> Callable[[Any], Any]:
    """The converter of a history: each row's texts remembered by (field, text) as a guideline's facts are."""
    fields = {name: _converter(f) for name, f in schema.fields.items()}
    seen: dict[tuple, Any] = {}
    get = seen.get

    def conv(raw: Any) -> Any:
        if type(raw) is not list or len(raw) > MAX_HISTORY:
            return _NOT
        rows = []
        for entry in raw:
            if type(entry) is not dict:
                return _NOT
            row = {}
            for pair in entry.items():
                if type(pair[1]) is str:
                    v = get(pair)
                    if v is not None:  # a field's text seen before (no converted value is None)
                        row[pair[0]] = v
                        continue
                f = fields.get(pair[0])
                if f is None:
                    return _NOT
                v = f(pair[1])
                if v is _NOT:
                    return _NOT
                if type(pair[1]) is str and len(seen) < MAX_REMEMBERED:
                    seen[pair] = v
                row[pair[0]] = v
            rows.append(row)
        return tuple(rows)

    return conv


class GuidelineReader:
    """Reads the facts one guideline declares: `read(raw, out)` puts each converted value of the mapping `raw`
    into `out` and answers True, or answers False at the first name the guideline does not declare or the first
    value the case reader would refuse or read otherwise. Built once per guideline from its fact schema."""

    def __init__(self, declared: Mapping[str, Any]):
        self.declared = declared
        convs: dict[str, Callable[[Any], Any]] = {}
        # (name, value as written) -> runtime value, for texts and ints (and a set's texts, as a tuple)
        values: dict[tuple, Any] = {}
        get = values.get

        def convert(name: str, raw: Any) -> Any:
            conv = convs.get(name)
            if conv is None:
                schema = declared.get(name)
                if schema is None:
                    return _NOT
                conv = convs[name] = _converter(schema)
            return conv(raw)

        def read(raw: dict, out: dict) -> bool:
            for pair in raw.items():
                t = type(pair[1])
                if t is str or t is int:
                    v = get(pair)
                    if v is None:  # not seen before (no converted value is None)
                        v = convert(*pair)
                        if v is _NOT:
                            return False
                        if len(values) < MAX_REMEMBERED:
                            values[pair] = v
                elif t is list and (not pair[1] or pair[0] not in histories):
                    # a set, or an empty history: remembered by its texts as a tuple (a history's rows are not)
                    key = (pair[0], tuple(pair[1]))
                    try:  # only lists of texts are remembered: no other list equals one
                        v = get(key)
                    except TypeError:  # a list or mapping in the list: the reader words what is wrong
                        return False
                    if v is None:
                        v = convert(*pair)
                        if v is _NOT:
                            return False
                        if len(values) < MAX_REMEMBERED:
                            values[key] = v
                else:
                    if t is dict:  # {value, source}: the value (a record's sources are the letter's, not the batch's)
                        raw_value = pair[1]
                        source = raw_value.get("source", "")
                        if "value" not in raw_value or not raw_value.keys() <= _SOURCED or type(source) is not str:
                            return False  # the reader words what is wrong
                        v = convert(pair[0], raw_value["value"])
                    else:
                        v = convert(*pair)
                    if v is _NOT:
                        return False
                out[pair[0]] = v
            return True

        histories = frozenset(n for n, s in declared.items() if s.kind == "history")
        self.read = read


class FastReader:
    """The fast path for one pack's case reader; not thread-safe (one per process, as batch.py uses it)."""

    def __init__(self, reader: CaseReader):
        self.reader = reader
        self.infos = reader.infos
        # (item, explicit guideline, date as written) -> (date, item stripped, guideline id, facts the item
        # documents, the guideline's reader), or None where the case reader decides the line
        self._routes: dict[tuple, Optional[tuple]] = {}
        self._readers: dict[str, GuidelineReader] = {}
        self._items: dict[tuple, tuple] = {}  # (item, explicit guideline) -> (item stripped, product)
        self._bases: dict[tuple, tuple] = {}  # (guideline id, item) -> (facts the item documents, reader)
        self.checkers: dict[str, tuple] = {}  # guideline id -> what batch.py calls of its checker

    # ---------------------------------------------------------------- a line
    def read(self, data: Any) -> Optional[tuple[Optional[str], datetime.date, list[tuple[str, str, dict]]]]:
        """(case id, review date, [(item, guideline id, facts)]) of a plain, valid case; None otherwise."""
        if type(data) is not dict:
            return None
        if not data.keys() <= _TOP:
            if not data.keys() <= _TOP | _IGNORED:
                return None
            summary = data.get("summary")
            if summary is not None and (type(summary) is not str or not summary.strip()):
                return None
        cid = data.get("case")
        if cid is not None:
            if type(cid) is int and -(1 << 63) <= cid < 1 << 63:  # a longer one: the case reader's way
                cid = str(cid)
            elif type(cid) is not str or "\n" in cid:
                return None
        if "request" in data:
            if "requests" in data:
                return None
            r = data["request"]
        else:
            r = data.get("requests")
            if type(r) is list:
                if len(r) != 1:
                    return self.several(cid, data, r)
                r = r[0]
            elif type(r) is not dict:
                return None
        # the usual line: one request, every shared fact its guideline's (request_route, inlined: it is per line)
        if type(r) is not dict or not r.keys() <= _REQUEST:
            return None
        key = (r.get("item"), r.get("guideline"), data.get("date"))
        try:
            route = self._routes[key]
        except KeyError:
            route = self.request_route(r, key[2])
        except TypeError:  # a list or mapping as the item, guideline or date: the reader words what is wrong
            return None
        if route is None:
            return None
        date, stripped, gid, base, g = route
        facts = dict(base)
        shared = data.get("facts")
        if shared is not None and (type(shared) is not dict or not g.read(shared, facts)):
            return None  # a shared fact its guideline does not declare is a warning: the case reader words it
        own = r.get("facts")
        if own is not None and (type(own) is not dict or not g.read(own, facts)):
            return None
        return cid, date, [(stripped, gid, facts)]

    def several(self, cid: Optional[str], data: dict, raw_requests: list):
        """read() for a line of several requests: each gets the shared facts its guideline declares, and
        a shared fact no requested guideline declares is a warning (the case reader words it)."""
        if not 0 < len(raw_requests) <= MAX_REQUESTS:
            return None
        shared = data.get("facts")
        if shared is None:
            shared = {}
        elif type(shared) is not dict:
            return None
        rawdate = data.get("date")
        requests = []
        read: set = set()
        date = None
        for r in raw_requests:
            route = self.request_route(r, rawdate)
            if route is None:
                return None
            date, stripped, gid, base, g = route
            facts = dict(base)
            declared = g.declared
            if not g.read({n: v for n, v in shared.items() if n in declared}, facts):
                return None
            own = r.get("facts")
            if own is not None and (type(own) is not dict or not g.read(own, facts)):
                return None
            read.update(declared)
            requests.append((stripped, gid, facts))
        if not shared.keys() <= read:
            return None
        return cid, date, requests

    def request_route(self, r: Any, rawdate: Any) -> Optional[tuple]:
        """(date, item stripped, guideline id, facts the item documents, the guideline's reader) of a plain
        request on the date as written, remembered; None where the case reader decides the line."""
        if type(r) is not dict or not r.keys() <= _REQUEST:
            return None
        item, explicit = r.get("item"), r.get("guideline")
        if type(item) is not str or type(rawdate) is not str or (explicit is not None and type(explicit) is not str):
            return None
        key = (item, explicit, rawdate)
        found = self._routes.get(key, _NOT)
        if found is _NOT:
            found = self.route(item, explicit, rawdate)
            if len(self._routes) < MAX_REMEMBERED:
                self._routes[key] = found
        return found

    def route(self, item: str, explicit: Optional[str], rawdate: str) -> Optional[tuple]:
        """request_route's answer, worked out: the date read, the item routed on it, what the item documents.

        Only the guidelines in force depend on the date, and they change only on the dates their editions start
        and end: what an item is (its product, its details), the dates its candidates' editions change, and its
        route between two such dates are remembered per item, so a date not seen before costs a search among
        those dates (the router itself decides each stretch once).
        """
        try:
            date = parse_date(rawdate)
        except _Bad:
            return None
        key = (item, explicit)
        found = self._items.get(key)
        if found is None:
            stripped = item.strip()
            if not stripped or "\n" in stripped:
                return None
            product = self.reader.router.product(item)
            found = (stripped, product, self.changes(item, explicit, product), {})
            if len(self._items) < MAX_ITEMS:
                self._items[key] = found
        stripped, product, changes, stretches = found
        stretch = bisect_right(changes, date)  # the same for every date between the same two changes
        settled = stretches.get(stretch, _NOT)
        if settled is _NOT:
            settled = stretches[stretch] = self.settle(item, explicit, stripped, product, date)
        return None if settled is None else (date, stripped, *settled)

    def changes(self, item: str, explicit: Optional[str], product) -> list[datetime.date]:
        """The dates on which the guidelines in force among the item's candidates may change, in order: each
        edition's first day and the day after its last (editions.in_force, both ends inclusive)."""
        ids = [explicit] if explicit is not None else self.reader.router.route(item, product)
        out = set()
        for gid in ids:
            period = self.infos[gid].in_force if gid in self.infos else None
            if period is None:
                continue
            if period.start:
                out.add(datetime.date.fromisoformat(period.start))
            if period.end:
                end = datetime.date.fromisoformat(period.end)
                if end < datetime.date.max:
                    out.add(end + datetime.timedelta(days=1))
        return sorted(out)

    def settle(self, item: str, explicit: Optional[str], stripped: str, product, date: datetime.date):
        """(guideline id, facts the item documents, the guideline's reader) of the item on the date, or None."""
        gid = self.reader.router.resolve(item, explicit, product, date, False).guideline
        if gid is None:
            return None
        bkey = (gid, item)
        base = self._bases.get(bkey)
        if base is None:
            info = self.infos[gid]
            declared = info.facts
            facts, _ = detail_facts(info, read_detail(item), stripped)
            if product is not None:  # facts the guideline takes from the product: the case may override
                for n, schema in declared.items():
                    part = schema.from_product
                    if part and product.value(part) is not None:
                        facts[n] = product.value(part)
            g = self._readers.get(gid)
            if g is None:
                g = self._readers[gid] = GuidelineReader(declared)
            base = (facts, g)
            if len(self._bases) < MAX_ITEMS:
                self._bases[bkey] = base
        return gid, base[0], base[1]
