"""The front end never raises: mangled guidelines give a model or diagnostics, nothing else.

Mutations start from the bundled guidelines and from a guideline that uses
every construct of the language. The default tier runs a tenth of the examples
and every 29th truncation; the slow tier (`pytest -m slow`) runs them all.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtus.dsl import check_file, check_text
from mtus.dsl.diagnostics import Diagnostic, render_json, render_text
from mtus.dsl.dump import dump
from mtus.dsl.frontend import MAX_FILE_BYTES
from tests.conftest import GUIDELINES, tiers

KITCHEN_SINK = '''\
# Every construct of the language in one small guideline.
guideline opioids "Opioids for chronic pain"
  source "MTUS Chronic Pain Medical Treatment Guidelines" section "2" pages 74-96, 80
  version "2009"
  services "opioid prescription", cpt 99213
  states """
    Opioids are recommended for chronic pain only with documented
    functional improvement.
  """

facts
  pain_relief: finding "pain relief" default absent
  side_effects: finding "adverse side effects"
  aberrant: finding "aberrant drug-taking behaviour"
  function_improved: finding "functional improvement"
  daily_dose: quantity MME/day "total daily morphine equivalent dose"
  relief: percent "pain relief reported"
  onset: date "onset of pain"
  visits: count "visits requested"
  score: number "pain score"
  route: one of {"oral", "transdermal", "injection"} "route"
  drugs: set of text "drugs in the product"
  regions: set of {"neck", "low back", "knee"} "treated regions"
  note: text "prescriber note"
  wait: duration "time on the waiting list"
  prior_visits: history "prior visits"
    date: date "visit date"
    relief: percent "relief after the visit"
    lasted: duration "how long relief lasted"
    sessions: count "sessions"

criteria
  four_as: at least 3 of {pain_relief, not side_effects, not aberrant, function_improved}
    says "the 4 A's of ongoing monitoring"
    cite page 80
  dose: daily_dose <= 120 MME/day
    cite source "MTUS Opioid Guideline" section "3" page 12
  relief_ok: relief between 30% and 100%
  chronic: time from onset to request.date >= 3 months
  total_visits: sum(prior_visits.sessions) + visits <= 10
  per_year: count(prior_visits within 12 months where relief >= 50% and lasted >= 6 weeks) < 4
  route_ok: route in {"oral", "transdermal"} and route != "injection"
  no_ketamine: not (drugs contains "ketamine") and "ketamine" not in drugs
  none_bad: not (drugs contains any of {"ketamine", "baclofen"})
  only_allowed: drugs contains only {"gabapentin", "lidocaine"}
  regions_ok: regions contains "low back" or documented note
  score_ok: score * 2 - 1 >= 3 / 2 and wait < 8 weeks + 3 days
  exclude knee_only: regions contains only {"knee"}
    says "not recommended for the knee alone"
  when any(prior_visits)
    last_relief: last(prior_visits).relief >= 50% and first(prior_visits).date >= 2010-01-31
    all_relief: all(prior_visits where relief >= 30%)
    when documented onset
      recent_onset: onset + 1 year > request.date

example "a clean case"
  given request.date = 2014-12-18, pain_relief = present, side_effects = absent
  given daily_dose = 90 MME/day, relief = 60%, onset = 2013-01-02, visits = 2, score = 4.5
  given route = "oral", drugs = {"gabapentin", "lidocaine"}, regions = {"low back"}
  given wait = 2 weeks, note = "seen", aberrant = absent, function_improved = present
  given prior_visits = [{date: 2014-06-01, relief: 60%, lasted: 8 weeks, sessions: 3}]
  expect certified

example "too many visits"
  given request.date = 2014-12-18, visits = 12
  expect not certified because total_visits not met, four_as not documented
'''

# The constructs for drugs and partial certification, and a formulary file.
DRUGS = '''\
guideline opioids "Opioids: on-going management"
  source "MTUS Chronic Pain Medical Treatment Guidelines" pages 74-96
  services class "opioid", ingredient "tramadol", form "patch", "opioid", cpt 99213

facts
  ingredients: set of text "ingredients of the requested product" from product ingredients
  dosage_form: text "dosage form" from product form default "tablet"
  opioid: one of {"codeine", "hydrocodone", "oxycodone"} "the opioid requested"
  visits_to_date: count "visits to date"
  visits_requested: count "visits requested"
  regimen: history "opioids taken"
    date: date "date"
    drug: text "opioid"
    daily_mg: number "daily dose in mg"

tables
  mme_factor: number "morphine milligram equivalent conversion factor"
    "codeine": 0.15
    "hydrocodone": 1
    "oxycodone": 1.5
  max_course: duration "longest course"
    "tablet": 6 weeks
    "patch": 4 weeks

criteria
  ceiling: sum(regimen of daily_mg * mme_factor[drug] within 1 year where drug != "codeine") <= 120
  requested: mme_factor[opioid] <= 1.5 and max_course[dosage_form] >= 4 weeks
  no_fentanyl: not (ingredients contains "fentanyl")
  visit_limit: visits_to_date + visits_requested <= 10
    says "up to 10 visits"
    allows fewer visits_requested

example "partial"
  given request.date = 2014-12-18, visits_to_date = 4, visits_requested = 12, opioid = "codeine"
  given ingredients = {"codeine"}, regimen = [{date: 2014-06-01, drug: "codeine", daily_mg: 30}]
  expect modified 6 because visit_limit not met
'''

FORMULARY = '''\
formulary mtus_drugs "Drug vocabulary"
  source "FDA labels" section "1" page 1

ingredients
  "hydrocodone": "opioid"
  "acetaminophen": "analgesic"
  "carisoprodol": "muscle relaxant", "sedating"

products
  "Norco": "hydrocodone", "acetaminophen" as "tablet"
  "Soma": "carisoprodol"
'''

SEEDS = [p.read_text(encoding="utf-8") for p in sorted(GUIDELINES.glob("*.mtus"))] + [KITCHEN_SINK, DRUGS, FORMULARY]
_TOKEN = re.compile(r'"""[\s\S]*?"""|"[^"\n]*"|#[^\n]*|\w+|<=|>=|!=|\n[ \t]*|[^\w\s]|[ \t]+')
_INTERNAL = re.compile(r"\b(RPAR|LPAR|RBRACE|LBRACE|RSQB|LSQB|_NL|_INDENT|_DEDENT|__ANON\w*|NAME|STRING|COMPARE)\b"
                       r"|\$END|Token\(|Tree\(|Traceback")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _settings(n: int):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def assert_well_behaved(result, text: str | None = None) -> None:
    """A model or diagnostics; only known codes; spans inside the text; renderable; no internals shown."""
    assert all(isinstance(d, Diagnostic) for d in result.diagnostics)
    codes = [d.code for d in result.diagnostics]
    assert "E999" not in codes, render_text(result.diagnostics, {result.source.path: result.source})
    if result.model is None:
        assert any(d.is_error for d in result.diagnostics)
    else:
        assert not any(d.is_error for d in result.diagnostics)
        dump(result.model)
    n = len(result.source.text)
    for d in result.diagnostics:
        assert 0 <= d.span.start <= d.span.end <= n, d
        assert d.span.line >= 1 and d.span.column >= 1
    rendered = render_text(result.diagnostics, {result.source.path: result.source})
    for d in result.diagnostics:
        for words in (d.message, d.hint or "", *(n.message for n in d.notes)):
            # quoted source text may say anything; the words around it must not show internals
            ours = re.sub(r"`([^`]*)`", lambda m: "" if m.group(1) in result.source.text else m.group(0), words)
            assert not _INTERNAL.search(ours), rendered
    json.loads(render_json(result.diagnostics))


# ----------------------------------------------------------------- mutations
@st.composite
def mutated(draw):
    tokens = _tokens(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        if not tokens:
            break
        i = draw(st.integers(0, len(tokens) - 1))
        j = draw(st.integers(0, len(tokens) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "replace"]))
        if op == "delete":
            del tokens[i]
        elif op == "duplicate":
            tokens.insert(i, tokens[i])
        elif op == "swap":
            tokens[i], tokens[j] = tokens[j], tokens[i]
        else:
            tokens[i] = tokens[j]
    return "".join(tokens)


@st.composite
def line_mutated(draw):
    lines = draw(st.sampled_from(SEEDS)).split("\n")
    i = draw(st.integers(0, len(lines) - 1))
    j = draw(st.integers(0, len(lines) - 1))
    op = draw(st.sampled_from(["delete", "duplicate", "swap", "indent", "dedent"]))
    if op == "delete":
        del lines[i]
    elif op == "duplicate":
        lines.insert(j, lines[i])
    elif op == "swap":
        lines[i], lines[j] = lines[j], lines[i]
    elif op == "indent":
        lines[i] = " " * draw(st.integers(1, 5)) + lines[i]
    else:
        lines[i] = lines[i].lstrip()
    return "\n".join(lines)


@st.composite
def with_inserted_text(draw):
    text = draw(st.sampled_from(SEEDS))
    at = draw(st.integers(0, len(text)))
    junk = draw(st.text(min_size=1, max_size=8))
    return text[:at] + junk + text[at:]


@tiers(fast=150, slow=1500)
def test_token_mutations_never_raise(n):
    @_settings(n)
    @given(mutated())
    def run(text):
        assert_well_behaved(check_text(text, "m.mtus"))

    run()


@tiers(fast=80, slow=800)
def test_line_mutations_never_raise(n):
    @_settings(n)
    @given(line_mutated())
    def run(text):
        assert_well_behaved(check_text(text, "m.mtus"))

    run()


@tiers(fast=80, slow=800)
def test_inserted_characters_never_raise(n):
    @_settings(n)
    @given(with_inserted_text())
    def run(text):
        assert_well_behaved(check_text(text, "m.mtus"))

    run()


@tiers(fast=30, slow=300)
def test_random_text_never_raises(n):
    @_settings(n)
    @given(st.text(max_size=200))
    def run(text):
        assert_well_behaved(check_text(text, "m.mtus"))

    run()


@pytest.mark.parametrize("seed", range(len(SEEDS)))
@tiers(fast=29, slow=1, name="stride")
def test_truncation_at_every_token_boundary(seed, stride):
    """Cut at every token boundary (slow tier), or at every 29th one, a different set per seed."""
    tokens = _tokens(SEEDS[seed])
    cuts = sorted({len("".join(tokens[:i])) for i in range(len(tokens) + 1)})
    for cut in cuts[seed % stride::stride]:
        text = SEEDS[seed][:cut]
        assert_well_behaved(check_text(text, "t.mtus"), text)


@tiers(fast=20, slow=200)
def test_random_bytes_read_from_a_file_never_raise(n):
    @_settings(n)
    @given(st.sampled_from(SEEDS), st.binary(min_size=1, max_size=6), st.floats(0, 1))
    def run(seed, junk, where):
        data = seed.encode("utf-8")
        at = int(len(data) * where)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "b.mtus")
            with open(path, "wb") as f:
                f.write(data[:at] + junk + data[at:])
            result = check_file(path)
        assert_well_behaved(result)

    run()


def test_invalid_utf8_is_reported_where_it_is(tmp_path):
    path = tmp_path / "latin1.mtus"
    path.write_bytes(KITCHEN_SINK.replace("behaviour", "behavi\u00f6ur").encode("latin-1"))
    result = check_file(path)
    assert [d.code for d in result.diagnostics] == ["E100"]
    d = result.diagnostics[0]
    lines = KITCHEN_SINK.split("\n")
    line = next(i for i, text in enumerate(lines) if "behaviour" in text)
    assert (d.span.line, d.span.column) == (line + 1, lines[line].index("behaviour") + len("behavi") + 1)
    assert "behavi\ufffdur" in render_text(result.diagnostics, {result.source.path: result.source})


# ------------------------------------------------------------ explicit cases
HEAD = 'guideline g "G"\n  source "S" page 1\nfacts\n  x: count "x"\n  f: finding "f"\ncriteria\n  c: '


def _timed(text: str, limit: float = 10.0):
    start = time.perf_counter()
    result = check_text(text, "big.mtus")
    assert time.perf_counter() - start < limit
    assert_well_behaved(result)
    return result


def test_nine_thousand_nested_parentheses_parse():
    result = _timed(HEAD + "(" * 9_000 + "x <= 4" + ")" * 9_000 + "\n")
    assert result.ok  # parentheses group; they add no depth (10,000 pairs are over the token limit)


def test_ten_thousand_unclosed_parentheses_are_one_error():
    result = _timed(HEAD + "(" * 10_000 + "x <= 4\n")
    assert [d.code for d in result.diagnostics] == ["E111"]


def test_ten_thousand_nots_are_too_deep():
    result = _timed(HEAD + "not " * 10_000 + "f\n")
    assert [d.code for d in result.diagnostics] == ["E901"]


def test_long_arithmetic_chain_is_too_deep():
    result = _timed(HEAD + "x + " * 10_000 + "1 > 2\n")
    assert [d.code for d in result.diagnostics] == ["E901"]


def test_ten_megabyte_file_is_refused_quickly(tmp_path):
    path = tmp_path / "huge.mtus"
    path.write_text(HEAD + "x <= 4\n" + "# padding\n" * 1_100_000, encoding="utf-8")
    assert path.stat().st_size > 10 * 1024 * 1024
    start = time.perf_counter()
    result = check_file(path)
    assert time.perf_counter() - start < 2
    assert [d.code for d in result.diagnostics] == ["E901"]
    assert result.model is None


def test_ten_megabyte_text_is_refused_quickly():
    start = time.perf_counter()
    result = check_text(HEAD + "x <= 4\n" + "#" * (10 * 1024 * 1024))
    assert time.perf_counter() - start < 2
    assert [d.code for d in result.diagnostics] == ["E901"]


def test_a_file_just_under_the_limit_is_checked():
    text = HEAD + "x <= 4\n"
    text += "#" * (MAX_FILE_BYTES - len(text) - 1) + "\n"
    result = _timed(text, limit=30)
    assert result.ok


def test_nul_byte_is_one_error(tmp_path):
    path = tmp_path / "nul.mtus"
    path.write_bytes((HEAD + "x <= 4\x00\n").encode())
    result = check_file(path)
    assert [d.code for d in result.diagnostics] == ["E101"]
    assert result.diagnostics[0].span.line == 7


@pytest.mark.parametrize("seed", range(len(SEEDS)))
def test_byte_order_mark_parses(seed, tmp_path):
    path = tmp_path / "bom.mtus"
    path.write_bytes(b"\xef\xbb\xbf" + SEEDS[seed].encode("utf-8"))
    assert check_file(path).ok
    assert check_text("\ufeff" + SEEDS[seed]).ok


@pytest.mark.parametrize("seed", range(len(SEEDS)))
def test_crlf_line_endings_give_the_same_model(seed, tmp_path):
    lf, crlf = tmp_path / "lf.mtus", tmp_path / "crlf.mtus"
    lf.write_bytes(SEEDS[seed].encode("utf-8"))
    crlf.write_bytes(SEEDS[seed].replace("\n", "\r\n").encode("utf-8"))
    a, b = check_file(lf), check_file(crlf)
    assert a.ok and b.ok
    assert dump(a.model) == dump(b.model)
    # spans included: offsets are those of the text with `\n` line ends
    assert check_text(SEEDS[seed].replace("\n", "\r\n")).model == check_text(SEEDS[seed]).model


@pytest.mark.parametrize("seed", range(len(SEEDS)))
def test_indentation_with_tabs_only_parses(seed):
    text = re.sub(r"(?m)^((?:  )+)", lambda m: "\t" * (len(m.group(1)) // 2), SEEDS[seed])
    assert "\t" in text
    result = check_text(text)
    assert result.ok, render_text(result.diagnostics, {result.source.path: result.source})
    assert dump(result.model) == dump(check_text(SEEDS[seed]).model)


def test_tabs_inside_a_line_are_spaces():
    assert check_text(HEAD + "x\t<=\t4\n").ok


def test_mixing_tabs_and_spaces_is_one_error():
    result = check_text(HEAD + "x <= 4\n\t says \"s\"\n")
    assert [d.code for d in result.diagnostics] == ["E104"]


def test_lone_carriage_returns_are_line_ends():
    assert check_text(KITCHEN_SINK.replace("\n", "\r")).ok


def test_unreadable_path_is_a_diagnostic(tmp_path):
    result = check_file(tmp_path / "missing.mtus")
    assert [d.code for d in result.diagnostics] == ["E100"]
    result = check_file(tmp_path)  # a folder
    assert [d.code for d in result.diagnostics] == ["E100"]
