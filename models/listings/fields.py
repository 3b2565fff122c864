"""The listing's fields: their names, labels, how each is shown to a person, and the
field-by-field diff used by the provider's "what will change" view and the reviewer's page.

A revision's `data` is a normalised dict with exactly these keys (see `empty_data`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from models.listings.identifiers import phone_id

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
        **{spec.key: spec.empty() for spec in simple_fields()},
    }


# multi-valued fields whose order means nothing: stored sorted, compared as sets
SET_FIELDS = ("populations", "languages", "referral_sources")


def canonical(data: dict[str, Any]) -> dict[str, Any]:
    """The same content, one way: set-like lists sorted, counties by FIPS code. Saving, the diff
    and the "no changes" check all compare this, so ticking the same boxes is never a change."""
    out = dict(data)
    checkboxes = tuple(spec.key for spec in simple_fields() if spec.widget == "checkboxes")
    for key in SET_FIELDS + checkboxes:
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


@lru_cache(maxsize=2048)
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


# ------------------------------------------------------------------ the field catalogue
#
# Each listing field is declared once, below: its label and section (the diff, the review page,
# the provider's listing page), how a person reads it (`render`), and, for a field the editor
# builds from the declaration (`widget`), its form control, default, limits (the listing rules
# check them), HSDS extension property (services.json and services.csv carry it), column of
# the published listings.csv and whether the printed directory shows it. Fields without a
# widget are laid out by hand in the editor, listings.csv and the printed entry (an address,
# opening hours, phones ...); the catalogue still gives their label, section and reading, and
# maps the simple ones to their HSDS extension property.

Renderer = Callable[[dict[str, Any], dict[str, str]], str]
WIDGETS = ("text", "textarea", "checkbox", "number", "select", "checkboxes")


def _show_address(data: dict[str, Any], names: dict[str, str]) -> str:
    return address_line(data.get("address"), names)


def _show_coordinates(data: dict[str, Any], names: dict[str, str]) -> str:
    lat, lon = data.get("latitude"), data.get("longitude")
    return f"{lat:.5f}, {lon:.5f}" if lat is not None and lon is not None else "Not set"


def _show_counties(data: dict[str, Any], names: dict[str, str]) -> str:
    by_role: dict[str, list[str]] = {}
    for c in data.get("counties") or []:
        by_role.setdefault(c.get("role", "served"), []).append(names.get(c["fips"], c["fips"]))
    return (
        "; ".join(f"{COUNTY_ROLES[r]}: {', '.join(sorted(n))}" for r, n in sorted(by_role.items()))
        or "None"
    )


def _show_phone(p: dict[str, Any]) -> str:
    text = f"{PHONE_KINDS.get(p.get('kind', 'voice'), p.get('kind'))} {format_phone(p['number'])}"
    return text + (f" ({p['description']})" if p.get("description") else "")


def _show_phones(data: dict[str, Any], names: dict[str, str]) -> str:
    return "; ".join(_show_phone(p) for p in data.get("phones") or []) or "None"


def _show_hours(data: dict[str, Any], names: dict[str, str]) -> str:
    return "; ".join(hours_lines(data.get("hours")))


def _labelled(key: str, vocabulary: dict[str, str], empty: str) -> Renderer:
    """Codes of a vocabulary, by their labels."""

    def render(data: dict[str, Any], names: dict[str, str]) -> str:
        return ", ".join(vocabulary.get(code, code) for code in data.get(key) or []) or empty

    return render


def _show_ages(data: dict[str, Any], names: dict[str, str]) -> str:
    lo, hi = data.get("min_age"), data.get("max_age")
    if lo is None and hi is None:
        return "All ages"
    if hi is None:
        return f"{lo} and older"
    if lo is None:
        return f"Up to {hi}"
    return f"{lo}–{hi}"


def _show_cost(data: dict[str, Any], names: dict[str, str]) -> str:
    v = data.get("cost")
    text = COST_MODELS.get(v or "", v or "Not given")
    if data.get("no_one_turned_away"):
        text += "; no one turned away"
    if data.get("cost_notes"):
        text += f" — {data['cost_notes']}"
    return text


def _show_capacity(data: dict[str, Any], names: dict[str, str]) -> str:
    cap = data.get("capacity")
    if not cap:
        return "Not given"
    return f"{cap} {CAPACITY_UNITS.get(data.get('capacity_unit') or 'beds', '')}"


def _with_unit(key: str, unit: str) -> Renderer:
    def render(data: dict[str, Any], names: dict[str, str]) -> str:
        v = data.get(key)
        return f"{v} {unit}" if v else "Not given"

    return render


def plain(v: Any) -> str:
    """A value without a renderer of its own: yes/no, a dash for nothing, else its text."""
    if isinstance(v, bool):
        return yes_no(v)
    if v is None or v == "":
        return "—"
    return str(v)


@dataclass(frozen=True)
class FieldSpec:
    """One listing field of the catalogue (see above)."""

    key: str
    label: str  # in the diff, the review page and the printed directory
    section: str
    render: Renderer | None = None  # None: `plain`, or by the widget
    widget: str | None = None  # one of WIDGETS; None: laid out by hand in the editor
    form_label: str = ""  # the editor's label when it differs from `label`
    help: str = ""
    default: Any = None
    max_length: int | None = None  # text
    minimum: int | None = None  # number
    maximum: int | None = None
    choices: dict[str, str] | None = None  # select, checkboxes: code -> label
    hsds: str | None = None  # the HSDS service's extension property (mo_dmh_*)
    csv: str | None = None  # the column of listings.csv
    pdf: bool = False  # a line of the printed directory's entry

    def show(self, data: dict[str, Any], names: dict[str, str]) -> str:
        if self.render is not None:
            return self.render(data, names)
        v = data.get(self.key)
        if self.widget == "checkboxes":
            return ", ".join((self.choices or {}).get(c, c) for c in v or []) or "None"
        if self.widget == "select" and v:
            return (self.choices or {}).get(v, v)
        return plain(v)

    def empty(self) -> Any:
        """The value of a new listing."""
        if self.widget == "checkboxes":
            return list(self.default or [])
        if self.widget == "checkbox":
            return bool(self.default)
        if self.widget in ("text", "textarea"):
            return self.default or ""
        return self.default

    def problems(self, value: Any) -> list[str]:
        """What is wrong with a value of a field the catalogue builds (the listing rules ask)."""
        check = _WIDGET_CHECKS.get(self.widget or "")
        return check(self, value) if check else []

    def published(self, value: Any) -> Any:
        """The value in the feeds: a list of codes becomes space-separated codes."""
        if isinstance(value, list):
            return " ".join(str(v) for v in value) or None
        return value


def _text_problems(spec: FieldSpec, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, str):
        return ["Give text here."]
    if spec.max_length and len(value) > spec.max_length:
        return [f"Keep this under {spec.max_length} characters."]
    return []


def _number_problems(spec: FieldSpec, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, int) or isinstance(value, bool):
        return ["Give a whole number."]
    low, high = spec.minimum, spec.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        return [f"Give a number from {low} to {high}."]
    return []


def _choice_problems(spec: FieldSpec, value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value] if value not in (None, "") else []
    return ["Choose from the list."] if any(v not in (spec.choices or {}) for v in values) else []


_WIDGET_CHECKS: dict[str, Callable[[FieldSpec, Any], list[str]]] = {
    "text": _text_problems,
    "textarea": _text_problems,
    "number": _number_problems,
    "select": _choice_problems,
    "checkboxes": _choice_problems,
}


FIELDS: list[FieldSpec] = [
    FieldSpec("name", "Name", "About"),
    FieldSpec("description", "Description", "About"),
    FieldSpec("address", "Site address", "Where", _show_address),
    FieldSpec("coordinates", "Map location", "Where", _show_coordinates),
    FieldSpec("counties", "Counties served", "Where", _show_counties),
    FieldSpec("phones", "Phone numbers", "Contact", _show_phones),
    FieldSpec("chat_url", "Chat", "Contact"),
    FieldSpec("email", "E-mail", "Contact"),
    FieldSpec("website", "Website", "Contact"),
    FieldSpec("hours", "Hours", "Hours", _show_hours),
    FieldSpec(
        "populations", "Who it serves", "Who", _labelled("populations", POPULATIONS, "Everyone")
    ),
    FieldSpec("ages", "Ages", "Who", _show_ages),
    FieldSpec("languages", "Languages", "Who", _labelled("languages", LANGUAGES, "Not given")),
    FieldSpec("eligibility_notes", "Eligibility notes", "Who"),
    FieldSpec("nonviolent_only", "Nonviolent people only", "Who"),
    FieldSpec("walk_in", "Walk-in", "Access"),
    FieldSpec("le_dropoff", "Law-enforcement drop-off", "Access"),
    FieldSpec(
        "referral_sources",
        "Referral sources",
        "Access",
        _labelled("referral_sources", REFERRAL_SOURCES, "Not given"),
    ),
    FieldSpec(
        "target_response_minutes",
        "Target response time",
        "Access",
        _with_unit("target_response_minutes", "minutes"),
        hsds="mo_dmh_target_response_minutes",
    ),
    FieldSpec("cost", "Cost", "Cost", _show_cost),
    FieldSpec("capacity", "Capacity", "Capacity", _show_capacity, hsds="mo_dmh_capacity"),
    FieldSpec(
        "max_stay_hours",
        "Maximum stay",
        "Capacity",
        _with_unit("max_stay_hours", "hours"),
        hsds="mo_dmh_max_stay_hours",
    ),
    FieldSpec("accessibility", "Accessibility", "Access"),
    FieldSpec("exclude_from_print", "Leave out of printed directories", "Publishing"),
]
FIELD_LABELS = {f.key: f.label for f in FIELDS}
_BY_KEY = {f.key: f for f in FIELDS}


def simple_fields() -> list[FieldSpec]:
    """The fields the editor, the rules and the feeds build from their declaration alone."""
    return [f for f in FIELDS if f.widget is not None]


def register_field(spec: FieldSpec, *, after: str | None = None) -> None:
    """Add a field to the catalogue (after `after`, else last). The catalogue is module data,
    so this is how a declaration below reaches every reader; tests use it with `unregister_field`."""
    if spec.key in _BY_KEY:
        raise ValueError(f"The field {spec.key!r} is already declared.")
    if spec.widget is not None and spec.widget not in WIDGETS:
        raise ValueError(f"Unknown widget {spec.widget!r}.")
    at = len(FIELDS) if after is None else FIELDS.index(_BY_KEY[after]) + 1
    FIELDS.insert(at, spec)
    FIELD_LABELS[spec.key] = spec.label
    _BY_KEY[spec.key] = spec


def unregister_field(key: str) -> None:
    FIELDS.remove(_BY_KEY.pop(key))
    FIELD_LABELS.pop(key, None)


def display_value(key: str, data: dict[str, Any], county_names: dict[str, str]) -> str:
    """One field of a revision, as a person reads it (used in diffs, review and PDFs)."""
    spec = _BY_KEY.get(key)
    if spec is None:
        return plain(data.get(key))
    return spec.show(data, county_names)


def record_values(data: dict[str, Any]) -> dict[str, Any]:
    """The catalogue-built fields of a revision's data, as a published record carries them."""
    return {spec.key: data.get(spec.key, spec.empty()) for spec in simple_fields()}


