"""E-mails with one-time links, queued after the commit (never before: a rolled-back
invitation must not arrive)."""

from __future__ import annotations

from flask import current_app, url_for

from models import User
from tasks.mail import deliver_mail


def _link(endpoint: str, token: str) -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for(endpoint, token=token)


def send_invitation(user: User, token: str, invited_by: User) -> None:
    hours = int(current_app.config["INVITATION_TTL_HOURS"])
    deliver_mail.delay(
        [user.email],
        "You are invited to the Missouri Crisis Services Registry",
        "invitation",
        {
            "name": user.name,
            "link": _link("auth.accept_invitation", token),
            "hours": hours,
            "invited_by": invited_by.name,
            "organization": user.organization.name if user.organization else "",
            "role": user.role,
            "needs_totp": user.is_staff,
        },
    )


def send_password_reset(user: User, token: str) -> None:
    minutes = int(current_app.config["PASSWORD_RESET_TTL_MINUTES"])
    deliver_mail.delay(
        [user.email],
        "Reset your Crisis Services Registry password",
        "password_reset",
        {
            "name": user.name,
            "link": _link("auth.reset_password", token),
            "minutes": minutes,
            "needs_totp": user.is_staff,
        },
    )
