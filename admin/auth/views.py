"""Sign-in with password and (for DMH staff) a TOTP second factor; sign-out; the landing page."""

from __future__ import annotations

import io
import math
import time
from datetime import timedelta

import segno
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import or_, update

from forms.auth import LoginForm, SetPasswordForm, TotpForm
from models import Invitation, InvitationPurpose, LoginAttempt, Role, User, db, record, utcnow
from models.locks import begin_writing, write_afresh
from models.organizations import dummy_password_check, reserve_login_attempt

from ..security import end_session, is_safe_next, revoke_all_sessions, start_session
from . import bp
from .totp import new_secret, totp

PENDING_TTL_SECONDS = 300


def landing_url_for(user) -> str:
    if user.role == Role.PROVIDER:
        return url_for("portal.dashboard")
    if user.role == Role.REVIEWER:
        return url_for("review.index")
    return url_for("manage.index")


@bp.get("/healthz")
def healthz():
    db.session.execute(db.text("SELECT 1"))
    return {"status": "ok"}, 200


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(landing_url_for(current_user))
    return redirect(url_for("auth.login"))


def _reserve_attempt(email: str):
    """(this attempt, counted as a failure until it succeeds, None) or (None, blocked until)."""
    cfg = current_app.config
    return reserve_login_attempt(
        email,
        request.remote_addr or "",
        max_per_account=int(cfg["LOGIN_MAX_FAILURES_PER_ACCOUNT"]),
        max_per_ip=int(cfg["LOGIN_MAX_FAILURES_PER_IP"]),
        window=timedelta(minutes=int(cfg["LOGIN_WINDOW_MINUTES"])),
    )


def _remember_next():
    nxt = request.args.get("next")
    if is_safe_next(nxt):
        session["next"] = nxt


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(landing_url_for(current_user))
    _remember_next()
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        attempt, until = _reserve_attempt(email)
        if attempt is None:
            minutes = max(1, math.ceil((until - utcnow()).total_seconds() / 60))
            record("auth.login_throttled", actor=email, object_type="user", after={"email": email})
            db.session.commit()
            return render_template(
                "auth/login.html",
                form=form,
                throttled=f"Too many failed sign-in attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
            ), 429
        user = db.session.scalar(db.select(User).filter_by(email=email))
        ok = user.check_password(form.password.data) if user else (dummy_password_check() or False)
        write_afresh()  # the password check read; what follows writes
        if not ok or not user.can_sign_in:
            record(
                "auth.login_failed",
                actor=email,
                object_type="user",
                object_id=user.id if user else None,
                after={"email": email, "reason": "inactive" if ok else "bad credentials"},
            )
            db.session.commit()
            form.password.errors.append(
                "This account cannot sign in. Ask your DMH administrator."
                if ok
                else "The e-mail or password is not right."
            )
            return render_template("auth/login.html", form=form), 200
        if user.needs_totp:
            next_saved = session.get("next")
            session.clear()
            session["pending_user_id"] = user.id
            session["pending_at"] = int(time.time())
            if next_saved:
                session["next"] = next_saved
            attempt.succeeded = True  # the password was right; the code is its own attempt
            db.session.commit()  # (and a rehash on check_password may need saving)
            if user.totp_enabled_at is None:
                return redirect(url_for("auth.totp_setup"))
            return redirect(url_for("auth.totp_verify"))
        return _finish_login(user, attempt)
    return render_template("auth/login.html", form=form)


def _finish_login(user: User, attempt: LoginAttempt | None = None):
    nxt = session.get("next")
    if attempt is not None:
        attempt.succeeded = True
    else:
        db.session.add(LoginAttempt(email=user.email, ip=request.remote_addr or "", succeeded=True))
    start_session(user)
    record("auth.login", actor=user, target=user, organization_id=user.organization_id)
    db.session.commit()
    target = nxt if is_safe_next(nxt) else landing_url_for(user)
    return redirect(target)


def _pending_user() -> User | None:
    uid = session.get("pending_user_id")
    at = session.get("pending_at", 0)
    if not uid or int(time.time()) - int(at) > PENDING_TTL_SECONDS:
        return None
    user = db.session.get(User, uid)
    return user if user and user.can_sign_in else None


def _check_code(user: User, code: str, secret: str) -> bool:
    """Valid in the current ±1 step and newer than the last code used (no replay)."""
    otp = totp(secret)
    code = code.replace(" ", "")
    now = int(time.time())
    for drift in (0, -1, 1):
        counter = otp.timecode(utcnow()) + drift
        if otp.verify(code, for_time=now + drift * otp.interval, valid_window=0):
            return _consume_step(user, counter)
    return False


