"""Publish eligibility: the one rule deciding whether a listing is in a release.

A listing is published when its live revision is approved, its organization is active, it is
not suspended, and every certification its service type requires is active on the release date.
Used by the publisher, the provider's "why is this not public?" panel and the tests."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import selectinload

from models.base import db
from models.certifications.certification import (
    ACTIVE_STATUSES,
    Certification,
    certification_listing,
)
from models.listings.listing import Listing, RevisionState
from models.reference.tables import CertificationScope, CertificationType, ServiceType


@dataclass
class Eligibility:
    listing_id: int
    reasons: list[str] = field(default_factory=list)

    @property
    def is_public(self) -> bool:
        return not self.reasons

    def __bool__(self) -> bool:
        return self.is_public


class CertificationIndex:
    """Active-status certifications of a set of organizations, loaded in two queries."""

    def __init__(self, organization_ids: Iterable[int]):
        ids = set(organization_ids)
        self.by_org: dict[int, list[Certification]] = defaultdict(list)
        self.listings_of: dict[int, set[int]] = defaultdict(set)
        if not ids:
            return
        certs = db.session.scalars(
            db.select(Certification)
            .where(
                Certification.organization_id.in_(ids),
                Certification.status.in_([s.value for s in ACTIVE_STATUSES]),
            )
            .options(selectinload(Certification.listings).raiseload("*"))
        ).all()
        for c in certs:
            self.by_org[c.organization_id].append(c)
        if certs:
            rows = db.session.execute(
                db.select(
                    certification_listing.c.certification_id, certification_listing.c.listing_id
                ).where(certification_listing.c.certification_id.in_([c.id for c in certs]))
            )
            for cert_id, listing_id in rows:
                self.listings_of[cert_id].add(listing_id)
        self.scopes = {ct.code: ct.scope for ct in db.session.scalars(db.select(CertificationType))}

    def holds(self, org_id: int, type_code: str, on: date, listing_id: int | None) -> bool:
        for c in self.by_org.get(org_id, ()):
            if c.type_code != type_code or not c.is_active_on(on):
                continue
            if listing_id is None or self.scopes.get(type_code) == CertificationScope.ORGANIZATION:
                return True
            if listing_id in self.listings_of.get(c.id, ()):
                return True
        return False


@dataclass(frozen=True)
class ListingFacts:
    """What the rule reads of a listing: from an ORM Listing (`of`) or from a row of the
    publisher's one query (models/listings/snapshot.py)."""

    id: int
    organization_id: int
    service_type: ServiceType
    revision_state: str | None  # the live revision's state; None: nothing approved yet
    organization_active: bool
    is_suspended: bool
    suspended_reason: str | None

    @classmethod
    def of(cls, listing: Listing) -> ListingFacts:
        live = listing.live_revision
        return cls(
            id=listing.id,
            organization_id=listing.organization_id,
            service_type=listing.service_type,
            revision_state=live.state if live is not None else None,
            organization_active=listing.organization.is_active,
            is_suspended=listing.is_suspended,
            suspended_reason=listing.suspended_reason,
        )


def eligibility(
    listing: Listing | ListingFacts, on: date, certs: CertificationIndex | None = None
) -> Eligibility:
    facts = listing if isinstance(listing, ListingFacts) else ListingFacts.of(listing)
    result = Eligibility(facts.id)
    if facts.revision_state != RevisionState.APPROVED:
        result.reasons.append("No version of this listing has been approved yet.")
    if not facts.organization_active:
        result.reasons.append("The organization is deactivated.")
    if facts.is_suspended:
        result.reasons.append(f"Suspended by DMH: {facts.suspended_reason or 'no reason given'}.")
    certs = certs or CertificationIndex([facts.organization_id])
    stype: ServiceType = facts.service_type
    if stype.required_certification_code and not certs.holds(
        facts.organization_id, stype.required_certification_code, on, facts.id
    ):
        name = (
            stype.required_certification.name
            if stype.required_certification
            else stype.required_certification_code
        )
        result.reasons.append(
            f"A {stype.short_name} needs an active {name} certification covering this listing."
        )
    if stype.org_certification_code and not certs.holds(
        facts.organization_id, stype.org_certification_code, on, None
    ):
        name = (
            stype.org_certification.name
            if stype.org_certification
            else stype.org_certification_code
        )
        result.reasons.append(
            f"A {stype.short_name} must be run by an organization holding an active {name} certification."
        )
    return result


def published_listings(on: date) -> list[Listing]:
    """Every listing eligible for a release on `on`, with live revisions loaded (few queries)."""
    from models.listings.listing import ListingRevision

    listings = (
        db.session.scalars(
            db.select(Listing)
            .where(Listing.live_revision_id.is_not(None))
            .options(selectinload(Listing.live_revision).selectinload(ListingRevision.counties))
            .order_by(Listing.id)
        )
        .unique()
        .all()
    )
    index = CertificationIndex({lst.organization_id for lst in listings})
    return [lst for lst in listings if eligibility(lst, on, index)]
