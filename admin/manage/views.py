"""DMH administration: the admin's landing page."""

from __future__ import annotations

from flask import render_template

from models import Listing, Organization, User, db

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
    return render_template("manage/index.html", counts=counts)
