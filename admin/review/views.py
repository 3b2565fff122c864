"""DMH review: the reviewer's landing page."""

from __future__ import annotations

from flask import render_template

from models import Certification, ListingRevision, db

from ..access import requires
from . import bp


@bp.get("/")
@requires("review")
def index():
    revision_counts = dict(
        db.session.execute(
            db.select(ListingRevision.state, db.func.count()).group_by(ListingRevision.state)
        ).all()
    )
    certification_counts = dict(
        db.session.execute(
            db.select(Certification.status, db.func.count()).group_by(Certification.status)
        ).all()
    )
    return render_template(
        "review/index.html", revision_counts=revision_counts, certification_counts=certification_counts
    )
