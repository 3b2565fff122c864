"""Every state machine: each (from, to) pair of its states is legal exactly when the table below
says so (written out here, not read from the code, so an added or dropped transition fails),
an illegal one raises the one error naming both states, every state has a label for people and
a CHECK constraint; and the domain operations really consult the tables: take a transition out
and the operation that makes it refuses, naming the states."""

from __future__ import annotations

import copy
import re
from datetime import timedelta
from itertools import product
from pathlib import Path

import pytest

from models import db
from models.base import IllegalTransition, StateEnum, StrEnum, WorkflowError, check_in, utcnow
from models.certifications import (
    ACTIVE_STATUSES,
    Certification,
    CertificationBasis,
    CertificationStatus,
    Document,
    DocumentStatus,
    Reminder,
    ReminderKind,
    attach_document,
)
from models.listings import (
    OPEN_STATES,
    PENDING_REVIEW_STATES,
    CapacityStatus,
    CapacityUpdate,
    CountyRole,
    LinkOutcome,
    Listing,
    ListingRevision,
    RevisionCounty,
    RevisionState,
    VerificationLink,
    issue_link,
    set_capacity,
)
from models.listings import workflow as wf
from models.organizations import (
    Invitation,
    InvitationPurpose,
    Organization,
    OrganizationStatus,
    Role,
    User,
    deactivate_organization,
    reactivate_organization,
)
from models.publishing import (
    OutboxEvent,
    OutboxKind,
    PublishRun,
    PublishRunStatus,
    Release,
    ReleaseTrigger,
)

# from-state -> the states it may become, as the product is meant to behave
EXPECTED: dict[type[StateEnum], dict[str, set[str]]] = {
    RevisionState: {
        "draft": {"submitted"},
        "submitted": {"in_review", "withdrawn", "approved", "changes_requested", "rejected"},
        "in_review": {"approved", "changes_requested", "rejected", "submitted"},
        "changes_requested": {"submitted", "withdrawn"},
        "approved": {"superseded"},
        "rejected": set(),
        "withdrawn": set(),
        "superseded": set(),
    },
    CertificationStatus: {
        "submitted": {
            "in_review",
            "on_hold",
            "withdrawn",
            "provisional",
            "certified",
            "conditional",
        },
        "in_review": {
            "submitted",
            "on_hold",
            "withdrawn",
            "provisional",
            "certified",
            "conditional",
        },
        "on_hold": {
            "submitted",
            "in_review",
            "withdrawn",
            "provisional",
            "certified",
            "conditional",
        },
        "provisional": {"certified", "conditional", "expired", "suspended", "revoked"},
        "certified": {"provisional", "conditional", "expired", "suspended", "revoked"},
        "conditional": {"provisional", "certified", "expired", "suspended", "revoked"},
        "suspended": {"provisional", "certified", "conditional", "revoked", "expired"},
        "expired": set(),
        "revoked": set(),
        "withdrawn": set(),
    },
    DocumentStatus: {
        "pending": {"accepted", "rejected"},
        "accepted": {"rejected"},
        "rejected": {"accepted"},
    },
    PublishRunStatus: {
        "running": {"published", "unchanged", "busy", "failed"},
        "published": set(),
        "unchanged": set(),
        "busy": set(),
        "failed": set(),
        "rolled_back": set(),
    },
    OrganizationStatus: {"active": {"inactive"}, "inactive": {"active"}},
    CapacityStatus: {
        s: {"accepting", "limited", "full", "diverting"}
        for s in ("accepting", "limited", "full", "diverting")
    },
    LinkOutcome: {"confirmed": set(), "changed": set()},
}

PAIRS = [
    pytest.param(machine, a, b, id=f"{machine.__name__}:{a}->{b}")
    for machine in EXPECTED
    for a, b in product(machine.values(), machine.values())
]


def test_every_state_machine_is_in_the_table():
    """A new StateEnum needs its expected table here."""

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    assert {c for c in subclasses(StateEnum) if c.__module__.startswith("models.")} == set(EXPECTED)


@pytest.mark.parametrize("machine", list(EXPECTED), ids=lambda m: m.__name__)
def test_the_transition_table_is_the_expected_one(machine):
    assert set(machine.values()) == set(EXPECTED[machine])
    assert {s.value: {t.value for t in ts} for s, ts in machine.transitions().items()} == (
        EXPECTED[machine]
    )


