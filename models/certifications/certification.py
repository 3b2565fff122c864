"""DMH certifications held by organizations (covering some of their listings) and the
documents uploaded as evidence."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    case,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import StateEnum, StrEnum, TimestampMixin, UTCDateTime, check_in, db
from models.organizations.organization import Organization
from models.organizations.user import User
from models.reference.tables import CertificationType, DocumentType


class CertificationStatus(StateEnum):
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    ON_HOLD = "on_hold"
    PROVISIONAL = "provisional"
    CERTIFIED = "certified"
    CONDITIONAL = "conditional"
    EXPIRED = "expired"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    WITHDRAWN = "withdrawn"


CS = CertificationStatus
CertificationStatus.set_transitions(
    {
        CS.SUBMITTED: {
            CS.IN_REVIEW,
            CS.ON_HOLD,
            CS.WITHDRAWN,
            CS.PROVISIONAL,
            CS.CERTIFIED,
            CS.CONDITIONAL,
        },
        CS.IN_REVIEW: {
            CS.SUBMITTED,
            CS.ON_HOLD,
            CS.PROVISIONAL,
            CS.CERTIFIED,
            CS.CONDITIONAL,
            CS.WITHDRAWN,
        },
        CS.ON_HOLD: {
            CS.SUBMITTED,
            CS.IN_REVIEW,
            CS.WITHDRAWN,
            CS.PROVISIONAL,
            CS.CERTIFIED,
            CS.CONDITIONAL,
        },
        CS.PROVISIONAL: {CS.CERTIFIED, CS.CONDITIONAL, CS.EXPIRED, CS.SUSPENDED, CS.REVOKED},
        CS.CERTIFIED: {CS.PROVISIONAL, CS.CONDITIONAL, CS.EXPIRED, CS.SUSPENDED, CS.REVOKED},
        CS.CONDITIONAL: {CS.PROVISIONAL, CS.CERTIFIED, CS.EXPIRED, CS.SUSPENDED, CS.REVOKED},
        CS.SUSPENDED: {CS.PROVISIONAL, CS.CERTIFIED, CS.CONDITIONAL, CS.REVOKED, CS.EXPIRED},
        CS.EXPIRED: set(),
        CS.REVOKED: set(),
        CS.WITHDRAWN: set(),
    },
    noun="certification",
)
CertificationStatus.set_labels(
    {
        CS.SUBMITTED: "Submitted",
        CS.IN_REVIEW: "In review",
        CS.ON_HOLD: "On hold",
        CS.PROVISIONAL: "Provisional",
        CS.CERTIFIED: "Certified",
        CS.CONDITIONAL: "Conditional",
        CS.EXPIRED: "Expired",
        CS.SUSPENDED: "Suspended",
        CS.REVOKED: "Revoked",
        CS.WITHDRAWN: "Withdrawn",
    }
)

# statuses in which the certification counts, if today lies between effective and expiry dates
ACTIVE_STATUSES = (CS.PROVISIONAL, CS.CERTIFIED, CS.CONDITIONAL)
PENDING_STATUSES = (CS.SUBMITTED, CS.IN_REVIEW)
# statuses in which the organization may still withdraw it or add documents
OPEN_STATUSES = CS.sources_of(CS.WITHDRAWN)
# statuses a reviewer has decided (verified_at is set exactly for these)
VERIFIED_STATUSES = (
    CS.PROVISIONAL,
    CS.CERTIFIED,
    CS.CONDITIONAL,
    CS.EXPIRED,
    CS.SUSPENDED,
    CS.REVOKED,
)
# statuses a reviewer may set when verifying (a decision)
DECISION_STATUSES = (
    CS.PROVISIONAL,
    CS.CERTIFIED,
    CS.CONDITIONAL,
    CS.ON_HOLD,
    CS.SUSPENDED,
    CS.REVOKED,
)
_verified_sql = ", ".join(f"'{s.value}'" for s in VERIFIED_STATUSES)


class CertificationBasis(StrEnum):
    SURVEY = "survey"
    DEEMED = "deemed"  # deemed status via a national accreditation


CertificationBasis.set_labels(
    {CertificationBasis.SURVEY: "DMH survey", CertificationBasis.DEEMED: "Deemed status"}
)


certification_listing = Table(
    "certification_listing",
    db.metadata,
    Column(
        "certification_id", ForeignKey("certification.id", ondelete="CASCADE"), primary_key=True
    ),
    Column(
        "listing_id", ForeignKey("listing.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)


class Certification(TimestampMixin, db.Model):
    __tablename__ = "certification"
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    type_code: Mapped[str] = mapped_column(ForeignKey("certification_type.code"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=CertificationStatus.SUBMITTED.value)
    basis: Mapped[str] = mapped_column(String(10), default=CertificationBasis.SURVEY.value)
    accrediting_body: Mapped[str] = mapped_column(String(80), default="")
    accreditation_number: Mapped[str] = mapped_column(String(80), default="")
    accreditation_effective_on: Mapped[date | None] = mapped_column(Date)
    accreditation_expires_on: Mapped[date | None] = mapped_column(Date)
    certificate_number: Mapped[str] = mapped_column(String(80), default="")
    effective_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(
        Date
    )  # explicit expiry; else the accreditation's
    conditions: Mapped[str] = mapped_column(Text, default="")
    provider_note: Mapped[str] = mapped_column(Text, default="")
    renews_id: Mapped[int | None] = mapped_column(ForeignKey("certification.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decision_note: Mapped[str] = mapped_column(Text, default="")
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    organization: Mapped[Organization] = relationship(lazy="joined")
    type: Mapped[CertificationType] = relationship(lazy="joined")
    listings = relationship("Listing", secondary=certification_listing, lazy="selectin")
    documents: Mapped[list[Document]] = relationship(
        back_populates="certification", order_by="Document.id"
    )
    renews: Mapped[Certification | None] = relationship(remote_side=[id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])

    __mapper_args__ = {"version_id_col": lock_version}
    __table_args__ = (
        CheckConstraint(check_in("status", CertificationStatus), name="status"),
        CheckConstraint(check_in("basis", CertificationBasis), name="basis"),
        CheckConstraint(
            f"(status IN ({_verified_sql})) = (verified_at IS NOT NULL)",
            name="verified_iff_decided",
        ),
        CheckConstraint(
            f"basis = '{CertificationBasis.SURVEY.value}' OR accrediting_body <> ''",
            name="deemed_names_accreditor",
        ),
        CheckConstraint(
            "effective_on IS NULL OR expires_on IS NULL OR effective_on <= expires_on",
            name="dates_ordered",
        ),
        CheckConstraint("(claimed_by_id IS NULL) = (claimed_at IS NULL)", name="claim_pair"),
        Index("ix_certification_status_submitted", "status", "submitted_at", "id"),
    )

    @property
    def effective_expiry(self) -> date | None:
        """Deemed status follows the accreditation's expiry unless DMH set one explicitly."""
        if self.expires_on is not None:
            return self.expires_on
        if self.basis == CertificationBasis.DEEMED:
            return self.accreditation_expires_on
        return None

    @property
    def has_active_status(self) -> bool:
        """Provisional, certified or conditional (whether it counts today depends on dates)."""
        return self.status in ACTIVE_STATUSES

    @property
    def is_open(self) -> bool:
        """DMH has not decided it yet: the organization may add documents or withdraw it."""
        return self.status in OPEN_STATUSES

    @property
    def is_final(self) -> bool:
        """Expired, revoked or withdrawn: no decision can change it any more."""
        return CertificationStatus(self.status).is_final

    def can_become(self, target: str) -> bool:
        return CertificationStatus(self.status).can_become(target)

    def is_active_on(self, day: date) -> bool:
        if self.status not in ACTIVE_STATUSES:
            return False
        if self.effective_on is not None and day < self.effective_on:
            return False
        expiry = self.effective_expiry
        return expiry is None or day <= expiry

    def __repr__(self) -> str:
        return f"<Certification {self.id} {self.type_code} {self.status}>"


