"""What a listing must say to be submitted for review: the per-type rules (data on ServiceType)
and the invariants of every listing, checked on the normalised `data` of a revision.

`check_listing` is the one judge: the editor shows its messages next to the fields, and
`workflow.submit_revision` refuses a revision it finds fault with, so a bad revision can never
reach a reviewer however it was written. Parsing (phone formats, URLs, dates) is the form's job;
this module judges parsed values."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from models.base import WorkflowError, today
from models.listings.fields import (
    COST_MODELS,
    DAYS,
    LANGUAGES,
    PHONE_KINDS,
    POPULATIONS,
    REFERRAL_SOURCES,
    simple_fields,
)
from models.listings.listing import CountyRole
from models.reference.geo import zip_info
from models.reference.tables import CoverageKind, FieldRule, HoursRule, ServiceType

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
    from models.listings.eligibility import CertificationIndex

    return CertificationIndex([organization.id]).holds(organization.id, code, on, None)


class _Check:
    """One judgement in progress: the type, the data, the organization, the day, the problems."""

    def __init__(self, service_type: ServiceType, data: dict[str, Any], organization, on: date):
        self.st = service_type
        self.data = data
        self.organization = organization
        self.on = on
        self.problems: dict[str, list[str]] = {}

    def add(self, key: str, message: str) -> None:
        _add(self.problems, key, message)


# ---- about


def rule_name(c: _Check) -> None:
    if not (c.data.get("name") or "").strip():
        c.add("name", "Give the service a name people will recognise.")


def rule_text_limits(c: _Check) -> None:
    for key, limit in TEXT_LIMITS.items():
        if len(c.data.get(key) or "") > limit:
            c.add(key, f"Keep this under {limit} characters.")


# ---- where


def rule_site_address_by_type(c: _Check) -> None:
    """ServiceType.site_address_rule: a required or a forbidden site address."""
    st, addr = c.st, c.data.get("address")
    if st.site_address_rule == FieldRule.REQUIRED and not addr:
        c.add("address", f"A {st.short_name} needs the street address of its site.")
    if st.site_address_rule == FieldRule.FORBIDDEN and addr:
        what = "a role, not a facility" if st.is_role else "a service that goes to people"
        c.add("address", f"A {st.short_name} is {what}: leave the site address empty.")


def rule_site_address_complete(c: _Check) -> None:
    addr = c.data.get("address")
    if not addr:
        return
    if not (addr.get("address_1") or "").strip() or not (addr.get("city") or "").strip():
        c.add("address", "Give the street and the city of the site.")
    for key, limit in ADDRESS_LIMITS.items():
        if len(addr.get(key) or "") > limit:
            c.add("address", f"Keep each address line under {limit} characters.")
    info = zip_info(addr.get("postal_code") or "")
    if info is None:
        c.add("address", "That ZIP code is not a Missouri ZIP code.")
    elif addr.get("county_fips") and info.county_fips != addr["county_fips"]:
        c.add(
            "address",
            "That ZIP code is not in the chosen county. Check the ZIP code or the county.",
        )
    if not addr.get("county_fips"):
        c.add("address", "Choose the county the site is in.")


def rule_coordinates(c: _Check) -> None:
    lat, lon = c.data.get("latitude"), c.data.get("longitude")
    if (lat is None) != (lon is None):
        c.add("coordinates", "Give both latitude and longitude, or neither.")
    elif lat is not None and not (MO_LAT[0] <= lat <= MO_LAT[1] and MO_LON[0] <= lon <= MO_LON[1]):
        c.add(
            "coordinates",
            "That point is not in Missouri. Leave the map location empty to use the ZIP code's.",
        )
    if lat is not None and not c.data.get("address"):
        c.add("coordinates", "A map location belongs to a site address; leave it empty.")


def rule_counties_by_type(c: _Check) -> None:
    """ServiceType.counties_rule: counties required or forbidden."""
    st, counties = c.st, c.data.get("counties") or []
    if st.counties_rule == FieldRule.REQUIRED and not counties:
        c.add("counties", f"A {st.short_name} must list the counties it serves.")
    if st.counties_rule == FieldRule.FORBIDDEN and counties:
        c.add("counties", f"A {st.short_name} does not list counties served.")


# the county roles each ServiceType.coverage_kind allows, and what to say otherwise
COUNTY_ROLES_BY_KIND = {
    CoverageKind.PRIMARY_BACKUP: (
        (CountyRole.PRIMARY, CountyRole.BACKUP),
        "A 988 center answers each county as primary or as backup.",
    ),
    CoverageKind.SERVED: (
        (CountyRole.SERVED,),
        "Primary and backup coverage is only for 988 centers.",
    ),
}


def rule_county_roles(c: _Check) -> None:
    """Each county once, in a role the type's coverage_kind allows."""
    allowed, message = COUNTY_ROLES_BY_KIND.get(c.st.coverage_kind, ((), ""))
    seen: set[str] = set()
    for county in c.data.get("counties") or []:
        if county.get("fips") in seen:
            c.add("counties", "A county can be listed only once (primary or backup, not both).")
        seen.add(county.get("fips"))
        if message and county.get("role") not in allowed:
            c.add("counties", message)


