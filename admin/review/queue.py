"""The review queue: pending listing revisions and certifications in one list, oldest first,
paged by keyset (submitted_at, kind, id) so page 40 costs what page 1 costs.

The list is given as parts, one per kind and pending state, each read in order from its
table's (state, submitted_at, id) index (admin/pagination.py, `Part`): a page reads a page's
worth of rows from each part and sorts only those. The page always issues the same statements
whatever the queue's length: one for the page's keys, one bounded count, one eager load per
kind (every relationship the template reads is loaded up front; anything else raises instead
of lazy loading)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, String, exists, literal, or_, select, union_all
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

from ..pagination import Part, SortKey, keyset_page

REVISION = "revision"
CERTIFICATION = "certification"
LIST_NAME = "review.queue"  # the cursors' signature
# the queue's order: submitted_at, kind, id (a revision and a certification may share an id)
QUEUE_ORDER = [SortKey(kind=datetime), SortKey(kind=str), SortKey(kind=int)]


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


def queue_parts(f: QueueFilters, me: User) -> list[Part]:
    """The pending items the filters keep, as rows (kind, id): one part per kind and pending
    state. A revision part joins its listing and organization only for a filter that reads
    them (every revision has both, so the join never drops one)."""
    now = utcnow()
    rev_where, cert_where = [], []
    rev_needs_org = cert_needs_org = rev_needs_listing = False
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
        rev_needs_org = cert_needs_org = True
    if f.organization_id:
        rev_where.append(Listing.organization_id == f.organization_id)
        cert_where.append(Certification.organization_id == f.organization_id)
        rev_needs_listing = True
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
        rev_needs_listing = True

    revs = select(literal(REVISION, String), ListingRevision.id).where(*rev_where)
    if rev_needs_listing or rev_needs_org:
        revs = revs.join(Listing, Listing.id == ListingRevision.listing_id)
    if rev_needs_org:
        revs = revs.join(Organization, Organization.id == Listing.organization_id)
    certs = select(literal(CERTIFICATION, String), Certification.id).where(*cert_where)
    if cert_needs_org:
        certs = certs.join(Organization, Organization.id == Certification.organization_id)
    parts = []
    if f.kind in ("", REVISION):
        parts += [
            Part(
                revs.where(ListingRevision.state == state.value),
                (ListingRevision.submitted_at, REVISION, ListingRevision.id),
            )
            for state in PENDING_REVIEW_STATES
        ]
    if f.kind in ("", CERTIFICATION):
        parts += [
            Part(
                certs.where(Certification.status == status.value),
                (Certification.submitted_at, CERTIFICATION, Certification.id),
            )
            for status in PENDING_STATUSES
        ]
    return parts


def queue_rows(parts: list[Part]) -> Select:
    """Every row of the parts (kind, id), in no order: for counting."""
    union = union_all(*(p.stmt for p in parts)).subquery("queue")
    return select(*union.c)


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
    f: QueueFilters, me: User, cursor: str | None, page_size: int | None = None
) -> QueuePage:
    """One page of the queue from `cursor` (None: the oldest items), with the exact count of
    the items the filters keep. Raises BadCursor for a cursor the queue did not make."""
    parts = queue_parts(f, me)
    total = db.session.scalar(select(db.func.count()).select_from(queue_rows(parts).subquery()))
    page = keyset_page(parts, QUEUE_ORDER, cursor, list_name=LIST_NAME, per_page=page_size)
    return QueuePage(
        items=queue_items(page.rows), total=total, next_cursor=page.next_cursor, cursor=cursor
    )


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