class DocumentStatus(StateEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


# a reviewer may revise a verdict (a rejected document turns out fine), never undo it
DocumentStatus.set_transitions(
    {
        DocumentStatus.PENDING: {DocumentStatus.ACCEPTED, DocumentStatus.REJECTED},
        DocumentStatus.ACCEPTED: {DocumentStatus.REJECTED},
        DocumentStatus.REJECTED: {DocumentStatus.ACCEPTED},
    },
    noun="document",
)
DocumentStatus.set_labels(
    {
        DocumentStatus.PENDING: "Pending",
        DocumentStatus.ACCEPTED: "Accepted",
        DocumentStatus.REJECTED: "Rejected",
    }
)


class Document(TimestampMixin, db.Model):
    """An uploaded file. Stored under a server-generated name outside any web-served folder."""

    __tablename__ = "document"
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    certification_id: Mapped[int | None] = mapped_column(ForeignKey("certification.id"), index=True)
    type_code: Mapped[str] = mapped_column(ForeignKey("document_type.code"))
    original_filename: Mapped[str] = mapped_column(String(255))
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    issuer: Mapped[str] = mapped_column(String(200), default="")
    issued_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=DocumentStatus.PENDING.value)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    certification: Mapped[Certification | None] = relationship(back_populates="documents")
    type: Mapped[DocumentType] = relationship(lazy="joined")
    uploaded_by: Mapped[User | None] = relationship(foreign_keys=[uploaded_by_id])

    __table_args__ = (
        CheckConstraint(check_in("status", DocumentStatus), name="status"),
        CheckConstraint("size > 0", name="size_positive"),
        CheckConstraint(
            f"(status = '{DocumentStatus.PENDING.value}') = (verified_at IS NULL)",
            name="verified_iff_decided",
        ),
        CheckConstraint(
            f"status <> '{DocumentStatus.REJECTED.value}' OR status_reason <> ''",
            name="rejection_has_reason",
        ),
    )


def expiry_sql():
    """SQL twin of Certification.effective_expiry (deemed status follows the accreditation)."""
    return func.coalesce(
        Certification.expires_on,
        case(
            (
                Certification.basis == CertificationBasis.DEEMED.value,
                Certification.accreditation_expires_on,
            )
        ),
    )


def open_renewal(cert: Certification) -> Certification | None:
    """The renewal of `cert` DMH is still deciding, if any (there is at most one)."""
    return db.session.scalar(
        db.select(Certification)
        .where(Certification.renews_id == cert.id, Certification.status.in_(OPEN_STATUSES))
        .order_by(Certification.id)
        .limit(1)
    )


def renewed(certs) -> dict[int, Certification]:
    """Certificate id -> the decided renewal that replaced it, among `certs` (one organization's
    certifications): a renewed certificate is history, shown as "renewed", not "certified"."""
    return {c.renews_id: c for c in certs if c.renews_id and c.status in ACTIVE_STATUSES}
