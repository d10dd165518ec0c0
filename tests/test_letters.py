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
    text = " ".join(api.render(letter, "text").split())
    assert "Determination: UPHELD." in text
    assert "MTUS Chronic Pain Medical Treatment Guidelines, section 2, page 122" in text
    # the first reason is the one the real IMR gave: no twitch response and referred pain
    assert "In this case, there is no documentation of circumscribed trigger points with evidence upon palpation " \
           "of a twitch response as well as referred pain." in text
    assert d.result.reasons[0].id == "trigger_points"
    assert "either way" not in text and "cannot be determined whether" not in text


def paragraphs(letter, i: int = 0, wording: str = "imr") -> list[str]:
    return letter.decisions[i].paragraphs(wording)


def test_attribution_is_the_guidelines_own_source(source_pack):
    seed = api.render(api.check_case(str(SEED), source_pack), "text")
    assert "CA MTUS" not in seed
    assert paragraphs(api.check_case(str(SEED), source_pack))[0].startswith(
        "Per the MTUS Chronic Pain Medical Treatment Guidelines, trigger point injections")



ODG_CRYOTHERAPY = '''
guideline cryotherapy "Continuous-flow cryotherapy"
  source "Official Disability Guidelines (ODG), Knee & Leg" section "Continuous-flow cryotherapy"
  services "continuous-flow cryotherapy"
  states """
    Continuous-flow cryotherapy is recommended as an option after surgery, but not
    for nonsurgical treatment.
  """

facts
  surgery_date: date "date of surgery"
  days_requested: count "days of use requested"

criteria
  postoperative: documented surgery_date
    says "use after surgery"
  up_to_seven_days: days_requested <= 7
    says "use for up to 7 days after surgery"
'''


def test_a_guideline_from_another_source_is_attributed_to_it(tmp_path):
    (tmp_path / "cryotherapy.mtus").write_text(ODG_CRYOTHERAPY)
    pack = api.load_pack(str(tmp_path / "cryotherapy.mtus"))
    letter = api.check_case({"date": "2016-05-02", "request": {"item": "Continuous-flow cryotherapy, 21 days",
                                                               "facts": {"days_requested": 21}},
                             "facts": {"surgery_date": "2016-04-28"}}, pack)
    statement, in_this_case, closing = paragraphs(letter)
    assert statement.startswith("Per the Official Disability Guidelines (ODG), Knee & Leg, continuous-flow "
                                "cryotherapy is recommended")
    assert "MTUS" not in api.render(letter, "text").split("Rule pack:")[0]
    assert in_this_case == "In this case, the request is for 21 days of use, more than the 7 the " \
                           "guideline allows."
    assert closing == "Therefore, the request for Continuous-flow cryotherapy, 21 days is not medically necessary."


def test_the_statement_names_only_the_criteria_that_apply(source_pack):
    first = api.check_case(str(TPI_CASES[0]), source_pack)  # certified_first: no prior injections
    statement = paragraphs(first)[0]
    assert "Criteria for use include" in statement
    assert "previous injection" not in statement  # the repeat-injection criteria do not apply
    assert "fibromyalgia" not in statement.split("Criteria for use")[1]  # the exclusion does not apply
    fibro = api.check_case({"date": "2014-12-18", "request": {"item": "trigger point injection"},
                            "facts": {"diagnoses": ["fibromyalgia"]}}, source_pack)
    assert "Trigger point injections are not recommended for fibromyalgia." in paragraphs(fibro)[0]


