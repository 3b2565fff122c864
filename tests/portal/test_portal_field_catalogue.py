"""A listing field is declared once, in the catalogue (models/listings/fields.py), and every reader picks
it up: the editor (control, stored value, errors next to it), the listing rules, the provider's
and the reviewer's diff, the HSDS service (JSON and services.csv), listings.csv's cells and the
printed entry's lines. The test declares two fields at run time, as a new entry would."""

from __future__ import annotations

import re

import pytest

from forms.listing import ListingForm
from models import Listing, db
from models.listings import (
    FIELD_LABELS,
    FIELDS,
    FieldSpec,
    canonical,
    check_listing,
    csv_values,
    diff,
    empty_data,
    print_lines,
    record_values,
    register_field,
    unregister_field,
)
from models.reference import ServiceType
from tasks.publishing import hsds, tabular
from tests.conftest import post, sign_in
from tests.factories import PEER_STAFF_FIELD as PEER

PARKING = FieldSpec(
    "parking",
    "Parking",
    "Access",
    widget="text",
    form_label="Where to park",
    max_length=40,
    hsds="mo_dmh_parking",
    pdf=True,
)

EDITOR = {
    "name": "Catalogue Test Residential",
    "address_1": "200 Main Street",
    "city": "Grant City",
    "postal_code": "64456",
    "county_fips": "29227",
    "phones-0-number": "(660) 555-0142",
    "phones-0-kind": "voice",
    "is_24_7": "y",
    "languages": "en",
    "cost": "no_cost",
    "lock_version": "0",
}


def text(resp) -> str:
    return re.sub(r"\s+", " ", resp.get_data(as_text=True))


@pytest.fixture
def declared():
    register_field(PEER, after="eligibility_notes")
    register_field(PARKING)
    yield
    unregister_field("parking")
    unregister_field("peer_staff")


def test_a_declared_field_has_a_default_a_label_and_a_place_in_the_diff(declared):
    data = empty_data()
    assert data["peer_staff"] is None and data["parking"] == ""
    assert FIELD_LABELS["peer_staff"] == "Peer staff on site"
    keys = [f.key for f in FIELDS]
    assert keys.index("peer_staff") == keys.index("eligibility_notes") + 1
    after = {**data, "peer_staff": "some", "parking": "Behind the building"}
    changes = {c.key: c for c in diff(data, after, {})}
    assert (changes["peer_staff"].before, changes["peer_staff"].after) == ("—", "On some shifts")
    assert changes["parking"].label == "Parking" and changes["parking"].section == "Access"
    assert print_lines(after) == [
        ("Peer staff on site", "On some shifts"),
        ("Parking", "Behind the building"),
    ]
    assert csv_values(after) == {"peer_staff": "On some shifts"}


def test_the_rules_check_a_declared_field_against_its_declaration(app, declared):
    st = db.session.get(ServiceType, "crisis_residential")
    base = {**empty_data(), "name": "X", "phones": [{"number": "+16605550142", "kind": "voice"}]}
    wrong = check_listing(st, {**base, "peer_staff": "daily", "parking": "x" * 41}, None)
    assert wrong["peer_staff"] == ["Choose from the list."]
    assert wrong["parking"] == ["Keep this under 40 characters."]
    right = check_listing(st, {**base, "peer_staff": "always", "parking": "Lot B"}, None)
    assert "peer_staff" not in right and "parking" not in right


