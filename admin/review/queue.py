"""The review queue: pending listing revisions and certifications in one list, oldest first,
paged by keyset (submitted_at, kind, id) so page 40 costs what page 1 costs.

The page always issues the same statements whatever the queue's length: one UNION for the
page's keys, one count, one eager load per kind (every relationship the template reads is
loaded up front; anything else raises instead of lazy loading)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import String, and_, exists, literal, or_, select, tuple_, union_all
from sqlalchemy.orm import joinedload, raiseload

from models import (
    Certification,
    Listing,
    ListingRevision,
    Organization,
    Region,
    RevisionCounty,
    User,
    certification_listing,
    db,
    region_county,
    utcnow,
)
from models.certifications import PENDING_STATUSES
from models.listings import PENDING_REVIEW_STATES

PAGE_SIZE = 50
REVISION = "revision"
CERTIFICATION = "certification"


@dataclass
class QueueFilters:
    q: str = ""
    kind: str = ""
    service_type: str = ""
    county: str = ""
    region_id: int | None = None
    organization_id: int | None = None
    mine: bool = False
    unclaimed: bool = False
    overdue: bool = False
    stale: bool = False


@dataclass
class QueueItem:
    kind: str
    obj: ListingRevision | Certification

    @property
    def is_revision(self) -> bool:
        return self.kind == REVISION


@dataclass
class QueuePage:
    items: list[QueueItem]
    total: int
    next_cursor: str | None
    cursor: str | None = None
    now: datetime = field(default_factory=utcnow)


def encode_cursor(submitted_at: datetime, kind: str, ident: int) -> str:
    raw = f"{submitted_at.isoformat()}|{kind}|{ident}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, str, int] | None:
    """None for a missing or malformed cursor (the page then starts from the oldest item)."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        ts, kind, ident = raw.split("|")
        if kind not in (REVISION, CERTIFICATION):
            return None
        when = datetime.fromisoformat(ts)
        if when.tzinfo is None:
            return None
        return when, kind, int(ident)
    except (ValueError, UnicodeDecodeError):
        return None


def _region_fips(region_id: int):
    return select(region_county.c.county_fips).where(region_county.c.region_id == region_id)


def _revision_in_counties(fips_clause):
    """The site county, or any county the revision serves."""
    served = exists().where(
        RevisionCounty.revision_id == ListingRevision.id, fips_clause(RevisionCounty.county_fips)
    )
    return or_(fips_clause(ListingRevision.county_fips), served)


def _certification_covers(condition):
    """A certification matches when one of the listings it covers has a live revision that does."""
    live = (
        select(ListingRevision.id)
        .join(Listing, Listing.live_revision_id == ListingRevision.id)
        .join(certification_listing, certification_listing.c.listing_id == Listing.id)
        .where(certification_listing.c.certification_id == Certification.id, condition)
    )
    return exists(live)


def queue_keys(f: QueueFilters, me: User):
    now = utcnow()
    rev_where = [ListingRevision.state.in_([s.value for s in PENDING_REVIEW_STATES])]
    cert_where = [Certification.status.in_([s.value for s in PENDING_STATUSES])]
    if f.q:
        like = f"%{f.q.strip()}%"
        rev_where.append(
            or_(
                ListingRevision.name.ilike(like),
                Organization.legal_name.ilike(like),
                Organization.dba.ilike(like),
            )
        )
        cert_where.append(or_(Organization.legal_name.ilike(like), Organization.dba.ilike(like)))
    if f.organization_id:
        rev_where.append(Listing.organization_id == f.organization_id)
        cert_where.append(Certification.organization_id == f.organization_id)
    if f.service_type:
        rev_where.append(ListingRevision.service_type_code == f.service_type)
        cert_where.append(
            _certification_covers(ListingRevision.service_type_code == f.service_type)
        )
    if f.county:

        def one(col):
            return col == f.county

        rev_where.append(_revision_in_counties(one))
        cert_where.append(_certification_covers(_revision_in_counties(one)))
    if f.region_id:

        def in_region(col):
            return col.in_(_region_fips(f.region_id))

        rev_where.append(_revision_in_counties(in_region))
        cert_where.append(_certification_covers(_revision_in_counties(in_region)))
    if f.mine:
        rev_where.append(ListingRevision.claimed_by_id == me.id)
        cert_where.append(Certification.claimed_by_id == me.id)
    if f.unclaimed:
        rev_where.append(ListingRevision.claimed_by_id.is_(None))
        cert_where.append(Certification.claimed_by_id.is_(None))
    if f.overdue:
        rev_where.append(ListingRevision.due_at < now)
        cert_where.append(Certification.due_at < now)
    if f.stale:
        rev_where.append(Listing.stale_since.is_not(None))
        cert_where.append(literal(False))

    revs = (
        select(
            ListingRevision.submitted_at.label("submitted_at"),
            literal(REVISION, String).label("kind"),
            ListingRevision.id.label("id"),
        )
        .join(Listing, Listing.id == ListingRevision.listing_id)
        .join(Organization, Organization.id == Listing.organization_id)
        .where(and_(*rev_where))
    )
    certs = (
        select(
            Certification.submitted_at.label("submitted_at"),
            literal(CERTIFICATION, String).label("kind"),
            Certification.id.label("id"),
        )
        .join(Organization, Organization.id == Certification.organization_id)
        .where(and_(*cert_where))
    )
    parts = []
    if f.kind in ("", REVISION):
        parts.append(revs)
    if f.kind in ("", CERTIFICATION):
        parts.append(certs)
    return union_all(*parts).subquery("queue")


