"""Two reviewers decide the same revision at the same moment, in two real PostgreSQL
transactions: exactly one decision wins, the other is told who already decided."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from flask import request_started
from review_helpers import pending_bluestem

from models import ConflictError, ListingRevision, User, db
from models.listings import workflow as wf
from tests.conftest import _fresh_request_globals, clone_database, csrf_from, make_test_app, sign_in


def blocked_backends(url: str) -> int:
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE NOT l.granted AND a.datname = current_database()"
        ).fetchone()[0]


@pytest.mark.live
def test_exactly_one_of_two_concurrent_decisions_wins(live_app):
    if not live_app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("needs PostgreSQL row locks")
    with live_app.app_context():
        rev_id = pending_bluestem().id
        db.session.remove()

    both_loaded = threading.Barrier(2)
    first_updated = threading.Event()
    outcome: dict[str, str] = {}
    errors: list[BaseException] = []

    def first():
        try:
            with live_app.app_context():
                rev = db.session.get(ListingRevision, rev_id)
                me = db.session.scalar(db.select(User).filter_by(email="reviewer@demo.test"))
                assert rev.state == "submitted"
                both_loaded.wait()
                wf.approve(rev, me, "Looks right.")  # holds the row lock until commit
                first_updated.set()
                # commit only once the second transaction is waiting on our row lock
                deadline = time.monotonic() + 30
                while blocked_backends(live_app.config["SQLALCHEMY_DATABASE_URI"]) == 0:
                    if time.monotonic() > deadline:
                        raise AssertionError("the second transaction never waited on the row lock")
                    time.sleep(0.05)
                db.session.commit()
                outcome["first"] = "approved"
        except BaseException as exc:  # reported to the main thread
            first_updated.set()
            errors.append(exc)

    def second():
        try:
            with live_app.app_context():
                rev = db.session.get(ListingRevision, rev_id)
                me = db.session.scalar(db.select(User).filter_by(email="reviewer2@demo.test"))
                assert rev.state == "submitted"
                both_loaded.wait()
                first_updated.wait()
                try:
                    wf.reject(rev, me, "Wrong number.")
                    db.session.commit()
                    outcome["second"] = "rejected"
                except ConflictError as exc:
                    db.session.rollback()
                    outcome["second"] = str(exc)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert outcome["first"] == "approved"
    assert outcome["second"].startswith(
        "This revision was already decided by Riley Reviewer (demo)"
    )
    assert "(approved)" in outcome["second"]
    with live_app.app_context():
        rev = db.session.get(ListingRevision, rev_id)
        assert rev.state == "approved"
        assert rev.decided_by.email == "reviewer@demo.test"
        assert rev.listing.live_revision_id == rev.id
        db.session.remove()


@pytest.mark.live
def test_on_sqlite_a_decision_that_cannot_write_answers_busy_and_saves_nothing(app, var_dir):
    """The embedded default has one writer at a time. A decision that cannot get the writer
    lock within the wait answers 503 with Retry-After and leaves the revision undecided; once
    the other writer is done, the same decision goes through."""
    import sqlite3

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("the embedded default's writer lock")
    url = clone_database(app, var_dir)
    busy = make_test_app(
        url,
        var_dir / "busy",
        SQLALCHEMY_RECORD_QUERIES=False,
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"timeout": 0.3}},
    )
    request_started.connect(_fresh_request_globals, busy)

    def state() -> str:
        with busy.app_context():
            rev = db.session.get(ListingRevision, rev_id)
            try:
                return rev.state
            finally:
                db.session.remove()

    with busy.app_context():
        rev = pending_bluestem()
        rev_id, version = rev.id, rev.lock_version
        db.session.remove()
    client = busy.test_client()
    with busy.app_context():
        assert sign_in(client, "reviewer@demo.test").status_code == 302
        db.session.remove()
    page = f"/review/revisions/{rev_id}"
    data = {"decision": "approve", "note": "", "lock_version": str(version)}
    token = csrf_from(client.get(page).get_data(as_text=True))

    other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        resp = client.post(f"{page}/decision", data={**data, "csrf_token": token})
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "2"
    assert "nothing of yours was saved" in resp.get_data(as_text=True)
    assert state() == "submitted"

    resp = client.post(f"{page}/decision", data={**data, "csrf_token": token})
    assert resp.status_code in (302, 303)
    assert state() == "approved"
    with busy.app_context():
        db.engine.dispose()
