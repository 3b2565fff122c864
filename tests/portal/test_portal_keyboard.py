"""The listing editor by keyboard, in Chromium: from the top of the page, "Save draft" is at
most 40 Tab presses away; after a failed save the focus is on the error summary, whose links
lead to each field."""

from __future__ import annotations

import re

import pytest

from tests.conftest import browser_sign_in
from tests.portal.test_portal_browser import LISTING

pytestmark = [pytest.mark.live, pytest.mark.browser]

MAX_TABS = 40


def open_editor(page, base):
    browser_sign_in(page, base, "provider@demo.test")
    page.wait_for_url(re.compile(r".*/portal/$"))
    page.get_by_role("link", name=LISTING).click()
    page.get_by_role("link", name="Edit", exact=True).click()
    page.wait_for_url(re.compile(r".*/edit$"))
    page.wait_for_load_state("load")  # the editor's script is attached before we type


def tabs_to(page, name: str, limit: int = 300) -> int:
    page.evaluate("document.activeElement && document.activeElement.blur()")
    for n in range(1, limit + 1):
        page.keyboard.press("Tab")
        text = page.evaluate(
            "(() => { const e = document.activeElement; return e ? (e.innerText || e.value || '').trim() : '' })()"
        )
        if text == name:
            return n
    return limit + 1


def test_save_draft_is_a_few_tab_presses_away(live_server, page):
    open_editor(page, live_server.url)
    presses = tabs_to(page, "Save draft")
    assert presses <= MAX_TABS, f"{presses} Tab presses from the top to Save draft"


def test_after_a_failed_save_focus_is_on_the_error_summary(live_server, page):
    open_editor(page, live_server.url)
    page.get_by_label("Phone 1 number").fill("555-01")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_load_state()
    assert page.evaluate("document.activeElement.id") == "form-errors"
    summary = page.get_by_role("alert")
    assert "Nothing was saved" in summary.inner_text()
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "phones-0-number"


def test_a_county_is_found_by_typing_its_name(live_server, page):
    open_editor(page, live_server.url)
    page.locator("details.county-picker summary").first.click()
    page.get_by_label("Find a county").first.fill("cal")
    picker = page.locator("details.county-picker").first
    rows = picker.locator(".form-check:not([hidden])")
    assert 0 < rows.count() < 115
    for i in range(rows.count()):  # each shown county matches, or was already ticked
        row = rows.nth(i)
        assert "cal" in row.inner_text().lower() or row.locator("input").is_checked()
    assert any(t.startswith("Callaway") for t in rows.locator("label").all_inner_texts())
    page.get_by_label(re.compile("^Callaway")).first.check()
    page.get_by_label("Find a county").first.fill("")
    assert picker.locator(".form-check[hidden]").count() == 0
