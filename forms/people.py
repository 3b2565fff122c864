"""Forms a provider organization administrator uses to manage colleagues."""

from __future__ import annotations

from wtforms import BooleanField, EmailField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, ValidationError

from forms.base import RegistryForm
from models.listings import normalise_email


class InviteColleagueForm(RegistryForm):
    email = EmailField("Colleague's e-mail", validators=[DataRequired(), Length(max=254)])
    name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    is_org_admin = BooleanField("Can also invite and remove colleagues")
    submit = SubmitField("Send invitation")

    def validate_email(self, field):
        try:
            field.data = normalise_email(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
