"""SQLAlchemy models and the domain rules. Imports nothing else of ours (no admin/, forms/, tasks/).
Every table is imported here so Alembic sees the whole schema."""

from models.audit import AuditEvent, record, verify_chain
from models.base import Base, ConflictError, StrEnum, WorkflowError, db, today, utcnow
from models.certifications.certification import (
    ACTIVE_STATUSES,
    Certification,
    CertificationBasis,
    CertificationStatus,
    Document,
    DocumentStatus,
    certification_listing,
)
from models.certifications.reminder import Reminder, ReminderKind
from models.listings.capacity import CapacityStatus, CapacityUpdate
from models.listings.eligibility import (
    CertificationIndex,
    Eligibility,
    eligibility,
    published_listings,
)
from models.listings.listing import (
    OPEN_STATES,
    CountyRole,
    Listing,
    ListingRevision,
    RevisionCounty,
    RevisionState,
)
from models.listings.review import ReviewComment
from models.listings.rules import ListingRuleError, check_listing
from models.listings.verification import VerificationLink
from models.organizations.organization import Organization, OrganizationStatus
from models.organizations.user import (
    Invitation,
    InvitationPurpose,
    LoginAttempt,
    Role,
    User,
    UserSession,
)
from models.policy import can
from models.publishing.outgoing_mail import OutgoingMail, queue_mail
from models.publishing.release import (
    OutboxEvent,
    OutboxKind,
    PublishRun,
    PublishRunStatus,
    Release,
    ReleaseTrigger,
    mark_changed,
)
from models.publishing.webhook import Webhook, WebhookDelivery
from models.reference.tables import (
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
