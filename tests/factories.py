"""factory-boy factories: organizations, people of every role, listings with an approved
revision and certifications, made in the test's own transaction (flushed, never committed by
the factory) so a test states the data it needs instead of borrowing the demo's.

Listings and certifications are made through the domain operations (create, submit, approve;
submit, decide), so they pass the same rules and write the same audit events as real ones.
Reference data (counties, service and certification types) comes from the migrations and
`load_reference_data`, never from here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory
from factory.alchemy import SQLAlchemyModelFactory

from models import (
    Certification,
    Document,
    Listing,
    Organization,
    Role,
    User,
    db,
    today,
    utcnow,
)
from models.certifications import CertificationStatus
from models.listings import DAYS, FieldSpec, empty_data
from models.listings import workflow as wf

PASSWORD = "factory-password"  # noqa: S105 - test accounts only
# 160 bits, as pyotp wants; any fixed secret works: sign_in reads it from the user
TOTP_SECRET = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"  # noqa: S105 - test second factor


class _Model(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731 - the app's scoped session
        sqlalchemy_session_persistence = "flush"


class OrganizationFactory(_Model):
    class Meta:
        model = Organization

    legal_name = factory.Sequence(lambda n: f"Factory Provider {n} Inc.")
    dba = factory.LazyAttribute(lambda o: o.legal_name.removesuffix(" Inc."))
    ein = factory.Sequence(lambda n: f"99-{n % 10_000_000:07d}")
    website = factory.Sequence(lambda n: f"https://provider-{n}.example.org")
    email = factory.Sequence(lambda n: f"info@provider-{n}.example.org")
    phone = "+15735550142"
    contact_name = "Factory Director"
    description = "A fictional provider made for one test."


class UserFactory(_Model):
    """A person who can sign in with PASSWORD (staff also with TOTP_SECRET)."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person-{n}@factory.test")
    name = factory.Sequence(lambda n: f"Factory Person {n}")
    role = Role.PROVIDER.value

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):  # noqa: N805 - factory-boy hook
        obj.set_password(PASSWORD if extracted is None else extracted)
        if create:
            db.session.flush()


class ProviderFactory(UserFactory):
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.PROVIDER.value
    is_org_admin = False


class StaffFactory(UserFactory):
    """DMH staff: enrolled in the second factor, as every staff sign-in requires."""

    organization = None
    totp_secret = TOTP_SECRET
    totp_enabled_at = factory.LazyFunction(utcnow)


class ReviewerFactory(StaffFactory):
    role = Role.REVIEWER.value


class AdminFactory(StaffFactory):
    role = Role.ADMIN.value


def listing_data(name: str, counties: list[str], **fields: Any) -> dict[str, Any]:
    """Listing data an Emergency Room Enhancement program passes review with."""
    data = empty_data()
    data.update(
        name=name,
        description="Follow-up and linkage after an emergency-department visit.",
        counties=[{"fips": f, "role": "served"} for f in counties],
        phones=[{"number": "+15735550143", "kind": "voice", "description": ""}],
        hours={
            "is_24_7": False,
            "weekly": {d: ([["08:00", "17:00"]] if d in DAYS[:5] else []) for d in DAYS},
            "closures": [],
            "notes": "",
        },
        email="intake@factory.example.org",
        website="https://factory.example.org/services",
    )
    data.update(fields)
    return data


class ListingFactory(factory.Factory):
    """A listing with an approved (live) revision, made by a provider of its organization and
    approved by a reviewer; `live=False` leaves it a draft."""

    class Meta:
        model = Listing

    organization = factory.SubFactory(OrganizationFactory)
    service_type_code = "ere"
    name = factory.Sequence(lambda n: f"Factory Emergency Room Enhancement {n}")
    counties = ("29019", "29053")
    live = True
    by = None  # a provider of the organization (made when not given)
    reviewer = None  # a reviewer (made when not given)
    fields = factory.Dict({})

    @classmethod
    def _create(cls, model_class, **kw):
        org = kw["organization"]
        by = kw["by"] or ProviderFactory(organization=org)
        data = listing_data(kw["name"], list(kw["counties"]), **kw["fields"])
        listing, rev = wf.create_listing(org, kw["service_type_code"], data, by)
        if kw["live"]:
            wf.submit_revision(rev, by, "Made by a test factory.")
            wf.approve(rev, kw["reviewer"] or ReviewerFactory(), "Checked.")
        db.session.flush()
        return listing

    _build = _create


class CertificationFactory(factory.Factory):
    """A certification submitted by its organization and, unless status is 'submitted',
    decided by a reviewer (certified for two years by default)."""

    class Meta:
        model = Certification

    organization = factory.SubFactory(OrganizationFactory)
    type_code = "ccbho"
    status = CertificationStatus.CERTIFIED.value
    listings = ()
    by = None
    reviewer = None

    @classmethod
    def _create(cls, model_class, **kw):
        org = kw["organization"]
        by = kw["by"] or ProviderFactory(organization=org)
        cert = wf.submit_certification(org, kw["type_code"], by, listings=list(kw["listings"]))
        if kw["status"] != CertificationStatus.SUBMITTED:
            day = today()
            wf.decide_certification(
                cert,
                kw["reviewer"] or ReviewerFactory(),
                kw["status"],
                certificate_number=f"FACTORY-{kw['type_code'].upper()}-{cert.id:04d}",
                effective_on=day - timedelta(days=30),
                expires_on=day + timedelta(days=730),
            )
        db.session.flush()
        return cert

    _build = _create


class DocumentFactory(_Model):
    """A document row attached to a certification (no file on disk unless the test writes
    one under `storage_name`)."""

    class Meta:
        model = Document

    certification = factory.SubFactory(CertificationFactory, status="submitted")
    organization_id = factory.LazyAttribute(lambda d: d.certification.organization_id)
    type_code = "application"
    original_filename = "application.pdf"
    storage_name = factory.Sequence(lambda n: f"factorydocument{n}")
    content_type = "application/pdf"
    size = 10
    sha256 = "0" * 64


# a listing field declared only in the catalogue, as a new field would be (the catalogue tests
# register it at run time and follow it through every reader)
PEER_STAFF_FIELD = FieldSpec(
    "peer_staff",
    "Peer staff on site",
    "Who",
    widget="select",
    choices={"always": "At all hours", "some": "On some shifts", "never": "No"},
    help="People with lived experience of a crisis.",
    hsds="mo_dmh_peer_staff",
    csv="peer_staff",
    pdf=True,
)
