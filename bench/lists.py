"""Back-office lists as the directory grows, on PostgreSQL: the provider dashboard's listings
(/portal/) and the review queue (/review/queue), their first and last page, when the list
holds 10 rows and when it holds 10,000, side by side in one run.

Each page is fetched through the Flask test client by a signed-in person (the provider of the
demo organization, a reviewer), REPEATS times, alternating the pages; the median and p90 and the
number of SQL statements per page are printed, with each page's ratio to the 10-row list's
page. The last page is the one the pager's "Last page" link opens. The long lists are measured
with the app's 50 rows per page and with 10 (LIST_PAGE_SIZE), which tells what the list's
length costs apart from showing more rows on a page.

    PYTHONPATH=$PWD .venv/bin/python bench/lists.py [--repeats 30] [--sizes 10,10000]
        [--page-sizes 50,10]

Creates and drops its own database (registry_bench_<pid>) on 127.0.0.1:5432."""

from __future__ import annotations

import argparse
import copy
import re
import statistics
import sys
import time
from datetime import timedelta
from html import unescape
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.publish import demo_app  # noqa: E402

PASSWORD = "demo-password"  # noqa: S105 - the demo data's published password
PROVIDER = "provider@demo.test"
REVIEWER = "reviewer@demo.test"
LAST_RE = re.compile(r'<a class="page-link" href="([^"]+)">Last page</a>')


def sign_in(app, email: str):
    """A test client signed in through the real forms (password, then the TOTP code for staff)."""
    from admin.auth.totp import totp
    from models import User, db

    client = app.test_client()

    def token(url: str) -> str:
        html = client.get(url).get_data(as_text=True)
        m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
            r'name="csrf_token" value="([^"]+)"', html
        )
        return m.group(1)

    resp = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token("/login")}
    )
    if resp.headers.get("Location", "").endswith("/login/verify"):
        with app.app_context():
            user = db.session.scalar(db.select(User).filter_by(email=email))
            secret = user.totp_secret
        resp = client.post(
            "/login/verify",
            data={"code": totp(secret).now(), "csrf_token": token("/login/verify")},
        )
    assert resp.status_code == 302, resp.status_code
    return client


def _template_revision(org_id: int | None = None):
    """A live revision of a type that does not report capacity, to copy (inside an app context)."""
    from models import Listing, ListingRevision, ServiceType, db

    q = (
        db.select(ListingRevision)
        .join(Listing, Listing.live_revision_id == ListingRevision.id)
        .join(ServiceType, ServiceType.code == Listing.service_type_code)
        .where(ServiceType.has_capacity.is_(False), Listing.is_suspended.is_(False))
        .order_by(Listing.id)
    )
    if org_id is not None:
        q = q.where(Listing.organization_id == org_id)
    return db.session.scalars(q.limit(1)).one()


def _insert(org_id: int, template, count: int, state: str, label: str, start: int) -> None:
    """`count` listings of `org_id`, each with one revision copied from `template`: live
    (approved; every 7th never verified, so it needs attention) or submitted (waiting in the
    review queue, a minute apart); every 5th live one also has a draft. Each listing gets the
    sort keys the workflow would store (models/listings/listing.py)."""
    from sqlalchemy import bindparam, insert, update

    from models import Listing, ListingRevision, db, utcnow
    from models.listings.listing import attention_rank, sort_name

    now = utcnow()
    live = state == "approved"

    def listing(i: int) -> dict:
        verified_at = None if live and i % 7 == 0 else now
        open_state = ("draft" if (i - start) % 5 == 0 else None) if live else state
        rank = attention_rank(
            open_state, is_live=live, is_suspended=False, stale_since=None, verified_at=verified_at
        )
        return {
            "organization_id": org_id,
            "service_type_code": template.service_type_code,
            "verified_at": verified_at,
            "attention_rank": rank.value,
            "sort_name": sort_name(f"{label} {i:05d}", 0),
            "lock_version": 1,
        }

    ids = db.session.scalars(
        insert(Listing).returning(Listing.id, sort_by_parameter_order=True),
        [listing(i) for i in range(start, start + count)],
    ).all()

    def row(lid: int, i: int, state: str, number: int) -> dict:
        data = copy.deepcopy(template.data)
        data["name"] = f"{label} {i:05d}"
        return {
            "listing_id": lid,
            "number": number,
            "state": state,
            "name": data["name"],
            "service_type_code": template.service_type_code,
            "county_fips": template.county_fips,
            "data": data,
            "submitted_at": None if state == "draft" else now - timedelta(minutes=20_000 - i),
            "due_at": None if state == "draft" else now + timedelta(days=7),
            "decided_at": now if state == "approved" else None,
            "lock_version": 1,
        }

    rev_ids = db.session.scalars(
        insert(ListingRevision).returning(ListingRevision.id, sort_by_parameter_order=True),
        [row(lid, start + k, state, 1) for k, lid in enumerate(ids)],
    ).all()
    if live:
        drafts = [row(lid, start + k, "draft", 2) for k, lid in enumerate(ids) if k % 5 == 0]
        if drafts:
            db.session.execute(insert(ListingRevision), drafts)
        table = Listing.__table__
        db.session.execute(
            update(table)
            .where(table.c.id == bindparam("lid"))
            .values(live_revision_id=bindparam("rid")),
            [{"lid": lid, "rid": rid} for lid, rid in zip(ids, rev_ids, strict=True)],
        )


