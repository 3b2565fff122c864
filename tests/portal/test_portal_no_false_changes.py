"""Saving an unchanged form makes no draft, and the order of a set (referral sources,
languages, populations, counties) is never a change."""

from __future__ import annotations

from models import ListingRevision, db
from models.listings import diff
from models.reference import county_names
from tests.portal.conftest import editor_fields, listing_named, page_errors, set_field

CBHL = "Community Behavioral Health Liaison — Central"


def revisions(listing_id: int) -> int:
    return db.session.scalar(
        db.select(db.func.count(ListingRevision.id)).where(ListingRevision.listing_id == listing_id)
    )


def test_saving_an_unchanged_form_makes_no_draft(provider):
    lst = listing_named(CBHL)
    before = revisions(lst.id)
    resp = provider.post(f"/portal/listings/{lst.id}/edit", data=editor_fields(provider, lst.id))
    assert resp.status_code == 302
    page = provider.get(resp.headers["Location"]).get_data(as_text=True)
    assert "No changes to save: the form matches the live listing." in page
    assert revisions(lst.id) == before and lst.open_revision is None

    # with a draft: saving it again unchanged is not a new version either
    fields = editor_fields(provider, lst.id)
    set_field(fields, "description", "A real change.")
    resp = provider.post(f"/portal/listings/{lst.id}/edit", data=fields)
    assert resp.status_code == 302, page_errors(resp.get_data(as_text=True))
    db.session.expire_all()
    draft = lst.open_revision
    version = draft.lock_version
    resp = provider.post(f"/portal/listings/{lst.id}/edit", data=editor_fields(provider, lst.id))
    assert resp.status_code == 302
    assert "No changes to save: the form matches the draft." in provider.get(
        resp.headers["Location"]
    ).get_data(as_text=True)
    db.session.expire_all()
    assert lst.open_revision.id == draft.id and lst.open_revision.lock_version == version


def test_the_order_of_a_set_is_not_a_change():
    lst = listing_named(CBHL)
    live = dict(lst.live_revision.data)
    live["referral_sources"] = ["schools", "law_enforcement", "family"]
    reordered = dict(live, referral_sources=["family", "law_enforcement", "schools"])
    reordered["languages"] = list(reversed(live.get("languages") or []))
    reordered["counties"] = list(reversed(live.get("counties") or []))
    assert diff(live, reordered, county_names()) == []
    changed = dict(reordered, referral_sources=["family"])
    assert [c.key for c in diff(live, changed, county_names())] == ["referral_sources"]


def test_a_draft_can_be_discarded_and_the_live_listing_stays(provider):
    from models import AuditEvent

    lst = listing_named(CBHL)
    live_id = lst.live_revision_id
    fields = editor_fields(provider, lst.id)
    set_field(fields, "description", "A change I no longer want.")
    assert provider.post(f"/portal/listings/{lst.id}/edit", data=fields).status_code == 302
    db.session.expire_all()
    draft_id = lst.open_revision.id
    page = provider.get(f"/portal/listings/{lst.id}").get_data(as_text=True)
    assert f'action="/portal/revisions/{draft_id}/discard"' in page and "Discard the draft" in page
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    resp = provider.post(f"/portal/revisions/{draft_id}/discard", data={"csrf_token": token})
    assert resp.status_code == 302
    assert "Draft discarded" in provider.get(resp.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert lst.open_revision is None and lst.live_revision_id == live_id
    event = db.session.scalar(
        db.select(AuditEvent).filter_by(action="revision.discard", object_id=str(draft_id))
    )
    assert event is not None and event.before["data"]["description"] == "A change I no longer want."
    # only a draft: a submitted revision is withdrawn, not discarded
    again = provider.post(f"/portal/revisions/{draft_id}/discard", data={"csrf_token": token})
    assert again.status_code in (403, 404)


def test_a_changed_phone_number_keeps_the_phone_id_that_was_published(provider):
    """Phones keep their ids (models/fields.assign_phone_ids): the number at the first row
    changes, the published phone is updated rather than removed and added."""
    from models.listings import phone_id

    lst = listing_named(CBHL)
    live_phone = lst.live_revision.data["phones"][0]
    published = live_phone.get("id") or phone_id(lst.uuid, 0, live_phone["number"])
    fields = editor_fields(provider, lst.id)
    set_field(fields, "phones-0-number", "(573) 555-0177")
    resp = provider.post(f"/portal/listings/{lst.id}/edit", data=fields)
    assert resp.status_code == 302, page_errors(resp.get_data(as_text=True))
    db.session.expire_all()
    draft = lst.open_revision.data["phones"]
    assert draft[0]["number"] == "+15735550177" and draft[0]["id"] == published

    # a form cannot borrow another listing's phone id
    fields = editor_fields(provider, lst.id)
    assert fields["phones-0-pid"] == published
    set_field(fields, "phones-0-pid", "00000000-0000-4000-8000-000000000000")
    set_field(fields, "phones-0-note", "main line")
    resp = provider.post(f"/portal/listings/{lst.id}/edit", data=fields)
    assert resp.status_code == 302, page_errors(resp.get_data(as_text=True))
    db.session.expire_all()
    assert lst.open_revision.data["phones"][0]["id"] == published


def test_assign_phone_ids_follows_rows_and_never_duplicates():
    from models.listings import assign_phone_ids

    before = [{"id": "a" * 8 + "-0000-4000-8000-" + "0" * 12, "number": "+15735550100"}]
    kept = before[0]["id"]
    phones = [{"number": "+15735550101"}, {"number": "+15735550102", "id": kept}]
    assign_phone_ids(phones, before, "svc")
    assert phones[1]["id"] == kept  # the carried id wins over the position
    assert phones[0]["id"] != kept and len({p["id"] for p in phones}) == 2
