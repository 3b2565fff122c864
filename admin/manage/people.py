"""DMH admins: people (list, search, export, invite, change role/organization, deactivate,
reset a second factor with re-authentication)."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import func, or_

from forms.manage import InviteForm, MembershipForm, ReasonForm, ReauthForm, as_choices
from models import (
    LoginAttempt,
    Organization,
    OrganizationStatus,
    Role,
    User,
    UserSession,
    WorkflowError,
    can,
    db,
    record,
    utcnow,
)
from models.organizations import (
    change_membership,
    deactivate_user,
    invite_user,
    login_blocked_until,
    reactivate_user,
    rename_user,
    resend_invitation,
    reset_second_factor,
)
from tasks.mail import relay

from ..access import requires
from ..auth.views import _check_code
from ..mailing import queue_invitation
from ..operations import refuse
from . import bp
from .listing_tools import csv_response, keyset_page

FRESH_SIGN_IN = timedelta(minutes=5)


def _load_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    if not can(current_user, "manage", user):
        abort(403)
    return user


def _org_choices():
    orgs = db.session.scalars(
        db.select(Organization)
        .where(Organization.status == OrganizationStatus.ACTIVE.value)
        .order_by(func.lower(Organization.legal_name))
    ).all()
    return as_choices([("", "— none (DMH staff) —")] + [(str(o.id), o.legal_name) for o in orgs])


def _filtered():
    q = db.select(User)
    term = request.args.get("q", "").strip().lower()
    if term:
        q = q.where(
            or_(func.lower(User.email).like(f"%{term}%"), func.lower(User.name).like(f"%{term}%"))
        )
    role = request.args.get("role", "")
    if role in Role.values():
        q = q.where(User.role == role)
    status = request.args.get("status", "")
    if status == "active":
        q = q.where(User.is_active.is_(True))
    elif status == "inactive":
        q = q.where(User.is_active.is_(False))
    elif status == "invited":
        q = q.where(User.password_hash.is_(None), User.is_active.is_(True))
    org = request.args.get("organization_id", "")
    if org.isdigit():
        q = q.where(User.organization_id == int(org))
    return q


@bp.get("/people")
@requires("manage")
def people():
    rows, next_after = keyset_page(_filtered(), User, User.email)
    return render_template(
        "manage/people.html", rows=rows, next_after=next_after, args=request.args
    )


@bp.get("/people.csv")
@requires("manage")
def people_csv():
    users = db.session.scalars(_filtered().order_by(User.email, User.id)).unique().all()
    header = [
        "id",
        "email",
        "name",
        "role",
        "organization_id",
        "organization",
        "is_org_admin",
        "is_active",
        "has_password",
        "has_second_factor",
        "last_login_at",
        "created_at",
    ]
    return csv_response(
        "people.csv",
        header,
        (
            [
                u.id,
                u.email,
                u.name,
                u.role,
                u.organization_id,
                u.organization.legal_name if u.organization else "",
                u.is_org_admin,
                u.is_active,
                bool(u.password_hash),
                u.totp_enabled_at is not None,
                u.last_login_at,
                u.created_at,
            ]
            for u in users
        ),
    )


@bp.route("/people/invite", methods=["GET", "POST"])
@requires("manage")
def person_invite():
    form = InviteForm()
    form.organization_id.choices = _org_choices()
    if request.method == "GET" and request.args.get("organization_id", "").isdigit():
        form.organization_id.data = int(request.args["organization_id"])
        form.role.data = Role.PROVIDER.value
    if form.validate_on_submit():
        org = (
            db.session.get(Organization, form.organization_id.data)
            if form.organization_id.data
            else None
        )
        try:
            user, token = invite_user(
                email=form.email.data,
                name=form.name.data,
                role=form.role.data,
                organization=org,
                is_org_admin=form.is_org_admin.data,
                by=current_user,
                ttl=timedelta(hours=int(current_app.config["INVITATION_TTL_HOURS"])),
            )
        except WorkflowError as exc:
            form.email.errors.append(str(exc))
        else:
            mail = queue_invitation(user, token, current_user)
            db.session.commit()
            relay(mail)
            flash(f"Invitation sent to {user.email}.", "success")
            return redirect(url_for("manage.person", user_id=user.id))
    return render_template("manage/person_invite.html", form=form)


def _sessions(user: User):
    return db.session.scalars(
        db.select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .order_by(UserSession.created_at.desc())
    ).all()


@bp.get("/people/<int:user_id>")
@requires("manage")
def person(user_id: int):
    user = _load_user(user_id)
    form = MembershipForm(obj=user)
    form.organization_id.choices = _org_choices()
    return render_template(
        "manage/person.html",
        user=user,
        form=form,
        sessions=_sessions(user),
        reason_form=ReasonForm(),
    )


@bp.post("/people/<int:user_id>/edit")
@requires("manage")
def person_edit(user_id: int):
    user = _load_user(user_id)
    form = MembershipForm()
    form.organization_id.choices = _org_choices()
    if form.validate_on_submit():
        org = (
            db.session.get(Organization, form.organization_id.data)
            if form.organization_id.data
            else None
        )
        try:
            renamed = rename_user(user, form.name.data, by=current_user)
            changed = change_membership(
                user,
                role=form.role.data,
                organization=org,
                is_org_admin=form.is_org_admin.data,
                by=current_user,
            )
        except WorkflowError as exc:
            db.session.rollback()
            form.role.errors.append(str(exc))
        else:
            db.session.commit()
            if changed:
                flash(
                    f"Saved. {user.email} is signed out everywhere; the new rights apply from their next sign-in.",
                    "success",
                )
            else:
                flash("Saved." if renamed else "Nothing changed.", "success" if renamed else "info")
            return redirect(url_for("manage.person", user_id=user.id))
    return render_template(
        "manage/person.html",
        user=user,
        form=form,
        sessions=_sessions(user),
        reason_form=ReasonForm(),
    ), 400


def _simple_action(user_id: int, operation, done: str):
    user = _load_user(user_id)
    if not ReasonForm().validate_on_submit():
        flash("The form expired; try again.", "warning")
        return redirect(url_for("manage.person", user_id=user.id))
    try:
        operation(user)
    except WorkflowError as exc:
        refuse(exc)
    else:
        db.session.commit()
        flash(done.format(email=user.email), "success")
    return redirect(url_for("manage.person", user_id=user.id))


@bp.post("/people/<int:user_id>/deactivate")
@requires("manage")
def person_deactivate(user_id: int):
    return _simple_action(
        user_id,
        lambda u: deactivate_user(u, by=current_user),
        "{email} is deactivated and signed out everywhere.",
    )


@bp.post("/people/<int:user_id>/reactivate")
@requires("manage")
def person_reactivate(user_id: int):
    return _simple_action(
        user_id, lambda u: reactivate_user(u, by=current_user), "{email} can sign in again."
    )


@bp.post("/people/<int:user_id>/resend-invitation")
@requires("manage")
def person_resend_invitation(user_id: int):
    user = _load_user(user_id)
    if not ReasonForm().validate_on_submit():
        return redirect(url_for("manage.person", user_id=user.id))
    try:
        token = resend_invitation(
            user,
            by=current_user,
            ttl=timedelta(hours=int(current_app.config["INVITATION_TTL_HOURS"])),
        )
    except WorkflowError as exc:
        refuse(exc)
        return redirect(url_for("manage.person", user_id=user.id))
    mail = queue_invitation(user, token, current_user)
    db.session.commit()
    relay(mail)
    flash(
        f"A new invitation is on its way to {user.email}; earlier links no longer work.", "success"
    )
    return redirect(url_for("manage.person", user_id=user.id))


def _fresh_sign_in() -> bool:
    """The admin signed in (password + second factor) within the last five minutes."""
    token = session.get("sid")
    row = db.session.get(UserSession, UserSession.hash_token(token)) if token else None
    return row is not None and utcnow() - row.created_at <= FRESH_SIGN_IN


@bp.route("/people/<int:user_id>/reset-second-factor", methods=["GET", "POST"])
@requires("manage")
def person_reset_2fa(user_id: int):
    user = _load_user(user_id)
    fresh = _fresh_sign_in()
    form = ReauthForm() if not fresh else ReasonForm()
    status = 200
    if form.validate_on_submit():
        me = current_user._get_current_object()
        ok = fresh
        if not fresh:
            cfg = current_app.config
            if login_blocked_until(
                me.email,
                request.remote_addr or "",
                max_per_account=int(cfg["LOGIN_MAX_FAILURES_PER_ACCOUNT"]),
                max_per_ip=int(cfg["LOGIN_MAX_FAILURES_PER_IP"]),
                window=timedelta(minutes=int(cfg["LOGIN_WINDOW_MINUTES"])),
            ):
                form.password.errors.append(
                    "Too many failed attempts. Wait 15 minutes and try again."
                )
                return render_template(
                    "manage/person_reset_2fa.html", user=user, form=form, fresh=fresh
                ), 429
            ok = (
                me.check_password(form.password.data)
                and me.totp_secret
                and _check_code(me, form.code.data, me.totp_secret)
            )
            if not ok:
                db.session.add(
                    LoginAttempt(email=me.email, ip=request.remote_addr or "", succeeded=False)
                )
                record("auth.reauth_failed", actor=me, target=me)
                db.session.commit()
                form.code.errors.append("The password or the code is not right.")
                status = 400
        if ok:
            try:
                reset_second_factor(user, by=me)
            except WorkflowError as exc:
                refuse(exc)
                return redirect(url_for("manage.person", user_id=user.id))
            db.session.commit()
            flash(
                f"{user.email}'s second factor is reset: they set up a new authenticator at their next sign-in.",
                "success",
            )
            return redirect(url_for("manage.person", user_id=user.id))
    return render_template(
        "manage/person_reset_2fa.html", user=user, form=form, fresh=fresh
    ), status
