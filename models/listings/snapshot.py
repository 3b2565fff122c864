"""The flat, JSON-ready record of one published listing.

`build_records(day)` is the single read of live tables a release makes: the publisher turns
these records into HSDS, CSV and GeoJSON, the PDF renderer prints them, and county coverage
is computed from them. Nothing downstream of a release reads live tables again."""

from __future__ import annotations

from datetime import date
from typing import Any

from models.base import db
from models.certifications.certification import Certification
from models.listings.eligibility import CertificationIndex, eligibility
from models.listings.fields import hours_lines, record_values
from models.listings.listing import CountyRole, Listing, ListingRevision
from models.reference.tables import ServiceType, county_names


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def listing_record(
    listing: Listing,
    county_names: dict[str, str],
    certs: list[Certification],
) -> dict[str, Any]:
    rev: ListingRevision = listing.live_revision
    d = rev.data
    org = listing.organization
    st: ServiceType = listing.service_type
    return {
        "id": listing.uuid,
        "listing_id": listing.id,
        "revision": rev.number,
        "organization": {
            "id": org.uuid,
            "name": org.name,
            "legal_name": org.legal_name,
            "website": org.website,
            "email": org.email,
            "phone": org.phone,
            "ein": org.ein,
            "npi": org.npi,
        },
        "service_type": st.code,
        "service_type_name": st.name,
        "service_type_short": st.short_name,
        "pillar": st.pillar,
        "pillar_title": st.pillar_title,
        "sort_order": st.sort_order,
        "is_role": st.is_role,
        "name": d["name"],
        "description": d.get("description", ""),
        "address": d.get("address"),
        "latitude": d.get("latitude"),
        "longitude": d.get("longitude"),
        "counties": [
            {
                "fips": c["fips"],
                "name": county_names.get(c["fips"], c["fips"]),
                "role": c.get("role", CountyRole.SERVED.value),
            }
            for c in sorted(d.get("counties") or [], key=lambda c: c["fips"])
        ],
        "phones": d.get("phones") or [],
        "chat_url": d.get("chat_url", ""),
        "email": d.get("email", ""),
        "website": d.get("website", ""),
        "hours": d.get("hours"),
        "hours_text": hours_lines(d.get("hours")),
        "is_24_7": bool((d.get("hours") or {}).get("is_24_7")),
        "populations": d.get("populations") or [],
        "min_age": d.get("min_age"),
        "max_age": d.get("max_age"),
        "languages": d.get("languages") or [],
        "eligibility_notes": d.get("eligibility_notes", ""),
        "nonviolent_only": bool(d.get("nonviolent_only")),
        "walk_in": bool(d.get("walk_in")),
        "le_dropoff": bool(d.get("le_dropoff")),
        "referral_sources": d.get("referral_sources") or [],
        "target_response_minutes": d.get("target_response_minutes"),
        "cost": d.get("cost"),
        "no_one_turned_away": bool(d.get("no_one_turned_away")),
        "cost_notes": d.get("cost_notes", ""),
        "capacity": d.get("capacity"),
        "capacity_unit": d.get("capacity_unit"),
        "max_stay_hours": d.get("max_stay_hours"),
        "accessibility": d.get("accessibility", ""),
        "exclude_from_print": bool(d.get("exclude_from_print")),
        **record_values(d),  # the fields the catalogue alone declares
        "verified_at": _iso(listing.verified_at),
        "approved_at": _iso(rev.decided_at),
        "modified_at": _iso(max(filter(None, [rev.decided_at, listing.verified_at]))),
        "certifications": [
            {
                "type": c.type_code,
                "name": c.type.name,
                "rule_citation": c.type.rule_citation,
                "status": c.status,
                "certificate_number": c.certificate_number,
                "basis": c.basis,
                "effective_on": _iso(c.effective_on),
                "expires_on": _iso(c.effective_expiry),
            }
            for c in certs
        ],
    }


def build_records(day: date) -> list[dict[str, Any]]:
    """Records of every listing eligible on `day`, ordered by service type and name."""
    from sqlalchemy.orm import selectinload

    names = county_names()
    listings = db.session.scalars(
        db.select(Listing)
        .where(Listing.live_revision_id.is_not(None))
        .options(selectinload(Listing.live_revision))
        .order_by(Listing.id)
    ).all()
    index = CertificationIndex({lst.organization_id for lst in listings})
    records = []
    for lst in listings:
        if not eligibility(lst, day, index):
            continue
        relevant = [
            c
            for c in index.by_org.get(lst.organization_id, [])
            if c.is_active_on(day)
            and c.type_code in lst.service_type.required_certification_codes()
        ]
        records.append(listing_record(lst, names, relevant))
    records.sort(key=lambda r: (r["sort_order"], r["name"].lower(), r["id"]))
    return records
