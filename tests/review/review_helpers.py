"""Helpers of the review tests (imported by the tests and tests/review/conftest.py)."""

from __future__ import annotations

import re

from models import Certification, Listing, ListingRevision, db


def pending_bluestem() -> ListingRevision:
    """The demo's oldest unclaimed item: Bluestem's BHCC with a new front-desk phone."""
    return db.session.scalar(
        db.select(ListingRevision).where(
            ListingRevision.state == "submitted",
            ListingRevision.provider_note.like("New front-desk number%"),
        )
    )


def live_listing(org_dba: str | None = None) -> Listing:
    stmt = db.select(Listing).where(
        Listing.live_revision_id.is_not(None), Listing.is_suspended.is_(False)
    )
    listings = db.session.scalars(stmt.order_by(Listing.id)).all()
    for lst in listings:
        if lst.open_revision is None and (org_dba is None or lst.organization.name == org_dba):
            return lst
    raise AssertionError("no live listing without an open revision")


def pending_certification() -> Certification:
    return db.session.scalar(
        db.select(Certification)
        .where(Certification.status == "submitted")
        .order_by(Certification.id)
    )


CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_of(client, url: str) -> str:
    html = client.get(url).get_data(as_text=True)
    m = CSRF_RE.search(html)
    assert m, f"no CSRF token on {url}"
    return m.group(1) or m.group(2)


def text_of(resp) -> str:
    return re.sub(r"\s+", " ", resp.get_data(as_text=True))
