"""The migrations build an empty PostgreSQL database, match the models, and the demo data
loads idempotently. Runs the real `flask` commands in subprocesses against a fresh database."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from tests.conftest import pg_exec, pg_url, run_flask

pytestmark = pytest.mark.postgres(reason="migrations are checked against PostgreSQL's catalogue")

KEY_TABLES = [
    "county",
    "region",
    "service_type",
    "certification_type",
    "document_type",
    "organization",
    '"user"',
    "listing",
    "listing_revision",
    "revision_county",
    "certification",
    "document",
    "review_comment",
]


@pytest.fixture
def empty_database(tmp_path):
    name = f"registry_migr_{uuid.uuid4().hex[:10]}"
    pg_exec(f"CREATE DATABASE {name}")
    yield (
        pg_url(name),
        {"DATABASE_URL": pg_url(name), "VAR_DIR": str(tmp_path), "REGISTRY_ENV": "development"},
    )
    pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def flask_ok(args, env):
    result = run_flask(args, env, timeout=300)
    assert result.returncode == 0, (
        f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout + result.stderr


def snapshot(url: str) -> dict[str, tuple[int, str]]:
    """Row count and a content hash of each key table (rows ordered by their text)."""
    out = {}
    with psycopg.connect(url) as conn:
        for table in KEY_TABLES:
            out[table] = conn.execute(
                f"SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {table} t"  # noqa: S608 - fixed table names
            ).fetchone()
    return out


def test_migrations_build_an_empty_database_and_match_the_models(empty_database):
    url, env = empty_database
    with psycopg.connect(url) as conn:
        assert (
            conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]
            == 0
        )
    flask_ok(["db", "upgrade"], env)
    check = flask_ok(["db", "check"], env)
    assert "No new upgrade operations detected" in check
    with psycopg.connect(url) as conn:
        head = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        tables = {
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
    assert head == flask_ok(["db", "heads"], env).split()[0]
    assert {
        "organization",
        "user",
        "listing",
        "listing_revision",
        "certification",
        "document",
        "review_comment",
        "audit_event",
        "release",
        "county",
        "region",
        "service_type",
    } <= tables


def test_demo_load_twice_leaves_the_same_data(empty_database):
    url, env = empty_database
    flask_ok(["db", "upgrade"], env)
    flask_ok(["reference", "load"], env)
    first_out = flask_ok(["demo", "load"], env)
    assert "demo data loaded" in first_out
    first = snapshot(url)
    assert first["organization"][0] == 12 and first["listing"][0] == 60
    assert first["county"][0] == 115
    again = flask_ok(["demo", "load"], env)
    assert "nothing changed" in again
    flask_ok(["reference", "load"], env)
    assert snapshot(url) == first


def test_migration_0004_seals_the_webhook_secrets_it_finds(empty_database):
    url, env = empty_database
    flask_ok(["db", "upgrade", "0003"], env)
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO webhook (url, secret, description, is_active, created_at) "
            "VALUES ('https://county.example.org/hook', 'typed-in-secret-value', '', true, now())"
        )
    flask_ok(["db", "upgrade"], env)
    with psycopg.connect(url) as conn:
        stored = conn.execute("SELECT secret FROM webhook").fetchone()[0]
    assert stored.startswith("fernet:") and "typed-in-secret-value" not in stored
    from cryptography.fernet import Fernet

    from admin.config import DEV_SECRET
    from models.publishing import PREFIX, derive_key

    key = derive_key(DEV_SECRET)  # the subprocess's SECRET_KEY (development default)
    assert Fernet(key).decrypt(stored.removeprefix(PREFIX).encode()) == b"typed-in-secret-value"
