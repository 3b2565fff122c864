"""Database handle, declarative base and the mixins every aggregate shares."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, date, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, DateTime, Engine, MetaData, String, TypeDecorator, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names so Alembic autogenerate and `flask db check` agree across backends.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def configure_sqlite(engine: Engine) -> None:
    """SQLite (the embedded default): SQLAlchemy owns transactions, so BEGIN, SAVEPOINT and
    ROLLBACK mean what they mean on PostgreSQL (pysqlite's own handling defers BEGIN to the
    first write and breaks savepoints). With BEGIN before the first read, SQLite's transactions
    are serializable: a transaction that read a snapshot another writer has since changed cannot
    write ("database is locked", answered as a busy page, nothing saved) — two decisions or two
    audit appends at once never both land. Readers do not block the writer (WAL); the writer
    lock is waited for (pysqlite's `timeout`, 30 s, see admin/config.py). Work that must queue rather than fail takes the writer lock
    as it begins (`sqlite_begin="IMMEDIATE"`, see models/locks.py)."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        immediate = connection.get_execution_options().get("sqlite_begin") == "IMMEDIATE"
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


# JSON on SQLite, JSONB on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    """Timezone-aware now; used as a *callable* default, never evaluated at import."""
    return datetime.now(UTC)


def today() -> date:
    return utcnow().date()


class UTCDateTime(TypeDecorator):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given for a UTC column")
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


def new_uuid() -> str:
    return str(uuid.uuid4())


def UUIDColumn(**kw):  # noqa: N802 - reads like a type
    return mapped_column(String(36), default=new_uuid, nullable=False, unique=True, **kw)


class StrEnum(enum.StrEnum):
    """Enum whose values are stored as plain strings guarded by CHECK constraints."""

    def __str__(self) -> str:
        return self.value

    @classmethod
    def values(cls) -> list[str]:
        return [m.value for m in cls]

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


def check_in(column: str, enum_cls: type[StrEnum]) -> str:
    """SQL for a CHECK constraint limiting a state column to an enum's values."""
    values = ", ".join(f"'{v}'" for v in enum_cls.values())
    return f"{column} IN ({values})"


class NoChangesError(Exception):
    """Saving content identical to what is already there: nothing to save, not an error."""


class WorkflowError(Exception):
    """A state change that the workflow does not allow from the object's current state."""

    def __init__(self, message: str, *, current_state: str | None = None):
        super().__init__(message)
        self.current_state = current_state


class ConflictError(WorkflowError):
    """Someone else changed or decided the object first (optimistic lock / conditional update)."""
