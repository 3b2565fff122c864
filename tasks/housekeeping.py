"""Hourly clean-up of authentication records that no longer matter."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task

from models import LoginAttempt, UserSession, db, utcnow

log = logging.getLogger(__name__)


@shared_task(name="registry.housekeeping", ignore_result=True)
def housekeeping() -> dict[str, int]:
    now = utcnow()
    attempts = db.session.execute(
        db.delete(LoginAttempt).where(LoginAttempt.at < now - timedelta(days=30))
    ).rowcount
    sessions = db.session.execute(
        db.delete(UserSession).where(UserSession.created_at < now - timedelta(days=30))
    ).rowcount
    db.session.commit()
    log.info("housekeeping removed %s login attempts and %s old sessions", attempts, sessions)
    return {"login_attempts": attempts, "sessions": sessions}
