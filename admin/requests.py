"""The request class: forms must arrive as UTF-8. Werkzeug keeps an invalid byte sequence in
a urlencoded form as its percent-encoded text (`%ED%A0%80`), which would be stored as if typed;
here such a form is refused with a 400 instead."""

from __future__ import annotations

from urllib.parse import parse_qsl

from flask import Request
from werkzeug.exceptions import BadRequest
from werkzeug.formparser import FormDataParser


class NotUtf8(BadRequest):
    description = "The form was not sent as UTF-8 text. Reload the page and try again."


class Utf8FormDataParser(FormDataParser):
    def _parse_urlencoded(self, stream, mimetype, content_length, options):
        try:
            items = parse_qsl(
                stream.read().decode("utf-8"), keep_blank_values=True, errors="strict"
            )
        except UnicodeDecodeError:
            raise NotUtf8() from None
        return stream, self.cls(items), self.cls()


class RegistryRequest(Request):
    form_data_parser_class = Utf8FormDataParser
