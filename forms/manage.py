"""Forms of the DMH administration area. They only validate; the models do the work. Identifier
rules come from models.identifiers, shared with the CSV importer."""

from __future__ import annotations

import re

from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from forms.base import RegistryForm
from models.listings import (
    normalise_ein,
    normalise_email,
    normalise_https_url,
    normalise_npi,
    normalise_phone,
)
from models.reference import (
    SERVICE_TYPE_FIELDS,
    CertificationScope,
    CoverageGroup,
    CoverageKind,
    FieldRule,
    HoursRule,
    Pillar,
)

CODE_RE = r"^[a-z0-9][a-z0-9_]{1,39}$"
CODE_MESSAGE = "Lower-case letters, digits and _ only (2–40 characters), e.g. crisis_residential."


def as_choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(str(value), label) for value, label in pairs]


def _normalising(fn):
    """A validator that replaces the field's data with the normalised value or shows the error."""

    def validator(form, field):
        try:
            field.data = fn(field.data or "")
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    return validator


class OrganizationForm(RegistryForm):
    legal_name = StringField("Legal name", validators=[DataRequired(), Length(max=200)])
    dba = StringField(
        "Doing business as",
        validators=[Optional(), Length(max=200)],
        description="The name people know, if different from the legal name.",
    )
    ein = StringField(
        "EIN",
        validators=[Optional(), _normalising(normalise_ein)],
        description="Employer Identification Number, NN-NNNNNNN.",
        render_kw={"inputmode": "numeric"},
    )
    npi = StringField(
        "NPI",
        validators=[Optional(), _normalising(normalise_npi)],
        description="Organization (type 2) National Provider Identifier, 10 digits.",
        render_kw={"inputmode": "numeric"},
    )
    website = StringField(
        "Website",
        validators=[Optional(), Length(max=300), _normalising(normalise_https_url)],
        description="Starts with https://",
    )
    email = EmailField(
        "Main e-mail", validators=[Optional(), Length(max=254), _normalising(normalise_email)]
    )
    phone = StringField(
        "Main phone",
        validators=[Optional(), _normalising(normalise_phone)],
        render_kw={"type": "tel"},
    )
    contact_name = StringField("Main contact", validators=[Optional(), Length(max=120)])
    description = TextAreaField(
        "Notes", validators=[Optional(), Length(max=4000)], render_kw={"rows": 3}
    )
    submit = SubmitField("Save organization")

    def values(self) -> dict:
        return {
            f: (getattr(self, f).data or "")
            for f in (
                "legal_name",
                "dba",
                "ein",
                "npi",
                "website",
                "email",
                "phone",
                "contact_name",
                "description",
            )
        }


class ReasonForm(RegistryForm):
    reason = TextAreaField(
        "Reason", validators=[Optional(), Length(max=1000)], render_kw={"rows": 2}
    )
    submit = SubmitField("Confirm")


ROLE_CHOICES = as_choices(
    [
        ("provider", "Provider (organization staff)"),
        ("reviewer", "DMH reviewer"),
        ("admin", "DMH administrator"),
    ]
)


class _MembershipMixin:
    def validate_organization_id(self, field):
        if self.role.data == "provider" and not field.data:
            raise ValidationError("Choose the provider's organization.")
        if self.role.data != "provider" and field.data:
            raise ValidationError("DMH staff do not belong to an organization; leave this empty.")

    def validate_is_org_admin(self, field):
        if field.data and self.role.data != "provider":
            raise ValidationError("Only provider users can be organization administrators.")


class InviteForm(_MembershipMixin, RegistryForm):
    email = EmailField(
        "E-mail", validators=[DataRequired(), Length(max=254), _normalising(normalise_email)]
    )
    name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[DataRequired()])
    organization_id = SelectField(
        "Organization",
        coerce=lambda v: int(v) if v else None,
        validate_choice=True,
        description="Required for provider users; empty for DMH staff.",
    )
    is_org_admin = BooleanField("Organization administrator (can invite and remove colleagues)")
    submit = SubmitField("Send invitation")


class MembershipForm(_MembershipMixin, RegistryForm):
    name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[DataRequired()])
    organization_id = SelectField(
        "Organization", coerce=lambda v: int(v) if v else None, validate_choice=True
    )
    is_org_admin = BooleanField("Organization administrator")
    submit = SubmitField("Save changes")


class ReauthForm(RegistryForm):
    """The admin proves it is them before a sensitive change (second-factor reset)."""

    password = PasswordField(
        "Your password",
        validators=[DataRequired(), Length(max=128)],
        render_kw={"autocomplete": "current-password"},
    )
    code = StringField(
        "Your 6-digit code",
        validators=[
            DataRequired(),
            Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message="Enter the 6 digits your app shows."),
        ],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": 7},
    )
    submit = SubmitField("Confirm and reset second factor")


