"""What the demo data promises a newcomer (admin/demo.py): a listing of every service type,
a certification in every status, revisions at each step of review, its logins working, and
one regional primary 988 center for every county."""

from __future__ import annotations

from models import Certification, Listing, ListingRevision, ServiceType, db
from models.certifications import CertificationStatus
from models.listings import CountyRole, RevisionState
from tests.conftest import sign_in


def _distinct(column) -> set[str]:
    return set(db.session.scalars(db.select(column).distinct()))


def test_every_service_type_has_a_demo_listing(app):
    assert _distinct(ServiceType.code) <= _distinct(Listing.service_type_code)


def test_every_certification_status_is_shown(app):
    assert _distinct(Certification.status) == {s.value for s in CertificationStatus}


def test_revisions_stand_at_each_step_of_review(app):
    assert {
        RevisionState.DRAFT,
        RevisionState.SUBMITTED,
        RevisionState.IN_REVIEW,
        RevisionState.CHANGES_REQUESTED,
        RevisionState.APPROVED,
    } <= _distinct(ListingRevision.state)


def test_each_county_has_one_primary_988_center(app):
    from models import County

    primaries: dict[str, int] = {}
    for rev in db.session.scalars(
        db.select(ListingRevision)
        .join(Listing, Listing.live_revision_id == ListingRevision.id)
        .where(Listing.service_type_code == "988_center")
    ):
        for c in rev.data["counties"]:
            if c["role"] == CountyRole.PRIMARY:
                primaries[c["fips"]] = primaries.get(c["fips"], 0) + 1
    assert primaries == dict.fromkeys(_distinct(County.fips), 1)


def test_the_documented_logins_work(app):
    for email in ("provider@demo.test", "reviewer@demo.test", "admin@demo.test"):
        resp = sign_in(app.test_client(), email)
        assert resp.status_code == 302 and "/login" not in resp.headers["Location"], email
