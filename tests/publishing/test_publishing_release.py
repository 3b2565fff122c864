"""What a release contains, and which listings it leaves out."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import timedelta

import jsonschema
import pytest

from models import Certification, Listing, OutboxEvent, Release, db, mark_changed, today
from tests.publishing.conftest import HSDS, load_json


def current(releases_dir):
    return releases_dir / "current"


def test_every_service_validates_against_the_hsds_compiled_schema(build, releases_dir):
    result = build()
    assert result.status == "published"
    schema = load_json(HSDS / "schema" / "compiled" / "service.json")
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    services = load_json(current(releases_dir) / "hsds" / "services.json")
    assert len(services) > 40
    for doc in services:
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(doc)]
        assert not errors, (doc["name"], errors[:5])
        assert "null" not in json.dumps(doc)  # empty fields are omitted, never null


def test_hsds_mapping_of_24_7_counties_and_dmh_terms(build, releases_dir):
    build()
    services = load_json(current(releases_dir) / "hsds" / "services.json")
    always = [
        s
        for s in services
        if any(a["taxonomy_term"]["code"] == "open_24_7" for a in s.get("attributes", []))
    ]
    assert always
    sched = always[0]["schedules"][0]
    assert (sched["freq"], sched["byday"], sched["opens_at"], sched["closes_at"]) == (
        "WEEKLY",
        "MO,TU,WE,TH,FR,SA,SU",
        "00:00:00",
        "23:59:59",
    )
    mobile = next(s for s in services if s["mo_dmh_service_type"] == "mobile_crisis")
    assert mobile["service_areas"] and all(
        a["uri"].startswith("urn:us-fips:29") for a in mobile["service_areas"]
    )
    type_attr = [a for a in mobile["attributes"] if a["link_type"] == "service_type"]
    assert type_attr[0]["taxonomy_term"]["code"] == "mobile_crisis"
    assert type_attr[0]["taxonomy_term"]["taxonomy_detail"]["name"] == "MO DMH Crisis Service Type"
    certified = [s for s in services if s.get("mo_dmh_certification_status")]
    assert certified and all(
        s["mo_dmh_certification_expires"] >= today().isoformat()
        for s in certified
        if "mo_dmh_certification_expires" in s
    )


def test_tabular_package_passes_frictionless(build, releases_dir):
    build()
    package = current(releases_dir) / "hsds" / "datapackage.json"
    proc = subprocess.run(
        [sys.executable, "-m", "frictionless", "validate", "--json", str(package)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(proc.stdout)
    assert report["valid"], json.dumps(
        [t["errors"][:3] for t in report["tasks"] if not t["valid"]]
    )[:2000]
    # our columns are HSDS 3.0's columns (plus the profile's mo_dmh_ extensions)
    spec = {
        r["path"]: {f["name"]: f["type"] for f in r["schema"]["fields"]}
        for r in load_json(HSDS / "datapackage.json")["resources"]
    }
    ours = load_json(package)
    for res in ours["resources"]:
        for f in res["schema"]["fields"]:
            if not f["name"].startswith("mo_dmh_"):
                assert spec[res["path"]][f["name"]] == f["type"], (res["path"], f["name"])


def test_ids_are_stable_across_releases(build, releases_dir):
    build()
    first = {s["id"]: s for s in load_json(current(releases_dir) / "hsds" / "services.json")}
    lst = db.session.scalar(
        db.select(Listing).where(Listing.live_revision_id.is_not(None)).order_by(Listing.id)
    )
    data = dict(lst.live_revision.data)
    data["description"] = data.get("description", "") + " Updated."
    lst.live_revision.data = data
    db.session.commit()
    result = build()
    assert result.status == "published"
    second = {s["id"]: s for s in load_json(current(releases_dir) / "hsds" / "services.json")}
    assert set(first) == set(second)

    def ids(doc):
        out = set()

        def walk(x):
            if isinstance(x, dict):
                if "id" in x:
                    out.add(x["id"])
                for v in x.values():
                    walk(v)
            elif isinstance(x, list):
                for v in x:
                    walk(v)

        walk(doc)
        return out

    for sid in first:
        assert ids(first[sid]) == ids(second[sid])
    changes = load_json(current(releases_dir) / "changes.json")
    assert changes["changed"] == [lst.uuid] and changes["added"] == [] and changes["removed"] == []
    assert changes["previous_release"] == result.number - 1
    atom = (current(releases_dir) / "changes.atom").read_text()
    assert lst.uuid in atom and "<feed" in atom


def test_draft_suspended_and_expired_listings_are_absent_live_version_present(build, releases_dir):
    draft_only = db.session.scalar(db.select(Listing).where(Listing.live_revision_id.is_(None)))
    suspended = db.session.scalar(db.select(Listing).where(Listing.is_suspended.is_(True)))
    assert draft_only is not None and suspended is not None
    pending = next(
        lst
        for lst in db.session.scalars(
            db.select(Listing).where(
                Listing.live_revision_id.is_not(None), Listing.is_suspended.is_(False)
            )
        )
        if lst.open_revision is not None
        and lst.open_revision.data.get("phones") != lst.live_revision.data.get("phones")
    )
    # a listing whose required certification expired yesterday
    result = build()
    first = {s["id"] for s in load_json(current(releases_dir) / "hsds" / "services.json")}
    expiring = next(
        lst
        for lst in db.session.scalars(
            db.select(Listing).where(Listing.live_revision_id.is_not(None))
        )
        if lst.uuid in first
        and lst.service_type.required_certification_code
        and lst.id != pending.id
    )
    for c in db.session.scalars(
        db.select(Certification).where(
            Certification.organization_id == expiring.organization_id,
            Certification.type_code.in_(expiring.service_type.required_certification_codes()),
        )
    ):
        c.expires_on = today() - timedelta(days=1)
    db.session.commit()
    result = build()
    assert result.status == "published"
    services = {s["id"]: s for s in load_json(current(releases_dir) / "hsds" / "services.json")}
    assert draft_only.uuid not in services
    assert suspended.uuid not in services
    assert expiring.uuid not in services
    assert pending.uuid in services
    live_numbers = [p["number"] for p in pending.live_revision.data["phones"]]
    draft_numbers = [p["number"] for p in pending.open_revision.data["phones"]]
    assert [p["number"] for p in services[pending.uuid]["phones"]] == live_numbers != draft_numbers
    assert expiring.uuid in load_json(current(releases_dir) / "changes.json")["removed"]


def test_listings_csv_neutralises_formulas_and_keeps_numbers(build, releases_dir):
    lst = db.session.scalar(
        db.select(Listing)
        .where(Listing.live_revision_id.is_not(None), Listing.is_suspended.is_(False))
        .order_by(Listing.id.desc())
    )
    data = dict(lst.live_revision.data)
    data.update(
        name='=HYPERLINK("http://evil.example")',
        description="@SUM(1+1)",
        accessibility="-2+3",
        latitude=38.5,
        longitude=-92.25,
    )
    lst.live_revision.data = data
    db.session.commit()
    build()
    raw = (current(releases_dir) / "listings.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(raw)))
    row = next(r for r in rows if r["id"] == lst.uuid)
    assert (
        row["name"].startswith("'=")
        and row["description"].startswith("'@")
        and row["accessibility"].startswith("'-")
    )
    assert row["longitude"] == "-92.25" and row["latitude"] == "38.5"  # numbers are not prefixed
    for r in rows:
        for col, value in r.items():
            if value and col not in (
                "latitude",
                "longitude",
                "minimum_age",
                "maximum_age",
                "capacity",
                "max_stay_hours",
            ):
                assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (col, value)
    geo = load_json(current(releases_dir) / "listings.geojson")
    assert geo["type"] == "FeatureCollection"
    assert all(
        f["geometry"]["type"] == "Point" and len(f["geometry"]["coordinates"]) == 2
        for f in geo["features"]
    )


def test_manifest_lists_every_file_with_size_hash_and_gzip(build, releases_dir):
    import gzip
    import hashlib

    result = build()
    folder = releases_dir / "releases" / str(result.number)
    manifest = load_json(folder / "manifest.json")
    assert manifest["release"] == result.number and manifest["counts"]["services"] > 40
    on_disk = {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not p.name.endswith(".gz")
    }
    private = {rel for rel in on_disk if rel.startswith(".state/")}
    assert private == {
        ".state/services.tsv",
        ".state/outputs.json",
        ".state/outputs.bin",
        ".state/records.json",
        ".state/records.bin",
        ".state/atom.json",
    }
    assert set(manifest["files"]) == on_disk - {"manifest.json"} - private
    for rel, meta in manifest["files"].items():
        data = (folder / rel).read_bytes()
        assert meta["bytes"] == len(data) and meta["sha256"] == hashlib.sha256(data).hexdigest()
        assert gzip.decompress((folder / (rel + ".gz")).read_bytes()) == data
    assert {
        "hsds/services.json",
        "hsds/datapackage.json",
        "listings.geojson",
        "listings.csv",
        "changes.json",
        "changes.atom",
    } <= set(manifest["files"])


def edit_description(lst: Listing, suffix: str) -> None:
    data = dict(lst.live_revision.data)
    data["description"] = data.get("description", "") + suffix
    lst.live_revision.data = data
    db.session.commit()


def state_rows(folder):
    text = (folder / ".state" / "services.tsv").read_text()
    return [line.split("\t") for line in text.splitlines()]


def test_each_service_is_serialised_once_and_its_state_carried_to_the_next_build(
    client, build, releases_dir
):
    """The private state file (id, content digest, last_modified, input key, place in
    services.json) matches services.json, is never served, and decides the next release's
    changes, last_modified and which documents it reuses; a file identical to the previous
    release's is a link to that release's file and its gzip twin."""
    from tasks.publishing.writers import content_digest, dump_json

    first = build()
    folder = releases_dir / "releases" / str(first.number)
    raw = (folder / "hsds" / "services.json").read_bytes()
    docs = load_json(folder / "hsds" / "services.json")
    rows = state_rows(folder)
    assert [r[0] for r in rows] == [d["id"] for d in docs]
    for (sid, digest, modified, key, offset, length), doc in zip(rows, docs, strict=True):
        assert list(doc)[-1] == "last_modified" and doc["last_modified"] == modified
        content = {k: v for k, v in doc.items() if k != "last_modified"}
        assert digest == content_digest(dump_json(content)), sid
        assert json.loads(raw[int(offset) : int(offset) + int(length)]) == doc
        assert len(key) == 32
    assert client.get("/feeds/current/.state/services.tsv").status_code == 404
    assert client.get(f"/feeds/releases/{first.number}/.state/services.tsv").status_code == 404

    lst = db.session.scalar(
        db.select(Listing).where(Listing.live_revision_id.is_not(None)).order_by(Listing.id)
    )
    edit_description(lst, " Updated.")
    second = build()
    later = releases_dir / "releases" / str(second.number)
    changes = load_json(later / "changes.json")
    assert changes["changed"] == [lst.uuid] and not changes["added"] and not changes["removed"]
    after = {d["id"]: d for d in load_json(later / "hsds" / "services.json")}
    before = {d["id"]: d for d in docs}
    assert [sid for sid in after if after[sid] != before[sid]] == [lst.uuid]
    assert after[lst.uuid]["description"].endswith(" Updated.")
    assert after[lst.uuid]["last_modified"] == changes["created_at"]
    # the unchanged services' inputs are the same: the same keys, the same bytes
    keys = {r[0]: r[3] for r in rows}
    new_keys = {r[0]: r[3] for r in state_rows(later)}
    assert [sid for sid in keys if keys[sid] != new_keys[sid]] == [lst.uuid]
    # taxonomies.json did not change: its gzip twin is the previous release's file
    # and the file itself is a link to it: nothing to write down again
    for name in ("hsds/taxonomies.json.gz", "hsds/taxonomies.json"):
        assert (later / name).stat().st_ino == (folder / name).stat().st_ino, name
    assert (later / "hsds" / "services.json").stat().st_ino != (
        folder / "hsds" / "services.json"
    ).stat().st_ino
    assert (later / "hsds" / "services.json.gz").stat().st_ino != (
        folder / "hsds" / "services.json.gz"
    ).stat().st_ino


OTHER_FORMATS = ("hsds/*.csv", "hsds/datapackage.json", "listings.csv", "listings.geojson")


def write_formats(previous_dir, out_dir):
    """The release's other formats written from the database as it is now, next to
    `previous_dir` (a fixed release number and time, so two calls can be compared)."""
    from datetime import UTC, datetime

    from models.listings import read_snapshot
    from tasks.publishing.context import BuildContext, reference_snapshot
    from tasks.publishing.writers import (
        write_geojson,
        write_hsds_json,
        write_hsds_tabular,
        write_listings_csv,
    )

    snapshot = read_snapshot(today())
    ctx = BuildContext(
        records=snapshot.records,
        reference=reference_snapshot(),
        number=99,
        created_at=datetime(2026, 12, 4, 12, tzinfo=UTC),
        out_dir=out_dir,
        previous_dir=previous_dir,
        digests=snapshot.digests,
        base_url="http://registry.test",
    )
    for write in (write_hsds_json, write_hsds_tabular, write_geojson, write_listings_csv):
        write(ctx)
    files = {
        p.relative_to(out_dir).as_posix(): p.read_bytes()
        for g in OTHER_FORMATS
        for p in out_dir.glob(g)
    }
    return ctx, files


@pytest.mark.parametrize("change", ["edit", "withdraw the first of an organization"])
def test_kept_outputs_are_the_outputs_made_again(build, releases_dir, tmp_path, change):
    """An unchanged service's tabular rows, listings.csv line and GeoJSON feature are copied
    from the previous release's kept outputs (its document neither built nor parsed), and
    every file is byte for byte what making them all again from the documents writes, also
    when the service that first wrote a shared row (its organization) leaves the release."""
    import shutil

    first = build()
    folder = releases_dir / "releases" / str(first.number)
    published = db.session.scalars(
        db.select(Listing)
        .where(Listing.live_revision_id.is_not(None), Listing.is_suspended.is_(False))
        .order_by(Listing.id)
    ).all()
    by_org = {}
    for lst in published:
        by_org.setdefault(lst.organization_id, []).append(lst)
    shared = next(group for group in by_org.values() if len(group) >= 2)
    docs = load_json(folder / "hsds" / "services.json")
    order = [d["id"] for d in docs]
    target = min(shared, key=lambda lst: order.index(lst.uuid))  # first to write the org row
    if change == "edit":
        edit_description(target, " Kept outputs.")
    else:
        from models import utcnow

        target.is_suspended, target.suspended_at = True, utcnow()
        target.suspended_reason = "Withdrawn for the test."
        db.session.commit()

    kept_ctx, kept = write_formats(folder, tmp_path / "kept")
    without = tmp_path / "previous-without-outputs"
    shutil.copytree(folder, without)
    for name in (".state/outputs.json", ".state/outputs.bin"):
        (without / name).unlink()
    made_ctx, made = write_formats(without, tmp_path / "made")

    n = len(kept_ctx.records)
    copied = [out for out in kept_ctx._outputs if isinstance(out.data, memoryview)]
    assert len(copied) == n - (1 if change == "edit" else 0)
    assert len(kept_ctx._made_outputs) == (1 if change == "edit" else 0)  # built; none parsed
    assert not any(isinstance(out.data, memoryview) for out in made_ctx._outputs)
    assert sorted(kept) == sorted(made) and len(kept) >= 18
    for name in kept:
        assert kept[name] == made[name], name
    orgs = list(csv.DictReader(io.StringIO(kept["hsds/organizations.csv"].decode("utf-8"))))
    org_uuid = {d["organization"]["id"] for d in docs if d["id"] == target.uuid}.pop()
    assert [r["id"] for r in orgs].count(org_uuid) == 1


def test_unreadable_kept_outputs_are_made_again(build, releases_dir, tmp_path):
    """Kept outputs that do not match their index are ignored, never copied half."""
    first = build()
    folder = releases_dir / "releases" / str(first.number)
    reference_ctx, reference = write_formats(folder, tmp_path / "good")
    with (folder / ".state" / "outputs.bin").open("ab") as fh:
        fh.write(b"tail")
    ctx, files = write_formats(folder, tmp_path / "bad")
    assert not any(isinstance(out.data, memoryview) for out in ctx._outputs)
    assert files == reference
    (folder / ".state" / "outputs.json").write_text("{not json")
    ctx, files = write_formats(folder, tmp_path / "worse")
    assert files == reference


def test_kept_records_are_the_records_made_again(build, releases_dir):
    """A release keeps each service's record; the next build takes an unchanged service's
    record from there and makes only the changed one, and the records are those a build
    making every record writes. Kept records that do not read back whole (another code
    version, a short or garbled file) are made again, never half used."""
    from models.listings import read_snapshot
    from tasks.publishing.builder import read_kept_records

    first = build()
    folder = releases_dir / "releases" / str(first.number)
    lst = db.session.scalar(
        db.select(Listing).where(Listing.live_revision_id.is_not(None)).order_by(Listing.id)
    )
    edit_description(lst, " Kept records.")
    made = read_snapshot(today())
    kept = read_snapshot(today(), kept=read_kept_records(releases_dir, first.number))
    assert kept.records == made.records and kept.digests == made.digests
    assert len(made.records) >= 10 and not made.sources
    assert set(kept.sources) == {r["id"] for r in made.records} - {lst.uuid}
    assert next(r for r in kept.records if r["id"] == lst.uuid)["description"].endswith(
        " Kept records."
    )
    second = build()  # it keeps its own records, read from the first's
    assert read_kept_records(releases_dir, second.number).entries.keys() == kept.digests.keys()

    index = json.loads((folder / ".state" / "records.json").read_bytes())
    for damage in ("version", "short", "garbled"):
        if damage == "version":
            (folder / ".state" / "records.json").write_text(
                json.dumps({**index, "version": "another"})
            )
        elif damage == "short":
            (folder / ".state" / "records.json").write_text(json.dumps(index))
            with (folder / ".state" / "records.bin").open("ab") as fh:
                fh.write(b"tail")
        else:
            (folder / ".state" / "records.json").write_text("{not json")
        again = read_snapshot(today(), kept=read_kept_records(releases_dir, first.number))
        assert again.records == made.records and not again.sources, damage


def test_a_renamed_county_rebuilds_the_documents_that_name_it(build, releases_dir):
    """Reference data is among a document's inputs: no listing changed, yet every service
    serving the county is published with its new name (and counts as changed)."""
    from models import County

    build()
    county = db.session.get(County, "29019")
    county.name = "Boone Renamed"
    db.session.commit()
    result = build()
    assert result.status == "published"
    folder = releases_dir / "releases" / str(result.number)
    docs = load_json(folder / "hsds" / "services.json")
    serving = [
        d for d in docs if any(a["uri"] == "urn:us-fips:29019" for a in d.get("service_areas", []))
    ]
    assert serving
    for d in serving:
        names = {a["name"] for a in d["service_areas"] if a["uri"] == "urn:us-fips:29019"}
        assert names == {"Boone Renamed, MO"}
    changes = load_json(folder / "changes.json")
    assert {d["id"] for d in serving} <= set(changes["changed"])


def test_a_previous_release_without_a_state_file_is_read_from_its_services_json(
    build, releases_dir
):
    """Releases written before state files: the next build compares with their services.json."""
    first = build()
    (releases_dir / "releases" / str(first.number) / ".state" / "services.tsv").unlink()
    lst = db.session.scalar(
        db.select(Listing).where(Listing.live_revision_id.is_not(None)).order_by(Listing.id)
    )
    edit_description(lst, " Again.")
    second = build()
    changes = load_json(releases_dir / "releases" / str(second.number) / "changes.json")
    assert changes["changed"] == [lst.uuid] and not changes["added"] and not changes["removed"]


@pytest.mark.parametrize("damage", ["older layout", "garbled"])
def test_a_state_file_in_another_layout_is_never_fatal(build, releases_dir, damage):
    """A state file of three columns (an older layout) keeps its dates; one that is neither
    is ignored for the previous services.json. Either way the next release is right."""
    first = build()
    state = releases_dir / "releases" / str(first.number) / ".state" / "services.tsv"
    lines = state.read_text().splitlines()
    if damage == "older layout":
        state.write_text("".join("\t".join(line.split("\t")[:3]) + "\n" for line in lines))
    else:
        state.write_text(lines[0] + "\nnot a state line\n")
    lst = db.session.scalar(
        db.select(Listing).where(Listing.live_revision_id.is_not(None)).order_by(Listing.id)
    )
    edit_description(lst, " Once more.")
    second = build()
    assert second.status == "published"
    later = releases_dir / "releases" / str(second.number)
    changes = load_json(later / "changes.json")
    assert changes["changed"] == [lst.uuid] and not changes["added"] and not changes["removed"]
    after = {d["id"]: d for d in load_json(later / "hsds" / "services.json")}
    assert after[lst.uuid]["description"].endswith(" Once more.")
    assert len(state_rows(later)) == len(after)


def test_feed_json_is_what_the_standard_library_writes(build, releases_dir):
    """The fast serialiser changes no byte: each feed JSON file is json.dumps of its own
    content (compact, UTF-8, keys in document order)."""
    result = build()
    folder = releases_dir / "releases" / str(result.number)
    for name in ("hsds/services.json", "hsds/taxonomies.json", "changes.json", "coverage.json"):
        raw = (folder / name).read_bytes()
        expected = json.dumps(json.loads(raw), ensure_ascii=False, separators=(",", ":"))
        assert raw.decode("utf-8").rstrip("\n") == expected, name
    # text beyond ASCII is written as UTF-8, as the standard library does with ensure_ascii off
    from tasks.publishing.writers import dump_json

    value = {"name": "Café 988 — “crisis”", 1: [1.5, None, True], "tab": "a\tb\u0001"}
    assert dump_json(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8"
    )


def test_stable_ids_are_uuid5_of_the_joined_parts():
    import uuid

    from models.listings.identifiers import HSDS_NAMESPACE, stable_id, stable_ids

    for parts in [("service",), ("phone", "x", 1, "+15735550123"), ("area", "Ünïcode", 29001)]:
        name = ":".join(map(str, parts))
        assert stable_id(*parts) == str(uuid.uuid5(HSDS_NAMESPACE, name))
    # many ids under one prefix: the same ids, the prefix hashed once
    last = ["29001", "29510", "Ünï", 7]
    expected = [str(uuid.uuid5(HSDS_NAMESPACE, f"area:sid-1:{x}")) for x in last]
    assert stable_ids(("area", "sid-1"), last) == expected


def test_publishing_twice_without_change_makes_one_release(build, releases_dir):
    mark_changed(1, "test")
    db.session.commit()
    first = build()
    second = build()
    assert (
        first.status == "published"
        and second.status == "unchanged"
        and second.number == first.number
    )
    assert db.session.scalar(db.select(db.func.count(Release.id))) == 1
    assert (
        db.session.scalar(
            db.select(db.func.count(OutboxEvent.id)).where(OutboxEvent.processed_at.is_(None))
        )
        == 0
    )


def test_a_build_killed_halfway_leaves_current_intact(build, releases_dir, monkeypatch):
    from tasks.publishing import writers

    first = build()
    before = (releases_dir / "current" / "manifest.json").read_bytes()
    lst = db.session.scalar(
        db.select(Listing).where(Listing.live_revision_id.is_not(None)).order_by(Listing.id)
    )
    data = dict(lst.live_revision.data)
    data["description"] = "Changed so that the next build is a new release."
    lst.live_revision.data = data
    db.session.commit()

    def explode(ctx):
        raise RuntimeError("disk full, halfway through")

    monkeypatch.setattr(writers, "WRITERS", [*writers.WRITERS[:2], explode, *writers.WRITERS[2:]])
    with pytest.raises(RuntimeError, match="halfway"):
        build()
    assert (releases_dir / "current" / "manifest.json").read_bytes() == before
    assert list(
        releases_dir.glob(".build-*")
    )  # the partial folder is left for the next build to clean
    monkeypatch.undo()
    again = build()
    assert again.status == "published" and again.number == first.number + 1
    assert not list(releases_dir.glob(".build-*"))
    assert load_json(releases_dir / "current" / "manifest.json")["release"] == again.number


def test_keeps_the_last_n_releases_and_rolls_back(app, build, releases_dir, monkeypatch):
    from tasks.publishing.builder import available_numbers, current_number, rollback_to

    monkeypatch.setitem(app.config, "RELEASES_KEEP", 2)
    lst = db.session.scalar(
        db.select(Listing).where(Listing.live_revision_id.is_not(None)).order_by(Listing.id)
    )
    numbers = []
    for i in range(3):
        data = dict(lst.live_revision.data)
        data["description"] = f"Version {i}"
        lst.live_revision.data = data
        db.session.commit()
        numbers.append(build().number)
    with app.app_context():
        assert available_numbers() == numbers[-2:]
        rollback_to(numbers[-2])
        assert current_number() == numbers[-2]
        with pytest.raises(ValueError):
            rollback_to(numbers[0])


def test_the_feeds_stay_well_formed_even_with_a_nul_in_the_database(app, build, releases_dir):
    """A value stored before the policy (or by hand) cannot break the Atom feed or a CSV."""
    lst = db.session.scalar(
        db.select(Listing).where(Listing.live_revision_id.is_not(None)).order_by(Listing.id)
    )
    rev = lst.live_revision
    data = dict(rev.data)
    # PostgreSQL refuses NUL in text itself; the embedded SQLite default stores it
    nul = "\x00" if db.engine.dialect.name == "sqlite" else ""
    data["name"] = f"Bad{nul}\x01Name\x1b[31m"
    rev.data = data
    rev.name = data["name"]
    db.session.commit()
    result = build()
    folder = releases_dir / "releases" / str(result.number)
    ET.fromstring((folder / "changes.atom").read_bytes())  # noqa: S314 - our own output
    for path in [folder / "listings.csv", *sorted((folder / "hsds").glob("*.csv"))]:
        text = path.read_text(encoding="utf-8")
        assert not {"\x00", "\x01", "\x1b"} & set(text), path.name
        list(csv.reader(io.StringIO(text)))
    assert "BadName[31m" in (folder / "listings.csv").read_text(encoding="utf-8")


def test_a_run_whose_worker_died_is_marked_failed_never_left_running(build, releases_dir):
    from models import PublishRun
    from tasks.publish import publish_pending

    def dead_run(**kw) -> int:
        run = PublishRun(trigger="manual", status="running", **kw)
        db.session.add(run)
        db.session.commit()
        return run.id

    died = dead_run(step=7, total_steps=10, step_label="printed directories")
    queued = dead_run()  # queued, not started: left alone (a worker may still take it)
    result = build()
    assert result.status == "published"
    run = db.session.get(PublishRun, died)
    assert run.status == "failed" and run.finished_at is not None
    assert "worker died" in run.error and run.step_label.startswith("stopped at step 7/10")
    assert db.session.get(PublishRun, queued).status == "running"
    assert db.session.get(PublishRun, result.run_id).status == "published"
    # between builds the beat does the same
    again = dead_run(step=2, total_steps=10, step_label="hsds json")
    assert publish_pending()["status"] == "idle"
    assert db.session.get(PublishRun, again).status == "failed"


def test_the_atom_feed_keeps_earlier_releases_changes_with_stable_valid_ids(build, releases_dir):
    import uuid as uuidlib

    atom = "{http://www.w3.org/2005/Atom}"

    def feed_entries():
        root = ET.fromstring((current(releases_dir) / "changes.atom").read_bytes())  # noqa: S314
        return {
            e.findtext(f"{atom}id"): e.findtext(f"{atom}title") for e in root.iter(f"{atom}entry")
        }

    build()
    first = feed_entries()
    listings = db.session.scalars(
        db.select(Listing).where(Listing.live_revision_id.is_not(None)).order_by(Listing.id)
    ).all()[:2]
    seen = dict(first)
    for lst in listings:  # two more releases, one change each
        data = dict(lst.live_revision.data)
        data["description"] = data.get("description", "") + " Updated."
        lst.live_revision.data = data
        db.session.commit()
        assert build().status == "published"
        entries = feed_entries()
        # an entry keeps its id from release to release, and the earlier ones are still there
        assert set(seen) <= set(entries)
        for entry_id in entries:
            assert entry_id.startswith("urn:uuid:")
            uuidlib.UUID(entry_id.removeprefix("urn:uuid:"))  # a real UUID
        seen = entries
    changed = [title for title in seen.values() if title.startswith("Changed: ")]
    assert len(changed) == 2  # both releases' changes are in the latest feed


@pytest.mark.parametrize("damage", [None, "garbled", "another shape"])
def test_a_release_keeps_its_atom_entries_for_the_next_as_its_feed_says(
    build, releases_dir, damage
):
    """The entries the next build carries forward are read from the release's private state,
    and are those its changes.atom says; a state that does not read back is never used: the
    feed is read instead."""
    from tasks.publishing.context import BuildContext
    from tasks.publishing.writers import previous_atom_entries

    first = build()
    folder = releases_dir / "releases" / str(first.number)
    kept = json.loads((folder / ".state" / "atom.json").read_bytes())
    assert len(kept) >= 10 and all(e["id"].startswith("urn:uuid:") for e in kept)
    if damage == "garbled":
        (folder / ".state" / "atom.json").write_text("[{not json")
    elif damage == "another shape":
        (folder / ".state" / "atom.json").write_text(json.dumps([{"id": 1}]))
    ctx = BuildContext([], {}, 2, first.context.created_at, folder, previous_dir=folder)
    read = previous_atom_entries(ctx)
    (folder / ".state" / "atom.json").unlink()
    assert read == previous_atom_entries(ctx) == kept  # the feed's own entries


def test_tabular_csvs_stay_faithful_and_listings_csv_is_the_spreadsheet_file(
    app, build, releases_dir
):
    """Decision (docs/decisions.md): the HSDS tabular package is data for programs and keeps
    every value exactly; the package says so; listings.csv is the file for spreadsheets."""
    from models import Listing, db

    lst = db.session.scalar(
        db.select(Listing)
        .where(Listing.live_revision_id.is_not(None), Listing.is_suspended.is_(False))
        .order_by(Listing.id)
    )
    data = dict(lst.live_revision.data)
    data["description"] = '=HYPERLINK("http://evil.example","Click") @SUM(1)'
    lst.live_revision.data = data
    db.session.commit()
    assert build().status == "published"
    current = releases_dir / "current"
    tabular = list(
        csv.DictReader(io.StringIO((current / "hsds" / "services.csv").read_text("utf-8-sig")))
    )
    row = next(r for r in tabular if r["id"] == lst.uuid)
    assert row["description"] == data["description"]  # faithful
    phones = csv.DictReader(io.StringIO((current / "hsds" / "phones.csv").read_text("utf-8-sig")))
    assert all(r["number"].startswith("+1") for r in phones)  # E.164, as HSDS has it
    package = json.loads((current / "hsds" / "datapackage.json").read_bytes())
    assert "listings.csv" in package["description"] and "formula" in package["description"]
    sheet = list(csv.DictReader(io.StringIO((current / "listings.csv").read_text("utf-8-sig"))))
    cell = next(r for r in sheet if r["id"] == lst.uuid)["description"]
    assert cell.startswith("'=") and cell[1:] == data["description"]


def test_progress_is_committed_at_its_first_step_then_at_most_every_quarter_second(
    build, monkeypatch
):
    """A build tells `progress` every step but commits the run's progress only when a
    quarter second has passed since the last commit (always at the first step)."""
    import types

    from tasks.publishing import builder

    clock = [100.0]
    monkeypatch.setattr(builder, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    due = builder.every(0.25)
    assert due() and not due()
    clock[0] += 0.2
    assert not due()
    clock[0] += 0.06
    assert due() and not due()

    commits, steps = [], []
    real_commit = builder._commit_run
    monkeypatch.setattr(
        builder, "_commit_run", lambda run, **kw: commits.append(kw) or real_commit(run, **kw)
    )
    result = builder.build_release("manual", progress=lambda i, n, label: steps.append(i))
    assert result.status == "published"
    # the clock stood still: the first step alone was committed, every step was told
    assert [c.get("step") for c in commits if "step" in c] == [0]
    assert steps[: len(builder.writers()) + 3] == list(range(len(builder.writers()) + 3))
    run = db.session.get(builder.PublishRun, result.run_id)
    assert run.status == "published" and run.step == run.total_steps > 0


def test_private_files_are_written_beside_the_writers_and_waited_for(tmp_path):
    """The build's private files (its state for the next build) are written in the
    Finisher's threads; `finish` returns only once they are on disk, and they are neither
    described nor compressed. A file outside the private folder is refused."""
    from tasks.publishing.builder import Finisher
    from tasks.publishing.layout import PRIVATE

    (tmp_path / "feed.json").write_bytes(b"[]")
    finisher = Finisher(tmp_path)
    try:
        finisher.keep(f"{PRIVATE}/state.bin", b"x" * 3_000_000)
        with pytest.raises(ValueError, match="not a private file"):
            finisher.keep("served.json", b"{}")
        files = finisher.finish()
    finally:
        finisher.close()
    assert set(files) == {"feed.json"}
    assert (tmp_path / PRIVATE / "state.bin").read_bytes() == b"x" * 3_000_000
    assert not (tmp_path / PRIVATE / "state.bin.gz").exists()
    assert not (tmp_path / "served.json").exists()


def test_a_file_handed_over_whole_is_written_and_finished_in_a_thread(tmp_path):
    """A writer hands its file's bytes to the Finisher (`BuildContext.write`): a file
    byte-identical to the previous release's becomes a hard link to it (its gzip twin too),
    any other is written, gzipped and described; a file handed over twice is refused."""
    import gzip

    from tasks.publishing.builder import Finisher, finish_files

    before, now = tmp_path / "1", tmp_path / "2"
    (before / "hsds").mkdir(parents=True)
    (before / "hsds/same.csv").write_bytes(b"id\r\na\r\n")
    (before / "hsds/other.csv").write_bytes(b"id\r\nb\r\n")
    files = finish_files(before)
    (before / "manifest.json").write_text(json.dumps({"files": files}))

    finisher = Finisher(now, before)
    try:
        finisher.write("hsds/same.csv", b"id\r\na\r\n")
        finisher.write("hsds/other.csv", b"id\r\nc\r\n")  # the same size, other bytes
        with pytest.raises(ValueError, match="written twice"):
            finisher.write("hsds/same.csv", b"id\r\na\r\n")
        described = finisher.finish()
    finally:
        finisher.close()
    assert described["hsds/same.csv"] == files["hsds/same.csv"]
    for name in ("hsds/same.csv", "hsds/same.csv.gz"):
        assert (now / name).stat().st_ino == (before / name).stat().st_ino
    assert (now / "hsds/other.csv").read_bytes() == b"id\r\nc\r\n"
    assert (now / "hsds/other.csv").stat().st_ino != (before / "hsds/other.csv").stat().st_ino
    assert gzip.decompress((now / "hsds/other.csv.gz").read_bytes()) == b"id\r\nc\r\n"
    assert (before / "hsds/other.csv").read_bytes() == b"id\r\nb\r\n"  # never written through


def test_services_built_side_by_side_write_the_same_files(app, tmp_path, monkeypatch):
    """A build that makes its services in forked processes (a first build of many listings)
    writes byte for byte what one process writes; the forked ones really made some."""
    import os

    from tasks.publishing import writers

    make_service = writers.make_service

    def recording(*args):
        made = make_service(*args)
        return made._replace(modified=f"{made.modified}|{os.getpid()}")

    app.config["FEED_WORKERS"] = 1
    _, alone = write_formats(None, tmp_path / "alone")
    monkeypatch.setattr(writers, "FAN_OUT_MIN", 1)
    monkeypatch.setattr(writers, "FAN_OUT_CHUNK", 1)
    app.config["FEED_WORKERS"] = 2
    try:
        ctx, together = write_formats(None, tmp_path / "together")
        monkeypatch.setattr(writers, "make_service", recording)
        recorded, _ = write_formats(None, tmp_path / "recorded")
    finally:
        app.config["FEED_WORKERS"] = 0
    assert sorted(alone) == sorted(together) and len(alone) >= 18
    for name in alone:
        assert alone[name] == together[name], name
    services = "hsds/services.json"
    assert (tmp_path / "alone" / services).read_bytes() == (
        tmp_path / "together" / services
    ).read_bytes()
    made_by = {st.modified.rsplit("|", 1)[1] for st in recorded._hsds_state.values()}
    assert str(os.getpid()) in made_by and len(made_by) == 2  # this process and a child


def test_service_area_lines_are_what_csv_writer_writes():
    """The service area lines written from a county's tail are those csv.writer writes for
    the whole row, quoting included; a row of another shape, or with an id to quote, goes
    the general way."""
    from tasks.publishing.tabular import Tables

    tables = Tables({})
    rows = [
        {"id": "a-1", "service_id": "s-1", "name": "Adair County, MO", "description": "Primary county", "uri": "urn:us-fips:29001"},
        {"id": "a-2", "service_id": "s-1", "name": 'Say "Hi", MO', "description": "Backup county", "uri": "urn:us-fips:29003"},
        {"id": "a-3", "service_id": "s-1", "name": "Adair County, MO", "description": "Primary county", "uri": "urn:us-fips:29001"},
        {"id": "a,4", "service_id": "s-1", "name": "Boone County, MO", "description": "Served county", "uri": "urn:us-fips:29019"},
        {"id": "a-5", "service_id": "s-1", "name": "Cole County, MO", "description": "Served county", "uri": "urn:us-fips:29051", "extent": "x"},
    ]  # fmt: skip
    [(_, ids, data, sizes)] = tables.groups(("service_area", row) for row in rows)
    columns = tables.columns[tables.index["service_area"]]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([row.get(c) for c in columns])
    assert bytes(data) == out.getvalue().encode("utf-8")
    assert ids.split("\n") == [row["id"] for row in rows]
    assert sum(map(int, sizes.split(","))) == len(data)


@pytest.mark.parametrize("change", ["description", "counties", "name first"])
def test_tables_known_unchanged_are_the_previous_files(
    build, releases_dir, tmp_path, monkeypatch, change
):
    """After a change, a table whose rows the changed service wrote as before is the
    previous release's file, taken without being made; every table, taken or made, is what
    making the whole package again writes. A change of order (a name sorting first) takes
    none."""
    from tasks.publishing.context import BuildContext

    first = build()
    folder = releases_dir / "releases" / str(first.number)
    lst = db.session.scalar(
        db.select(Listing)
        .where(Listing.live_revision_id.is_not(None), Listing.is_suspended.is_(False))
        .order_by(Listing.id.desc())
    )
    data = dict(lst.live_revision.data)
    if change == "description":
        data["description"] = data.get("description", "") + " Tables."
    elif change == "counties":
        data["counties"] = [*data["counties"][:-1]] or [{"fips": "29019", "role": "served"}]
    else:
        data["name"] = "AAA first of all " + data["name"]
    lst.live_revision.data = data
    db.session.commit()
    taken = set()
    reuse = BuildContext.reuse

    def spied(ctx, relative):
        done = reuse(ctx, relative)
        if done:
            taken.add(relative.removeprefix("hsds/"))
        return done

    monkeypatch.setattr(BuildContext, "reuse", spied)
    second = build()
    later = releases_dir / "releases" / str(second.number)
    _, again = write_formats(None, tmp_path / "again")
    for p in later.glob("hsds/*.csv"):
        if p.name != "services.csv":  # (its last_modified is the time of each making)
            assert p.read_bytes() == again[f"hsds/{p.name}"], p.name
    for name in taken:  # the previous release's files themselves, and their gzip twins
        for twin in (name, name + ".gz"):
            assert (later / "hsds" / twin).stat().st_ino == (folder / "hsds" / twin).stat().st_ino
    tables = {p.name for p in later.glob("hsds/*.csv")}
    if change == "description":  # every table but the one it changed and the taxonomies'
        assert taken == tables - {"services.csv", "taxonomies.csv", "taxonomy_terms.csv"}
        assert len(taken) == 12
    elif change == "counties":
        assert "phones.csv" in taken and not {"service_areas.csv", "services.csv"} & taken
    else:
        assert not taken


def test_a_first_build_side_by_side_keeps_every_record(app, build, releases_dir, monkeypatch):
    """A first build whose services are made in forked processes keeps each record's JSON,
    made beside its service, for the next build: every kept record reads back as the
    record a build makes."""
    from models.listings import read_snapshot, record_json, snapshot
    from tasks.publishing import writers
    from tasks.publishing.builder import read_kept_records

    monkeypatch.setattr(snapshot, "_LAST", {})  # every record made, none taken
    monkeypatch.setattr(writers, "FAN_OUT_MIN", 1)
    monkeypatch.setattr(writers, "FAN_OUT_CHUNK", 1)
    app.config["FEED_WORKERS"] = 2
    try:
        first = build()
    finally:
        app.config["FEED_WORKERS"] = 0
    kept = read_kept_records(releases_dir, first.number)
    made = read_snapshot(today())
    assert len(kept.entries) == len(made.records) >= 10
    for r in made.records:
        assert bytes(kept.source(r["id"], made.digests[r["id"]])) == record_json(r), r["id"]
