"""The flat, JSON-ready record of one published listing.

`build_records(day)` is the single read of live tables a release makes: the publisher turns
these records into HSDS, CSV and GeoJSON, the PDF renderer prints them, and county coverage
is computed from them. Nothing downstream of a release reads live tables again.

It is one Core query (listing, live revision, organization): no ORM object per row, since a
release reads every published listing (10,000 rows: the ORM spent seconds building objects
the record copies at once). Eligibility is the same rule the portal shows
(`eligibility.ListingFacts`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
from sqlalchemy import Text, cast

from models.base import db
from models.certifications.certification import Certification
from models.listings.eligibility import CertificationIndex, ListingFacts, eligibility
from models.listings.fields import hours_lines, record_values
from models.listings.listing import CountyRole, Listing, ListingRevision
from models.organizations.organization import Organization, OrganizationStatus
from models.reference.tables import ServiceType, county_names


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def listing_record(
    row: Any,
    st: ServiceType,
    county_names: dict[str, str],
    certs: list[Certification],
) -> dict[str, Any]:
    """The record of one row of `published_rows` (listing, live revision, organization)."""
    d = orjson.loads(row.data_text)
    return {
        "id": row.uuid,
        "listing_id": row.id,
        "revision": row.number,
        "organization": {
            "id": row.org_uuid,
            "name": row.dba or row.legal_name,
            "legal_name": row.legal_name,
            "website": row.org_website,
            "email": row.org_email,
            "phone": row.org_phone,
            "ein": row.ein,
            "npi": row.npi,
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
        "verified_at": _iso(row.verified_at),
        "approved_at": _iso(row.decided_at),
        "modified_at": _iso(max(filter(None, [row.decided_at, row.verified_at]))),
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


def published_rows() -> list[Any]:
    """Every listing with a live revision: listing, revision and organization columns, one query."""
    lst, rev, org = Listing.__table__, ListingRevision.__table__, Organization.__table__
    return db.session.execute(
        db.select(
            lst.c.id,
            lst.c.uuid,
            lst.c.organization_id,
            lst.c.service_type_code,
            lst.c.is_suspended,
            lst.c.suspended_reason,
            lst.c.verified_at,
            rev.c.number,
            rev.c.state,
            cast(rev.c.data, Text).label("data_text"),  # parsed here, and hashed as read
            rev.c.decided_at,
            org.c.uuid.label("org_uuid"),
            org.c.legal_name,
            org.c.dba,
            org.c.website.label("org_website"),
            org.c.email.label("org_email"),
            org.c.phone.label("org_phone"),
            org.c.ein,
            org.c.npi,
            org.c.status.label("org_status"),
        )
        .join(rev, rev.c.id == lst.c.live_revision_id)
        .join(org, org.c.id == lst.c.organization_id)
        .order_by(lst.c.id)
    ).all()


@dataclass
class Snapshot:
    """The published records, and for each service a digest of everything its record is made
    of (its row, its certifications, the service types and county names): equal digests,
    equal records, so a release can reuse what it published before for that service."""

    records: list[dict[str, Any]]
    digests: dict[str, str] = field(default_factory=dict)


def _type_facts(st: ServiceType) -> list[Any]:
    return [
        st.code,
        st.name,
        st.short_name,
        st.pillar,
        st.sort_order,
        st.is_role,
        st.required_certification_codes(),
    ]


def _cert_facts(c: Certification) -> list[Any]:
    return [
        c.type_code,
        c.type.name,
        c.type.rule_citation,
        c.status,
        c.certificate_number,
        c.basis,
        _iso(c.effective_on),
        _iso(c.effective_expiry),
    ]


def read_snapshot(day: date) -> Snapshot:
    """Records of every listing eligible on `day`, ordered by service type and name, with
    each service's input digest."""
    names = county_names()
    types = {st.code: st for st in db.session.scalars(db.select(ServiceType))}
    shared = hashlib.sha256(
        json.dumps(
            [sorted(names.items()), [_type_facts(st) for st in types.values()]], default=str
        ).encode("utf-8")
    )
    rows = published_rows()
    index = CertificationIndex({row.organization_id for row in rows})
    records, digests = [], {}
    cert_bytes: dict[tuple[int, ...], bytes] = {}
    data_at = rows[0]._fields.index("data_text") if rows else 0
    for row in rows:
        st = types[row.service_type_code]
        facts = ListingFacts(
            id=row.id,
            organization_id=row.organization_id,
            service_type=st,
            revision_state=row.state,
            organization_active=row.org_status == OrganizationStatus.ACTIVE,
            is_suspended=row.is_suspended,
            suspended_reason=row.suspended_reason,
        )
        if not eligibility(facts, day, index):
            continue
        wanted = st.required_certification_codes()
        relevant = [
            c
            for c in index.by_org.get(row.organization_id, [])
            if c.is_active_on(day) and c.type_code in wanted
        ]
        records.append(listing_record(row, st, names, relevant))
        h = shared.copy()
        # every column but the status; the revision's JSON hashed as read, not repr'd
        h.update(repr(tuple(row[:data_at]) + tuple(row[data_at + 1 : -1])).encode("utf-8"))
        h.update(row.data_text.encode("utf-8"))
        ids = tuple(c.id for c in relevant)
        facts = cert_bytes.get(ids)
        if facts is None:  # an organization's certifications, once per set
            facts = json.dumps([_cert_facts(c) for c in relevant], default=str).encode("utf-8")
            cert_bytes[ids] = facts
        h.update(facts)
        digests[row.uuid] = h.hexdigest()[:32]
    records.sort(key=lambda r: (r["sort_order"], r["name"].lower(), r["id"]))
    return Snapshot(records, digests)


def build_records(day: date) -> list[dict[str, Any]]:
    """Records of every listing eligible on `day`, ordered by service type and name."""
    return read_snapshot(day).records
