"""The permission matrix: every rule of app.url_map, every method, for an anonymous visitor,
the provider of organization A, the provider of organization B, a reviewer and an admin.

Each endpoint has an access class in ACCESS, an explicit table: a route missing from it fails
the test, so a new route cannot ship without someone deciding who may use it. The class says,
per person, the expected answer: sent to sign in, refused (403), refused or not found (another
organization's objects: 403 or 404), or served (anything below 500 that is not a refusal;
exactly 200 for a GET page that takes no argument). The objects in the URLs belong to
organization A and are made by the factories, not borrowed from the demo data.

The areas' own access tests go further where this one stops (tests/portal/test_portal_access.py
calls every portal route with every object of another organization; tests/manage and
tests/review check what a refused form does not change)."""

from __future__ import annotations

import pytest

from models import db
from models.listings import workflow as wf
from tests.conftest import csrf_from, get_csrf
from tests.factories import (
    CertificationFactory,
    DocumentFactory,
    ListingFactory,
    ProviderFactory,
)

# ------------------------------------------------------------------ the table

PUBLIC = "public"  # anyone, signed in or not
SIGNED_IN = "signed in"  # anyone signed in (the start page sends each to their area)
SIGN_IN_STEP = "sign-in step"  # only in the middle of a sign-in: everyone else starts again
SIGN_OUT = "sign out"
PROVIDER = "provider"  # providers, each within their own organization
ORG_ADMIN = "organization admin"  # a provider who administers their organization
STAFF = "staff"  # reviewers and admins
ADMIN = "admin"  # admins only

