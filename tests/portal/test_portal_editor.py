"""The listing editor through HTTP: saving drafts, errors next to fields with nothing stored,
the optimistic lock, the diff, submit / withdraw / resubmit, "no changes", new listings."""

from __future__ import annotations

import copy

import pytest

from models import (
    AuditEvent,
    Listing,
    ListingRevision,
    ReviewComment,
    db,
    eligibility,
    published_listings,
    today,
)
from models.listings import workflow as wf
from tests.portal.conftest import editor_fields, listing_named, page_errors, read_form, set_field

CBHL = "Community Behavioral Health Liaison — Central"  # Bluestem's, live, no open revision


@pytest.fixture
def cbhl(app):
    lst = listing_named(CBHL)
    assert lst.open_revision is None
    return lst


def revision_count(listing_id: int) -> int:
    return db.session.scalar(
        db.select(db.func.count(ListingRevision.id)).where(ListingRevision.listing_id == listing_id)
    )


def test_save_creates_the_one_draft_and_keeps_the_live_version_public(provider, cbhl):
    live_id = cbhl.live_revision_id
    fields = editor_fields(provider, cbhl.id)
    set_field(fields, "phones-0-number", "(573) 555-0142")
    set_field(fields, "hours_fri-0-closes", "16:00")
    resp = provider.post(f"/portal/listings/{cbhl.id}/edit", data=fields)
    assert resp.status_code == 302, page_errors(resp.get_data(as_text=True))
    db.session.expire_all()
    rev = cbhl.open_revision
    assert rev.state == "draft"
    assert rev.data["phones"][0]["number"] == "+15735550142"
    assert rev.data["hours"]["weekly"]["fri"] == [["08:00", "16:00"]]
    assert cbhl.live_revision_id == live_id
    assert eligibility(cbhl, today()).is_public
    # a second save updates the same draft
    fields = editor_fields(provider, cbhl.id)
    set_field(fields, "description", "Now with a Friday afternoon clinic.")
    assert provider.post(f"/portal/listings/{cbhl.id}/edit", data=fields).status_code == 302
    db.session.expire_all()
    assert revision_count(cbhl.id) == 2
    assert cbhl.open_revision.id == rev.id
    # the diff shows what changes, against the live version
    page = provider.get(f"/portal/listings/{cbhl.id}/changes").get_data(as_text=True)
    assert (
        "Phone numbers" in page
        and "(573) 555-0142" in page
        and "Friday" in page
        and "Description" in page
    )
    assert "Website" not in page  # unchanged fields are not listed
    # submitting freezes it; the live version stays public and unchanged in the published set
    form = read_form(page, f"/portal/revisions/{rev.id}/submit")
    form["note"] = "New direct line."
    resp = provider.post(f"/portal/revisions/{rev.id}/submit", data=form)
    assert resp.status_code == 302
    db.session.expire_all()
    assert (
        cbhl.open_revision.state == "submitted"
        and cbhl.open_revision.provider_note == "New direct line."
    )
    published = {lst.id: lst for lst in published_listings(today())}
    assert cbhl.id in published and published[cbhl.id].live_revision_id == live_id
    assert "+15735550142" not in str(published[cbhl.id].live_revision.data)
    assert "submitted" in provider.get(f"/portal/listings/{cbhl.id}").get_data(as_text=True)
    # while it waits for review the editor sends the provider to withdraw first
    resp = provider.get(f"/portal/listings/{cbhl.id}/edit")
    assert resp.status_code == 302
    # withdraw: back to only the live version
    detail = provider.get(f"/portal/listings/{cbhl.id}").get_data(as_text=True)
    form = read_form(detail, f"/portal/revisions/{rev.id}/withdraw")
    assert provider.post(f"/portal/revisions/{rev.id}/withdraw", data=form).status_code == 302
    db.session.expire_all()
    assert (
        cbhl.open_revision is None and db.session.get(ListingRevision, rev.id).state == "withdrawn"
    )
    assert eligibility(cbhl, today()).is_public


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("phones-0-number", "555-01", "phone number"),
        ("chat_url", "javascript:alert(1)", "https://"),
        ("website", "ftp://example.org", "https://"),
        ("email", "intake@", "e-mail address is not valid"),
        ("hours_mon-0-opens", "8am", "time like 08:00"),
        ("hours_mon-0-closes", "", "both the opening and the closing"),
        ("hours_tue-0-closes", "07:00", "closes before it opens"),
        ("min_age", "130", "Ages run from 0 to 120"),
        ("max_age", "abc", "integer"),
        ("name", "x" * 201, "200 characters"),
        ("name", "", "Give the service a name"),
        ("counties", "99999", "Choose from the list"),
        ("closures-0-date", "2026-02-30", "date"),
    ],
)
def test_bad_input_gets_a_message_next_to_the_field_and_nothing_is_stored(
    provider, cbhl, name, value, message
):
    before = revision_count(cbhl.id), db.session.scalar(db.select(db.func.count(AuditEvent.id)))
    fields = editor_fields(provider, cbhl.id)
    set_field(fields, name, value)
    resp = provider.post(f"/portal/listings/{cbhl.id}/edit", data=fields)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    errors = page_errors(html)
    assert any(message in e for e in errors), errors
    assert "Nothing was saved" in html
    # the message sits next to its input (aria-describedby points at it)
    field_id = name
    if name not in ("counties",):
        assert f'aria-describedby="{field_id}-error"' in html or f'id="{field_id}-error"' in html
    db.session.expire_all()
    assert (
        revision_count(cbhl.id),
        db.session.scalar(db.select(db.func.count(AuditEvent.id))),
    ) == before


