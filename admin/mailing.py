"""E-mails with one-time links. Each is queued in the transaction that creates its link
(`queue_*`, before the commit: a rolled-back invitation never arrives, a committed one always
does); the caller hands it to a worker after the commit with `tasks.mail.relay`."""

from __future__ import annotations

from flask import current_app, url_for

from models import OutgoingMail, User, queue_mail


def _link(endpoint: str, token: str) -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for(endpoint, token=token)


def _queue_link_mail(
    user: User, subject: str, template: str, endpoint: str, token: str, **context
) -> OutgoingMail | None:
    """One e-mail to one person carrying their one-time link (and whether signing in will
    ask for the second factor)."""
    return queue_mail(
        [user.email],
        subject,
        template,
        {
            "name": user.name,
            "link": _link(endpoint, token),
            "needs_totp": user.is_staff,
            **context,
        },
    )


def queue_invitation(user: User, token: str, invited_by: User) -> OutgoingMail | None:
    return _queue_link_mail(
        user,
        "You are invited to the Missouri Crisis Services Registry",
        "invitation",
        "auth.accept_invitation",
        token,
        hours=int(current_app.config["INVITATION_TTL_HOURS"]),
        invited_by=invited_by.name,
        organization=user.organization.name if user.organization else "",
        role=user.role,
    )


def queue_password_reset(user: User, token: str) -> OutgoingMail | None:
    return _queue_link_mail(
        user,
        "Reset your Crisis Services Registry password",
        "password_reset",
        "auth.reset_password",
        token,
        minutes=int(current_app.config["PASSWORD_RESET_TTL_MINUTES"]),
    )
