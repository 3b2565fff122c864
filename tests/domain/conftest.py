"""Migration tests: a fresh database of the test backend (PostgreSQL, or on the SQLite backend
a fresh SQLite file: batch mode rebuilds the tables there), plain SQL against it, and the real
`flask` commands run on it in subprocesses."""

from __future__ import annotations

import importlib.util
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

import psycopg
import pytest

from tests.conftest import BACKEND, ROOT, pg_exec, pg_url, run_flask


def migration_revisions(number: str) -> tuple[str, str]:
    """(revision, down_revision) of the migration file migrations/versions/<number>_*.py."""
    path = next((ROOT / "migrations" / "versions").glob(f"{number}_*.py"))
    spec = importlib.util.spec_from_file_location(f"migration_{number}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.revision, module.down_revision


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

    def snapshot(self, tables: list[str]) -> dict[str, list[tuple]]:
        return {t: sorted(map(repr, self.execute(f"SELECT * FROM {t}"))) for t in tables}  # noqa: S608 - fixed table names


@pytest.fixture
def database(tmp_path):
    db = Database(tmp_path)
    yield db
    db.drop()


def flask_ok(args: list[str], env: dict[str, str]) -> str:
    result = run_flask(args, env, timeout=300)
    assert result.returncode == 0, f"flask {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr
