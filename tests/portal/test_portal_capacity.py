"""Live capacity: provider staff set it from the dashboard in one or two taps, it is published
without review in capacity.json and the API for public listings only, it reads "unknown" once
it expires, every change is audited, and reviewers see it by region on a map."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from models import AuditEvent, CapacityUpdate, Listing, db, utcnow
from tests.conftest import browser_sign_in, post
from tests.portal.conftest import fresh_csrf, listing_named

CENTER = "Bluestem Youth Crisis Center"  # a behavioral health crisis center: reports capacity
LIAISON = "Community Behavioral Health Liaison — Central"  # does not


def capacity_json(client) -> dict:
    resp = client.get("/feeds/current/capacity.json", headers={"Accept-Encoding": "identity"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return json.loads(resp.get_data())


def site(doc: dict, listing: Listing) -> dict | None:
    return next((s for s in doc["sites"] if s["service_id"] == listing.uuid), None)


def test_full_in_one_tap_is_published_audited_and_expires_to_unknown(provider, build, app):
    assert build().status == "published"
    center = listing_named(CENTER)
    page = provider.get("/portal/").get_data(as_text=True)
    assert 'id="capacity"' in page and f"Full: {CENTER}" in page
    resp = post(
        provider,
        f"/portal/listings/{center.id}/capacity",
        {"status": "full", "quick": "1"},
        form_url="/portal/",
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/portal/#capacity")
    (update,) = db.session.scalars(db.select(CapacityUpdate).filter_by(listing_id=center.id))
    assert update.status == "full"
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="capacity.set"))
    assert event.object_id == str(center.id) and event.after["status"] == "full"
    # the request queued the file at once (eager Celery in tests): the API has it now
    doc = capacity_json(provider)
    assert site(doc, center)["mo_dmh_capacity_status"] == "full"
    assert provider.get("/api/hsds/capacity").get_json()["sites"] == doc["sites"]
    # a conditional request gets 304 until something changes
    etag = provider.get("/api/hsds/capacity").headers["ETag"]
    assert provider.get("/api/hsds/capacity", headers={"If-None-Match": etag}).status_code == 304

    # 13 hours later (the default expiry is 12) it reads unknown, never the stale value
    update.at = utcnow() - timedelta(hours=13)
    db.session.commit()
    from tasks.capacity import write_capacity

    write_capacity()
    stale = site(capacity_json(provider), center)
    assert stale["mo_dmh_capacity_status"] == "unknown"
    assert stale["mo_dmh_capacity_updated_at"] and "mo_dmh_capacity_valid_until" not in {
        k for k, v in stale.items() if v
    }
    fresh_csrf()
    assert "Unknown: not updated lately" in provider.get("/portal/").get_data(as_text=True)


def test_diverting_needs_a_reason_next_to_the_field_and_limited_takes_a_number(provider, build):
    assert build().status == "published"
    center = listing_named(CENTER)
    url = f"/portal/listings/{center.id}/capacity"
    form = provider.get(f"{url}?status=diverting").get_data(as_text=True)
    assert "Why you are diverting" in form
    resp = post(provider, url, {"status": "diverting", "reason": ""}, form_url=url)
    assert resp.status_code == 422 and "Say why you are diverting" in resp.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(CapacityUpdate.id))) == 0
    resp = post(provider, url, {"status": "limited", "available": "-2"}, form_url=url)
    assert resp.status_code == 422 and "Give 0 or more." in resp.get_data(as_text=True)
    resp = post(
        provider,
        url,
        {"status": "limited", "available": "3", "note": "2 chairs for youth"},
        form_url=url,
    )
    assert resp.status_code == 302
    entry = site(capacity_json(provider), center)
    assert entry["mo_dmh_capacity_status"] == "limited" and entry["mo_dmh_capacity_available"] == 3
    resp = post(
        provider, url, {"status": "diverting", "reason": "No intake staff until 7 pm"}, form_url=url
    )
    assert resp.status_code == 302
    entry = site(capacity_json(provider), center)
    assert entry["mo_dmh_capacity_reason"] == "No intake staff until 7 pm"
    assert "mo_dmh_capacity_available" not in entry


def test_only_the_owning_organization_and_only_types_with_capacity(app, provider, build):
    from tests.conftest import sign_in

    assert build().status == "published"
    center, liaison = listing_named(CENTER), listing_named(LIAISON)
    resp = provider.get(f"/portal/listings/{liaison.id}/capacity")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/listings/{liaison.id}")
    other = app.test_client()
    fresh_csrf()
    sign_in(other, "other-provider@demo.test")
    assert other.get(f"/portal/listings/{center.id}/capacity").status_code in (403, 404)
    assert db.session.scalar(db.select(db.func.count(CapacityUpdate.id))) == 0


def test_only_listings_public_in_the_current_release_are_published(provider, build):
    assert build().status == "published"
    center = listing_named(CENTER)
    post(
        provider,
        f"/portal/listings/{center.id}/capacity",
        {"status": "accepting", "quick": "1"},
        form_url="/portal/",
    )
    assert site(capacity_json(provider), center) is not None
    center.is_suspended, center.suspended_at = True, utcnow()
    db.session.commit()
    assert build().status == "published"
    from tasks.capacity import write_capacity

    write_capacity()
    doc = capacity_json(provider)
    assert site(doc, center) is None and doc["sites"]  # others still there


@pytest.mark.live
@pytest.mark.browser
def test_a_provider_on_a_phone_sets_full_in_one_tap_and_a_reviewer_sees_it(live_server, browser):
    from tasks.publishing.builder import build_release

    app = live_server.app
    app.config["PUBLISH_PDFS"] = False
    with app.app_context():
        assert build_release().status == "published"
        center_uuid = listing_named(CENTER).uuid
        db.session.remove()
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = phone.new_page()
        page.set_default_timeout(15_000)
        browser_sign_in(page, live_server.url, "provider@demo.test")
        page.wait_for_url(re.compile(r".*/portal/$"))
        page.get_by_role("button", name=f"Full: {CENTER}").click()  # the one tap
        page.wait_for_url(re.compile(r".*/portal/#capacity$"))
        assert "Published within a minute" in page.get_by_role("main").inner_text()
        api = page.request.get(live_server.url + "/api/hsds/capacity").json()
        entry = next(s for s in api["sites"] if s["service_id"] == center_uuid)
        assert entry["mo_dmh_capacity_status"] == "full"
    finally:
        phone.close()
    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = desk.new_page()
        page.set_default_timeout(15_000)
        from tests.conftest import DEMO_TOTP_SECRET

        browser_sign_in(page, live_server.url, "reviewer@demo.test", totp_secret=DEMO_TOTP_SECRET)
        page.wait_for_url(re.compile(r".*/review/.*"))
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Capacity").click()
        row = page.get_by_role("row").filter(has_text=CENTER)
        assert "Full" in row.inner_text()
        assert page.locator("path.capacity-map-full").count() >= 1  # on the map
    finally:
        desk.close()


def test_an_hour_before_expiry_the_organization_is_reminded_once_unless_it_opted_out(
    provider, build, app, tmp_path
):
    from email import message_from_bytes, policy

    from tasks.capacity import remind_capacity_expiring

    saved = {k: app.config.get(k) for k in ("OUTBOX_DIR", "MAIL_SERVER")}
    app.config.update(OUTBOX_DIR=str(tmp_path / "outbox"), MAIL_SERVER="")
    try:
        assert build().status == "published"
        center = listing_named(CENTER)
        post(
            provider,
            f"/portal/listings/{center.id}/capacity",
            {"status": "full", "quick": "1"},
            form_url="/portal/",
        )
        update = db.session.scalar(db.select(CapacityUpdate).filter_by(listing_id=center.id))
        assert remind_capacity_expiring() == 0  # 12 hours to go
        update.at = utcnow() - timedelta(hours=11, minutes=30)
        db.session.commit()
        assert remind_capacity_expiring() == 1
        assert remind_capacity_expiring() == 0  # never twice
        mails = [
            message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in (tmp_path / "outbox").glob("*.eml")
        ]
        assert [m["Subject"] for m in mails] == [f"Capacity of {CENTER} expires within the hour"]

        # the organization's administrator turns them off: a new status is not reminded
        fresh_csrf()
        resp = post(
            provider, "/portal/capacity-reminders", {"reminders": "off"}, form_url="/portal/"
        )
        assert resp.status_code == 302 and center.organization.capacity_reminders is False
        post(
            provider,
            f"/portal/listings/{center.id}/capacity",
            {"status": "accepting", "quick": "1"},
            form_url="/portal/",
        )
        latest_update = db.session.scalar(
            db.select(CapacityUpdate).order_by(CapacityUpdate.id.desc()).limit(1)
        )
        latest_update.at = utcnow() - timedelta(hours=11, minutes=30)
        db.session.commit()
        assert remind_capacity_expiring() == 0
    finally:
        app.config.update(saved)


def test_share_of_time_counts_expired_reports_as_unknown():
    from datetime import datetime

    from models.listings import share_full

    t0 = datetime(2026, 12, 1, 0, 0, tzinfo=utcnow().tzinfo)
    reports = [
        CapacityUpdate(status="full", at=t0),
        CapacityUpdate(status="accepting", at=t0 + timedelta(hours=2)),
    ]
    # 24 h: full 2 h, then accepting valid for 12 h, then 10 h of nothing fresh
    shares = share_full(reports, t0, t0 + timedelta(hours=24), hours=12)
    assert shares["full"] == pytest.approx(2 / 24)
    assert shares["accepting"] == pytest.approx(12 / 24)
    assert shares["unknown"] == pytest.approx(10 / 24)
