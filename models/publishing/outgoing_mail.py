"""E-mail as an outbox: a message is a row written in the same transaction as the decision or
invitation it announces, and a worker sends it. A broker outage delays a message and never
fails the request or loses it; the beat relays what is left (tasks/mail.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import JSONType, UTCDateTime, db, utcnow


class OutgoingMail(db.Model):
    __tablename__ = "outgoing_mail"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recipients: Mapped[list[str]] = mapped_column(JSONType, default=list)
    subject: Mapped[str] = mapped_column(String(500))
    template: Mapped[str] = mapped_column(String(60))
    context: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a worker is sending it
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # no retry can send it
    error: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        Index(
            "ix_outgoing_mail_unsent",
            "created_at",
            postgresql_where=text("sent_at IS NULL AND failed_at IS NULL"),
            sqlite_where=text("sent_at IS NULL AND failed_at IS NULL"),
        ),
    )


def queue_mail(
    to: list[str], subject: str, template: str, context: dict[str, Any]
) -> OutgoingMail | None:
    """Add a message to the current transaction (nothing is sent before the commit); None
    when there is nobody to send it to."""
    if not to:
        return None
    mail = OutgoingMail(
        recipients=list(to), subject=subject[:500], template=template, context=dict(context)
    )
    db.session.add(mail)
    db.session.flush()
    return mail
