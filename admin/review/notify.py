"""E-mail to a provider organization about a review outcome.

A view prepares the notice before it commits (the message is queued in the same transaction
as the decision: a rolled-back decision never mails anyone, a committed one always does) and
calls `send()` after the commit to hand it to a worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models import OutgoingMail, ReviewComment, db, queue_mail
from models.listings import FIELD_LABELS
from models.organizations import organization_recipients
from tasks.mail import relay


def open_comments(revision_id: int) -> list[dict[str, str]]:
    rows = db.session.scalars(
        db.select(ReviewComment)
        .where(ReviewComment.revision_id == revision_id, ReviewComment.resolved_at.is_(None))
        .order_by(ReviewComment.id)
    )
    return [
        {
            "field": FIELD_LABELS.get(c.field, "Whole listing") if c.field else "Whole listing",
            "body": c.body,
        }
        for c in rows
    ]


@dataclass
class Notice:
    organization_id: int
    subject: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    to: list[str] = field(default_factory=list)
    mail: OutgoingMail | None = None

    def prepare(self) -> Notice:
        """Resolve the recipients and queue the message inside the transaction."""
        self.to = organization_recipients(self.organization_id)
        self.mail = queue_mail(self.to, self.subject, self.template, self.context)
        return self

    def send(self) -> None:
        """After the commit: hand the queued message to a worker (never raises)."""
        relay(self.mail)