ACCESS = {
    # sign-in, password, invitation and e-mailed verification pages; health
    "auth.accept_invitation": PUBLIC,
    "auth.forgot_password": PUBLIC,
    "auth.healthz": PUBLIC,
    "auth.index": SIGNED_IN,
    "auth.login": PUBLIC,
    "auth.logout": SIGN_OUT,
    "auth.reset_password": PUBLIC,
    "auth.totp_setup": SIGN_IN_STEP,
    "auth.totp_verify": SIGN_IN_STEP,
    "auth.verify_listing": PUBLIC,
    # published data and public help
    "bootstrap.static": PUBLIC,
    "static": PUBLIC,
    "help.find_help": PUBLIC,
    "help.static": PUBLIC,
    "feeds.api_capacity": PUBLIC,
    "feeds.api_changes": PUBLIC,
    "feeds.api_counties": PUBLIC,
    "feeds.api_county": PUBLIC,
    "feeds.api_openapi": PUBLIC,
    "feeds.api_organization": PUBLIC,
    "feeds.api_organizations": PUBLIC,
    "feeds.api_profile": PUBLIC,
    "feeds.api_root": PUBLIC,
    "feeds.api_service": PUBLIC,
    "feeds.api_service_at_location": PUBLIC,
    "feeds.api_service_at_locations": PUBLIC,
    "feeds.api_services": PUBLIC,
    "feeds.api_taxonomies": PUBLIC,
    "feeds.api_taxonomy": PUBLIC,
    "feeds.api_taxonomy_term": PUBLIC,
    "feeds.api_taxonomy_terms": PUBLIC,
    "feeds.api_unknown": PUBLIC,
    "feeds.current_capacity": PUBLIC,
    "feeds.current_file": PUBLIC,
    "feeds.release_file": PUBLIC,
    # the provider portal
    "portal.attest_listing": PROVIDER,
    "portal.capacity_reminders": ORG_ADMIN,
    "portal.certification_detail": PROVIDER,
    "portal.certifications": PROVIDER,
    "portal.colleague_history": ORG_ADMIN,
    "portal.colleague_invite": ORG_ADMIN,
    "portal.colleague_remove": ORG_ADMIN,
    "portal.colleagues": PROVIDER,
    "portal.create_listing": PROVIDER,
    "portal.dashboard": PROVIDER,
    "portal.discard_draft": PROVIDER,
    "portal.download_document": PROVIDER,
    "portal.edit_listing": PROVIDER,
    "portal.listing_capacity": PROVIDER,
    "portal.listing_changes": PROVIDER,
    "portal.listing_detail": PROVIDER,
    "portal.new_certification": PROVIDER,
    "portal.new_listing": PROVIDER,
    "portal.submit_revision": PROVIDER,
    "portal.upload_document": PROVIDER,
    "portal.withdraw_certification": PROVIDER,
    "portal.withdraw_revision": PROVIDER,
    # DMH review
    "review.assign": ADMIN,  # only an admin hands work to a reviewer
    "review.capacity": STAFF,
    "review.certification": STAFF,
    "review.certification_comment": STAFF,
    "review.certification_decision": STAFF,
    "review.claim": STAFF,
    "review.compare": STAFF,
    "review.coverage": STAFF,
    "review.coverage_csv": STAFF,
    "review.dashboard": STAFF,
    "review.document": STAFF,
    "review.document_verify": STAFF,
    "review.index": STAFF,
    "review.listing_history": STAFF,
    "review.queue": STAFF,
    "review.reinstate": STAFF,
    "review.release": STAFF,
    "review.reverification": STAFF,
    "review.revision": STAFF,
    "review.revision_comment": STAFF,
    "review.revision_decision": STAFF,
    "review.suspend": STAFF,
    # administration
    "manage.audit_csv": ADMIN,
    "manage.audit_log": ADMIN,
    "manage.audit_verify": ADMIN,
    "manage.import_check": ADMIN,
    "manage.import_run": ADMIN,
    "manage.import_start": ADMIN,
    "manage.import_template": ADMIN,
    "manage.index": ADMIN,
    "manage.organization": ADMIN,
    "manage.organization_deactivate": ADMIN,
    "manage.organization_edit": ADMIN,
    "manage.organization_new": ADMIN,
    "manage.organization_reactivate": ADMIN,
    "manage.organizations": ADMIN,
    "manage.organizations_csv": ADMIN,
    "manage.pdf_preview": ADMIN,
    "manage.pdf_preview_file": ADMIN,
    "manage.pdf_previews": ADMIN,
    "manage.people": ADMIN,
    "manage.people_csv": ADMIN,
    "manage.person": ADMIN,
    "manage.person_deactivate": ADMIN,
    "manage.person_edit": ADMIN,
    "manage.person_invite": ADMIN,
    "manage.person_reactivate": ADMIN,
    "manage.person_resend_invitation": ADMIN,
    "manage.person_reset_2fa": ADMIN,
    "manage.publish_now": ADMIN,
    "manage.publish_run": ADMIN,
    "manage.reference": ADMIN,
    "manage.reference_edit": ADMIN,
    "manage.reference_new": ADMIN,
    "manage.release_detail": ADMIN,
    "manage.releases": ADMIN,
    "manage.rollback": ADMIN,
    "manage.start_pdf_preview": ADMIN,
    "manage.webhook_detail": ADMIN,
    "manage.webhook_toggle": ADMIN,
    "manage.webhooks": ADMIN,
}

PEOPLE = ("anonymous", "provider_a", "provider_b", "reviewer", "admin")
# the answers
LOGIN = "sign in"  # 302 to /login
REFUSED = "403"
NOT_THEIRS = "403 or 404"  # another organization's object: refused or not found
SERVED = "served"

