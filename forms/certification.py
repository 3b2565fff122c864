"""Certification applications (new or renewal) and document uploads."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from forms.base import RegistryForm

from .listing import MultiCheckboxField, as_choices
from .validators import sniff_upload, upload_filename

ACCREDITING_BODIES = [
    ("", "Choose the accrediting body"),
    ("CARF", "CARF International"),
    ("TJC", "The Joint Commission"),
    ("COA", "Council on Accreditation (COA)"),
    ("AAS", "American Association of Suicidology (AAS)"),
    ("Other", "Another national accrediting body"),
]


class CertificationForm(RegistryForm):
    type_code = SelectField(
        "Certification",
        validators=[DataRequired(message="Choose the certification you apply for.")],
    )
    basis = RadioField(
        "Basis",
        choices=as_choices(
            [("survey", "DMH survey"), ("deemed", "Deemed status through national accreditation")]
        ),
        default="survey",
        validators=[DataRequired(message="Choose the basis.")],
    )
    accrediting_body = SelectField(
        "Accrediting body", choices=as_choices(ACCREDITING_BODIES), default=""
    )
    accreditation_number = StringField("Accreditation number", validators=[Length(max=80)])
    accreditation_effective_on = DateField("Accreditation effective", validators=[Optional()])
    accreditation_expires_on = DateField("Accreditation expires", validators=[Optional()])
    listings = MultiCheckboxField(
        "Listings this certification covers", choices=[], coerce=int, validate_choice=False
    )
    renews_id = SelectField("Renews", choices=[], coerce=str, default="")
    note = TextAreaField(
        "Note to DMH (optional)", validators=[Length(max=2000)], render_kw={"rows": 3}
    )

    def __init__(self, *args, types, listings, renewable, **kwargs):
        super().__init__(*args, **kwargs)
        self.type_code.choices = as_choices(
            [("", "Choose")] + [(t.code, f"{t.name} ({t.rule_citation})") for t in types]
        )
        self.listings.choices = as_choices(
            (lst.id, f"{lst.display_name} — {lst.service_type.short_name}") for lst in listings
        )
        self.renewable = {str(c.id): c for c in renewable}
        self.renews_id.choices = as_choices(
            [("", "A new certification (not a renewal)")]
            + [
                (
                    c.id,
                    f"{c.type.name} {c.certificate_number or '#' + str(c.id)} ({c.status.replace('_', ' ')})",
                )
                for c in renewable
            ]
        )

    def validate_listings(self, field):
        allowed = {int(c.value) for c in self.listings.choices}
        if any(v not in allowed for v in field.data or []):
            raise ValidationError("Choose from your organization's listings.")

    def validate_accrediting_body(self, field):
        if self.basis.data == "deemed" and not field.data:
            raise ValidationError("Deemed status needs the accrediting body.")
        if self.basis.data == "survey":
            field.data = ""

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        field = self.accreditation_expires_on
        # Optional() ends the field's own chain on an empty value, so the "required when
        # deemed" rule is checked here
        if self.basis.data == "deemed" and not field.data and not field.errors:
            field.errors = [
                *field.errors,
                "Give the date the accreditation expires; deemed status ends with it.",
            ]
            ok = False
        start = self.accreditation_effective_on.data
        if field.data and start and field.data < start:
            field.errors = [*field.errors, "The accreditation expires before it starts."]
            ok = False
        return ok

    def validate_renews_id(self, field):
        if field.data:
            old = self.renewable.get(field.data)
            if old is None:
                raise ValidationError("Choose one of your organization's certifications.")
            if self.type_code.data and old.type_code != self.type_code.data:
                raise ValidationError(
                    "A renewal is for the same certification as the one it renews."
                )


class DocumentForm(RegistryForm):
    file = FileField("File (PDF, PNG or JPEG)")
    type_code = SelectField(
        "Document type", validators=[DataRequired(message="Choose what the document is.")]
    )
    issuer = StringField("Issued by (optional)", validators=[Length(max=200)])
    issued_on = DateField("Issued on (optional)", validators=[Optional()])
    expires_on = DateField("Expires on (optional)", validators=[Optional()])

    def __init__(self, *args, document_types, max_bytes: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.type_code.choices = as_choices(
            [("", "Choose")] + [(t.code, t.name) for t in document_types]
        )
        self.max_bytes = max_bytes
        self.content: bytes = b""
        self.content_type = ""
        self.filename = ""
        self.too_large = False

    def validate_file(self, field):
        storage = field.data
        if storage is None or not hasattr(storage, "read"):
            raise ValidationError("Choose a file to upload.")
        try:
            self.filename = upload_filename(storage.filename)
            data = storage.read(self.max_bytes + 1)
            self.too_large = len(data) > self.max_bytes
            self.content_type = sniff_upload(data, self.filename, self.max_bytes)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
        self.content = data

    def validate_expires_on(self, field):
        if field.data and self.issued_on.data and field.data < self.issued_on.data:
            raise ValidationError("The document expires before it was issued.")
