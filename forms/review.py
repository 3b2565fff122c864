"""Forms of the DMH review area: queue filters, comments, decisions, certification
verification, document verification, suspension. They only validate; the views call
`models.listings.workflow` with the cleaned values."""

from __future__ import annotations

from datetime import date

from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from forms.base import RegistryForm
from models import CertificationStatus
from models.listings import FIELD_LABELS


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms 3.3 choices."""
    return [SelectChoice(v, label) for v, label in pairs]


KIND_PAIRS = [
    ("", "Listings and certifications"),
    ("revision", "Listing changes"),
    ("certification", "Certifications"),
]
CERT_STATUS_PAIRS = [
    (s.value, s.label)
    for s in (
        CertificationStatus.CERTIFIED,
        CertificationStatus.PROVISIONAL,
        CertificationStatus.CONDITIONAL,
        CertificationStatus.ON_HOLD,
        CertificationStatus.SUSPENDED,
        CertificationStatus.REVOKED,
    )
]
KIND_CHOICES = options(KIND_PAIRS)
CERT_STATUS_CHOICES = options(CERT_STATUS_PAIRS)


class QueueFilterForm(RegistryForm):
    """GET form: no CSRF token (it changes nothing). Choices are filled by the view."""

    class Meta:
        csrf = False

    q = StringField("Search name or organization", validators=[Optional(), Length(max=100)])
    kind = SelectField("Kind", choices=KIND_CHOICES, default="", validate_choice=True)
    service_type = SelectField("Service type", choices=[], default="")
    county = SelectField("County", choices=[], default="")
    region = SelectField("Region", choices=[], default="")
    organization = SelectField("Organization", choices=[], default="")
    mine = BooleanField("Assigned to me")
    unclaimed = BooleanField("Not claimed by anyone")
    overdue = BooleanField("Overdue")
    stale = BooleanField("Listing flagged stale")
    after = HiddenField()


class CommentForm(RegistryForm):
    field = SelectField("About", choices=[], default="")
    body = TextAreaField(
        "Comment",
        validators=[DataRequired(message="Write the comment."), Length(max=4000)],
        render_kw={"rows": 3},
    )
    submit = SubmitField("Add comment")

    def set_field_choices(self, keys: list[str] | None = None) -> None:
        keys = keys if keys is not None else list(FIELD_LABELS)
        self.field.choices = options(
            [("", "The whole item")] + [(k, FIELD_LABELS.get(k, k)) for k in keys]
        )


class DecisionForm(RegistryForm):
    lock_version = HiddenField(validators=[DataRequired()])
    decision = RadioField(
        "Decision",
        choices=options(
            [
                ("approve", "Approve: make it live"),
                ("request_changes", "Request changes (needs at least one open comment)"),
                ("reject", "Reject"),
            ]
        ),
        validators=[InputRequired(message="Choose a decision.")],
    )
    note = TextAreaField(
        "Note to the provider (required to reject)",
        validators=[Length(max=4000)],
        render_kw={"rows": 3},
    )
    override_claim = BooleanField("Yes, decide it although another reviewer holds it")
    submit = SubmitField("Record decision")

    def validate_lock_version(self, field):
        if not str(field.data or "").isdigit():
            raise ValidationError("The page is out of date. Reload it.")

    def validate_note(self, field):
        if self.decision.data == "reject" and not (field.data or "").strip():
            raise ValidationError("Say why the change is rejected; the provider will read it.")


class AssignForm(RegistryForm):
    reviewer = SelectField("Assign to", choices=[], coerce=int, validators=[InputRequired()])
    submit = SubmitField("Assign")


class CertificationDecisionForm(RegistryForm):
    lock_version = HiddenField(validators=[DataRequired()])
    status = SelectField("Status", choices=CERT_STATUS_CHOICES, validators=[InputRequired()])
    certificate_number = StringField("Certificate number", validators=[Optional(), Length(max=80)])
    effective_on = DateField("Effective on", validators=[Optional()])
    expires_on = DateField(
        "Expires on",
        validators=[Optional()],
        description="Leave empty for deemed status: the certification then follows the accreditation's expiry.",
    )
    conditions = TextAreaField("Conditions", validators=[Length(max=4000)], render_kw={"rows": 2})
    note = TextAreaField(
        "Note to the provider (required to hold, suspend or revoke)",
        validators=[Length(max=4000)],
        render_kw={"rows": 3},
    )
    override_claim = BooleanField("Yes, decide it although another reviewer holds it")
    submit = SubmitField("Record certification decision")

    def __init__(self, *args, certification=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._cert = certification

    def validate_lock_version(self, field):
        if not str(field.data or "").isdigit():
            raise ValidationError("The page is out of date. Reload it.")

    def _certifying(self) -> bool:
        return self.status.data in ("certified", "provisional", "conditional")

    def validate(self, extra_validators=None) -> bool:
        """Rules that depend on the chosen status (Optional() stops a field's own chain, so
        they are checked here and reported on their fields)."""
        ok = super().validate(extra_validators)
        cert = self._cert
        follows_accreditation = bool(
            cert is not None and cert.basis == "deemed" and cert.accreditation_expires_on
        )
        if self._certifying():
            if not (self.certificate_number.data or "").strip():
                self.certificate_number.errors = [
                    *self.certificate_number.errors,
                    "A certificate number is required to certify.",
                ]
                ok = False
            if self.effective_on.data is None and not self.effective_on.errors:
                self.effective_on.errors = [
                    *self.effective_on.errors,
                    "Give the date the certification takes effect.",
                ]
                ok = False
            if (
                self.expires_on.data is None
                and not self.expires_on.errors
                and not follows_accreditation
            ):
                self.expires_on.errors = [
                    *self.expires_on.errors,
                    "Give the expiry date (only deemed status can follow the accreditation's).",
                ]
                ok = False
        if (
            isinstance(self.expires_on.data, date)
            and isinstance(self.effective_on.data, date)
            and self.expires_on.data < self.effective_on.data
        ):
            self.expires_on.errors = [
                *self.expires_on.errors,
                "The expiry date must be on or after the effective date.",
            ]
            ok = False
        return ok

    def validate_note(self, field):
        if (
            self.status.data in ("on_hold", "suspended", "revoked")
            and not (field.data or "").strip()
        ):
            raise ValidationError("Give a reason; the provider will be told.")


class DocumentVerifyForm(RegistryForm):
    accepted = RadioField(
        "Verdict",
        choices=options([("yes", "Accept"), ("no", "Reject")]),
        validators=[InputRequired(message="Accept or reject the document.")],
    )
    reason = StringField("Reason (required to reject)", validators=[Length(max=1000)])
    submit = SubmitField("Record")

    def validate_reason(self, field):
        if self.accepted.data == "no" and not (field.data or "").strip():
            raise ValidationError("Say why the document is rejected.")


class SuspendForm(RegistryForm):
    reason = TextAreaField(
        "Reason (the provider is told)",
        validators=[DataRequired(message="Say why."), Length(max=2000)],
        render_kw={"rows": 2},
    )
    submit = SubmitField("Suspend listing")


class ReinstateForm(RegistryForm):
    reason = TextAreaField("Note (optional)", validators=[Length(max=2000)], render_kw={"rows": 2})
    submit = SubmitField("Reinstate listing")


class CompareForm(RegistryForm):
    class Meta:
        csrf = False

    a = IntegerField("From revision", validators=[InputRequired()])
    b = IntegerField("To revision", validators=[InputRequired()])
    submit = SubmitField("Compare")
