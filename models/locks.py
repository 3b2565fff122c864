"""Transaction-scoped locks that serialise one kind of work (a sweep, an audit append, sending
one reminder).

PostgreSQL: an advisory lock or a row lock held until the transaction ends. SQLite, the embedded
default, has one writer at a time: the lock is the writer lock itself, taken as the transaction
begins (BEGIN IMMEDIATE), so a second run waits for the first and then sees what it did."""

from __future__ import annotations

from sqlalchemy import text

from models.base import db


def begin_writing() -> None:
    """On SQLite, begin the session's transaction holding the writer lock, so work that reads
    and then writes waits for other writers instead of failing on a stale snapshot. PostgreSQL
    needs nothing here (use row locks). Call it before the transaction's first statement."""
    session = db.session()
    if session.get_bind().dialect.name == "sqlite" and not session.in_transaction():
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


def write_afresh() -> None:
    """Commit what the session holds and begin a writing transaction. For work that read for a
    while (a password check, a release build) and now writes: on SQLite a transaction that read
    before another writer committed cannot write at all, so the writes start afresh, holding
    the writer lock only for themselves."""
    db.session.commit()
    begin_writing()


def lock_key(name: str) -> int:
    """A stable signed 64-bit lock key for a name (PostgreSQL advisory locks take a bigint)."""
    import hashlib

    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def transaction_lock(key: int) -> None:
    """Take the lock named `key` for the current transaction, waiting for whoever holds it.
    Call it first in a fresh transaction (on SQLite it is the writer lock)."""
    session = db.session()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    else:
        begin_writing()


def try_transaction_lock(key: int) -> bool:
    """Take the lock named `key` for the current transaction, or return False at once when
    another transaction holds it (PostgreSQL). Call it first in a fresh transaction."""
    session = db.session()
    if session.get_bind().dialect.name == "postgresql":
        return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}))
    begin_writing()
    return True