@pytest.mark.parametrize(("machine", "a", "b"), PAIRS)
def test_each_pair_is_legal_exactly_when_the_table_says(machine, a, b):
    source, target = machine(a), machine(b)
    if b in EXPECTED[machine][a]:
        assert source.can_become(target)
        assert machine.check_transition(a, b) is target
        return
    assert not source.can_become(target)
    with pytest.raises(IllegalTransition) as caught:
        machine.check_transition(a, b)
    err = caught.value
    assert isinstance(err, WorkflowError)  # the views' one except clause still catches it
    assert (err.machine, err.from_state, err.to_state) == (machine, source, target)
    assert err.current_state == a
    message = str(err)
    assert source.label.lower() in message and target.label.lower() in message
    assert message.index(source.label.lower()) < message.rindex(target.label.lower())


def test_an_unknown_state_is_not_a_transition():
    with pytest.raises(ValueError, match="'approved_twice' is not a valid RevisionState"):
        RevisionState.check_transition("draft", "approved_twice")


def test_a_table_must_name_every_state_and_a_label_every_member():
    class Light(StateEnum):
        RED = "red"
        GREEN = "green"

    with pytest.raises(ValueError, match="no transitions given for green"):
        Light.set_transitions({Light.RED: {Light.GREEN}}, noun="light")
    with pytest.raises(ValueError, match="no label for red"):
        Light.set_labels({Light.GREEN: "Go"})
    Light.set_transitions({Light.RED: {Light.GREEN}, Light.GREEN: set()}, noun="light")
    Light.set_labels({Light.RED: "Stop", Light.GREEN: "Go"})
    with pytest.raises(IllegalTransition, match="^This light is go; it cannot become stop.$"):
        Light.check_transition("green", "red")


# ------------------------------------------------------------------ labels and CHECKs

LABELS = {
    RevisionState: {
        "draft": "Draft",
        "submitted": "Submitted",
        "in_review": "In review",
        "changes_requested": "Changes requested",
        "approved": "Approved",
        "rejected": "Rejected",
        "withdrawn": "Withdrawn",
        "superseded": "Superseded",
    },
    CertificationStatus: {
        "submitted": "Submitted",
        "in_review": "In review",
        "on_hold": "On hold",
        "provisional": "Provisional",
        "certified": "Certified",
        "conditional": "Conditional",
        "expired": "Expired",
        "suspended": "Suspended",
        "revoked": "Revoked",
        "withdrawn": "Withdrawn",
    },
    DocumentStatus: {"pending": "Pending", "accepted": "Accepted", "rejected": "Rejected"},
    PublishRunStatus: {
        "running": "Running",
        "published": "Published",
        "unchanged": "Unchanged",
        "busy": "Busy",
        "failed": "Failed",
        "rolled_back": "Rolled back",
    },
    OrganizationStatus: {"active": "Active", "inactive": "Deactivated"},
    CapacityStatus: {
        "accepting": "Accepting",
        "limited": "Limited",
        "full": "Full",
        "diverting": "Diverting",
    },
    LinkOutcome: {"confirmed": "Everything is still correct", "changed": "Something changed"},
    CountyRole: {"served": "Served", "primary": "Primary", "backup": "Backup"},
    CertificationBasis: {"survey": "DMH survey", "deemed": "Deemed status"},
    ReleaseTrigger: {"changes": "Changes", "nightly": "Nightly", "manual": "Manual"},
    OutboxKind: {"listing_changed": "Listing changed"},
    Role: {"provider": "Provider", "reviewer": "Reviewer", "admin": "Admin"},
    InvitationPurpose: {"invite": "Invitation", "password_reset": "Password reset"},
}


@pytest.mark.parametrize("enum_cls", list(LABELS), ids=lambda m: m.__name__)
def test_every_member_has_its_label_for_people(enum_cls):
    assert {m.value: m.label for m in enum_cls} == LABELS[enum_cls]


def test_reminder_kinds_are_labelled_too():
    labels = {k.value: k.label for k in ReminderKind}
    assert (
        labels["expires_in_30"] == "Expires in 30 days" and labels["lapsed_1"] == "Lapsed 1 day ago"
    )
    assert all(label[0].isupper() and "_" not in label for label in labels.values())


# every enum-valued column and the enum its CHECK constraint limits it to
COLUMNS = [
    (ListingRevision, "state", RevisionState),
    (RevisionCounty, "role", CountyRole),
    (Certification, "status", CertificationStatus),
    (Certification, "basis", CertificationBasis),
    (Document, "status", DocumentStatus),
    (PublishRun, "status", PublishRunStatus),
    (PublishRun, "trigger", ReleaseTrigger),
    (Release, "trigger", ReleaseTrigger),
    (OutboxEvent, "kind", OutboxKind),
    (Organization, "status", OrganizationStatus),
    (CapacityUpdate, "status", CapacityStatus),
    (VerificationLink, "outcome", LinkOutcome),
    (Reminder, "kind", ReminderKind),
    (User, "role", Role),
    (Invitation, "purpose", InvitationPurpose),
]


