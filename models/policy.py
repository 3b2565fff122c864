"""The permission policy: one `can(user, action, target)` that views and templates ask.

Composed from small predicates. A provider only ever reaches their own organization's
objects; views turn a refusal on another organization's object into a 404 so ids leak nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from models.certifications.certification import Certification, CertificationStatus, Document
from models.listings.listing import Listing, ListingRevision, RevisionState
from models.organizations.organization import Organization
from models.organizations.user import Role, User

# ---- small parts


def is_signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def is_staff(user) -> bool:
    return is_signed_in(user) and user.role in (Role.REVIEWER, Role.ADMIN)


def is_admin(user) -> bool:
    return is_signed_in(user) and user.role == Role.ADMIN


def is_provider(user) -> bool:
    return is_signed_in(user) and user.role == Role.PROVIDER


def org_of(target: Any) -> int | None:
    if isinstance(target, Organization):
        return target.id
    if isinstance(target, ListingRevision):
        return target.listing.organization_id
    return getattr(target, "organization_id", None)


def same_org(user, target) -> bool:
    return (
        is_provider(user)
        and user.organization_id is not None
        and user.organization_id == org_of(target)
    )


def member_of_active_org(user, target) -> bool:
    return same_org(user, target) and user.organization.is_active


def org_admin_of(user, target) -> bool:
    return member_of_active_org(user, target) and user.is_org_admin


# ---- rules: (action, target type) -> predicate

Rule = Callable[[User, Any], bool]

RULES: dict[tuple[str, type | None], Rule] = {
    # areas
    ("use_portal", None): lambda u, t: is_provider(u),
    ("review", None): lambda u, t: is_staff(u),
    ("manage", None): lambda u, t: is_admin(u),
    ("publish", None): lambda u, t: is_admin(u),
    ("view_audit", None): lambda u, t: is_admin(u),
    ("view_coverage", None): lambda u, t: is_staff(u),
    # organizations
    ("view", Organization): lambda u, t: is_staff(u) or same_org(u, t),
    ("edit", Organization): lambda u, t: is_admin(u),
    ("invite", Organization): lambda u, t: is_admin(u) or org_admin_of(u, t),
    ("create_listing", Organization): lambda u, t: member_of_active_org(u, t),
    ("set_capacity_reminders", Organization): lambda u, t: org_admin_of(u, t),
    ("submit_certification", Organization): lambda u, t: member_of_active_org(u, t),
    # listings
    ("view", Listing): lambda u, t: is_staff(u) or same_org(u, t),
    ("edit", Listing): lambda u, t: member_of_active_org(u, t),
    ("attest", Listing): lambda u, t: member_of_active_org(u, t) and t.live_revision_id is not None,
    # live capacity: staff of the owning organization, for listings that have a live version
    ("set_capacity", Listing): lambda u, t: (
        member_of_active_org(u, t)
        and t.live_revision_id is not None
        and t.service_type.has_capacity
    ),
    ("suspend", Listing): lambda u, t: is_staff(u),
    # revisions
    ("view", ListingRevision): lambda u, t: is_staff(u) or same_org(u, t),
    ("edit", ListingRevision): lambda u, t: member_of_active_org(u, t) and t.is_editable,
    ("submit", ListingRevision): lambda u, t: member_of_active_org(u, t) and t.is_editable,
    ("withdraw", ListingRevision): lambda u, t: (
        member_of_active_org(u, t) and t.can_become(RevisionState.WITHDRAWN)
    ),
    ("discard", ListingRevision): lambda u, t: (
        member_of_active_org(u, t)
        and t.state == RevisionState.DRAFT
        and t.listing.live_revision_id is not None
    ),
    ("decide", ListingRevision): lambda u, t: is_staff(u) and t.is_pending_review,
    ("claim", ListingRevision): lambda u, t: is_staff(u) and t.is_pending_review,
    ("assign", ListingRevision): lambda u, t: is_admin(u) and t.is_pending_review,
    ("comment", ListingRevision): lambda u, t: is_staff(u),
    # certifications and documents
    ("view", Certification): lambda u, t: is_staff(u) or same_org(u, t),
    ("withdraw", Certification): lambda u, t: (
        member_of_active_org(u, t) and t.can_become(CertificationStatus.WITHDRAWN)
    ),
    ("upload", Certification): lambda u, t: member_of_active_org(u, t) and t.is_open,
    ("decide", Certification): lambda u, t: is_staff(u),
    ("claim", Certification): lambda u, t: is_staff(u),
    ("assign", Certification): lambda u, t: is_admin(u),
    ("comment", Certification): lambda u, t: is_staff(u),
    ("download", Document): lambda u, t: is_staff(u) or same_org(u, t),
    ("verify", Document): lambda u, t: is_staff(u),
    # people
    ("manage", User): lambda u, t: is_admin(u),
    ("remove_colleague", User): lambda u, t: is_admin(u) or (org_admin_of(u, t) and t.id != u.id),
}


def can(user, action: str, target: Any = None) -> bool:
    """True when `user` may do `action` to `target` (None for area-level actions)."""
    if not is_signed_in(user):
        return False
    key_type = None if target is None else type(target)
    rule = RULES.get((action, key_type))
    if rule is None:
        # allow subclasses / proxies
        for (a, t), r in RULES.items():
            if a == action and t is not None and target is not None and isinstance(target, t):
                rule = r
                break
    if rule is None:
        raise KeyError(
            f"no permission rule for {action!r} on {key_type.__name__ if key_type else 'None'}"
        )
    return bool(rule(user, target))
