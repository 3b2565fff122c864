"""Every manage.* route refuses providers and reviewers (403) and sends anonymous visitors to
the sign-in page; the provider colleague pages are for organization administrators."""

from __future__ import annotations

import pytest
from manage_helpers import page_token

from tests.conftest import get_csrf, sign_in

SAMPLE_ARGS = {
    "org_id": 1,
    "user_id": 1,
    "kind": "service_type",
    "key": "bhcc",
    # objects the demo data has none of (releases, publish runs, webhooks, PDF previews): their
    # pages are exercised with real objects in tests/publishing and tests/pdf
    "number": 1,
    "run_id": 1,
    "hook_id": 1,
    "token": "0" * 32,
    "name": "directory.pdf",
}
NO_DEMO_OBJECT = {
    "manage.release_detail",
    "manage.publish_run",
    "manage.webhook_detail",
    "manage.pdf_preview",
    "manage.pdf_preview_file",
}


def manage_routes(app):
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("manage."):
            continue
        args = {a: SAMPLE_ARGS[a] for a in rule.arguments}
        if rule.endpoint == "manage.import_template":
            args["kind"] = "organizations"
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **args)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, url))
    return out


def test_the_matrix_covers_every_area(app):
    endpoints = {e for e, _m, _u in manage_routes(app)}
    for expected in (
        "manage.organizations",
        "manage.person_invite",
        "manage.reference_edit",
        "manage.import_run",
        "manage.audit_log",
        "manage.audit_verify",
        "manage.person_reset_2fa",
        "manage.people_csv",
    ):
        assert expected in endpoints


@pytest.mark.parametrize("who", ["provider", "reviewer"])
def test_non_admins_are_refused_everywhere(app, who):
    client = app.test_client()
    assert sign_in(client, f"{who}@demo.test").status_code == 302
    token = page_token(client)
    refused = []
    for endpoint, method, url in manage_routes(app):
        resp = client.get(url) if method == "GET" else client.post(url, data={"csrf_token": token})
        if resp.status_code != 403:
            refused.append((endpoint, method, resp.status_code))
    assert refused == []


def test_anonymous_visitors_are_sent_to_sign_in(app):
    client = app.test_client()
    token = get_csrf(client, "/login")
    wrong = []
    for endpoint, method, url in manage_routes(app):
        resp = client.get(url) if method == "GET" else client.post(url, data={"csrf_token": token})
        if resp.status_code != 302 or "/login" not in resp.headers.get("Location", ""):
            wrong.append((endpoint, method, resp.status_code))
    assert wrong == []


def test_admin_reaches_every_get_page(app, admin_client):
    broken = []
    for endpoint, method, url in manage_routes(app):
        if method != "GET":
            continue
        resp = admin_client.get(url)
        expected = (200, 404) if endpoint in NO_DEMO_OBJECT else (200,)
        if resp.status_code not in expected:
            broken.append((endpoint, resp.status_code))
    assert broken == []


def test_colleague_pages_need_an_org_admin(app, users):
    client = app.test_client()
    sign_in(client, "colleague@demo.test")  # a provider, not an organization administrator
    assert client.get("/portal/colleagues").status_code == 200
    assert client.get("/portal/colleagues/history").status_code == 403
    token = page_token(client)
    resp = client.post(
        "/portal/colleagues", data={"csrf_token": token, "email": "x@example.org", "name": "X"}
    )
    assert resp.status_code == 403
    reviewer = app.test_client()
    sign_in(reviewer, "reviewer@demo.test")
    assert reviewer.get("/portal/colleagues").status_code == 403


def test_org_admin_cannot_remove_another_organizations_user(app, users):
    client = app.test_client()
    sign_in(client, "provider@demo.test")
    other = users.get("other-provider@demo.test")
    resp = client.post(
        f"/portal/colleagues/{other.id}/remove", data={"csrf_token": page_token(client)}
    )
    assert resp.status_code == 404
    assert users.get("other-provider@demo.test").is_active