@pytest.mark.parametrize(
    ("model", "column", "enum_cls"), COLUMNS, ids=lambda v: getattr(v, "__name__", v)
)
def test_each_enum_column_has_its_check_constraint(model, column, enum_cls):
    checks = {str(c.sqltext) for c in model.__table__.constraints if hasattr(c, "sqltext")}
    assert check_in(column, enum_cls) in checks


def test_no_enum_column_is_left_without_a_check():
    """Every enum in the models below is a column's type and appears in COLUMNS."""
    ours = set(StrEnum.__subclasses__() + StateEnum.__subclasses__()) - {StateEnum}
    ours = {
        e
        for e in ours
        if e.__module__.startswith("models.") and e.__module__ != "models.reference.tables"
    }
    assert ours == {e for _m, _c, e in COLUMNS}


def test_derived_state_sets_follow_the_table():
    assert set(PENDING_REVIEW_STATES) == {"submitted", "in_review"}
    # the provider withdraws from these (in review, a reviewer is working on it)
    assert set(RevisionState.sources_of("withdrawn")) == {"submitted", "changes_requested"}
    assert set(OPEN_STATES) == {"draft", "submitted", "in_review", "changes_requested"}
    # the expiry sweep's conditional UPDATE moves only active statuses to expired
    assert all(CertificationStatus(s).can_become("expired") for s in ACTIVE_STATUSES)


# ------------------------------------------------------------------ the operations consult the tables


def without(monkeypatch, machine: type[StateEnum], source: str, target: str) -> None:
    """Take one transition out of a machine's table for this test."""
    table = machine.transitions()
    table[machine(source)] = table[machine(source)] - {machine(target)}
    monkeypatch.setattr(machine, "_transitions", table)


def refused(call, machine, source: str, target: str) -> IllegalTransition:
    with pytest.raises(IllegalTransition) as caught:
        call()
    err = caught.value
    assert (err.machine, err.from_state, err.to_state) == (machine, source, target)
    return err


@pytest.fixture
def live(users) -> Listing:
    org_id = users.provider.organization_id
    return db.session.scalar(
        db.select(Listing)
        .where(
            Listing.organization_id == org_id,
            Listing.live_revision_id.is_not(None),
            Listing.is_suspended.is_(False),
        )
        .order_by(Listing.id)
        .where(~Listing.revisions.any(ListingRevision.state.in_(OPEN_STATES)))
        .limit(1)
    )


@pytest.fixture
def draft(live, users) -> ListingRevision:
    data = copy.deepcopy(live.live_revision.data)
    data["phones"] = [{"number": "+15735550177", "kind": "voice", "description": ""}]
    return wf.save_draft(live, data, users.provider)


@pytest.fixture
def submitted(draft, users) -> ListingRevision:
    return wf.submit_revision(draft, users.provider, "new number")


def test_approving_a_withdrawn_revision_names_both_states(submitted, users):
    wf.withdraw_revision(submitted, users.provider)
    err = refused(
        lambda: wf.approve(submitted, users.reviewer), RevisionState, "withdrawn", "approved"
    )
    assert str(err) == "This revision is withdrawn; it cannot become approved."
    db.session.refresh(submitted)
    assert submitted.state == RevisionState.WITHDRAWN


def test_withdrawing_an_approved_revision_is_refused(submitted, users):
    wf.approve(submitted, users.reviewer)
    refused(
        lambda: wf.withdraw_revision(submitted, users.provider),
        RevisionState,
        "approved",
        "withdrawn",
    )


REVISION_OPERATIONS = {
    "submit": ("draft", "submitted", lambda rev, u: wf.submit_revision(rev, u.provider)),
    "claim": ("submitted", "in_review", lambda rev, u: wf.claim(rev, u.reviewer)),
    "withdraw": ("submitted", "withdrawn", lambda rev, u: wf.withdraw_revision(rev, u.provider)),
    "approve": ("submitted", "approved", lambda rev, u: wf.approve(rev, u.reviewer)),
    "reject": ("submitted", "rejected", lambda rev, u: wf.reject(rev, u.reviewer, "Duplicate.")),
    "request_changes": (
        "submitted",
        "changes_requested",
        lambda rev, u: (
            wf.add_comment(u.reviewer, "Check it.", revision=rev, field="phones"),
            wf.request_changes(rev, u.reviewer),
        ),
    ),
}