# ---- contact


def rule_phones(c: _Check) -> None:
    phones = c.data.get("phones") or []
    if not phones:
        c.add("phones", "Give at least one phone number people can use.")
    if len(phones) > MAX_PHONES:
        c.add("phones", f"List at most {MAX_PHONES} phone numbers.")
    for ph in phones:
        if ph.get("kind") not in PHONE_KINDS:
            c.add("phones", "Choose what each number is for (call, text, TTY, videophone).")
        if not re.fullmatch(r"\+[1-9]\d{6,14}", ph.get("number") or ""):
            c.add("phones", "Each phone number must be a complete number.")


def rule_role_reachable(c: _Check) -> None:
    """ServiceType.is_role: a role is reached by phone or e-mail."""
    if c.st.is_role and not (c.data.get("phones") or c.data.get("email")):
        c.add("phones", f"A {c.st.short_name} is a role: give the phone or e-mail that reaches it.")


def rule_web_addresses(c: _Check) -> None:
    for key in ("chat_url", "website"):
        v = c.data.get(key) or ""
        if v and not re.match(r"^https?://[^\s/]+", v):
            c.add(key, "Use a web address starting with https:// or http://.")


# ---- hours


def rule_hours_well_formed(c: _Check) -> None:
    for msg in hours_problems(c.data.get("hours")):
        c.add("hours", msg)


def rule_hours_always(c: _Check) -> None:
    """HoursRule.ALWAYS: open 24/7."""
    if c.st.hours_rule == HoursRule.ALWAYS and not is_open_around_the_clock(c.data.get("hours")):
        c.add("hours", f"A {c.st.short_name} must be open 24 hours a day, 7 days a week.")


def _has_full_day(hours: dict[str, Any] | None) -> bool:
    weekly = (hours or {}).get("weekly") or {}
    return any(list(s) == ["00:00", "24:00"] for d in DAYS for s in weekly.get(d) or [])


def rule_hours_under_24(c: _Check) -> None:
    """HoursRule.UNDER_24: open, but never around the clock, nor a whole day."""
    st, hours = c.st, c.data.get("hours")
    if st.hours_rule != HoursRule.UNDER_24:
        return
    if is_open_around_the_clock(hours):
        c.add(
            "hours",
            f"A {st.short_name} is open less than 24 hours a day; a center open around the clock is a behavioral health crisis center.",
        )
    elif not has_any_hours(hours):
        c.add("hours", f"Give the hours this {st.short_name} is open.")
    elif _has_full_day(hours):
        c.add("hours", f"A {st.short_name} is open less than 24 hours on each day.")


# ---- who


def rule_vocabularies(c: _Check) -> None:
    for key, allowed in (
        ("populations", POPULATIONS),
        ("languages", LANGUAGES),
        ("referral_sources", REFERRAL_SOURCES),
    ):
        if any(v not in allowed for v in c.data.get(key) or []):
            c.add(key, "Choose from the list.")


def rule_ages(c: _Check) -> None:
    lo, hi = c.data.get("min_age"), c.data.get("max_age")
    for v in (lo, hi):
        if v is not None and not (isinstance(v, int) and 0 <= v <= MAX_AGE):
            c.add("ages", f"Ages run from 0 to {MAX_AGE}.")
    if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
        c.add("ages", "The youngest age is above the oldest age.")


def rule_nonviolent(c: _Check) -> None:
    """ServiceType.requires_nonviolent."""
    if c.st.requires_nonviolent and not c.data.get("nonviolent_only"):
        c.add("nonviolent_only", f"A {c.st.short_name} serves nonviolent people only; say so here.")


