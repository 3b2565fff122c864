"""The listing's fields: their names, labels, how each is shown to a person, and the
field-by-field diff used by the provider's "what will change" view and the reviewer's page.

A revision's `data` is a normalised dict with exactly these keys (see `empty_data`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from .identifiers import phone_id

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAY_NAMES = dict(
    zip(
        DAYS,
        ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
        strict=True,
    )
)

PHONE_KINDS = {
    "voice": "Call",
    "text": "Text",
    "tty": "TTY",
    "videophone": "Videophone (ASL)",
    "fax": "Fax",
}
POPULATIONS = {
    "adults": "Adults",
    "youth": "Children and youth",
    "families": "Families",
    "older_adults": "Older adults",
    "veterans": "Veterans",
    "lgbtq": "LGBTQ+ people",
    "deaf_hoh": "Deaf and hard of hearing",
    "idd": "People with intellectual or developmental disabilities",
}
REFERRAL_SOURCES = {
    "self": "Self / walk-in",
    "family": "Family or friends",
    "law_enforcement": "Law enforcement",
    "ems": "EMS / first responders",
    "ed": "Emergency departments",
    "school": "Schools",
    "court": "Courts",
    "988": "988 / crisis line",
}
COST_MODELS = {
    "no_cost": "No cost to the person",
    "sliding_scale": "Sliding scale",
    "insurance_no_one_refused": "Insurance billed; no one refused for inability to pay",
    "fee": "Fees apply",
}
CAPACITY_UNITS = {"beds": "beds", "chairs": "recliners/chairs"}
LANGUAGES = {
    "en": "English",
    "es": "Spanish",
    "asl": "American Sign Language",
    "bs": "Bosnian",
    "vi": "Vietnamese",
    "ar": "Arabic",
    "zh": "Chinese",
    "so": "Somali",
    "de": "German",
    "fr": "French",
}
COUNTY_ROLES = {"served": "Served", "primary": "Primary", "backup": "Backup"}


@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: str
    section: str


FIELDS: list[FieldSpec] = [
    FieldSpec("name", "Name", "About"),
    FieldSpec("description", "Description", "About"),
    FieldSpec("address", "Site address", "Where"),
    FieldSpec("coordinates", "Map location", "Where"),
    FieldSpec("counties", "Counties served", "Where"),
    FieldSpec("phones", "Phone numbers", "Contact"),
    FieldSpec("chat_url", "Chat", "Contact"),
    FieldSpec("email", "E-mail", "Contact"),
    FieldSpec("website", "Website", "Contact"),
    FieldSpec("hours", "Hours", "Hours"),
    FieldSpec("populations", "Who it serves", "Who"),
    FieldSpec("ages", "Ages", "Who"),
    FieldSpec("languages", "Languages", "Who"),
    FieldSpec("eligibility_notes", "Eligibility notes", "Who"),
    FieldSpec("nonviolent_only", "Nonviolent people only", "Who"),
    FieldSpec("walk_in", "Walk-in", "Access"),
    FieldSpec("le_dropoff", "Law-enforcement drop-off", "Access"),
    FieldSpec("referral_sources", "Referral sources", "Access"),
    FieldSpec("target_response_minutes", "Target response time", "Access"),
    FieldSpec("cost", "Cost", "Cost"),
    FieldSpec("capacity", "Capacity", "Capacity"),
    FieldSpec("max_stay_hours", "Maximum stay", "Capacity"),
    FieldSpec("accessibility", "Accessibility", "Access"),
    FieldSpec("exclude_from_print", "Leave out of printed directories", "Publishing"),
]
FIELD_LABELS = {f.key: f.label for f in FIELDS}


def empty_data() -> dict[str, Any]:
    return {
        "name": "",
        "description": "",
        "address": None,
        "latitude": None,
        "longitude": None,
        "counties": [],
        "phones": [],
        "chat_url": "",
        "email": "",
        "website": "",
        "hours": {"is_24_7": False, "weekly": {d: [] for d in DAYS}, "closures": [], "notes": ""},
        "populations": [],
        "min_age": None,
        "max_age": None,
        "languages": ["en"],
        "eligibility_notes": "",
        "nonviolent_only": False,
        "walk_in": False,
        "le_dropoff": False,
        "referral_sources": [],
        "target_response_minutes": None,
        "cost": "no_cost",
        "no_one_turned_away": True,
        "cost_notes": "",
        "capacity": None,
        "capacity_unit": "beds",
        "max_stay_hours": None,
        "accessibility": "",
        "exclude_from_print": False,
    }


# multi-valued fields whose order means nothing: stored sorted, compared as sets
SET_FIELDS = ("populations", "languages", "referral_sources")


def canonical(data: dict[str, Any]) -> dict[str, Any]:
    """The same content, one way: set-like lists sorted, counties by FIPS code. Saving, the diff
    and the "no changes" check all compare this, so ticking the same boxes is never a change."""
    out = dict(data)
    for key in SET_FIELDS:
        if isinstance(out.get(key), list):
            out[key] = sorted(set(out[key]))
    if isinstance(out.get("counties"), list):
        out["counties"] = sorted(
            out["counties"],
            key=lambda c: (
                (c.get("fips", ""), c.get("role", "")) if isinstance(c, dict) else ("", "")
            ),
        )
    return out


def content(data: dict[str, Any]) -> dict[str, Any]:
    """What a person can see and change: canonical data without the phones' stored ids, so a
    form that only carries ids along is not a change."""
    out = canonical(data)
    if isinstance(out.get("phones"), list):
        out["phones"] = [
            {k: v for k, v in p.items() if k != "id"} if isinstance(p, dict) else p
            for p in out["phones"]
        ]
    return out


def assign_phone_ids(
    phones: list[dict[str, Any]], before: list[dict[str, Any]], service_id: str
) -> None:
    """Give every phone a lasting id, so a changed number is an update of the same phone in the
    published data, not a removal and an addition.

    An id the editor carried along is kept only if it belongs to this listing's phones before
    the save (a form cannot borrow another phone's id). A phone without one takes the id of
    the phone in its position before (the id that was published for it), else a new one."""
    previous = [
        p.get("id") or phone_id(service_id, i, p.get("number", ""))
        for i, p in enumerate(before or [])
    ]
    allowed = set(previous)
    used: set[str] = set()
    for i, phone in enumerate(phones):
        pid = phone.get("id")
        if pid not in allowed or pid in used:
            pid = None
        if (
            pid is None
            and i < len(previous)
            and previous[i] not in used
            and not any(p.get("id") == previous[i] for p in phones[i + 1 :])
        ):
            pid = previous[i]
        if pid is None:
            pid = str(uuid.uuid4())
        phone["id"] = pid
        used.add(pid)


# ------------------------------------------------------------------ display


def format_phone(number: str) -> str:
    """+15735550123 -> (573) 555-0123; anything else unchanged."""
    if number and number.startswith("+1") and len(number) == 12 and number[2:].isdigit():
        d = number[2:]
        return f"({d[:3]}) {d[3:6]}-{d[6:]}"
    return number or ""


def format_time(hhmm: str) -> str:
    h, m = (int(x) for x in hhmm.split(":"))
    if h == 24 or (h == 0 and m == 0 and hhmm == "24:00"):
        return "midnight"
    suffix = "am" if h < 12 else "pm"
    h12 = h % 12 or 12
    return f"{h12}:{m:02d} {suffix}" if m else f"{h12} {suffix}"


def hours_lines(hours: dict[str, Any] | None) -> list[str]:
    """Human-readable opening hours, one line per run of days with the same hours."""
    if not hours:
        return ["Not given"]
    if hours.get("is_24_7"):
        lines = ["Open 24 hours a day, 7 days a week"]
    else:
        weekly = hours.get("weekly") or {}
        groups: list[tuple[list[str], str]] = []
        for day in DAYS:
            spans = weekly.get(day) or []
            text = ", ".join(f"{format_time(o)}–{format_time(c)}" for o, c in spans) or "Closed"
            if groups and groups[-1][1] == text:
                groups[-1][0].append(day)
            else:
                groups.append(([day], text))
        lines = []
        for days, text in groups:
            label = (
                DAY_NAMES[days[0]]
                if len(days) == 1
                else f"{DAY_NAMES[days[0]]}–{DAY_NAMES[days[-1]]}"
            )
            lines.append(f"{label}: {text}")
    for c in hours.get("closures") or []:
        lines.append(f"Closed {c['date']}" + (f" ({c['note']})" if c.get("note") else ""))
    if hours.get("notes"):
        lines.append(hours["notes"])
    return lines


def address_line(addr: dict[str, Any] | None, county_names: dict[str, str] | None = None) -> str:
    if not addr:
        return "No walk-in address"
    parts = [addr.get("address_1", ""), addr.get("address_2", "")]
    street = ", ".join(p for p in parts if p)
    line = f"{street}, {addr.get('city', '')}, {addr.get('state', 'MO')} {addr.get('postal_code', '')}".strip()
    if county_names and addr.get("county_fips"):
        line += f" ({county_names.get(addr['county_fips'], addr['county_fips'])})"
    return line


def yes_no(v: Any) -> str:
    return "Yes" if v else "No"


def display_value(key: str, data: dict[str, Any], county_names: dict[str, str]) -> str:
    """One field of a revision, as a person reads it (used in diffs, review and PDFs)."""
    v = data.get(key)
    if key == "address":
        return address_line(v, county_names)
    if key == "coordinates":
        lat, lon = data.get("latitude"), data.get("longitude")
        return f"{lat:.5f}, {lon:.5f}" if lat is not None and lon is not None else "Not set"
    if key == "counties":
        items = data.get("counties") or []
        if not items:
            return "None"
        by_role: dict[str, list[str]] = {}
        for c in items:
            by_role.setdefault(c.get("role", "served"), []).append(
                county_names.get(c["fips"], c["fips"])
            )
        return "; ".join(
            f"{COUNTY_ROLES[r]}: {', '.join(sorted(n))}" for r, n in sorted(by_role.items())
        )
    if key == "phones":
        return (
            "; ".join(
                f"{PHONE_KINDS.get(p.get('kind', 'voice'), p.get('kind'))} {format_phone(p['number'])}"
                + (f" ({p['description']})" if p.get("description") else "")
                for p in v or []
            )
            or "None"
        )
    if key == "hours":
        return "; ".join(hours_lines(v))
    if key == "populations":
        return ", ".join(POPULATIONS.get(p, p) for p in v or []) or "Everyone"
    if key == "ages":
        lo, hi = data.get("min_age"), data.get("max_age")
        if lo is None and hi is None:
            return "All ages"
        if hi is None:
            return f"{lo} and older"
        if lo is None:
            return f"Up to {hi}"
        return f"{lo}–{hi}"
    if key == "languages":
        return ", ".join(LANGUAGES.get(code, code) for code in v or []) or "Not given"
    if key == "referral_sources":
        return ", ".join(REFERRAL_SOURCES.get(s, s) for s in v or []) or "Not given"
    if key == "cost":
        text = COST_MODELS.get(v or "", v or "Not given")
        if data.get("no_one_turned_away"):
            text += "; no one turned away"
        if data.get("cost_notes"):
            text += f" — {data['cost_notes']}"
        return text
    if key == "capacity":
        cap = data.get("capacity")
        return (
            f"{cap} {CAPACITY_UNITS.get(data.get('capacity_unit') or 'beds', '')}"
            if cap
            else "Not given"
        )
    if key == "max_stay_hours":
        return f"{v} hours" if v else "Not given"
    if key == "target_response_minutes":
        return f"{v} minutes" if v else "Not given"
    if isinstance(v, bool):
        return yes_no(v)
    if v is None or v == "":
        return "—"
    return str(v)


@dataclass
class FieldChange:
    key: str
    label: str
    section: str
    before: str | None  # None when there is no live version (new listing)
    after: str

    @property
    def is_new(self) -> bool:
        return self.before is None


def diff(
    before: dict[str, Any] | None, after: dict[str, Any], county_names: dict[str, str]
) -> list[FieldChange]:
    """Fields whose displayed value differs; every non-empty field for a new listing."""
    out = []
    after = canonical(after)
    before = canonical(before) if before is not None else None
    for spec in FIELDS:
        new = display_value(spec.key, after, county_names)
        if before is None:
            out.append(FieldChange(spec.key, spec.label, spec.section, None, new))
            continue
        old = display_value(spec.key, before, county_names)
        if old != new:
            out.append(FieldChange(spec.key, spec.label, spec.section, old, new))
    return out
