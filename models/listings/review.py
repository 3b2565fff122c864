"""Review comments: on a listing revision or a certification, on the whole item or one field."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, db, utcnow
from models.organizations.user import User


class ReviewComment(db.Model):
    __tablename__ = "review_comment"
    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("listing_revision.id", ondelete="CASCADE")
    )
    certification_id: Mapped[int | None] = mapped_column(
        ForeignKey("certification.id", ondelete="CASCADE")
    )
    field: Mapped[str | None] = mapped_column(String(60))  # None: about the whole item
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("review_comment.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    author: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint(
            "(revision_id IS NULL) <> (certification_id IS NULL)", name="exactly_one_target"
        ),
        CheckConstraint("length(body) > 0", name="body_not_empty"),
        Index("ix_review_comment_revision", "revision_id"),
        Index("ix_review_comment_certification", "certification_id"),
    )