def test_decisive_reasons_are_few_and_in_guideline_order(source_pack):
    # Every clinical criterion documented as failing: more reasons than the paragraph names.
    case = {"date": "2014-12-18", "request": {"item": "trigger point injection", "facts": {"injections": 6}},
            "facts": {"twitch_response": "absent", "referred_pain": "absent", "symptom_onset": "2014-11-01",
                      "conservative_care_failed": "absent", "radiculopathy": "present"}}
    letter = api.check_case(case, source_pack)
    (d,) = letter.decisions
    assert len(d.reasons) > 3
    in_this_case = d.in_this_case()
    assert len(in_this_case) == 3 and in_this_case[0].startswith("In this case, ")
    assert [r.criterion for r in d.decisive()] == [r.criterion for r in d.reasons][:3]
    order = [c.id for c in d.info.criteria]
    assert [r.criterion for r in d.reasons] == sorted((r.criterion for r in d.reasons), key=order.index)
    data = json.loads(api.render(letter, "json"))["requests"][0]
    assert len(data["reasons"]) == len(d.reasons) and len(data["rationale"]["in_this_case"]) == 3
    assert len(data["what_would_change"]) >= len(d.reasons) - 1


@pytest.mark.parametrize("path", ALL_CASES, ids=[f"{p.parent.name}/{p.stem}" for p in ALL_CASES])
def test_no_letter_counts_or_dumps(source_pack, path):
    letter = api.check_case(str(path), source_pack)
    text = " ".join(api.render(letter, "text").split())
    for phrase in ("other applicable criteri", "do not apply", "either way", "(documented:", "CA MTUS", "MODIFIED"):
        assert phrase not in text, phrase
    for d in letter.decisions:
        # three reasons, the supported part of a partly supported request, and each deciding presumption once
        assert len(d.in_this_case()) <= 4 + len(d.presumptions)
        assert len(d.presumptions) == len(set(d.presumptions))
        assert d.request.item in d.verdict() and d.request.item in d.closing()


def test_a_partly_supported_request_in_imr_and_ur_wording(source_pack):
    path = str(CASES_DIR / "physical_medicine" / "modified_additional_visits.yaml")
    imr = api.check_case(path, source_pack)
    (d,) = imr.decisions
    assert d.modified is not None and d.determination("imr") == "Upheld"
    assert d.verdict("imr") == "The request for Physical therapy 2x6 lumbar spine is not medically necessary as submitted."
    assert "The guideline supports 4 of the 12 physical medicine visits requested" in paragraphs(imr)[1]
    assert "odif" not in api.render(imr, "text")
    ur = api.check_case(path, source_pack, wording="ur")
    text = " ".join(api.render(ur, "text").split())
    assert "Determination: MODIFIED." in text
    assert "modified to certify 4 of the 12 physical medicine visits requested; the other 8 are not certified" in text
    assert json.loads(api.render(ur, "json"))["requests"][0]["determination"] == "modified"


def test_every_wording_names_every_outcome():
    from mtus.compiler.check.letter import WORDINGS
    from mtus.compiler.check.runtime import CERTIFIED, MODIFIED, NOT_CERTIFIED
    for name, w in WORDINGS.items():
        for table in (w.words, w.verdicts, w.closings):
            assert set(table) == {CERTIFIED, MODIFIED, NOT_CERTIFIED}, name
    assert "Modified" not in WORDINGS["imr"].words.values()


def test_computed_values_are_shown(source_pack):
    path = str(CASES_DIR / "drugs" / "norco_above_morphine_ceiling.yaml")
    letter = api.check_case(path, source_pack)
    text = " ".join(api.render(letter, "text").split())
    assert ("the current regimen totals 150 mg oral morphine equivalents a day, more than 120, and the record "
            "documents no pain management consultation (page 86") in text
    explained = " ".join(api.render(letter, "text", explain=True).split())
    assert "computed sum(opioid_regimen of daily_mg * mme_factor[drug]) = 150" in explained
    data = json.loads(api.render(letter, "json"))
    (ceiling,) = [c for c in data["requests"][0]["criteria"] if c["id"] == "morphine_equivalent_ceiling"]
    assert ceiling["computed"] == [{"expr": "sum(opioid_regimen of daily_mg * mme_factor[drug])", "value": "150.0"}]


def test_prior_and_requested_visits_are_added_up_in_the_letter(source_pack):
    path = str(CASES_DIR / "physical_medicine" / "modified_additional_visits.yaml")
    text = " ".join(paragraphs(api.check_case(path, source_pack)))
    assert ("the physical medicine visits completed and requested total 18 (6 plus 12), more than the 10 visits "
            "recommended for myalgia and myositis, unspecified") in text


