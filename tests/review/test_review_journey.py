"""Browser journey in Chromium: the demo reviewer signs in with TOTP, opens the oldest
unclaimed item (Bluestem's BHCC phone change), sees the new number in the diff, comments on the
phones field and requests changes; the provider signs in to the portal in a browser of their own,
opens the listing DMH sent back, reads the comment next to the phones field, fixes the number in
the editor and resubmits; the reviewer approves and the fixed number is live."""

from __future__ import annotations

import re

import pytest
from review_helpers import pending_bluestem

from models import ListingRevision, ReviewComment, db
from tests.conftest import browser_sign_in, totp_now

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
    page.fill("input[name=email]", "reviewer@demo.test")
    page.fill("input[name=password]", "demo-password")
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(re.compile(r".*/login/verify$"))
    page.fill("input[name=code]", totp_now(DEMO_TOTP_SECRET))
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(re.compile(r".*/review/?$"))
    page.goto(live_server.url + "/review/queue")
    page.check("input[name=unclaimed]")
    page.click("form.queue-filters button[type=submit]")
    page.locator("tr.queue-item").first.locator("th a").click()
    page.wait_for_url(re.compile(rf".*/review/revisions/{rev_id}$"))
    assert "Bluestem Valley" in page.locator("main").inner_text()

    phones = page.locator("#field-phones")
    assert "(573) 555-0188" in phones.locator("td.diff-after").inner_text()

    phones.locator("a.comment-on-field").click()
    assert page.locator("#comment-form select[name=field]").input_value() == "phones"
    page.fill(
        "#comment-form textarea[name=body]",
        "This rings the front desk only after 5 pm; give the 24/7 line.",
    )
    page.click("#comment-form button[type=submit], #comment-form input[type=submit]")
    page.wait_for_url(re.compile(rf".*/review/revisions/{rev_id}#field-phones$"))
    assert "24/7 line" in page.locator("#field-phones").inner_text()

    page.check("input[name=decision][value=request_changes]")
    page.fill("#decision-form textarea[name=note]", "One fix needed.")
    page.click("#decision-form [type=submit]")
    page.wait_for_url(re.compile(r".*/review/queue$"))
    assert "sent back for changes" in page.locator(".flash-messages").inner_text()

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
        row = portal.locator("table.portal-table tbody tr").filter(
            has=portal.locator(f"th a[href$='/portal/listings/{listing_id}']")
        )
        assert row.count() == 1
        assert "DMH asked for changes." in row.locator("ul.attention").inner_text()
        row.locator(f"th a[href$='/portal/listings/{listing_id}']").click()
        portal.wait_for_url(re.compile(rf".*/portal/listings/{listing_id}$"))
        asked = portal.locator(".alert-warning").inner_text()
        assert "One fix needed." in asked and "24/7 line" in asked

        # the comment sits next to the phones field in the editor
        portal.click("text=Edit the changes")
        portal.wait_for_url(re.compile(rf".*/portal/listings/{listing_id}/edit$"))
        note = portal.locator("#group-phones .field-comment")
        assert note.count() == 1
        assert "This rings the front desk only after 5 pm; give the 24/7 line." in note.inner_text()
        assert portal.locator("#phones-0-number").input_value() == "+15735550188"
        assert portal.locator("#phones-1-number").input_value() == ""
        portal.fill("#phones-0-number", "(573) 555-0199")
        portal.fill("#phones-0-note", "24/7 line")
        portal.click("form.listing-editor button[type=submit]")
        portal.wait_for_url(re.compile(rf".*/portal/listings/{listing_id}/changes$"))
        assert "Draft saved." in portal.locator(".flash-messages").inner_text()
        assert "(573) 555-0199" in portal.locator("table.diff-table").inner_text()

        portal.fill("form.submit-form textarea[name=note]", "Now the 24/7 line.")
        portal.click("form.submit-form button:has-text('Resubmit for review')")
        portal.wait_for_url(re.compile(rf".*/portal/listings/{listing_id}$"))
        assert "Submitted for review." in portal.locator(".flash-messages").inner_text()
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
    assert "(573) 555-0199" in page.locator("#field-phones td.diff-after").inner_text()
    assert "resolved" in page.locator("#field-phones").inner_text()
    page.check("input[name=decision][value=approve]")
    page.click("#decision-form [type=submit]")
    page.wait_for_url(re.compile(r".*/review/queue$"))
    assert "approved" in page.locator(".flash-messages").inner_text()
    with app.app_context():
        rev = db.session.get(ListingRevision, rev_id)
        assert rev.state == "approved" and rev.listing.live_revision_id == rev_id
        assert [
            {k: v for k, v in p.items() if k != "id"}
            for p in rev.listing.live_revision.data["phones"]
        ] == [{"number": FIXED_NUMBER, "kind": "voice", "description": "24/7 line"}]
        db.session.remove()
