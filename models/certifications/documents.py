"""Documents attached to a certification: the row for a stored file and its audit event.
The bytes themselves are checked and written by the app (admin/documents.py); this module
records them, so every upload path writes the same row and the same audit entry."""

from __future__ import annotations

from datetime import date

from models import audit
from models.base import WorkflowError, db
from models.certifications.certification import Certification, CertificationStatus, Document
from models.organizations.user import User


def attach_document(
    cert: Certification,
    *,
    type_code: str,
    original_filename: str,
    storage_name: str,
    content_type: str,
    size: int,
    sha256: str,
    by: User,
    issuer: str = "",
    issued_on: date | None = None,
    expires_on: date | None = None,
) -> Document:
    if not cert.is_open:  # documents are added while DMH has not decided the certification
        raise WorkflowError(
            f"This certification is {CertificationStatus(cert.status).label.lower()}; documents can be added only while DMH is deciding it. "
            "Submit a renewal to send new documents.",
            current_state=cert.status,
        )
    if issued_on and expires_on and expires_on < issued_on:
        raise WorkflowError("The document expires before it was issued.")
    doc = Document(
        organization_id=cert.organization_id,
        certification_id=cert.id,
        type_code=type_code,
        original_filename=original_filename,
        storage_name=storage_name,
        content_type=content_type,
        size=size,
        sha256=sha256,
        issuer=issuer,
        issued_on=issued_on,
        expires_on=expires_on,
        uploaded_by_id=by.id,
    )
    db.session.add(doc)
    db.session.flush()
    audit.record(
        "document.upload",
        actor=by,
        target=doc,
        organization_id=cert.organization_id,
        after={
            "certification_id": cert.id,
            "type": type_code,
            "filename": original_filename,
            "content_type": content_type,
            "size": size,
            "sha256": sha256,
        },
    )
    return doc
