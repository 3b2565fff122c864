"""Reminders the sweeps send, each exactly once.

A reminder row is *claimed* before its e-mail goes out: the INSERT runs in a savepoint and a
unique index on (certification, kind, anchor) or (listing, kind, anchor) lets only one of two
concurrent sweeps win. The anchor is the date the reminder counts from (the certification's
expiry, the listing's last verification), so a corrected expiry or a new verification starts a
fresh cycle while repeated sweeps within one cycle never repeat a reminder."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import StrEnum, UTCDateTime, check_in, db, utcnow
from models.certifications.certification import Certification
from models.listings.listing import Listing


class ReminderKind(StrEnum):
    EXPIRES_IN_90 = "expires_in_90"
    EXPIRES_IN_60 = "expires_in_60"
    EXPIRES_IN_30 = "expires_in_30"
    EXPIRES_IN_7 = "expires_in_7"
    LAPSED_1 = "lapsed_1"
    LAPSED_14 = "lapsed_14"
    LAPSED_30 = "lapsed_30"
    REVERIFY = "reverify"


ReminderKind.set_labels(
    {
        ReminderKind.EXPIRES_IN_90: "Expires in 90 days",
        ReminderKind.EXPIRES_IN_60: "Expires in 60 days",
        ReminderKind.EXPIRES_IN_30: "Expires in 30 days",
        ReminderKind.EXPIRES_IN_7: "Expires in 7 days",
        ReminderKind.LAPSED_1: "Lapsed 1 day ago",
        ReminderKind.LAPSED_14: "Lapsed 14 days ago",
        ReminderKind.LAPSED_30: "Lapsed 30 days ago",
        ReminderKind.REVERIFY: "Re-verify the listing",
    }
)


# days before expiry -> kind, and days after lapse -> kind
BEFORE_EXPIRY = {
    90: ReminderKind.EXPIRES_IN_90,
    60: ReminderKind.EXPIRES_IN_60,
    30: ReminderKind.EXPIRES_IN_30,
    7: ReminderKind.EXPIRES_IN_7,
}
AFTER_LAPSE = {1: ReminderKind.LAPSED_1, 14: ReminderKind.LAPSED_14, 30: ReminderKind.LAPSED_30}
# the last after-lapse reminder is still sent this many days late (a sweep that did not run);
# older lapses are history, not news
LAPSE_WINDOW_DAYS = 14


def before_expiry_kind(days_left: int) -> ReminderKind | None:
    """The one before-expiry reminder due with `days_left` days to go (0 = expires today).
    Only the nearest threshold is sent: a sweep that starts 20 days out sends the 30-day
    reminder, not the 90- and 60-day ones as well."""
    if days_left < 0:
        return None
    due = [d for d in BEFORE_EXPIRY if days_left <= d]
    return BEFORE_EXPIRY[min(due)] if due else None


def after_lapse_kind(days_since: int) -> ReminderKind | None:
    """The after-lapse reminder due `days_since` days after the expiry date."""
    due = [d for d in AFTER_LAPSE if days_since >= d]
    if not due or days_since > max(AFTER_LAPSE) + LAPSE_WINDOW_DAYS:
        return None
    return AFTER_LAPSE[max(due)]


class Reminder(db.Model):
    __tablename__ = "reminder"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    certification_id: Mapped[int | None] = mapped_column(
        ForeignKey("certification.id", ondelete="CASCADE")
    )
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"))
    anchor_on: Mapped[date] = mapped_column(Date)  # the expiry / last-verified date it counts from
    due_on: Mapped[date] = mapped_column(Date)  # the sweep day that claimed it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recipients: Mapped[int] = mapped_column(Integer, default=0)

    certification: Mapped[Certification | None] = relationship()
    listing: Mapped[Listing | None] = relationship()

    __table_args__ = (
        CheckConstraint(check_in("kind", ReminderKind), name="kind"),
        CheckConstraint("(certification_id IS NULL) <> (listing_id IS NULL)", name="one_subject"),
        Index(
            "uq_reminder_certification",
            "certification_id",
            "kind",
            "anchor_on",
            unique=True,
            postgresql_where=text("certification_id IS NOT NULL"),
            sqlite_where=text("certification_id IS NOT NULL"),
        ),
        Index(
            "uq_reminder_listing",
            "listing_id",
            "kind",
            "anchor_on",
            unique=True,
            postgresql_where=text("listing_id IS NOT NULL"),
            sqlite_where=text("listing_id IS NOT NULL"),
        ),
        Index(
            "ix_reminder_undelivered",
            "created_at",
            postgresql_where=text("delivered_at IS NULL"),
            sqlite_where=text("delivered_at IS NULL"),
        ),
    )

    def __repr__(self) -> str:
        subject = (
            f"cert={self.certification_id}"
            if self.certification_id
            else f"listing={self.listing_id}"
        )
        return f"<Reminder {self.id} {self.kind} {subject} {self.anchor_on}>"


def claim_reminder(
    kind: ReminderKind,
    anchor_on: date,
    due_on: date,
    *,
    certification: Certification | None = None,
    listing: Listing | None = None,
) -> Reminder | None:
    """Record that this reminder is going out; None when it was already claimed (by an earlier
    sweep or a concurrent one). The INSERT runs in a savepoint so a conflict leaves the
    caller's transaction intact; under PostgreSQL a concurrent uncommitted claim of the same
    key makes this one wait, then fail, so exactly one sweep wins."""
    subject = (
        (Reminder.certification_id == certification.id)
        if certification
        else (Reminder.listing_id == listing.id)
    )
    if db.session.scalar(
        db.select(Reminder.id).where(
            subject, Reminder.kind == kind.value, Reminder.anchor_on == anchor_on
        )
    ):
        return None  # the common case, answered without a failed INSERT
    reminder = Reminder(
        kind=kind.value,
        anchor_on=anchor_on,
        due_on=due_on,
        certification_id=certification.id if certification else None,
        listing_id=listing.id if listing else None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(reminder)
    except IntegrityError:
        return None
    return reminder
