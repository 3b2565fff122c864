"""Review pages: human diff, field comments, certification verification, documents served
inline with their own CSP, suspension, history and comparison."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

from review_helpers import pending_bluestem, pending_certification, text_of

from models import AuditEvent, Certification, Document, Listing, ReviewComment, db
from models.listings import workflow as wf


def test_diff_shows_the_new_phone_number_in_words(client, login):
    rev = pending_bluestem()
    rev_id, old_phone = rev.id, rev.listing.live_revision.data["phones"][0]["number"]
    db.session.commit()
    login("reviewer")
    html = text_of(client.get(f"/review/revisions/{rev_id}"))
    assert "(573) 555-0188" in html and "Front desk" in html
    assert f"({old_phone[2:5]}) {old_phone[5:8]}-{old_phone[8:]}" in html
    assert "New front-desk number after our phone system change." in html
    assert "+15735550188" not in html  # people read numbers, not E.164 or JSON


def test_new_listing_shows_every_field(client, login):
    from models import ListingRevision

    rev_id = db.session.scalar(
        db.select(ListingRevision.id)
        .join(Listing, Listing.id == ListingRevision.listing_id)
        .where(Listing.live_revision_id.is_(None), ListingRevision.state == "submitted")
    )
    db.session.commit()
    login("reviewer")
    html = text_of(client.get(f"/review/revisions/{rev_id}"))
    assert (
        "Every field of the new listing" in html and "Maximum stay" in html and "72 hours" in html
    )


def test_field_comment_and_empty_comment(client, login, send):
    rev_id = pending_bluestem().id
    db.session.commit()
    login("reviewer")
    page = f"/review/revisions/{rev_id}"
    resp = send(client, f"{page}/comments", {"field": "phones", "body": ""}, form_url=page)
    assert resp.status_code == 422 and 'id="body-error"' in text_of(resp)
    resp = send(
        client,
        f"{page}/comments",
        {"field": "hours", "body": "Are you open on holidays?"},
        form_url=page,
    )
    assert resp.status_code == 302
    c = db.session.scalar(db.select(ReviewComment).where(ReviewComment.revision_id == rev_id))
    assert c.field == "hours"
    html = text_of(client.get(page))
    assert "Comments on fields that did not change" in html and "Are you open on holidays?" in html
    assert (
        db.session.scalar(
            db.select(AuditEvent)
            .where(AuditEvent.action == "comment.add")
            .order_by(AuditEvent.id.desc())
        ).after["field"]
        == "hours"
    )


def cert_form(cert, **over):
    data = {
        "lock_version": cert.lock_version,
        "status": "certified",
        "certificate_number": "DMH-2026-77",
        "effective_on": date.today().isoformat(),
        "expires_on": (date.today() + timedelta(days=730)).isoformat(),
        "conditions": "",
        "note": "",
    }
    data.update(over)
    return data


def test_certification_decision_and_its_errors(client, login, send):
    cert = pending_certification()
    cert_id, form = cert.id, cert_form(cert)
    db.session.commit()
    login("reviewer")
    page = f"/review/certifications/{cert_id}"
    resp = send(client, f"{page}/decision", {**form, "certificate_number": ""}, form_url=page)
    assert resp.status_code == 422 and 'id="certificate_number-error"' in text_of(resp)
    resp = send(client, f"{page}/decision", {**form, "expires_on": "2000-01-01"}, form_url=page)
    assert resp.status_code == 422 and "on or after the effective date" in text_of(resp)
    resp = send(client, f"{page}/decision", {**form, "status": "revoked"}, form_url=page)
    assert resp.status_code == 422 and "Give a reason" in text_of(resp)
    resp = send(client, f"{page}/decision", form, form_url=page)
    assert resp.status_code == 302
    cert = db.session.get(Certification, cert_id)
    assert (
        cert.status == "certified" and cert.certificate_number == "DMH-2026-77" and cert.verified_at
    )
    # a second decision sent from the page opened before the first one is refused
    send(client, f"{page}/decision", {**form, "status": "provisional"}, form_url=page)
    assert db.session.get(Certification, cert_id).status == "certified"
    assert "changed this certification after you opened it" in text_of(client.get(page))


def test_deemed_status_follows_the_accreditation(client, login, send, users):
    org = pending_certification().organization
    cert = wf.submit_certification(
        org,
        "bhcc",
        users.provider,
        basis="deemed",
        accrediting_body="CARF",
        accreditation_expires_on=date.today() + timedelta(days=300),
    )
    db.session.commit()
    cert_id, form = cert.id, cert_form(cert, expires_on="")
    login("reviewer")
    page = f"/review/certifications/{cert_id}"
    assert send(client, f"{page}/decision", form, form_url=page).status_code == 302
    cert = db.session.get(Certification, cert_id)
    assert cert.expires_on is None and cert.effective_expiry == date.today() + timedelta(days=300)
    assert "(follows the accreditation)" in text_of(client.get(page))


def add_document(app, cert) -> Document:
    body = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    name = hashlib.sha256(body + str(cert.id).encode()).hexdigest()[:32]
    Path(app.config["UPLOAD_DIR"]).mkdir(parents=True, exist_ok=True)
    (Path(app.config["UPLOAD_DIR"]) / name).write_bytes(body)
    doc = Document(
        organization_id=cert.organization_id,
        certification_id=cert.id,
        type_code="fire_inspection"
        if db.session.scalar(
            db.select(db.text("count(*)"))
            .select_from(db.text("document_type"))
            .where(db.text("code = 'fire_inspection'"))
        )
        else db.session.scalar(
            db.select(db.text("code")).select_from(db.text("document_type")).limit(1)
        ),
        original_filename="fire inspection.pdf",
        storage_name=name,
        content_type="application/pdf",
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
    )
    db.session.add(doc)
    db.session.commit()
    return doc


def test_documents_inline_only_framed_by_this_site(app, client, login, send):
    cert = pending_certification()
    doc = add_document(app, cert)
    cert_id, doc_id = cert.id, doc.id
    login("reviewer")
    page = f"/review/certifications/{cert_id}"
    html = client.get(f"{page}?doc={doc_id}").get_data(as_text=True)
    assert f'src="/review/documents/{doc_id}?inline=1"' in html
    with client.get(f"/review/documents/{doc_id}?inline=1") as inline:
        assert inline.status_code == 200 and inline.data.startswith(b"%PDF")
        assert inline.headers["Content-Disposition"].startswith("inline")
        # framed by this site only, and the file itself may load or run nothing
        csp = inline.headers["Content-Security-Policy"]
        assert "frame-ancestors 'self'" in csp and "default-src 'none'" in csp
        assert "script-src" not in csp
        assert inline.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert inline.headers["X-Content-Type-Options"] == "nosniff"
        assert inline.headers["Cache-Control"] == "private, no-store"
    with client.get(f"/review/documents/{doc_id}") as download:
        # the same headers as the portal's download: one home for serving documents
        assert download.headers["Content-Disposition"].startswith("attachment")
        assert download.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
        assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in client.get(page).headers["Content-Security-Policy"]
    # a storage name that is not ours is never joined to a path, even where a file exists
    outside = Path(app.config["UPLOAD_DIR"]).parent / "outside.pdf"
    outside.write_bytes(b"%PDF-1.4 not an upload")
    db.session.get(Document, doc_id).storage_name = "../outside.pdf"
    db.session.commit()
    assert client.get(f"/review/documents/{doc_id}").status_code == 404
    assert client.get(f"/review/documents/{doc_id}?inline=1").status_code == 404

    resp = send(
        client,
        f"/review/documents/{doc_id}/verify",
        {f"doc{doc_id}-accepted": "no", f"doc{doc_id}-reason": ""},
        form_url=page,
    )
    assert resp.status_code == 422 and "Say why the document is rejected" in text_of(resp)
    send(
        client,
        f"/review/documents/{doc_id}/verify",
        {f"doc{doc_id}-accepted": "no", f"doc{doc_id}-reason": "Expired in 2024."},
        form_url=page,
    )
    doc = db.session.get(Document, doc_id)
    assert doc.status == "rejected" and doc.status_reason == "Expired in 2024."


def test_suspend_reinstate_history_and_compare(client, login, send, make_revision):
    rev = make_revision("approved")
    listing_id, rev_id = rev.listing_id, rev.id
    old_id = db.session.scalar(
        db.select(db.func.min(db.text("id")))
        .select_from(db.text("listing_revision"))
        .where(db.text(f"listing_id = {listing_id}"))
    )
    db.session.commit()
    login("reviewer")
    page = f"/review/listings/{listing_id}"
    send(client, f"{page}/suspend", {"reason": ""}, form_url=page)
    assert db.session.get(Listing, listing_id).is_suspended is False
    send(client, f"{page}/suspend", {"reason": "Number disconnected."}, form_url=page)
    assert db.session.get(Listing, listing_id).is_suspended is True
    html = text_of(client.get(page))
    assert (
        "Number disconnected." in html and "listing.suspend" in html and "revision.approve" in html
    )
    send(client, f"{page}/reinstate", {"reason": ""}, form_url=page)
    assert db.session.get(Listing, listing_id).is_suspended is False
    diff = text_of(client.get(f"{page}/compare?a={old_id}&b={rev_id}"))
    assert "Phone numbers" in diff and "(573) 555-0111" in diff
    assert client.get(f"{page}/compare?a={old_id}&b=999999").status_code == 400
