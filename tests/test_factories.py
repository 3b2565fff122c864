"""The factories and persona fixtures make what they promise: people who can sign in to their
own area, organizations apart from each other, a listing with an approved live revision, a
decided certification; nothing borrowed from the demo data."""

from __future__ import annotations

from models import Role, can, db
from models.certifications import CertificationStatus
from models.listings import RevisionState
from tests.factories import CertificationFactory, DocumentFactory, ListingFactory


def test_personas_are_four_people_of_their_roles(provider_a, provider_b, reviewer, admin):
    assert provider_a.organization_id != provider_b.organization_id
    assert provider_a.is_org_admin and not provider_b.is_org_admin
    assert [p.role for p in (provider_a, provider_b, reviewer, admin)] == [
        Role.PROVIDER,
        Role.PROVIDER,
        Role.REVIEWER,
        Role.ADMIN,
    ]
    assert all("demo.test" not in p.email for p in (provider_a, provider_b, reviewer, admin))


def test_each_persona_signs_in_to_their_own_area(login_as, provider_a, provider_b, reviewer, admin):
    for person, home in (
        (provider_a, "/portal/"),
        (provider_b, "/portal/"),
        (reviewer, "/review/"),
        (admin, "/manage/"),
    ):
        assert login_as(person).get(home).status_code == 200, person.email


def test_a_listing_is_live_and_belongs_to_its_organization(provider_a, provider_b):
    listing = ListingFactory(organization=provider_a.organization, by=provider_a)
    assert listing.live_revision.state == RevisionState.APPROVED
    assert listing.live_revision.data["name"].startswith("Factory")
    assert can(provider_a, "edit", listing)
    assert not can(provider_b, "edit", listing)


def test_a_draft_listing_has_no_live_revision(provider_a):
    listing = ListingFactory(organization=provider_a.organization, by=provider_a, live=False)
    assert listing.live_revision_id is None
    assert listing.open_revision.state == RevisionState.DRAFT


def test_certifications_are_decided_or_left_submitted(provider_a):
    org = provider_a.organization
    certified = CertificationFactory(organization=org, by=provider_a)
    pending = CertificationFactory(
        organization=org, by=provider_a, status=CertificationStatus.SUBMITTED.value
    )
    doc = DocumentFactory(certification=pending)
    db.session.flush()
    assert certified.status == CertificationStatus.CERTIFIED
    assert certified.expires_on is not None
    assert pending.status == CertificationStatus.SUBMITTED
    assert doc.organization_id == org.id and doc in pending.documents
