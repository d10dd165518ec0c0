"""The playground and the reviewer's form in headless Chromium against a real `mtus serve` (the slow tier)."""

from __future__ import annotations

import json
import os
import urllib.request

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

TPI_SOURCE = (ROOT / "guidelines/tpi.mtus").read_text(encoding="utf-8")
SCREENSHOTS = os.environ.get("MTUS_SCREENSHOTS")  # a folder: each test saves what the page looked like


def shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, name + ".png"))


def open_page(page, suffix: str = "/"):
    page.goto(page.base + suffix)
    page.wait_for_selector("body[data-ready=true]")


def test_typing_a_guideline_error_shows_the_diagnostic_at_its_line(page):
    open_page(page)
    page.wait_for_selector("#verdicts .verdict.deny")  # the seed case, decided with tpi as the page starts
    line = TPI_SOURCE[:TPI_SOURCE.index("twitch_response and referred_pain")].count("\n") + 1
    column = TPI_SOURCE.splitlines()[line - 1].index("referred_pain") + 1
    editor = page.locator("#guideline-editor textarea")
    editor.click()
    # type the mistake as a person would: move to the fact's name and type one letter fewer
    editor.evaluate("(t) => { const i = t.value.indexOf('and referred_pain') + 'and refer'.length; "
                    "t.setSelectionRange(i, i + 1); }")
    page.keyboard.press("Delete")
    page.wait_for_selector(f"#guideline-editor .ln.error[data-line='{line}']")
    assert page.locator(f"#guideline-editor .gutter div.error[data-line='{line}']").count() == 1
    squiggle = page.locator(f"#guideline-editor .ln[data-line='{line}'] .sq-error")
    assert squiggle.inner_text() == "refered_pain"
    item = page.locator("#diagnostics li").first
    assert item.locator(".where").inner_text() == f"{line}:{column}"
    assert "error[E201]" in item.inner_text() and "did you mean `referred_pain`?" in item.inner_text()
    assert "E201" in page.locator(f"#guideline-editor .ln[data-line='{line}'] .lens").inner_text()
    assert page.locator("#letter").inner_text() == ""  # no letter from a guideline that does not check
    shot(page, "playground-error")
    editor.press("Control+z")  # undo: the guideline checks again and the letter is back
    page.wait_for_selector("#verdicts .verdict.deny")
    assert page.locator("#guideline-editor .ln.error").count() == 0
    assert "Determination: UPHELD." in page.locator("#letter").inner_text()


def test_the_seed_case_in_the_form_is_upheld_with_the_page_122_reason(page, tmp_path):
    open_page(page)
    page.click("#tab-form")
    page.fill("#item", "Trigger Point Injections Bilateral Paraspinous Thoracic")
    page.click("#item-form button[type=submit]")
    page.wait_for_selector("#case-form [name=date]")
    assert "Trigger point injections" in page.locator("#route").inner_text()
    assert page.locator("[data-fact=injections] .badge, h3 .badge.detail").count() >= 1  # request details marked
    page.fill("#case-form [name=date]", "2014-12-18")
    page.fill("#case-form [name=case]", "seed-2014-12-18")
    page.fill("#case-form [name=symptom_onset]", "2006-07-17")
    page.click("#case-form [data-fact=radiculopathy] label.present")
    page.fill("#case-form [name=diagnoses]", "lumbago\nfailed back surgery syndrome with radiculopathy")
    verdict = page.locator("#form-verdicts .verdict.deny")
    verdict.wait_for()
    page.wait_for_function("!document.querySelector('#form-letter').classList.contains('stale')")
    text = verdict.inner_text()
    assert text.startswith("UPHELD")
    assert "page 122" in text
    assert "There is no documentation of circumscribed trigger points with evidence upon palpation" in text
    assert "Determination: UPHELD." in page.locator("#form-letter").inner_text()
    shot(page, "form-seed")
    # the exported case file is a case file: `mtus check` (here, the API) decides it the same way
    with page.expect_download() as download:
        page.click("#export-yaml")
    exported = tmp_path / "case.yaml"
    download.value.save_as(exported)
    request = urllib.request.Request(page.base + "/v1/check?format=text", data=exported.read_bytes(), method="POST")
    with urllib.request.urlopen(request) as r:
        assert r.read().decode().rstrip("\n") == page.locator("#form-letter").inner_text().rstrip("\n")