def _choices(enum_cls):
    return as_choices((v, v.replace("_", " ")) for v in enum_cls.values())


class ServiceTypeForm(RegistryForm):
    code = StringField(
        "Code",
        validators=[DataRequired(), Regexp(CODE_RE, message=CODE_MESSAGE)],
        description="Stable identifier used in feeds; cannot change later.",
    )
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    short_name = StringField("Short name", validators=[DataRequired(), Length(max=40)])
    pillar = SelectField("Pillar", choices=_choices(Pillar))
    sort_order = IntegerField(
        "Sort order", validators=[DataRequired(), NumberRange(min=0, max=10000)], default=0
    )
    description = TextAreaField(
        "Description", validators=[Optional(), Length(max=2000)], render_kw={"rows": 3}
    )
    rule_citation = StringField(
        "Rule citation", validators=[Optional(), Length(max=80)], description="e.g. 9 CSR 30-7.010"
    )
    hours_rule = SelectField(
        "Hours rule",
        choices=as_choices(
            [
                ("24_7", "must be open 24/7"),
                ("under_24", "must be open less than 24 h/day"),
                ("any", "any hours"),
            ]
        ),
    )
    max_stay_hours = IntegerField(
        "Longest stay allowed (hours)",
        validators=[Optional(), NumberRange(min=1, max=24 * 365)],
        description="Empty when the type has no stay limit.",
    )
    site_address_rule = SelectField("Site address", choices=_choices(FieldRule))
    walk_in_allowed = BooleanField("Walk-in allowed")
    counties_rule = SelectField("Counties served", choices=_choices(FieldRule))
    coverage_kind = SelectField(
        "Coverage",
        choices=as_choices(
            [
                (CoverageKind.SERVED.value, "counties served"),
                (CoverageKind.PRIMARY_BACKUP.value, "primary / backup per county (988)"),
            ]
        ),
    )
    coverage_group = SelectField(
        "Counts in county coverage as",
        choices=as_choices(
            [
                (CoverageGroup.NONE.value, "nothing (not part of the coverage gaps)"),
                (CoverageGroup.MOBILE_TEAM.value, "a mobile crisis team"),
                (CoverageGroup.CRISIS_CENTER.value, "a crisis center"),
                (CoverageGroup.SOBERING_CENTER.value, "a sobering center"),
            ]
        ),
        description="988 answering is the primary / backup coverage above.",
    )
    requires_nonviolent = BooleanField("Serves nonviolent people only")
    is_role = BooleanField("A role with a coverage area, not a facility")
    has_capacity = BooleanField("Has capacity (beds or chairs)")
    required_certification_code = SelectField("Certification required of each listing", choices=[])
    org_certification_code = SelectField("Certification required of the organization", choices=[])
    submit = SubmitField("Save service type")

    def validate_hours_rule(self, field):
        if field.data not in HoursRule.values():
            raise ValidationError("Choose an hours rule.")

    def validate_site_address_rule(self, field):
        if field.data == FieldRule.FORBIDDEN and self.walk_in_allowed.data:
            raise ValidationError("A type without a public address cannot allow walk-ins.")

    def validate_coverage_group(self, field):
        if (
            self.coverage_kind.data == CoverageKind.PRIMARY_BACKUP
            and field.data != CoverageGroup.NONE
        ):
            raise ValidationError("A type answering 988 counts as 988 coverage only.")

    def validate_counties_rule(self, field):
        if (
            self.coverage_kind.data == CoverageKind.PRIMARY_BACKUP
            and field.data != FieldRule.REQUIRED
        ):
            raise ValidationError("Primary/backup coverage needs the counties to be required.")
        if self.is_role.data and field.data != FieldRule.REQUIRED:
            raise ValidationError("A role-type service must list the counties it covers.")

    def values(self) -> dict:
        """Every rule the form shows, as the model stores it (names stripped, no certification
        as None): a rule column with a control of the same name needs nothing more here."""
        values = {
            name: getattr(self, name).data for name in SERVICE_TYPE_FIELDS if name in self._fields
        }
        values["name"] = values["name"].strip()
        values["short_name"] = values["short_name"].strip()
        values["description"] = values["description"] or ""
        values["rule_citation"] = values["rule_citation"] or ""
        values["required_certification_code"] = values["required_certification_code"] or None
        values["org_certification_code"] = values["org_certification_code"] or None
        return values


