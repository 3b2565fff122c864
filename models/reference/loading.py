"""Idempotent loading of the built-in reference data."""

from __future__ import annotations

from models.base import db
from models.reference.tables import (
    CERTIFICATION_TYPES,
    DOCUMENT_TYPES,
    SERVICE_TYPES,
    CertificationType,
    County,
    DocumentType,
    ServiceType,
    county_rows,
)


def load_reference_data() -> int:
    """Insert missing counties and types; never overwrites what an admin edited."""
    added = 0
    existing = set(db.session.scalars(db.select(County.fips)))
    for row in county_rows():
        if row["fips"] not in existing:
            db.session.add(
                County(fips=row["fips"], census_name=row["census_name"], name=row["display_name"])
            )
            added += 1
    for model, rows in (
        (CertificationType, CERTIFICATION_TYPES),
        (DocumentType, DOCUMENT_TYPES),
        (ServiceType, SERVICE_TYPES),
    ):
        have = set(db.session.scalars(db.select(model.code)))
        for row in rows:
            if row["code"] not in have:
                db.session.add(model(**row))
                added += 1
        db.session.flush()
    return added
