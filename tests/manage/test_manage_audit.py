"""The audit log: search, before/after values, export, the verify button, the append-only
trigger, and `flask audit verify` naming a tampered row."""

from __future__ import annotations

import csv
import io

import pytest
from manage_helpers import post_form
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from models import AuditEvent, db
from tests.conftest import run_flask

pytestmark = pytest.mark.postgres(reason="the append-only trigger exists on PostgreSQL")


def _tamper(event_id: int) -> None:
    """Change one row behind the application's back, with the trigger off for this transaction only."""
    db.session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update_delete"))
    db.session.execute(
        text("UPDATE audit_event SET actor_label = 'someone-else@example.org' WHERE id = :id"),
        {"id": event_id},
    )
    db.session.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_update_delete"))


def test_update_and_delete_on_audit_events_are_refused():
    first = db.session.scalar(db.select(AuditEvent.id).order_by(AuditEvent.id).limit(1))
    for sql in (
        "UPDATE audit_event SET action = 'edited' WHERE id = :id",
        "DELETE FROM audit_event WHERE id = :id",
        "TRUNCATE audit_event",
    ):
        with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
            db.session.execute(text(sql), {"id": first})
    assert db.session.get(AuditEvent, first) is not None


def test_search_by_action_actor_object_and_date(admin_client, users):
    page = admin_client.get("/manage/audit?action=auth.login&actor=admin@demo").get_data(
        as_text=True
    )
    assert "<strong>Auth: login</strong>" in page and "<strong>Listing: create</strong>" not in page
    page = admin_client.get(f"/manage/audit?object_type=user&object_id={users.admin.id}").get_data(
        as_text=True
    )
    assert "auth.login" in page
    page = admin_client.get("/manage/audit?action=listing.").get_data(as_text=True)
    assert "<strong>Listing" in page and "<strong>Auth: login</strong>" not in page
    page = admin_client.get("/manage/audit?date_from=2001-01-01&date_to=2001-01-02").get_data(
        as_text=True
    )
    assert "No events match" in page
    page = admin_client.get("/manage/audit?date_from=2001-01-05&date_to=2001-01-02").get_data(
        as_text=True
    )
    assert 'id="date_to-error"' in page


def test_before_and_after_values_are_shown(admin_client, users):
    org = users.provider.organization
    url = f"/manage/organizations/{org.id}/edit"
    form = {
        f: getattr(org, f) or ""
        for f in (
            "legal_name",
            "dba",
            "ein",
            "npi",
            "website",
            "email",
            "phone",
            "contact_name",
            "description",
        )
    }
    form["contact_name"] = "Audit Visible"
    post_form(admin_client, url, form, token_url=url)
    page = admin_client.get(
        f"/manage/audit?action=organization.update&organization_id={org.id}"
    ).get_data(as_text=True)
    assert (
        "Contact name:</span>" in page and '<span class="diff-after">Audit Visible</span>' in page
    )


def test_audit_pages_walk_back_by_keyset(admin_client):
    first = admin_client.get("/manage/audit").get_data(as_text=True)
    assert "Next page" in first
    import re

    ids = [int(i) for i in re.findall(r'<tr id="event-(\d+)"', first)]
    nxt = re.search(r'href="(/manage/audit\?after=\d+)"', first).group(1)
    second = admin_client.get(nxt).get_data(as_text=True)
    ids2 = [int(i) for i in re.findall(r'<tr id="event-(\d+)"', second)]
    assert ids == sorted(ids, reverse=True) and max(ids2) < min(ids)


def test_csv_export_keeps_values_and_is_safe(admin_client):
    resp = admin_client.get("/manage/audit.csv?action=listing.")
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows and all(r["action"].startswith("listing.") for r in rows)
    for r in rows:
        assert all(not v.startswith(("=", "+", "-", "@")) for v in r.values())


def test_verify_button_reports_intact_then_the_first_broken_link(admin_client):
    ok = post_form(admin_client, "/manage/audit/verify", token_url="/manage/audit").get_data(
        as_text=True
    )
    assert "The chain is intact" in ok
    target = db.session.scalar(db.select(AuditEvent.id).order_by(AuditEvent.id).offset(3).limit(1))
    _tamper(target)
    db.session.commit()
    broken = post_form(admin_client, "/manage/audit/verify", token_url="/manage/audit").get_data(
        as_text=True
    )
    assert "The chain is broken at event <a" in broken and f"#{target}</a>" in broken


@pytest.mark.live
def test_flask_audit_verify_fails_and_names_the_tampered_row(live_app, tmp_path):
    env = {"DATABASE_URL": live_app.config["DATABASE_URL"], "VAR_DIR": str(tmp_path)}
    intact = run_flask(["audit", "verify"], env)
    assert intact.returncode == 0, intact.stderr
    with live_app.app_context():
        target = db.session.scalar(
            db.select(AuditEvent.id).order_by(AuditEvent.id).offset(5).limit(1)
        )
        _tamper(target)
        db.session.commit()
        assert db.session.get(AuditEvent, target).actor_label == "someone-else@example.org"
        db.session.remove()
    broken = run_flask(["audit", "verify"], env)
    assert broken.returncode == 1
    assert f"BROKEN at event {target}" in broken.stderr


def test_the_log_reads_as_field_changes_with_labels_and_names(admin_client, users):
    """A listing change reads "Phone numbers: (573) 555-0100 → (573) 555-0199", people and
    objects by name, never raw structures; the raw record is one click away."""
    from models import Listing, record

    lst = db.session.scalar(db.select(Listing).where(Listing.live_revision_id.is_not(None)))
    rev = lst.live_revision
    before = {"state": "submitted", "number": rev.number, "data": dict(rev.data)}
    after_data = dict(rev.data)
    after_data["phones"] = [{"number": "+15735550199", "kind": "voice", "description": ""}]
    before["data"]["phones"] = [{"number": "+15735550100", "kind": "voice", "description": ""}]
    record(
        "listing_revision.approve",
        actor=users.admin,
        target=rev,
        before={**before, "claimed_by_id": users.reviewer.id},
        after={
            "state": "approved",
            "number": rev.number,
            "data": after_data,
            "claimed_by_id": None,
        },
    )
    db.session.commit()
    page = admin_client.get("/manage/audit?action=listing_revision.approve").get_data(as_text=True)
    assert "<strong>Listing revision: approve</strong>" in page
    assert f"{lst.display_name}, version {rev.number}" in page
    assert (
        '<span class="diff-before">Call (573) 555-0100</span> → '
        '<span class="diff-after">Call (573) 555-0199</span>' in page
    )
    assert "Phone numbers:" in page and f"{users.reviewer.name} ({users.reviewer.email})" in page
    assert "Claimed by:" in page and "claimed_by_id" not in page.split("Raw record")[0]
    assert "{&#39;" not in page and "{'" not in page  # no Python dict anywhere
    assert "<summary>Raw record</summary>" in page