@pytest.mark.parametrize("op", list(REVISION_OPERATIONS))
def test_revision_operations_consult_the_table(monkeypatch, draft, users, op):
    source, target, call = REVISION_OPERATIONS[op]
    if source == "submitted":
        wf.submit_revision(draft, users.provider)
    without(monkeypatch, RevisionState, source, target)
    refused(lambda: call(draft, users), RevisionState, source, target)
    db.session.refresh(draft)
    assert draft.state == source
    monkeypatch.undo()
    call(draft, users)
    db.session.refresh(draft)
    assert draft.state == target


def test_approval_supersedes_the_live_version_through_the_table(
    monkeypatch, live, submitted, users
):
    old_id, rev_id = live.live_revision_id, submitted.id
    db.session.commit()  # the setup stays when the refused approval is rolled back
    without(monkeypatch, RevisionState, "approved", "superseded")
    refused(lambda: wf.approve(submitted, users.reviewer), RevisionState, "approved", "superseded")
    db.session.rollback()
    assert db.session.get(Listing, live.id).live_revision_id == old_id
    monkeypatch.undo()
    wf.approve(db.session.get(ListingRevision, rev_id), users.reviewer)
    assert db.session.get(ListingRevision, old_id).state == RevisionState.SUPERSEDED


@pytest.fixture
def certification(users) -> Certification:
    provider = users.provider
    return wf.submit_certification(provider.organization, "bhcc", provider, note="state test")


def decide(cert, users, status="certified"):
    return wf.decide_certification(
        cert,
        users.reviewer,
        status,
        certificate_number="MO-1",
        effective_on=utcnow().date(),
        expires_on=utcnow().date() + timedelta(days=365),
        note="reason",
    )


CERTIFICATION_OPERATIONS = {
    "claim": ("submitted", "in_review", lambda c, u: wf.claim(c, u.reviewer)),
    "withdraw": ("submitted", "withdrawn", lambda c, u: wf.withdraw_certification(c, u.provider)),
    "certify": ("submitted", "certified", lambda c, u: decide(c, u)),
    "hold": ("submitted", "on_hold", lambda c, u: decide(c, u, "on_hold")),
}


@pytest.mark.parametrize("op", list(CERTIFICATION_OPERATIONS))
def test_certification_operations_consult_the_table(monkeypatch, certification, users, op):
    source, target, call = CERTIFICATION_OPERATIONS[op]
    without(monkeypatch, CertificationStatus, source, target)
    refused(lambda: call(certification, users), CertificationStatus, source, target)
    assert certification.status == source
    monkeypatch.undo()
    call(certification, users)
    assert certification.status == target


def test_a_revoked_certification_cannot_be_certified_again(certification, users):
    decide(certification, users)
    decide(certification, users, "revoked")
    err = refused(lambda: decide(certification, users), CertificationStatus, "revoked", "certified")
    assert str(err) == "This certification is revoked; it cannot become certified."


def test_document_verdicts_consult_the_table(monkeypatch, certification, users):
    doc = attach_document(
        certification,
        type_code="application",
        original_filename="application.pdf",
        storage_name="state-machine-test-file",
        content_type="application/pdf",
        size=10,
        sha256="0" * 64,
        by=users.provider,
    )
    without(monkeypatch, DocumentStatus, "pending", "accepted")
    refused(
        lambda: wf.verify_document(doc, users.reviewer, True), DocumentStatus, "pending", "accepted"
    )
    monkeypatch.undo()
    wf.verify_document(doc, users.reviewer, True)
    without(monkeypatch, DocumentStatus, "accepted", "rejected")
    refused(
        lambda: wf.verify_document(doc, users.reviewer, False, "Unreadable."),
        DocumentStatus,
        "accepted",
        "rejected",
    )
    monkeypatch.undo()
    wf.verify_document(doc, users.reviewer, False, "Unreadable.")
    assert doc.status == DocumentStatus.REJECTED
    wf.verify_document(
        doc, users.reviewer, False, "Still unreadable."
    )  # a new reason, same verdict
    assert doc.status_reason == "Still unreadable."


def test_organization_status_consults_the_table(monkeypatch, users):
    org = users.provider.organization
    err = refused(
        lambda: reactivate_organization(org, by=users.admin), OrganizationStatus, "active", "active"
    )
    assert str(err) == f"{org.name} is already active."
    without(monkeypatch, OrganizationStatus, "active", "inactive")
    refused(
        lambda: deactivate_organization(org, by=users.admin),
        OrganizationStatus,
        "active",
        "inactive",
    )
    monkeypatch.undo()
    deactivate_organization(org, by=users.admin)
    assert org.status == OrganizationStatus.INACTIVE
    refused(
        lambda: deactivate_organization(org, by=users.admin),
        OrganizationStatus,
        "inactive",
        "inactive",
    )
    reactivate_organization(org, by=users.admin)
    assert org.is_active


