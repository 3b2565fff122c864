"""A published listing record as an HSDS 3.0 service document, plus the DMH taxonomies.

Ids are stable: the service and organization ids are the database UUIDs; every other id
(location, phone, schedule, attribute, term ...) is a uuid5 of its parent's id and a key, so a
listing keeps all its HSDS ids from one release to the next. Empty values are omitted (HSDS
forbids null). Where HSDS has no term, `mo_dmh_*` extension fields carry the value; they are
described by the profile (see profile.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from models.listings import (
    COST_MODELS,
    LANGUAGES,
    POPULATIONS,
    REFERRAL_SOURCES,
    extension_values,
    phone_id,
    stable_id,
    stable_ids,
)
from models.reference import zip_info

# phone kinds of the registry -> RFC 6350 types HSDS names
PHONE_TYPES = {
    "voice": "voice",
    "text": "text",
    "tty": "textphone",
    "videophone": "video",
    "fax": "fax",
}
DAY_CODES = {
    "mon": "MO",
    "tue": "TU",
    "wed": "WE",
    "thu": "TH",
    "fri": "FR",
    "sat": "SA",
    "sun": "SU",
}

FEATURES = {
    "open_24_7": ("Open 24/7", "Open 24 hours a day, 7 days a week."),
    "walk_in": ("Walk-in", "People can walk in without an appointment or referral."),
    "le_dropoff": ("Law enforcement drop-off", "Accepts people brought by law enforcement."),
    "no_one_turned_away": ("No one turned away", "No one is turned away for inability to pay."),
    "nonviolent_only": ("Nonviolent only", "Serves people who are not violent at the time."),
}


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    """Drop None, empty strings and empty lists (HSDS omits empty fields)."""
    return {k: v for k, v in d.items() if v is not None and v != "" and v != []}


# ------------------------------------------------------------------ taxonomies


def taxonomies(reference: dict[str, Any]) -> list[dict[str, Any]]:
    """The DMH taxonomies, each with its terms: [{taxonomy..., "terms": [...]}]."""
    spec = [
        (
            "service_type",
            "MO DMH Crisis Service Type",
            "Missouri Department of Mental Health crisis service types (certification categories).",
            [
                (t["code"], t["name"], t.get("description") or t["name"])
                for t in reference.get("service_types", [])
            ],
        ),
        (
            "feature",
            "MO DMH Crisis Service Features",
            "How a Missouri crisis service can be reached and who it accepts.",
            [(code, name, desc) for code, (name, desc) in FEATURES.items()],
        ),
        (
            "population",
            "MO DMH Population Served",
            "Groups of people a Missouri crisis service is designed for.",
            [(code, name, f"Designed for {name.lower()}.") for code, name in POPULATIONS.items()],
        ),
        (
            "referral_source",
            "MO DMH Referral Source",
            "Who can refer or bring a person to the service.",
            [
                (code, name, f"Accepts referrals from: {name}.")
                for code, name in REFERRAL_SOURCES.items()
            ],
        ),
    ]
    out = []
    for key, name, description, terms in spec:
        tax_id = stable_id("taxonomy", key)
        out.append(
            {
                "id": tax_id,
                "name": name,
                "description": description,
                "version": "1",
                "key": key,
                "terms": [
                    {
                        "id": stable_id("term", key, code),
                        "code": code,
                        "name": term_name,
                        "description": term_desc,
                        "taxonomy": name,
                        "taxonomy_id": tax_id,
                    }
                    for code, term_name, term_desc in terms
                ],
            }
        )
    return out


def term_index(taxes: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[dict, dict]]:
    """(taxonomy key, code) -> (term, the attribute's `taxonomy_term` object): built once per
    release and shared by every attribute naming the term (the writers never change it)."""
    return {
        (t["key"], term["code"]): (
            term,
            _clean({**{k: term[k] for k in TERM_KEYS}, "taxonomy_detail": taxonomy_doc(t)}),
        )
        for t in taxes
        for term in t["terms"]
    }


def taxonomy_doc(t: dict[str, Any]) -> dict[str, Any]:
    return {k: t[k] for k in ("id", "name", "description", "version")}


# ------------------------------------------------------------------ pieces


def _time(hhmm: str) -> str:
    if hhmm in ("24:00", "23:59"):
        return "23:59:59"
    return f"{hhmm}:00" if len(hhmm) == 5 else hhmm


def schedules(sid: str, hours: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Weekly opening hours, then one schedule per holiday closure.

    Ids stay put when hours change: a weekly schedule's id comes from the first day and slot
    it covers (Monday's first opening), not from its times, so "Mon-Fri 8-5" becoming
    "Mon-Fri 9-5" is an update of the same schedule. A closure is a schedule valid on that one
    date with no opening time (the profile says so); its id comes from the date."""
    if not hours:
        return []
    closure_list = sorted(hours.get("closures") or [], key=lambda c: c["date"])
    closures = "; ".join(
        f"Closed {c['date']}" + (f" ({c['note']})" if c.get("note") else "") for c in closure_list
    )
    notes = "; ".join(x for x in [hours.get("notes") or "", closures] if x)
    out = []
    if hours.get("is_24_7"):
        out.append(
            _clean(
                {
                    "id": stable_id("schedule", sid, "24x7"),
                    "freq": "WEEKLY",
                    "interval": 1,
                    "wkst": "MO",
                    "byday": "MO,TU,WE,TH,FR,SA,SU",
                    "opens_at": "00:00:00",
                    "closes_at": "23:59:59",
                    "description": "Open 24 hours a day, 7 days a week",
                    "notes": notes,
                }
            )
        )
    else:
        groups: dict[tuple[str, str], dict[str, Any]] = {}
        for day, code in DAY_CODES.items():
            for slot, (opens, closes) in enumerate((hours.get("weekly") or {}).get(day) or []):
                group = groups.setdefault((opens, closes), {"anchor": (code, slot), "days": []})
                group["days"].append(code)
        for (opens, closes), group in sorted(groups.items()):
            days = group["days"]
            out.append(
                _clean(
                    {
                        "id": stable_id("schedule", sid, *group["anchor"]),
                        "freq": "WEEKLY",
                        "interval": 1,
                        "wkst": "MO",
                        "byday": ",".join(days),
                        "opens_at": _time(opens),
                        "closes_at": _time(closes),
                        "description": f"{', '.join(days)} {opens}–{closes} (US Central time)",
                        "notes": notes,
                    }
                )
            )
    for c in closure_list:
        out.append(
            _clean(
                {
                    "id": stable_id("closure", sid, c["date"]),
                    "valid_from": c["date"],
                    "valid_to": c["date"],
                    "description": f"Closed on {c['date']}"
                    + (f" ({c['note']})" if c.get("note") else ""),
                    "notes": c.get("note"),
                }
            )
        )
    return out


def _primary_certification(record: dict[str, Any]) -> dict[str, Any] | None:
    certs = [c for c in record.get("certifications") or [] if c.get("expires_on")]
    certs.sort(key=lambda c: c["expires_on"])
    return certs[0] if certs else (record.get("certifications") or [None])[0]


def coordinates_source(record: dict[str, Any]) -> str | None:
    """Where a location's coordinates come from: the provider ("provided", reviewed like any
    field) or, when the provider gave none, the centroid of its ZIP code ("postal_code_centroid",
    which several addresses share)."""
    lat, lon = record.get("latitude"), record.get("longitude")
    if lat is None or lon is None:
        return None
    info = zip_info(((record.get("address") or {}).get("postal_code")) or "")
    if info is not None and (round(info.latitude, 5), round(info.longitude, 5)) == (
        round(float(lat), 5),
        round(float(lon), 5),
    ):
        return "postal_code_centroid"
    return "provided"


def _counties_with_role(record: dict[str, Any], role: str) -> str | None:
    """FIPS codes of the counties the service covers in `role` (988 centers: primary, backup),
    space-separated; None when there are none."""
    codes = [c["fips"] for c in record.get("counties") or [] if c.get("role") == role]
    return " ".join(sorted(codes)) or None


def _last_modified(record: dict[str, Any]) -> str | None:
    """UTC with milliseconds, as HSDS asks."""
    value = record.get("modified_at")
    if not value:
        return None
    dt = datetime.fromisoformat(value)
    if dt.utcoffset() is None:
        dt = dt.replace(tzinfo=UTC)
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def organization_doc(org: dict[str, Any]) -> dict[str, Any]:
    description = org.get("legal_name") or org["name"]
    if description == org["name"]:
        description = f"{org['name']}, a provider of crisis services listed in the Missouri Crisis Services Registry."
    identifiers = []
    if org.get("ein"):
        identifiers.append(
            {
                "id": stable_id("orgid", org["id"], "ein"),
                "identifier_scheme": "US-EIN",
                "identifier_type": "Employer Identification Number",
                "identifier": org["ein"],
            }
        )
    if org.get("npi"):
        identifiers.append(
            {
                "id": stable_id("orgid", org["id"], "npi"),
                "identifier_type": "National Provider Identifier",
                "identifier": org["npi"],
            }
        )
    return _clean(
        {
            "id": org["id"],
            "name": org["name"],
            "description": description,
            "website": org.get("website"),
            "email": org.get("email"),
            "organization_identifiers": identifiers,
            "phones": [
                {
                    "id": stable_id("phone", org["id"], "main"),
                    "number": org["phone"],
                    "type": "voice",
                }
            ]
            if org.get("phone")
            else [],
        }
    )


def location_of(
    record: dict[str, Any], county_names: dict[str, str] | None = None
) -> dict[str, Any] | None:
    addr = record.get("address")
    if not addr or not addr.get("address_1"):
        return None
    sid = record["id"]
    loc_id = stable_id("location", sid, "site")
    county = (county_names or {}).get(addr.get("county_fips") or "") or next(
        (c["name"] for c in record.get("counties") or [] if c["fips"] == addr.get("county_fips")),
        None,
    )
    return _clean(
        {
            "id": loc_id,
            "location_type": "physical",
            "name": record["name"],
            "organization_id": record["organization"]["id"],
            "latitude": record.get("latitude"),
            "longitude": record.get("longitude"),
            "external_identifier": addr.get("county_fips"),
            "external_identifier_type": "US county FIPS" if addr.get("county_fips") else None,
            "addresses": [
                _clean(
                    {
                        "id": stable_id("address", loc_id),
                        "location_id": loc_id,
                        "address_1": addr["address_1"],
                        "address_2": addr.get("address_2"),
                        "city": addr.get("city"),
                        "region": county,
                        "state_province": addr.get("state") or "MO",
                        "postal_code": addr.get("postal_code"),
                        "country": "US",
                        "address_type": "physical",
                    }
                )
            ],
            "accessibility": [
                {
                    "id": stable_id("accessibility", loc_id),
                    "location_id": loc_id,
                    "description": record["accessibility"],
                }
            ]
            if record.get("accessibility")
            else [],
        }
    )


def _phones(record: dict[str, Any]) -> list[dict[str, Any]]:
    sid = record["id"]
    return [
        _clean(
            {
                "id": p.get("id") or phone_id(sid, i, p["number"]),
                "service_id": sid,
                "number": p["number"],
                "type": PHONE_TYPES.get(p.get("kind") or "voice", "voice"),
                "description": p.get("description"),
            }
        )
        for i, p in enumerate(record.get("phones") or [])
    ]


def _service_at_locations(
    record: dict[str, Any], county_names: dict[str, str] | None
) -> list[dict[str, Any]]:
    """The site (a physical location) and the chat (a virtual one), where given."""
    sid = record["id"]
    sals = []
    loc = location_of(record, county_names)
    if loc:
        sals.append(
            {
                "id": stable_id("sal", sid, "site"),
                "service_id": sid,
                "location_id": loc["id"],
                "location": loc,
            }
        )
    if record.get("chat_url"):
        chat_loc = {
            "id": stable_id("location", sid, "chat"),
            "location_type": "virtual",
            "name": "Chat",
            "url": record["chat_url"],
            "organization_id": record["organization"]["id"],
        }
        sals.append(
            {
                "id": stable_id("sal", sid, "chat"),
                "service_id": sid,
                "location_id": chat_loc["id"],
                "description": "Online chat",
                "location": chat_loc,
            }
        )
    return sals


def _service_areas(record: dict[str, Any]) -> list[dict[str, Any]]:
    """One per county the service covers (about 17 a service): no member is ever empty."""
    sid = record["id"]
    counties = record.get("counties") or []
    ids = stable_ids(("area", sid), [c["fips"] for c in counties])
    return [
        {
            "id": area_id,
            "service_id": sid,
            "name": f"{c['name']}, MO",
            "description": f"{c.get('role', 'served').capitalize()} county",
            "uri": f"urn:us-fips:{c['fips']}",
        }
        for area_id, c in zip(ids, counties, strict=True)
    ]


def _languages(record: dict[str, Any]) -> list[dict[str, Any]]:
    sid = record["id"]
    return [
        {
            "id": stable_id("language", sid, code),
            "service_id": sid,
            "name": LANGUAGES.get(code, code),
            "code": code,
        }
        for code in record.get("languages") or []
    ]


TERM_KEYS = ("id", "code", "name", "description", "taxonomy", "taxonomy_id")


def _attribute(sid: str, terms: dict, key: str, code: str, link_type: str) -> dict | None:
    found = terms.get((key, code))
    if not found:
        return None
    term, term_doc = found
    return {
        "id": stable_id("attribute", sid, key, code),
        "link_id": sid,
        "link_entity": "service",
        "link_type": link_type,
        "taxonomy_term_id": term["id"],
        "taxonomy_term": term_doc,
    }


def _has_feature(record: dict[str, Any], code: str) -> bool:
    return bool(record.get("is_24_7") if code == "open_24_7" else record.get(code))


def _attributes(record: dict[str, Any], terms: dict) -> list[dict[str, Any]]:
    """Taxonomy terms of the service: its type, features, populations and referral sources."""
    wanted = [("service_type", record["service_type"], "service_type")]
    wanted += [("feature", code, "feature") for code in FEATURES if _has_feature(record, code)]
    wanted += [("population", code, "audience") for code in record.get("populations") or []]
    wanted += [
        ("referral_source", code, "referral") for code in record.get("referral_sources") or []
    ]
    found = (_attribute(record["id"], terms, *w) for w in wanted)
    return [a for a in found if a is not None]


def _fees(record: dict[str, Any]) -> str:
    cost = record.get("cost")
    return "; ".join(
        x for x in [COST_MODELS.get(cost or "", ""), record.get("cost_notes") or ""] if x
    )


def _cost_options(record: dict[str, Any]) -> list[dict[str, Any]]:
    sid, cost = record["id"], record.get("cost")
    if cost == "no_cost":
        return [
            {
                "id": stable_id("cost", sid),
                "service_id": sid,
                "option": "No cost to the person",
                "currency": "USD",
                "amount": 0,
            }
        ]
    if cost:
        return [
            {"id": stable_id("cost", sid), "service_id": sid, "option": COST_MODELS.get(cost, cost)}
        ]
    return []


def _eligibility(record: dict[str, Any]) -> str:
    eligibility = record.get("eligibility_notes") or ""
    if record.get("nonviolent_only"):
        eligibility = "; ".join(x for x in [eligibility, "Nonviolent only"] if x)
    return eligibility


def _certification_extensions(record: dict[str, Any]) -> dict[str, Any]:
    cert = _primary_certification(record) or {}
    return {
        "mo_dmh_certification_status": cert.get("status"),
        "mo_dmh_certification_type": cert.get("type"),
        "mo_dmh_certification_number": cert.get("certificate_number") or None,
        "mo_dmh_certification_expires": cert.get("expires_on"),
    }


def service_document(
    record: dict[str, Any], terms: dict, county_names: dict[str, str] | None = None
) -> dict[str, Any]:
    """The compiled HSDS service for one published listing record."""
    sid = record["id"]
    verified = (record.get("verified_at") or "")[:10]
    doc = _clean(
        {
            "id": sid,
            "organization_id": record["organization"]["id"],
            "name": record["name"],
            "description": record.get("description"),
            "url": record.get("website"),
            "email": record.get("email"),
            "status": "active",
            "application_process": "Walk in; no appointment or referral needed."
            if record.get("walk_in")
            else None,
            "fees_description": _fees(record),
            "accreditations": "; ".join(
                f"{c['name']} ({c['status']})" for c in record.get("certifications") or []
            ),
            "eligibility_description": _eligibility(record),
            "minimum_age": record.get("min_age"),
            "maximum_age": record.get("max_age"),
            "assured_date": verified or None,
            "last_modified": _last_modified(record),
            "phones": _phones(record),
            "schedules": schedules(sid, record.get("hours")),
            "service_areas": _service_areas(record),
            "service_at_locations": _service_at_locations(record, county_names),
            "languages": _languages(record),
            "organization": organization_doc(record["organization"]),
            "cost_options": _cost_options(record),
            "attributes": _attributes(record, terms),
            # extension fields (profile.py describes them)
            "mo_dmh_service_type": record["service_type"],
            **_certification_extensions(record),
            "mo_dmh_max_stay_hours": record.get("max_stay_hours"),
            "mo_dmh_capacity": record.get("capacity"),
            "mo_dmh_capacity_unit": record.get("capacity_unit") if record.get("capacity") else None,
            "mo_dmh_target_response_minutes": record.get("target_response_minutes"),
            "mo_dmh_timezone": "America/Chicago" if record.get("hours") else None,
            "mo_dmh_coordinates": coordinates_source(record),
            "mo_dmh_primary_counties": _counties_with_role(record, "primary"),
            "mo_dmh_backup_counties": _counties_with_role(record, "backup"),
        }
    )
    # the field catalogue's extension properties (models.listings.fields): those above keep their place
    doc.update(extension_values(record))
    return doc