EXPECTED = {
    PUBLIC: dict.fromkeys(PEOPLE, SERVED),
    SIGNED_IN: {**dict.fromkeys(PEOPLE, SERVED), "anonymous": LOGIN},
    SIGN_IN_STEP: dict.fromkeys(PEOPLE, LOGIN),
    SIGN_OUT: dict.fromkeys(PEOPLE, LOGIN),
    PROVIDER: {
        "anonymous": LOGIN,
        "provider_a": SERVED,
        "provider_b": SERVED,  # NOT_THEIRS where the URL names organization A's objects
        "reviewer": REFUSED,
        "admin": REFUSED,
    },
    ORG_ADMIN: {
        "anonymous": LOGIN,
        "provider_a": SERVED,
        "provider_b": REFUSED,  # not an administrator of organization B
        "reviewer": REFUSED,
        "admin": REFUSED,
    },
    STAFF: {
        "anonymous": LOGIN,
        "provider_a": REFUSED,
        "provider_b": REFUSED,
        "reviewer": SERVED,
        "admin": SERVED,
    },
    ADMIN: {
        "anonymous": LOGIN,
        "provider_a": REFUSED,
        "provider_b": REFUSED,
        "reviewer": REFUSED,
        "admin": SERVED,
    },
}
# URL arguments that name one organization's objects
OBJECT_ARGUMENTS = {
    "listing_id",
    "revision_id",
    "certification_id",
    "document_id",
    "user_id",
    "item_id",
    "doc_id",
    "org_id",
}


def expected(endpoint: str, rule, person: str) -> str:
    answer = EXPECTED[ACCESS[endpoint]][person]
    if (
        person == "provider_b"
        and ACCESS[endpoint] in (PROVIDER, ORG_ADMIN)
        and OBJECT_ARGUMENTS & set(rule.arguments)
    ):
        return NOT_THEIRS
    return answer


def observed(resp) -> str:
    if resp.status_code == 302 and "/login" in resp.headers.get("Location", "").split("?")[0]:
        return LOGIN
    if resp.status_code == 403:
        return REFUSED
    return SERVED


def matches(want: str, endpoint: str, rule, method: str, resp) -> bool:
    if resp.status_code >= 500:
        return False
    if want == NOT_THEIRS:
        return resp.status_code in (403, 404)
    got = observed(resp)
    if got != want:
        return False
    own_area = ACCESS[endpoint] in (PROVIDER, ORG_ADMIN, STAFF, ADMIN)
    if want == SERVED and method == "GET" and not rule.arguments and own_area:
        return resp.status_code == 200  # a page of the person's own area
    return True


# ------------------------------------------------------------------ the objects in the URLs


@pytest.fixture
def url_args(app, provider_a, provider_b, reviewer, admin, build):
    """Organization A's objects: a live listing with a draft change, a listing waiting for
    review, a certification with a document, a colleague; and a published release."""
    org = provider_a.organization
    live = ListingFactory(organization=org, by=provider_a, reviewer=reviewer)
    changed = dict(live.live_revision.data, description="Changed for the matrix.")
    draft = wf.save_draft(live, changed, provider_a)
    pending = ListingFactory(organization=org, by=provider_a, live=False)
    wf.submit_revision(pending.open_revision, provider_a, "For the matrix.")
    cert = CertificationFactory(organization=org, by=provider_a, status="submitted")
    doc = DocumentFactory(certification=cert)
    colleague = ProviderFactory(organization=org)
    db.session.commit()
    assert build().number is not None
    return {
        "listing_id": live.id,
        "revision_id": draft.id,
        "submitted_revision_id": pending.open_revision.id,
        "certification_id": cert.id,
        "document_id": doc.id,
        "doc_id": doc.id,
        "user_id": colleague.id,
        "item_id": pending.open_revision.id,
        "org_id": org.id,
        "type_code": "ere",
        "kind": "revisions",
        "key": "ere",
        "number": 1,
        "run_id": 1,
        "hook_id": 1,
        "token": "0" * 32,
        "name": "directory.pdf",
        "filename": "css/registry.css",
        "ident": "00000000-0000-0000-0000-000000000000",
        "fips": "29019",
        "relpath": "manifest.json",
        "rest": "unknown",
    }