def _consume_step(user: User, counter: int) -> bool:
    """Use up a TOTP time step in one conditional UPDATE: of any number of requests sending
    the same code at once, exactly one changes the row (the others find it changed, after
    PostgreSQL's row lock or SQLite's writer lock), so one code opens one session."""
    changed = db.session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_counter.is_(None), User.totp_last_counter < counter),
        )
        .values(totp_last_counter=counter)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.expire(user, ["totp_last_counter"])
    return changed == 1


@bp.route("/login/verify", methods=["GET", "POST"])
def totp_verify():
    user = _pending_user()
    if user is None or user.totp_enabled_at is None:
        flash("Please sign in again.", "warning")
        return redirect(url_for("auth.login"))
    form = TotpForm()
    if form.validate_on_submit():
        attempt, _until = _reserve_attempt(user.email)
        begin_writing()  # checking the code consumes its time step: a write
        if attempt is None:
            return render_template(
                "auth/totp_verify.html",
                form=form,
                throttled="Too many wrong codes. Try again in 15 minutes.",
            ), 429
        if _check_code(user, form.code.data, user.totp_secret):
            return _finish_login(user, attempt)
        record("auth.totp_failed", actor=user, target=user)
        db.session.commit()
        form.code.errors.append(
            "That code is not right, or was already used. Wait for the next code."
        )
    return render_template("auth/totp_verify.html", form=form)


@bp.route("/login/setup-2fa", methods=["GET", "POST"])
def totp_setup():
    user = _pending_user()
    if user is None:
        flash("Please sign in again.", "warning")
        return redirect(url_for("auth.login"))
    if user.totp_enabled_at is not None:
        return redirect(url_for("auth.totp_verify"))
    secret = session.get("enroll_secret") or new_secret()
    session["enroll_secret"] = secret
    uri = totp(secret).provisioning_uri(
        name=user.email, issuer_name=current_app.config["TOTP_ISSUER"]
    )
    buf = io.BytesIO()
    segno.make(uri, error="m").save(
        buf,
        kind="svg",
        scale=5,
        dark="#111",
        xmldecl=False,
        svgns=True,
        title="QR code for your authenticator app",
    )
    qr = buf.getvalue().decode()
    form = TotpForm()
    if form.validate_on_submit():
        if _check_code(user, form.code.data, secret):
            user.totp_secret = secret
            user.totp_enabled_at = utcnow()
            session.pop("enroll_secret", None)
            record("auth.totp_enrolled", actor=user, target=user)
            response = _finish_login(user)
            # after the sign-in: starting the session clears everything stored before it
            flash("Two-step sign-in is set up.", "success")
            return response
        form.code.errors.append(
            "That code is not right. Check the time on your phone and try the next code."
        )
    return render_template("auth/totp_setup.html", form=form, qr_svg=qr, secret=secret)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        record("auth.logout", actor=current_user, target=current_user._get_current_object())
    end_session()
    db.session.commit()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    return _set_password_with(
        token,
        InvitationPurpose.INVITE,
        "Welcome. Choose a password to finish setting up your account.",
    )


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    return _set_password_with(token, InvitationPurpose.PASSWORD_RESET, "Choose a new password.")


def _set_password_with(token: str, purpose: InvitationPurpose, intro: str):
    inv = Invitation.find_usable(token, purpose)
    if inv is None or not inv.user.is_active:
        return render_template("auth/link_invalid.html"), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        user = inv.user
        user.set_password(form.password.data)
        inv.used_at = utcnow()
        revoke_all_sessions(user.id)
        record(
            f"auth.{purpose.value}_completed",
            actor=user,
            target=user,
            organization_id=user.organization_id,
        )
        db.session.commit()
        end_session()
        flash("Your password is saved. Sign in with it now.", "success")
        # signing in still asks for the second factor: the link never bypasses it
        return redirect(url_for("auth.login"))
    return render_template("auth/set_password.html", form=form, intro=intro, email=inv.email)


@bp.route("/forgot", methods=["GET", "POST"])
def forgot_password():
    """Send a reset link. The answer is the same whether or not the address has an account."""
    from forms.auth import ForgotPasswordForm
    from models.organizations import request_password_reset
    from tasks.mail import relay

    from ..mailing import queue_password_reset

    form = ForgotPasswordForm()
    if form.validate_on_submit():
        ttl = timedelta(minutes=int(current_app.config["PASSWORD_RESET_TTL_MINUTES"]))
        found = request_password_reset(form.email.data, ttl=ttl)
        mail = queue_password_reset(*found) if found is not None else None
        db.session.commit()
        relay(mail)
        return render_template("auth/forgot.html", form=None, sent=True)
    return render_template("auth/forgot.html", form=form, sent=False)