def grow(app, rows: int) -> tuple[int, int]:
    """The provider's organization to `rows` listings and the review queue to `rows` items (its
    new listings belong to another organization). Returns both sizes, counted."""
    from models import Certification, Listing, ListingRevision, Organization, User, db
    from models.certifications import PENDING_STATUSES
    from models.listings import PENDING_REVIEW_STATES

    with app.app_context():
        org_id = db.session.scalar(db.select(User.organization_id).filter_by(email=PROVIDER))
        other_id = db.session.scalar(
            db.select(Organization.id).where(Organization.id != org_id).order_by(Organization.id)
        )

        def listings() -> int:
            return db.session.scalar(
                db.select(db.func.count(Listing.id)).where(Listing.organization_id == org_id)
            )

        def pending() -> int:
            revs = db.session.scalar(
                db.select(db.func.count(ListingRevision.id)).where(
                    ListingRevision.state.in_([s.value for s in PENDING_REVIEW_STATES])
                )
            )
            certs = db.session.scalar(
                db.select(db.func.count(Certification.id)).where(
                    Certification.status.in_([s.value for s in PENDING_STATUSES])
                )
            )
            return revs + certs

        have = listings()
        if rows > have:
            _insert(org_id, _template_revision(org_id), rows - have, "approved", "Bench site", have)
        waiting = pending()
        if rows > waiting:
            _insert(other_id, _template_revision(), rows - waiting, "submitted", "Bench change", 0)
        db.session.commit()
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
        sizes = listings(), pending()
        db.session.remove()
    return sizes


def statements(app, client, url: str) -> int:
    from sqlalchemy import event

    from models import db

    seen: list[str] = []

    def on(conn, cursor, statement, *args):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", on)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", on)
    return len(seen)


def measure(client, urls: dict[str, str], repeats: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in urls}
    for name, url in urls.items():  # warm-up
        assert client.get(url).status_code == 200, (name, url)
    for _ in range(repeats):
        for name, url in urls.items():
            t = time.perf_counter()
            resp = client.get(url)
            times[name].append(time.perf_counter() - t)
            assert resp.status_code == 200
    return times


def pages(client, path: str) -> dict[str, str]:
    html = client.get(path).get_data(as_text=True)
    m = LAST_RE.search(html)
    return {"first": path, "last": unescape(m.group(1)) if m else path}


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--sizes", default="10,10000")
    ap.add_argument("--page-sizes", default="50,10", help="rows per page (the app's is 50)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    page_sizes = [int(s) for s in args.page_sizes.split(",")]
    results = []  # (list, rows, rows per page, page, median, p90, statements)
    with demo_app() as app:
        provider, reviewer = sign_in(app, PROVIDER), sign_in(app, REVIEWER)
        for size in sizes:
            listings, waiting = grow(app, size)
            for per_page in page_sizes if size > min(page_sizes) else page_sizes[:1]:
                app.config["LIST_PAGE_SIZE"] = per_page
                for name, client, path, rows in (
                    ("portal dashboard", provider, "/portal/", listings),
                    ("review queue", reviewer, "/review/queue", waiting),
                ):
                    urls = pages(client, path)
                    times = measure(client, urls, args.repeats)
                    for page, url in urls.items():
                        results.append(
                            (
                                name,
                                rows,
                                per_page,
                                page,
                                statistics.median(times[page]),
                                p90(times[page]),
                                statements(app, client, url),
                            )
                        )
    # each list's baseline: its first page at the smallest size
    base = {}
    for name, _rows, _per_page, page, median, _high, _count in results:
        if page == "first":
            base.setdefault(name, median)
    print(
        f"{'list':<18} {'rows':>6} {'per page':>8} {'page':<6} {'median ms':>10} {'p90 ms':>8} "
        f"{'statements':>10} {'x smallest':>11}"
    )
    for name, rows, per_page, page, median, high, count in results:
        print(
            f"{name:<18} {rows:>6} {per_page:>8} {page:<6} {median * 1000:>10.1f} "
            f"{high * 1000:>8.1f} {count:>10} {median / base[name]:>11.2f}"
        )


if __name__ == "__main__":
    main()
