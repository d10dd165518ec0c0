"""Determination letters: the seed IMR decision and trigger point cases, as reviewed snapshots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtus.compiler.check import api
from tests.conftest import ROOT

SEED = ROOT / "docs" / "examples" / "seed-2014-12-18.yaml"
CASES_DIR = Path(__file__).parent / "cases"
TPI_CASES = sorted((CASES_DIR / "tpi").iterdir())
# Every folder under tests/cases/ except bad/ holds realistic cases: one letter snapshot each.
ALL_CASES = sorted(p for d in CASES_DIR.iterdir() if d.is_dir() and d.name != "bad" for p in d.iterdir())


def test_seed_letter_reproduces_the_imr_decision(source_pack):
    letter = api.check_case(str(SEED), source_pack)
    (d,) = letter.decisions
    assert not d.certified
    assert d.determination("imr") == "Upheld"
    assert d.determination("ur") == "Not certified"
    text = api.render(letter, "text")
    assert "Determination: UPHELD." in text
    assert "MTUS Chronic Pain Medical Treatment Guidelines, section 2, page 122" in text
    assert "In this case, there is no documentation of circumscribed trigger points with evidence upon palpation " \
           "of a twitch response as well as referred pain." in " ".join(text.split())
    assert d.result.reasons[0].id == "trigger_points"


def stable(text: str, pack) -> str:
    """Letters name the pack's hash, which changes with any compiler change; snapshots should not."""
    return text.replace(pack.digest, "<sha256>").replace(pack.digest[:16], "<sha256>")


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_seed_letter(source_pack, fmt, snapshot):
    assert stable(api.render(api.check_case(str(SEED), source_pack), fmt), source_pack) == snapshot


def test_seed_letter_json_is_stable_and_complete(source_pack):
    data = json.loads(api.render(api.check_case(str(SEED), source_pack), "json", explain=True))
    (req,) = data["requests"]
    assert req["determination"] == "upheld" and req["certified"] is False
    assert req["citation"]["pages"] == "122"
    assert [r["criterion"] for r in req["reasons"]][0] == "trigger_points"
    assert {c["id"] for c in req["criteria"]} >= {"trigger_points", "chronic", "interval"}
    assert data["pack"]["sha256"] == source_pack.digest


@pytest.mark.parametrize("path", ALL_CASES, ids=[f"{p.parent.name}/{p.stem}" for p in ALL_CASES])
def test_case_letter(source_pack, path, snapshot):
    letter = api.check_case(str(path), source_pack)
    assert stable(api.render(letter, "text", explain=True), source_pack) == snapshot


def test_ur_wording(source_pack):
    letter = api.check_case(str(TPI_CASES[0]), source_pack, wording="ur")
    assert "Utilization review determination" in api.render(letter, "text")


def test_cases_cover_every_tpi_criterion_in_every_state(source_pack):
    seen: dict[str, set[str]] = {}
    for path in TPI_CASES + [SEED]:
        for d in api.check_case(str(path), source_pack).decisions:
            for r in d.result.criteria:
                seen.setdefault(r.id, set()).add(r.outcome)
    for cid, outcomes in seen.items():
        assert {"met", "not met", "not documented"} <= outcomes, (cid, outcomes)


def test_a_date_out_of_calendar_range_reads_as_undeterminable(source_pack):
    letter = api.check_case({"date": "9999-12-30", "request": {"item": "trigger point injection"},
                             "facts": {"symptom_onset": "9999-11-01"}}, source_pack)
    text = api.render(letter, "text")
    assert "a date or number computed from them is out of range" in " ".join(text.split())
    assert "no documentation of ," not in text and "no documentation of ." not in text


def test_implausible_numbers_are_refused(source_pack):
    import pytest as _pytest
    from mtus.compiler.check.casefile import CaseError
    with _pytest.raises(CaseError, match="plausible"):
        api.check_case({"date": "2014-12-18", "request": {"item": "trigger point injection"},
                        "facts": {"prior_injections": [{"relief": "1e400"}]}}, source_pack)
