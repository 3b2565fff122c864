"""Organizations and people: organizations, users, invitations and who is told what.

What the rest of the code may use from this package: `EXPORTS` (name -> module),
loaded on first use (models.base.lazy_exports), so importing one module of the package
does not import the others (the aggregates refer to one another)."""

from typing import TYPE_CHECKING

from models.base import lazy_exports

EXPORTS = {
    "Invitation": "user",
    "InvitationPurpose": "user",
    "MAX_PASSWORD_LENGTH": "user",
    "MAX_RESETS_PER_HOUR": "people",
    "MIN_PASSWORD_LENGTH": "user",
    "Organization": "organization",
    "OrganizationStatus": "organization",
    "Role": "user",
    "User": "user",
    "change_membership": "people",
    "create_organization": "operations",
    "deactivate_organization": "operations",
    "deactivate_user": "people",
    "dummy_password_check": "user",
    "invite_user": "people",
    "login_blocked_until": "user",
    "organization_recipients": "people",
    "reactivate_organization": "operations",
    "reactivate_user": "people",
    "recipient_users": "people",
    "rename_user": "people",
    "request_password_reset": "people",
    "resend_invitation": "people",
    "reserve_login_attempt": "user",
    "reset_second_factor": "people",
    "update_organization": "operations",
}
__all__ = [
    "Invitation",
    "InvitationPurpose",
    "MAX_PASSWORD_LENGTH",
    "MAX_RESETS_PER_HOUR",
    "MIN_PASSWORD_LENGTH",
    "Organization",
    "OrganizationStatus",
    "Role",
    "User",
    "change_membership",
    "create_organization",
    "deactivate_organization",
    "deactivate_user",
    "dummy_password_check",
    "invite_user",
    "login_blocked_until",
    "organization_recipients",
    "reactivate_organization",
    "reactivate_user",
    "recipient_users",
    "rename_user",
    "request_password_reset",
    "resend_invitation",
    "reserve_login_attempt",
    "reset_second_factor",
    "update_organization",
]
__getattr__ = lazy_exports(__name__, EXPORTS)

if TYPE_CHECKING:
    from .operations import (
        create_organization,
        deactivate_organization,
        reactivate_organization,
        update_organization,
    )
    from .organization import Organization, OrganizationStatus
    from .people import (
        MAX_RESETS_PER_HOUR,
        change_membership,
        deactivate_user,
        invite_user,
        organization_recipients,
        reactivate_user,
        recipient_users,
        rename_user,
        request_password_reset,
        resend_invitation,
        reset_second_factor,
    )
    from .user import (
        MAX_PASSWORD_LENGTH,
        MIN_PASSWORD_LENGTH,
        Invitation,
        InvitationPurpose,
        Role,
        User,
        dummy_password_check,
        login_blocked_until,
        reserve_login_attempt,
    )
