"""Release build benchmark (feeds only: PUBLISH_PDFS off, checked) for 1,000 and 10,000 generated listings on
PostgreSQL, against a baseline measured in the same run: one query fetching the same rows and
`json.dumps` of equivalent dicts (the best of three). Per size, after one build that warms the
process up: first builds (no earlier release and nothing kept in the process, so nothing to
reuse), with one process (FEED_WORKERS=1) and with one per CPU, then builds each after one
listing changed (the everyday case: every other service's document is reused); `--repeat` of
each, of which the median is reported.

    PYTHONPATH=$PWD .venv/bin/python bench/publish.py [--sizes 1000,10000] [--repeat 5]

Creates and drops its own database (registry_bench_<pid>) on 127.0.0.1:5432."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def make_app(db_url: str, var: Path):
    from admin import create_app

    return create_app(
        {
            "ENV_NAME": "test",
            "SECRET_KEY": "bench-" + "x" * 40,
            "DATABASE_URL": db_url,
            "VAR_DIR": str(var),
            "RELEASES_DIR": str(var / "releases"),
            "UPLOAD_DIR": str(var / "uploads"),
            "OUTBOX_DIR": str(var / "outbox"),
            "CELERY_BROKER_URL": "memory://",
            "CELERY_ALWAYS_EAGER": True,
            "RELEASES_KEEP": 3,
        }
    )


@contextlib.contextmanager
def demo_app():
    """An app on a fresh PostgreSQL database (registry_bench_<pid>) with the demo loaded, and
    its own var/ folder; both are removed afterwards."""
    name = f"registry_bench_{os.getpid()}"
    with psycopg.connect(ADMIN, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    var = Path(tempfile.mkdtemp(prefix="registry-bench-"))
    try:
        app = make_app(f"postgresql://postgres@127.0.0.1:5432/{name}", var)
        from flask_migrate import upgrade

        from admin.demo import load_demo
        from models import db

        with app.app_context():
            upgrade()
            load_demo()
            db.session.commit()
            db.session.remove()
        yield app
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        shutil.rmtree(var, ignore_errors=True)


def change_one_listing() -> None:
    """Touch one published listing, so the next build is a new release (inside an app context)."""
    from models import Listing, db

    lst = db.session.scalar(
        db.select(Listing).where(Listing.live_revision_id.is_not(None)).limit(1)
    )
    data = dict(lst.live_revision.data)
    data["description"] = f"bench {time.time()}"
    lst.live_revision.data = data
    db.session.commit()


def grow_to(n: int) -> int:
    """Copy published listings (types needing no listing-scoped certificate) until n are published."""
    from sqlalchemy import bindparam, insert

    from models import Listing, ListingRevision, db, today
    from models.listings import build_records

    have = len(build_records(today()))
    templates = [
        lst
        for lst in db.session.scalars(
            db.select(Listing).where(
                Listing.live_revision_id.is_not(None), Listing.is_suspended.is_(False)
            )
        )
        if not lst.service_type.required_certification_code
        and not lst.service_type.org_certification_code
    ]
    if not templates:
        raise SystemExit("no template listings")
    need = n - have
    listing_rows, revision_rows = [], []
    for i in range(need):
        t = templates[i % len(templates)]
        rev = t.live_revision
        data = dict(rev.data)
        data["name"] = f"{data['name']} #{i}"
        lrow = {
            c.key: getattr(t, c.key)
            for c in Listing.__table__.columns
            if c.key not in ("id", "uuid", "live_revision_id")
        }
        lrow["uuid"] = str(uuid.uuid4())
        listing_rows.append(lrow)
        rrow = {
            c.key: getattr(rev, c.key)
            for c in ListingRevision.__table__.columns
            if c.key not in ("id", "listing_id")
        }
        rrow.update(name=data["name"], data=data)
        revision_rows.append(rrow)
    ids = db.session.scalars(
        insert(Listing).returning(Listing.id, sort_by_parameter_order=True), listing_rows
    ).all()
    for lid, row in zip(ids, revision_rows, strict=True):
        row["listing_id"] = lid
    rev_ids = db.session.scalars(
        insert(ListingRevision).returning(ListingRevision.id, sort_by_parameter_order=True),
        revision_rows,
    ).all()
    table = Listing.__table__
    db.session.execute(
        table.update()
        .where(table.c.id == bindparam("lid"))
        .values(live_revision_id=bindparam("rid")),
        [{"lid": lid, "rid": rid} for lid, rid in zip(ids, rev_ids, strict=True)],
    )
    db.session.commit()
    return len(build_records(today()))


def baseline(app) -> float:
    """One query for the same rows + json.dumps of equivalent dicts."""
    from models import db

    sql = """
        SELECT l.uuid, l.verified_at, r.data, r.decided_at, o.uuid AS org_uuid, o.legal_name AS org_name, o.dba, o.website, o.email,
               st.code, st.name AS type_name
        FROM listing l JOIN listing_revision r ON r.id = l.live_revision_id
        JOIN organization o ON o.id = l.organization_id JOIN service_type st ON st.code = l.service_type_code
        WHERE NOT l.is_suspended ORDER BY st.sort_order, r.name"""
    with app.app_context():
        t = time.perf_counter()
        rows = db.session.execute(db.text(sql)).mappings().all()
        docs = [
            {
                "id": r["uuid"],
                "organization": {
                    "id": r["org_uuid"],
                    "name": r["org_name"],
                    "website": r["website"],
                    "email": r["email"],
                },
                "service_type": r["code"],
                "service_type_name": r["type_name"],
                **r["data"],
                "verified_at": r["verified_at"].isoformat() if r["verified_at"] else None,
                "approved_at": r["decided_at"].isoformat() if r["decided_at"] else None,
            }
            for r in rows
        ]
        json.dumps(docs)
        elapsed = time.perf_counter() - t
        db.session.remove()
    return elapsed


def build(
    app, *, first: bool, workers: int = 0
) -> tuple[float, int, float, list[tuple[str, float]]]:
    """One feeds-only release (PUBLISH_PDFS off: no printed directories, checked) after one
    listing changed; `first`: with no earlier release on disk and nothing kept in the
    process (every record, document and output made again); `workers`: FEED_WORKERS (0:
    one per CPU). Returns (seconds, release number, peak RSS in MB, seconds per step)."""
    from models.listings import snapshot
    from tasks.publishing.builder import build_release, writers

    app.config["PUBLISH_PDFS"] = False
    app.config["FEED_WORKERS"] = workers
    if first:
        shutil.rmtree(app.config["RELEASES_DIR"], ignore_errors=True)
        snapshot._LAST.clear()  # noqa: SLF001 - the records this process's last build made
    marks: list[tuple[str, float]] = []
    with app.app_context():
        from models import db

        change_one_listing()
        t = time.perf_counter()
        result = build_release(
            "manual", progress=lambda i, n, label: marks.append((label, time.perf_counter()))
        )
        elapsed = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        assert result.status == "published", result
        db.session.remove()
    # what ran: every feed writer, no printed directory
    ran = [label for label, _ in marks]
    for w in writers():
        assert w.__name__.removeprefix("write_").replace("_", " ") in ran, w.__name__
    folder = Path(app.config["RELEASES_DIR"]) / "releases" / str(result.number)
    manifest = json.loads((folder / "manifest.json").read_bytes())
    assert manifest["print"] == {"status": "off"} and not (folder / "pdf").exists()
    steps, last = [], t
    for label, at in marks:
        steps.append((label, at - last))
        last = at
    return elapsed, result.number, peak / 1e6, steps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="builds of each kind per size (the median is reported; the machine is noisy)",
    )
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    from models import db

    with demo_app() as app:
        results = {}
        for n in sizes:
            with app.app_context():
                count = grow_to(n)
                db.session.remove()
            base = min(baseline(app) for _ in range(3))
            build(app, first=True)  # the process warmed up, as the baseline's best of three is
            kinds = (
                ("first build, one process", True, 1),
                ("first build", True, 0),
                ("after one change", False, 0),
            )
            firsts = {}
            for label, first, workers in kinds:
                runs = [build(app, first=first, workers=workers) for _ in range(args.repeat)]
                times = sorted(r[0] for r in runs)
                elapsed, number, peak, steps = next(
                    r for r in runs if r[0] == times[len(times) // 2]
                )
                print(f"        builds: {', '.join(f'{t:.3f}' for t in times)} s", flush=True)
                if first:
                    firsts[workers] = elapsed
                else:
                    results[n] = (count, elapsed, base, peak)
                print(
                    f"{count:>6} listings, {label} (median of {len(runs)}): build {elapsed:6.3f} s "
                    f"({count / elapsed:7.0f} listings/s, peak RSS of the process {peak:6.0f} MB) | "
                    f"baseline {base:6.3f} s | build/baseline {elapsed / base:5.1f}x",
                    flush=True,
                )
                # each step's time is the time until the next step began
                labels = [label for label, _ in steps]
                spans = [seconds for _, seconds in steps[1:]] + [0.0]
                print(
                    "        steps: "
                    + ", ".join(
                        f"{label} {span:.2f} s" for label, span in zip(labels, spans, strict=True)
                    ),
                    flush=True,
                )
            print(
                f"{count:>6} listings, first build: one process / one per CPU "
                f"{firsts[1] / firsts[0]:.2f}x",
                flush=True,
            )
        if len(sizes) >= 2:
            a, b = sizes[0], sizes[-1]
            growth = results[b][1] / results[a][1]
            print(
                f"growth {results[b][0]}/{results[a][0]} listings (after one change): "
                f"build time x{growth:.1f} "
                f"(listings x{results[b][0] / results[a][0]:.1f})"
            )


if __name__ == "__main__":
    sys.exit(main())