def queue_items(keys: list[tuple[str, int]]) -> list[QueueItem]:
    """The page's revisions and certifications, in the page's order: one query per kind, with
    everything the queue template reads loaded up front (anything else raises, never lazy
    loads)."""
    rev_ids = [i for kind, i in keys if kind == REVISION]
    cert_ids = [i for kind, i in keys if kind == CERTIFICATION]
    revisions = {
        r.id: r
        for r in db.session.scalars(
            select(ListingRevision)
            .where(ListingRevision.id.in_(rev_ids))
            .options(
                joinedload(ListingRevision.listing).options(
                    joinedload(Listing.organization),
                    joinedload(Listing.service_type),
                    raiseload("*"),
                ),
                joinedload(ListingRevision.service_type),
                joinedload(ListingRevision.county),
                joinedload(ListingRevision.claimed_by).raiseload("*"),
                raiseload("*"),
            )
        ).unique()
    }
    certifications = {
        c.id: c
        for c in db.session.scalars(
            select(Certification)
            .where(Certification.id.in_(cert_ids))
            .options(
                joinedload(Certification.organization),
                joinedload(Certification.type),
                joinedload(Certification.claimed_by).raiseload("*"),
                raiseload("*"),
            )
        ).unique()
    }
    return [
        QueueItem(kind, revisions[i] if kind == REVISION else certifications[i]) for kind, i in keys
    ]


def load_page(
    f: QueueFilters, me: User, cursor: str | None, page_size: int = PAGE_SIZE
) -> QueuePage:
    keys = queue_keys(f, me)
    total = db.session.scalar(select(db.func.count()).select_from(keys))
    stmt = select(keys.c.submitted_at, keys.c.kind, keys.c.id)
    after = decode_cursor(cursor)
    if after is not None:
        stmt = stmt.where(tuple_(keys.c.submitted_at, keys.c.kind, keys.c.id) > tuple_(*after))
    rows = db.session.execute(
        stmt.order_by(keys.c.submitted_at, keys.c.kind, keys.c.id).limit(page_size + 1)
    ).all()
    more = len(rows) > page_size
    rows = rows[:page_size]
    items = queue_items([(r.kind, r.id) for r in rows])
    next_cursor = encode_cursor(rows[-1].submitted_at, rows[-1].kind, rows[-1].id) if more else None
    return QueuePage(items=items, total=total, next_cursor=next_cursor, cursor=cursor)


def filter_choices() -> dict[str, list[tuple[str, str]]]:
    """Options of the queue's filter selects (four small reference queries)."""
    from models import County, ServiceType

    types = db.session.execute(
        select(ServiceType.code, ServiceType.name).order_by(ServiceType.sort_order)
    ).all()
    counties = db.session.execute(select(County.fips, County.name).order_by(County.name)).all()
    regions = db.session.execute(select(Region.id, Region.name).order_by(Region.name)).all()
    orgs = db.session.execute(
        select(Organization.id, Organization.legal_name).order_by(Organization.legal_name)
    ).all()
    return {
        "service_type": [("", "Any service type")] + [(c, n) for c, n in types],
        "county": [("", "Any county")] + [(f, n) for f, n in counties],
        "region": [("", "Any region")] + [(str(i), n) for i, n in regions],
        "organization": [("", "Any organization")] + [(str(i), n) for i, n in orgs],
    }


def reviewers() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.role.in_(("reviewer", "admin")), User.is_active.is_(True))
            .options(raiseload("*"))
            .order_by(User.name)
        )
    )
