"""Certifications: certifications, their documents and the reminders about them.

What the rest of the code may use from this package: `EXPORTS` (name -> module),
loaded on first use (models.base.lazy_exports), so importing one module of the package
does not import the others (the aggregates refer to one another)."""

from typing import TYPE_CHECKING

from models.base import lazy_exports

EXPORTS = {
    "ACTIVE_STATUSES": "certification",
    "AFTER_LAPSE": "reminder",
    "BEFORE_EXPIRY": "reminder",
    "Certification": "certification",
    "CertificationBasis": "certification",
    "CertificationStatus": "certification",
    "Document": "certification",
    "DocumentStatus": "certification",
    "LAPSE_WINDOW_DAYS": "reminder",
    "OPEN_STATUSES": "certification",
    "PENDING_STATUSES": "certification",
    "Reminder": "reminder",
    "ReminderKind": "reminder",
    "after_lapse_kind": "reminder",
    "attach_document": "documents",
    "before_expiry_kind": "reminder",
    "claim_reminder": "reminder",
    "expiry_sql": "certification",
    "renewed": "certification",
}
__all__ = [
    "ACTIVE_STATUSES",
    "AFTER_LAPSE",
    "BEFORE_EXPIRY",
    "Certification",
    "CertificationBasis",
    "CertificationStatus",
    "Document",
    "DocumentStatus",
    "LAPSE_WINDOW_DAYS",
    "OPEN_STATUSES",
    "PENDING_STATUSES",
    "Reminder",
    "ReminderKind",
    "after_lapse_kind",
    "attach_document",
    "before_expiry_kind",
    "claim_reminder",
    "expiry_sql",
    "renewed",
]
__getattr__ = lazy_exports(__name__, EXPORTS)

if TYPE_CHECKING:
    from .certification import (
        ACTIVE_STATUSES,
        OPEN_STATUSES,
        PENDING_STATUSES,
        Certification,
        CertificationBasis,
        CertificationStatus,
        Document,
        DocumentStatus,
        expiry_sql,
        renewed,
    )
    from .documents import attach_document
    from .reminder import (
        AFTER_LAPSE,
        BEFORE_EXPIRY,
        LAPSE_WINDOW_DAYS,
        Reminder,
        ReminderKind,
        after_lapse_kind,
        before_expiry_kind,
        claim_reminder,
    )
