"""The live capacity form (models/listings/capacity.py): status, free places, reason, note."""

from __future__ import annotations

from wtforms import HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length, NumberRange, Optional

from models.listings import CapacityStatus

from .base import RegistryForm


class CapacityForm(RegistryForm):
    status = HiddenField(
        validators=[
            InputRequired(message="Choose a status."),
            AnyOf([s.value for s in CapacityStatus], message="Choose a status."),
        ]
    )
    available = IntegerField(
        "Beds or chairs free now (optional)",
        validators=[Optional(), NumberRange(min=0, max=10_000, message="Give 0 or more.")],
        render_kw={"inputmode": "numeric"},
    )
    reason = TextAreaField(
        "Why you are diverting",
        validators=[Length(max=500)],
        render_kw={"rows": 2},
        description="For example: no staff for intake until 7 pm; send people to the Central center.",
    )
    note = StringField("Note (optional)", validators=[Length(max=200)])