def rule_org_certification(c: _Check) -> None:
    """ServiceType.org_certification_code: the organization holds it on the day."""
    st, org = c.st, c.organization
    code = st.org_certification_code
    if not code or org is None or _holds_org_certification(org, code, c.on):
        return
    cert_name = st.org_certification.name if st.org_certification else code
    c.add(
        "service_type",
        f"A {st.short_name} must be run by an organization holding an active {cert_name} certification; {org.name} holds none today.",
    )


# ---- access


def rule_walk_in(c: _Check) -> None:
    """ServiceType.walk_in_allowed; walk-in and drop-off need a site."""
    addr = c.data.get("address")
    if c.data.get("walk_in") and not c.st.walk_in_allowed:
        c.add("walk_in", f"A {c.st.short_name} has no walk-in site.")
    if c.data.get("walk_in") and not addr:
        c.add("walk_in", "Walk-in needs a site address people can walk into.")
    if c.data.get("le_dropoff") and not addr:
        c.add("le_dropoff", "Law-enforcement drop-off needs a site address.")


def rule_response_time(c: _Check) -> None:
    trm = c.data.get("target_response_minutes")
    if trm is not None and not (isinstance(trm, int) and 1 <= trm <= 24 * 60):
        c.add("target_response_minutes", "Give the target response time in minutes (1 to 1440).")


# ---- cost, capacity, stay


def rule_cost(c: _Check) -> None:
    if c.data.get("cost") not in COST_MODELS:
        c.add("cost", "Choose how people pay.")


def rule_capacity(c: _Check) -> None:
    """ServiceType.has_capacity: only such types list beds or chairs."""
    cap = c.data.get("capacity")
    if cap is None:
        return
    if not c.st.has_capacity:
        c.add("capacity", f"A {c.st.short_name} does not list beds or chairs.")
    elif not (isinstance(cap, int) and 1 <= cap <= MAX_CAPACITY):
        c.add("capacity", f"Capacity is a number of beds or chairs from 1 to {MAX_CAPACITY}.")


def rule_max_stay(c: _Check) -> None:
    """ServiceType.max_stay_hours (the stay is then required and bounded) and has_capacity."""
    st, stay = c.st, c.data.get("max_stay_hours")
    if st.max_stay_hours and stay is None:
        c.add(
            "max_stay_hours",
            f"Give the longest stay (at most {st.max_stay_hours} hours for a {st.short_name}).",
        )
    if stay is None:
        return
    bound = st.max_stay_hours or MAX_STAY_ANY
    if not st.has_capacity:
        c.add("max_stay_hours", f"A {st.short_name} has no stays.")
    elif not (isinstance(stay, int) and 1 <= stay <= bound):
        c.add(
            "max_stay_hours",
            f"The longest stay for a {st.short_name} is {bound} consecutive hours.",
        )


def rule_catalogue_fields(c: _Check) -> None:
    """Fields the catalogue declares with a widget of their own: their declared limits."""
    for spec in simple_fields():
        for message in spec.problems(c.data.get(spec.key)):
            c.add(spec.key, message)


# The rule engine: every rule, in the order their messages are shown. Each reads the data and
# the service type's rule columns; a new per-type rule is a column on ServiceType and a function here.
RULES: list[Callable[[_Check], None]] = [
    rule_name,
    rule_text_limits,
    rule_site_address_by_type,
    rule_site_address_complete,
    rule_coordinates,
    rule_counties_by_type,
    rule_county_roles,
    rule_phones,
    rule_role_reachable,
    rule_web_addresses,
    rule_hours_well_formed,
    rule_hours_always,
    rule_hours_under_24,
    rule_vocabularies,
    rule_ages,
    rule_nonviolent,
    rule_org_certification,
    rule_walk_in,
    rule_response_time,
    rule_cost,
    rule_capacity,
    rule_max_stay,
    rule_catalogue_fields,
]


def check_listing(
    service_type: ServiceType, data: dict[str, Any], organization, *, on: date | None = None
) -> dict[str, list[str]]:
    """Every problem with `data` as a listing of `service_type` run by `organization`,
    keyed by the field key of models.listings.fields (empty when the listing may be submitted)."""
    check = _Check(service_type, data, organization, on or today())
    for rule in RULES:
        rule(check)
    return check.problems


def check_revision(rev) -> dict[str, list[str]]:
    """The problems of a revision as it stands (its service type read fresh from its code)."""
    from models.base import db

    return check_listing(
        db.session.get(ServiceType, rev.service_type_code), rev.data, rev.listing.organization
    )
