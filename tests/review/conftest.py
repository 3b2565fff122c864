"""Fixtures of the review tests: demo items by name, and factories for items in any state."""

from __future__ import annotations

import copy

import pytest
from review_helpers import csrf_of, live_listing, pending_bluestem

from models import ListingRevision, db
from models.listings import workflow as wf


@pytest.fixture(autouse=True)
def _session_ends_with_each_request(app):
    """As in production, each request's database session ends with the request (objects loaded
    with per-page options, e.g. raiseload, must not leak into the next request). Tests here
    therefore commit their setup before a request and keep ids, not objects."""
    from flask import request_tearing_down

    from models import db

    def end_session(sender, **extra):
        # as in production, the request's session ends with the request (objects loaded with
        # per-page options, e.g. raiseload, must not leak into the next request)
        db.session.remove()

    request_tearing_down.connect(end_session, app)
    yield
    request_tearing_down.disconnect(end_session, app)


@pytest.fixture(autouse=True)
def _celery_bound_to_the_test_app(app):
    """Every create_app() makes its Celery app the process default, so after a live test the
    shared tasks would run inside the live app (and its dropped database). Tests here enqueue
    through the session app's Celery."""
    app.extensions["celery"].set_current()
    app.extensions["celery"].set_default()
    yield


@pytest.fixture
def bluestem_rev(app):
    rev = pending_bluestem()
    assert rev is not None
    return rev


@pytest.fixture
def make_revision(users):
    """A revision of a live listing in the requested state, made through the operations."""

    def _make(state: str, *, phone: str = "+15735550111") -> ListingRevision:
        provider = users.provider
        reviewer = users.reviewer
        lst = live_listing(provider.organization.name)
        data = copy.deepcopy(lst.live_revision.data)
        data["phones"] = [{"number": phone, "kind": "voice", "description": ""}]
        rev = wf.save_draft(lst, data, provider)
        if state == "draft":
            return rev
        wf.submit_revision(rev, provider, "test change")
        if state == "submitted":
            return rev
        if state == "withdrawn":
            return wf.withdraw_revision(rev, provider)
        wf.claim(rev, reviewer)
        if state == "in_review":
            return rev
        if state == "approved":
            return wf.approve(rev, reviewer)
        if state == "rejected":
            return wf.reject(rev, reviewer, "Not this one.")
        if state == "changes_requested":
            wf.add_comment(reviewer, "Fix the phone.", revision=rev, field="phones")
            return wf.request_changes(rev, reviewer)
        if state == "superseded":
            wf.approve(rev, reviewer)
            data2 = copy.deepcopy(data)
            data2["description"] = (data2.get("description") or "") + " More."
            nxt = wf.save_draft(lst, data2, provider)
            wf.submit_revision(nxt, provider)
            wf.approve(nxt, reviewer)
            db.session.refresh(rev)
            assert rev.state == "superseded"
            return rev
        raise ValueError(state)

    return _make


@pytest.fixture
def send():
    """POST a form with a CSRF token scraped from `form_url` (the page the form lives on)."""

    def _send(client, url: str, data: dict | None = None, *, form_url: str, **kw):
        data = dict(data or {})
        data.setdefault("csrf_token", csrf_of(client, form_url))
        return client.post(url, data=data, **kw)

    return _send


@pytest.fixture
def decide(client, login, send):
    """Commit the setup, sign in (as the reviewer by default) and record a decision on a
    revision through its page's form. Returns the response."""

    def _decide(rev, decision: str, note: str = "", *, who: str = "reviewer", **extra):
        db.session.commit()
        rev_id, version = rev.id, rev.lock_version
        login(who)
        page = f"/review/revisions/{rev_id}"
        data = {"decision": decision, "note": note, "lock_version": version, **extra}
        return send(client, f"{page}/decision", data, form_url=page)

    return _decide
