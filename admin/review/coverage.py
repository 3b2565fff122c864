"""County coverage for reviewers: a shaded map of Missouri's 115 county areas and a table,
gaps first, with a spreadsheet-safe CSV download. Computed from what is public today."""

from __future__ import annotations

import csv
import io

from flask import current_app, render_template

from models import today
from models.listings import build_records
from models.reference import (
    DEFAULT_REGION_LAYER,
    GAP_LABELS,
    CountyCoverage,
    compute_coverage,
    county_map,
    coverage_csv_rows,
    reference_snapshot,
)

from ..access import requires
from . import bp

# shading of counties without a gap: how many mobile teams and crisis centers reach them
LEVELS = [
    (1, "county-l1", "1 mobile team or crisis center"),
    (2, "county-l2", "2"),
    (3, "county-l3", "3 or more"),
]


def current_coverage() -> tuple[list[CountyCoverage], str]:
    layer = current_app.config.get("COVERAGE_REGION_LAYER") or DEFAULT_REGION_LAYER
    ref = reference_snapshot()
    records = build_records(today())
    coverage = compute_coverage(
        records, ref["counties"], ref["regions"], layer, service_types=ref["service_types"]
    )
    return coverage, layer


def shade(c: CountyCoverage) -> str:
    if c.gaps:
        return "county-gap"
    services = len(c.mobile_teams) + len(c.crisis_centers)
    return next((cls for n, cls, _ in reversed(LEVELS) if services >= n), "county-l1")


def map_shapes(coverage: list[CountyCoverage]) -> list[dict]:
    by_fips = {c.fips: c for c in coverage}
    shapes = []
    for area in county_map()["counties"]:
        c = by_fips.get(area["fips"])
        if c is None:
            continue
        summary = (
            "; ".join(c.gap_labels)
            if c.gaps
            else (
                f"{len(c.primary_988)} 988 primary, {len(c.mobile_teams)} mobile, "
                f"{len(c.crisis_centers)} crisis centers serving it"
            )
        )
        shapes.append(
            {
                "fips": c.fips,
                "d": area["d"],
                "cls": shade(c),
                "label": f"{c.name}: {'gap — ' if c.gaps else ''}{summary}",
            }
        )
    return shapes


@bp.get("/coverage")
@requires("view_coverage")
def coverage():
    cov, layer = current_coverage()
    geometry = county_map()
    return render_template(
        "review/coverage.html",
        coverage=cov,
        layer=layer,
        shapes=map_shapes(cov),
        width=geometry["width"],
        height=geometry["height"],
        levels=LEVELS,
        gap_labels=GAP_LABELS,
        gap_count=sum(1 for c in cov if c.gaps),
        day=today(),
    )


@bp.get("/coverage.csv")
@requires("view_coverage")
def coverage_csv():
    cov, _layer = current_coverage()
    buf = io.StringIO()
    csv.writer(buf).writerows(coverage_csv_rows(cov))
    return current_app.response_class(
        buf.getvalue().encode("utf-8-sig"),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="county-coverage-{today().isoformat()}.csv"'
        },
    )
