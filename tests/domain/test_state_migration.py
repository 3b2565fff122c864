"""The state-column migration on a database holding the demo data: upgrade to head, down to the
revision before it and up again, data unchanged, each CHECK it adds refusing what it should.
Runs the real `flask` commands in subprocesses, on a fresh PostgreSQL database (or, on the
SQLite backend, a fresh SQLite file: batch mode rebuilds the tables there)."""

from __future__ import annotations

import importlib.util
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

import psycopg
import pytest

from tests.conftest import BACKEND, ROOT, pg_exec, pg_url, run_flask

MIGRATION = next((ROOT / "migrations" / "versions").glob("0007_*.py"))
_spec = importlib.util.spec_from_file_location("state_checks_migration", MIGRATION)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
REVISION, PREVIOUS = _module.revision, _module.down_revision

TABLES = ["organization", '"user"', "listing", "listing_revision", "certification", "document"]
TABLES += ["outbox_event", "verification_link", "publish_run", "release"]
NEW_CHECKS = {"ck_verification_link_outcome", "ck_verification_link_outcome_iff_used"}


class Database:
    """A fresh database of the test backend, and plain SQL against it."""

    def __init__(self, tmp_path: Path):
        if BACKEND == "postgresql":
            self.name = f"registry_state_{uuid.uuid4().hex[:10]}"
            pg_exec(f"CREATE DATABASE {self.name}")
            self.url = pg_url(self.name)
        else:
            self.path = tmp_path / "state.db"
            self.url = f"sqlite:///{self.path}"
        self.env = {"DATABASE_URL": self.url, "VAR_DIR": str(tmp_path)}
        self.env["REGISTRY_ENV"] = "development"

    def drop(self) -> None:
        if BACKEND == "postgresql":
            pg_exec(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")

    def execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        if BACKEND == "postgresql":
            with psycopg.connect(self.url) as conn:
                cur = conn.execute(sql.replace("?", "%s"), params)
                return cur.fetchall() if cur.description else []
        with closing(sqlite3.connect(self.path)) as conn, conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def refuses(self, sql: str, params: tuple = ()) -> bool:
        """True when the statement breaks a constraint (and nothing was written)."""
        errors = (psycopg.errors.CheckViolation, sqlite3.IntegrityError)
        try:
            self.execute(sql, params)
        except errors:
            return True
        return False

    def check_names(self) -> set[str]:
        if BACKEND == "postgresql":
            return {
                r[0] for r in self.execute("SELECT conname FROM pg_constraint WHERE contype = 'c'")
            }
        names = set()
        for (sql,) in self.execute("SELECT sql FROM sqlite_master WHERE type = 'table'"):
            names |= {w for w in (sql or "").split() if w.startswith("ck_")}
        return names

    def snapshot(self) -> dict[str, list[tuple]]:
        return {t: sorted(map(repr, self.execute(f"SELECT * FROM {t}"))) for t in TABLES}  # noqa: S608 - fixed table names


@pytest.fixture
def database(tmp_path):
    db = Database(tmp_path)
    yield db
    db.drop()


def flask_ok(args: list[str], env: dict[str, str]) -> str:
    result = run_flask(args, env, timeout=300)
    assert result.returncode == 0, f"flask {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


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
    at_head = database.snapshot()
    assert len(at_head["listing"]) == 60 and len(at_head["verification_link"]) == 2

    flask_ok(["db", "downgrade", PREVIOUS], env)
    assert not database.check_names() & NEW_CHECKS
    before = database.snapshot()
    assert len(before["listing"]) == 60 and len(before["verification_link"]) == 2
    # before the migration the database takes what the new checks refuse
    assert not database.refuses(INSERT_LINK, (*_a_link(database, used=False), "maybe"))
    assert not database.refuses(PUBLISH_RUN, ("sweep",))
    database.execute("DELETE FROM verification_link WHERE outcome = 'maybe'")
    database.execute("DELETE FROM publish_run WHERE trigger = 'sweep'")

    flask_ok(["db", "upgrade", REVISION], env)
    assert database.check_names() >= NEW_CHECKS
    assert database.snapshot() == before
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
    assert database.snapshot() == before

    flask_ok(["db", "downgrade", PREVIOUS], env)
    assert not database.check_names() & NEW_CHECKS
    assert database.snapshot() == before
    assert not database.refuses(PUBLISH_RUN, ("sweep",))
    database.execute("DELETE FROM publish_run WHERE trigger = 'sweep'")

    flask_ok(["db", "upgrade"], env)
    assert database.check_names() >= NEW_CHECKS
    assert database.snapshot() == at_head
    assert "No new upgrade operations detected" in flask_ok(["db", "check"], env)