def test_the_editor_shows_stores_and_reviews_a_declared_field(app, declared):
    provider = app.test_client()
    assert sign_in(provider, "provider@demo.test").status_code == 302
    url = "/portal/listings/new/crisis_residential"
    page = text(provider.get(url))
    assert 'name="peer_staff"' in page and "Peer staff on site" in page
    assert "People with lived experience of a crisis." in page
    assert 'name="parking"' in page and "Where to park" in page

    # a code off the list is the rules' finding; a long text, the form's (parsing comes first)
    resp = post(provider, url, {**EDITOR, "peer_staff": "daily"})
    assert resp.status_code == 422
    assert (
        '<div id="peer_staff-error" class="invalid-feedback d-block">Choose from the list.'
        in text(resp)
    )
    resp = post(provider, url, {**EDITOR, "peer_staff": "some", "parking": "x" * 41})
    assert resp.status_code == 422
    assert 'id="parking-error"' in text(resp)

    resp = post(provider, url, {**EDITOR, "peer_staff": "some", "parking": " Lot B "})
    assert resp.status_code == 302, text(resp)[:1500]
    listing = db.session.scalar(
        db.select(Listing)
        .where(Listing.service_type_code == "crisis_residential")
        .order_by(Listing.id.desc())
    )
    rev = listing.open_revision
    assert rev.data["peer_staff"] == "some" and rev.data["parking"] == "Lot B"
    edit = text(provider.get(f"/portal/listings/{listing.id}/edit"))
    assert 'value="Lot B"' in edit and '<option selected value="some">' in edit
    changes = text(provider.get(f"/portal/listings/{listing.id}/changes"))
    assert "Peer staff on site" in changes and "On some shifts" in changes

    resp = post(
        provider,
        f"/portal/revisions/{rev.id}/submit",
        {"note": ""},
        form_url=f"/portal/listings/{listing.id}/changes",
    )
    assert resp.status_code == 302
    reviewer = app.test_client()
    assert sign_in(reviewer, "reviewer@demo.test").status_code == 302
    review = text(reviewer.get(f"/review/revisions/{rev.id}"))
    assert "Peer staff on site" in review and "On some shifts" in review
    assert "Parking" in review and "Lot B" in review


def test_the_feeds_carry_a_declared_field(app, declared):
    data = {**empty_data(), "peer_staff": "always", "parking": "Lot B"}
    record = {
        "id": "4b0b8a8e-54a4-4c9e-9a8e-0d6f2f9b1c11",
        "name": "X",
        "service_type": "crisis_residential",
        "organization": {"id": "6f1d3c1e-0b7a-4a53-8a3e-3f7d6a9c2b10", "name": "Org"},
        **record_values(data),
    }
    doc = hsds.service_document(record, {})
    assert doc["mo_dmh_peer_staff"] == "always" and doc["mo_dmh_parking"] == "Lot B"
    package = tabular.descriptor({"mo_dmh_service_type": "string"})
    service = next(r for r in package["resources"] if r["name"] == "service")
    columns = {f["name"]: f["type"] for f in service["schema"]["fields"]}
    assert columns["mo_dmh_peer_staff"] == "string" and columns["mo_dmh_parking"] == "string"
    rows = [row for table, row in tabular.document_rows(doc) if table == "service"]
    assert rows[0]["mo_dmh_peer_staff"] == "always"


def test_checkbox_fields_compare_as_sets_and_the_catalogue_is_restored(declared):
    days = FieldSpec(
        "visit_days",
        "Visiting days",
        "Access",
        widget="checkboxes",
        choices={"sat": "Saturday", "sun": "Sunday"},
    )
    register_field(days)
    try:
        assert canonical({"visit_days": ["sun", "sat", "sun"]})["visit_days"] == ["sat", "sun"]
        assert empty_data()["visit_days"] == []
    finally:
        unregister_field("visit_days")
    assert "visit_days" not in FIELD_LABELS and "visit_days" not in empty_data()


def test_a_field_taken_back_leaves_the_editor(app):
    register_field(PARKING)
    try:
        assert "parking" in listing_form(app)._fields
    finally:
        unregister_field("parking")
    assert "parking" not in listing_form(app)._fields


def listing_form(app):
    st = db.session.get(ServiceType, "crisis_residential")
    with app.test_request_context():
        return ListingForm(service_type=st, organization=None, counties=[], regions=[])
    with pytest.raises(ValueError, match="already declared"):
        register_field(PEER)
