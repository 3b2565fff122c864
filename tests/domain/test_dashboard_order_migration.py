"""The dashboard-order migration on a database holding the demo data: down to the revision
before it and up again, the backfill gives every listing the sort keys the model code gave it,
the rest of the data unchanged; its CHECK refuses a rank that does not exist. Runs the real
`flask` commands in subprocesses, on a fresh database (tests/domain/conftest.py)."""

from __future__ import annotations

from tests.conftest import BACKEND
from tests.domain.conftest import Database, flask_ok, migration_revisions

REVISION, PREVIOUS = migration_revisions("0009")

TABLES = ["organization", "listing_revision", "certification", "audit_event"]
NEW_COLUMNS = {"attention_rank", "sort_name"}
NEW_INDEXES = {"ix_listing_dashboard_order", "ix_listing_dashboard_due"}


def listing_columns(db: Database) -> list[str]:
    if BACKEND == "postgresql":
        rows = db.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'listing' ORDER BY ordinal_position"
        )
    else:
        rows = [(r[1],) for r in db.execute("PRAGMA table_info(listing)")]
    return [r[0] for r in rows]


def listing_indexes(db: Database) -> set[str]:
    if BACKEND == "postgresql":
        rows = db.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'listing'")
    else:
        rows = db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'listing'"
        )
    return {r[0] for r in rows}


def listings(db: Database, columns: list[str]) -> list[tuple]:
    return db.execute(f"SELECT {', '.join(columns)} FROM listing ORDER BY id")  # noqa: S608 - column names from the catalogue


def sort_keys(db: Database) -> dict[int, tuple[int, str]]:
    rows = db.execute("SELECT id, attention_rank, sort_name FROM listing")
    return {i: (rank, name) for i, rank, name in rows}


def test_dashboard_order_backfills_what_the_model_stores_and_downgrades_back(database):
    env = database.env
    # the demo is loaded by today's code (the workflow stores each listing's keys), at head
    flask_ok(["db", "upgrade"], env)
    flask_ok(["reference", "load"], env)
    assert "demo data loaded" in flask_ok(["demo", "load"], env)
    stored = sort_keys(database)
    assert len(stored) == 60
    assert {rank for rank, _ in stored.values()} == {0, 1, 2}  # the demo has every rank
    assert all(name and name == name.lower() for _, name in stored.values())
    at_head = database.snapshot(TABLES)

    flask_ok(["db", "downgrade", PREVIOUS], env)
    columns = listing_columns(database)
    assert not NEW_COLUMNS & set(columns)
    assert not NEW_INDEXES & listing_indexes(database)
    before = listings(database, columns)
    assert database.snapshot(TABLES) == at_head

    flask_ok(["db", "upgrade", REVISION], env)
    assert set(listing_columns(database)) >= NEW_COLUMNS
    assert listing_indexes(database) >= NEW_INDEXES
    assert sort_keys(database) == stored
    assert listings(database, columns) == before
    assert database.snapshot(TABLES) == at_head
    assert database.refuses("UPDATE listing SET attention_rank = 3 WHERE id = ?", (min(stored),))

    flask_ok(["db", "downgrade", PREVIOUS], env)
    assert listing_columns(database) == columns
    assert listings(database, columns) == before
    assert database.snapshot(TABLES) == at_head

    flask_ok(["db", "upgrade"], env)
    assert sort_keys(database) == stored
    assert "No new upgrade operations detected" in flask_ok(["db", "check"], env)
