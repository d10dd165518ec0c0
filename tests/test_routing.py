"""Routing request items to guidelines: ids, CPT codes, service names, brand and generic drug names."""

from __future__ import annotations

import pytest

from mtus.compiler.check.casefile import CaseError


@pytest.fixture(scope="module")
def reader(source_pack):
    return source_pack.reader()


@pytest.mark.parametrize("item, guideline", [
    ("Trigger Point Injections Bilateral Paraspinous Thoracic", "tpi"),
    ("CPT 20553", "tpi"),
    ("Norco 10/325 #120", "opioids"),
    ("Soma 350mg #60", "carisoprodol"),
    ("Terocin lotion 120 ml", "topical_analgesics"),
    ("Lidoderm 5% patch #30", "topical_analgesics"),
    ("Mobic 15mg #30", "nsaids"),
    ("pantoprazole 20mg #60", "ppi"),
    ("Flexeril 10mg #30", "muscle_relaxants"),
    ("cyclobenzaprine 7.5 mg", "muscle_relaxants"),
    ("Physical therapy 2x6 lumbar", "physical_medicine"),
    ("Lumbar epidural steroid injection L4-5", "esi"),
    ("Post-op physical therapy 2x6 left knee", "postsurgical"),
    ("Postoperative PT x12 visits, CPT 97110", "postsurgical"),
])
def test_item_routes_to_one_guideline(reader, item, guideline):
    case = reader.read({"date": "2014-12-18", "request": {"item": item}}, "<case>")
    assert case.requests[0].guideline == guideline


def test_brand_name_fills_the_product_facts(reader, source_pack):
    case = reader.read({"date": "2014-12-18", "request": {"item": "Terocin lotion"}}, "<case>")
    (req,) = case.requests
    assert req.product.name == "Terocin lotion" and req.product.form == "lotion"
    declared = source_pack.guidelines[req.guideline].info.facts
    filled = {n for n, schema in declared.items() if schema.from_product}
    assert filled and filled <= set(req.facts)
    assert any("lidocaine" in v for v in req.facts.values() if isinstance(v, frozenset))


def test_explicit_guideline_wins(reader):
    case = reader.read({"date": "2014-12-18", "request": {"item": "Norco", "guideline": "tpi"}}, "<case>")
    assert case.requests[0].guideline == "tpi"


def _error(reader, item):
    with pytest.raises(CaseError) as e:
        reader.read({"date": "2014-12-18", "request": {"item": item}}, "<case>")
    (p,) = e.value.problems
    return p


def test_misspelled_item_lists_the_closest_guidelines(reader):
    p = _error(reader, "Trigger pont injection")
    assert p.key == "request.item" and 'no guideline governs "Trigger pont injection"' in p.message
    assert "tpi (trigger point injection" in p.hint


def test_drug_no_guideline_governs_is_an_error(reader):
    p = _error(reader, "Lunesta 3mg #30")
    assert "no guideline in the pack governs" in p.message and "eszopiclone" in p.message


def test_ambiguous_item_is_an_error_never_a_guess(reader):
    p = _error(reader, "Aquatic therapy and massage")
    assert "matches several guidelines" in p.message and "aquatic_therapy" in p.message and "massage" in p.message
    assert "guideline: <id>" in p.hint