def test_ages_out_of_order_and_rule_messages_show_in_the_editor(provider, cbhl):
    fields = editor_fields(provider, cbhl.id)
    set_field(fields, "min_age", "40")
    set_field(fields, "max_age", "17")
    resp = provider.post(f"/portal/listings/{cbhl.id}/edit", data=fields)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "The youngest age is above the oldest age." in page_errors(html)
    assert 'id="group-ages"' in html


def test_overnight_hours_are_split_at_midnight(provider, cbhl):
    fields = editor_fields(provider, cbhl.id)
    set_field(fields, "hours_fri-0-opens", "20:00")
    set_field(fields, "hours_fri-0-closes", "02:00")
    set_field(fields, "hours_fri-0-overnight", "y")
    set_field(fields, "hours_sat-0-opens", "")
    set_field(fields, "hours_sat-0-closes", "")
    resp = provider.post(f"/portal/listings/{cbhl.id}/edit", data=fields)
    assert resp.status_code == 302, page_errors(resp.get_data(as_text=True))
    db.session.expire_all()
    weekly = cbhl.open_revision.data["hours"]["weekly"]
    assert weekly["fri"] == [["20:00", "24:00"]] and weekly["sat"] == [["00:00", "02:00"]]


def test_closing_at_midnight_means_the_end_of_the_day(provider, cbhl):
    fields = editor_fields(provider, cbhl.id)
    set_field(fields, "hours_mon-0-closes", "00:00")
    assert provider.post(f"/portal/listings/{cbhl.id}/edit", data=fields).status_code == 302
    db.session.expire_all()
    assert cbhl.open_revision.data["hours"]["weekly"]["mon"] == [["08:00", "24:00"]]


def test_holiday_closures_and_regions(provider, cbhl):
    from models import Region

    region = db.session.scalar(db.select(Region).filter_by(slug="west-plains-cit"))
    fields = editor_fields(provider, cbhl.id)
    set_field(fields, "closures-0-date", "2026-12-25")
    set_field(fields, "closures-0-note", "Christmas Day")
    fields.add("regions", str(region.id))
    assert provider.post(f"/portal/listings/{cbhl.id}/edit", data=fields).status_code == 302
    db.session.expire_all()
    data = cbhl.open_revision.data
    assert data["hours"]["closures"] == [{"date": "2026-12-25", "note": "Christmas Day"}]
    assert {c["fips"] for c in data["counties"]} >= region.fips_set


