"""Listings and their revisions.

A Listing is the stable identity of one service (its UUID is the HSDS service id). Its content
lives in ListingRevisions: at most one *live* (approved) revision and at most one *open* one
(draft, submitted, in review, or changes requested). Editing never takes the live one down.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import (
    JSONType,
    StateEnum,
    StrEnum,
    TimestampMixin,
    UTCDateTime,
    UUIDColumn,
    check_in,
    db,
)
from models.organizations.organization import Organization
from models.organizations.user import User
from models.reference.tables import County, ServiceType


class RevisionState(StateEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    SUPERSEDED = "superseded"


RS = RevisionState
RevisionState.set_transitions(
    {
        RS.DRAFT: {RS.SUBMITTED},
        RS.SUBMITTED: {
            RS.IN_REVIEW,
            RS.WITHDRAWN,
            RS.APPROVED,
            RS.CHANGES_REQUESTED,
            RS.REJECTED,
        },
        RS.IN_REVIEW: {RS.APPROVED, RS.CHANGES_REQUESTED, RS.REJECTED, RS.SUBMITTED},
        RS.CHANGES_REQUESTED: {RS.SUBMITTED, RS.WITHDRAWN},
        RS.APPROVED: {RS.SUPERSEDED},
        RS.REJECTED: set(),
        RS.WITHDRAWN: set(),
        RS.SUPERSEDED: set(),
    },
    noun="revision",
)
RevisionState.set_labels(
    {
        RS.DRAFT: "Draft",
        RS.SUBMITTED: "Submitted",
        RS.IN_REVIEW: "In review",
        RS.CHANGES_REQUESTED: "Changes requested",
        RS.APPROVED: "Approved",
        RS.REJECTED: "Rejected",
        RS.WITHDRAWN: "Withdrawn",
        RS.SUPERSEDED: "Superseded",
    }
)

# at most one open revision per listing (a partial unique index)
OPEN_STATES = (RS.DRAFT, RS.SUBMITTED, RS.IN_REVIEW, RS.CHANGES_REQUESTED)
# the provider edits the content only in these
EDITABLE_STATES = (RS.DRAFT, RS.CHANGES_REQUESTED)
# waiting for a reviewer: the states a decision may start from
PENDING_REVIEW_STATES = RS.sources_of(RS.APPROVED)
# decided_at is set exactly in these
DECIDED_STATES = (RS.APPROVED, RS.CHANGES_REQUESTED, RS.REJECTED, RS.SUPERSEDED)

_open_sql = ", ".join(f"'{s.value}'" for s in OPEN_STATES)
_decided_sql = ", ".join(f"'{s.value}'" for s in DECIDED_STATES)


class CountyRole(StrEnum):
    SERVED = "served"
    PRIMARY = "primary"
    BACKUP = "backup"


CountyRole.set_labels(
    {CountyRole.SERVED: "Served", CountyRole.PRIMARY: "Primary", CountyRole.BACKUP: "Backup"}
)
# the roles of a 988 center: it answers the county's calls first, or when the primary cannot
ANSWERING_ROLES = (CountyRole.PRIMARY, CountyRole.BACKUP)


class AttentionRank(enum.IntEnum):
    """Where a listing sorts on its organization's dashboard: what needs the provider first,
    then changes not yet submitted, then the rest. Stored on the listing (with its name, see
    `Listing.set_sort_keys`) so that the dashboard reads its pages in order from an index.

    Time alone is not in it: a live listing last verified more than REVERIFY_AFTER_DAYS ago
    needs attention too, and the dashboard adds those at read time (admin/portal/views.py)."""

    NEEDS_ACTION = 0  # changes requested, suspended, flagged stale, or live and never verified
    DRAFT = 1  # a draft not yet submitted
    SETTLED = 2


def attention_rank(
    open_state: str | None,
    *,
    is_live: bool,
    is_suspended: bool,
    stale_since: datetime | None,
    verified_at: datetime | None,
) -> AttentionRank:
    """A listing's rank from its state and its open revision's (None: no open revision)."""
    if (
        open_state == RS.CHANGES_REQUESTED
        or is_suspended
        or (is_live and (stale_since is not None or verified_at is None))
    ):
        return AttentionRank.NEEDS_ACTION
    if open_state == RS.DRAFT:
        return AttentionRank.DRAFT
    return AttentionRank.SETTLED


def sort_name(shown_name: str | None, listing_id: int) -> str:
    """The dashboard's name order: the name it shows (the live revision's, else the open one's,
    else "Listing <id>"), lower-cased."""
    return (shown_name if shown_name is not None else f"Listing {listing_id}").lower()


class Listing(TimestampMixin, db.Model):
    __tablename__ = "listing"
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = UUIDColumn()  # HSDS service.id; never changes
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    service_type_code: Mapped[str] = mapped_column(ForeignKey("service_type.code"), index=True)
    live_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("listing_revision.id", use_alter=True), unique=True
    )
    is_suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspended_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    suspended_reason: Mapped[str] = mapped_column(Text, default="")
    # the public "last verified" date: stamped by approval and by a "no changes" attestation
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # stale flag set by the re-verification sweep (cleared by attestation or approval)
    stale_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the dashboard's order, kept by set_sort_keys
    attention_rank: Mapped[int] = mapped_column(SmallInteger, default=AttentionRank.SETTLED)
    sort_name: Mapped[str] = mapped_column(String(200), default="")
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    organization: Mapped[Organization] = relationship(lazy="joined")
    service_type: Mapped[ServiceType] = relationship(lazy="joined")
    live_revision: Mapped[ListingRevision | None] = relationship(
        foreign_keys=[live_revision_id], post_update=True
    )
    revisions: Mapped[list[ListingRevision]] = relationship(
        back_populates="listing",
        foreign_keys="ListingRevision.listing_id",
        order_by="ListingRevision.number",
        lazy="select",
    )

    __mapper_args__ = {"version_id_col": lock_version}
    __table_args__ = (
        CheckConstraint(
            "is_suspended = (suspended_at IS NOT NULL)", name="suspended_at_iff_suspended"
        ),
        CheckConstraint(
            "attention_rank IN ({})".format(", ".join(str(r.value) for r in AttentionRank)),
            name="attention_rank",
        ),
        # the dashboard: an organization's listings in order, a page read from the index
        Index("ix_listing_dashboard_order", "organization_id", "attention_rank", "sort_name", "id"),
        # the dashboard: listings whose re-verification has come due since their rank was set
        Index("ix_listing_dashboard_due", "organization_id", "attention_rank", "verified_at"),
    )

    @property
    def open_revision(self) -> ListingRevision | None:
        return db.session.scalar(
            db.select(ListingRevision).where(
                ListingRevision.listing_id == self.id,
                ListingRevision.state.in_(OPEN_STATES),
            )
        )

    @property
    def display_name(self) -> str:
        rev = self.live_revision or self.open_revision
        return rev.name if rev else f"Listing {self.id}"

    def set_sort_keys(self, open_revision: ListingRevision | None) -> None:
        """Store the dashboard's sort inputs (attention_rank, sort_name) from the listing and
        its open revision as they are now (None: it has none). Every operation that changes
        one of them calls this after the change: the listing operations in workflow.py, the
        attestation by e-mailed link, the verification sweep's stale flag. Unchanged keys
        write nothing."""
        live = self.live_revision
        self.attention_rank = attention_rank(
            open_revision.state if open_revision is not None else None,
            is_live=live is not None,
            is_suspended=self.is_suspended,
            stale_since=self.stale_since,
            verified_at=self.verified_at,
        )
        shown = live or open_revision
        self.sort_name = sort_name(shown.name if shown is not None else None, self.id)

    def __repr__(self) -> str:
        return f"<Listing {self.id} {self.uuid}>"


class ListingRevision(TimestampMixin, db.Model):
    """One version of a listing's content. Immutable once approved; editable only while it is
    a draft or has changes requested."""

    __tablename__ = "listing_revision"
    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), default=RevisionState.DRAFT.value)
    # denormalised for the queue's filters and search
    name: Mapped[str] = mapped_column(String(200))
    service_type_code: Mapped[str] = mapped_column(ForeignKey("service_type.code"))
    county_fips: Mapped[str | None] = mapped_column(ForeignKey("county.fips"))  # site county
    # every listing field, normalised by the form (see models.listings.fields)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    provider_note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decision_note: Mapped[str] = mapped_column(Text, default="")
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    listing: Mapped[Listing] = relationship(back_populates="revisions", foreign_keys=[listing_id])
    service_type: Mapped[ServiceType] = relationship(lazy="joined")
    county: Mapped[County | None] = relationship()
    counties: Mapped[list[RevisionCounty]] = relationship(
        cascade="all, delete-orphan", order_by="RevisionCounty.county_fips"
    )
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __mapper_args__ = {"version_id_col": lock_version}
    __table_args__ = (
        UniqueConstraint("listing_id", "number", name="uq_listing_revision_number"),
        CheckConstraint(check_in("state", RevisionState), name="state"),
        CheckConstraint(
            f"(state IN ({_decided_sql})) = (decided_at IS NOT NULL)", name="decided_iff_decided"
        ),
        CheckConstraint(
            f"(state = '{RS.DRAFT.value}') OR (submitted_at IS NOT NULL)", name="submitted_at_set"
        ),
        CheckConstraint("(claimed_by_id IS NULL) = (claimed_at IS NULL)", name="claim_pair"),
        # at most one open revision per listing
        Index(
            "uq_listing_revision_one_open",
            "listing_id",
            unique=True,
            postgresql_where=text(f"state IN ({_open_sql})"),
            sqlite_where=text(f"state IN ({_open_sql})"),
        ),
        # the review queue: pending items oldest first
        Index("ix_listing_revision_state_submitted", "state", "submitted_at", "id"),
        Index("ix_listing_revision_listing", "listing_id"),
    )

    @property
    def is_editable(self) -> bool:
        return self.state in EDITABLE_STATES

    @property
    def is_pending_review(self) -> bool:
        return self.state in PENDING_REVIEW_STATES

    def can_become(self, target: str) -> bool:
        """Whether the transition table lets this revision become `target` now."""
        return RevisionState(self.state).can_become(target)

    def __repr__(self) -> str:
        return f"<ListingRevision {self.id} listing={self.listing_id} #{self.number} {self.state}>"


class RevisionCounty(db.Model):
    """A county a revision serves, with its role (988 centers: primary or backup)."""

    __tablename__ = "revision_county"
    revision_id: Mapped[int] = mapped_column(
        ForeignKey("listing_revision.id", ondelete="CASCADE"), primary_key=True
    )
    county_fips: Mapped[str] = mapped_column(
        ForeignKey("county.fips"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(10), default=CountyRole.SERVED.value)

    county: Mapped[County] = relationship(lazy="joined")

    __table_args__ = (CheckConstraint(check_in("role", CountyRole), name="role"),)
