"""Published releases and the outbox that tells the publisher something changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import JSONType, StateEnum, StrEnum, UTCDateTime, check_in, db, utcnow


class ReleaseTrigger(StrEnum):
    CHANGES = "changes"  # beat found approved changes waiting in the outbox
    NIGHTLY = "nightly"
    MANUAL = "manual"  # an admin pressed "publish now" or ran `flask publish`


ReleaseTrigger.set_labels(
    {
        ReleaseTrigger.CHANGES: "Changes",
        ReleaseTrigger.NIGHTLY: "Nightly",
        ReleaseTrigger.MANUAL: "Manual",
    }
)


class Release(db.Model):
    """One immutable, numbered publication."""

    __tablename__ = "release"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    trigger: Mapped[str] = mapped_column(String(20))
    triggered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    files: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # the manifest's files
    changes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # the state of reference data the release was built from (explains a past release)
    reference_snapshot: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    __table_args__ = (
        CheckConstraint(check_in("trigger", ReleaseTrigger), name="trigger"),
        CheckConstraint("number > 0", name="number_positive"),
    )


class OutboxKind(StrEnum):
    LISTING_CHANGED = "listing_changed"


OutboxKind.set_labels({OutboxKind.LISTING_CHANGED: "Listing changed"})


class OutboxEvent(db.Model):
    """Written in the same transaction as the change it announces; drained by the publisher."""

    __tablename__ = "outbox_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    release_id: Mapped[int | None] = mapped_column(ForeignKey("release.id"))

    __table_args__ = (
        CheckConstraint(check_in("kind", OutboxKind), name="kind"),
        Index(
            "ix_outbox_event_pending",
            "created_at",
            postgresql_where=text("processed_at IS NULL"),
            sqlite_where=text("processed_at IS NULL"),
        ),
    )


def mark_changed(listing_id: int, reason: str) -> OutboxEvent:
    """Tell the publisher a listing's public content changed (same transaction as the change)."""
    ev = OutboxEvent(
        kind=OutboxKind.LISTING_CHANGED.value, payload={"listing_id": listing_id, "reason": reason}
    )
    db.session.add(ev)
    return ev


class PublishRunStatus(StateEnum):
    RUNNING = "running"
    PUBLISHED = "published"  # a new release was made
    UNCHANGED = "unchanged"  # same content as the current release: nothing new
    BUSY = "busy"  # another build held the lock
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"  # recorded as it happens (a rollback is instant)


PRS = PublishRunStatus
PublishRunStatus.set_transitions(
    {
        PRS.RUNNING: {PRS.PUBLISHED, PRS.UNCHANGED, PRS.BUSY, PRS.FAILED},
        PRS.PUBLISHED: set(),
        PRS.UNCHANGED: set(),
        PRS.BUSY: set(),
        PRS.FAILED: set(),
        PRS.ROLLED_BACK: set(),
    },
    noun="publish run",
)
PublishRunStatus.set_labels(
    {
        PRS.RUNNING: "Running",
        PRS.PUBLISHED: "Published",
        PRS.UNCHANGED: "Unchanged",
        PRS.BUSY: "Busy",
        PRS.FAILED: "Failed",
        PRS.ROLLED_BACK: "Rolled back",
    }
)


class PublishRun(db.Model):
    """One attempt to publish (or roll back): who or what asked, its progress and its outcome.
    Committed as it goes, so the admin page can show the progress of a running build."""

    __tablename__ = "publish_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    trigger: Mapped[str] = mapped_column(String(20))
    triggered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=PublishRunStatus.RUNNING.value)
    step: Mapped[int] = mapped_column(Integer, default=0)
    total_steps: Mapped[int] = mapped_column(Integer, default=0)
    step_label: Mapped[str] = mapped_column(String(200), default="")
    release_number: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(String(2000), default="")

    __table_args__ = (
        CheckConstraint(check_in("trigger", ReleaseTrigger), name="trigger"),
        CheckConstraint(check_in("status", PublishRunStatus), name="status"),
    )

    @property
    def is_running(self) -> bool:
        return self.status == PublishRunStatus.RUNNING

    def finish(self, status: PublishRunStatus, **fields: Any) -> None:
        """End the run with `status` (IllegalTransition unless it is running); `fields` are set
        with it (error, step_label, release_number...). finished_at defaults to now."""
        PublishRunStatus.check_transition(self.status, status)
        self.status = status.value
        self.finished_at = fields.pop("finished_at", None) or utcnow()
        for name, value in fields.items():
            setattr(self, name, value)