def extension_values(record: dict[str, Any]) -> dict[str, Any]:
    """The catalogue's HSDS extension properties of a published record (empty ones left out)."""
    out = {}
    for spec in FIELDS:
        if spec.hsds:
            value = spec.published(record.get(spec.key))
            if value is not None and value != "":
                out[spec.hsds] = value
    return out


def extension_csv_types() -> dict[str, str]:
    """services.csv's column type of each catalogue extension property."""
    kinds = {"number": "integer", "checkbox": "boolean"}
    return {spec.hsds: kinds.get(spec.widget or "", "string") for spec in FIELDS if spec.hsds}


def csv_values(record: dict[str, Any]) -> dict[str, Any]:
    """listings.csv's cells for the catalogue fields that declare a column (shown as read)."""
    return {spec.csv: spec.show(record, {}) for spec in simple_fields() if spec.csv}


def print_lines(record: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, text) of the catalogue fields a printed entry shows beyond its fixed layout."""
    return [
        (spec.label, spec.show(record, {}))
        for spec in simple_fields()
        if spec.pdf and record.get(spec.key) not in (None, "", [], False)
    ]


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
        new = spec.show(after, county_names)
        if before is None:
            out.append(FieldChange(spec.key, spec.label, spec.section, None, new))
            continue
        old = spec.show(before, county_names)
        if old != new:
            out.append(FieldChange(spec.key, spec.label, spec.section, old, new))
    return out
