"""Operations on provider organizations: create, edit, deactivate, reactivate.

Deactivating an organization stops its users signing in (User.can_sign_in checks the
organization), ends their sessions at once, and tells the publisher that each of its listings
changed: publish eligibility already requires an active organization, so they leave the next
release."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, update

from models import audit
from models.base import WorkflowError, db, utcnow
from models.listings.listing import Listing
from models.organizations.organization import Organization, OrganizationStatus
from models.organizations.user import User, UserSession
from models.publishing.release import mark_changed

EDITABLE_FIELDS = (
    "legal_name",
    "dba",
    "ein",
    "npi",
    "website",
    "email",
    "phone",
    "contact_name",
    "description",
)


def organization_snapshot(org: Organization) -> dict[str, Any]:
    snap = {f: getattr(org, f) for f in EDITABLE_FIELDS}
    snap["status"] = org.status
    return snap


def _name_taken(legal_name: str, exclude_id: int | None = None) -> bool:
    q = db.select(func.count(Organization.id)).where(
        func.lower(Organization.legal_name) == legal_name.strip().lower()
    )
    if exclude_id is not None:
        q = q.where(Organization.id != exclude_id)
    return bool(db.session.scalar(q))


def create_organization(fields: dict[str, Any], *, by: User | str) -> Organization:
    values = {k: (fields.get(k) or "") for k in EDITABLE_FIELDS}
    values["legal_name"] = values["legal_name"].strip()
    if not values["legal_name"]:
        raise WorkflowError("An organization needs a legal name.")
    if _name_taken(values["legal_name"]):
        raise WorkflowError(f"An organization named {values['legal_name']!r} already exists.")
    org = Organization(**values, status=OrganizationStatus.ACTIVE.value)
    db.session.add(org)
    db.session.flush()
    audit.record(
        "organization.create",
        actor=by,
        target=org,
        organization_id=org.id,
        after=organization_snapshot(org),
    )
    return org


def update_organization(org: Organization, fields: dict[str, Any], *, by: User) -> dict[str, Any]:
    """Apply the whitelisted fields; returns {field: (before, after)} for what changed."""
    changes = {}
    for k in EDITABLE_FIELDS:
        if k not in fields:
            continue
        new = (fields[k] or "").strip() if isinstance(fields[k], str) else fields[k]
        if new != getattr(org, k):
            changes[k] = (getattr(org, k), new)
    if "legal_name" in changes:
        if not changes["legal_name"][1]:
            raise WorkflowError("An organization needs a legal name.")
        if _name_taken(changes["legal_name"][1], exclude_id=org.id):
            raise WorkflowError(
                f"An organization named {changes['legal_name'][1]!r} already exists."
            )
    if not changes:
        return {}
    for k, (_old, new) in changes.items():
        setattr(org, k, new)
    db.session.flush()
    audit.record(
        "organization.update",
        actor=by,
        target=org,
        organization_id=org.id,
        before={k: v[0] for k, v in changes.items()},
        after={k: v[1] for k, v in changes.items()},
    )
    # a renamed organization changes what its published listings say
    if {"legal_name", "dba", "website", "email", "phone"} & changes.keys():
        _mark_listings(org, "organization changed")
    return changes


def _mark_listings(org: Organization, reason: str) -> int:
    ids = db.session.scalars(db.select(Listing.id).where(Listing.organization_id == org.id)).all()
    for lid in ids:
        mark_changed(lid, reason)
    return len(ids)


def deactivate_organization(org: Organization, *, by: User, reason: str = "") -> int:
    """Returns how many listings were marked to leave the next release."""
    OrganizationStatus.check_transition(
        org.status, OrganizationStatus.INACTIVE, message=f"{org.name} is already deactivated."
    )
    before = organization_snapshot(org)
    org.status = OrganizationStatus.INACTIVE.value
    org.deactivated_at = utcnow()
    org.deactivated_by_id = by.id
    user_ids = db.session.scalars(db.select(User.id).where(User.organization_id == org.id)).all()
    if user_ids:
        db.session.execute(
            update(UserSession)
            .where(UserSession.user_id.in_(user_ids), UserSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    marked = _mark_listings(org, "organization deactivated")
    db.session.flush()
    audit.record(
        "organization.deactivate",
        actor=by,
        target=org,
        organization_id=org.id,
        before=before,
        after={
            **organization_snapshot(org),
            "reason": reason,
            "sessions_ended_for": len(user_ids),
            "listings_marked": marked,
        },
    )
    return marked


def reactivate_organization(org: Organization, *, by: User) -> int:
    OrganizationStatus.check_transition(
        org.status, OrganizationStatus.ACTIVE, message=f"{org.name} is already active."
    )
    before = organization_snapshot(org)
    org.status = OrganizationStatus.ACTIVE.value
    org.deactivated_at = None
    org.deactivated_by_id = None
    marked = _mark_listings(org, "organization reactivated")
    db.session.flush()
    audit.record(
        "organization.reactivate",
        actor=by,
        target=org,
        organization_id=org.id,
        before=before,
        after=organization_snapshot(org),
    )
    return marked
