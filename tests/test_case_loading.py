"""Case files: typed facts, routing, and a precise error for every bad input."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from mtus.compiler.check.case import case_from_data, load_case
from mtus.compiler.check.routing import route_item
from mtus.compiler.check.casefile import CaseError
from mtus.compiler.build.packinfo import describe
from mtus.compiler.check.runtime import Duration
from mtus.dsl import check_file
from tests.conftest import GUIDELINES, ROOT

BAD = sorted((Path(__file__).parent / "cases" / "bad").iterdir())


@pytest.fixture(scope="module")
def infos():
    return {"tpi": describe(check_file(GUIDELINES / "tpi.mtus").model)}


def test_seed_case_loads_typed_facts(infos):
    case = load_case(str(ROOT / "docs" / "examples" / "seed-2014-12-18.yaml"), infos)
    assert case.id == "seed-2014-12-18"
    assert case.date == datetime.date(2014, 12, 18)
    (req,) = case.requests
    assert req.guideline == "tpi"
    assert req.facts["symptom_onset"] == datetime.date(2006, 7, 17)
    assert req.facts["radiculopathy"] is True
    assert "lumbago" in req.facts["diagnoses"]
    assert req.sources == {"radiculopathy": "diagnosis: failed back surgery syndrome with radiculopathy"}
    assert "twitch_response" not in req.facts  # not documented stays absent


def test_values_convert_exactly(infos):
    case = case_from_data({
        "date": "2014-12-18",
        "request": {"item": "CPT 20552", "facts": {"injections": 4, "substance": "Local Anesthetic"}},
        "facts": {"prior_injections": [
            {"date": "2014-09-01", "relief": "50.5%", "relief_lasted": "8 weeks", "function_improved": "present"},
            {"date": "2014-10-01", "relief": 60, "relief_lasted": "2 months"},
        ], "radiculopathy": False},
    }, "<test>", infos)
    (req,) = case.requests
    assert req.guideline == "tpi"
    assert req.facts["injections"] == 4
    assert req.facts["substance"] == "local anesthetic"  # canonical member spelling
    first, second = req.facts["prior_injections"]
    assert first["relief"] == Decimal("50.5") and isinstance(first["relief"], Decimal)
    assert first["relief_lasted"] == Duration(0, 56)
    assert second["relief_lasted"] == Duration(2, 0)
    assert "function_improved" not in second
    assert req.facts["radiculopathy"] is False


def test_request_facts_override_shared_facts(infos):
    case = case_from_data({"date": "2014-12-18", "facts": {"injections": 6},
                           "requests": [{"item": "trigger point injection", "facts": {"injections": 2}}]},
                          "<test>", infos)
    assert case.requests[0].facts["injections"] == 2


@pytest.mark.parametrize("item, expected", [
    ("Trigger Point Injections Bilateral Paraspinous Thoracic", ["tpi"]),
    ("CPT 20553", ["tpi"]),
    ("20552 x1", ["tpi"]),
    ("Physical therapy 2x6 lumbar", []),
])
def test_routing(infos, item, expected):
    assert route_item(item, infos) == expected


@pytest.mark.parametrize("path", BAD, ids=[p.name for p in BAD])
def test_bad_case_file_is_one_clear_error(infos, path, snapshot, monkeypatch):
    monkeypatch.chdir(ROOT)  # messages name the file as the reviewer typed it
    with pytest.raises(CaseError) as info:
        load_case(str(path.relative_to(ROOT)), infos)
    text = info.value.render()
    assert "Traceback" not in text and "tag:yaml.org" not in text
    assert text == snapshot
