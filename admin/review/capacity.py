"""Statewide live capacity for reviewers and the DMH dashboard: every site that reports
capacity, by region, on a map of Missouri, with the share of the last 7 days each spent full
(from the history of reports; expired time counts as unknown)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, render_template

from models import utcnow
from models.listings import (
    UNKNOWN,
    capacity_listings,
    expiry_hours,
    history,
    latest,
    share_full,
    view,
)
from models.reference import (
    DEFAULT_REGION_LAYER,
    county_map,
    reference_snapshot,
    snapshot_county_names,
)
from tasks.capacity import expiry_settings

from ..access import requires
from . import bp

REPORT_DAYS = 7
# a county on the map takes the best status among the sites located in it
ORDER = ["accepting", "limited", "full", "diverting", UNKNOWN]


@bp.get("/capacity")
@requires("view_coverage")
def capacity():
    now = utcnow()
    settings = expiry_settings()
    layer = current_app.config.get("COVERAGE_REGION_LAYER") or DEFAULT_REGION_LAYER
    ref = reference_snapshot()
    region_of = {
        fips: r["name"] for r in ref["regions"] if r["layer"] == layer for fips in r["counties"]
    }
    names = snapshot_county_names(ref)
    listings = capacity_listings(include_suspended=False)
    current = latest([lst.id for lst in listings])
    since = now - timedelta(days=REPORT_DAYS)
    reports = history([lst.id for lst in listings], now)
    regions: dict[str, list[dict]] = {}
    by_county: dict[str, str] = {}
    for lst in listings:
        hours = expiry_hours(lst.service_type_code, settings)
        v = view(current.get(lst.id), hours, now)
        fips = ((lst.live_revision.data or {}).get("address") or {}).get("county_fips") or ""
        shares = share_full(reports[lst.id], since, now, hours)
        regions.setdefault(region_of.get(fips, "Outside any region"), []).append(
            {
                "listing": lst,
                "name": lst.live_revision.name,
                "organization": lst.organization.name,
                "county": names.get(fips, "—"),
                "view": v,
                "full_share": shares.get("full", 0.0) + shares.get("diverting", 0.0),
                "unknown_share": shares.get(UNKNOWN, 1.0),
            }
        )
        if fips:
            best = by_county.get(fips, UNKNOWN)
            by_county[fips] = min(best, v.status, key=ORDER.index)
    geometry = county_map()
    shapes = [
        {
            "fips": area["fips"],
            "d": area["d"],
            "cls": f"capacity-map-{by_county.get(area['fips'], 'none')}",
            "label": f"{names.get(area['fips'], area['fips'])}: "
            + (by_county.get(area["fips"], "no site reports capacity")),
        }
        for area in geometry["counties"]
    ]
    counts = {s: 0 for s in ORDER}
    for sites in regions.values():
        for site in sites:
            counts[site["view"].status] += 1
    return render_template(
        "review/capacity.html",
        regions=dict(sorted(regions.items())),
        shapes=shapes,
        width=geometry["width"],
        height=geometry["height"],
        counts=counts,
        report_days=REPORT_DAYS,
        default_hours=settings["default"],
    )


@bp.get("/reverification")
@requires("view_coverage")
def reverification():
    """DMH's view of the e-mailed re-verification links of the last 90 days, per organization."""
    from models.listings import campaign

    since = utcnow() - timedelta(days=90)
    rows = campaign(since)
    totals = {
        k: sum(r[k] for r in rows) for k in ("sent", "opened", "confirmed", "changed", "no_answer")
    }
    return render_template("review/reverification.html", rows=rows, totals=totals, days=90)
