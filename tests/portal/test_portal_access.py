"""A provider reaches only their own organization's listings, revisions, certifications and
documents. The requests are generated from the url_map: every portal route that takes an
object id is called, GET and POST, with the ids of ANOTHER organization's demo objects."""

from __future__ import annotations

import io

import pytest

from admin import documents as files
from models import (
    AuditEvent,
    Certification,
    Document,
    Listing,
    ListingRevision,
    User,
    can,
    db,
)
from models.certifications import attach_document
from models.listings import workflow as wf
from tests.portal.conftest import make_pdf

# every URL argument of a portal route, and which object it names (None: not an object id)
ARGUMENT_KINDS = {
    "listing_id": Listing,
    "revision_id": ListingRevision,
    "certification_id": Certification,
    "document_id": Document,
    "user_id": User,
    "type_code": None,
}


def objects_of(org, actor) -> dict[str, list[int]]:
    """Ids of the organization's objects, including a pending certification with a document
    (the states in which the owner could change them, so only the org check can refuse)."""
    listings = db.session.scalars(db.select(Listing).where(Listing.organization_id == org.id)).all()
    revisions = db.session.scalars(
        db.select(ListingRevision)
        .join(Listing, ListingRevision.listing_id == Listing.id)
        .where(Listing.organization_id == org.id)
    ).all()
    cert = wf.submit_certification(
        org, "bhcc", actor, listings=[lst for lst in listings if lst.service_type_code == "bhcc"]
    )
    stored = files.write_file(make_pdf())
    doc = attach_document(
        cert,
        type_code="application",
        original_filename="other-org.pdf",
        storage_name=stored.storage_name,
        content_type="application/pdf",
        size=stored.size,
        sha256=stored.sha256,
        by=actor,
    )
    # an editable draft and a submitted revision, so edit/submit/withdraw would be allowed for the owner
    with_live = [lst for lst in listings if lst.live_revision_id and lst.open_revision is None]
    changed = dict(with_live[0].live_revision.data, description="Changed for the access test.")
    draft = wf.save_draft(with_live[0], changed, actor)
    certs = db.session.scalars(
        db.select(Certification).where(Certification.organization_id == org.id)
    ).all()
    db.session.commit()
    return {
        "listing_id": [lst.id for lst in listings],
        "revision_id": [r.id for r in revisions] + [draft.id],
        "certification_id": [c.id for c in certs],
        "document_id": [doc.id],
        "user_id": list(
            db.session.scalars(db.select(User.id).where(User.organization_id == org.id))
        ),
    }


def portal_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("portal.")]


def test_every_portal_argument_is_known(app):
    """A new route with an id argument must be added to this matrix, or this test fails."""
    for rule in portal_rules(app):
        assert set(rule.arguments) <= set(ARGUMENT_KINDS), (rule.rule, rule.arguments)
    assert any(rule.arguments for rule in portal_rules(app))


@pytest.fixture
def other_org_objects(app, gateway):
    actor = db.session.scalar(db.select(User).filter_by(email="other-provider@demo.test"))
    return objects_of(gateway, actor)


def test_another_organizations_objects_answer_404_or_403(app, provider, other_org_objects, gateway):
    token_page = provider.get("/portal/certifications/new").get_data(as_text=True)
    from tests.portal.conftest import read_form

    token = read_form(token_page, "cert-form")["csrf_token"]
    before_events = db.session.scalar(db.select(db.func.count(AuditEvent.id)))
    before_revs = {
        r.id: (r.state, r.lock_version)
        for r in db.session.scalars(
            db.select(ListingRevision).where(
                ListingRevision.id.in_(other_org_objects["revision_id"])
            )
        )
    }
    checked = 0
    for rule in portal_rules(app):
        id_args = [a for a in rule.arguments if ARGUMENT_KINDS[a] is not None]
        if not id_args:
            continue
        for arg in id_args:
            for ident in other_org_objects[arg]:
                values = {a: ident if a == arg else 0 for a in rule.arguments}
                url = rule.build(values, append_unknown=False)[1]
                for method in sorted(rule.methods & {"GET", "POST"}):
                    if method == "GET":
                        resp = provider.get(url)
                        resp.close()
                    else:
                        resp = provider.post(
                            url,
                            data={
                                "csrf_token": token,
                                "note": "x",
                                "type_code": "application",
                                "file": (io.BytesIO(make_pdf()), "a.pdf"),
                            },
                            content_type="multipart/form-data",
                        )
                    assert resp.status_code in (403, 404), (method, url, resp.status_code)
                    checked += 1
    assert checked >= 50
    # nothing changed on the other organization's side
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == before_events
    db.session.expire_all()
    after_revs = {
        r.id: (r.state, r.lock_version)
        for r in db.session.scalars(
            db.select(ListingRevision).where(
                ListingRevision.id.in_(other_org_objects["revision_id"])
            )
        )
    }
    assert after_revs == before_revs
    assert (
        db.session.scalar(
            db.select(db.func.count(Document.id)).where(Document.organization_id == gateway.id)
        )
        == 1
    )


def test_the_same_routes_answer_for_the_owner(app, sign_in_as, other_org_objects):
    """Control: the matrix above fails for the right reason — the owner gets the pages."""
    client = sign_in_as("other-provider@demo.test")
    for rule in portal_rules(app):
        if "GET" not in rule.methods or not rule.arguments or "type_code" in rule.arguments:
            continue
        arg = rule.arguments and next(iter(rule.arguments))
        url = rule.build({arg: other_org_objects[arg][0]}, append_unknown=False)[1]
        resp = client.get(url)
        resp.close()
        assert resp.status_code in (200, 302), (url, resp.status_code)


def test_pages_of_the_portal_need_a_signed_in_provider(app, client, users):
    for rule in portal_rules(app):
        if "GET" in rule.methods and not rule.arguments:
            resp = client.get(rule.rule)
            assert resp.status_code == 302 and "/login" in resp.headers["Location"], rule.rule
    # DMH staff use their own pages; the portal's area rule refuses them
    assert not can(users.reviewer, "use_portal")
    assert can(
        users.reviewer,
        "download",
        db.session.scalars(db.select(Document)).first() or Document(organization_id=1),
    )
