"""The dashboard's listings come a page at a time (keyset cursors, admin/pagination.py): every
listing once, in the dashboard's order, forward and back, also after each operation that
moves a listing in that order; the same statements on every page; a cursor the list did not
make gives page 1 and a message; another organization's listings never appear."""

from __future__ import annotations

import copy
import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import bindparam, insert, update

from admin.portal.views import listing_attention, listing_states
from models import Listing, ListingRevision, RevisionState, db, utcnow
from models.listings import AttentionRank
from models.listings import workflow as wf
from models.listings.listing import attention_rank, sort_name
from tests.portal.conftest import listing_named

PAGE = 10
ROW_RE = re.compile(r'<th scope="row">\s*<a href="/portal/listings/(\d+)">')


@pytest.fixture
def small_pages(app, monkeypatch):
    monkeypatch.setitem(app.config, "LIST_PAGE_SIZE", PAGE)


def add_listings(org_id: int, n: int, prefix: str = "Bulk listing") -> list[int]:
    """n live listings (bulk inserts, with the sort keys the domain operations would store):
    every 7th never verified (needs attention, first), every 5th also has a draft (after those
    needing attention), the rest verified today."""
    now = utcnow()

    def listing(i: int) -> dict:
        verified_at = None if i % 7 == 0 else now
        draft = RevisionState.DRAFT if i % 5 == 0 else None
        rank = attention_rank(
            draft, is_live=True, is_suspended=False, stale_since=None, verified_at=verified_at
        )
        return {
            "organization_id": org_id,
            "service_type_code": "mobile_crisis",
            "verified_at": verified_at,
            "attention_rank": rank.value,
            "sort_name": sort_name(f"{prefix} {i:04d}", 0),
            "lock_version": 1,
        }

    ids = db.session.scalars(
        insert(Listing).returning(Listing.id, sort_by_parameter_order=True),
        [listing(i) for i in range(n)],
    ).all()

    def revision(lid: int, i: int, state: RevisionState, number: int) -> dict:
        decided = state == RevisionState.APPROVED
        return {
            "listing_id": lid,
            "number": number,
            "state": state.value,
            "name": f"{prefix} {i:04d}",
            "service_type_code": "mobile_crisis",
            "data": {"name": f"{prefix} {i:04d}"},
            "submitted_at": now if decided else None,
            "decided_at": now if decided else None,
            "lock_version": 1,
        }

    live_ids = db.session.scalars(
        insert(ListingRevision).returning(ListingRevision.id, sort_by_parameter_order=True),
        [revision(lid, i, RevisionState.APPROVED, 1) for i, lid in enumerate(ids)],
    ).all()
    db.session.execute(
        insert(ListingRevision),
        [revision(lid, i, RevisionState.DRAFT, 2) for i, lid in enumerate(ids) if i % 5 == 0],
    )
    db.session.execute(
        update(Listing.__table__)
        .where(Listing.__table__.c.id == bindparam("lid"))
        .values(live_revision_id=bindparam("rid")),
        [{"lid": lid, "rid": rid} for lid, rid in zip(ids, live_ids, strict=True)],
    )
    db.session.commit()
    return list(ids)


def expected_order(org_id: int) -> list[int]:
    """The dashboard's order computed in Python from the loaded objects, as the dashboard did
    before it was paged: needs attention, then drafts, then the rest; by name, then id."""
    from flask import current_app

    stale_before = utcnow() - timedelta(days=int(current_app.config["REVERIFY_AFTER_DAYS"]))
    listings = db.session.scalars(db.select(Listing).where(Listing.organization_id == org_id))
    keys = []
    for lst in listings:
        rev = lst.open_revision
        attention = listing_attention(listing_states(lst, rev, stale_before))
        rank = 0 if attention else 1 if rev and rev.state == RevisionState.DRAFT else 2
        shown = lst.live_revision or rev
        name = shown.name if shown else f"Listing {lst.id}"
        keys.append((rank, name.lower(), lst.id))
    return [k[2] for k in sorted(keys)]


def listing_ids(html: str) -> list[int]:
    section = html[html.index('id="listings"') : html.index('id="certifications"')]
    return [int(i) for i in ROW_RE.findall(section)]


def link(html: str, label: str) -> str | None:
    m = re.search(rf'<a class="page-link"(?: rel="\w+")? href="([^"]+)">{label}</a>', html)
    return unescape(m.group(1)) if m else None


def walk(client, start: str, label: str) -> list[list[int]]:
    pages, url = [], start
    while url:
        resp = client.get(url)
        assert resp.status_code == 200
        html = resp.get_data(as_text=True)
        pages.append(listing_ids(html))
        url = link(html, label)
        assert len(pages) < 100, "the pager does not end"
    return pages


