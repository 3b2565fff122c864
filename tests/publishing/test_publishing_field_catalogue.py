"""A field declared only in the catalogue (models/listings/fields.py) reaches every published file: the
release's records, the HSDS service, services.csv's type, listings.csv, the profile that
documents the extension, and the printed entry."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy.orm.attributes import flag_modified

from models import Listing, db, today, utcnow
from models.listings import register_field, unregister_field
from tests.factories import PEER_STAFF_FIELD as PEER


@pytest.fixture
def declared():
    register_field(PEER)
    yield
    unregister_field("peer_staff")


def test_a_catalogue_field_reaches_records_feeds_profile_and_print(app, declared, tmp_path):
    from models.listings import build_records
    from tasks.publishing.context import BuildContext, reference_snapshot
    from tasks.publishing.entry import entry
    from tasks.publishing.profile import extension_csv_types, profile_document
    from tasks.publishing.writers import services, write_listings_csv

    listing = db.session.scalars(
        db.select(Listing).where(Listing.live_revision_id.is_not(None)).order_by(Listing.id)
    ).first()
    listing.live_revision.data["peer_staff"] = "always"
    flag_modified(listing.live_revision, "data")
    db.session.flush()

    records = build_records(today())
    record = next(r for r in records if r["id"] == listing.uuid)
    assert record["peer_staff"] == "always"
    assert all("peer_staff" in r for r in records)  # every record carries the field

    ctx = BuildContext(
        records=records,
        reference=reference_snapshot(),
        number=1,
        created_at=utcnow(),
        out_dir=tmp_path,
    )
    doc = next(d for d in services(ctx) if d["id"] == listing.uuid)
    assert doc["mo_dmh_peer_staff"] == "always"
    write_listings_csv(ctx)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "listings.csv").read_text("utf-8-sig"))))
    assert next(r for r in rows if r["id"] == listing.uuid)["peer_staff"] == "At all hours"

    properties = profile_document("http://registry.test")["service"]["properties"]
    assert properties["mo_dmh_peer_staff"] == {
        "type": "string",
        "description": "People with lived experience of a crisis.",
    }
    assert extension_csv_types()["mo_dmh_peer_staff"] == "string"

    names = {c["fips"]: c["name"] for c in ctx.reference["counties"]}
    assert any("Peer staff on site: At all hours" in line for line in entry(record, names)["lines"])


def test_without_the_declaration_nothing_of_it_is_published(app, tmp_path):
    from models.listings import build_records
    from tasks.publishing.profile import profile_document

    assert all("peer_staff" not in r for r in build_records(today()))
    assert "mo_dmh_peer_staff" not in profile_document("http://x")["service"]["properties"]