def test_a_shared_url_restores_the_state(page, browser):
    open_page(page)
    page.wait_for_selector("#verdicts .verdict")
    case = page.locator("#case-editor textarea")
    case.click()
    case.press("Control+End")
    case.type("  twitch_response: present\n")
    page.select_option("#wording", "ur")
    page.click("#letter-format button[data-format=markdown]")
    page.check("#show-trace")
    page.wait_for_function("location.hash.length > 10")
    page.wait_for_timeout(600)  # the URL follows the last edit after a pause
    url = page.url
    letter = page.locator("#letter").inner_text()
    assert letter.startswith("# Utilization review determination")

    other = browser.new_context(viewport={"width": 1500, "height": 900}).new_page()
    other.goto(url)
    other.wait_for_selector("body[data-ready=true]")
    other.wait_for_selector("#trace table")
    assert other.locator("#case-editor textarea").input_value().endswith("  twitch_response: present\n")
    assert other.locator("#guideline-editor textarea").input_value() == TPI_SOURCE
    assert other.locator("#wording").input_value() == "ur"
    assert other.locator("#letter-format button[aria-checked=true]").inner_text() == "Markdown"
    other.wait_for_function("document.querySelector('#letter').textContent.length > 100")
    assert other.locator("#letter").inner_text() == letter
    trace = other.locator("#trace").inner_text()
    assert "trigger_points" in trace and "twitch_response = present" in trace
    shot(other, "playground-shared")
    other.context.close()


def test_the_form_state_is_shared_too(page, browser, tmp_path):
    open_page(page)
    page.click("#tab-form")
    page.fill("#item", "20552")
    page.click("#item-form button[type=submit]")
    page.wait_for_selector("#case-form [name=date]")
    page.fill("#case-form [name=date]", "2014-12-18")
    page.click("#case-form [data-fact=twitch_response] label.present")
    page.click("[data-add=prior_injections]")
    page.fill("#case-form [name='prior_injections.0.relief']", "60%")
    page.wait_for_selector("#form-verdicts .verdict")
    page.wait_for_timeout(600)
    other = browser.new_context().new_page()
    other.goto(page.url)
    other.wait_for_selector("#form-verdicts .verdict")
    assert other.locator("#item").input_value() == "20552"
    assert other.locator("#case-form [name=twitch_response][value=present]").is_checked()
    assert other.locator("#case-form [name='prior_injections.0.relief']").input_value() == "60%"
    assert json.loads(other.evaluate("JSON.stringify(ReviewerForm.caseData())")) == \
        json.loads(page.evaluate("JSON.stringify(ReviewerForm.caseData())"))
    other.context.close()
    # a history row survives the export: the YAML file decides as the form does
    page.wait_for_function("!document.querySelector('#form-letter').classList.contains('stale')")
    with page.expect_download() as download:
        page.click("#export-yaml")
    exported = tmp_path / "case.yaml"
    download.value.save_as(exported)
    assert "prior_injections:\n    - relief: \"60%\"" in exported.read_text(encoding="utf-8")
    request = urllib.request.Request(page.base + "/v1/check?format=text", data=exported.read_bytes(), method="POST")
    with urllib.request.urlopen(request) as r:
        assert r.read().decode().rstrip("\n") == page.locator("#form-letter").inner_text().rstrip("\n")


def test_starting_from_another_guideline_loads_it_and_its_fill_in_case(page):
    open_page(page)
    page.wait_for_selector("#verdicts .verdict")
    page.select_option("#start-from", "esi")
    page.wait_for_function("document.querySelector('#case-editor textarea').value.includes('guideline: esi')")
    source = page.locator("#guideline-editor textarea").input_value()
    assert source == (ROOT / "guidelines/esi.mtus").read_text(encoding="utf-8")
    # the template's placeholder date is the case's one problem, shown at its line
    problem = page.locator("#case-problems li").first
    problem.wait_for()
    lines = page.locator("#case-editor textarea").input_value().splitlines()
    date_line = next(n for n, text in enumerate(lines, 1) if text.startswith("date:"))
    assert problem.locator(".where").inner_text() == f"line {date_line}"
    page.wait_for_selector(f"#case-editor .ln.error[data-line='{date_line}']")
    case = page.locator("#case-editor textarea")
    case.fill(case.input_value().replace("date: YYYY-MM-DD", "date: 2015-03-02", 1))
    page.wait_for_selector("#verdicts .verdict")
    assert "Epidural steroid injections" in page.locator("#verdicts").inner_text()
    shot(page, "playground-esi")