class CertificationTypeForm(RegistryForm):
    code = StringField("Code", validators=[DataRequired(), Regexp(CODE_RE, message=CODE_MESSAGE)])
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    rule_citation = StringField(
        "Rule citation",
        validators=[DataRequired(), Length(max=80)],
        description="e.g. 9 CSR 30-7.010",
    )
    scope = SelectField(
        "Held by",
        choices=as_choices(
            [
                (CertificationScope.ORGANIZATION.value, "the organization"),
                (CertificationScope.LISTING.value, "named listings (sites)"),
            ]
        ),
    )
    default_period_months = IntegerField(
        "Default period (months)",
        validators=[DataRequired(), NumberRange(min=1, max=120)],
        default=36,
    )
    description = TextAreaField(
        "Description", validators=[Optional(), Length(max=2000)], render_kw={"rows": 3}
    )
    submit = SubmitField("Save certification type")

    def values(self) -> dict:
        return {
            "name": self.name.data.strip(),
            "rule_citation": self.rule_citation.data.strip(),
            "scope": self.scope.data,
            "default_period_months": self.default_period_months.data,
            "description": self.description.data or "",
        }


class DocumentTypeForm(RegistryForm):
    code = StringField("Code", validators=[DataRequired(), Regexp(CODE_RE, message=CODE_MESSAGE)])
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    description = TextAreaField(
        "Description", validators=[Optional(), Length(max=2000)], render_kw={"rows": 3}
    )
    has_expiry = BooleanField("Documents of this type expire")
    submit = SubmitField("Save document type")

    def values(self) -> dict:
        return {
            "name": self.name.data.strip(),
            "description": self.description.data or "",
            "has_expiry": self.has_expiry.data,
        }


class RegionForm(RegistryForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    slug = StringField(
        "Short name (in addresses and file names)",
        validators=[
            DataRequired(),
            Regexp(
                r"^[a-z0-9][a-z0-9-]{1,59}$",
                message="Lower-case letters, digits and hyphens, e.g. troop-c.",
            ),
        ],
    )
    layer = StringField(
        "Layer",
        validators=[DataRequired(), Length(max=40)],
        description="Which family of regions this belongs to, e.g. DMH service area, Highway Patrol troop, ERE region.",
    )
    description = TextAreaField(
        "Description", validators=[Optional(), Length(max=2000)], render_kw={"rows": 2}
    )
    counties = SelectMultipleField("Counties", choices=[], validate_choice=False)
    fips_list = TextAreaField(
        "…or paste county FIPS codes",
        validators=[Optional(), Length(max=2000)],
        description="Separated by spaces, commas or new lines, e.g. 29019 29051. Added to the ticked counties.",
        render_kw={"rows": 2},
    )
    submit = SubmitField("Save region")

    def selected_fips(self) -> list[str]:
        return sorted(
            set(self.counties.data or []) | set(re.findall(r"\d+", self.fips_list.data or ""))
        )

    def validate_counties(self, field):
        known = {c.value for c in field.choices}
        pasted = re.findall(r"\d+", self.fips_list.data or "")
        bad = [f for f in list(field.data or []) + pasted if f not in known]
        if bad:
            raise ValidationError(f"Not Missouri county FIPS codes: {', '.join(sorted(set(bad)))}.")
        if not (field.data or pasted):
            raise ValidationError("Tick at least one county, or paste FIPS codes.")

    def values(self) -> dict:
        return {
            "name": self.name.data.strip(),
            "slug": self.slug.data,
            "layer": self.layer.data.strip(),
            "description": self.description.data or "",
            "counties": self.selected_fips(),
        }


class ImportForm(RegistryForm):
    kind = SelectField(
        "What the file holds",
        choices=as_choices(
            [("organizations", "Organizations"), ("listings", "Listings (imported as drafts)")]
        ),
    )
    file = FileField(
        "CSV file",
        validators=[FileRequired(message="Choose a CSV file.")],
        render_kw={"accept": ".csv,text/csv"},
    )
    submit = SubmitField("Check the file (nothing is saved)")


class ImportConfirmForm(RegistryForm):
    submit = SubmitField("Import all rows")


class AuditSearchForm(RegistryForm):
    class Meta:
        csrf = False  # a GET search form

    actor = StringField("Actor (e-mail)", validators=[Optional(), Length(max=254)])
    organization_id = SelectField(
        "Organization", coerce=lambda v: int(v) if v else None, validate_choice=False
    )
    object_type = StringField(
        "Object type",
        validators=[Optional(), Length(max=40)],
        description="e.g. listing, user, organization, service_type",
    )
    object_id = StringField("Object id", validators=[Optional(), Length(max=64)])
    action = StringField(
        "Action",
        validators=[Optional(), Length(max=60)],
        description="Exact, or a prefix ending in a dot, e.g. user.",
    )
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To (inclusive)", validators=[Optional()])

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date is before the start date.")
