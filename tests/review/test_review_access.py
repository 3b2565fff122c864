"""Only reviewers and admins reach any review route: every rule of app.url_map under the
review blueprint, for anonymous visitors, providers, reviewers and admins."""

from __future__ import annotations

import re

import pytest
from review_helpers import csrf_of, pending_bluestem, pending_certification

from models import Document, db


@pytest.fixture
def sample_args(app, users):
    rev = pending_bluestem()
    cert = pending_certification()
    doc = Document(
        organization_id=cert.organization_id,
        certification_id=cert.id,
        type_code=db.session.scalar(
            db.select(db.text("code")).select_from(db.text("document_type")).limit(1)
        ),
        original_filename="survey.pdf",
        storage_name="access-test-doc",
        content_type="application/pdf",
        size=10,
        sha256="0" * 64,
    )
    db.session.add(doc)
    db.session.commit()
    return {
        "item_id": rev.id,
        "kind": "revisions",
        "listing_id": rev.listing_id,
        "doc_id": doc.id,
        "cert_id": cert.id,
    }


# endpoints of admin/review/views.py (coverage and dashboard modules bring their own tests)
MINE = (
    "review.index",
    "review.queue",
    "review.revision",
    "review.certification",
    "review.listing_history",
    "review.compare",
)


def review_rules(app):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("review.")]
    assert len(rules) >= 17, [r.rule for r in rules]
    return rules


def url_for_rule(rule, args):
    """Known arguments get real ids; any other argument (routes added later) a plain value,
    since refusals happen before anything is loaded."""
    url = rule.rule.replace("<any(revisions, certifications):kind>", args["kind"])
    for name in ("item_id", "listing_id", "doc_id"):
        url = url.replace(f"<int:{name}>", str(args[name]))
    url = re.sub(r"<int:[^>]+>", "1", url)
    return re.sub(r"<[^>]+>", "x", url)


def calls(client, app, args, token):
    for rule in review_rules(app):
        url = url_for_rule(rule, args)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "GET":
                yield rule, method, client.get(url)
            else:
                yield rule, method, client.post(url, data={"csrf_token": token})


def test_anonymous_visitors_are_sent_to_sign_in(client, app, sample_args):
    token = csrf_of(client, "/login")
    for rule, method, resp in calls(client, app, sample_args, token):
        assert resp.status_code == 302, (method, rule.rule, resp.status_code)
        assert "/login" in resp.headers["Location"], (method, rule.rule)


@pytest.mark.parametrize("who", ["provider", "other-provider"])
def test_providers_are_refused_everywhere(client, app, login, sample_args, who):
    login(who)
    token = csrf_of(client, "/portal/")
    for rule, method, resp in calls(client, app, sample_args, token):
        assert resp.status_code in (403, 404), (who, method, rule.rule, resp.status_code)


@pytest.mark.parametrize("who", ["reviewer", "admin"])
def test_staff_reach_every_review_page(client, app, login, sample_args, who):
    login(who)
    for rule in review_rules(app):
        if "GET" not in rule.methods or "doc_id" in rule.rule or not rule.endpoint.startswith(MINE):
            continue
        url = url_for_rule(rule, sample_args)
        if rule.endpoint == "review.certification":
            url = f"/review/certifications/{sample_args['cert_id']}"
        if rule.endpoint == "review.compare":
            url += f"?a={sample_args['item_id']}&b={sample_args['item_id']}"
        resp = client.get(url)
        assert resp.status_code == 200, (who, url, resp.status_code)
    # the stored file of the sample document does not exist: a clean 404, never a 500
    assert client.get(f"/review/documents/{sample_args['doc_id']}").status_code == 404
