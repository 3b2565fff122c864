"""Provider portal: the organization's dashboard."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user
from sqlalchemy.orm import selectinload

from models import Certification, Listing, db, eligibility, today
from models.eligibility import CertificationIndex

from ..access import requires
from . import bp


@bp.get("/")
@requires("use_portal")
def dashboard():
    org = current_user.organization
    listings = db.session.scalars(
        db.select(Listing)
        .where(Listing.organization_id == org.id)
        .options(selectinload(Listing.live_revision))
        .order_by(Listing.id)
    ).all()
    certs = CertificationIndex([org.id])
    day = today()
    rows = [(lst, eligibility(lst, day, certs)) for lst in listings]
    certifications = db.session.scalars(
        db.select(Certification).where(Certification.organization_id == org.id).order_by(Certification.id)
    ).all()
    return render_template("portal/dashboard.html", org=org, rows=rows, certifications=certifications)