ENDPOINT_ARGS = {  # where an argument's name means something else
    "portal.withdraw_revision": {"revision_id": "submitted_revision_id"},
}
FIXED_ARGS = {
    "manage.reference_edit": {"kind": "service_type"},
    "manage.reference_new": {"kind": "service_type"},
    "manage.import_template": {"kind": "organizations"},
}


def calls(app, args):
    """(endpoint, rule, method, url) for every rule and method; signing out comes last."""
    from flask import url_for

    out = []
    for rule in app.url_map.iter_rules():
        names = ENDPOINT_ARGS.get(rule.endpoint, {})
        values = {a: args[names.get(a, a)] for a in rule.arguments}
        values |= FIXED_ARGS.get(rule.endpoint, {})
        with app.test_request_context():
            url = url_for(rule.endpoint, **values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, rule, method, url))
    return sorted(out, key=lambda c: c[0] == "auth.logout")


def token_of(client) -> str:
    html = client.get("/", follow_redirects=True).get_data(as_text=True)
    if 'name="csrf_token"' not in html:
        return get_csrf(client, "/login")
    return csrf_from(html)


# ------------------------------------------------------------------ the tests


def test_every_route_is_in_the_table(app):
    routes = {r.endpoint for r in app.url_map.iter_rules()}
    assert sorted(routes - ACCESS.keys()) == [], "add the new routes to ACCESS"
    assert sorted(ACCESS.keys() - routes) == [], "remove routes that no longer exist"


def test_the_table_knows_every_url_argument(app, url_args):
    unknown = {
        (r.endpoint, a) for r in app.url_map.iter_rules() for a in r.arguments if a not in url_args
    }
    assert unknown == set()


@pytest.mark.parametrize("person", PEOPLE)
def test_permission_matrix(app, person, request, url_args, login_as):
    if person == "anonymous":
        client = app.test_client()
    else:
        client = login_as(request.getfixturevalue(person))
    token = token_of(client)
    connection = request.getfixturevalue("_db_isolation")
    wrong = []
    for endpoint, rule, method, url in calls(app, url_args):
        # each call starts from the same data: what one allowed POST changes (a withdrawal,
        # a deactivation) must not turn the next call into a refusal by state
        db.session.remove()  # its savepoint would enclose ours
        point = connection.begin_nested()
        try:
            if method == "GET":
                resp = client.get(url)
            else:
                resp = client.post(url, data={"csrf_token": token})
            resp.close()  # static files are streamed from an open file
        finally:
            db.session.remove()
            point.rollback()
        want = expected(endpoint, rule, person)
        if not matches(want, endpoint, rule, method, resp):
            wrong.append(f"{method} {url} ({endpoint}): expected {want}, got {resp.status_code}")
    assert wrong == [], "\n".join(wrong)


def test_a_refusal_is_a_refusal_not_a_missing_token(app, url_args, login_as, provider_a):
    """The refusals above are the access checks, not the CSRF check: without a token the same
    POST is refused as a bad request (400), so the token the matrix sends is accepted."""
    client = login_as(provider_a)
    url = f"/review/revisions/{url_args['item_id']}/claim"
    assert client.post(url).status_code == 400
    assert client.post(url, data={"csrf_token": token_of(client)}).status_code == 403


def test_the_matrix_cannot_pass_by_accident():
    """An unguarded staff page (served to a provider) and a 500 are both reported."""

    class Rule:
        arguments: set = set()

    class Resp:
        def __init__(self, code, location=""):
            self.status_code = code
            self.headers = {"Location": location}

    want = expected("review.queue", Rule(), "provider_a")
    assert want == REFUSED
    assert not matches(want, "review.queue", Rule(), "GET", Resp(200))
    assert not matches(SERVED, "auth.login", Rule(), "GET", Resp(500))
    assert matches(LOGIN, "review.queue", Rule(), "GET", Resp(302, "/login?next=/review/queue"))
    assert not matches(LOGIN, "review.queue", Rule(), "GET", Resp(302, "/review/"))
