"""Reference data: counties, regions, service and certification types, coverage, geography, loading.

What the rest of the code may use from this package: `EXPORTS` (name -> module),
loaded on first use (models.base.lazy_exports), so importing one module of the package
does not import the others (the aggregates refer to one another)."""

from typing import TYPE_CHECKING

from models.base import lazy_exports

EXPORTS = {
    "snapshot_county_names": "tables",
    "CertificationScope": "tables",
    "CountyCoverage": "coverage",
    "CoverageGroup": "tables",
    "CoverageKind": "tables",
    "DEFAULT_REGION_LAYER": "coverage",
    "FieldRule": "tables",
    "GAP_LABELS": "coverage",
    "Gap": "coverage",
    "HoursRule": "tables",
    "PILLAR_TITLES": "tables",
    "Pillar": "tables",
    "SERVICE_TYPES": "tables",
    "SERVICE_TYPE_FIELDS": "operations",
    "ServiceType": "tables",
    "compute_coverage": "coverage",
    "county_centroids": "geo",
    "county_map": "coverage",
    "county_names": "tables",
    "county_rows": "tables",
    "coverage_csv_rows": "coverage",
    "coverage_document": "coverage",
    "load_reference_data": "loading",
    "reference_as_of": "operations",
    "reference_history": "operations",
    "reference_snapshot": "tables",
    "reference_version": "operations",
    "save_reference": "operations",
    "zip_info": "geo",
    "zips_by_county": "geo",
}
__all__ = [
    "snapshot_county_names",
    "CertificationScope",
    "CountyCoverage",
    "CoverageGroup",
    "CoverageKind",
    "DEFAULT_REGION_LAYER",
    "FieldRule",
    "GAP_LABELS",
    "Gap",
    "HoursRule",
    "PILLAR_TITLES",
    "Pillar",
    "SERVICE_TYPES",
    "SERVICE_TYPE_FIELDS",
    "ServiceType",
    "compute_coverage",
    "county_centroids",
    "county_map",
    "county_names",
    "county_rows",
    "coverage_csv_rows",
    "coverage_document",
    "load_reference_data",
    "reference_as_of",
    "reference_history",
    "reference_snapshot",
    "reference_version",
    "save_reference",
    "zip_info",
    "zips_by_county",
]
__getattr__ = lazy_exports(__name__, EXPORTS)

if TYPE_CHECKING:
    from .coverage import (
        DEFAULT_REGION_LAYER,
        GAP_LABELS,
        CountyCoverage,
        Gap,
        compute_coverage,
        county_map,
        coverage_csv_rows,
        coverage_document,
    )
    from .geo import county_centroids, zip_info, zips_by_county
    from .loading import load_reference_data
    from .operations import (
        SERVICE_TYPE_FIELDS,
        reference_as_of,
        reference_history,
        reference_version,
        save_reference,
    )
    from .tables import (
        PILLAR_TITLES,
        SERVICE_TYPES,
        CertificationScope,
        CoverageGroup,
        CoverageKind,
        FieldRule,
        HoursRule,
        Pillar,
        ServiceType,
        county_names,
        county_rows,
        reference_snapshot,
        snapshot_county_names,
    )
