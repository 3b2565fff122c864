"""The organization dashboard: every listing and certification with its state, what needs
attention first, and each listing's "why is this not public?" from the eligibility function."""

from __future__ import annotations

from datetime import timedelta

from models import Certification, db, utcnow
from models.listings import workflow as wf
from tests.portal.conftest import listing_named


def test_dashboard_lists_states_attention_first_and_why_not_public(provider, bluestem, users):
    stale = listing_named("Bluestem Crisis Stabilization House")
    stale.verified_at = utcnow() - timedelta(days=400)
    wf.suspend(
        listing_named("Bluestem Sobering Support Center"),
        users.reviewer,
        "Phone line disconnected.",
    )
    db.session.commit()
    html = provider.get("/portal/").get_data(as_text=True)
    listings = html[html.index('id="listings"') : html.index('id="certifications"')]
    # the stale listing comes before listings needing nothing
    assert listings.index("Bluestem Crisis Stabilization House") < listings.index(
        "Bluestem Youth Crisis Center"
    )
    assert "Not verified in the last 12 months" in listings
    for state in ("live", "submitted", "draft", "stale"):
        assert f'state-badge">{state}</span>' in listings, state
    # a listing that is not public says why, in the eligibility function's words
    assert 'state-badge">suspended</span>' in listings
    assert (
        "Why is this not public?" in listings
        and "Suspended by DMH: Phone line disconnected." in listings
    )
    assert listings.index("Bluestem Sobering Support Center") < listings.index(
        "Bluestem Youth Crisis Center"
    )
    # then drafts not yet submitted (Central ERE has one), then the rest by name
    assert (
        listings.index("Bluestem Sobering Support Center")
        < listings.index("Central Emergency Room Enhancement")
        < listings.index("Bluestem Youth Crisis Center")
    )
    certs = html[html.index('id="certifications"') :]
    bhcc = db.session.scalar(
        db.select(Certification).filter_by(organization_id=bluestem.id, type_code="bhcc")
    )
    assert (bhcc.effective_expiry - utcnow().date()).days <= 90
    assert "Expires in" in certs and "submit a renewal" in certs
    first_row = certs[certs.index("<tbody>") :].split("</tr>")[0]
    assert bhcc.type.name in first_row  # the expiring certification is first
