"""Append-only audit trail with a hash chain: each event carries the hash of the one before,
so changing or deleting a row is detectable (`flask audit verify`). On PostgreSQL a trigger
also refuses UPDATE and DELETE on the table (see the initial migration)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import JSONType, UTCDateTime, db, utcnow
from models.context import client_address

GENESIS_HASH = "0" * 64
# arbitrary constant: the advisory lock that serialises appends to the chain on PostgreSQL
AUDIT_CHAIN_LOCK = 7_311_001


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    actor_label: Mapped[str] = mapped_column(String(254), default="system")
    ip: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (
        Index("ix_audit_event_object", "object_type", "object_id"),
        Index("ix_audit_event_at", "at"),
    )

    def compute_hash(self) -> str:
        return chain_hash(self.prev_hash, self.payload())

    def payload(self) -> dict[str, Any]:
        at = self.at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
        return {
            "at": at,
            "actor_id": self.actor_id,
            "actor_label": self.actor_label,
            "ip": self.ip,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "organization_id": self.organization_id,
            "before": self.before,
            "after": self.after,
        }


def chain_hash(prev_hash: str, payload: dict[str, Any]) -> str:
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + "\n" + body).encode()).hexdigest()


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str)) if value is not None else None


def record(
    action: str,
    *,
    actor=None,
    target=None,
    object_type: str | None = None,
    object_id: Any = None,
    organization_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event in the current transaction (never commits)."""
    if target is not None:
        object_type = object_type or target.__tablename__
        object_id = object_id if object_id is not None else getattr(target, "id", None)
        if organization_id is None:
            organization_id = getattr(target, "organization_id", None)
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_CHAIN_LOCK})
    prev = db.session.scalar(db.select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    ip = client_address.get()
    actor_id = getattr(actor, "id", None)
    event = AuditEvent(
        at=utcnow(),
        actor_id=actor_id,
        actor_label=getattr(actor, "email", None)
        or (actor if isinstance(actor, str) else "system"),
        ip=ip,
        action=action,
        object_type=object_type or "",
        object_id=str(object_id) if object_id is not None else "",
        organization_id=organization_id,
        before=_json_safe(before),
        after=_json_safe(after),
        prev_hash=prev or GENESIS_HASH,
    )
    event.hash = event.compute_hash()
    db.session.add(event)
    db.session.flush()
    return event


@dataclass
class ChainReport:
    checked: int
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def chain_head() -> dict[str, Any]:
    """The chain's length and newest link, to be written down outside the database (each
    release's manifest, the nightly checkpoint): deleting the newest events then shows."""
    last = db.session.scalar(db.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    count = db.session.scalar(db.select(db.func.count(AuditEvent.id))) or 0
    return {
        "events": count,
        "last_id": last.id if last else 0,
        "hash": last.hash if last else GENESIS_HASH,
    }


def verify_chain(batch: int = 2000, anchor: dict[str, Any] | None = None) -> ChainReport:
    """Walk the chain in id order; report the first event whose link or content does not match.
    With an `anchor` (a `chain_head()` written down earlier), also report a chain that no longer
    reaches it: its newest events were deleted."""
    prev = GENESIS_HASH
    checked = 0
    last_id = 0
    reached = anchor is None or not anchor.get("last_id")
    while True:
        rows = db.session.scalars(
            db.select(AuditEvent)
            .where(AuditEvent.id > last_id)
            .order_by(AuditEvent.id)
            .limit(batch)
        ).all()
        if not rows:
            break
        for ev in rows:
            if ev.prev_hash != prev:
                return ChainReport(
                    checked, ev.id, "its previous-hash link does not match the event before it"
                )
            if ev.compute_hash() != ev.hash:
                return ChainReport(checked, ev.id, "its content does not match its hash")
            if anchor is not None and ev.id == anchor.get("last_id"):
                if ev.hash != anchor.get("hash") or checked + 1 != anchor.get("events"):
                    return ChainReport(
                        checked, ev.id, f"it does not match the anchor of {anchor.get('source')}"
                    )
                reached = True
            prev = ev.hash
            checked += 1
            last_id = ev.id
        db.session.expunge_all()
    if not reached:
        return ChainReport(
            checked,
            anchor["last_id"],
            f"the chain is truncated: {anchor.get('source')} recorded {anchor['events']} events up "
            f"to #{anchor['last_id']}, only {checked} remain (the newest is #{last_id or 'none'})",
        )
    return ChainReport(checked)
