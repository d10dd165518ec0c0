"""Editions and sources: the guideline in force on the request date decides; a source outside the MTUS only where it is silent."""

from __future__ import annotations

import datetime
import json

import pytest

from mtus.compiler.build.packwriter import build_pack
from mtus.compiler.check import api
from mtus.compiler.check.editions import edition_text, in_force, period_text
from mtus.compiler.check.info import InForce
from mtus.compiler.check.pack import load_pack_files
from mtus.compiler.check.runtime import evolve

HEADER = '''guideline {id} "{title}"
  source "{source}" page {page}
{extra}  services "demo therapy"

facts
  improved: finding "functional improvement"

criteria
  improvement: improved
'''


def _pack(tmp_path, *guidelines):
    for gid, title, source, page, extra in guidelines:
        (tmp_path / f"{gid}.mtus").write_text(HEADER.format(id=gid, title=title, source=source, page=page,
                                                            extra=extra), encoding="utf-8")
    files = build_pack([str(tmp_path)], name="editions-test", version="1")
    return load_pack_files(files.files, "<editions test>")


OLD = ("demo_2009", "Demo therapy", "MTUS Chronic Pain Medical Treatment Guidelines", 10,
       '  version "2009"\n  in force from 2009-07-18 until 2016-07-28\n')
NEW = ("demo_2016", "Demo therapy", "MTUS Opioids Treatment Guidelines", 20,
       '  version "2016"\n  in force from 2016-07-29\n')
ODG = ("demo_odg", "Demo therapy", "Official Disability Guidelines, Pain (Chronic)", 30, "  not mtus rank 2\n")
STUDY = ("demo_study", "Demo therapy", "A randomized trial of demo therapy", 40, "  not mtus rank 3\n")


def _letter(pack, date, item="Demo therapy x6", guideline=None):
    request = {"item": item, **({"guideline": guideline} if guideline else {})}
    return api.check_case({"date": date, "request": request, "facts": {"improved": "present"}}, pack)


@pytest.mark.parametrize("date, expected", [
    ("2009-07-17", None), ("2009-07-18", "demo_2009"), ("2016-07-28", "demo_2009"),  # both ends inclusive
    ("2016-07-29", "demo_2016"), ("2030-01-01", "demo_2016"),
])
def test_the_edition_in_force_on_the_request_date_decides(tmp_path, date, expected):
    pack = _pack(tmp_path, OLD, NEW)
    (req,) = pack.reader().read({"date": date, "request": {"item": "Demo therapy"}}, "<case>").requests
    assert req.guideline == expected
    if expected is None:
        assert req.unrouted.kind == "not_in_force"
        assert "in force on 2009-07-17" in req.unrouted.message
        assert "demo_2009: in force from July 18, 2009 through July 28, 2016" in req.unrouted.message


def test_the_letter_cites_the_edition(tmp_path):
    pack = _pack(tmp_path, OLD, NEW)
    text = " ".join(api.render(_letter(pack, "2015-03-02"), "text").split())
    assert ("Guideline basis: MTUS Chronic Pain Medical Treatment Guidelines, page 10 (Demo therapy); 2009 edition, "
            "in force from July 18, 2009 through July 28, 2016") in text
    data = json.loads(api.render(_letter(pack, "2017-03-02"), "json"))
    (req,) = data["requests"]
    assert req["guideline"] == "demo_2016" and req["mtus"] is True
    assert req["edition"] == {"version": "2016", "in_force": {"from": "2016-07-29", "until": None}}


def test_a_request_dated_when_no_edition_is_in_force_is_not_addressed(tmp_path):
    pack = _pack(tmp_path, OLD)
    letter = _letter(pack, "2017-03-02")
    assert letter.decided == 0
    text = " ".join(api.render(letter, "text").split())
    assert "Determination: NOT ADDRESSED. The request for Demo therapy x6 is not addressed by the guidelines" in text
    assert "is in force on 2017-03-02" in text


def test_an_explicit_guideline_not_in_force_is_not_applied(tmp_path):
    pack = _pack(tmp_path, OLD, NEW)
    (req,) = pack.reader().read({"date": "2017-03-02", "request": {"item": "x", "guideline": "demo_2009"}},
                                "<case>").requests
    assert req.guideline is None and req.unrouted.kind == "not_in_force"


def test_a_source_outside_the_mtus_is_used_only_where_the_mtus_is_silent(tmp_path):
    pack = _pack(tmp_path, OLD, ODG)
    assert _letter(pack, "2015-03-02").decisions[0].info.id == "demo_2009"  # the MTUS governs
    letter = _letter(pack, "2017-03-02")  # no MTUS edition in force: the next source in the hierarchy
    (d,) = letter.decisions
    assert d.info.id == "demo_odg" and d.certified
    text = api.render(letter, "text")
    assert ("The MTUS does not address demo therapy; the decision is based on Official Disability Guidelines, "
            "Pain (Chronic), page 30, a nationally recognized evidence-based medical treatment guideline "
            "(8 CCR 9792.25).") in " ".join(text.split())
    assert json.loads(api.render(letter, "json"))["requests"][0]["mtus"] is False


def test_the_highest_source_in_the_hierarchy_is_used_first(tmp_path):
    both = tmp_path / "both"
    both.mkdir()
    pack = _pack(both, STUDY, ODG)
    assert _letter(pack, "2017-03-02").decisions[0].info.id == "demo_odg"
    alone = tmp_path / "alone"
    alone.mkdir()
    pack = _pack(alone, STUDY)
    assert _letter(pack, "2017-03-02").decisions[0].info.id == "demo_study"


def test_period_phrases(source_pack):
    tpi = source_pack.guidelines["tpi"].info
    assert in_force(tpi, datetime.date(2016, 7, 28)) and not in_force(tpi, datetime.date(2016, 7, 29))
    assert edition_text(tpi) == "2009 edition, in force from July 18, 2009 through July 28, 2016"
    until = evolve(tpi, in_force=InForce(None, "2016-07-28"), version=None)
    assert period_text(until) == "in force through July 28, 2016" and edition_text(until) == period_text(until)
    always = evolve(tpi, in_force=None, version=None)
    assert in_force(always, datetime.date(1990, 1, 1)) and edition_text(always) == ""


def test_bundled_chronic_pain_guidelines_are_the_2009_edition(source_pack):
    for gid, g in source_pack.guidelines.items():
        if g.info.citation.source == "MTUS Chronic Pain Medical Treatment Guidelines":
            assert g.info.version == "2009", gid
            assert g.info.in_force == InForce("2009-07-18", "2016-07-28"), gid


def test_bundled_opioid_request_after_the_2016_update_is_not_addressed(source_pack):
    case = source_pack.reader().read({"date": "2016-08-01", "requests": [
        {"item": "Norco 10/325 #120"}, {"item": "Acupuncture x6"}]}, "<case>")
    norco, acupuncture = case.requests
    assert norco.guideline is None and norco.unrouted.kind == "not_in_force"
    assert "opioids: in force from July 18, 2009 through July 28, 2016" in norco.unrouted.message
    assert acupuncture.guideline == "acupuncture"  # 8 CCR 9792.24.1: no period encoded