def test_the_elapsed_time_is_shown(source_pack):
    letter = api.check_case({"date": "2014-12-18", "request": {"item": "trigger point injection"},
                             "facts": {"symptom_onset": "2014-10-01"}}, source_pack)
    text = " ".join(paragraphs(letter))
    assert "The onset of symptoms is documented as October 1, 2014, 2 months 17 days before the request, " \
           "not more than 3 months" in text


def test_sources_are_cited_only_where_their_fact_is_used(source_pack):
    letter = api.check_case(str(SEED), source_pack)
    (d,) = letter.decisions
    cited = [r.text for r in d.reasons if "source:" in r.text]
    assert cited == [r.text for r in d.reasons if r.criterion == "no_radiculopathy"]


def test_clinical_summary_from_the_case_file_or_generated(source_pack):
    own = api.check_case(str(CASES_DIR / "drugs" / "norco_above_morphine_ceiling.yaml"), source_pack)
    assert own.summary().startswith("The injured worker is a 47-year-old female warehouse clerk")
    seed = api.check_case(str(SEED), source_pack)
    assert seed.summary() == ("The injured worker is a 58-year-old male who was injured at work on July 17, 2006. "
                              "Diagnoses include lumbago, failed back surgery syndrome with radiculopathy, lumbar "
                              "degenerative disc disease, muscle spasm, overweight, chronic pain syndrome, and "
                              "insomnia.")
    documented = api.check_case({"date": "2014-12-18", "request": {"item": "trigger point injection"},
                                 "facts": {"diagnoses": ["myofascial pain syndrome", "cervicalgia"]}}, source_pack)
    assert documented.summary() == "Diagnoses include cervicalgia and myofascial pain syndrome."
    assert "Clinical case summary:" in api.render(seed, "text")
    bare = api.check_case({"date": "2014-12-18", "request": {"item": "trigger point injection"}}, source_pack)
    assert bare.summary() is None and "Clinical case summary" not in api.render(bare, "text")
    young = api.check_case({"date": "2014-12-18", "patient": {"age": 18, "diagnoses": ["cervicalgia"]},
                            "request": {"item": "trigger point injection"}}, source_pack)
    assert young.summary() == "The injured worker is 18 years old. Diagnoses include cervicalgia."
    assert json.loads(api.render(young, "json"))["summary"] == young.summary()


def test_patient_fields_are_checked(source_pack):
    from mtus.compiler.check.casefile import CaseError
    with pytest.raises(CaseError) as e:
        api.check_case({"date": "2014-12-18", "summary": 3,
                        "patient": {"age": 300, "sex": 1, "injury_date": "2006-13-01", "dx": []},
                        "request": {"item": "trigger point injection"}}, source_pack)
    keys = [p.key for p in e.value.problems]
    assert keys == ["summary", "patient.age", "patient.sex", "patient.injury_date", "patient.dx"]
    hints = [p.hint for p in e.value.problems]
    assert hints[2] == "write it as the record does, e.g. `male` or `female`"
    assert hints[4] == "keys: age, sex, injury_date, diagnoses"


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
    text = api.render(letter, "text")
    assert "Utilization review determination" in text and "Determination: CERTIFIED." in text


def test_cases_cover_every_tpi_criterion_in_every_state(source_pack):
    seen: dict[str, set[str]] = {}
    for path in TPI_CASES + [SEED]:
        for d in api.check_case(str(path), source_pack).decisions:
            for r in d.result.criteria:
                seen.setdefault(r.id, set()).add(r.outcome)
    from mtus.compiler.tools.examples import reachable_states
    from mtus.dsl import check_file

    tpi = check_file(str(ROOT / "guidelines" / "tpi.mtus")).model
    for c in tpi.criteria:  # every outcome a criterion can have (an exclusion applies or does not apply)
        assert set(reachable_states(c, tpi)) <= seen[c.id], (c.id, seen[c.id])


