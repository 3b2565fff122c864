"""A service type an admin adds in /manage/ works end to end with no code change: the provider's
type choices and editor, the rules, the reviewer's diff, the HSDS feed (JSON and CSV), the
spreadsheet, the county coverage (it is flagged as a crisis center) and its printed directory."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from pypdf import PdfReader

from models import Listing, ServiceType, db
from tests.conftest import post, sign_in

CODE = "peer_respite"
NAME = "Peer respite house"
LISTING = "Grant City Peer Respite"
WORTH = "29227"  # Worth County: no crisis center in its region in the demo data

NEW_TYPE = {
    "code": CODE,
    "name": NAME,
    "short_name": "Peer respite",
    "pillar": "place",
    "sort_order": "55",
    "description": "A home-like place run by people with lived experience, for a few nights.",
    "rule_citation": "",
    "hours_rule": "24_7",
    "max_stay_hours": "72",
    "site_address_rule": "required",
    "walk_in_allowed": "y",
    "counties_rule": "optional",
    "coverage_kind": "served",
    "coverage_group": "crisis_center",
    "has_capacity": "y",
    "required_certification_code": "",
    "org_certification_code": "",
}

EDITOR = {
    "name": LISTING,
    "description": "Three guest rooms; peers on site day and night.",
    "address_1": "200 Main Street",
    "city": "Grant City",
    "postal_code": "64456",
    "county_fips": WORTH,
    "phones-0-number": "(660) 555-0142",
    "phones-0-kind": "voice",
    "is_24_7": "y",
    "languages": "en",
    "walk_in": "y",
    "cost": "no_cost",
    "no_one_turned_away": "y",
    "capacity": "3",
    "capacity_unit": "beds",
    "lock_version": "0",
}


def text(resp) -> str:
    return re.sub(r"\s+", " ", resp.get_data(as_text=True))


def signed_in(app, email: str):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


@pytest.fixture
def print_new_type_only(app, monkeypatch):
    """Printed directories on, limited to the new type's own directory (the others are the
    same code and only slower)."""
    from tasks.publishing import pdf

    real_plan = pdf.plan
    monkeypatch.setattr(
        pdf, "plan", lambda ctx: [d for d in real_plan(ctx) if d.key == f"pdf/type-{CODE}.pdf"]
    )
    monkeypatch.setitem(app.config, "PUBLISH_PDFS", True)


def test_a_service_type_added_in_manage_is_edited_reviewed_published_and_printed(
    app, build, releases_dir, print_new_type_only
):
    # an admin adds the type through the /manage/ form
    admin = signed_in(app, "admin@demo.test")
    resp = post(admin, "/manage/reference/service_type/new", NEW_TYPE)
    assert resp.status_code == 302, text(resp)[:2000]
    st = db.session.get(ServiceType, CODE)
    assert st is not None and st.coverage_group == "crisis_center" and st.max_stay_hours == 72
    assert CODE in text(admin.get("/manage/reference"))

    # the provider sees it among the types and opens its editor
    provider = signed_in(app, "provider@demo.test")
    choices = text(provider.get("/portal/listings/new"))
    assert NAME in choices and f"/portal/listings/new/{CODE}" in choices
    editor = provider.get(f"/portal/listings/new/{CODE}")
    assert editor.status_code == 200 and NAME in text(editor)
    assert "Capacity and stay" in text(editor)  # has_capacity shows the capacity section

    # the type's rules apply: the stay is required (max_stay_hours), then bounded by it
    resp = post(provider, f"/portal/listings/new/{CODE}", EDITOR)
    assert resp.status_code == 422
    assert "Give the longest stay (at most 72 hours for a Peer respite)" in text(resp)
    resp = post(provider, f"/portal/listings/new/{CODE}", {**EDITOR, "max_stay_hours": "96"})
    assert resp.status_code == 422
    assert "The longest stay for a Peer respite is 72 consecutive hours." in text(resp)
    resp = post(provider, f"/portal/listings/new/{CODE}", {**EDITOR, "max_stay_hours": "48"})
    assert resp.status_code == 302, text(resp)[:2000]
    listing = db.session.scalar(db.select(Listing).where(Listing.service_type_code == CODE))
    rev = listing.open_revision
    assert rev.data["max_stay_hours"] == 48 and rev.data["capacity"] == 3
    changes = text(provider.get(f"/portal/listings/{listing.id}/changes"))
    assert "48 hours" in changes and "3 beds" in changes
    resp = post(
        provider,
        f"/portal/revisions/{rev.id}/submit",
        {"note": "A new peer respite house."},
        form_url=f"/portal/listings/{listing.id}/changes",
    )
    assert resp.status_code == 302
    db.session.refresh(rev)
    assert rev.state == "submitted"

    # the reviewer sees the new listing's fields in the diff and approves it
    reviewer = signed_in(app, "reviewer@demo.test")
    page = f"/review/revisions/{rev.id}"
    shown = text(reviewer.get(page))
    assert NAME in shown and LISTING in shown
    for label, value in [("Maximum stay", "48 hours"), ("Capacity", "3 beds")]:
        assert label in shown and value in shown
    assert "200 Main Street, Grant City, MO 64456 (Worth" in shown
    resp = post(
        reviewer,
        f"{page}/decision",
        {"decision": "approve", "note": "", "lock_version": rev.lock_version},
        form_url=page,
    )
    assert resp.status_code in (302, 303), text(resp)[:2000]
    db.session.refresh(rev)
    assert rev.state == "approved"

    # a release publishes it
    result = build()
    assert result.status == "published"
    folder = releases_dir / "releases" / str(result.number)

    services = json.loads((folder / "hsds" / "services.json").read_text())
    (service,) = [s for s in services if s["mo_dmh_service_type"] == CODE]
    assert service["name"] == LISTING and service["mo_dmh_max_stay_hours"] == 48
    terms = {a["taxonomy_term"]["code"]: a["taxonomy_term"]["name"] for a in service["attributes"]}
    assert terms[CODE] == NAME
    taxonomy_terms = list(
        csv.DictReader(io.StringIO((folder / "hsds" / "taxonomy_terms.csv").read_text()))
    )
    assert any(t["code"] == CODE and t["name"] == NAME for t in taxonomy_terms)
    rows = list(csv.DictReader(io.StringIO((folder / "hsds" / "services.csv").read_text())))
    assert [r["name"] for r in rows if r["mo_dmh_service_type"] == CODE] == [LISTING]
    sheet = list(csv.DictReader(io.StringIO((folder / "listings.csv").read_text("utf-8-sig"))))
    (row,) = [r for r in sheet if r["service_type"] == CODE]
    assert row["service_type_name"] == NAME and row["name"] == LISTING

    # county coverage counts it as a crisis center, from its flag: Worth County's gap closes
    coverage = json.loads((folder / "coverage.json").read_text())
    worth = next(c for c in coverage["counties"] if c["fips"] == WORTH)
    assert [s["name"] for s in worth["crisis_centers"]] == [LISTING]
    assert worth["crisis_centers_in_region"] >= 1
    assert "no_crisis_center_in_region" not in worth["gaps"]

    # its printed directory carries the type's name as its section
    printed = json.loads((folder / "print.json").read_text())
    assert f"pdf/type-{CODE}.pdf" in printed["files"]
    reader = PdfReader(folder / "pdf" / f"type-{CODE}.pdf")
    pdf_text = re.sub(r"\s+", " ", " ".join(p.extract_text() or "" for p in reader.pages))
    assert "Peer respite houses" in pdf_text  # the section of the type, by its name
    assert LISTING in pdf_text


def test_a_type_answering_primary_and_backup_cannot_also_count_as_a_crisis_center(app):
    admin = signed_in(app, "admin@demo.test")
    resp = post(
        admin,
        "/manage/reference/service_type/new",
        {**NEW_TYPE, "coverage_kind": "primary_backup", "counties_rule": "required"},
    )
    assert resp.status_code == 400
    assert "A type answering 988 counts as 988 coverage only." in text(resp)
    assert db.session.get(ServiceType, CODE) is None
