"""The DMH dashboard: numbers, accessible server-rendered charts, the last release."""

from __future__ import annotations

import re
from datetime import timedelta

from admin.review.dashboard import median, percentile
from models import Certification, Listing, ListingRevision, Release, db, today, utcnow


def test_median_and_nearest_rank_percentile():
    assert median([]) is None and percentile([], 90) is None
    assert median([3.0]) == 3.0 and median([1.0, 5.0, 2.0, 4.0]) == 3.0
    values = [float(v) for v in range(1, 11)]
    assert percentile(values, 90) == 9.0
    assert percentile(values, 100) == 10.0
    assert percentile([7.0], 90) == 7.0


def test_dashboard_shows_backlog_turnaround_expiring_stale_and_last_release(login, demo):
    now = utcnow()
    db.session.add(
        Release(
            number=41, content_hash="a" * 64, trigger="nightly", created_at=now - timedelta(days=3)
        )
    )
    db.session.add(
        Release(
            number=42, content_hash="b" * 64, trigger="changes", created_at=now - timedelta(hours=5)
        )
    )
    stale = demo.listing("Community Behavioral Health Liaison — Northwest")
    stale.stale_since = now - timedelta(days=2)
    db.session.commit()

    client = login("reviewer")
    resp = client.get("/review/dashboard")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    counts = dict(re.findall(r'data-count="(\w+)">#?(\d+)<', html))
    assert counts["release"] == "42" and "5 hours ago" in html
    assert counts["stale"] == "1" and f'data-listing="{stale.id}"' in html
    bluestem_bhcc = demo.certs("Bluestem Valley Behavioral Health", "bhcc")[0]
    assert f'data-certification="{bluestem_bhcc.id}"' in html
    expiring = [
        c
        for c in db.session.scalars(db.select(Certification))
        if c.status in ("certified", "provisional", "conditional")
        and c.effective_expiry
        and today() <= c.effective_expiry <= today() + timedelta(days=90)
    ]
    assert counts["expiring"] == str(len(expiring))
    # backlog per state, as a chart and as a table
    submitted = db.session.scalar(
        db.select(db.func.count(ListingRevision.id)).where(ListingRevision.state == "submitted")
    )
    assert re.search(rf'data-backlog="revision:submitted">{submitted}<', html)
    total = int(counts["backlog"])
    cells = [int(n) for n in re.findall(r'data-backlog="[\w:]+">(\d+)<', html)]
    assert sum(cells) == total >= 4
    # two charts, each an image with a title and description, plus data tables
    svgs = re.findall(r'<svg[^>]*role="img" aria-labelledby="([\w-]+) ([\w-]+)"', html)
    assert len(svgs) == 2
    for title_id, desc_id in svgs:
        assert f'<title id="{title_id}">' in html and f'<desc id="{desc_id}">' in html
    assert html.count("<caption>") >= 2
    assert "last 30 days" in html and "last 90 days" in html and "90th percentile" in html
    assert "style=" not in html and "<script>" not in html


def test_turnaround_counts_decisions_in_the_window(login, demo):
    # demo approvals happened at load time (today): all within 30 days, each a decision
    decided = db.session.scalar(
        db.select(db.func.count(ListingRevision.id)).where(
            ListingRevision.state.in_(["approved", "changes_requested", "rejected", "superseded"]),
            ListingRevision.decided_at >= utcnow() - timedelta(days=30),
        )
    )
    client = login("reviewer")
    html = client.get("/review/dashboard").get_data(as_text=True)
    row = re.search(
        r"<th scope=\"row\">Listing reviews</th><td>last 30 days</td><td class=\"text-end\">(\d+)</td>",
        html,
    )
    assert row and int(row.group(1)) == decided
    assert db.session.scalar(db.select(db.func.count(Listing.id))) > 0
