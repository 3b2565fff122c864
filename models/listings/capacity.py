"""Live capacity: whether a crisis center, crisis residential program or sobering center can
take someone now. Operational data, not listing content: provider staff of the owning
organization set it without review; every change is a row (the history reports are made from)
and an audit event. A status is trusted only for a while: older than its service type's expiry
it is published as "unknown", never as the stale value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import audit
from models.base import StateEnum, UTCDateTime, WorkflowError, check_in, db, utcnow
from models.listings.listing import Listing, ListingRevision
from models.organizations.user import User


class CapacityStatus(StateEnum):
    ACCEPTING = "accepting"
    LIMITED = "limited"
    FULL = "full"
    DIVERTING = "diverting"


# a site's status may change to any other, or be reported again (which renews it)
CapacityStatus.set_transitions({s: set(CapacityStatus) for s in CapacityStatus}, noun="site")
CapacityStatus.set_labels(
    {
        CapacityStatus.ACCEPTING: "Accepting",
        CapacityStatus.LIMITED: "Limited",
        CapacityStatus.FULL: "Full",
        CapacityStatus.DIVERTING: "Diverting",
    }
)
# the portal's capacity view still reads labels here; new code asks the member (`.label`)
LABELS = {s: s.label for s in CapacityStatus}
UNKNOWN = "unknown"
DEFAULT_EXPIRY_HOURS = 12


class CapacityUpdate(db.Model):
    """One status report; the newest per listing is its current status."""

    __tablename__ = "capacity_update"
    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    available: Mapped[int | None] = mapped_column(Integer)  # beds or chairs free (limited)
    reason: Mapped[str] = mapped_column(Text, default="")  # why diverting
    note: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # "expires soon" e-mail

    listing: Mapped[Listing] = relationship()
    by: Mapped[User | None] = relationship()

    __table_args__ = (
        Index("ix_capacity_update_listing_at", "listing_id", "at"),
        CheckConstraint(check_in("status", CapacityStatus), name="capacity_status"),
        CheckConstraint("available IS NULL OR available >= 0", name="capacity_available"),
    )


def expiry_hours(type_code: str, settings: dict[str, Any] | None = None) -> float:
    """How long a status stays true: per service type, else the default (12 hours)."""
    settings = settings or {}
    by_type = settings.get("by_type") or {}
    return float(by_type.get(type_code, settings.get("default", DEFAULT_EXPIRY_HOURS)))


def set_capacity(
    listing: Listing,
    by: User,
    status: str,
    *,
    available: int | None = None,
    reason: str = "",
    note: str = "",
) -> CapacityUpdate:
    """Record a status now (the caller commits). Raises WorkflowError with a message fit to
    show next to the control."""
    if not listing.service_type.has_capacity:
        raise WorkflowError(f"A {listing.service_type.short_name} does not report capacity.")
    if status not in set(CapacityStatus):
        raise WorkflowError("Choose accepting, limited, full or diverting.")
    reason, note = (reason or "").strip(), (note or "").strip()
    if status == CapacityStatus.DIVERTING and not reason:
        raise WorkflowError("Say why you are diverting (for example: no staff for intake).")
    if available is not None and (available < 0 or available > 10_000):
        raise WorkflowError("Give the number of free beds or chairs (0 or more).")
    if status != CapacityStatus.LIMITED:
        available = None
    if len(note) > 200:
        raise WorkflowError("Keep the note under 200 characters.")
    current = latest([listing.id]).get(listing.id)
    if current is not None:
        CapacityStatus.check_transition(current.status, status)
    update = CapacityUpdate(
        listing_id=listing.id,
        status=status,
        available=available,
        reason=reason if status == CapacityStatus.DIVERTING else "",
        note=note,
        at=utcnow(),
        by_id=by.id,
    )
    db.session.add(update)
    db.session.flush()
    audit.record(
        "capacity.set",
        actor=by,
        target=listing,
        after={"status": status, "available": available, "reason": update.reason, "note": note},
    )
    return update


def capacity_listings(*, include_suspended: bool = True) -> list[Listing]:
    """Listings with a live version whose service type reports capacity, in one query (live
    version and organization loaded with them)."""
    from sqlalchemy.orm import selectinload

    from models.reference.tables import ServiceType

    q = (
        db.select(Listing)
        .join(ServiceType, ServiceType.code == Listing.service_type_code)
        .where(Listing.live_revision_id.is_not(None), ServiceType.has_capacity.is_(True))
        .options(selectinload(Listing.live_revision), selectinload(Listing.organization))
        .order_by(Listing.id)
    )
    if not include_suspended:
        q = q.where(Listing.is_suspended.is_(False))
    return list(db.session.scalars(q))


def capacity_sites() -> list[Any]:
    """What the capacity file names of each listing that reports capacity and has a live
    version (id, uuid, service_type_code, name), in one query and no ORM object: the file is
    rewritten every minute and after every release."""
    from models.reference.tables import ServiceType

    lst, rev = Listing.__table__, ListingRevision.__table__
    return db.session.execute(
        db.select(lst.c.id, lst.c.uuid, lst.c.service_type_code, rev.c.name)
        .join(rev, rev.c.id == lst.c.live_revision_id)
        .join(ServiceType, ServiceType.code == lst.c.service_type_code)
        .where(ServiceType.has_capacity.is_(True))
        .order_by(lst.c.id)
    ).all()


def history(listing_ids: list[int], now: datetime) -> dict[int, list[CapacityUpdate]]:
    """Every report before `now` of each listing, oldest first, in one query."""
    out: dict[int, list[CapacityUpdate]] = {i: [] for i in listing_ids}
    if listing_ids:
        for u in db.session.scalars(
            db.select(CapacityUpdate)
            .where(CapacityUpdate.listing_id.in_(listing_ids), CapacityUpdate.at < now)
            .order_by(CapacityUpdate.listing_id, CapacityUpdate.at, CapacityUpdate.id)
        ):
            out[u.listing_id].append(u)
    return out


def latest(listing_ids: list[int]) -> dict[int, CapacityUpdate]:
    """The current (newest) update of each listing, in one query."""
    if not listing_ids:
        return {}
    newest = (
        db.select(CapacityUpdate.listing_id, db.func.max(CapacityUpdate.id).label("id"))
        .where(CapacityUpdate.listing_id.in_(listing_ids))
        .group_by(CapacityUpdate.listing_id)
        .subquery()
    )
    rows = db.session.scalars(
        db.select(CapacityUpdate).join(newest, CapacityUpdate.id == newest.c.id)
    ).all()
    return {u.listing_id: u for u in rows}


@dataclass
class CapacityView:
    """What may be shown of a listing's status at `now`."""

    status: str  # a CapacityStatus, or "unknown"
    label: str
    available: int | None
    reason: str
    note: str
    updated_at: datetime | None
    expires_at: datetime | None

    @property
    def is_known(self) -> bool:
        return self.status != UNKNOWN


