"""What a listing must say to be submitted for review: the per-type rules (data on ServiceType)
and the invariants of every listing, checked on the normalised `data` of a revision.

`check_listing` is the one judge: the editor shows its messages next to the fields, and
`workflow.submit_revision` refuses a revision it finds fault with, so a bad revision can never
reach a reviewer however it was written. Parsing (phone formats, URLs, dates) is the form's job;
this module judges parsed values."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from .base import WorkflowError, today
from .fields import COST_MODELS, DAYS, LANGUAGES, PHONE_KINDS, POPULATIONS, REFERRAL_SOURCES
from .geo import zip_info
from .listing import CountyRole
from .reference import CoverageKind, FieldRule, HoursRule, ServiceType

MAX_AGE = 120
# upper bounds for free text (characters); the name matches its column
TEXT_LIMITS = {
    "name": 200,
    "description": 2000,
    "eligibility_notes": 1000,
    "cost_notes": 500,
    "accessibility": 1000,
}
ADDRESS_LIMITS = {"address_1": 120, "address_2": 120, "city": 80}
MAX_PHONES = 8
MAX_CLOSURES = 30
MAX_CAPACITY = 1000
MAX_STAY_ANY = 24 * 30  # a month: crisis services are short stays
# Missouri's bounding box with a little margin; coordinates outside it are a typo
MO_LAT = (35.9, 40.7)
MO_LON = (-95.8, -89.0)
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


class ListingRuleError(WorkflowError):
    """A revision that breaks a listing rule; `problems` maps field keys to messages."""

    def __init__(self, problems: dict[str, list[str]]):
        n = sum(len(v) for v in problems.values())
        super().__init__(
            f"This listing has {n} problem{'s' if n != 1 else ''} to fix before it can be submitted."
        )
        self.problems = problems


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def hours_problems(hours: dict[str, Any] | None) -> list[str]:
    """Weekly hours are well-formed: each span opens before it closes (an overnight span is
    stored as two spans, `22:00–24:00` and `00:00–06:00` the next day), spans of a day do not
    overlap, closures are real dates."""
    out: list[str] = []
    if not isinstance(hours, dict):
        return ["Give the opening hours."]
    weekly = hours.get("weekly") or {}
    for day in DAYS:
        spans = weekly.get(day) or []
        parsed = []
        for span in spans:
            if not (
                isinstance(span, list | tuple)
                and len(span) == 2
                and all(isinstance(t, str) and _TIME.match(t) for t in span)
            ):
                out.append(f"{day.title()}: times must look like 08:00.")
                continue
            o, c = _minutes(span[0]), _minutes(span[1])
            if o >= c:
                out.append(f"{day.title()}: {span[0]}–{span[1]} closes before it opens.")
                continue
            parsed.append((o, c))
        parsed.sort()
        for (_o1, c1), (o2, _c2) in zip(parsed, parsed[1:], strict=False):
            if o2 < c1:
                out.append(f"{day.title()}: two opening times overlap.")
                break
    closures = hours.get("closures") or []
    if len(closures) > MAX_CLOSURES:
        out.append(f"List at most {MAX_CLOSURES} holiday closures.")
    seen = set()
    for c in closures:
        try:
            d = date.fromisoformat(c.get("date", ""))
        except (TypeError, ValueError, AttributeError):
            out.append("A holiday closure needs a valid date.")
            continue
        if d in seen:
            out.append(f"{d.isoformat()} is listed twice as a closure.")
        seen.add(d)
    return out


def is_open_around_the_clock(hours: dict[str, Any] | None) -> bool:
    """24/7 either by the flag or by every day being open 00:00–24:00."""
    if not hours:
        return False
    if hours.get("is_24_7"):
        return True
    weekly = hours.get("weekly") or {}
    return all([list(s) for s in weekly.get(d) or []] == [["00:00", "24:00"]] for d in DAYS)


def has_any_hours(hours: dict[str, Any] | None) -> bool:
    if not hours:
        return False
    return bool(hours.get("is_24_7")) or any((hours.get("weekly") or {}).get(d) for d in DAYS)


def _add(problems: dict[str, list[str]], key: str, message: str) -> None:
    problems.setdefault(key, [])
    if message not in problems[key]:
        problems[key].append(message)


def _holds_org_certification(organization, code: str, on: date) -> bool:
    from .eligibility import CertificationIndex

    return CertificationIndex([organization.id]).holds(organization.id, code, on, None)


def check_listing(
    service_type: ServiceType, data: dict[str, Any], organization, *, on: date | None = None
) -> dict[str, list[str]]:
    """Every problem with `data` as a listing of `service_type` run by `organization`,
    keyed by the field key of models.fields (empty when the listing may be submitted)."""
    p: dict[str, list[str]] = {}
    on = on or today()
    st = service_type

    # ---- about
    name = (data.get("name") or "").strip()
    if not name:
        _add(p, "name", "Give the service a name people will recognise.")
    for key, limit in TEXT_LIMITS.items():
        if len(data.get(key) or "") > limit:
            _add(p, key, f"Keep this under {limit} characters.")

    # ---- where
    addr = data.get("address")
    rule = st.site_address_rule
    if rule == FieldRule.REQUIRED and not addr:
        _add(p, "address", f"A {st.short_name} needs the street address of its site.")
    if rule == FieldRule.FORBIDDEN and addr:
        what = "a role, not a facility" if st.is_role else "a service that goes to people"
        _add(p, "address", f"A {st.short_name} is {what}: leave the site address empty.")
    if addr:
        if not (addr.get("address_1") or "").strip() or not (addr.get("city") or "").strip():
            _add(p, "address", "Give the street and the city of the site.")
        for key, limit in ADDRESS_LIMITS.items():
            if len(addr.get(key) or "") > limit:
                _add(p, "address", f"Keep each address line under {limit} characters.")
        info = zip_info(addr.get("postal_code") or "")
        if info is None:
            _add(p, "address", "That ZIP code is not a Missouri ZIP code.")
        elif addr.get("county_fips") and info.county_fips != addr["county_fips"]:
            _add(
                p,
                "address",
                "That ZIP code is not in the chosen county. Check the ZIP code or the county.",
            )
        if not addr.get("county_fips"):
            _add(p, "address", "Choose the county the site is in.")
    lat, lon = data.get("latitude"), data.get("longitude")
    if (lat is None) != (lon is None):
        _add(p, "coordinates", "Give both latitude and longitude, or neither.")
    elif lat is not None and not (MO_LAT[0] <= lat <= MO_LAT[1] and MO_LON[0] <= lon <= MO_LON[1]):
        _add(
            p,
            "coordinates",
            "That point is not in Missouri. Leave the map location empty to use the ZIP code's.",
        )
    if lat is not None and not addr:
        _add(p, "coordinates", "A map location belongs to a site address; leave it empty.")

    counties = data.get("counties") or []
    if st.counties_rule == FieldRule.REQUIRED and not counties:
        _add(p, "counties", f"A {st.short_name} must list the counties it serves.")
    if st.counties_rule == FieldRule.FORBIDDEN and counties:
        _add(p, "counties", f"A {st.short_name} does not list counties served.")
    fips_seen: set[str] = set()
    for c in counties:
        role = c.get("role")
        if c.get("fips") in fips_seen:
            _add(p, "counties", "A county can be listed only once (primary or backup, not both).")
        fips_seen.add(c.get("fips"))
        if st.coverage_kind == CoverageKind.PRIMARY_BACKUP and role not in (
            CountyRole.PRIMARY,
            CountyRole.BACKUP,
        ):
            _add(p, "counties", "A 988 center answers each county as primary or as backup.")
        if st.coverage_kind == CoverageKind.SERVED and role != CountyRole.SERVED:
            _add(p, "counties", "Primary and backup coverage is only for 988 centers.")

    # ---- contact
    phones = data.get("phones") or []
    if not phones:
        _add(p, "phones", "Give at least one phone number people can use.")
    if len(phones) > MAX_PHONES:
        _add(p, "phones", f"List at most {MAX_PHONES} phone numbers.")
    for ph in phones:
        if ph.get("kind") not in PHONE_KINDS:
            _add(p, "phones", "Choose what each number is for (call, text, TTY, videophone).")
        if not re.fullmatch(r"\+[1-9]\d{6,14}", ph.get("number") or ""):
            _add(p, "phones", "Each phone number must be a complete number.")
    if st.is_role and not (phones or data.get("email")):
        _add(p, "phones", f"A {st.short_name} is a role: give the phone or e-mail that reaches it.")
    for key in ("chat_url", "website"):
        v = data.get(key) or ""
        if v and not re.match(r"^https?://[^\s/]+", v):
            _add(p, key, "Use a web address starting with https:// or http://.")

    # ---- hours
    hours = data.get("hours")
    for msg in hours_problems(hours):
        _add(p, "hours", msg)
    always = is_open_around_the_clock(hours)
    if st.hours_rule == HoursRule.ALWAYS and not always:
        _add(p, "hours", f"A {st.short_name} must be open 24 hours a day, 7 days a week.")
    if st.hours_rule == HoursRule.UNDER_24:
        if always:
            _add(
                p,
                "hours",
                f"A {st.short_name} is open less than 24 hours a day; a center open around the clock is a behavioral health crisis center.",
            )
        elif not has_any_hours(hours):
            _add(p, "hours", f"Give the hours this {st.short_name} is open.")
        elif any(
            list(s) == ["00:00", "24:00"]
            for d in DAYS
            for s in ((hours or {}).get("weekly") or {}).get(d) or []
        ):
            _add(p, "hours", f"A {st.short_name} is open less than 24 hours on each day.")

    # ---- who
    for key, allowed in (
        ("populations", POPULATIONS),
        ("languages", LANGUAGES),
        ("referral_sources", REFERRAL_SOURCES),
    ):
        if any(v not in allowed for v in data.get(key) or []):
            _add(p, key, "Choose from the list.")
    lo, hi = data.get("min_age"), data.get("max_age")
    for v in (lo, hi):
        if v is not None and not (isinstance(v, int) and 0 <= v <= MAX_AGE):
            _add(p, "ages", f"Ages run from 0 to {MAX_AGE}.")
    if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
        _add(p, "ages", "The youngest age is above the oldest age.")
    if st.requires_nonviolent and not data.get("nonviolent_only"):
        _add(p, "nonviolent_only", f"A {st.short_name} serves nonviolent people only; say so here.")
    if (
        st.org_certification_code
        and organization is not None
        and not _holds_org_certification(organization, st.org_certification_code, on)
    ):
        cert_name = st.org_certification.name if st.org_certification else st.org_certification_code
        _add(
            p,
            "service_type",
            f"A {st.short_name} must be run by an organization holding an active {cert_name} certification; {organization.name} holds none today.",
        )

    # ---- access
    if data.get("walk_in") and not st.walk_in_allowed:
        _add(p, "walk_in", f"A {st.short_name} has no walk-in site.")
    if data.get("walk_in") and not addr:
        _add(p, "walk_in", "Walk-in needs a site address people can walk into.")
    if data.get("le_dropoff") and not addr:
        _add(p, "le_dropoff", "Law-enforcement drop-off needs a site address.")
    trm = data.get("target_response_minutes")
    if trm is not None and not (isinstance(trm, int) and 1 <= trm <= 24 * 60):
        _add(p, "target_response_minutes", "Give the target response time in minutes (1 to 1440).")

    # ---- cost, capacity, stay
    if data.get("cost") not in COST_MODELS:
        _add(p, "cost", "Choose how people pay.")
    cap = data.get("capacity")
    if cap is not None:
        if not st.has_capacity:
            _add(p, "capacity", f"A {st.short_name} does not list beds or chairs.")
        elif not (isinstance(cap, int) and 1 <= cap <= MAX_CAPACITY):
            _add(p, "capacity", f"Capacity is a number of beds or chairs from 1 to {MAX_CAPACITY}.")
    stay = data.get("max_stay_hours")
    if st.max_stay_hours and stay is None:
        _add(
            p,
            "max_stay_hours",
            f"Give the longest stay (at most {st.max_stay_hours} hours for a {st.short_name}).",
        )
    if stay is not None:
        if not st.has_capacity:
            _add(p, "max_stay_hours", f"A {st.short_name} has no stays.")
        elif not (isinstance(stay, int) and 1 <= stay <= (st.max_stay_hours or MAX_STAY_ANY)):
            bound = st.max_stay_hours or MAX_STAY_ANY
            _add(
                p,
                "max_stay_hours",
                f"The longest stay for a {st.short_name} is {bound} consecutive hours.",
            )
    return p


def check_revision(rev) -> dict[str, list[str]]:
    """The problems of a revision as it stands (its service type read fresh from its code)."""
    from .base import db

    return check_listing(
        db.session.get(ServiceType, rev.service_type_code), rev.data, rev.listing.organization
    )
