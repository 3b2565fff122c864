"""The listing editor: every field of a listing, parsed into the normalised `data` of a revision.

The form parses what people type (phones to E.164, times, URLs, e-mail, ZIP) and then asks
`models.listings.rules.check_listing` — the same judge `submit_revision` uses — what is wrong
with the result, putting each message next to its field. Rows for phones, opening hours and
closures are fixed blank rows, so the editor works without JavaScript."""

from __future__ import annotations

from typing import Any

from wtforms import (
    BooleanField,
    DateField,
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.form import FormMeta
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from forms.base import RegistryForm
from models.listings import (
    ADDRESS_LIMITS,
    CAPACITY_UNITS,
    COST_MODELS,
    DAY_NAMES,
    DAYS,
    LANGUAGES,
    MAX_AGE,
    MAX_CLOSURES,
    MAX_PHONES,
    PHONE_KINDS,
    POPULATIONS,
    REFERRAL_SOURCES,
    TEXT_LIMITS,
    CountyRole,
    FieldSpec,
    check_listing,
    empty_data,
    simple_fields,
)
from models.reference import CoverageKind, zip_info

from .validators import (
    http_url,
    normalize_email,
    normalize_phone,
    parse_hhmm,
    zip_code,
    zip_in_county,
)

PHONE_ROWS = 4
SPAN_ROWS = 2
CLOSURE_ROWS = 4
# problems about a group of inputs are shown at the group's heading, not at one input
GROUP_KEYS = ("service_type", "address", "coordinates", "counties", "phones", "hours", "ages")
GROUP_LABELS = {
    "service_type": "Service type",
    "address": "Site address",
    "coordinates": "Map location",
    "counties": "Counties served",
    "phones": "Phone numbers",
    "hours": "Hours",
    "ages": "Ages",
}


def as_choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(str(value), label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PhoneForm(Form):
    number = StringField(
        "Number", validators=[Length(max=40)], render_kw={"autocomplete": "off", "inputmode": "tel"}
    )
    kind = SelectField("Kind", choices=as_choices(PHONE_KINDS.items()), default="voice")
    # not "description": a FormField's own attribute of that name would shadow it
    note = StringField("Note (optional)", validators=[Length(max=80)])
    # the phone's lasting id, carried along so a changed number updates the same phone
    # (models/fields.assign_phone_ids accepts only this listing's own ids)
    pid = HiddenField()

    def validate_number(self, field):
        if field.data and field.data.strip():
            try:
                field.data = normalize_phone(field.data)
            except ValueError as exc:
                raise ValidationError(str(exc)) from exc


class SpanForm(Form):
    opens = StringField(
        "Opens", render_kw={"placeholder": "08:00", "inputmode": "numeric", "size": 5}
    )
    closes = StringField(
        "Closes", render_kw={"placeholder": "17:00", "inputmode": "numeric", "size": 5}
    )
    overnight = BooleanField("Closes after midnight")

    def validate_opens(self, field):
        self._parse(field)

    def validate_closes(self, field):
        self._parse(field)
        opens, closes = (self.opens.data or "").strip(), (field.data or "").strip()
        if bool(opens) != bool(closes):
            raise ValidationError("Give both the opening and the closing time.")
        if self.opens.errors or not (opens and closes):
            return
        if (
            closes != "00:00"
            and parse_hhmm(closes) <= parse_hhmm(opens)
            and not self.overnight.data
        ):
            raise ValidationError(
                'This closes before it opens. If it closes after midnight, tick "Closes after midnight".'
            )

    @staticmethod
    def _parse(field):
        if field.data and field.data.strip():
            try:
                field.data = parse_hhmm(field.data)
            except ValueError as exc:
                raise ValidationError(str(exc)) from exc


class ClosureForm(Form):
    date = DateField("Date", validators=[Optional()])
    note = StringField("Note (e.g. Thanksgiving)", validators=[Length(max=80)])


def catalogue_field(spec: FieldSpec) -> Field:
    """The editor's control for a field the catalogue builds (models.listings.fields.simple_fields)."""
    label = spec.form_label or spec.label
    kw: dict[str, Any] = {"description": spec.help}
    if spec.widget in ("text", "textarea"):
        cls = StringField if spec.widget == "text" else TextAreaField
        return cls(label, validators=[Length(max=spec.max_length or 2000)], **kw)
    if spec.widget == "checkbox":
        return BooleanField(label, **kw)
    if spec.widget == "number":
        low, high = spec.minimum, spec.maximum
        message = f"Give a number from {low} to {high}."
        return IntegerField(
            label, validators=[Optional(), NumberRange(low, high, message=message)], **kw
        )
    choices = as_choices((spec.choices or {}).items())
    if spec.widget == "select":
        return SelectField(
            label, choices=as_choices([("", "—")]) + choices, validate_choice=False, **kw
        )
    return MultiCheckboxField(label, choices=choices, validate_choice=False, **kw)


def catalogue_value(spec: FieldSpec, value: Any) -> Any:
    """A parsed control's value as the listing data stores it."""
    if spec.widget in ("text", "textarea"):
        return (value or "").strip()
    if spec.widget == "checkbox":
        return bool(value)
    if spec.widget == "checkboxes":
        return list(value or [])
    if spec.widget == "select":
        return value or None
    return value


class _CatalogueFormMeta(FormMeta):
    """Gives the form a control for every field the catalogue builds, before each instance is
    made, so a field declared in models.listings.fields reaches the editor without a change here."""

    def __call__(cls, *args, **kwargs):
        wanted = {spec.key: spec for spec in simple_fields()}
        added: dict[str, FieldSpec] = dict(cls.__dict__.get("_from_catalogue", {}))
        for key in added.keys() - wanted.keys():  # a declaration taken back
            delattr(cls, key)
            del added[key]
        for key, spec in wanted.items():
            if key in cls.__dict__ and key not in added:
                continue  # a control laid out by hand keeps its own definition
            if added.get(key) is not spec:
                setattr(cls, key, catalogue_field(spec))
                added[key] = spec
        cls._from_catalogue = added
        return super().__call__(*args, **kwargs)


class ListingForm(RegistryForm, metaclass=_CatalogueFormMeta):
    lock_version = HiddenField()

    name = StringField(
        "Name",
        validators=[
            DataRequired(message="Give the service a name."),
            Length(max=TEXT_LIMITS["name"]),
        ],
    )
    description = TextAreaField(
        "Description", validators=[Length(max=TEXT_LIMITS["description"])], render_kw={"rows": 3}
    )

    address_1 = StringField(
        "Street address",
        validators=[Length(max=ADDRESS_LIMITS["address_1"])],
        render_kw={"autocomplete": "address-line1"},
    )
    address_2 = StringField(
        "Suite, floor (optional)",
        validators=[Length(max=ADDRESS_LIMITS["address_2"])],
        render_kw={"autocomplete": "address-line2"},
    )
    city = StringField(
        "City",
        validators=[Length(max=ADDRESS_LIMITS["city"])],
        render_kw={"autocomplete": "address-level2"},
    )
    postal_code = StringField(
        "ZIP code",
        validators=[Length(max=10)],
        render_kw={"autocomplete": "postal-code", "inputmode": "numeric"},
    )
    county_fips = SelectField("County", choices=[], validate_choice=False)
    latitude = StringField(
        "Latitude (optional)", description="Leave empty to use the ZIP code's location."
    )
    longitude = StringField("Longitude (optional)")

    counties = MultiCheckboxField("Counties served", choices=[], validate_choice=False)
    regions = MultiCheckboxField(
        "Add every county of a region", choices=[], coerce=str, validate_choice=False
    )
    backup_counties = MultiCheckboxField(
        "Counties answered as backup", choices=[], validate_choice=False
    )
    backup_regions = MultiCheckboxField(
        "Add every county of a region as backup", choices=[], validate_choice=False
    )

    phones = FieldList(
        FormField(PhoneForm), label="Phone", min_entries=PHONE_ROWS, max_entries=MAX_PHONES
    )
    chat_url = StringField(
        "Chat link",
        validators=[Length(max=300)],
        description="A web address starting with https://",
        render_kw={"inputmode": "url"},
    )
    email = StringField("E-mail", validators=[Length(max=254)], render_kw={"inputmode": "email"})
    website = StringField("Website", validators=[Length(max=300)], render_kw={"inputmode": "url"})

    is_24_7 = BooleanField("Open 24 hours a day, 7 days a week")
    closures = FieldList(
        FormField(ClosureForm),
        label="Holiday closure",
        min_entries=CLOSURE_ROWS,
        max_entries=MAX_CLOSURES,
    )
    hours_notes = StringField("Notes about hours", validators=[Length(max=200)])

    populations = MultiCheckboxField(
        "Who it serves", choices=as_choices(POPULATIONS.items()), validate_choice=False
    )
    min_age = IntegerField(
        "Youngest age served",
        validators=[Optional(), NumberRange(0, MAX_AGE, message=f"Ages run from 0 to {MAX_AGE}.")],
    )
    max_age = IntegerField(
        "Oldest age served",
        validators=[Optional(), NumberRange(0, MAX_AGE, message=f"Ages run from 0 to {MAX_AGE}.")],
    )
    languages = MultiCheckboxField(
        "Languages", choices=as_choices(LANGUAGES.items()), validate_choice=False
    )
    eligibility_notes = TextAreaField(
        "Eligibility notes",
        validators=[Length(max=TEXT_LIMITS["eligibility_notes"])],
        render_kw={"rows": 2},
    )
    nonviolent_only = BooleanField("Serves nonviolent people only")

    walk_in = BooleanField("People can walk in")
    le_dropoff = BooleanField("Law enforcement can drop people off")
    referral_sources = MultiCheckboxField(
        "Referral sources", choices=as_choices(REFERRAL_SOURCES.items()), validate_choice=False
    )
    target_response_minutes = IntegerField(
        "Target response time (minutes)",
        validators=[Optional(), NumberRange(1, 1440, message="Give minutes from 1 to 1440.")],
    )

    cost = SelectField("Cost", choices=as_choices(COST_MODELS.items()))
    no_one_turned_away = BooleanField("No one is turned away for inability to pay")
    cost_notes = StringField("Cost notes", validators=[Length(max=TEXT_LIMITS["cost_notes"])])

    capacity = IntegerField(
        "Capacity",
        validators=[Optional(), NumberRange(1, 1000, message="Give a number from 1 to 1000.")],
    )
    capacity_unit = SelectField(
        "Capacity counted in",
        choices=as_choices(CAPACITY_UNITS.items()),
        default="beds",
        validate_choice=False,
    )
    max_stay_hours = IntegerField(
        "Longest stay (hours)",
        validators=[Optional(), NumberRange(1, 720, message="Give hours from 1 to 720.")],
    )

    accessibility = TextAreaField(
        "Accessibility",
        validators=[Length(max=TEXT_LIMITS["accessibility"])],
        render_kw={"rows": 2},
    )
    exclude_from_print = BooleanField("Leave this listing out of printed directories")

    def __init__(self, *args, service_type, organization, counties, regions, **kwargs):
        super().__init__(*args, **kwargs)
        self.service_type = service_type
        self.organization = organization
        self.group_errors: dict[str, list[str]] = {}
        self.region_counties = {str(r.id): [c.fips for c in r.counties] for r in regions}
        county_choices = as_choices((c.fips, c.name) for c in counties)
        self.county_fips.choices = as_choices([("", "Choose the county")]) + county_choices
        self.counties.choices = county_choices
        self.backup_counties.choices = county_choices
        region_choices = as_choices(
            (r.id, f"{r.name} ({len(r.counties)} counties)") for r in regions
        )
        self.regions.choices = region_choices
        self.backup_regions.choices = region_choices
        self.valid_fips = {c.fips for c in counties}

    # ---- field checks (parsing)

    def validate_chat_url(self, field):
        self._convert(field, http_url)

    def validate_website(self, field):
        self._convert(field, http_url)

    def validate_email(self, field):
        self._convert(field, normalize_email)

    def validate_postal_code(self, field):
        if not (field.data or "").strip():
            return
        self._convert(field, zip_code)
        try:
            zip_in_county(field.data, self.county_fips.data or None)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    def validate_county_fips(self, field):
        if field.data and field.data not in self.valid_fips:
            raise ValidationError("Choose a Missouri county from the list.")

    def validate_latitude(self, field):
        self._float(field)

    def validate_longitude(self, field):
        self._float(field)

    def _check_choices(self, field, allowed):
        bad = [v for v in field.data or [] if v not in allowed]
        if bad:
            raise ValidationError("Choose from the list.")

    def validate_counties(self, field):
        self._check_choices(field, self.valid_fips)

    def validate_backup_counties(self, field):
        self._check_choices(field, self.valid_fips)

    def validate_regions(self, field):
        self._check_choices(field, self.region_counties)

    def validate_backup_regions(self, field):
        self._check_choices(field, self.region_counties)

    def validate_populations(self, field):
        self._check_choices(field, POPULATIONS)

    def validate_languages(self, field):
        self._check_choices(field, LANGUAGES)

    def validate_referral_sources(self, field):
        self._check_choices(field, REFERRAL_SOURCES)

    @staticmethod
    def _convert(field, parse):
        if field.data and field.data.strip():
            try:
                field.data = parse(field.data)
            except ValueError as exc:
                raise ValidationError(str(exc)) from exc
        else:
            field.data = ""

    @staticmethod
    def _float(field):
        text = (field.data or "").strip()
        if not text:
            return
        try:
            value = float(text)
        except ValueError as exc:
            raise ValidationError("Give a decimal number such as 38.95171.") from exc
        if value != value or value in (float("inf"), float("-inf")):
            raise ValidationError("Give a decimal number such as 38.95171.")

    def validate(self, extra_validators=None) -> bool:
        """Parse every field; when they parse, judge the result with the listing rules."""
        parsed = super().validate(extra_validators)
        if not parsed:
            return False
        problems = check_listing(self.service_type, self.to_data(), self.organization)
        self.add_problems(problems)
        return not problems

    def catalogue_fields(self, section: str | None = None, exclude=()) -> list[Field]:
        """The controls of the catalogue-built fields of one section (or of every section but
        `exclude`), in catalogue order: the editor shows them where their section is."""
        return [
            self[spec.key]
            for spec in simple_fields()
            if (spec.section == section if section else spec.section not in exclude)
        ]

    def add_problems(self, problems: dict[str, list[str]]) -> None:
        for key, messages in problems.items():
            name = PROBLEM_FIELDS.get(key) or (key if key in self._catalogue_keys() else "")
            target = getattr(self, name, None) if key not in GROUP_KEYS else None
            if target is not None:
                target.errors = list(target.errors) + [
                    m for m in messages if m not in target.errors
                ]
            else:
                self.group_errors.setdefault(
                    key if key in GROUP_KEYS else "service_type", []
                ).extend(messages)

    def error_list(self) -> list[tuple[str, str, str]]:
        """(anchor id, label, message) for every problem, in page order, for the summary."""
        out: list[tuple[str, str, str]] = []
        for key in GROUP_KEYS:
            for msg in self.group_errors.get(key, []):
                out.append((f"group-{key}", GROUP_LABELS[key], msg))
        for f in self:
            if isinstance(f, FieldList):
                for i, entry in enumerate(f.entries, start=1):
                    for sub in entry.form:
                        for msg in sub.errors:
                            out.append((sub.id, f"{f.label.text} {i}: {sub.label.text}", msg))
            elif f.errors:
                for msg in f.errors:
                    out.append((f.id, f.label.text, msg))
        return out

    @staticmethod
    def _catalogue_keys() -> set[str]:
        return {spec.key for spec in simple_fields()}

    # ---- to and from the stored data

    def _hours_from_rows(self) -> dict[str, Any]:
        weekly: dict[str, list[list[str]]] = {d: [] for d in DAYS}
        if not self.is_24_7.data:
            for i, day in enumerate(DAYS):
                for row in getattr(self, f"hours_{day}").entries:
                    o, c = (row.opens.data or "").strip(), (row.closes.data or "").strip()
                    if not o or not c:
                        continue
                    if c == "00:00":
                        c = "24:00"  # closing at midnight means the end of the day
                    if row.overnight.data and c != "24:00" and c <= o:
                        weekly[day].append([o, "24:00"])
                        if c != "00:00":
                            weekly[DAYS[(i + 1) % 7]].append(["00:00", c])
                    else:
                        weekly[day].append([o, c])
            for day in DAYS:
                weekly[day].sort()
        closures = []
        for row in self.closures.entries:
            if row.date.data:
                closures.append(
                    {"date": row.date.data.isoformat(), "note": (row.note.data or "").strip()}
                )
        closures.sort(key=lambda c: c["date"])
        return {
            "is_24_7": bool(self.is_24_7.data),
            "weekly": weekly,
            "closures": closures,
            "notes": (self.hours_notes.data or "").strip(),
        }

    def _counties(self) -> list[dict[str, str]]:
        def expand(fips_list, region_ids):
            out = set(fips_list or [])
            for rid in region_ids or []:
                out.update(self.region_counties.get(rid, []))
            return out

        main = expand(self.counties.data, self.regions.data)
        if self.service_type.coverage_kind == CoverageKind.PRIMARY_BACKUP:
            backup = expand(self.backup_counties.data, self.backup_regions.data)
            items = [{"fips": f, "role": CountyRole.PRIMARY.value} for f in sorted(main)]
            items += [{"fips": f, "role": CountyRole.BACKUP.value} for f in sorted(backup)]
            return items
        return [{"fips": f, "role": CountyRole.SERVED.value} for f in sorted(main)]

    def _text(self, name: str) -> str:
        return (getattr(self, name).data or "").strip()

    def _address(self) -> dict[str, str] | None:
        # an address typed for a type that forbids one is kept so the rule can say so
        if not any(self._text(k) for k in ("address_1", "address_2", "city", "postal_code")):
            return None
        return {
            "address_1": self._text("address_1"),
            "address_2": self._text("address_2"),
            "city": self._text("city"),
            "state": "MO",
            "postal_code": self._text("postal_code"),
            "county_fips": self.county_fips.data or "",
        }

    def _coordinates(self, address: dict[str, str] | None) -> tuple[float | None, float | None]:
        """Both typed (rounded), one typed (kept for the rule to refuse), else the ZIP code's."""
        lat, lon = self._text("latitude"), self._text("longitude")
        if lat and lon:
            return round(float(lat), 6), round(float(lon), 6)
        if lat or lon:
            return (float(lat) if lat else None), (float(lon) if lon else None)
        info = zip_info(address["postal_code"]) if address else None
        if info is None:
            return None, None
        return round(info.latitude, 5), round(info.longitude, 5)

    def _phones(self) -> list[dict[str, str]]:
        return [
            {
                "number": row.number.data,
                "kind": row.kind.data,
                "description": (row.note.data or "").strip(),
                **({"id": row.pid.data.strip()} if (row.pid.data or "").strip() else {}),
            }
            for row in self.phones.entries
            if (row.number.data or "").strip()
        ]

    def _capacity(self) -> dict[str, Any]:
        """Capacity and stay, kept only for a type with capacity (ServiceType.has_capacity)."""
        has = self.service_type.has_capacity
        unit = self.capacity_unit.data
        return {
            "capacity": self.capacity.data if has else None,
            "capacity_unit": unit if unit in CAPACITY_UNITS else "beds",
            "max_stay_hours": self.max_stay_hours.data if has else None,
        }

    def to_data(self) -> dict[str, Any]:
        """The normalised listing data (models.listings.fields) from the parsed form."""
        data = empty_data()
        data.update({k: self._text(k) for k in TEXT_KEYS})
        data["address"] = self._address()
        data["latitude"], data["longitude"] = self._coordinates(data["address"])
        data["counties"] = self._counties()
        data["phones"] = self._phones()
        data["hours"] = self._hours_from_rows()
        data.update({k: list(getattr(self, k).data or []) for k in LIST_KEYS})
        data.update({k: getattr(self, k).data for k in NUMBER_KEYS})
        data.update({k: bool(getattr(self, k).data) for k in FLAG_KEYS})
        data["cost"] = self.cost.data
        data.update(self._capacity())
        data.update(
            {spec.key: catalogue_value(spec, self[spec.key].data) for spec in simple_fields()}
        )
        return data


# the stored keys of the form's plain controls, by how they are read
TEXT_KEYS = (
    "name",
    "description",
    "chat_url",
    "email",
    "website",
    "eligibility_notes",
    "cost_notes",
    "accessibility",
)
LIST_KEYS = ("populations", "languages", "referral_sources")
NUMBER_KEYS = ("min_age", "max_age", "target_response_minutes")
FLAG_KEYS = ("nonviolent_only", "walk_in", "le_dropoff", "no_one_turned_away", "exclude_from_print")


# stored keys the editor shows as they are
PLAIN_KEYS = (
    *TEXT_KEYS,
    *LIST_KEYS,
    *NUMBER_KEYS,
    *FLAG_KEYS,
    "cost",
    "capacity",
    "capacity_unit",
    "max_stay_hours",
)


def _address_values(full: dict[str, Any]) -> dict[str, Any]:
    addr = full.get("address") or {}
    return {
        **{k: addr.get(k, "") for k in ("address_1", "address_2", "city", "postal_code")},
        "county_fips": addr.get("county_fips", ""),
        "latitude": "" if full.get("latitude") is None else str(full["latitude"]),
        "longitude": "" if full.get("longitude") is None else str(full["longitude"]),
    }


def _county_values(counties: list[dict[str, str]]) -> dict[str, list[str]]:
    main = (CountyRole.SERVED, CountyRole.PRIMARY)
    return {
        "counties": [c["fips"] for c in counties if c.get("role") in main],
        "backup_counties": [c["fips"] for c in counties if c.get("role") == CountyRole.BACKUP],
    }


def _phone_values(phones: list[dict[str, str]]) -> list[dict[str, str]]:
    return [
        {
            "number": ph.get("number", ""),
            "kind": ph.get("kind", "voice"),
            "note": ph.get("description", ""),
            "pid": ph.get("id", ""),
        }
        for ph in phones
    ]


def _hours_values(hours: dict[str, Any]) -> dict[str, Any]:
    weekly = hours.get("weekly") or {}
    values: dict[str, Any] = {
        "is_24_7": bool(hours.get("is_24_7")),
        "closures": [
            {"date": _date(c.get("date")), "note": c.get("note", "")}
            for c in hours.get("closures") or []
        ],
        "hours_notes": hours.get("notes", ""),
    }
    for day in DAYS:
        values[f"hours_{day}"] = [
            {"opens": o, "closes": c, "overnight": False} for o, c in weekly.get(day) or []
        ]
    return values


def form_values(data: dict[str, Any]) -> dict[str, Any]:
    """Initial values of the editor from stored listing data (the inverse of `to_data`)."""
    full = empty_data()
    full.update(data or {})
    values: dict[str, Any] = {k: full.get(k) for k in PLAIN_KEYS}
    values.update({spec.key: full.get(spec.key) for spec in simple_fields()})
    values.update(_address_values(full))
    values.update(_county_values(full.get("counties") or []))
    values["phones"] = _phone_values(full.get("phones") or [])
    values.update(_hours_values(full.get("hours") or {}))
    return values


def _date(value):
    from datetime import date

    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def pad_rows(form: ListingForm) -> None:
    """Leave at least one blank row in each repeating group for additions (no JavaScript)."""
    groups = [(form.phones, PHONE_ROWS), (form.closures, CLOSURE_ROWS)]
    groups += [(getattr(form, f"hours_{d}"), SPAN_ROWS) for d in DAYS]
    for group, minimum in groups:
        while (len(group.entries) < minimum or _row_filled(group.entries[-1])) and (
            not group.max_entries or len(group.entries) < group.max_entries
        ):
            group.append_entry()


def _row_filled(entry) -> bool:
    return any((f.data not in (None, "", False)) and f.type != "SelectField" for f in entry.form)


for _day in DAYS:
    setattr(
        ListingForm,
        f"hours_{_day}",
        FieldList(FormField(SpanForm), label=DAY_NAMES[_day], min_entries=SPAN_ROWS, max_entries=4),
    )

# listing-rule keys shown at one input
PROBLEM_FIELDS = {
    "name": "name",
    "description": "description",
    "chat_url": "chat_url",
    "email": "email",
    "website": "website",
    "populations": "populations",
    "languages": "languages",
    "eligibility_notes": "eligibility_notes",
    "nonviolent_only": "nonviolent_only",
    "walk_in": "walk_in",
    "le_dropoff": "le_dropoff",
    "referral_sources": "referral_sources",
    "target_response_minutes": "target_response_minutes",
    "cost": "cost",
    "cost_notes": "cost_notes",
    "capacity": "capacity",
    "max_stay_hours": "max_stay_hours",
    "accessibility": "accessibility",
    "exclude_from_print": "exclude_from_print",
}
