"""Who the sweeps' e-mails go to: the one recipient rule of models/organizations/people.py (active provider
accounts that accepted their invitation), narrowed to administrators for the follow-up."""

from __future__ import annotations

from models import db
from tasks.sweeps import follow_up_admins
from tests.factories import ListingFactory, ProviderFactory


def test_the_follow_up_reaches_admins_who_accepted_their_invitation(app, ctx, outbox):
    admin = ProviderFactory(is_org_admin=True, email="admin-a@factory.test")
    org = admin.organization
    invited = ProviderFactory(organization=org, is_org_admin=True, email="invited@factory.test")
    invited.password_hash = None  # invited, has not set a password yet
    gone = ProviderFactory(organization=org, is_org_admin=True, email="gone@factory.test")
    gone.is_active = False
    gone.deactivated_at = db.func.now()
    ProviderFactory(organization=org, email="staff@factory.test")  # not an administrator
    listing = ListingFactory(organization=org, by=admin)
    db.session.flush()

    follow_up_admins(listing)

    [message] = outbox.messages()
    assert message["To"] == "admin-a@factory.test"
    assert message["Subject"].strip().startswith("No answer yet")


def test_no_follow_up_when_no_admin_has_accepted(app, ctx, outbox):
    invited = ProviderFactory(is_org_admin=True)
    invited.password_hash = None
    listing = ListingFactory(organization=invited.organization)
    db.session.flush()

    follow_up_admins(listing)

    assert outbox.messages() == []
