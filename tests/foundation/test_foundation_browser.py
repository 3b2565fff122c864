"""Signing in through the real login page in Chromium, for each role."""

from __future__ import annotations

import re

import pytest

from tests.conftest import DEMO_TOTP_SECRET, ROOT, browser_sign_in

pytestmark = [pytest.mark.live, pytest.mark.browser]

SHOTS = ROOT / "test-results" / "foundation"

ROLES = [
    # email, TOTP secret, landing path, heading, nav links the role sees, nav links it must not see
    (
        "provider@demo.test",
        None,
        "/portal/",
        "Bluestem Valley Behavioral Health",
        ["Dashboard", "Colleagues"],
        ["Review", "Manage"],
    ),
    (
        "reviewer@demo.test",
        DEMO_TOTP_SECRET,
        "/review/",
        "Review",
        ["Review", "Dashboard", "Coverage"],
        ["Manage", "Releases"],
    ),
    (
        "admin@demo.test",
        DEMO_TOTP_SECRET,
        "/manage/",
        "Manage the registry",
        ["Review", "Dashboard", "Coverage", "Manage", "Releases", "PDF previews"],
        ["Colleagues"],
    ),
]


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_each_role_signs_in_through_the_login_page_and_sees_its_landing_page(browser, live_server):
    for email, secret, path, heading, visible, hidden in ROLES:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        try:
            page.goto(live_server.url + "/login")
            assert page.locator("input[name=email]").is_visible()
            assert (
                page.get_by_label("E-mail").count() == 1
                and page.get_by_label("Password").count() == 1
            )
            if email.startswith("provider"):
                shot(page, "login")
            browser_sign_in(page, live_server.url, email, totp_secret=secret)
            page.wait_for_url(re.compile(re.escape(live_server.url + path) + "$"))
            assert page.get_by_role("heading", level=1).inner_text().strip() == heading
            nav = page.get_by_role("navigation", name="Main")
            for label in visible:
                assert nav.get_by_role("link", name=label, exact=True).count() == 1, label
            for label in hidden:
                assert nav.get_by_role("link", name=label, exact=True).count() == 0, label
            assert nav.get_by_role("button", name="Sign out").count() == 1
            shot(page, email.split("@")[0])
            if email.startswith("admin"):
                page.goto(live_server.url + "/no-such-page")
                assert page.get_by_role("heading", level=1).inner_text().strip() == "Not found"
                assert page.get_by_role("link", name="Go to your start page").count() == 1
                shot(page, "error-404")
            # signing out through the button ends the session
            nav.get_by_role("button", name="Sign out").click()
            page.wait_for_url(re.compile(r".*/login$"))
            assert page.get_by_text("You are signed out.").is_visible()
            page.goto(live_server.url + path)
            page.wait_for_url(re.compile(r".*/login(\?.*)?$"))
        finally:
            context.close()


def test_wrong_password_shows_the_error_next_to_the_field(page, live_server):
    page.goto(live_server.url + "/login")
    page.fill("input[name=email]", "provider@demo.test")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit], input[type=submit]")
    error = page.locator("#password-error")
    assert error.inner_text() == "The e-mail or password is not right."
    assert page.locator("#password").get_attribute("aria-describedby") == "password-error"
    assert page.locator("#password").get_attribute("aria-invalid") == "true"
    shot(page, "login-error")
