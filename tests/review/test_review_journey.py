"""Browser journey in Chromium: the demo reviewer signs in with TOTP, opens the oldest
unclaimed item (Bluestem's BHCC phone change), sees the new number in the diff, comments on the
phones field and requests changes; the provider fixes the number and resubmits; the reviewer
approves.

The provider's editor belongs to the portal area and is not on this branch, so the provider's
side (reading the field comment, fixing, resubmitting) runs through `models.workflow`."""

from __future__ import annotations

import copy
import re

import pytest
from review_helpers import pending_bluestem

from models import ListingRevision, ReviewComment, User, db
from models import workflow as wf
from tests.conftest import totp_now

DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXP"


@pytest.mark.live
@pytest.mark.browser
def test_reviewer_requests_changes_then_approves(live_server, page):
    app = live_server.app
    with app.app_context():
        rev_id = pending_bluestem().id
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
    page.fill("#comment-form textarea[name=body]", "This rings the front desk only after 5 pm; give the 24/7 line.")
    page.click("#comment-form button[type=submit], #comment-form input[type=submit]")
    page.wait_for_url(re.compile(rf".*/review/revisions/{rev_id}#field-phones$"))
    assert "24/7 line" in page.locator("#field-phones").inner_text()

    page.check("input[name=decision][value=request_changes]")
    page.fill("#decision-form textarea[name=note]", "One fix needed.")
    page.click("#decision-form [type=submit]")
    page.wait_for_url(re.compile(r".*/review/queue$"))
    assert "sent back for changes" in page.locator(".flash-messages").inner_text()

    # the provider reads the comment on the phones field, fixes the number and resubmits
    with app.app_context():
        rev = db.session.get(ListingRevision, rev_id)
        assert rev.state == "changes_requested"
        (comment,) = db.session.scalars(db.select(ReviewComment).where(ReviewComment.revision_id == rev_id, ReviewComment.resolved_at.is_(None)))
        assert comment.field == "phones" and "24/7 line" in comment.body
        provider = db.session.scalar(db.select(User).filter_by(email="provider@demo.test"))
        data = copy.deepcopy(rev.data)
        data["phones"] = [{"number": "+15735550199", "kind": "voice", "description": "24/7 line"}]
        wf.save_draft(rev.listing, data, provider)
        wf.resubmit_after_changes(rev, provider, "Now the 24/7 line.")
        db.session.commit()
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
        db.session.remove()
