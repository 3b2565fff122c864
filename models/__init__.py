"""SQLAlchemy models and the domain rules. Imports nothing else of ours (no admin/, forms/, tasks/).
Every table is imported here so Alembic sees the whole schema."""

from .audit import AuditEvent, record, verify_chain
from .base import Base, ConflictError, StrEnum, WorkflowError, db, today, utcnow
from .capacity import CapacityStatus, CapacityUpdate
from .certification import (
    ACTIVE_STATUSES,
    Certification,
    CertificationBasis,
    CertificationStatus,
    Document,
    DocumentStatus,
    certification_listing,
)
from .eligibility import CertificationIndex, Eligibility, eligibility, published_listings
from .listing import (
    OPEN_STATES,
    CountyRole,
    Listing,
    ListingRevision,
    RevisionCounty,
    RevisionState,
)
from .listing_rules import ListingRuleError, check_listing
from .organization import Organization, OrganizationStatus
from .outgoing_mail import OutgoingMail, queue_mail
from .policy import can
from .reference import (
    CertificationScope,
    CertificationType,
    County,
    CoverageKind,
    DocumentType,
    FieldRule,
    HoursRule,
    Pillar,
    Region,
    ServiceType,
    region_county,
)
from .release import (
    OutboxEvent,
    OutboxKind,
    PublishRun,
    PublishRunStatus,
    Release,
    ReleaseTrigger,
    mark_changed,
)
from .reminder import Reminder, ReminderKind
from .review import ReviewComment
from .user import Invitation, InvitationPurpose, LoginAttempt, Role, User, UserSession
from .verification import VerificationLink
from .webhook import Webhook, WebhookDelivery

__all__ = [
    "CapacityStatus",
    "CapacityUpdate",
    "ACTIVE_STATUSES",
    "AuditEvent",
    "Base",
    "Certification",
    "CertificationBasis",
    "CertificationIndex",
    "CertificationScope",
    "CertificationStatus",
    "CertificationType",
    "ConflictError",
    "County",
    "CountyRole",
    "CoverageKind",
    "Document",
    "DocumentStatus",
    "DocumentType",
    "Eligibility",
    "FieldRule",
    "HoursRule",
    "Invitation",
    "InvitationPurpose",
    "Listing",
    "ListingRevision",
    "ListingRuleError",
    "LoginAttempt",
    "OPEN_STATES",
    "Organization",
    "OrganizationStatus",
    "OutboxEvent",
    "OutgoingMail",
    "OutboxKind",
    "Pillar",
    "PublishRun",
    "PublishRunStatus",
    "Region",
    "Release",
    "ReleaseTrigger",
    "Reminder",
    "ReminderKind",
    "ReviewComment",
    "RevisionCounty",
    "RevisionState",
    "Role",
    "ServiceType",
    "StrEnum",
    "User",
    "UserSession",
    "VerificationLink",
    "Webhook",
    "WebhookDelivery",
    "WorkflowError",
    "can",
    "certification_listing",
    "check_listing",
    "db",
    "eligibility",
    "mark_changed",
    "published_listings",
    "record",
    "region_county",
    "queue_mail",
    "today",
    "utcnow",
    "verify_chain",
]