def test_every_listing_once_in_order_forward_and_back(provider, bluestem, gateway, small_pages):
    add_listings(bluestem.id, 124)
    others = set(add_listings(gateway.id, 15, prefix="Other organization"))
    expected = expected_order(bluestem.id)
    assert len(expected) > 12 * PAGE

    forward = walk(provider, "/portal/", "Next page")
    assert all(len(p) == PAGE for p in forward[:-1]) and 0 < len(forward[-1]) <= PAGE
    assert [i for p in forward for i in p] == expected

    # from the last page back to the first: the same pages, in reverse
    last = link(provider.get("/portal/").get_data(as_text=True), "Last page")
    backward = walk(provider, last, "Previous page")
    seen = [i for p in reversed(backward) for i in p]
    assert seen == expected
    assert not others & set(seen)  # never another organization's listings
    assert "Next page" not in provider.get(last).get_data(as_text=True)

    # the pager: a labelled nav of real links; no "Previous page" on the first page
    first = provider.get("/portal/").get_data(as_text=True)
    assert '<nav aria-label="Listings pages"' in first
    assert link(first, "Previous page") is None and link(first, "First page") is None
    second = provider.get(link(first, "Next page")).get_data(as_text=True)
    assert link(second, "Previous page") and link(second, "First page") == "/portal/#listings"


def in_order_both_ways(client, org_id: int) -> list[int]:
    """The listings, walked forward and back, are each once in the dashboard's order."""
    db.session.commit()
    expected = expected_order(org_id)
    forward = [i for p in walk(client, "/portal/", "Next page") for i in p]
    last = link(client.get("/portal/").get_data(as_text=True), "Last page")
    backward = [i for p in reversed(walk(client, last, "Previous page")) for i in p]
    assert forward == backward == expected
    return forward


def test_each_change_moves_the_listing_to_its_place(provider, bluestem, users, small_pages):
    """The listing stores its place in the order (attention_rank, sort_name), and every
    operation that changes one of its inputs stores the new one: after each, the pages hold
    the order the dashboard's rules give (`expected_order`, worked out from the objects)."""
    add_listings(bluestem.id, 25)
    provider_user, reviewer = users.provider, users.reviewer
    youth = listing_named("Bluestem Youth Crisis Center")
    assert youth.attention_rank == AttentionRank.SETTLED
    in_order_both_ways(provider, bluestem.id)

    # a new name waits in a draft (listed with the drafts, still under the live name), is
    # sent back for changes (first), then approved: the listing is listed under it
    renamed = copy.deepcopy(youth.live_revision.data)
    renamed["name"] = "Aardvark Youth Crisis Center"
    rev = wf.save_draft(youth, renamed, provider_user)
    assert (youth.attention_rank, youth.sort_name) == (
        AttentionRank.DRAFT,
        "bluestem youth crisis center",
    )
    in_order_both_ways(provider, bluestem.id)
    wf.submit_revision(rev, provider_user, "A new name.")
    assert youth.attention_rank == AttentionRank.SETTLED
    wf.claim(rev, reviewer)
    wf.add_comment(reviewer, "Say which county.", revision=rev, field="name")
    wf.request_changes(rev, reviewer, "One thing to fix.")
    assert youth.attention_rank == AttentionRank.NEEDS_ACTION
    in_order_both_ways(provider, bluestem.id)
    wf.resubmit_after_changes(rev, provider_user, "Fixed.")
    wf.approve(rev, reviewer, "Checked.")
    assert (youth.attention_rank, youth.sort_name) == (
        AttentionRank.SETTLED,
        "aardvark youth crisis center",
    )
    seen = in_order_both_ways(provider, bluestem.id)
    settled = [i for i in seen if db.session.get(Listing, i).attention_rank == 2]
    assert settled[0] == youth.id  # first by name among the listings needing nothing

    # suspended, then reinstated
    wf.suspend(youth, reviewer, "Phone line disconnected.")
    assert youth.attention_rank == AttentionRank.NEEDS_ACTION
    in_order_both_ways(provider, bluestem.id)
    wf.reinstate(youth, reviewer)
    assert youth.attention_rank == AttentionRank.SETTLED

    # changes submitted, then withdrawn; a draft discarded
    changed = copy.deepcopy(youth.live_revision.data)
    changed["description"] = "Open to walk-ins."
    wf.withdraw_revision(
        wf.submit_revision(wf.save_draft(youth, changed, provider_user), provider_user),
        provider_user,
    )
    assert youth.attention_rank == AttentionRank.SETTLED
    wf.discard_draft(wf.save_draft(youth, changed, provider_user), provider_user)
    assert youth.attention_rank == AttentionRank.SETTLED
    in_order_both_ways(provider, bluestem.id)

    # a listing never verified, confirmed unchanged: with the drafts (it has one) from then on
    never = listing_named("Bulk listing 0000")
    assert never.attention_rank == AttentionRank.NEEDS_ACTION
    wf.attest_no_changes(never, provider_user)
    assert never.attention_rank == AttentionRank.DRAFT
    in_order_both_ways(provider, bluestem.id)

    # a new listing's first version, rejected: no name to show but "Listing <id>"
    listing, first = wf.create_listing(bluestem, youth.service_type_code, renamed, provider_user)
    assert (listing.attention_rank, listing.sort_name) == (
        AttentionRank.DRAFT,
        "aardvark youth crisis center",
    )
    wf.submit_revision(first, provider_user)
    wf.reject(first, reviewer, "This service is already listed.")
    assert (listing.attention_rank, listing.sort_name) == (
        AttentionRank.SETTLED,
        f"listing {listing.id}",
    )
    in_order_both_ways(provider, bluestem.id)

    # time alone: verified 400 days ago, nothing written since; needs attention all the same
    youth.verified_at = utcnow() - timedelta(days=400)
    db.session.flush()
    assert youth.attention_rank == AttentionRank.SETTLED
    seen = in_order_both_ways(provider, bluestem.id)
    assert seen.index(youth.id) < seen.index(never.id)  # among those needing attention