def test_second_tab_save_is_refused_with_a_clear_message(provider, cbhl):
    tab_a = editor_fields(provider, cbhl.id)
    tab_b = editor_fields(provider, cbhl.id)  # both opened before any save (no draft yet)
    set_field(tab_a, "description", "Saved in tab A.")
    assert provider.post(f"/portal/listings/{cbhl.id}/edit", data=tab_a).status_code == 302
    set_field(tab_b, "description", "Saved in tab B.")
    resp = provider.post(f"/portal/listings/{cbhl.id}/edit", data=tab_b)
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert "Someone saved this draft after you opened it" in html and "Not saved." in html
    assert "Saved in tab B." in html  # the second tab's edits are still on screen
    db.session.expire_all()
    assert cbhl.open_revision.data["description"] == "Saved in tab A."
    # and once the draft exists: two tabs on the same draft version
    tab_c, tab_d = editor_fields(provider, cbhl.id), editor_fields(provider, cbhl.id)
    set_field(tab_c, "description", "C")
    set_field(tab_d, "description", "D")
    assert provider.post(f"/portal/listings/{cbhl.id}/edit", data=tab_c).status_code == 302
    assert provider.post(f"/portal/listings/{cbhl.id}/edit", data=tab_d).status_code == 409
    db.session.expire_all()
    assert cbhl.open_revision.data["description"] == "C"


def test_changes_requested_comments_show_next_to_their_fields_and_resubmit(provider, cbhl, users):
    data = copy.deepcopy(cbhl.live_revision.data)
    data["phones"] = [{"number": "+15735550166", "kind": "fax", "description": ""}]
    rev = wf.save_draft(cbhl, data, users.provider)
    wf.submit_revision(rev, users.provider, "New line")
    wf.claim(rev, users.reviewer)
    wf.add_comment(
        users.reviewer, "This is a fax number; give the voice line.", revision=rev, field="phones"
    )
    wf.request_changes(rev, users.reviewer, "Please fix the phone.")
    db.session.commit()
    dashboard = provider.get("/portal/").get_data(as_text=True)
    assert "DMH asked for changes." in dashboard
    listings = dashboard[dashboard.index('id="listings"') :]
    assert listings.index(CBHL) < listings.index(
        "Bluestem Crisis Stabilization House"
    )  # needs attention first
    html = provider.get(f"/portal/listings/{cbhl.id}/edit").get_data(as_text=True)
    group = html[html.index('id="group-phones"') : html.index('id="group-hours"')]
    assert "This is a fax number; give the voice line." in group
    fields = read_form(html, "listing-editor")
    set_field(fields, "phones-0-kind", "voice")
    set_field(fields, "phones-0-number", "573-555-0167")
    assert provider.post(f"/portal/listings/{cbhl.id}/edit", data=fields).status_code == 302
    page = provider.get(f"/portal/listings/{cbhl.id}/changes").get_data(as_text=True)
    assert "Resubmit for review" in page
    form = read_form(page, f"/portal/revisions/{rev.id}/submit")
    form["note"] = "Voice line now."
    assert provider.post(f"/portal/revisions/{rev.id}/submit", data=form).status_code == 302
    db.session.expire_all()
    rev = db.session.get(ListingRevision, rev.id)
    phone = dict(rev.data["phones"][0])
    assert (
        rev.state == "submitted"
        and phone.pop("id")
        and phone
        == {
            "number": "+15735550167",
            "kind": "voice",
            "description": "",
        }
    )
    assert (
        db.session.scalar(db.select(ReviewComment).filter_by(revision_id=rev.id)).resolved_at
        is not None
    )


def test_no_changes_attestation_records_who_and_when(provider, cbhl, users):
    page = provider.get(f"/portal/listings/{cbhl.id}").get_data(as_text=True)
    form = read_form(page, f"/portal/listings/{cbhl.id}/attest")
    before = cbhl.verified_at
    assert provider.post(f"/portal/listings/{cbhl.id}/attest", data=form).status_code == 302
    db.session.expire_all()
    assert cbhl.verified_at > before and cbhl.verified_by_id == users.provider.id
    assert cbhl.open_revision is None  # no review needed
    event = db.session.scalars(
        db.select(AuditEvent).filter_by(action="listing.attest").order_by(AuditEvent.id.desc())
    ).first()
    assert event.object_id == str(cbhl.id) and event.actor_id == users.provider.id


