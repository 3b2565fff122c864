"""Release writer: coverage.json, the county coverage of the published records."""

from __future__ import annotations

from flask import current_app, has_app_context

from models.reference import DEFAULT_REGION_LAYER, compute_coverage, coverage_document

from .context import BuildContext

FILENAME = "coverage.json"


def region_layer() -> str:
    if has_app_context():
        return current_app.config.get("COVERAGE_REGION_LAYER") or DEFAULT_REGION_LAYER
    return DEFAULT_REGION_LAYER


def write_coverage(ctx: BuildContext) -> None:
    """Write coverage.json from the records and reference data of the build (never from live
    tables). The builder writes into a temporary release folder and renames it whole."""
    layer = region_layer()
    coverage = compute_coverage(
        ctx.records,
        ctx.reference.get("counties", []),
        ctx.reference.get("regions", []),
        layer,
        ctx.reference.get("service_types"),
    )
    document = {
        "release": ctx.number,
        "created_at": ctx.created_at.isoformat(),
        **coverage_document(coverage, layer),
    }
    from .writers import dump_json

    ctx.write(FILENAME, dump_json(document) + b"\n")
