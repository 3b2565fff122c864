"""Database handle, declarative base and the mixins every aggregate shares."""

from __future__ import annotations

import enum
import importlib
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any, Self

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


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A package's module `__getattr__` (PEP 562): `from models.listings import Listing` imports
    the one module `exports` names for it, on first use. Eager re-exports would import every
    aggregate whenever any is imported, and the aggregates refer to one another."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{exports[name]}"), name)

    return __getattr__


class StrEnum(enum.StrEnum):
    """Enum whose values are stored as plain strings guarded by CHECK constraints (`check_in`).
    Its labels for people are given once, beside it, with `set_labels`."""

    def __str__(self) -> str:
        return self.value

    @classmethod
    def values(cls) -> list[str]:
        return [m.value for m in cls]

    @classmethod
    def set_labels(cls, labels: Mapping[str, str]) -> None:
        """Name every member for people ("Changes requested"); a member left out is an error."""
        named = {cls(k): v for k, v in labels.items()}
        missing = [m.value for m in cls if m not in named]
        if missing:
            raise ValueError(f"{cls.__name__}: no label for {', '.join(missing)}")
        cls._labels = named

    @property
    def label(self) -> str:
        """The member's name for people, capitalised: "Changes requested"; mid-sentence, use
        `label.lower()`."""
        labels = type(self).__dict__.get("_labels")
        return labels[self] if labels else self.value.replace("_", " ").capitalize()


class StateEnum(StrEnum):
    """The states of one state machine. The transitions allowed between them are data beside
    the enum (`set_transitions`); every operation that changes such a state asks
    `check_transition` first, so an illegal change raises one error, IllegalTransition, naming
    both states. A state not listed as a source has no way out (a final state)."""

    @classmethod
    def set_transitions(cls, table: Mapping[str, Iterable[str]], *, noun: str) -> None:
        """`table`: from-state -> the states it may become; `noun` names the object in
        messages ("revision"). Every member must appear as a source (final ones with none)."""
        allowed = {cls(k): frozenset(cls(t) for t in targets) for k, targets in table.items()}
        missing = [m.value for m in cls if m not in allowed]
        if missing:
            raise ValueError(f"{cls.__name__}: no transitions given for {', '.join(missing)}")
        cls._transitions = allowed
        cls._noun = noun

    @classmethod
    def transitions(cls) -> dict[Self, frozenset[Self]]:
        return dict(cls._transitions)

    @classmethod
    def sources_of(cls, target: str) -> tuple[Self, ...]:
        """The states that may become `target`, in the enum's order."""
        return tuple(s for s in cls if cls(target) in cls._transitions[s])

    @property
    def is_final(self) -> bool:
        return not self._transitions[self]

    def can_become(self, target: str) -> bool:
        return type(self)(target) in self._transitions[self]

    @classmethod
    def check_transition(cls, current: str, target: str, *, message: str | None = None) -> Self:
        """The target member, or IllegalTransition when `current` may not become it. `message`
        replaces the generic sentence where the caller can say it better."""
        source, goal = cls(current), cls(target)
        if goal not in cls._transitions[source]:
            raise IllegalTransition(cls, source, goal, message=message)
        return goal


class NoChangesError(Exception):
    """Saving content identical to what is already there: nothing to save, not an error."""


class WorkflowError(Exception):
    """A state change that the workflow does not allow from the object's current state."""

    def __init__(self, message: str, *, current_state: str | None = None):
        super().__init__(message)
        self.current_state = current_state


class IllegalTransition(WorkflowError):
    """The one error of a transition its state machine does not allow; names both states."""

    def __init__(
        self,
        machine: type[StateEnum],
        from_state: StateEnum,
        to_state: StateEnum,
        *,
        message: str | None = None,
    ):
        noun = getattr(machine, "_noun", machine.__name__)
        super().__init__(
            message
            or f"This {noun} is {from_state.label.lower()}; it cannot become "
            f"{to_state.label.lower()}.",
            current_state=from_state.value,
        )
        self.machine = machine
        self.from_state = from_state
        self.to_state = to_state


class ConflictError(WorkflowError):
    """Someone else changed or decided the object first (optimistic lock / conditional update)."""


def check_in(column: str, enum_cls: type[StrEnum]) -> str:
    """SQL for a CHECK constraint limiting a state column to an enum's values."""
    values = ", ".join(f"'{v}'" for v in enum_cls.values())
    return f"{column} IN ({values})"