def test_capacity_reports_consult_the_table(monkeypatch, users):
    listing = next(
        lst
        for lst in db.session.scalars(
            db.select(Listing).where(Listing.live_revision_id.is_not(None))
        )
        if lst.service_type.has_capacity
    )
    staff = users.provider
    set_capacity(listing, staff, "full")
    without(monkeypatch, CapacityStatus, "full", "accepting")
    refused(lambda: set_capacity(listing, staff, "accepting"), CapacityStatus, "full", "accepting")
    monkeypatch.undo()
    assert set_capacity(listing, staff, "accepting").status == CapacityStatus.ACCEPTING
    assert set_capacity(listing, staff, "accepting").status == CapacityStatus.ACCEPTING  # renewed


def test_an_answered_link_keeps_its_answer(live, users):
    issue_link(live, users.provider)
    link = db.session.scalar(db.select(VerificationLink).order_by(VerificationLink.id.desc()))
    link.answer(LinkOutcome.CONFIRMED)
    db.session.flush()
    err = refused(lambda: link.answer(LinkOutcome.CHANGED), LinkOutcome, "confirmed", "changed")
    assert str(err) == (
        "This link was already answered “Everything is still correct”; it cannot also answer "
        "“Something changed”."
    )
    assert link.outcome == LinkOutcome.CONFIRMED and link.used_at is not None


def test_a_publish_run_ends_once(monkeypatch, users):
    run = PublishRun(trigger=ReleaseTrigger.MANUAL.value, triggered_by_id=users.admin.id)
    db.session.add(run)
    db.session.flush()
    without(monkeypatch, PublishRunStatus, "running", "failed")
    refused(
        lambda: run.finish(PublishRunStatus.FAILED, error="x"),
        PublishRunStatus,
        "running",
        "failed",
    )
    monkeypatch.undo()
    run.finish(PublishRunStatus.FAILED, error="The job queue is down.")
    assert run.finished_at is not None and run.error == "The job queue is down."
    refused(lambda: run.finish(PublishRunStatus.PUBLISHED), PublishRunStatus, "failed", "published")


# ------------------------------------------------------------------ templates speak in members

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# a state, status, basis or role compared with a string literal
LITERAL_COMPARISON = re.compile(
    r"\b(state|status|basis|role|outcome|trigger)\s*(==|!=|(not\s+)?in\s*[\(\[])\s*['\"]"
)
# the editor still compares with a literal (owned elsewhere; listed in the change's report); a
# PDF preview's progress is a JSON file of tasks/pdf_preview.py, not a state column
NOT_YET = {"manage/pdf_preview.html"}  # a preview's status file, not a model state


def test_templates_compare_states_with_members_not_strings():
    found = [
        f"{path.relative_to(TEMPLATES)}:{n}: {line.strip()[:120]}"
        for path in sorted(TEMPLATES.rglob("*"))
        if path.suffix in (".html", ".txt") and "pdf" not in path.parts
        if str(path.relative_to(TEMPLATES)) not in NOT_YET
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if LITERAL_COMPARISON.search(line)
    ]
    assert found == []


def test_publish_now_with_the_queue_down_ends_the_run_as_failed(monkeypatch, client, login):
    from tasks.publish import publish_release
    from tests.conftest import post

    def queue_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(publish_release, "delay", queue_down)
    login("admin")
    resp = post(client, "/manage/releases/publish", form_url="/manage/releases")
    assert resp.status_code == 302
    run = db.session.scalar(db.select(PublishRun).order_by(PublishRun.id.desc()))
    assert run.status == PublishRunStatus.FAILED and run.finished_at is not None
    assert run.error.startswith("The job queue is not reachable")
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "The build failed: The job queue is not reachable" in page


def test_the_label_filter_and_badge_colours_come_from_the_enums():
    from admin.templating import BADGE_COLORS, state_label

    assert state_label("changes_requested") == "changes requested"
    assert state_label(PublishRunStatus.ROLLED_BACK) == "rolled back"
    assert state_label("listing_revision") == "listing revision"  # not a state: spaced out
    assert state_label(None) == ""
    assert {*RevisionState.values(), *CertificationStatus.values()} <= set(BADGE_COLORS)
