"""The flat, JSON-ready record of one published listing.

`build_records(day)` is the single read of live tables a release makes: the publisher turns
these records into HSDS, CSV and GeoJSON, the PDF renderer prints them, and county coverage
is computed from them. Nothing downstream of a release reads live tables again.

It is one Core query (listing, live revision, organization): no ORM object per row, since a
release reads every published listing (10,000 rows: the ORM spent seconds building objects
the record copies at once). Eligibility is the same rule the portal shows
(`eligibility.ListingFacts`)."""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
from sqlalchemy import Text, cast

from models.base import db
from models.certifications.certification import Certification
from models.listings import fields as fields_module
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
    # service id -> the JSON its record was read from (a kept record), for `kept_records`
    sources: dict[str, bytes | memoryview] = field(default_factory=dict, repr=False)


def record_version() -> str:
    """What every record is made with besides its inputs: the code that shapes it."""
    global _RECORD_VERSION
    if _RECORD_VERSION is None:
        h = hashlib.sha256()
        for module in (__file__, fields_module.__file__):
            with open(module, "rb") as fh:
                h.update(fh.read())
        _RECORD_VERSION = h.hexdigest()[:32]
    return _RECORD_VERSION


_RECORD_VERSION: str | None = None


class KeptRecords:
    """The records a release kept for the next build (`kept_records`): a service whose digest
    is the kept one takes the kept record, parsed from its JSON, instead of being made again.
    Anything that does not read back whole (another code version, a short or damaged file)
    is simply made again."""

    def __init__(self, index: bytes, blob: bytes) -> None:
        self.blob = memoryview(blob)
        self.entries: dict[str, list[Any]] = {}
        with contextlib.suppress(orjson.JSONDecodeError, AttributeError, TypeError):
            meta = orjson.loads(index)
            if meta.get("version") == record_version() and meta.get("size") == len(blob):
                self.entries = meta["services"]

    def source(self, sid: str, digest: str) -> memoryview | None:
        """The kept record's JSON, if it was made from the same inputs (not parsed)."""
        entry = self.entries.get(sid)
        try:
            if entry is None or entry[0] != digest:
                return None
            source = self.blob[entry[1] : entry[1] + entry[2]]
            return source if len(source) == entry[2] else None
        except (TypeError, IndexError, KeyError):  # an index this code did not write
            return None

    def get(self, sid: str, digest: str) -> tuple[dict[str, Any], memoryview] | None:
        """The kept record and its JSON, if it was made from the same inputs and reads back."""
        source = self.source(sid, digest)
        if source is None:
            return None
        try:
            record = orjson.loads(source)
        except orjson.JSONDecodeError:
            return None
        return (record, source) if isinstance(record, dict) and record.get("id") == sid else None


def record_json(record: dict[str, Any]) -> bytes:
    """A record as a release keeps it (`kept_records`)."""
    return orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS)


def kept_records(snapshot: Snapshot) -> tuple[bytes, bytes]:
    """The snapshot's records for the next build: (index, bytes), read by `KeptRecords`."""
    parts, services, at = [], {}, 0
    for r in snapshot.records:
        sid = r["id"]
        body = snapshot.sources.get(sid)
        if body is None:
            body = record_json(r)
        parts.append(body)
        services[sid] = [snapshot.digests[sid], at, len(body)]
        at += len(body)
    index = {"version": record_version(), "size": at, "services": services}
    return orjson.dumps(index), b"".join(parts)


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


def read_snapshot(day: date, kept: KeptRecords | None = None) -> Snapshot:
    """Records of every listing eligible on `day`, ordered by service type and name, with
    each service's input digest. For a release build (`kept` given), a service whose digest
    is that of the record this process's last build had takes that record, or else that of
    a `kept` record, parsed."""
    names = county_names()
    types = {st.code: st for st in db.session.scalars(db.select(ServiceType))}
    shared = hashlib.sha256(
        json.dumps(
            [sorted(names.items()), [_type_facts(st) for st in types.values()]], default=str
        ).encode("utf-8")
    )
    rows = published_rows()
    index = CertificationIndex({row.organization_id for row in rows})
    records, digests, sources = [], {}, {}
    cert_bytes: dict[tuple[int, ...], bytes] = {}
    relevant_of: dict[tuple[int, str], list[Certification]] = {}
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
        relevant = relevant_of.get((row.organization_id, st.code))
        if relevant is None:  # once per organization and service type
            wanted = st.required_certification_codes()
            relevant = relevant_of[row.organization_id, st.code] = [
                c
                for c in index.by_org.get(row.organization_id, [])
                if c.is_active_on(day) and c.type_code in wanted
            ]
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
        digest = digests[row.uuid] = h.hexdigest()[:32]
        if kept is None:
            records.append(listing_record(row, st, names, relevant))
            continue
        last = _LAST.get(row.uuid)
        if last is not None and last[0] == digest:  # this process made or read it last build
            records.append(last[1])
            if (source := kept.source(row.uuid, digest)) is not None:
                sources[row.uuid] = source
        elif (found := kept.get(row.uuid, digest)) is not None:
            records.append(found[0])
            sources[row.uuid] = found[1]
        else:
            records.append(listing_record(row, st, names, relevant))
    records.sort(key=lambda r: (r["sort_order"], r["name"].lower(), r["id"]))
    if kept is not None:  # a release build: the next one in this process starts from these
        _LAST.clear()
        _LAST.update((r["id"], (digests[r["id"]], r)) for r in records)
    return Snapshot(records, digests, sources)


# this process's last release build's records, id -> (digest, record): equal digests, equal
# records, so the next build takes them as they are (records are never changed once made)
_LAST: dict[str, tuple[str, dict[str, Any]]] = {}


def build_records(day: date) -> list[dict[str, Any]]:
    """Records of every listing eligible on `day`, ordered by service type and name."""
    return read_snapshot(day).records
