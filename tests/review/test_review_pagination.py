"""The review queue a page at a time (keyset cursors, admin/pagination.py): every pending item
once, oldest first, forward and back, with the filters kept, also across items submitted at the
same moment; the same statements on every page; a bounded count ("more than 500"); a cursor
the queue did not make gives page 1 and a message; providers never reach it."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import insert, literal, select, union_all

from models import Certification, Listing, ListingRevision, Organization, db, utcnow
from models.certifications import PENDING_STATUSES
from models.listings import PENDING_REVIEW_STATES

PAGE = 10
ITEM_RE = re.compile(r'<tr class="queue-item[^"]*" data-kind="(\w+)" data-id="(\d+)">')


@pytest.fixture
def small_pages(app, monkeypatch):
    monkeypatch.setitem(app.config, "LIST_PAGE_SIZE", PAGE)


def add_pending(n: int, *, name: str = "Bulk item", same_time_every: int = 4, start=None) -> None:
    """n submitted revisions (bulk inserts), a minute apart from `start` (default: 30 days ago),
    except that runs of `same_time_every` share a timestamp (the id then decides the order)."""
    org_id = db.session.scalar(db.select(Organization.id).order_by(Organization.id).limit(1))
    start = start or utcnow() - timedelta(days=30)
    ids = db.session.scalars(
        insert(Listing).returning(Listing.id, sort_by_parameter_order=True),
        [{"organization_id": org_id, "service_type_code": "mobile_crisis"} for _ in range(n)],
    ).all()
    db.session.execute(
        insert(ListingRevision),
        [
            {
                "listing_id": lid,
                "number": 1,
                "state": "submitted",
                "name": f"{name} {i:04d}",
                "service_type_code": "mobile_crisis",
                "data": {},
                "submitted_at": start + timedelta(minutes=i // same_time_every),
                "due_at": start + timedelta(days=7),
                "lock_version": 1,
            }
            for i, lid in enumerate(ids)
        ],
    )
    db.session.commit()


def expected_order(name_like: str = "%") -> list[tuple[str, int]]:
    revs = select(
        ListingRevision.submitted_at, literal("revision").label("kind"), ListingRevision.id
    ).where(
        ListingRevision.state.in_([s.value for s in PENDING_REVIEW_STATES]),
        ListingRevision.name.like(name_like),
    )
    certs = select(
        Certification.submitted_at, literal("certification").label("kind"), Certification.id
    ).where(Certification.status.in_([s.value for s in PENDING_STATUSES]))
    parts = [revs, certs] if name_like == "%" else [revs]
    rows = db.session.execute(union_all(*parts)).all()
    return [(kind, i) for _, kind, i in sorted(rows, key=lambda r: (r[0], r[1], r[2]))]


def items(html: str) -> list[tuple[str, int]]:
    return [(kind, int(i)) for kind, i in ITEM_RE.findall(html)]


def link(html: str, label: str) -> str | None:
    m = re.search(rf'<a class="page-link"(?: rel="\w+")? href="([^"]+)">{label}</a>', html)
    return unescape(m.group(1)) if m else None


def walk(client, start: str, label: str) -> tuple[list[list[tuple[str, int]]], list[str]]:
    pages, urls, url = [], [], start
    while url:
        resp = client.get(url)
        assert resp.status_code == 200
        html = resp.get_data(as_text=True)
        pages.append(items(html))
        urls.append(url)
        url = link(html, label)
        assert len(pages) < 100, "the pager does not end"
    return pages, urls


def test_every_item_once_oldest_first_forward_and_back(login, client, small_pages):
    add_pending(123)
    login("reviewer")
    expected = expected_order()
    assert len(expected) > 12 * PAGE

    forward, _ = walk(client, "/review/queue", "Next page")
    assert all(len(p) == PAGE for p in forward[:-1])
    assert [i for p in forward for i in p] == expected

    first = client.get("/review/queue").get_data(as_text=True)
    assert '<nav aria-label="Queue pages"' in first
    assert link(first, "Previous page") is None
    backward, _ = walk(client, link(first, "Last page"), "Previous page")
    assert [i for p in reversed(backward) for i in p] == expected


def test_filters_stay_with_the_cursor(login, client, small_pages):
    add_pending(45, name="Bulk item")
    add_pending(40, name="Another batch")
    login("reviewer")
    pages, urls = walk(client, "/review/queue?q=Another+batch&kind=revision", "Next page")
    assert len(pages) == 4
    assert all("q=Another+batch" in u and "kind=revision" in u for u in urls)
    assert [i for p in pages for i in p] == expected_order("Another batch%")
    html = client.get(urls[-1]).get_data(as_text=True)
    back = link(html, "Previous page")
    assert "q=Another+batch" in back and items(client.get(back).get_data(as_text=True)) == pages[-2]


def test_items_submitted_at_the_same_moment_a_page_apart(login, client, app, monkeypatch):
    """Revisions submitted at the very moment a certification was: the kind decides between
    them (certification first), then the id. One item a page puts a page boundary between
    every two items, so each cursor meets items of the other kind at its own moment."""
    monkeypatch.setitem(app.config, "LIST_PAGE_SIZE", 1)
    certified_at = db.session.scalars(
        select(Certification.submitted_at).where(
            Certification.status.in_([s.value for s in PENDING_STATUSES])
        )
    ).all()
    assert certified_at
    for moment in certified_at:
        add_pending(2, same_time_every=2, start=moment)
    login("reviewer")
    expected = expected_order()
    ties = {r.submitted_at for r in db.session.execute(select(ListingRevision.submitted_at))}
    assert set(certified_at) <= ties

    forward, _ = walk(client, "/review/queue", "Next page")
    assert [i for p in forward for i in p] == expected
    first = client.get("/review/queue").get_data(as_text=True)
    backward, _ = walk(client, link(first, "Last page"), "Previous page")
    assert [i for p in reversed(backward) for i in p] == expected


def test_same_statements_on_every_page(login, client, small_pages, count_queries):
    login("reviewer")

    def statements(url: str) -> int:
        client.get(url)  # warm-up: the same path, caches filled
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        return counter.count

    short = statements("/review/queue")  # the demo's few pending items
    add_pending(130)
    first = client.get("/review/queue").get_data(as_text=True)
    second, last = link(first, "Next page"), link(first, "Last page")
    before_last = link(client.get(last).get_data(as_text=True), "Previous page")
    counts = [statements(url) for url in ("/review/queue", second, before_last, last)]
    assert counts == [short] * 4
    # a filter that joins the organization: the same statements again
    searched = "/review/queue?q=Bulk"
    assert (
        statements(searched)
        == statements(link(client.get(searched).get_data(as_text=True), "Last page"))
        == short
    )


def test_the_count_stops_at_500(login, client, small_pages):
    login("reviewer")
    waiting = len(expected_order())
    text = client.get("/review/queue").get_data(as_text=True)
    assert f"{waiting} items match" in text
    add_pending(501 - waiting)
    assert "More than 500 items match" in client.get("/review/queue").get_data(as_text=True)
    text = client.get("/review/queue?kind=certification").get_data(as_text=True)
    certifications = len([i for i in expected_order() if i[0] == "certification"])
    assert f"{certifications} item" in text


@pytest.mark.parametrize("cursor", ["garbage", "WyJhIiwgWzAsICJ4IiwgMV1d", "tampered"])
def test_a_cursor_the_queue_did_not_make_gives_page_one_and_says_so(
    login, client, small_pages, cursor
):
    add_pending(25)
    login("reviewer")
    first = client.get("/review/queue").get_data(as_text=True)
    if cursor == "tampered":
        good = link(first, "Next page").split("page=")[1]
        cursor = good[:-3] + ("AAA" if good[-3:] != "AAA" else "BBB")
    resp = client.get(f"/review/queue?page={cursor}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "That page link was not valid" in html
    assert items(html) == items(first)


def test_a_dashboard_cursor_is_refused_by_the_queue(login, client, small_pages):
    from admin.pagination import AFTER, SortKey, encode_cursor

    add_pending(25)
    login("reviewer")
    with client.application.test_request_context():
        foreign = encode_cursor("portal.dashboard", [SortKey(Listing.id)], AFTER, (1,))
    html = client.get(f"/review/queue?page={foreign}").get_data(as_text=True)
    assert "That page link was not valid" in html


def test_providers_never_reach_any_page(app, login, client, small_pages):
    from tests.conftest import sign_in

    add_pending(25)
    login("reviewer")
    second = link(client.get("/review/queue").get_data(as_text=True), "Next page")
    provider = app.test_client()
    assert sign_in(provider, "provider@demo.test").status_code == 302
    assert provider.get("/review/queue").status_code == 403
    assert provider.get(second).status_code == 403
