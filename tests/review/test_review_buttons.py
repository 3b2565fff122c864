"""Every button has one colour: a caller's variant replaces the default primary, so a button
is never both filled and outlined (text and background the same colour, unreadable)."""

from __future__ import annotations

import re

from review_helpers import pending_bluestem, pending_certification

from models import db

COLOURS = re.compile(
    r"\bbtn-(?:outline-)?(?:primary|secondary|success|danger|warning|info|light|dark|link)\b"
)


def buttons(html: str) -> list[str]:
    return re.findall(r'<(?:input|button)[^>]*class="([^"]*\bbtn\b[^"]*)"', html)


def test_review_pages_buttons_have_exactly_one_colour(client, login):
    rev_id, cert_id = pending_bluestem().id, pending_certification().id
    db.session.commit()
    login("reviewer")
    for url in (f"/review/revisions/{rev_id}", f"/review/certifications/{cert_id}"):
        html = client.get(url).get_data(as_text=True)
        found = buttons(html)
        assert found, url
        for classes in found:
            assert len(COLOURS.findall(classes)) == 1, (url, classes)
        add_comment = re.search(r'<input[^>]*value="Add comment"[^>]*>', html)
        assert add_comment and "btn-outline-primary" in add_comment.group(), url
        assert "btn-primary" not in add_comment.group().replace("btn-outline-primary", ""), url


def test_deciding_an_item_another_reviewer_holds_asks_for_confirmation(client, login, users, send):
    from models import ListingRevision, User
    from models.listings import workflow as wf

    rev = pending_bluestem()
    other = db.session.scalar(db.select(User).filter_by(email="reviewer2@demo.test"))
    wf.claim(rev, other)
    db.session.commit()
    rev_id, version, holder = rev.id, rev.lock_version, other.name
    login("reviewer")
    page = f"/review/revisions/{rev_id}"
    html = client.get(page).get_data(as_text=True)
    assert 'id="held-warning"' in html and f"{holder} is reviewing this change" in html
    data = {"decision": "approve", "note": "", "lock_version": version}
    resp = send(client, f"{page}/decision", data, form_url=page)
    assert resp.status_code == 422
    assert f"{holder} holds this change" in resp.get_data(as_text=True)
    assert db.session.get(ListingRevision, rev_id).state != "approved"
    resp = send(client, f"{page}/decision", {**data, "override_claim": "y"}, form_url=page)
    assert resp.status_code in (302, 303)
    db.session.expire_all()
    assert db.session.get(ListingRevision, rev_id).state == "approved"


def test_deciding_a_certification_another_reviewer_holds_asks_for_confirmation(client, login, send):
    from models import Certification, User
    from models.listings import workflow as wf
    from tests.review.test_review_pages import cert_form

    cert = pending_certification()
    other = db.session.scalar(db.select(User).filter_by(email="reviewer2@demo.test"))
    wf.claim(cert, other)
    db.session.commit()
    cert_id, form, holder = cert.id, cert_form(cert), other.name
    login("reviewer")
    page = f"/review/certifications/{cert_id}"
    html = client.get(page).get_data(as_text=True)
    assert 'id="held-warning"' in html and f"{holder} is reviewing this certification" in html
    resp = send(client, f"{page}/decision", form, form_url=page)
    assert resp.status_code == 422
    assert f"{holder} holds this certification" in resp.get_data(as_text=True)
    assert db.session.get(Certification, cert_id).status == "in_review"  # claimed, undecided
    resp = send(client, f"{page}/decision", {**form, "override_claim": "y"}, form_url=page)
    assert resp.status_code in (302, 303)
    db.session.expire_all()
    assert db.session.get(Certification, cert_id).status == "certified"