def test_same_statements_on_every_page(provider, bluestem, small_pages, count_queries):
    def statements(url: str) -> int:
        provider.get(url)  # warm-up: the same path, caches filled
        with count_queries() as counter:
            assert provider.get(url).status_code == 200
        return counter.count

    few = statements("/portal/")  # the demo organization's handful of listings: one page
    add_listings(bluestem.id, 130)
    # some whose verification came due with nothing written (the dashboard's second part)
    db.session.execute(
        update(Listing)
        .where(Listing.organization_id == bluestem.id, Listing.id % 9 == 0)
        .values(verified_at=utcnow() - timedelta(days=400))
    )
    db.session.commit()
    first = provider.get("/portal/").get_data(as_text=True)
    second, last = link(first, "Next page"), link(first, "Last page")
    before_last = link(provider.get(last).get_data(as_text=True), "Previous page")
    counts = [statements(url) for url in ("/portal/", second, before_last, last)]
    assert counts == [few] * 4


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "", "WyJhIiwgWzAsICJ4IiwgMV1d", "tampered"],
)
def test_a_cursor_the_list_did_not_make_gives_page_one_and_says_so(
    provider, bluestem, small_pages, cursor
):
    add_listings(bluestem.id, 25)
    first = provider.get("/portal/").get_data(as_text=True)
    if cursor == "tampered":
        good = link(first, "Next page").split("page=")[1].split("#")[0]
        cursor = good[:-3] + ("AAA" if good[-3:] != "AAA" else "BBB")
    resp = provider.get(f"/portal/?page={cursor}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert listing_ids(html) == listing_ids(first)
    if cursor:
        assert "That page link was not valid" in html


def test_a_cursor_from_another_list_is_refused(provider, bluestem, small_pages):
    """The review queue's cursors are signed for the queue: on the dashboard they give page 1."""
    add_listings(bluestem.id, 25)
    from admin.pagination import AFTER, SortKey, encode_cursor

    with provider.application.test_request_context():
        foreign = encode_cursor("review.queue", [SortKey(Listing.id)], AFTER, (1,))
    html = provider.get(f"/portal/?page={foreign}").get_data(as_text=True)
    assert "That page link was not valid" in html
    assert listing_ids(html) == listing_ids(provider.get("/portal/").get_data(as_text=True))


def test_another_organizations_provider_sees_only_its_own(
    client, login, bluestem, gateway, small_pages
):
    """Gateway's provider pages through Gateway's listings, all of them, and none of Bluestem's."""
    mine = set(add_listings(bluestem.id, 30))
    theirs = set(add_listings(gateway.id, 30, prefix="Gateway bulk"))
    login("other-provider")
    pages = walk(client, "/portal/", "Next page")
    seen = [i for p in pages for i in p]
    assert seen == expected_order(gateway.id) and theirs <= set(seen)
    assert not mine & set(seen)
    bluestem_listing = next(iter(mine))
    assert client.get(f"/portal/listings/{bluestem_listing}").status_code == 404