def view(update: CapacityUpdate | None, hours: float, now: datetime) -> CapacityView:
    if update is None:
        return CapacityView(UNKNOWN, "Unknown: never reported", None, "", "", None, None)
    expires = update.at + timedelta(hours=hours)
    if now >= expires:
        return CapacityView(
            UNKNOWN, "Unknown: not updated lately", None, "", "", update.at, expires
        )
    return CapacityView(
        update.status,
        CapacityStatus(update.status).label,
        update.available,
        update.reason,
        update.note,
        update.at,
        expires,
    )


def share_full(
    updates: list[CapacityUpdate], since: datetime, now: datetime, hours: float
) -> dict[str, float]:
    """Share of the time since `since` spent in each status, from one listing's reports (oldest
    first, see history()); expired time counts as unknown."""
    total = (now - since).total_seconds()
    spent: dict[str, float] = {}
    for i, u in enumerate(updates):
        start = max(u.at, since)
        end = min(updates[i + 1].at if i + 1 < len(updates) else now, now)
        valid_until = min(end, u.at + timedelta(hours=hours))
        if valid_until > start:
            spent[u.status] = spent.get(u.status, 0) + (valid_until - start).total_seconds()
    known = sum(spent.values())
    out = {k: v / total for k, v in spent.items()} if total > 0 else {}
    out[UNKNOWN] = max(0.0, 1 - known / total) if total > 0 else 1.0
    return out


REMIND_BEFORE = timedelta(hours=1)


def expiring_soon(now: datetime, settings: dict[str, Any] | None = None) -> list[CapacityUpdate]:
    """Current statuses that expire within the hour, not yet reminded, of organizations that
    want the reminder (Organization.capacity_reminders)."""
    from models.organizations.organization import Organization

    candidates = db.session.scalars(
        db.select(CapacityUpdate)
        .join(Listing, Listing.id == CapacityUpdate.listing_id)
        .join(Organization, Organization.id == Listing.organization_id)
        .where(
            CapacityUpdate.reminded_at.is_(None),
            Organization.capacity_reminders.is_(True),
            CapacityUpdate.at > now - timedelta(days=7),
        )
    ).all()
    current = latest(sorted({u.listing_id for u in candidates}))
    out = []
    for u in candidates:
        if current.get(u.listing_id) is not u:
            continue  # superseded by a newer report
        expires = u.at + timedelta(hours=expiry_hours(u.listing.service_type_code, settings))
        if expires - REMIND_BEFORE <= now < expires:
            out.append(u)
    return out


def set_capacity_reminders(organization, by: User, wanted: bool) -> None:
    """Turn the organization's "expires within the hour" e-mail on or off (audited)."""
    if organization.capacity_reminders == wanted:
        return
    before = {"capacity_reminders": organization.capacity_reminders}
    organization.capacity_reminders = wanted
    audit.record(
        "organization.capacity_reminders",
        actor=by,
        target=organization,
        before=before,
        after={"capacity_reminders": wanted},
    )