def test_new_listing_goes_through_review_before_it_is_public(provider, bluestem):
    page = provider.get("/portal/listings/new/mobile_crisis").get_data(as_text=True)
    fields = read_form(page, "listing-editor")
    set_field(fields, "name", "Bluestem Mobile Crisis Team — North")
    set_field(fields, "phones-0-number", "573 555 0155")
    fields.setlist("counties", ["29019", "29089"])
    set_field(fields, "is_24_7", "y")
    resp = provider.post("/portal/listings/new/mobile_crisis", data=fields)
    assert resp.status_code == 302, page_errors(resp.get_data(as_text=True))
    lst = db.session.scalars(
        db.select(Listing).where(Listing.organization_id == bluestem.id).order_by(Listing.id.desc())
    ).first()
    assert lst.live_revision_id is None and lst.open_revision.state == "draft"
    assert not eligibility(lst, today()).is_public
    page = provider.get(f"/portal/listings/{lst.id}/changes").get_data(as_text=True)
    assert "The new listing" in page
    rev = lst.open_revision
    form = read_form(page, f"/portal/revisions/{rev.id}/submit")
    assert provider.post(f"/portal/revisions/{rev.id}/submit", data=form).status_code == 302
    db.session.expire_all()
    assert lst.open_revision.state == "submitted" and lst.live_revision_id is None
    assert lst.id not in {x.id for x in published_listings(today())}
    reasons = eligibility(lst, today()).reasons
    assert "No version of this listing has been approved yet." in reasons
    assert "No version of this listing has been approved yet." in provider.get("/portal/").get_data(
        as_text=True
    )


def test_new_mobile_team_with_an_address_is_refused(provider):
    page = provider.get("/portal/listings/new/mobile_crisis").get_data(as_text=True)
    assert 'name="address_1"' not in page  # the rule hides what does not apply
    fields = read_form(page, "listing-editor")
    set_field(fields, "name", "Team with a lobby")
    set_field(fields, "phones-0-number", "573 555 0155")
    fields.setlist("counties", ["29019"])
    set_field(fields, "is_24_7", "y")
    set_field(fields, "address_1", "1 Demo St")
    set_field(fields, "city", "Columbia")
    set_field(fields, "postal_code", "65201")
    set_field(fields, "county_fips", "29019")
    resp = provider.post("/portal/listings/new/mobile_crisis", data=fields)
    assert resp.status_code == 422
    assert any(
        "leave the site address empty" in e for e in page_errors(resp.get_data(as_text=True))
    )


def test_new_sobering_center_needs_ccbho_and_nonviolent(sign_in_as):
    client = sign_in_as("staff@heartland.demo.test")  # Heartland holds no CCBHO certification
    page = client.get("/portal/listings/new/sobering_center").get_data(as_text=True)
    fields = read_form(page, "listing-editor")
    for name, value in {
        "name": "Heartland Sobering Center",
        "phones-0-number": "573 555 0150",
        "address_1": "9 Demo Rd",
        "city": "Rolla",
        "postal_code": "65401",
        "county_fips": "29161",
        "max_stay_hours": "23",
        "is_24_7": "y",
    }.items():
        set_field(fields, name, value)
    resp = client.post("/portal/listings/new/sobering_center", data=fields)
    assert resp.status_code == 422
    errors = " ".join(page_errors(resp.get_data(as_text=True)))
    assert "active Certified Community Behavioral Health Organization certification" in errors
    assert "nonviolent people only" in errors


def test_coordinates_come_from_the_zip_when_not_given(provider, bluestem):
    page = provider.get("/portal/listings/new/crisis_residential").get_data(as_text=True)
    fields = read_form(page, "listing-editor")
    for name, value in {
        "name": "Bluestem Respite House",
        "phones-0-number": "573 555 0151",
        "address_1": "9 Demo Rd",
        "city": "Columbia",
        "postal_code": "65201",
        "county_fips": "29019",
        "is_24_7": "y",
    }.items():
        set_field(fields, name, value)
    resp = provider.post("/portal/listings/new/crisis_residential", data=fields)
    assert resp.status_code == 302, page_errors(resp.get_data(as_text=True))
    lst = db.session.scalars(
        db.select(Listing).where(Listing.organization_id == bluestem.id).order_by(Listing.id.desc())
    ).first()
    data = lst.open_revision.data
    assert data["latitude"] == pytest.approx(38.95, abs=0.2) and data["longitude"] == pytest.approx(
        -92.33, abs=0.2
    )
    assert lst.open_revision.county_fips == "29019"
