"""The e-mailed re-verification link (models/listings/verification.py): /verify?t=<token>.

The token travels in the query string, which the access logs leave out (Procfile and
deploy/nginx.conf log the path only), and is stored only as a hash."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_wtf import FlaskForm

from models import db
from models.listings import (
    FIELD_LABELS,
    LinkOutcome,
    LinkRefused,
    confirm_by_link,
    display_value,
    mark_opened,
    open_link,
    something_changed,
)
from models.reference import county_names

from . import bp

SHOWN = ("phones", "address", "hours", "counties")


def refused(exc: LinkRefused):
    db.session.rollback()
    return render_template(
        "auth/verify_refused.html", title=exc.title, detail=exc.detail
    ), exc.status


@bp.route("/verify", methods=["GET", "POST"])
def verify_listing():
    token = request.values.get("t", "")
    form = FlaskForm()
    try:
        if request.method == "POST":
            if not form.validate_on_submit():
                return refused(
                    LinkRefused(
                        "The page was open too long",
                        "Open the link from the e-mail again and choose once more.",
                        400,
                    )
                )
            if request.form.get("answer") == LinkOutcome.CHANGED:
                listing = something_changed(token)
                db.session.commit()
                return redirect(
                    url_for(
                        "auth.login", next=url_for("portal.edit_listing", listing_id=listing.id)
                    )
                )
            listing = confirm_by_link(token)
            db.session.commit()
            return render_template("auth/verify_done.html", listing=listing)
        link = open_link(token)
        mark_opened(link)
        db.session.commit()
    except LinkRefused as exc:
        return refused(exc)
    data = link.listing.live_revision.data
    names = county_names()
    facts = [(FIELD_LABELS[key], display_value(key, data, names)) for key in SHOWN]
    return render_template(
        "auth/verify.html", link=link, listing=link.listing, facts=facts, form=form, token=token
    )
