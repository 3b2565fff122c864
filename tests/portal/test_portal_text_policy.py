"""One text policy for every input (models/text.py): what is refused next to the field, what is
normalised, and the writers' second line of defence for anything that reached the database."""

from __future__ import annotations

import csv
import io
import unicodedata
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import ListingRevision, db
from models.text import normalise, problem, publishable
from tests.portal.conftest import editor_fields, listing_named, page_errors, set_field

CBHL = "Community Behavioral Health Liaison — Central"


def revisions(listing_id: int) -> int:
    return db.session.scalar(
        db.select(db.func.count(ListingRevision.id)).where(ListingRevision.listing_id == listing_id)
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "Bad\x00Name", "Remove the control character (U+0000)"),
        ("name", "Crisis \u202eenil", "Remove the hidden text-direction character (U+202E"),
        ("name", "Crisis\u200bLine", "Remove the invisible character (U+200B"),
        ("name", "Crisis\r\nLine", "Keep this on one line"),
        ("description", "Walk in\x0b any time", "Remove the control character (U+000B)"),
        ("phones-0-number", "573\u202e555\u202c0142", "Remove the hidden text-direction character"),
    ],
)
def test_refused_text_is_named_next_to_its_field_and_nothing_is_saved(
    provider, field, value, message
):
    lst = listing_named(CBHL)
    before = revisions(lst.id)
    fields = editor_fields(provider, lst.id)
    set_field(fields, field, value)
    resp = provider.post(f"/portal/listings/{lst.id}/edit", data=fields)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert any(message in e for e in page_errors(html)), page_errors(html)
    assert f'id="{field}-error"' in html
    assert revisions(lst.id) == before


def test_text_is_stored_in_nfc_and_multi_line_fields_keep_their_lines(provider):
    lst = listing_named(CBHL)
    fields = editor_fields(provider, lst.id)
    set_field(fields, "name", "Cafe\u0301 Crisis Liaison")  # e + combining accent
    set_field(fields, "description", "First line.\r\nSecond line.\u2028Third.")
    resp = provider.post(f"/portal/listings/{lst.id}/edit", data=fields)
    assert resp.status_code == 302, page_errors(resp.get_data(as_text=True))
    db.session.expire_all()
    data = listing_named("Caf\u00e9 Crisis Liaison").open_revision.data
    assert data["name"] == "Caf\u00e9 Crisis Liaison"
    assert data["description"] == "First line.\nSecond line.\nThird."


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(min_size=1, max_size=40))
def test_whatever_the_policy_accepts_every_writer_can_carry(value):
    for multi_line in (False, True):
        text = normalise(value, multi_line=multi_line)
        assert unicodedata.is_normalized("NFC", text)
        if problem(text, multi_line=multi_line) is None:
            assert publishable(text) == text  # nothing accepted is dropped on the way out
            if not multi_line:
                assert not any(ch in text for ch in "\r\n\t\u2028\u2029")
        # whatever got in, what a writer emits is valid XML and plain CSV
        from xml.sax.saxutils import escape

        ET.fromstring(f"<t>{escape(publishable(text))}</t>")  # noqa: S314 - built here
        buf = io.StringIO()
        csv.writer(buf).writerow([publishable(text)])
        assert "\x00" not in buf.getvalue()


def test_a_form_that_is_not_utf8_is_refused_not_stored_as_percent_text(provider):
    lst = listing_named(CBHL)
    before = revisions(lst.id)
    fields = editor_fields(provider, lst.id)
    from urllib.parse import urlencode

    body = urlencode({k: v for k, v in fields.items() if k != "name"}, doseq=True)
    body += "&name=Crisis%ED%A0%80Line"  # a lone surrogate: not UTF-8
    resp = provider.post(
        f"/portal/listings/{lst.id}/edit",
        data=body.encode(),
        content_type="application/x-www-form-urlencoded",
    )
    assert resp.status_code == 400
    assert "not sent as UTF-8" in resp.get_data(as_text=True)
    assert revisions(lst.id) == before
