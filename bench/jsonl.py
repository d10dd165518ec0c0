"""TPI cases as JSON Lines case files, for the batch benchmark (`mtus check --jsonl`).

The cases are bench/cases.py's (the per-case benchmark's, same seed), written
the way a case file writes them: findings as present/absent, dates as
YYYY-MM-DD, durations as "8 weeks", percents as "62.5%". A fact the generator
left out, or documented as empty, is left out of the line. Each line is one
case with one request, routed by its item as a reviewer would write it (the
service name or the CPT code).

    python bench/jsonl.py 1000 > cases.jsonl      # the first 1,000 lines
"""

from __future__ import annotations

import datetime
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Iterator

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cases as case_gen  # noqa: E402
from mtus.compiler.check.runtime import Duration  # noqa: E402

ITEMS = ["Trigger point injections, right upper trapezius", "trigger point injection", "CPT 20552",
         "Trigger point injections x3, cervical paraspinals (CPT 20553)"]
#: Facts that go in the request (the rest are the case's shared facts), as in tests/cases/tpi.
REQUEST_FACTS = ("injections", "substance")
PERCENT_FIELDS = ("relief",)


def _value(name: str, v):
    if isinstance(v, bool):
        return "present" if v else "absent"
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, Duration):
        if v.months and v.days:
            raise ValueError(v)
        if v.months:
            return f"{v.months} months"
        return f"{v.days // 7} weeks" if v.days % 7 == 0 else f"{v.days} days"
    if name in PERCENT_FIELDS:
        return f"{v}%"
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, frozenset):
        return sorted(v)
    if isinstance(v, tuple):  # a history
        return [{k: _value(k, x) for k, x in row.items() if x is not None} for row in v]
    return v


def case_record(n: int, facts: dict, request_date: datetime.date, item: str = ITEMS[0]) -> dict:
    """One JSON case (a dict) for the runtime facts of bench/cases.py."""
    shared = {k: _value(k, v) for k, v in facts.items() if v is not None and k not in REQUEST_FACTS}
    own = {k: _value(k, facts[k]) for k in REQUEST_FACTS if facts.get(k) is not None}
    return {"case": f"tpi-{n:07d}", "date": request_date.isoformat(),
            "request": {"item": item, "facts": own}, "facts": shared}


_MARKER = '"case":"tpi-0000000"'


def _templates(n: int, seed: int, distinct: int) -> tuple[list, list[str]]:
    pool = case_gen.generate(min(n, distinct), seed)
    return pool, [json.dumps(case_record(0, facts, rd, ITEMS[j % len(ITEMS)]), separators=(",", ":"))
                  for j, (facts, rd) in enumerate(pool)]


def lines(n: int, seed: int = 20241127, distinct: int = 10_000) -> Iterator[str]:
    """n JSON lines (without newlines): bench/cases.py's first `distinct` cases, cycled, each with its own case id.

    Line i is pool case i % distinct (its item is ITEMS[that index % 4]), with case id tpi-<i>.
    """
    _, templates = _templates(n, seed, distinct)
    for i in range(n):
        yield templates[i % len(templates)].replace(_MARKER, f'"case":"tpi-{i:07d}"', 1)


def pool(n: int, seed: int = 20241127, distinct: int = 10_000) -> list:
    """The (facts, request_date) behind lines(n, ...): line i is pool[i % len(pool)]."""
    return case_gen.generate(min(n, distinct), seed)


def write(path: str, n: int, seed: int = 20241127, distinct: int = 10_000) -> int:
    """Write lines(n) to path, one per line; returns the size in bytes."""
    size = 0
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for line in lines(n, seed, distinct):
            size += len(line) + 1
            f.write(line + "\n")
    return size


if __name__ == "__main__":
    for line in lines(int(sys.argv[1]) if len(sys.argv) > 1 else 1000):
        print(line)
