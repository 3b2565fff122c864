"""Browser journey in Chromium: the demo reviewer signs in with TOTP, opens the oldest
unclaimed item (Bluestem's BHCC phone change), sees the new number in the diff, comments on the
phones field and requests changes; the provider signs in to the portal in a browser of their own,
opens the listing DMH sent back, reads the comment next to the phones field, fixes the number in
the editor and resubmits; the reviewer approves and the fixed number is live. Every step is
taken as a person would: by the visible label of a field, the name of a link or a button."""

from __future__ import annotations

import re

import pytest
from review_helpers import pending_bluestem

from models import ListingRevision, ReviewComment, db
from tests.conftest import browser_sign_in, save_draft, totp_now

DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
FIXED_NUMBER = "+15735550199"


@pytest.mark.live
@pytest.mark.browser
def test_reviewer_requests_changes_then_approves(live_server, page, browser):
    app = live_server.app
    with app.app_context():
        pending = pending_bluestem()
        rev_id, listing_id = pending.id, pending.listing_id
        db.session.remove()

    page.goto(live_server.url + "/login")
    page.get_by_label("E-mail").fill("reviewer@demo.test")
    page.get_by_label("Password").fill("demo-password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/login/verify$"))
    page.get_by_label("6-digit code from your authenticator app").fill(totp_now(DEMO_TOTP_SECRET))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(re.compile(r".*/review/?$"))
    page.get_by_role("link", name="Open the review queue").click()
    page.get_by_label("Not claimed by anyone").check()
    page.get_by_role("button", name="Filter").click()
    queue = page.get_by_role("region", name=re.compile("Review queue"))
    queue.get_by_role("row").nth(1).get_by_role("link").first.click()
    page.wait_for_url(re.compile(rf".*/review/revisions/{rev_id}$"))
    assert "Bluestem Valley" in page.get_by_role("main").inner_text()

    phones = page.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name=re.compile("Phone numbers"))
    )
    assert "(573) 555-0188" in phones.inner_text()

    phones.get_by_role("link", name="Comment on this field").click()
    assert page.get_by_label("About").input_value() == "phones"
    page.get_by_role("textbox", name="Comment", exact=True).fill(
        "This rings the front desk only after 5 pm; give the 24/7 line."
    )
    page.get_by_role("button", name="Add comment").click()
    page.wait_for_url(re.compile(rf".*/review/revisions/{rev_id}#field-phones$"))
    assert "24/7 line" in page.locator("#field-phones").inner_text()

    page.get_by_label("Request changes (needs at least one open comment)").check()
    page.get_by_label("Note to the provider (required to reject)").fill("One fix needed.")
    page.get_by_role("button", name="Record decision").click()
    page.wait_for_url(re.compile(r".*/review/queue$"))
    assert "sent back for changes" in page.get_by_role("main").inner_text()

    with app.app_context():
        rev = db.session.get(ListingRevision, rev_id)
        assert rev.state == "changes_requested"
        (comment,) = db.session.scalars(
            db.select(ReviewComment).where(
                ReviewComment.revision_id == rev_id, ReviewComment.resolved_at.is_(None)
            )
        )
        assert comment.field == "phones" and "24/7 line" in comment.body
        db.session.remove()

    # the provider, in a browser of their own, opens the listing DMH sent back
    provider_context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        portal = provider_context.new_page()
        portal.set_default_timeout(15_000)
        browser_sign_in(portal, live_server.url, "provider@demo.test")
        portal.wait_for_url(re.compile(r".*/portal/?$"))
        listings = portal.get_by_role("region", name=re.compile("Your listings"))
        row = listings.get_by_role("row").filter(has_text="DMH asked for changes.")
        assert row.count() == 1
        row.get_by_role("link").first.click()
        portal.wait_for_url(re.compile(rf".*/portal/listings/{listing_id}$"))
        asked = portal.get_by_role("main").inner_text()
        assert "One fix needed." in asked and "24/7 line" in asked

        # the comment sits next to the phones field in the editor
        portal.get_by_role("link", name="Edit the changes").click()
        portal.wait_for_url(re.compile(rf".*/portal/listings/{listing_id}/edit$"))
        contact = portal.get_by_role("group", name="Contact")
        assert (
            "This rings the front desk only after 5 pm; give the 24/7 line." in contact.inner_text()
        )
        assert portal.get_by_label("Phone 1 number").input_value() == "+15735550188"
        assert portal.get_by_label("Phone 2 number").input_value() == ""
        portal.get_by_label("Phone 1 number").fill("(573) 555-0199")
        portal.get_by_label("Phone 1 note").fill("24/7 line")
        save_draft(portal)
        portal.wait_for_url(re.compile(rf".*/portal/listings/{listing_id}/changes$"))
        assert "Draft saved." in portal.get_by_role("main").inner_text()
        assert "(573) 555-0199" in portal.get_by_role("table").first.inner_text()

        portal.get_by_label("Note to the reviewer (optional)").fill("Now the 24/7 line.")
        portal.get_by_role("button", name="Resubmit for review").click()
        portal.wait_for_url(re.compile(rf".*/portal/listings/{listing_id}$"))
        assert "Submitted for review." in portal.get_by_role("main").inner_text()
    finally:
        provider_context.close()

    with app.app_context():
        rev = db.session.get(ListingRevision, rev_id)
        assert rev.state == "submitted" and rev.provider_note == "Now the 24/7 line."
        assert [{k: v for k, v in p.items() if k != "id"} for p in rev.data["phones"]] == [
            {"number": FIXED_NUMBER, "kind": "voice", "description": "24/7 line"}
        ]
        db.session.remove()

    page.goto(live_server.url + f"/review/revisions/{rev_id}")
    assert "(573) 555-0199" in page.locator("#field-phones").inner_text()
    assert "resolved" in page.locator("#field-phones").inner_text()
    page.get_by_label("Approve: make it live").check()
    page.get_by_role("button", name="Record decision").click()
    page.wait_for_url(re.compile(r".*/review/queue$"))
    assert "approved" in page.get_by_role("main").inner_text()
    with app.app_context():
        rev = db.session.get(ListingRevision, rev_id)
        assert rev.state == "approved" and rev.listing.live_revision_id == rev_id
        assert [
            {k: v for k, v in p.items() if k != "id"}
            for p in rev.listing.live_revision.data["phones"]
        ] == [{"number": FIXED_NUMBER, "kind": "voice", "description": "24/7 line"}]
        db.session.remove()
