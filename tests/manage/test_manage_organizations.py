"""Organizations: validated identifiers, creation, deactivation (users out, listings leave the
next release), search, keyset pagination and spreadsheet-safe CSV export."""

from __future__ import annotations

import csv
import io

import pytest
from manage_helpers import post_form
from sqlalchemy.orm import selectinload

from models import AuditEvent, Listing, Organization, OutboxEvent, db, eligibility, today
from models.listings import CertificationIndex, normalise_ein, normalise_npi, normalise_phone
from models.organizations import create_organization
from tests.conftest import sign_in

GOOD = {
    "legal_name": "Prairie Crisis Partners",
    "dba": "Prairie Crisis",
    "ein": "43-1234567",
    "npi": "1234567893",
    "website": "https://prairie.example.org",
    "email": "intake@prairie.example.org",
    "phone": "(573) 555-0142",
    "contact_name": "Dana Reed",
    "description": "",
}


@pytest.mark.parametrize(
    ("fn", "value"),
    [
        (normalise_ein, "43-123456"),
        (normalise_ein, "ab-1234567"),
        (normalise_npi, "1234567890"),
        (normalise_npi, "123456789"),
        (normalise_phone, "12345"),
        (normalise_phone, "+44 20 7946 0958"),
    ],
)
def test_identifier_checks_refuse_bad_values(fn, value):
    with pytest.raises(ValueError):
        fn(value)


def test_identifier_checks_normalise_good_values():
    assert normalise_ein("431234567") == "43-1234567"
    assert normalise_npi("1234567893") == "1234567893"
    assert normalise_phone("573.555.0142") == "+15735550142"


def test_create_organization_with_every_field_checked(admin_client):
    bad = post_form(
        admin_client,
        "/manage/organizations/new",
        {
            **GOOD,
            "ein": "1234",
            "npi": "1234567890",
            "website": "http://prairie.example.org",
            "phone": "555",
        },
        token_url="/manage/organizations/new",
    )
    html = bad.get_data(as_text=True)
    for field in ("ein", "npi", "website", "phone"):
        assert f'id="{field}-error"' in html
    assert (
        db.session.scalar(db.select(Organization).filter_by(legal_name=GOOD["legal_name"])) is None
    )
    ok = post_form(
        admin_client, "/manage/organizations/new", GOOD, token_url="/manage/organizations/new"
    )
    assert ok.status_code == 302
    org = db.session.scalar(db.select(Organization).filter_by(legal_name=GOOD["legal_name"]))
    assert org.phone == "+15735550142" and org.is_active
    ev = db.session.scalar(
        db.select(AuditEvent).filter_by(action="organization.create", organization_id=org.id)
    )
    assert ev.after["ein"] == "43-1234567"
    dup = post_form(
        admin_client, "/manage/organizations/new", GOOD, token_url="/manage/organizations/new"
    )
    assert "already exists" in dup.get_data(as_text=True)


def test_edit_records_only_what_changed(admin_client, users):
    org = users.provider.organization
    url = f"/manage/organizations/{org.id}/edit"
    form = {f: getattr(org, f) or "" for f in GOOD}
    form["contact_name"] = "Someone New"
    assert post_form(admin_client, url, form, token_url=url).status_code == 302
    ev = db.session.scalar(
        db.select(AuditEvent)
        .filter_by(action="organization.update", organization_id=org.id)
        .order_by(AuditEvent.id.desc())
    )
    assert set(ev.after) == {"contact_name"} and ev.after["contact_name"] == "Someone New"


def test_deactivation_signs_users_out_and_pulls_listings(app, admin_client, users):
    provider = app.test_client()
    sign_in(provider, "provider@demo.test")
    assert provider.get("/portal/").status_code == 200
    org = users.provider.organization
    listing_ids = set(
        db.session.scalars(db.select(Listing.id).where(Listing.organization_id == org.id))
    )
    assert listing_ids
    before = db.session.scalar(db.select(db.func.max(OutboxEvent.id))) or 0
    resp = post_form(
        admin_client,
        f"/manage/organizations/{org.id}/deactivate",
        {"reason": "closed"},
        token_url=f"/manage/organizations/{org.id}",
    )
    assert resp.status_code == 302
    db.session.expire_all()
    org = db.session.get(Organization, org.id)
    assert not org.is_active and org.deactivated_at is not None
    marked = {
        e.payload["listing_id"]
        for e in db.session.scalars(db.select(OutboxEvent).where(OutboxEvent.id > before))
    }
    assert marked == listing_ids
    listings = db.session.scalars(
        db.select(Listing)
        .where(Listing.organization_id == org.id)
        .options(selectinload(Listing.live_revision))
    ).all()
    certs = CertificationIndex([org.id])
    for listing in listings:
        assert "organization" in " ".join(eligibility(listing, today(), certs).reasons).lower()
    assert provider.get("/portal/").status_code == 302
    assert (
        sign_in(app.test_client(), "provider@demo.test").status_code == 200
    )  # refused, stays on the form
    post_form(
        admin_client,
        f"/manage/organizations/{org.id}/reactivate",
        token_url=f"/manage/organizations/{org.id}",
    )
    assert sign_in(app.test_client(), "provider@demo.test").status_code == 302


def test_search_and_keyset_pages(app, admin_client, users):
    for i in range(7):
        create_organization({"legal_name": f"Zz Keyset Org {i:02d}"}, by=users.admin)
    db.session.commit()
    from admin.manage.listing_tools import keyset_page

    seen = []
    after = None
    while True:
        with app.test_request_context(f"/manage/organizations?after={after or ''}"):
            rows, after = keyset_page(
                db.select(Organization).where(Organization.legal_name.like("Zz Keyset%")),
                Organization,
                db.func.lower(Organization.legal_name),
                per_page=3,
            )
        seen += [o.legal_name for o in rows]
        if after is None:
            break
    assert seen == [f"Zz Keyset Org {i:02d}" for i in range(7)]
    page = admin_client.get("/manage/organizations?q=keyset org 03").get_data(as_text=True)
    assert "Zz Keyset Org 03" in page and "Zz Keyset Org 04" not in page


def test_csv_export_is_spreadsheet_safe(admin_client, users):
    create_organization(
        {
            "legal_name": '=HYPERLINK("http://evil.example")',
            "dba": "+1 trick",
            "contact_name": "@me",
        },
        by=users.admin,
    )
    db.session.commit()
    resp = admin_client.get("/manage/organizations.csv")
    assert resp.headers["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    header = rows[0]
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert row[header.index("id")].isdigit()  # numbers stay numbers
    evil = next(r for r in rows if "HYPERLINK" in r[header.index("legal_name")])
    assert evil[header.index("legal_name")].startswith("'=")
    assert evil[header.index("dba")] == "'+1 trick"
