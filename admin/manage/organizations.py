"""DMH admins: provider organizations (list, search, export, create, edit, deactivate)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_

from forms.manage import OrganizationForm, ReasonForm
from models import AuditEvent, Listing, Organization, OrganizationStatus, User, WorkflowError, db
from models.organizations import (
    create_organization,
    deactivate_organization,
    reactivate_organization,
    update_organization,
)

from ..access import load_or_404, requires
from ..operations import refuse
from . import bp
from .listing_tools import csv_response, keyset_page


def _filtered():
    q = db.select(Organization)
    term = request.args.get("q", "").strip()
    if term:
        like = f"%{term.lower()}%"
        q = q.where(
            or_(
                func.lower(Organization.legal_name).like(like),
                func.lower(Organization.dba).like(like),
                Organization.ein == term,
                Organization.npi == term,
            )
        )
    status = request.args.get("status", "")
    if status in OrganizationStatus.values():
        q = q.where(Organization.status == status)
    return q


@bp.get("/organizations")
@requires("manage")
def organizations():
    rows, next_after = keyset_page(_filtered(), Organization, func.lower(Organization.legal_name))
    ids = [o.id for o in rows]
    counts = (
        dict(
            db.session.execute(
                db.select(Listing.organization_id, func.count(Listing.id))
                .where(Listing.organization_id.in_(ids))
                .group_by(Listing.organization_id)
            ).all()
        )
        if ids
        else {}
    )
    users = (
        dict(
            db.session.execute(
                db.select(User.organization_id, func.count(User.id))
                .where(User.organization_id.in_(ids))
                .group_by(User.organization_id)
            ).all()
        )
        if ids
        else {}
    )
    return render_template(
        "manage/organizations.html",
        rows=rows,
        next_after=next_after,
        counts=counts,
        users=users,
        q=request.args.get("q", ""),
        status=request.args.get("status", ""),
    )


@bp.get("/organizations.csv")
@requires("manage")
def organizations_csv():
    orgs = db.session.scalars(
        _filtered().order_by(func.lower(Organization.legal_name), Organization.id)
    ).all()
    header = [
        "id",
        "uuid",
        "legal_name",
        "dba",
        "ein",
        "npi",
        "website",
        "email",
        "phone",
        "contact_name",
        "status",
        "deactivated_at",
        "created_at",
    ]
    return csv_response(
        "organizations.csv", header, ([getattr(o, h) for h in header] for o in orgs)
    )


@bp.route("/organizations/new", methods=["GET", "POST"])
@requires("manage")
def organization_new():
    form = OrganizationForm()
    if form.validate_on_submit():
        try:
            org = create_organization(form.values(), by=current_user)
        except WorkflowError as exc:
            form.legal_name.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"{org.name} is created. Invite its first user now.", "success")
            return redirect(url_for("manage.organization", org_id=org.id))
    return render_template("manage/organization_form.html", form=form, org=None)


@bp.get("/organizations/<int:org_id>")
@requires("manage")
def organization(org_id: int):
    org = load_or_404(Organization, org_id, "edit")
    people = db.session.scalars(
        db.select(User).where(User.organization_id == org.id).order_by(User.email)
    ).all()
    listings = db.session.scalars(
        db.select(Listing).where(Listing.organization_id == org.id).order_by(Listing.id)
    ).all()
    events = db.session.scalars(
        db.select(AuditEvent)
        .where(AuditEvent.organization_id == org.id)
        .order_by(AuditEvent.id.desc())
        .limit(10)
    ).all()
    return render_template(
        "manage/organization.html",
        org=org,
        people=people,
        listings=listings,
        events=events,
        reason_form=ReasonForm(),
    )


@bp.route("/organizations/<int:org_id>/edit", methods=["GET", "POST"])
@requires("manage")
def organization_edit(org_id: int):
    org = load_or_404(Organization, org_id, "edit")
    form = OrganizationForm(obj=org)
    if form.validate_on_submit():
        try:
            changes = update_organization(org, form.values(), by=current_user)
        except WorkflowError as exc:
            form.legal_name.errors.append(str(exc))
        else:
            db.session.commit()
            flash("Saved." if changes else "Nothing changed.", "success" if changes else "info")
            return redirect(url_for("manage.organization", org_id=org.id))
    return render_template("manage/organization_form.html", form=form, org=org)


@bp.post("/organizations/<int:org_id>/deactivate")
@requires("manage")
def organization_deactivate(org_id: int):
    org = load_or_404(Organization, org_id, "edit")
    form = ReasonForm()
    if not form.validate_on_submit():
        flash("The reason is too long.", "danger")
        return redirect(url_for("manage.organization", org_id=org.id))
    try:
        marked = deactivate_organization(org, by=current_user, reason=form.reason.data or "")
    except WorkflowError as exc:
        refuse(exc)
        return redirect(url_for("manage.organization", org_id=org.id))
    db.session.commit()
    flash(
        f"{org.name} is deactivated: its users are signed out and cannot sign in, and its "
        f"{marked} listing{'s' if marked != 1 else ''} leave the next release.",
        "success",
    )
    return redirect(url_for("manage.organization", org_id=org.id))


@bp.post("/organizations/<int:org_id>/reactivate")
@requires("manage")
def organization_reactivate(org_id: int):
    org = load_or_404(Organization, org_id, "edit")
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            reactivate_organization(org, by=current_user)
        except WorkflowError as exc:
            refuse(exc)
        else:
            db.session.commit()
            flash(
                f"{org.name} is active again. Its approved listings return in the next release.",
                "success",
            )
    return redirect(url_for("manage.organization", org_id=org.id))
