"""The provider's journey in Chromium against a live server: change a listing's phone and
hours, read the diff, submit, see it as submitted, upload a certification document, sign out."""

from __future__ import annotations

import re

import pytest

from tests.conftest import browser_sign_in, save_draft
from tests.portal.conftest import make_pdf

pytestmark = [pytest.mark.live, pytest.mark.browser]

LISTING = "Community Behavioral Health Liaison — Central"


def test_provider_journey(live_server, page):
    base = live_server.url
    browser_sign_in(page, base, "provider@demo.test")
    page.wait_for_url(re.compile(r".*/portal/$"))
    page.get_by_role("link", name=LISTING).click()
    page.get_by_role("link", name="Edit", exact=True).click()
    page.wait_for_url(re.compile(r".*/edit$"))
    page.wait_for_load_state("load")  # the editor's script is attached before we type
    page.fill("#phones-0-number", "(573) 555-0142")
    page.fill("#hours_fri-0-closes", "16:00")
    save_draft(page)
    page.wait_for_url(re.compile(r".*/changes$"), timeout=30_000)
    assert page.get_by_role("heading", name="What will change").is_visible()
    diff = page.locator("table.diff-table")
    assert "Phone numbers" in diff.inner_text() and "(573) 555-0142" in diff.inner_text()
    assert "Friday: 8 am–4 pm" in diff.inner_text()
    page.fill("#note", "New direct line; Friday clinic closes at four.")
    page.get_by_role("button", name="Submit for review").click()

    page.wait_for_url(re.compile(r".*/portal/listings/\d+$"))
    assert page.locator(".state-badge", has_text="submitted").first.is_visible()
    assert "Submitted for review" in page.locator(".flash-messages").inner_text()

    page.goto(base + "/portal/certifications/new")
    page.select_option("#type_code", "bhcc")
    page.get_by_role("button", name="Submit to DMH").click()
    page.wait_for_url(re.compile(r".*/portal/certifications/\d+$"))
    page.set_input_files(
        "#file",
        files=[{"name": "application.pdf", "mimeType": "application/pdf", "buffer": make_pdf()}],
    )
    page.select_option("#type_code", "application")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r".*/portal/certifications/\d+$"))
    assert page.get_by_role("link", name="application.pdf").is_visible()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/login$"))
    page.goto(base + "/portal/")
    page.wait_for_url(re.compile(r".*/login.*"))
