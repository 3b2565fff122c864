"""The queue: same number of SQL statements for 10 and 1,000 pending items, no lazy loads,
keyset paging, filters, claim / release / assign."""

from __future__ import annotations

import pytest
from review_helpers import pending_bluestem, text_of
from sqlalchemy import insert
from sqlalchemy.exc import InvalidRequestError

from admin.review.queue import QueueFilters, load_page
from models import AuditEvent, Listing, ListingRevision, Organization, User, db, utcnow
from models.listings import workflow as wf


def add_pending(n: int) -> None:
    org_id = db.session.scalar(db.select(Organization.id).order_by(Organization.id).limit(1))
    now = utcnow()
    listings = [{"organization_id": org_id, "service_type_code": "mobile_crisis"} for _ in range(n)]
    ids = db.session.scalars(insert(Listing).returning(Listing.id), listings).all()
    db.session.execute(
        insert(ListingRevision),
        [
            {
                "listing_id": lid,
                "number": 1,
                "state": "submitted",
                "name": f"Bulk item {lid}",
                "service_type_code": "mobile_crisis",
                "data": {},
                "submitted_at": now,
                "due_at": now,
                "lock_version": 1,
            }
            for lid in ids
        ],
    )
    db.session.commit()


def queue_statements(client, count_queries) -> int:
    client.get("/review/queue")  # warm-up: the same path, caches filled
    with count_queries() as counter:
        resp = client.get("/review/queue")
    assert resp.status_code == 200
    return counter.count


def test_same_number_of_queries_for_10_and_1000_pending_items(client, login, count_queries):
    user_id = db.session.scalar(db.select(User.id).filter_by(email="reviewer@demo.test"))
    login("reviewer")
    add_pending(10)
    with_10 = queue_statements(client, count_queries)
    add_pending(990)
    with_1000 = queue_statements(client, count_queries)
    assert with_10 == with_1000
    html = client.get("/review/queue").get_data(as_text=True)
    assert html.count('class="queue-item') == 50
    assert load_page(QueueFilters(), db.session.get(User, user_id), None).total > 500
    # the queue counts no further than it needs to say so
    assert "More than 500 items match" in text_of(client.get("/review/queue"))


def test_page_objects_refuse_lazy_loads(app, users):
    page = load_page(QueueFilters(), users.reviewer, None)
    rev = next(i.obj for i in page.items if i.is_revision)
    assert rev.listing.organization.name  # eager
    with pytest.raises(InvalidRequestError, match="lazy='raise'"):
        _ = rev.listing.live_revision
    cert = next(i.obj for i in page.items if not i.is_revision)
    with pytest.raises(InvalidRequestError, match="lazy='raise'"):
        _ = cert.documents


def test_keyset_pages_walk_everything_once_oldest_first(app, users):
    add_pending(7)
    seen, cursor, stamps = [], None, []
    while True:
        page = load_page(QueueFilters(), users.reviewer, cursor, page_size=3)
        seen += [(i.kind, i.obj.id) for i in page.items]
        stamps += [i.obj.submitted_at for i in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == page.total
    assert stamps == sorted(stamps)


def test_filters(app, users):
    me = users.reviewer
    bid = pending_bluestem().id
    every = load_page(QueueFilters(), me, None)
    kinds = {i.kind for i in every.items}
    assert kinds == {"revision", "certification"}
    certs = load_page(QueueFilters(kind="certification"), me, None)
    assert certs.items and all(i.kind == "certification" for i in certs.items)
    found = load_page(QueueFilters(q="bluestem"), me, None)
    assert [i.obj.id for i in found.items] == [bid]
    assert not load_page(QueueFilters(mine=True), me, None).items
    wf.claim(db.session.get(ListingRevision, bid), me)
    assert [i.obj.id for i in load_page(QueueFilters(mine=True), me, None).items] == [bid]
    oldest_unclaimed = (
        load_page(QueueFilters(unclaimed=True, kind="revision"), me, None).items[0].obj
    )
    assert oldest_unclaimed.id != bid
    boone = load_page(QueueFilters(county="29019"), me, None)
    assert bid in [i.obj.id for i in boone.items]
    assert all(i.kind == "revision" for i in load_page(QueueFilters(stale=True), me, None).items)
    lst = db.session.get(ListingRevision, bid).listing
    lst.stale_since = utcnow()
    db.session.flush()
    assert [i.obj.id for i in load_page(QueueFilters(stale=True), me, None).items] == [bid]
    assert load_page(QueueFilters(overdue=True), me, None).total >= 1


def test_oldest_unclaimed_item_is_the_bluestem_phone_change(app, users):
    first = load_page(QueueFilters(unclaimed=True), users.reviewer, None).items[0].obj
    assert first.id == pending_bluestem().id


def test_claim_release_and_admin_assign(client, login, send, users):
    rev_id = pending_bluestem().id
    reviewer2_id = users.get("reviewer2@demo.test").id
    db.session.commit()
    login("reviewer")
    send(client, f"/review/revisions/{rev_id}/claim", {"next": "queue"}, form_url="/review/queue")
    rev = db.session.get(ListingRevision, rev_id)
    assert rev.claimed_by.email == "reviewer@demo.test" and rev.state == "in_review"
    assert "Riley Reviewer (demo) (you)" in text_of(client.get("/review/queue"))
    # a reviewer cannot assign
    resp = send(
        client,
        f"/review/revisions/{rev_id}/assign",
        {"reviewer": reviewer2_id},
        form_url="/review/queue",
    )
    assert resp.status_code == 403
    send(client, f"/review/revisions/{rev_id}/release", {}, form_url=f"/review/revisions/{rev_id}")
    assert db.session.get(ListingRevision, rev_id).claimed_by_id is None
    client.post("/logout", data={"csrf_token": ""})


def test_admin_assigns_and_others_see_who_holds_it(client, login, send, users):
    rev_id = pending_bluestem().id
    reviewer2_id = users.get("reviewer2@demo.test").id
    db.session.commit()
    login("admin")
    send(
        client,
        f"/review/revisions/{rev_id}/assign",
        {"reviewer": reviewer2_id},
        form_url="/review/queue",
    )
    rev = db.session.get(ListingRevision, rev_id)
    assert rev.claimed_by_id == reviewer2_id
    assert "Morgan Second-Reviewer (demo)" in text_of(client.get(f"/review/revisions/{rev_id}"))
    actions = [
        e.action
        for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(3))
    ]
    assert "revision.assign" in actions
    assert db.session.get(User, reviewer2_id).name.startswith("Morgan")
