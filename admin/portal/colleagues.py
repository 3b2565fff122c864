"""Provider organization administrators: invite colleagues, remove them, and see who changed
what in their organization."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from forms.people import InviteColleagueForm
from models import AuditEvent, User, WorkflowError, can, db
from models.organizations import deactivate_user, invite_user
from tasks.mail import relay

from ..access import requires
from ..mailing import queue_invitation
from ..operations import refuse
from . import bp

HISTORY_LIMIT = 100


def _org():
    """The signed-in provider's organization, if they administer it (else 403)."""
    org = current_user.organization
    if not can(current_user, "invite", org):
        abort(403)
    return org


@bp.get("/colleagues")
@requires("use_portal")
def colleagues():
    """Every member sees who is in the organization; only its administrators invite and remove."""
    org = current_user.organization
    people = db.session.scalars(
        db.select(User)
        .where(User.organization_id == org.id)
        .order_by(User.is_active.desc(), User.email)
    ).all()
    return render_template(
        "portal/colleagues.html",
        org=org,
        people=people,
        form=InviteColleagueForm(),
        remove_form=FlaskForm(),
    )


@bp.post("/colleagues")
@requires("use_portal")
def colleague_invite():
    org = _org()
    form = InviteColleagueForm()
    if form.validate_on_submit():
        try:
            user, token = invite_user(
                email=form.email.data,
                name=form.name.data,
                role="provider",
                organization=org,
                is_org_admin=form.is_org_admin.data,
                by=current_user,
                ttl=timedelta(hours=int(current_app.config["INVITATION_TTL_HOURS"])),
            )
        except WorkflowError as exc:
            # the same words whether the address belongs to this organization or another
            form.email.errors.append(
                str(exc)
                if "already" not in str(exc)
                else "This e-mail already has an account. Ask DMH to move it to your organization."
            )
        else:
            mail = queue_invitation(user, token, current_user)
            db.session.commit()
            relay(mail)
            flash(f"Invitation sent to {user.email}.", "success")
            return redirect(url_for("portal.colleagues"))
    people = db.session.scalars(
        db.select(User).where(User.organization_id == org.id).order_by(User.email)
    ).all()
    return render_template(
        "portal/colleagues.html", org=org, people=people, form=form, remove_form=FlaskForm()
    ), 400


@bp.post("/colleagues/<int:user_id>/remove")
@requires("use_portal")
def colleague_remove(user_id: int):
    org = _org()
    user = db.session.get(User, user_id)
    if user is None or user.organization_id != org.id:
        abort(404)
    if not can(current_user, "remove_colleague", user):
        abort(403)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        deactivate_user(user, by=current_user, action="user.removed_by_org_admin")
    except WorkflowError as exc:
        refuse(exc)
    else:
        db.session.commit()
        flash(f"{user.email} is removed from {org.name} and signed out.", "success")
    return redirect(url_for("portal.colleagues"))


@bp.get("/colleagues/history")
@requires("use_portal")
def colleague_history():
    org = _org()
    events = db.session.scalars(
        db.select(AuditEvent)
        .where(AuditEvent.organization_id == org.id)
        .order_by(AuditEvent.id.desc())
        .limit(HISTORY_LIMIT)
    ).all()
    return render_template(
        "portal/colleagues_history.html", org=org, events=events, limit=HISTORY_LIMIT
    )
