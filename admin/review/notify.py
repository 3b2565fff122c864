"""E-mail to a provider organization about a review outcome.

A view builds the notice before it commits and calls `send()` after the commit: the task is
enqueued only once the decision is durable, so a rolled-back decision never mails anyone."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models import ReviewComment, db
from models.fields import FIELD_LABELS
from models.people import organization_recipients
from tasks.mail import deliver_mail


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

    def prepare(self) -> Notice:
        """Resolve the recipients inside the transaction (before the commit)."""
        self.to = organization_recipients(self.organization_id)
        return self

    def send(self) -> None:
        if self.to:
            deliver_mail.delay(self.to, self.subject, self.template, self.context)
