"""Bulk CSV import: a dry run reports every bad row and writes nothing; the real run writes all
or nothing; listings arrive as drafts; formula cells, huge lines and oversized files are
handled without a 500. The people and organizations come from the factories (tests/factories.py),
not from the demo data."""

from __future__ import annotations

import pytest
from manage_helpers import page_token

from models import Listing, ListingRevision, Organization, db
from models.listings import RevisionState, check_csv
from tests.factories import OrganizationFactory

ORG_HEADER = "legal_name,dba,ein,npi,website,email,phone,contact_name\r\n"
LISTING_HEADER = "organization,service_type,name,description,address_1,city,zip,county_fips,phone,counties_served,website,email\r\n"


def upload(client, kind: str, content: bytes | str, filename: str = "data.csv"):
    """POST the file as a hand-built multipart body (the test client would otherwise spool a
    large body to a temporary file it never closes)."""
    raw = content.encode() if isinstance(content, str) else content
    boundary = "----registry-test-boundary"
    parts = []
    for name, value in (("csrf_token", page_token(client, "/manage/import")), ("kind", kind)):
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: text/csv\r\n\r\n".encode()
        + raw
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return client.post(
        "/manage/import",
        data=b"".join(parts),
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def run_import(client):
    return client.post(
        "/manage/import/run", data={"csrf_token": page_token(client, "/manage/import")}
    )


@pytest.fixture
def admin_client(login_as, admin):
    """An administrator made by the factories, signed in (overrides tests/manage/conftest.py's
    demo administrator for this module)."""
    return login_as(admin)


@pytest.fixture
def org_name(app) -> str:
    """The legal name of an active organization the import can attach listings to."""
    return OrganizationFactory().legal_name


def _count(model) -> int:
    return db.session.scalar(db.select(db.func.count(model.id)))


def test_template_downloads(admin_client):
    resp = admin_client.get("/manage/import/template/listings.csv")
    assert resp.status_code == 200 and resp.headers["Content-Disposition"].startswith("attachment")
    assert resp.get_data(as_text=True) == LISTING_HEADER


def test_mixed_file_writes_nothing_and_reports_every_bad_row(admin_client, org_name):
    content = ORG_HEADER + (
        "Good Org One,,43-1234567,1234567893,https://one.example.org,a@one.example.org,(573) 555-0101,Ann\r\n"
        "Bad EIN Org,,12-34,,,,,\r\n"
        "Good Org Two,,,,,,,\r\n"
        "Bad NPI Org,,,1234567890,http://plain.example.org,,,\r\n"
        ",,,,,,,\r\n"
        f"{org_name},,,,,,,\r\n"  # already registered
        "Bad Phone Org,,,,,,12,\r\n"
    )
    before = _count(Organization)
    resp = upload(admin_client, "organizations", content)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Nothing was saved" in html
    result = check_csv(content.encode(), "organizations")
    found = {(e.line, e.column) for e in result.errors}
    assert found == {(3, "ein"), (5, "npi"), (5, "website"), (7, "legal_name"), (8, "phone")}
    for line, column in found:
        assert f"<td>{line}</td><td>{column}</td>" in html
    # nothing to confirm, and forcing the run imports nothing
    assert 'action="/manage/import/run"' not in html
    assert run_import(admin_client).status_code == 302
    assert _count(Organization) == before


def test_good_organization_file_imports_all_rows(admin_client):
    content = (
        ORG_HEADER
        + "North Star Crisis,,,,,,,\r\nSouth Star Crisis,SSC,431234567,,https://ssc.example.org,,573-555-0109,\r\n"
    )
    resp = upload(admin_client, "organizations", content)
    assert "All 2 rows are valid" in resp.get_data(as_text=True)
    assert (
        db.session.scalar(db.select(Organization).filter_by(legal_name="North Star Crisis")) is None
    )  # dry run
    assert run_import(admin_client).status_code == 302
    south = db.session.scalar(db.select(Organization).filter_by(legal_name="South Star Crisis"))
    assert south.ein == "43-1234567" and south.phone == "+15735550109"


def test_good_listing_file_imports_drafts_never_live(admin_client, org_name):
    org = org_name
    content = LISTING_HEADER + (
        f"{org},mobile_crisis,Imported Mobile Team,Two-person team,,,,,(573) 555-0110,29019;29051,,\r\n"
        f"{org},bhcc,Imported Crisis Center,,1 Main St,Columbia,65201,29019,573-555-0111,,https://bhcc.example.org,\r\n"
    )
    before = _count(Listing)
    resp = upload(admin_client, "listings", content)
    assert "All 2 rows are valid" in resp.get_data(as_text=True), resp.get_data(as_text=True)
    assert _count(Listing) == before
    assert run_import(admin_client).status_code == 302
    new = db.session.scalars(
        db.select(Listing).where(Listing.id > 0).order_by(Listing.id.desc()).limit(2)
    ).all()
    assert _count(Listing) == before + 2
    for listing in new:
        assert listing.live_revision_id is None
        [rev] = db.session.scalars(
            db.select(ListingRevision).filter_by(listing_id=listing.id)
        ).all()
        assert rev.state == RevisionState.DRAFT
    mobile = next(listing for listing in new if listing.service_type_code == "mobile_crisis")
    rev = db.session.scalar(db.select(ListingRevision).filter_by(listing_id=mobile.id))
    assert {c["fips"] for c in rev.data["counties"]} == {"29019", "29051"}


def test_listing_rows_are_checked_against_the_rules(admin_client, org_name):
    org = org_name
    content = (
        LISTING_HEADER
        + (
            f"{org},bhcc,No Address Center,,,,,,573-555-0112,,,\r\n"  # a BHCC needs a site address
            f"{org},bhcc,Wrong County,,1 Main St,Columbia,65201,29510,573-555-0113,,,\r\n"  # ZIP not in county
            f"Nobody Inc,nosuch,X,,,,,,573-555-0114,,,\r\n"  # unknown org and type
            f"{org},mobile_crisis,No Counties,,,,,,573-555-0115,,,\r\n"  # mobile crisis needs counties
            f"{org},mobile_crisis,Bad FIPS,,,,,,573-555-0116,29999,,\r\n"
        )
    )
    result = check_csv(content.encode(), "listings")
    found = {(e.line, e.column) for e in result.errors}
    assert found == {
        (2, "address_1"),
        (3, "zip"),
        (4, "organization"),
        (4, "service_type"),
        (5, "counties_served"),
        (6, "counties_served"),
    }
    assert not result.rows


def test_formula_cells_are_refused_without_error(admin_client):
    content = (
        ORG_HEADER
        + '"=HYPERLINK(""http://evil.example"",""x"")",,,,,,,\r\nSafe Org,@sum,,,,,+1 573 555 0117,\r\n'
    )
    resp = upload(admin_client, "organizations", content)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Nothing was saved" in html
    result = check_csv(content.encode(), "organizations")
    assert {(e.line, e.column) for e in result.errors} == {
        (2, "legal_name"),
        (3, "dba"),
    }  # the phone's + is fine
    assert "formula" in result.errors[0].message


def test_a_ten_megabyte_line_is_reported_not_a_500(admin_client):
    content = ORG_HEADER + "Big Org," + "x" * (10 * 1024 * 1024) + ",,,,,,\r\n"
    resp = upload(admin_client, "organizations", content)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "cannot be read" in html or "Longer than" in html
    assert "Nothing was saved" in html


def test_a_file_over_the_size_limit_gets_the_413_page(app, admin_client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    resp = upload(admin_client, "organizations", b"a" * (limit + 1))
    assert resp.status_code == 413
    assert "File too large" in resp.get_data(as_text=True)


def test_not_utf8_and_wrong_header_are_explained(admin_client):
    result = check_csv("legal_name\r\nCaf\xe9\r\n".encode("latin-1"), "organizations")
    assert "UTF-8" in result.errors[0].message
    result = check_csv(b"name,colour\r\nx,y\r\n", "organizations")
    assert {(e.line, e.column) for e in result.errors} == {
        (1, "name"),
        (1, "colour"),
        (1, "legal_name"),
    }


def test_csv_import_applies_the_same_policy(admin_client):
    header = "legal_name,dba,ein,npi,website,email,phone,contact_name\r\n"
    content = header + "Bad\x00Org,,,,,,,\r\nGood\u202eOrg,,,,,,,\r\nFine Org,,,,,,,\r\n"
    result = check_csv(content.encode(), "organizations")
    assert {(e.line, e.column) for e in result.errors} == {(2, "legal_name"), (3, "legal_name")}
    assert [r["legal_name"] for r in result.rows] == ["Fine Org"]


def test_duplicate_listing_rows_are_flagged_in_the_dry_run(admin_client, org_name):
    org = org_name
    row = f"{org},bhcc,Twin Center,,1 Main St,Columbia,65201,29019,573-555-0112,,,\r\n"
    content = (
        LISTING_HEADER
        + row
        + row  # the very same row
        + f"{org},bhcc,twin  center,,9 Other Rd,Columbia,65201,29019,573-555-0113,,,\r\n"  # same name
        + f"{org},bhcc,Other Name,,1 MAIN ST,Columbia,65201,29019,573-555-0114,,,\r\n"  # same address
        + f"{org},mobile_crisis,Twin Center,,,,,,573-555-0115,29019,,\r\n"  # another type: fine
    )
    result = check_csv(content.encode(), "listings")
    found = {(e.line, e.column) for e in result.errors}
    assert found == {(3, "name"), (3, "address_1"), (4, "name"), (5, "address_1")}
    assert "as line 2" in next(e.message for e in result.errors if e.line == 3)
    assert len(result.rows) == 2
