"""The base of every form: the registry's text policy (models/text.py) applied to every text
field before and after the field's own validators, so no form can forget it."""

from __future__ import annotations

from collections.abc import Iterator

from flask_wtf import FlaskForm
from wtforms import (
    Field,
    FieldList,
    FormField,
    HiddenField,
    PasswordField,
    StringField,
    TextAreaField,
)

from models.text import normalise, problem


def text_fields(fields) -> Iterator[tuple[Field, bool]]:
    """(field, multi-line?) for every text field, inside sub-forms and lists too. Passwords and
    hidden fields (CSRF tokens, versions) are left as typed."""
    for field in fields:
        if isinstance(field, FormField):
            yield from text_fields(field.form)
        elif isinstance(field, FieldList):
            yield from text_fields(field.entries)
        elif isinstance(field, PasswordField | HiddenField):
            continue
        elif isinstance(field, TextAreaField):
            yield field, True
        elif isinstance(field, StringField):
            yield field, False


class RegistryForm(FlaskForm):
    def validate(self, extra_validators=None) -> bool:
        fields = list(text_fields(self))
        for field, multi_line in fields:
            if isinstance(field.data, str):
                field.data = normalise(field.data, multi_line=multi_line)
        ok = super().validate(extra_validators)
        for field, multi_line in fields:
            why = (
                problem(field.data, multi_line=multi_line) if isinstance(field.data, str) else None
            )
            if why:
                field.errors = [*field.errors, why]
                ok = False
        return ok
