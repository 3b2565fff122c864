"""Certification applications and document uploads with real files: checked by content,
stored under a random name outside the static folder with its sha256, downloadable only by
the organization (and DMH staff) as a sandboxed attachment. Each bad file gets a clear
message and nothing is stored."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from models import AuditEvent, Certification, Document, Listing, db
from models.listings import workflow as wf
from tests.portal.conftest import make_pdf, make_png, page_errors, read_form


@pytest.fixture
def pending_cert(app, bluestem, users):
    bhcc = db.session.scalars(
        db.select(Listing).where(
            Listing.organization_id == bluestem.id, Listing.service_type_code == "bhcc"
        )
    ).all()
    cert = wf.submit_certification(bluestem, "bhcc", users.provider, listings=bhcc, note="Renewal")
    db.session.commit()
    return cert


def upload(client, cert, data: bytes, name: str, **extra):
    page = client.get(f"/portal/certifications/{cert.id}").get_data(as_text=True)
    form = read_form(page, "upload-form")
    form["type_code"] = extra.pop("type_code", "application")
    for k, v in extra.items():
        form[k] = v
    payload = dict(form.items())
    payload["file"] = FileStorage(
        io.BytesIO(data), filename=name, content_type="application/octet-stream"
    )
    # encoded in memory: the test client would spool large bodies to a temp file it never closes
    boundary, body = encode_multipart(payload)
    return client.post(
        f"/portal/certifications/{cert.id}/documents",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def stored_files(app) -> set[str]:
    return {p.name for p in Path(app.config["UPLOAD_DIR"]).iterdir()}


def test_submit_a_certification_with_deemed_status(provider, bluestem):
    page = provider.get("/portal/certifications/new").get_data(as_text=True)
    form = read_form(page, "cert-form")
    form["type_code"] = "sobering"
    form["basis"] = "deemed"
    resp = provider.post("/portal/certifications/new", data=form)
    assert resp.status_code == 422
    errors = page_errors(resp.get_data(as_text=True))
    assert any("accrediting body" in e for e in errors) and any(
        "accreditation expires" in e for e in errors
    )
    sobering = db.session.scalar(
        db.select(Listing).where(
            Listing.organization_id == bluestem.id, Listing.service_type_code == "sobering_center"
        )
    )
    for key, value in {
        "accrediting_body": "CARF",
        "accreditation_number": "DEMO-CARF-77",
        "accreditation_effective_on": "2026-01-01",
        "accreditation_expires_on": "2029-01-01",
        "note": "Deemed via CARF.",
    }.items():
        form[key] = value
    form.setlist("listings", [str(sobering.id)])
    resp = provider.post("/portal/certifications/new", data=form)
    assert resp.status_code == 302
    cert = db.session.scalars(
        db.select(Certification)
        .where(Certification.organization_id == bluestem.id)
        .order_by(Certification.id.desc())
    ).first()
    assert (cert.status, cert.basis, cert.accrediting_body, [lst.id for lst in cert.listings]) == (
        "submitted",
        "deemed",
        "CARF",
        [sobering.id],
    )
    assert str(cert.accreditation_expires_on) == "2029-01-01"


def test_renewal_is_prefilled_and_linked(provider, bluestem):
    old = db.session.scalar(
        db.select(Certification).filter_by(organization_id=bluestem.id, type_code="bhcc")
    )
    page = provider.get(f"/portal/certifications/new?renews={old.id}").get_data(as_text=True)
    form = read_form(page, "cert-form")
    assert form["type_code"] == "bhcc" and form["renews_id"] == str(old.id)
    assert set(form.getlist("listings")) == {str(lst.id) for lst in old.listings}
    assert provider.post("/portal/certifications/new", data=form).status_code == 302
    new = db.session.scalars(
        db.select(Certification)
        .where(Certification.organization_id == bluestem.id)
        .order_by(Certification.id.desc())
    ).first()
    assert new.renews_id == old.id and new.status == "submitted"
    form["type_code"] = "ccbho"  # a renewal must keep the type
    resp = provider.post("/portal/certifications/new", data=form)
    assert resp.status_code == 422 and any(
        "same certification" in e for e in page_errors(resp.get_data(as_text=True))
    )


def test_withdraw_a_pending_certification(provider, pending_cert):
    page = provider.get(f"/portal/certifications/{pending_cert.id}").get_data(as_text=True)
    form = read_form(page, f"/portal/certifications/{pending_cert.id}/withdraw")
    assert (
        provider.post(f"/portal/certifications/{pending_cert.id}/withdraw", data=form).status_code
        == 302
    )
    db.session.expire_all()
    assert pending_cert.status == "withdrawn"


def test_a_real_pdf_is_stored_with_its_hash_and_served_as_a_sandboxed_attachment(
    app, provider, pending_cert, users
):
    pdf = make_pdf(pages=2)
    before = stored_files(app)
    resp = upload(provider, pending_cert, pdf, "Signed application.pdf", issuer="Bluestem board")
    assert resp.status_code == 302, page_errors(resp.get_data(as_text=True))
    doc = db.session.scalar(db.select(Document).filter_by(certification_id=pending_cert.id))
    assert (doc.original_filename, doc.content_type, doc.size, doc.sha256) == (
        "Signed application.pdf",
        "application/pdf",
        len(pdf),
        hashlib.sha256(pdf).hexdigest(),
    )
    assert doc.uploaded_by_id == users.provider.id and doc.issuer == "Bluestem board"
    new = stored_files(app) - before
    assert new == {doc.storage_name} and doc.storage_name != doc.original_filename
    path = Path(app.config["UPLOAD_DIR"]) / doc.storage_name
    assert path.read_bytes() == pdf
    assert Path(app.static_folder).resolve() not in path.resolve().parents
    event = db.session.scalars(
        db.select(AuditEvent).filter_by(action="document.upload").order_by(AuditEvent.id.desc())
    ).first()
    assert (
        event.object_id == str(doc.id)
        and event.after["sha256"] == doc.sha256
        and event.actor_id == users.provider.id
    )
    resp = provider.get(f"/portal/documents/{doc.id}")
    body = resp.get_data()
    resp.close()
    assert resp.status_code == 200 and body == pdf
    assert resp.headers["Content-Type"] == "application/pdf"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Security-Policy"].startswith("sandbox")
    assert "Signed application.pdf" in provider.get(
        f"/portal/certifications/{pending_cert.id}"
    ).get_data(as_text=True)


def test_a_png_scan_is_accepted(provider, pending_cert):
    assert (
        upload(
            provider, pending_cert, make_png(), "fire-inspection.png", type_code="fire_inspection"
        ).status_code
        == 302
    )


@pytest.mark.parametrize(
    "data, name, message",
    [
        (
            b"Minutes of the board meeting, typed as text.\n" * 20,
            "minutes.pdf",
            "Only PDF documents and PNG or JPEG scans",
        ),
        (b"", "empty.pdf", "The file is empty."),
        (None, "../../etc/passwd.pdf", "without a folder path"),
        (None, "C:\\scans\\application.pdf", "without a folder path"),
        ("encrypted", "locked.pdf", "password-protected"),
        (b"%PDF-1.4\nthis is not really a PDF", "broken.pdf", "cannot be read as one"),
        ("png", "scan.pdf", "Rename it to end in .png"),
    ],
)
def test_bad_files_get_a_clear_error_and_nothing_is_stored(
    app, provider, pending_cert, data, name, message
):
    if data is None:
        data = make_pdf()
    elif data == "encrypted":
        data = make_pdf(password="secret")
    elif data == "png":
        data = make_png()
    before = stored_files(app)
    resp = upload(provider, pending_cert, data, name)
    assert resp.status_code == 422
    errors = page_errors(resp.get_data(as_text=True))
    assert any(message in e for e in errors), errors
    assert 'id="file-error"' in resp.get_data(as_text=True)
    assert stored_files(app) == before
    assert (
        db.session.scalar(
            db.select(db.func.count(Document.id)).filter_by(certification_id=pending_cert.id)
        )
        == 0
    )


@pytest.fixture
def small_upload_limit(app):
    saved = app.config["MAX_UPLOAD_MB"], app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_UPLOAD_MB"] = 1
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024 + 64 * 1024
    yield
    app.config["MAX_UPLOAD_MB"], app.config["MAX_CONTENT_LENGTH"] = saved


def test_oversize_files_are_refused(app, provider, pending_cert, small_upload_limit):
    before = stored_files(app)
    just_over = (
        make_pdf() + b"%" + b"x" * (1024 * 1024)
    )  # over MAX_UPLOAD_MB, under the request limit
    resp = upload(provider, pending_cert, just_over, "big.pdf")
    assert resp.status_code == 413
    assert any("larger than 1 MB" in e for e in page_errors(resp.get_data(as_text=True)))
    far_over = (
        make_pdf() + b"%" + b"x" * (3 * 1024 * 1024)
    )  # over the whole request limit: refused unread
    resp = upload(provider, pending_cert, far_over, "huge.pdf")
    # the certification page again, the message next to the file field, 413 as documented
    assert resp.status_code == 413
    page = resp.get_data(as_text=True)
    assert any("larger than 1 MB, so it was not uploaded" in e for e in page_errors(page))
    assert 'id="file-error"' in page
    assert stored_files(app) == before
    assert (
        db.session.scalar(
            db.select(db.func.count(Document.id)).filter_by(certification_id=pending_cert.id)
        )
        == 0
    )


def test_documents_only_while_dmh_decides(provider, bluestem):
    certified = db.session.scalar(
        db.select(Certification).filter_by(organization_id=bluestem.id, type_code="ccbho")
    )
    assert certified.status == "certified"
    page = provider.get(f"/portal/certifications/{certified.id}").get_data(as_text=True)
    assert 'class="upload-form"' not in page and "submit a renewal" in page
    token = read_form(
        page,
        "cert-form"
        if 'class="cert-form"' in page
        else f"/portal/certifications/{certified.id}/withdraw"
        if "withdraw" in page
        else "d-inline",
    )["csrf_token"]
    resp = provider.post(
        f"/portal/certifications/{certified.id}/documents",
        data={
            "csrf_token": token,
            "type_code": "application",
            "file": (io.BytesIO(make_pdf()), "a.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 403


def test_staff_may_download_through_the_shared_helper(app, pending_cert, users):
    from admin import documents as files
    from models import can
    from models.certifications import attach_document

    stored = files.write_file(make_pdf())
    doc = attach_document(
        pending_cert,
        type_code="application",
        original_filename="a.pdf",
        storage_name=stored.storage_name,
        content_type="application/pdf",
        size=stored.size,
        sha256=stored.sha256,
        by=users.provider,
    )
    assert can(users.reviewer, "download", doc) and can(users.admin, "download", doc)
    with app.test_request_context():
        resp = files.send_document(doc)
        resp.direct_passthrough = False
        assert resp.get_data() == (Path(app.config["UPLOAD_DIR"]) / doc.storage_name).read_bytes()
        assert resp.headers["Content-Security-Policy"].startswith("sandbox")
        resp.close()