def test_a_date_out_of_calendar_range_reads_as_undeterminable(source_pack):
    from mtus.compiler.check.runtime import evolve
    import datetime
    from mtus.compiler.check.letter import decide
    # Routed on a date the 2009 edition is in force, then decided as of 9999-12-30 (no edition is in force
    # then, so routing alone would make the item "not addressed" before any date arithmetic).
    case = api.read_case({"date": "2014-12-18", "request": {"item": "trigger point injection"},
                          "facts": {"symptom_onset": "9999-11-01"}}, source_pack)
    letter = decide(evolve(case, date=datetime.date(9999, 12, 30)), source_pack)
    text = api.render(letter, "text")
    assert "a date or number computed from them is out of range" in " ".join(text.split())
    assert "no documentation of ," not in text and "no documentation of ." not in text


def test_implausible_numbers_are_refused(source_pack):
    import pytest as _pytest
    from mtus.compiler.check.casefile import CaseError
    with _pytest.raises(CaseError, match="plausible"):
        api.check_case({"date": "2014-12-18", "request": {"item": "trigger point injection"},
                        "facts": {"prior_injections": [{"relief": "1e400"}]}}, source_pack)


ON_DENIAL = '''
guideline weaning "Opioids: on-going management"
  source "MTUS Chronic Pain Medical Treatment Guidelines" section "2" pages 74-96
  services "opioid renewal"
  on denial says """
    Opioids should not be discontinued abruptly: the guideline recommends weaning
    under direct ongoing medical supervision as a slow taper.
  """
    cite pages 79-80

facts
  pain_improved: finding "improved pain with the opioid"
  tablets: count "tablets requested"

criteria
  continuation: pain_improved
    says "improved pain with the opioid"
  quantity: tablets <= 120
    says "no more than 120 tablets"
    allows fewer tablets
'''


def test_on_denial_says_is_in_every_letter_that_does_not_certify(tmp_path):
    (tmp_path / "weaning.mtus").write_text(ON_DENIAL)
    pack = api.load_pack(str(tmp_path / "weaning.mtus"))
    assert pack.guidelines["weaning"].info.on_denial.to_json() == {
        "text": "Opioids should not be discontinued abruptly: the guideline recommends weaning under direct "
                "ongoing medical supervision as a slow taper.",
        "citation": {"source": "MTUS Chronic Pain Medical Treatment Guidelines", "section": "2", "pages": "79-80"}}
    from mtus.compiler.check.info import GuidelineInfo
    info = pack.guidelines["weaning"].info
    assert GuidelineInfo.from_json(json.loads(json.dumps(info.to_json()))) == info
    weaning = ("Opioids should not be discontinued abruptly: the guideline recommends weaning under direct ongoing "
               "medical supervision as a slow taper (pages 79-80).")

    def case(pain: str, tablets: int):
        return {"date": "2015-01-05", "request": {"item": f"opioid renewal #{tablets}", "facts": {"tablets": tablets}},
                "facts": {"pain_improved": pain}}

    denied = api.check_case(case("absent", 90), pack)
    assert paragraphs(denied)[1] == f"In this case, the record documents no improved pain with the opioid. {weaning}"
    assert paragraphs(denied)[2].startswith("Therefore,")  # before the closing sentence, once
    assert " ".join(api.render(denied, "text").split()).count("slow taper") == 1
    fewer = api.check_case(case("present", 180), pack, wording="ur")
    assert fewer.decisions[0].modified is not None and paragraphs(fewer, wording="ur")[1].endswith(weaning)
    certified = api.check_case(case("present", 90), pack)
    assert "slow taper" not in api.render(certified, "text")
    assert json.loads(api.render(denied, "json"))["requests"][0]["rationale"]["in_this_case"][-1] == weaning


def test_a_picked_history_entry_is_described_once(source_pack):
    too_soon = api.check_case(str(CASES_DIR / "tpi" / "repeat_too_soon.yaml"), source_pack)
    assert paragraphs(too_soon)[1].endswith("the most recent of the prior trigger point injections was on "
                                            "November 6, 2014, 1 month 12 days before the request.")
    poor = api.check_case(str(CASES_DIR / "tpi" / "repeat_poor_relief.yaml"), source_pack)
    assert paragraphs(poor)[1].endswith("the most recent of the prior trigger point injections had pain relief of "
                                        "40% and duration of pain relief of 8 weeks.")


