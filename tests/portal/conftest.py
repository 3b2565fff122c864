"""Portal fixtures: the demo provider signed in, demo objects by name, and a small HTML form
reader so tests post back exactly what the editor shows (like a browser would)."""

from __future__ import annotations

import io
from html.parser import HTMLParser

import pytest
from flask import g
from werkzeug.datastructures import MultiDict

from models import Listing, ListingRevision, Organization, db


class FormReader(HTMLParser):
    """The successful controls of one <form> (selected by its class or action), as a browser
    would send them."""

    def __init__(self, match: str):
        super().__init__(convert_charrefs=True)
        self.match = match
        self.inside = False
        self.depth = 0
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False
        self._option_value: str | None = None
        self._option_selected = False
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and not self.inside:
            if self.match in (a.get("class") or "") or self.match == a.get("action"):
                self.inside = True
            return
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((name, a.get("value", "on")))
            elif kind not in ("submit", "button", "file"):
                self.fields.append((name, a.get("value") or ""))
        elif tag == "select" and name:
            self._select, self._select_first, self._select_chosen = name, None, False
        elif tag == "option" and self._select:
            self._option_value = a.get("value")
            self._option_selected = "selected" in a
            self._text = ""
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""

    def handle_data(self, data):
        if self._textarea is not None or self._option_value is not None or self._select:
            self._text += data

    def handle_endtag(self, tag):
        if not self.inside:
            return
        if tag == "form":
            self.inside = False
        elif tag == "option" and self._select:
            value = self._option_value if self._option_value is not None else self._text.strip()
            if self._select_first is None:
                self._select_first = value
            if self._option_selected and not self._select_chosen:
                self.fields.append((self._select, value))
                self._select_chosen = True
            self._option_value = None
        elif tag == "select" and self._select:
            if not self._select_chosen and self._select_first is not None:
                self.fields.append((self._select, self._select_first))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None


def read_form(html: str, match: str) -> MultiDict:
    reader = FormReader(match)
    reader.feed(html)
    assert reader.fields, f"no form matching {match!r} on the page"
    return MultiDict(reader.fields)


def fresh_csrf() -> None:
    """Requests in a test share the test's app context, so Flask-WTF's per-request cache
    `g.csrf_token` outlives the session that signing in clears; drop it after a sign-in."""
    g.pop("csrf_token", None)


@pytest.fixture
def sign_in_as(login):
    def _sign_in(who: str):
        client = login(who)
        fresh_csrf()
        return client

    return _sign_in


@pytest.fixture
def provider(sign_in_as):
    return sign_in_as("provider")


@pytest.fixture
def bluestem(app):
    return db.session.scalar(
        db.select(Organization).filter_by(dba="Bluestem Valley Behavioral Health")
    )


@pytest.fixture
def gateway(app):
    return db.session.scalar(
        db.select(Organization).filter_by(dba="Gateway Riverbend Crisis Services")
    )


def listing_named(name: str) -> Listing:
    rev = db.session.scalar(
        db.select(ListingRevision)
        .where(ListingRevision.name == name)
        .order_by(ListingRevision.id.desc())
        .limit(1)
    )
    assert rev is not None, name
    return rev.listing


def editor_fields(client, listing_id: int) -> MultiDict:
    resp = client.get(f"/portal/listings/{listing_id}/edit")
    assert resp.status_code == 200, resp.status_code
    return read_form(resp.get_data(as_text=True), "listing-editor")


def save(client, url: str, fields: MultiDict):
    return client.post(url, data=fields)


def set_field(fields: MultiDict, name: str, *values) -> None:
    fields.setlist(name, [str(v) for v in values])


def file_part(data: bytes, name: str):
    return (io.BytesIO(data), name)


def page_errors(html: str) -> list[str]:
    """The messages of the page's error summary and of every field error, as text."""
    import re

    found = re.findall(
        r'<div id="[^"]*-error" class="invalid-feedback d-block">(.*?)</div>', html, re.S
    )
    found += re.findall(
        r'<div class="invalid-feedback d-block group-error">(.*?)</div>', html, re.S
    )
    summary = re.search(
        r'<div class="alert alert-danger" role="alert" tabindex="-1" id="form-errors">(.*?)</div>',
        html,
        re.S,
    )
    if summary:
        found += re.findall(r"<li>(.*?)</li>", summary.group(1), re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", m)).strip() for m in found]


# ------------------------------------------------------------------ real files


def make_pdf(pages: int = 1, password: str | None = None) -> bytes:
    """A real, small PDF written by pypdf (optionally encrypted)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=612, height=792)
    writer.add_metadata({"/Title": "Demo certification document"})
    if password:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 180, 20)).save(out, format="PNG")
    return out.getvalue()
