"""The state-column migration on a database holding the demo data: upgrade to head, down to the
revision before it and up again, data unchanged, each CHECK it adds refusing what it should.
Runs the real `flask` commands in subprocesses, on a fresh database (tests/domain/conftest.py)."""

from __future__ import annotations

import uuid

from tests.domain.conftest import Database, flask_ok, migration_revisions

REVISION, PREVIOUS = migration_revisions("0007")

TABLES = ["organization", '"user"', "listing", "listing_revision", "certification", "document"]
TABLES += ["outbox_event", "verification_link", "publish_run", "release"]
NEW_CHECKS = {"ck_verification_link_outcome", "ck_verification_link_outcome_iff_used"}


def _a_link(db: Database, *, used: bool) -> tuple:
    listing_id, user_id = db.execute(
        'SELECT l.id, u.id FROM listing l JOIN "user" u ON u.organization_id = l.organization_id '
        "WHERE l.live_revision_id IS NOT NULL ORDER BY l.id, u.id LIMIT 1"
    )[0]
    token = uuid.uuid4().hex
    now = "2026-06-01 12:00:00+00:00"
    return (token, listing_id, user_id, now, now, now if used else None)


INSERT_LINK = (
    "INSERT INTO verification_link (token_hash, listing_id, user_id, created_at, expires_at, "
    "used_at, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


PUBLISH_RUN = (
    "INSERT INTO publish_run (trigger, started_at, status, step, total_steps, step_label, error) "
    "VALUES (?, '2026-06-01 12:00:00+00:00', 'failed', 0, 0, '', '')"
)


def test_state_checks_upgrade_the_demo_database_and_downgrade_back(database):
    env = database.env
    # the demo is loaded by today's code, so into today's schema (head), then taken back
    flask_ok(["db", "upgrade"], env)
    flask_ok(["reference", "load"], env)
    assert "demo data loaded" in flask_ok(["demo", "load"], env)
    # an answered link and an unanswered one, as the e-mailed links leave them
    database.execute(INSERT_LINK, (*_a_link(database, used=True), "confirmed"))
    database.execute(INSERT_LINK, (*_a_link(database, used=False), None))
    at_head = database.snapshot(TABLES)
    assert len(at_head["listing"]) == 60 and len(at_head["verification_link"]) == 2

    flask_ok(["db", "downgrade", PREVIOUS], env)
    assert not database.check_names() & NEW_CHECKS
    before = database.snapshot(TABLES)
    assert len(before["listing"]) == 60 and len(before["verification_link"]) == 2
    # before the migration the database takes what the new checks refuse
    assert not database.refuses(INSERT_LINK, (*_a_link(database, used=False), "maybe"))
    assert not database.refuses(PUBLISH_RUN, ("sweep",))
    database.execute("DELETE FROM verification_link WHERE outcome = 'maybe'")
    database.execute("DELETE FROM publish_run WHERE trigger = 'sweep'")

    flask_ok(["db", "upgrade", REVISION], env)
    assert database.check_names() >= NEW_CHECKS
    assert database.snapshot(TABLES) == before
    assert database.refuses(INSERT_LINK, (*_a_link(database, used=True), "maybe"))
    assert database.refuses(INSERT_LINK, (*_a_link(database, used=True), None))
    assert database.refuses(INSERT_LINK, (*_a_link(database, used=False), "changed"))
    assert database.refuses(
        "INSERT INTO outbox_event (kind, payload, created_at) VALUES (?, '{}', ?)",
        ("publish_requested", "2026-06-01 12:00:00+00:00"),
    )
    assert database.refuses(PUBLISH_RUN, ("sweep",))
    assert not database.refuses(INSERT_LINK, (*_a_link(database, used=True), "changed"))
    database.execute("DELETE FROM verification_link WHERE outcome = 'changed'")
    assert database.snapshot(TABLES) == before

    flask_ok(["db", "downgrade", PREVIOUS], env)
    assert not database.check_names() & NEW_CHECKS
    assert database.snapshot(TABLES) == before
    assert not database.refuses(PUBLISH_RUN, ("sweep",))
    database.execute("DELETE FROM publish_run WHERE trigger = 'sweep'")

    flask_ok(["db", "upgrade"], env)
    assert database.check_names() >= NEW_CHECKS
    assert database.snapshot(TABLES) == at_head
    assert "No new upgrade operations detected" in flask_ok(["db", "check"], env)
