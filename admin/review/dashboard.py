"""The DMH dashboard: review backlog by state and age, review turnaround, certifications
expiring soon, stale listings and the last release. Charts are server-rendered SVG, each with
a title, a description and the same numbers as a table, so the page reads without JS."""

from __future__ import annotations

import math
from datetime import timedelta

from flask import render_template

from models import (
    ACTIVE_STATUSES,
    Certification,
    CertificationStatus,
    Listing,
    ListingRevision,
    Release,
    RevisionState,
    db,
    today,
    utcnow,
)
from models.certifications import expiry_sql
from models.listings import DECIDED_STATES

from ..access import requires
from . import bp

# (label, upper bound in days) of the backlog's age buckets
AGE_BUCKETS = [("Under 2 days", 2), ("2–5 days", 5), ("5–10 days", 10), ("Over 10 days", None)]
BACKLOG_STATES = [
    ("revision", RevisionState.SUBMITTED.value, "Listing changes: submitted"),
    ("revision", RevisionState.IN_REVIEW.value, "Listing changes: in review"),
    ("revision", RevisionState.CHANGES_REQUESTED.value, "Listing changes: waiting on provider"),
    ("certification", CertificationStatus.SUBMITTED.value, "Certifications: submitted"),
    ("certification", CertificationStatus.IN_REVIEW.value, "Certifications: in review"),
    ("certification", CertificationStatus.ON_HOLD.value, "Certifications: on hold"),
]
WINDOWS = (30, 90)
EXPIRING_DAYS = 90


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def backlog() -> list[dict]:
    now = utcnow()
    rows = []
    for kind, state, label in BACKLOG_STATES:
        model, column = (
            (ListingRevision, ListingRevision.state)
            if kind == "revision"
            else (Certification, Certification.status)
        )
        submitted = db.session.scalars(db.select(model.submitted_at).where(column == state)).all()
        counts = [0] * len(AGE_BUCKETS)
        for at in submitted:
            days = (now - at).total_seconds() / 86400 if at else 0
            index = next(i for i, (_l, top) in enumerate(AGE_BUCKETS) if top is None or days < top)
            counts[index] += 1
        rows.append(
            {"kind": kind, "state": state, "label": label, "counts": counts, "total": sum(counts)}
        )
    return rows


def turnaround() -> list[dict]:
    """Median and 90th percentile, in days, from (last) submission to decision."""
    now = utcnow()
    decided = [s.value for s in DECIDED_STATES]
    verified = [
        s.value
        for s in (
            *ACTIVE_STATUSES,
            CertificationStatus.SUSPENDED,
            CertificationStatus.REVOKED,
            CertificationStatus.EXPIRED,
        )
    ]
    rows = []
    for days in WINDOWS:
        since = now - timedelta(days=days)
        revs = db.session.execute(
            db.select(ListingRevision.submitted_at, ListingRevision.decided_at).where(
                ListingRevision.state.in_(decided),
                ListingRevision.decided_at >= since,
                ListingRevision.submitted_at.is_not(None),
            )
        ).all()
        certs = db.session.execute(
            db.select(Certification.submitted_at, Certification.verified_at).where(
                Certification.status.in_(verified),
                Certification.verified_at >= since,
                Certification.submitted_at.is_not(None),
            )
        ).all()
        for what, pairs in (("Listing reviews", revs), ("Certification decisions", certs)):
            spans = [max(0.0, (b - a).total_seconds() / 86400) for a, b in pairs]
            rows.append(
                {
                    "window": days,
                    "what": what,
                    "n": len(spans),
                    "median": median(spans),
                    "p90": percentile(spans, 90),
                }
            )
    return rows


def expiring() -> list[Certification]:
    day = today()
    return db.session.scalars(
        db.select(Certification)
        .where(
            Certification.status.in_([s.value for s in ACTIVE_STATUSES]),
            expiry_sql() >= day,
            expiry_sql() <= day + timedelta(days=EXPIRING_DAYS),
        )
        .order_by(expiry_sql(), Certification.id)
    ).all()


