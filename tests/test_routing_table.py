"""The routing table: request items as reviewers write them, and the guideline a reviewer applies.

tests/data/routing_table.tsv was written from how a reviewer routes each item,
not from the tool's output; a row with a known gap is a strict xfail, so it
fails the day routing learns it and the gap note must go.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TABLE = Path(__file__).parent / "data" / "routing_table.tsv"


def _rows():
    rows = []
    for n, line in enumerate(TABLE.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        item, expected, *gap = line.split("\t")
        marks = [pytest.mark.xfail(strict=True, reason=gap[0])] if gap and gap[0] else []
        rows.append(pytest.param(item, expected, id=f"{n}:{item[:40]}", marks=marks))
    return rows


ROWS = _rows()


def test_the_table_is_large_and_covers_every_guideline(source_pack):
    assert len(ROWS) >= 200
    expected = {p.values[1] for p in ROWS}
    assert set(source_pack.guidelines) <= expected, set(source_pack.guidelines) - expected
    assert {"-", "?"} <= expected


@pytest.fixture(scope="module")
def reader(source_pack):
    return source_pack.reader()


@pytest.mark.parametrize("item, expected", ROWS)
def test_item_routes_as_a_reviewer_routes_it(reader, item, expected):
    case = reader.read({"date": "2014-12-18", "request": {"item": item}}, "<case>")
    (req,) = case.requests
    if expected in ("-", "?"):
        assert req.guideline is None, f"routed to {req.guideline}"
        several = "matches several guidelines" in req.unrouted.message
        assert several == (expected == "?"), req.unrouted.message
    else:
        assert req.guideline == expected, req.unrouted.message if req.unrouted else None
