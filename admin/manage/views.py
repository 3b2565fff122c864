"""DMH administration: the admin's landing page."""

from __future__ import annotations

from flask import render_template

from models import AuditEvent, Listing, Organization, User, db
from models.reference import reference_version

from ..access import requires
from . import bp


@bp.get("/")
@requires("manage")
def index():
    counts = {
        "organizations": db.session.scalar(db.select(db.func.count(Organization.id))),
        "users": db.session.scalar(db.select(db.func.count(User.id))),
        "listings": db.session.scalar(db.select(db.func.count(Listing.id))),
    }
    recent = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(8)).all()
    return render_template(
        "manage/index.html", counts=counts, recent=recent, reference_version=reference_version()
    )