def stale_listings() -> list[Listing]:
    return db.session.scalars(
        db.select(Listing)
        .where(Listing.stale_since.is_not(None))
        .order_by(Listing.stale_since, Listing.id)
    ).all()


# ------------------------------------------------------------------ SVG geometry

CHART_W = 640
LABEL_W = 230
BAR_H = 22
GAP = 10


def backlog_chart(rows: list[dict]) -> dict:
    """Horizontal stacked bars: one row per state, one segment per age bucket."""
    top = max([r["total"] for r in rows] + [1])
    scale = (CHART_W - LABEL_W - 40) / top
    bars = []
    for i, r in enumerate(rows):
        y = 10 + i * (BAR_H + GAP)
        x = LABEL_W
        segments = []
        for b, n in enumerate(r["counts"]):
            if n:
                segments.append(
                    {
                        "x": round(x, 1),
                        "w": round(n * scale, 1),
                        "cls": f"bar-age-{b}",
                        "title": f"{r['label']}, {AGE_BUCKETS[b][0]}: {n}",
                    }
                )
                x += n * scale
        bars.append(
            {
                "y": y,
                "label": r["label"],
                "total": r["total"],
                "segments": segments,
                "end": round(x, 1),
            }
        )
    height = 10 + len(rows) * (BAR_H + GAP) + 40
    legend = [
        {"x": LABEL_W + i * 125, "cls": f"bar-age-{i}", "label": label}
        for i, (label, _t) in enumerate(AGE_BUCKETS)
    ]
    return {
        "width": CHART_W,
        "height": height,
        "bars": bars,
        "legend": legend,
        "legend_y": height - 24,
        "axis_x": LABEL_W,
        "bar_h": BAR_H,
    }


def turnaround_chart(rows: list[dict]) -> dict:
    """Grouped bars: median and 90th percentile per measure and window."""
    top = max([r["p90"] or 0 for r in rows] + [1])
    scale = (CHART_W - LABEL_W - 60) / top
    groups = []
    y = 10
    for r in rows:
        label = f"{r['what']}, last {r['window']} days"
        bars = []
        for j, (key, cls, name) in enumerate(
            (("median", "bar-median", "median"), ("p90", "bar-p90", "90th percentile"))
        ):
            value = r[key]
            bars.append(
                {
                    "y": y + j * (BAR_H // 2 + 4),
                    "w": round((value or 0) * scale, 1),
                    "cls": cls,
                    "text": "no decisions" if value is None else f"{value:.1f} d",
                    "title": f"{label}: {name} {'n/a' if value is None else f'{value:.1f} days'}",
                }
            )
        groups.append({"y": y, "label": label, "bars": bars})
        y += 2 * (BAR_H // 2 + 4) + GAP
    return {
        "width": CHART_W,
        "height": y + 34,
        "groups": groups,
        "axis_x": LABEL_W,
        "bar_h": BAR_H // 2,
        "legend_y": y + 10,
    }


@bp.get("/dashboard")
@requires("review")
def dashboard():
    rows = backlog()
    turn = turnaround()
    last = db.session.scalar(db.select(Release).order_by(Release.number.desc()).limit(1))
    soon = expiring()
    renewals = {
        c.renews_id: c
        for c in db.session.scalars(
            db.select(Certification)
            .where(Certification.renews_id.in_([c.id for c in soon]))
            .order_by(Certification.id)
        )
    }
    return render_template(
        "review/dashboard.html",
        backlog=rows,
        backlog_total=sum(r["total"] for r in rows),
        age_buckets=[label for label, _t in AGE_BUCKETS],
        backlog_svg=backlog_chart(rows),
        turnaround=turn,
        turnaround_svg=turnaround_chart(turn),
        expiring=soon,
        renewals=renewals,
        expiring_days=EXPIRING_DAYS,
        stale=stale_listings(),
        last_release=last,
        now=utcnow(),
    )
