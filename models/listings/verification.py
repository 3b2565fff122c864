"""Re-verification by e-mailed link: "Everything is still correct" without a password.

Each reminder e-mail carries a link of its own, bound to one listing and one recipient. Only the
SHA-256 of its random token is stored (a copy of the database opens nothing); it works once,
for 14 days, and only while the recipient is an active member of the listing's organization.
What it can do is narrow: stamp "last verified" (the same as the portal's one-click attestation)
or lead to sign-in. It changes no content, so it needs no second factor (docs/decisions.md)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import audit
from models.base import IllegalTransition, StateEnum, UTCDateTime, check_in, db, utcnow
from models.listings.listing import Listing
from models.organizations.user import User
from models.publishing.release import mark_changed

LINK_DAYS = 14


class LinkOutcome(StateEnum):
    """How the recipient answered. A link without an outcome is unanswered; an answer is final
    (a link works once), so neither outcome may become the other."""

    CONFIRMED = "confirmed"
    CHANGED = "changed"


LinkOutcome.set_transitions(
    {LinkOutcome.CONFIRMED: set(), LinkOutcome.CHANGED: set()}, noun="link's answer"
)
LinkOutcome.set_labels(
    {LinkOutcome.CONFIRMED: "Everything is still correct", LinkOutcome.CHANGED: "Something changed"}
)


class LinkRefused(Exception):
    """Why a link cannot be used, in words fit for the page that says so."""

    def __init__(self, title: str, detail: str, status: int = 410):
        super().__init__(detail)
        self.title, self.detail, self.status = title, detail, status


class VerificationLink(db.Model):
    __tablename__ = "verification_link"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    listing_id: Mapped[int] = mapped_column(
        ForeignKey("listing.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(20))
    followed_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # admins reminded

    listing: Mapped[Listing] = relationship()
    user: Mapped[User] = relationship()

    __table_args__ = (
        CheckConstraint(check_in("outcome", LinkOutcome), name="outcome"),
        CheckConstraint("(outcome IS NULL) = (used_at IS NULL)", name="outcome_iff_used"),
    )

    def answer(self, outcome: LinkOutcome) -> None:
        """Spend the link with the recipient's answer. An answered link keeps its answer:
        answering again raises IllegalTransition (open_link refuses a used link before this)."""
        if self.outcome is not None:
            answered = LinkOutcome(self.outcome)
            raise IllegalTransition(
                LinkOutcome,
                answered,
                outcome,
                message=f"This link was already answered “{answered.label}”; it cannot also "
                f"answer “{outcome.label}”.",
            )
        self.used_at, self.outcome = utcnow(), outcome.value
        mark_opened(self)


def verify_path(token: str) -> str:
    """The link's path; the token rides in the query string, which access logs leave out."""
    return "/verify?" + urlencode({"t": token})


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_link(listing: Listing, user: User) -> str:
    """A new link's token (the caller puts it in the e-mail; it is not stored)."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        VerificationLink(
            token_hash=token_hash(token),
            listing_id=listing.id,
            user_id=user.id,
            created_at=utcnow(),
            expires_at=utcnow() + timedelta(days=LINK_DAYS),
        )
    )
    db.session.flush()
    return token


def open_link(token: str, *, for_update: bool = False) -> VerificationLink:
    """The usable link of `token`, or LinkRefused saying why not."""
    q = db.select(VerificationLink).where(VerificationLink.token_hash == token_hash(token or ""))
    link = db.session.scalar(q.with_for_update() if for_update else q)
    if link is None:
        raise LinkRefused(
            "This link is not valid",
            "The address is incomplete or was changed. Use the link in the e-mail as it is, "
            "or sign in to the portal.",
            404,
        )
    if link.used_at is not None:
        raise LinkRefused(
            "This link was already used",
            f"It was used on {link.used_at:%B %-d, %Y}. Each link works once; sign in to the "
            "portal to confirm or edit the listing again.",
        )
    if utcnow() >= link.expires_at:
        raise LinkRefused(
            "This link has expired",
            f"Links work for {LINK_DAYS} days. Sign in to the portal to confirm the listing.",
        )
    user = link.user
    if not user.is_active or user.organization_id != link.listing.organization_id:
        raise LinkRefused(
            "This link is no longer valid",
            "The account it was sent to is no longer active in this organization.",
        )
    if link.listing.live_revision_id is None:
        raise LinkRefused("This listing is not live", "There is nothing public to confirm.")
    return link


def mark_opened(link: VerificationLink) -> None:
    if link.opened_at is None:
        link.opened_at = utcnow()


def confirm_by_link(token: str) -> Listing:
    """ "Everything is still correct": stamps last verified, as the portal's attestation does,
    audited as done by the recipient via the e-mailed link. Works once."""
    link = open_link(token, for_update=True)
    listing = link.listing
    before = {"verified_at": listing.verified_at}
    open_revision = listing.open_revision  # before the change (the lookup flushes)
    listing.verified_at = utcnow()
    listing.verified_by_id = link.user_id
    listing.stale_since = None
    listing.set_sort_keys(open_revision)
    link.answer(LinkOutcome.CONFIRMED)
    db.session.flush()
    mark_changed(listing.id, "reverified")
    audit.record(
        "listing.attest",
        actor=link.user,
        target=listing,
        before=before,
        after={"verified_at": listing.verified_at, "via": "e-mailed link"},
    )
    return listing


def something_changed(token: str) -> Listing:
    """ "Something changed": the link is spent; the person signs in and edits."""
    link = open_link(token, for_update=True)
    link.answer(LinkOutcome.CHANGED)
    db.session.flush()
    return link.listing


FOLLOW_UP_DAYS = 14


def unanswered_for_follow_up(now: datetime) -> dict[Listing, list[VerificationLink]]:
    """Listings whose e-mailed links got no answer for FOLLOW_UP_DAYS (none of the recipients
    confirmed or said something changed) and whose admins were not reminded yet."""
    links = db.session.scalars(
        db.select(VerificationLink)
        .where(
            VerificationLink.created_at <= now - timedelta(days=FOLLOW_UP_DAYS),
            VerificationLink.followed_up_at.is_(None),
        )
        .order_by(VerificationLink.listing_id, VerificationLink.id)
    ).all()
    by_listing: dict[int, list[VerificationLink]] = {}
    for link in links:
        by_listing.setdefault(link.listing_id, []).append(link)
    out = {}
    for group in by_listing.values():
        listing = group[0].listing
        if any(link.used_at is not None for link in group):
            for link in group:
                link.followed_up_at = now  # answered: nothing to follow up
            continue
        answered_later = db.session.scalar(
            db.select(db.func.count(VerificationLink.id)).where(
                VerificationLink.listing_id == listing.id,
                VerificationLink.used_at.is_not(None),
                VerificationLink.created_at > group[0].created_at,
            )
        )
        if answered_later or listing.verified_at >= group[0].created_at:
            for link in group:
                link.followed_up_at = now  # confirmed another way since
            continue
        out[listing] = group
    return out


def campaign(since: datetime) -> list[dict]:
    """Per organization, the links sent since `since`: sent, opened, confirmed, changed, no answer."""
    from models.organizations.organization import Organization

    rows = db.session.execute(
        db.select(
            Organization.id,
            Organization.legal_name,
            db.func.count(VerificationLink.id),
            db.func.count(VerificationLink.opened_at),
            db.func.sum(
                db.case((VerificationLink.outcome == LinkOutcome.CONFIRMED.value, 1), else_=0)
            ),
            db.func.sum(
                db.case((VerificationLink.outcome == LinkOutcome.CHANGED.value, 1), else_=0)
            ),
        )
        .join(Listing, Listing.id == VerificationLink.listing_id)
        .join(Organization, Organization.id == Listing.organization_id)
        .where(VerificationLink.created_at >= since)
        .group_by(Organization.id, Organization.legal_name)
        .order_by(Organization.legal_name)
    ).all()
    return [
        {
            "organization_id": oid,
            "organization": name,
            "sent": sent,
            "opened": opened,
            "confirmed": int(confirmed or 0),
            "changed": int(changed or 0),
            "no_answer": sent - int(confirmed or 0) - int(changed or 0),
        }
        for oid, name, sent, opened, confirmed, changed in rows
    ]
