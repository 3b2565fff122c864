"""The audit chain is anchored outside the database (each release's manifest, the nightly
checkpoint): deleting its newest events is reported as truncation, by `flask audit verify`
and by the admin's verify button, on PostgreSQL and on the embedded SQLite default."""

from __future__ import annotations

import json

import pytest
from manage_helpers import post_form
from sqlalchemy import text

from models import AuditEvent, db, today
from models.audit import chain_head, record, verify_chain
from tasks.audit_anchor import latest_anchor, write_checkpoint
from tests.conftest import run_flask


def delete_newest(n: int) -> list[int]:
    """Delete the n newest events behind the application's back (trigger off on PostgreSQL)."""
    ids = db.session.scalars(db.select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(n)).all()
    pg = db.engine.dialect.name == "postgresql"
    if pg:
        db.session.execute(
            text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update_delete")
        )
    db.session.execute(
        text("DELETE FROM audit_event WHERE id IN :ids").bindparams(
            db.bindparam("ids", expanding=True)
        ),
        {"ids": list(ids)},
    )
    if pg:
        db.session.execute(
            text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_update_delete")
        )
    return list(ids)


def test_each_release_manifest_anchors_the_chain_and_truncation_is_named(
    app, build, releases_dir, admin_client
):
    for i in range(3):
        record("test.event", actor="test", object_type="test", object_id=str(i))
    db.session.commit()
    head = chain_head()
    result = build()
    manifest = json.loads((releases_dir / "current" / "manifest.json").read_bytes())
    assert manifest["audit"] == head
    anchor = latest_anchor(releases_dir)
    assert anchor["last_id"] == head["last_id"] and "release" in anchor["source"]
    assert verify_chain(anchor=anchor).ok
    # the build appended its own event after the anchor; deleting the newest 3 before it and it
    gone = delete_newest(4)
    db.session.commit()
    assert head["last_id"] in gone
    report = verify_chain(anchor=latest_anchor(releases_dir))
    assert not report.ok and report.broken_id == head["last_id"]
    assert "truncated" in report.reason and f"release {result.number}" in report.reason
    page = post_form(admin_client, "/manage/audit/verify", token_url="/manage/audit")
    assert "the chain is truncated" in page.get_data(as_text=True)
    # without the anchor the shortened chain would look intact: that is what the anchor adds
    assert verify_chain().ok


def test_the_nightly_checkpoint_anchors_the_chain_without_a_release(app, releases_dir):
    record("test.event", actor="test", object_type="test", object_id="x")
    db.session.commit()
    path = write_checkpoint(releases_dir, today())
    assert path.parent == releases_dir / "audit"  # not under releases/: not published
    assert verify_chain(anchor=latest_anchor(releases_dir)).ok
    delete_newest(1)
    db.session.commit()
    report = verify_chain(anchor=latest_anchor(releases_dir))
    assert not report.ok and "checkpoint" in report.reason


@pytest.mark.live
def test_flask_audit_verify_exits_1_on_a_truncated_chain(live_app, tmp_path):
    releases = tmp_path / "releases"
    env = {
        "DATABASE_URL": live_app.config["DATABASE_URL"],
        "VAR_DIR": str(tmp_path),
        "RELEASES_DIR": str(releases),
    }
    with live_app.app_context():
        write_checkpoint(releases, today())
        delete_newest(2)
        db.session.commit()
        db.session.remove()
    broken = run_flask(["audit", "verify"], env)
    assert broken.returncode == 1
    assert "truncated" in broken.stderr
