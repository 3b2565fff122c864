"""In a real browser: the demo admin signs in with TOTP, creates an organization and invites its
first user; the invitation arrives at a real SMTP server; the invitee sets a password, signs in
and sees an empty dashboard."""

from __future__ import annotations

import re

import pytest

from tests.conftest import DEMO_TOTP_SECRET, browser_sign_in


@pytest.mark.live
@pytest.mark.browser
def test_admin_onboards_an_organization_and_its_first_user(live_app, smtp_server, browser):
    from tests.conftest import LiveServer, free_port

    live_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    server = LiveServer(live_app, free_port())
    server.start()
    try:
        admin_ctx = browser.new_context()
        page = admin_ctx.new_page()
        page.set_default_timeout(15_000)
        browser_sign_in(page, server.url, "admin@demo.test", totp_secret=DEMO_TOTP_SECRET)
        page.wait_for_url(re.compile(r".*/manage/$"))

        page.goto(server.url + "/manage/organizations/new")
        page.fill("input[name=legal_name]", "Cedar Bluff Crisis Services")
        page.fill("input[name=ein]", "43-7654321")
        page.fill("input[name=npi]", "1234567893")
        page.fill("input[name=website]", "https://cedarbluff.example.org")
        page.fill("input[name=phone]", "(417) 555-0150")
        page.click("input[type=submit][value='Save organization']")
        page.wait_for_url(re.compile(r".*/manage/organizations/\d+$"))
        assert page.locator("h1").inner_text().startswith("Cedar Bluff Crisis Services")

        page.click("text=Invite a user")
        page.fill("input[name=email]", "first.user@cedarbluff.example.org")
        page.fill("input[name=name]", "First User")
        assert page.locator("select[name=role]").input_value() == "provider"
        page.check("input[name=is_org_admin]")
        page.click("input[type=submit][value='Send invitation']")
        page.wait_for_url(re.compile(r".*/manage/people/\d+$"))
        assert "Invited" in page.content()
        admin_ctx.close()

        [msg] = smtp_server.wait_for(1)
        assert msg["To"] == "first.user@cedarbluff.example.org"
        body = msg.get_body(preferencelist=("plain",)).get_content()
        path = re.search(r"https?://\S+(/invitation/[\w-]+)", body).group(1)

        invitee_ctx = browser.new_context()
        invitee = invitee_ctx.new_page()
        invitee.set_default_timeout(15_000)
        invitee.goto(server.url + path)
        invitee.fill("input[name=password]", "cedar trees grow slowly on bluffs")
        invitee.fill("input[name=confirm]", "cedar trees grow slowly on bluffs")
        invitee.click("input[type=submit], button[type=submit]")
        invitee.wait_for_url(re.compile(r".*/login$"))
        browser_sign_in(
            invitee,
            server.url,
            "first.user@cedarbluff.example.org",
            "cedar trees grow slowly on bluffs",
        )
        invitee.wait_for_url(re.compile(r".*/portal/$"))
        assert "Cedar Bluff Crisis Services" in invitee.locator("h1").inner_text()
        assert "Your organization has no listings yet." in invitee.content()
        invitee_ctx.close()
    finally:
        server.stop()
