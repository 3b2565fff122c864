"""Every revision transition allowed from each state and refused from the others: in the
model operations, and the same through the HTTP decision route."""

from __future__ import annotations

import pytest
from review_helpers import text_of

from models import ConflictError, ListingRevision, WorkflowError, db
from models.listings import REVISION_TRANSITIONS
from models.listings import workflow as wf

STATES = [
    "draft",
    "submitted",
    "in_review",
    "changes_requested",
    "approved",
    "rejected",
    "withdrawn",
    "superseded",
]
PENDING = {"submitted", "in_review"}


def do(op: str, rev, users):
    reviewer, provider = users.reviewer, users.provider
    if op == "approve":
        return wf.approve(rev, reviewer)
    if op == "request_changes":
        wf.add_comment(reviewer, "Please check.", revision=rev, field="phones")
        return wf.request_changes(rev, reviewer)
    if op == "reject":
        return wf.reject(rev, reviewer, "Duplicate of another listing.")
    if op == "claim":
        return wf.claim(rev, reviewer)
    if op == "withdraw":
        return wf.withdraw_revision(rev, provider)
    if op == "submit":
        return wf.submit_revision(rev, provider)
    raise ValueError(op)


ALLOWED = {
    "approve": PENDING,
    "request_changes": PENDING,
    "reject": PENDING,
    "claim": PENDING,
    "withdraw": {s for s, targets in REVISION_TRANSITIONS.items() if "withdrawn" in targets},
    "submit": {s for s, targets in REVISION_TRANSITIONS.items() if "submitted" in targets},
}
RESULT = {
    "approve": "approved",
    "request_changes": "changes_requested",
    "reject": "rejected",
    "claim": "in_review",
    "withdraw": "withdrawn",
    "submit": "submitted",
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("op", list(ALLOWED))
def test_operation_from_each_state(make_revision, users, state, op):
    rev = make_revision(state)
    assert rev.state == state
    if state in ALLOWED[op]:
        do(op, rev, users)
        db.session.refresh(rev)
        assert rev.state == RESULT[op]
    else:
        with pytest.raises(WorkflowError):
            do(op, rev, users)
        db.session.refresh(rev)
        assert rev.state == state


def test_a_decided_revision_names_who_decided(make_revision, users):
    rev = make_revision("approved")
    with pytest.raises(ConflictError, match="already decided by"):
        wf.reject(rev, users.reviewer, "too late")


def test_approval_makes_live_supersedes_and_stamps(make_revision, users):
    rev = make_revision("in_review")
    listing = rev.listing
    old = listing.live_revision
    wf.approve(rev, users.reviewer, "ok")
    assert listing.live_revision_id == rev.id
    assert old.state == "superseded" and old.superseded_at is not None
    assert listing.verified_at == rev.decided_at and listing.verified_by_id == users.reviewer.id


def test_request_changes_needs_an_open_comment(make_revision, users):
    rev = make_revision("in_review")
    with pytest.raises(WorkflowError, match="at least one comment"):
        wf.request_changes(rev, users.reviewer)


def test_reject_needs_a_reason(make_revision, users):
    rev = make_revision("in_review")
    with pytest.raises(WorkflowError, match="reason"):
        wf.reject(rev, users.reviewer, "  ")


def test_a_stale_page_cannot_decide(make_revision, users):
    rev = make_revision("submitted")
    seen = rev.lock_version
    wf.claim(rev, users.get("reviewer2@demo.test"))
    with pytest.raises(ConflictError, match="changed after you opened it"):
        wf.approve(rev, users.reviewer, expected_version=seen)


# ------------------------------------------------------------------ through HTTP

DECISIONS = {"approve": "approved", "request_changes": "changes_requested", "reject": "rejected"}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("decision", list(DECISIONS))
def test_decision_route_from_each_state(client, login, send, make_revision, users, state, decision):
    rev = make_revision(state)
    if decision == "request_changes" and state in PENDING:
        wf.add_comment(users.reviewer, "Please check the hours.", revision=rev, field="hours")
    db.session.commit()
    rev_id, version = rev.id, rev.lock_version
    login("reviewer")
    page = f"/review/revisions/{rev_id}"
    resp = send(
        client,
        f"{page}/decision",
        {"decision": decision, "note": "Because.", "lock_version": version},
        form_url=page,
    )
    after = db.session.get(ListingRevision, rev_id)
    if state in PENDING:
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/review/queue")
        assert after.state == DECISIONS[decision]
        assert after.decided_by_id == users.reviewer.id
    else:
        assert resp.status_code == 303
        assert after.state == state
        shown = text_of(client.get(page))
        assert "already decided by" in shown or "not waiting for a decision" in shown


def test_reject_without_reason_shows_the_error_by_the_field(decide, make_revision):
    rev = make_revision("submitted")
    rev_id = rev.id
    resp = decide(rev, "reject")
    assert resp.status_code == 422
    html = text_of(resp)
    assert 'id="note-error"' in html and "Say why the change is rejected" in html
    assert db.session.get(ListingRevision, rev_id).state == "submitted"


def test_request_changes_without_comment_is_refused(client, login, send, make_revision):
    rev = make_revision("submitted")
    db.session.commit()
    rev_id, version = rev.id, rev.lock_version
    login("reviewer")
    page = f"/review/revisions/{rev_id}"
    send(
        client,
        f"{page}/decision",
        {"decision": "request_changes", "lock_version": version},
        form_url=page,
    )
    assert "at least one comment" in text_of(client.get(page))
    assert db.session.get(ListingRevision, rev_id).state == "submitted"