def test_presumption_sentences_each_once(source_pack):
    """The phrasing of each kind of presumption in sem's result shape (runtime.Presumption)."""
    from types import SimpleNamespace

    from mtus.compiler.check.rationale import Explainer

    def presumption(fact, kind, label):
        return SimpleNamespace(fact=fact, kind=kind, label=label, criteria=())

    ex = Explainer(source_pack.guidelines["tpi"].info)
    result = SimpleNamespace(presumptions=(
        presumption("prior_injections", "none_when_silent", "prior trigger point injections"),
        presumption("aberrant", "presumed_absent", "aberrant drug-related behavior"),
        presumption("frequency", "detail_unstated", "frequency"),
        presumption("substance", "exclusion_silent", "injected substance"),
        presumption("prior_injections", "none_when_silent", "prior trigger point injections"),
    ))
    assert ex.presumptions(result, []) == [
        "No prior trigger point injections are documented; the request is reviewed as an initial request for "
        "trigger point injections.",
        "No aberrant drug-related behavior is documented.",
    ]  # a detail checked only when stated, and a silent exclusion: no sentence
    for sentence_ in ex.presumptions(result, []):
        assert "record shows" not in sentence_ and "the record documents" not in sentence_


def test_a_result_left_open_is_one_sentence_naming_what_it_turns_on(source_pack):
    from types import SimpleNamespace

    from mtus.compiler.check.rationale import Explainer
    from mtus.compiler.check.runtime import NOT_DOCUMENTED, CriterionResult

    ex = Explainer(source_pack.guidelines["esi"].info)
    ids = [c.id for c in source_pack.guidelines["esi"].info.criteria if "esi_approach" in c.when_facts][:2]
    assert ids
    reasons = tuple(CriterionResult(cid, NOT_DOCUMENTED, False, (), ("esi_approach",)) for cid in ids)
    result = SimpleNamespace(reasons=reasons, turns_on=("esi_approach",))
    (reason,) = ex.reasons(result, {})
    assert reason.criteria == tuple(ids)
    label = source_pack.guidelines["esi"].info.facts["esi_approach"].label
    assert reason.text == f"whether the request can be certified turns on the {label}, which the record does not document"
    assert reason.text.endswith(", which the record does not document") and "either way" not in reason.text


def test_a_request_failing_outright_does_not_turn_on_an_undocumented_when(source_pack):
    """3 ESI levels with the approach unstated fail whatever the approach: the rationale names the level
    limit and no sentence about what the result "turns on"; what would change it still lists every criterion."""
    case = {"date": "2015-05-04",
            "request": {"item": "Lumbar epidural steroid injection L3-4, L4-5, L5-S1", "facts": {"esi_levels": 3}},
            "facts": {"radiculopathy_on_exam": "present", "radiculopathy_corroborated": "present",
                      "unresponsive_to_conservative_care": "present", "esi_region": "lumbar"}}
    (d,) = api.check_case(case, source_pack).decisions
    assert not d.certified
    text = " ".join(d.in_this_case())
    assert "3 levels" in text and "turns on" not in text
    assert len(d.remedies) >= len(d.in_this_case()) - 1



def test_a_rule_of_several_undocumented_facts_is_named_in_the_guidelines_words(source_pack):
    """'(ADL or work restrictions) and dependency', none documented: not a list of the three as if all were needed."""
    path = str(Path(__file__).parent / "casebook" / "cbt" / "more-outcome-not-reported.yaml")
    letter = api.check_case(path, source_pack)
    text = " ".join(paragraphs(letter))
    assert ("there is no documentation of objective functional improvement with the visits so far (a clinically "
            "significant improvement in activities of daily living or a reduction in work restrictions, and a "
            "reduction in dependency on continued medical treatment)") in text
    assert "activities of daily living, reduction in work restrictions, and reduction" not in text
