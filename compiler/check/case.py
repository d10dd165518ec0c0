"""Case files -> typed facts per request, checked against the pack's fact schemas.

A case names the date of the request (for authorization), the disputed requests and the documented facts.
Each request is routed to a guideline (compiler/check/routing.py) and gets the
facts that guideline declares, converted to runtime values. All
problems are collected and raised together as a CaseError with key paths.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation

from mtus.compiler.check.casefile import CaseError, LDict, LList, Problem, read_case_file
from mtus.compiler.check.index import AllFacts, PackIndex
from mtus.compiler.check.info import FieldInfo, FormularyInfo, GuidelineInfo
from mtus.compiler.check.itemtext import ItemDetail, read_detail
from mtus.compiler.check.lazyre import Lazy  # most values need none of the patterns below: compiled on first use
from mtus.compiler.check.routing import MAX_CLOSEST_SEARCHES, Product, Route, Router, detail_facts
from mtus.compiler.check.runtime import Duration, Record, evolve

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Mapping, Optional

#: Entries in one history beyond this are refused (documented limit).
MAX_HISTORY = 1000
#: A count above this is not a plausible number of units, and partial
#: certification searches below the requested count.
MAX_COUNT = 10_000
#: Requests in one case (documented limit): each is routed, decided and written into the letter.
MAX_REQUESTS = 1_000
#: Problems listed for one case; the rest are noted in one line.
MAX_PROBLEMS = 100

# ASCII digits only (re.ASCII): int() and Decimal() read other scripts' digits, but `isdigit()`
# also admits superscripts, which they do not; a case is written with 0-9.
_DURATION = Lazy(r"^\s*(\d+)\s*(day|days|week|weeks|month|months|year|years)\s*$", re.I | re.ASCII)
_PERCENT = Lazy(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$", re.ASCII)
_QUANTITY = Lazy(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z][A-Za-z0-9]*(?:/[A-Za-z][A-Za-z0-9]*)?)\s*$", re.ASCII)
_COUNT = Lazy(r"\s*([0-9]+)\s*", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# `expected:` is a casebook's expectation (docs/case-files.md): accepted here and
# ignored, since it is what a reviewer expects, not what the record documents.
_TOP_KEYS = ("case", "date", "summary", "patient", "request", "requests", "facts", "expected")
_PATIENT_KEYS = ("age", "sex", "injury_date", "diagnoses")
#: The patient fields a guideline may read as facts of the same name, and the kind that fact must be.
_PATIENT_KINDS = {"age": "count", "injury_date": "date"}
#: An age above this is a typing error, not a patient.
MAX_AGE = 130
_REQUEST_KEYS = ("item", "guideline", "facts")


_NO_DETAIL = ItemDetail()


class Request(Record):
    """One requested item: the guideline that decides it (if any) and the facts it is decided on."""

    __slots__ = ("index", "item", "guideline", "facts", "sources", "product", "detail", "unrouted")
    index: int
    item: str
    guideline: Optional[str]  # None: no guideline governs the item on the date (see `unrouted`)
    facts: Mapping[str, Any]
    sources: Mapping[str, str]
    product: Optional[Product]
    detail: ItemDetail  # quantity, frequency, approach as the item states them
    unrouted: Optional[Route]  # why the item is not addressed, when guideline is None

    def __init__(self, index: int, item: str, guideline: Optional[str], facts: Mapping[str, Any],
                 sources: Mapping[str, str], product: Optional[Product] = None, detail: ItemDetail = _NO_DETAIL,
                 unrouted: Optional[Route] = None) -> None:
        self.index = index
        self.item = item
        self.guideline = guideline
        self.facts = facts
        self.sources = sources
        self.product = product
        self.detail = detail
        self.unrouted = unrouted


class Patient(Record):
    """What a case states about the injured worker, for the letter's case summary; a guideline that declares
    a fact `age` (a count) or `injury_date` (a date) reads the age or date of injury stated here too."""

    __slots__ = ("age", "sex", "injury_date", "diagnoses")
    age: Optional[int]
    sex: Optional[str]
    injury_date: Optional[datetime.date]
    diagnoses: tuple[str, ...]

    def __init__(self, age: Optional[int] = None, sex: Optional[str] = None,
                 injury_date: Optional[datetime.date] = None, diagnoses: tuple[str, ...] = ()) -> None:
        self.age = age
        self.sex = sex
        self.injury_date = injury_date
        self.diagnoses = diagnoses


class Case(Record):
    """A case file as read: its date, its requests (routed), what it says about the patient."""

    __slots__ = ("id", "date", "requests", "path", "summary", "patient", "warnings")
    id: Optional[str]
    date: datetime.date
    requests: tuple[Request, ...]
    path: str
    summary: Optional[str]  # the case file's own clinical summary, as written
    patient: Optional[Patient]
    #: Problems that do not stop the decision (facts no requested guideline reads); --strict makes them errors.
    warnings: tuple[Problem, ...]

    def __init__(self, id: Optional[str], date: datetime.date, requests: tuple[Request, ...], path: str,
                 summary: Optional[str] = None, patient: Optional[Patient] = None,
                 warnings: tuple[Problem, ...] = ()) -> None:
        self.id = id
        self.date = date
        self.requests = requests
        self.path = path
        self.summary = summary
        self.patient = patient
        self.warnings = warnings


class _Bad(Exception):
    def __init__(self, message: str, hint: Optional[str] = None):
        self.message = message
        self.hint = hint


def _close(word: str, options) -> Optional[str]:
    import difflib  # only for a misspelt name: not at start-up

    m = difflib.get_close_matches(word, sorted(options), n=3, cutoff=0.6)
    if not m:
        return None
    return "did you mean " + " or ".join(f"`{x}`" for x in m) + "?"


def parse_date(raw: Any) -> datetime.date:
    if isinstance(raw, datetime.date):
        return raw
    if not isinstance(raw, str) or not _DATE.fullmatch(raw.strip()):
        raise _Bad(f"{_show(raw)} is not a date", "write dates as YYYY-MM-DD, e.g. 2014-12-18")
    try:
        return datetime.date.fromisoformat(raw.strip())
    except ValueError:
        raise _Bad(f"{raw} is not a calendar date", "check the month and day, e.g. 2014-02-28") from None


#: A value longer than this is shown cut short in a message.
SHOW_CHARS = 60


def _show(raw: Any) -> str:
    if isinstance(raw, str):
        return f'"{_cut(raw)}"'
    if isinstance(raw, (int, Decimal)) and not isinstance(raw, bool):
        return _cut(str(raw))
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, (dict, LDict)):
        return "a mapping"
    if isinstance(raw, (list, LList)):
        return "a list"
    if raw is None:
        return "an empty value"
    return _cut(str(raw))


def _cut(text: str) -> str:
    return text if len(text) <= SHOW_CHARS else f"{text[:SHOW_CHARS - 20]}... ({len(text):,} characters)"


#: Numbers in a case have at most this many digits before or after the point:
#: clinical values are small, and arithmetic on huge exponents can overflow.
MAX_DIGITS = 30
#: A length of time has at most this many digits (999,999 days is over 2,700 years).
MAX_DURATION_DIGITS = 6


def _number(raw: Any) -> Optional[Decimal]:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        n = Decimal(raw)
    elif isinstance(raw, Decimal):
        n = raw
    elif isinstance(raw, float):
        n = Decimal(repr(raw))
    elif isinstance(raw, str):
        if len(raw) > 4 * MAX_DIGITS:  # bounded before parsing; the digits are checked below
            raise _Bad(f"{_show(raw)} is not a plausible value (more than {MAX_DIGITS} digits)", "check the number")
        try:
            n = Decimal(raw.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return _plausible(n, raw)


def _plausible(n: Decimal, raw: Any) -> Decimal:
    """n, if its significant digits and its magnitude are within MAX_DIGITS.

    Counted on the value, not the text: `0.000...1` and `1.000...1` have as
    many digits as they are written with, `100.000` has one.
    """
    if not n.is_finite() or not n:
        return n
    digits = n.as_tuple().digits
    too_many = len(digits) > MAX_DIGITS and len("".join(map(str, digits)).rstrip("0")) > MAX_DIGITS
    if too_many or abs(n.adjusted()) > MAX_DIGITS:
        raise _Bad(f"{_show(raw)} is not a plausible value (more than {MAX_DIGITS} digits)", "check the number")
    return n


def _plain(d: Decimal):
    """Whole numbers as int, others as Decimal: exact either way."""
    return int(d) if d == d.to_integral_value() else d


_FINDING_WORDS = frozenset(("present", "absent", "yes", "no", "true", "false"))
_FINDING_TRUE = frozenset(("present", "yes", "true"))


def _finding(raw: Any, schema: FieldInfo) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        word = raw.strip().lower()
        if word in _FINDING_WORDS:
            return word in _FINDING_TRUE
    raise _Bad(f"{_show(raw)} is not a finding", "write `present` or `absent`")


def _count(raw: Any, schema: FieldInfo) -> int:
    if type(raw) is int and 0 <= raw <= MAX_COUNT:  # the common case, decided as below
        return raw
    if isinstance(raw, int) and not isinstance(raw, bool):
        if raw < 0:
            raise _Bad(f"{_show(raw)} is negative; a count is 0 or more")
        raise _Bad(f"{_show(raw)} is more than the {MAX_COUNT:,} a count may be", "check the number")
    if isinstance(raw, Decimal) and raw.is_finite() and raw > MAX_COUNT:  # a long integer (casefile.LONG_NUMBER_CHARS)
        raise _Bad(f"{_show(raw)} is more than the {MAX_COUNT:,} a count may be", "check the number")
    m = _COUNT.fullmatch(raw) if isinstance(raw, str) else None
    if m is None:
        raise _Bad(f"{_show(raw)} is not a count", "write a whole number such as 4")
    digits = m.group(1).lstrip("0") or "0"
    if len(digits) > len(str(MAX_COUNT)) or int(digits) > MAX_COUNT:  # the length first: int() of 5,000 digits fails
        raise _Bad(f"{_show(raw)} is more than the {MAX_COUNT:,} a count may be", "check the number")
    return int(digits)


def _number_value(raw: Any, schema: FieldInfo):
    n = _number(raw)
    if n is None or not n.is_finite():
        raise _Bad(f"{_show(raw)} is not a number")
    return _plain(n)


def _percent(raw: Any, schema: FieldInfo):
    m = _PERCENT.match(raw) if isinstance(raw, str) and len(raw) <= 4 * MAX_DIGITS else None
    n = _plausible(Decimal(m.group(1)), raw) if m else _number(raw)
    if n is None or not n.is_finite():
        raise _Bad(f"{_show(raw)} is not a percent", "write a percent such as 60%")
    if not 0 <= n <= 100:
        raise _Bad(f"{raw} is outside 0% to 100%")
    return _plain(n)


def _quantity(raw: Any, schema: FieldInfo):
    unit = schema.unit
    n = _number(raw)
    if n is None and isinstance(raw, str):
        m = _QUANTITY.match(raw)
        if m and m.group(2).lower() == unit.lower():
            n = _plausible(Decimal(m.group(1)), raw)
        elif m:
            raise _Bad(f"{_show(raw)} is in {m.group(2)}, but this fact is measured in {unit}",
                       f"convert it to {unit}")
    if n is None or not n.is_finite() or n < 0:
        raise _Bad(f"{_show(raw)} is not a quantity in {unit}", f"write e.g. `90 {unit}`")
    return _plain(n)


def _duration(raw: Any, schema: FieldInfo) -> Duration:
    m = _DURATION.match(raw) if isinstance(raw, str) else None
    if not m:
        raise _Bad(f"{_show(raw)} is not a length of time", "write e.g. `8 weeks`, `10 days`, `3 months` or `1 year`")
    digits = m.group(1).lstrip("0") or "0"
    if len(digits) > MAX_DURATION_DIGITS:  # before int(): 5,000 digits would fail, and no span of care is that long
        raise _Bad(f"{_show(raw)} is not a plausible length of time (more than {MAX_DURATION_DIGITS} digits)",
                   "check the number")
    n, unit = int(digits), m.group(2).lower().rstrip("s")
    if unit == "day":
        return Duration(0, n)
    if unit == "week":
        return Duration(0, 7 * n)
    if unit == "month":
        return Duration(n, 0)
    return Duration(12 * n, 0)  # year


def _date(raw: Any, schema: FieldInfo) -> datetime.date:
    return parse_date(raw)


def _text(raw: Any, schema: FieldInfo) -> str:
    if not isinstance(raw, str):
        raise _Bad(f"{_show(raw)} is not text", 'write it in quotes, e.g. "lumbago"')
    return raw


def _enum(raw: Any, schema: FieldInfo) -> str:
    return _member(raw, schema.members)


def _set(raw: Any, schema: FieldInfo) -> frozenset:
    items = raw if isinstance(raw, list) else [raw]
    element = schema.element
    members = element.members if element.kind == "enum" else None
    out = []
    for x in items:
        if members is not None:
            out.append(_member(x, members))
        elif isinstance(x, str):
            out.append(x)
        else:
            raise _Bad(f"{_show(x)} is not text", "list the entries as text")
    return frozenset(out)


_CONVERT = {"finding": _finding, "count": _count, "number": _number_value, "percent": _percent,
            "quantity": _quantity, "duration": _duration, "date": _date, "text": _text, "enum": _enum,
            "set": _set}


def convert(raw: Any, schema: FieldInfo) -> Any:
    """Convert one raw case value to the runtime value for a fact of this schema."""
    kind = schema.kind
    if raw is None:
        raise _Bad("the value is empty", "leave the fact out if it is not documented")
    try:
        to_value = _CONVERT[kind]
    except KeyError:
        raise AssertionError(kind) from None
    return to_value(raw, schema)


_MEMBERS: dict[tuple, dict[str, str]] = {}  # a `one of` list -> its members by casefolded spelling


def _member(raw: Any, members) -> str:
    if isinstance(raw, str):
        key = tuple(members)
        table = _MEMBERS.get(key)
        if table is None:
            table = {}
            for m in members:
                table.setdefault(m.casefold(), m)  # the first member of a spelling wins, as in a scan
            if len(_MEMBERS) < 256:
                _MEMBERS[key] = table
        found = table.get(" ".join(raw.split()).casefold())
        if found is not None:
            return found
    hint = _close(str(raw), members) or "one of: " + ", ".join(members)
    raise _Bad(f"{_show(raw)} is not one of the values this fact takes", hint)


def _no_line(key) -> None:
    return None


class _Loader:
    """Reads one case; the per-pack tables come from a CaseReader."""

    def __init__(self, path: str, reader: "CaseReader", strict: bool = False):
        self.path = path
        self.strict = strict
        self.reader = reader
        self.infos = reader.infos
        self.problems: list[Problem] = []
        self.more = False  # problems found after the first MAX_PROBLEMS, not listed
        self.all_facts = reader.all_facts

    @property
    def full(self) -> bool:
        """Enough problems to report: later ones are only noted (their hints can cost a search each)."""
        return len(self.problems) >= MAX_PROBLEMS

    def bad(self, key: str, message: str, hint=None, line=None):
        if self.full:
            self.more = True
            return
        self.problems.append(Problem(self.path, key, message, hint, line))

    def fact_values(self, facts: Any, prefix: str, allowed: Mapping[str, FieldInfo], line=None,
                    owner: Optional[str] = None):
        values: dict = {}
        sources: dict = {}
        if facts is None:
            return values, sources
        if not isinstance(facts, dict):
            self.bad(prefix, f"expected a mapping of fact names to values, found {_show(facts)}", line=line)
            return values, sources
        line_of = facts.line_of if isinstance(facts, LDict) else _no_line
        for name, raw in facts.items():
            schema = allowed.get(name)
            if schema is None:
                if self.full:
                    self.more = True
                    continue
                key, fline = f"{prefix}.{name}", line_of(name)
                hint = _close(name, allowed) or "see the facts each guideline declares: `mtus schema`"
                if owner is not None and name in self.all_facts:
                    hint = _close(name, allowed) or f"`mtus template {owner}` lists the facts {owner} reads"
                    self.bad(key, f"`{name}` is not a fact of {owner}; {_readers(name, self.reader.index)}", hint, fline)
                    continue
                self.bad(key, f"`{name}` is not a fact of any guideline in the pack", hint, fline)
                continue
            if isinstance(raw, dict) and "value" in raw:
                key, fline = f"{prefix}.{name}", line_of(name)
                extra = set(raw) - {"value", "source"}
                if extra:
                    self.bad(key, f"unexpected key `{sorted(extra)[0]}`", "a fact is written `{value: ..., source: ...}`", fline)
                    continue
                if "source" in raw:
                    if not isinstance(raw["source"], str):
                        self.bad(key + ".source", "the source must be text", line=fline)
                        continue
                    sources[name] = raw["source"]
                raw = raw["value"]
            try:
                if schema.kind == "history":
                    row_sources: list[str] = []
                    values[name] = self.history(raw, schema, f"{prefix}.{name}", line_of(name), row_sources)
                    if row_sources:  # sources of entry fields are cited for the history
                        sources[name] = "; ".join(([sources[name]] if name in sources else []) +
                                                  list(dict.fromkeys(row_sources)))
                elif raw is not None and schema.kind in _CONVERT:  # convert(), one call fewer
                    values[name] = _CONVERT[schema.kind](raw, schema)
                else:
                    values[name] = convert(raw, schema)
            except _Bad as e:
                self.bad(f"{prefix}.{name}", e.message, e.hint, line_of(name))
        return values, sources

    def history(self, raw, schema, key, line, sources: Optional[list] = None):
        if not isinstance(raw, list):
            raise _Bad(f"{_show(raw)} is not a list of entries", "write a list: - {date: 2014-09-01, relief: 60%}")
        if len(raw) > MAX_HISTORY:
            raise _Bad(f"{len(raw)} entries; a history may hold at most {MAX_HISTORY}")
        rows = []
        fields = schema.fields
        line_of = raw.line_of if isinstance(raw, LList) else (lambda i: line)
        for i, entry in enumerate(raw):
            if not isinstance(entry, dict):
                self.bad(f"{key}[{i}]", f"expected a mapping of field names to values, found {_show(entry)}",
                         line=line_of(i))
                continue
            row = {}
            for fname, fraw in entry.items():
                if fname not in fields:
                    self.bad(f"{key}[{i}].{fname}", f"`{fname}` is not a field of this history",
                             _close(fname, fields) or "its fields are " + ", ".join(fields), line_of(i))
                    continue
                if isinstance(fraw, dict) and "value" in fraw and set(fraw) <= {"value", "source"}:
                    if isinstance(fraw.get("source"), str) and sources is not None:
                        sources.append(fraw["source"])
                    fraw = fraw["value"]
                try:
                    row[fname] = convert(fraw, fields[fname])
                except _Bad as e:
                    self.bad(f"{key}[{i}].{fname}", e.message, e.hint, line_of(i))
            rows.append(row)
        return tuple(rows)

    def load(self, data: Any) -> Case:
        if not isinstance(data, dict):
            raise CaseError([Problem(self.path, "", f"a case file is a mapping with `date`, `requests` and `facts`; "
                                     f"found {_show(data)}")])
        line = data.line_of if isinstance(data, LDict) else (lambda k: None)
        for k in data:
            if k not in _TOP_KEYS:
                self.bad(k, f"unexpected key `{k}`", _close(k, _TOP_KEYS) or "keys: " + ", ".join(_TOP_KEYS), line(k))
        case_id = data.get("case")
        if case_id is not None and not isinstance(case_id, (str, int)):
            self.bad("case", "the case id must be text", line=line("case"))
        elif isinstance(case_id, str) and "\n" in case_id:  # a letter prints it on one line of its own
            self.bad("case", "the case id must be one line of text", line=line("case"))
        date = None
        if "date" not in data:
            self.bad("date", "the case has no date (the date of the request for authorization)",
                     "add `date: YYYY-MM-DD`; time is counted from it")
        else:
            try:
                date = parse_date(data["date"])
            except _Bad as e:
                self.bad("date", e.message, e.hint, line("date"))
        summary = data.get("summary")
        if summary is not None and (not isinstance(summary, str) or not summary.strip()):
            self.bad("summary", "the summary must be text", "write the clinical summary as a paragraph of text",
                     line("summary"))
            summary = None
        patient = self.patient(data["patient"], line("patient")) if "patient" in data else None
        if "request" in data and "requests" in data:
            self.bad("request", "write either `request:` or `requests:`, not both", line=line("request"))
        raw_requests = data.get("requests", data.get("request"))
        rkey = "request" if "request" in data and "requests" not in data else "requests"
        if isinstance(raw_requests, dict):
            raw_requests = [raw_requests]
        if not raw_requests or not isinstance(raw_requests, list):
            self.bad(rkey, "the case has no requests", "add `requests:` with at least one `- item: ...`", line(rkey))
            raw_requests = []
        elif len(raw_requests) > MAX_REQUESTS:
            self.bad(rkey, f"the case has {len(raw_requests):,} requests; a case may hold at most {MAX_REQUESTS:,}",
                     "split it into several cases (batch mode checks many cases: `mtus check --jsonl`)", line(rkey))
            raw_requests = []
        shared, shared_sources = self.fact_values(data.get("facts"), "facts", self.all_facts, line("facts"))
        requests = []
        searched = 0  # items no guideline governs, each a search for its closest services
        for i, r in enumerate(raw_requests):
            if self.full:  # the case is refused anyway: routing the rest would only cost time
                self.more = True
                break
            key = f"{rkey}[{i}]" if rkey == "requests" else rkey
            rline = raw_requests.line_of(i) if isinstance(raw_requests, LList) else None
            if not isinstance(r, dict):
                self.bad(key, f"a request is a mapping with `item`, found {_show(r)}", line=rline)
                continue
            for k in r:
                if k not in _REQUEST_KEYS:
                    self.bad(f"{key}.{k}", f"unexpected key `{k}`", _close(k, _REQUEST_KEYS), rline)
            item = r.get("item")
            if type(item) is int and item >= 0:  # a CPT code written as a bare number in YAML
                item = str(item)
            if not isinstance(item, str) or not item.strip():
                self.bad(f"{key}.item", "the request has no item",
                         "name the disputed treatment, e.g. `item: Trigger point injections`", rline)
                continue
            if "\n" in item.strip():  # a letter prints it on a line of its own: it must not forge the next one
                self.bad(f"{key}.item", "the item must be one line of text", line=rline)
                continue
            explicit = r.get("guideline")
            if explicit is not None and not isinstance(explicit, str):
                self.bad(f"{key}.guideline", "the guideline id must be text", line=rline)
                continue
            product = self.reader.router.product(item)
            found = self.reader.router.resolve(item, explicit, product, date, searched < MAX_CLOSEST_SEARCHES)
            searched += found.guideline is None and found.kind == "none"
            detail = read_detail(item)
            gid = found.guideline
            if gid is None:
                if found.key != "item":  # an unknown guideline id: the case file is wrong
                    self.bad(f"{key}.{found.key}", found.message, found.hint, rline)
                    continue
                # not addressed: an item-level result; its facts are still checked against the pack
                self.fact_values(r.get("facts"), f"{key}.facts", self.all_facts, rline)
                requests.append(Request(i, item.strip(), None, {}, {}, product, detail, found))
                continue
            own, own_sources = self.fact_values(r.get("facts"), f"{key}.facts", self.infos[gid].facts, rline, gid)
            declared = self.infos[gid].facts
            facts, from_item = detail_facts(self.infos[gid], detail, item.strip())
            if product is not None:  # facts the guideline takes from the product: the case may override
                for n, schema in declared.items():
                    part = schema.from_product
                    if part and product.value(part) is not None:
                        facts[n] = product.value(part)
            for n, v in shared.items():
                if n in declared:
                    facts[n] = v
            facts.update(own)
            if patient is not None:  # the age and date of injury the case states, for a guideline that reads them
                for n, v in (("age", patient.age), ("injury_date", patient.injury_date)):
                    if v is not None and n not in facts and n in declared and declared[n].kind == _PATIENT_KINDS[n]:
                        facts[n] = v
            sources = {n: s for n, s in from_item.items() if n not in own and n not in shared}
            sources.update((n, s) for n, s in shared_sources.items() if n in declared)
            sources.update(own_sources)
            requests.append(Request(i, item.strip(), gid, facts, sources, product, detail))
        warnings = [evolve(w, key=self.item_key(raw_requests, rkey, w.line))  # a `#` that cut an item short
                    for w in getattr(data, "warnings", ())]
        if requests and not self.problems:
            warnings += self.unread(shared, requests, data.get("facts"), rkey)
        if self.strict:
            self.problems += [evolve(w, severity="error") for w in warnings]
            warnings = []
        if self.problems:
            if self.more:
                self.problems.append(Problem(self.path, "", f"there are more problems; the first {MAX_PROBLEMS} "
                                             "are listed", "fix these and check the case again"))
            raise CaseError(self.problems)
        return Case(str(case_id) if case_id is not None else None, date, tuple(requests), self.path,
                    " ".join(summary.split()) if summary else None, patient, tuple(warnings))

    def patient(self, raw: Any, line) -> Optional[Patient]:
        """The optional `patient:` mapping: age, sex, injury_date, diagnoses."""
        if not isinstance(raw, dict):
            self.bad("patient", f"expected a mapping with {', '.join(_PATIENT_KEYS)}, found {_show(raw)}", line=line)
            return None
        fields: dict = {}
        line_of = raw.line_of if isinstance(raw, LDict) else (lambda k: line)
        for k, v in raw.items():
            key = f"patient.{k}"
            try:
                if k == "age":
                    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_AGE:
                        raise _Bad(f"{_show(v)} is not an age", f"write the age in years, 0 to {MAX_AGE}")
                    fields["age"] = v
                elif k == "sex":
                    if not isinstance(v, str) or not v.strip():
                        raise _Bad(f"{_show(v)} is not text", "write it as the record does, e.g. `male` or `female`")
                    fields["sex"] = v.strip()
                elif k == "injury_date":
                    fields["injury_date"] = parse_date(v)
                elif k == "diagnoses":
                    items = v if isinstance(v, list) else [v]
                    fields["diagnoses"] = tuple(_text(x, {}).strip() for x in items)
                else:
                    raise _Bad(f"unexpected key `{k}`", _close(k, _PATIENT_KEYS) or "keys: " + ", ".join(_PATIENT_KEYS))
            except _Bad as e:
                self.bad(key, e.message, e.hint, line_of(k))
        return Patient(**fields)

    @staticmethod
    def item_key(raw_requests: list, rkey: str, line: Optional[int]) -> str:
        """The key path of the request whose `item:` is on this line (for warnings found in the raw text)."""
        for i, r in enumerate(raw_requests):
            if isinstance(r, LDict) and r.line_of("item") == line:
                return f"{rkey}[{i}].item" if rkey == "requests" else f"{rkey}.item"
        return "item"

    def unread(self, shared: Mapping, requests: list, raw_facts: Any, rkey: str) -> list[Problem]:
        """Shared facts that no requested item's guideline reads: most likely another guideline's names.

        Left alone they are silently ignored and the guideline finds its own facts
        undocumented, so the letter would deny for want of what the case meant to say.
        """
        routed = list(dict.fromkeys(r.guideline for r in requests if r.guideline is not None))
        if not routed:  # every item is not addressed: no guideline reads anything
            return []
        read = {n for gid in routed for n in self.infos[gid].facts}
        line_of = raw_facts.line_of if isinstance(raw_facts, LDict) else _no_line
        which = " or ".join(routed)
        out = []
        for name in shared:
            if name in read:
                continue
            import difflib

            close = difflib.get_close_matches(name, sorted(read), n=3, cutoff=0.6)
            hint = ("did you mean " + " or ".join(f"`{x}`" for x in close) + "? " if close else "") + \
                f"`mtus template {routed[0]}` lists the facts {routed[0]} reads"
            whose = "the requested item's guideline" if len(routed) == 1 else "the requested items' guidelines"
            ignored = "" if self.strict else ", so it is ignored"
            message = f"`{name}` is not a fact of {which} ({whose}){ignored}; {_readers(name, self.reader.index)}"
            out.append(Problem(self.path, f"facts.{name}", message, hint, line_of(name), "warning"))
        return out


def _readers(name: str, index: PackIndex) -> str:
    """Which guidelines declare a fact, for messages: "tpi reads it" / "tens and tpi read it"."""
    ids = sorted(index.facts.get(name, ()))
    names = " and ".join(ids) if len(ids) <= 2 else ", ".join(ids[:-1]) + " and " + ids[-1]
    return f"{names} {'reads' if len(ids) == 1 else 'read'} it"


class CaseReader:
    """Reads cases against one pack: fact schemas and the pack's router (built once, Pack.reader())."""

    def __init__(self, infos: Mapping[str, GuidelineInfo], formulary: Optional[FormularyInfo] = None,
                 index: Optional[PackIndex] = None):
        self.infos = infos
        self.formulary = formulary
        # with a pack's index, a guideline's description is read only when a case routes to it
        self.index = index if index is not None else PackIndex.of(infos)
        self.all_facts = AllFacts(infos, self.index.facts)
        self.router = Router(infos, formulary, services=self.index.services, tables=self.index.tables)

    def read(self, data: Any, path: str, strict: bool = False) -> Case:
        """A validated, routed case; with `strict`, a fact no requested guideline reads is an error too."""
        return _Loader(path, self, strict).load(data)


def case_from_data(data: Any, path: str, infos: Mapping[str, GuidelineInfo],
                   formulary: Optional[FormularyInfo] = None) -> Case:
    return CaseReader(infos, formulary).read(data, path)


def load_case(path: str, infos: Mapping[str, GuidelineInfo], formulary: Optional[FormularyInfo] = None) -> Case:
    """Read, validate and route a case file; raises CaseError listing every problem."""
    return case_from_data(read_case_file(path), path, infos, formulary)
