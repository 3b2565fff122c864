"""Decisions e-mail the organization's active users through a real SMTP server, after commit."""

from __future__ import annotations

import pytest
from review_helpers import pending_bluestem

from models import ListingRevision, db
from models.listings import workflow as wf


def test_eager_celery_settings_are_the_real_names(app):
    from celery import current_app as celery_app

    assert celery_app.conf.task_always_eager is True
    assert celery_app.conf.task_eager_propagates is True


def test_request_changes_mails_the_organization_with_the_field_comment(decide, mail_to_smtp, users):
    rev = pending_bluestem()
    wf.add_comment(
        users.reviewer, "This is the fax line; give the voice number.", revision=rev, field="phones"
    )
    rev_id = rev.id
    resp = decide(rev, "request_changes", "See the comment.")
    assert resp.status_code == 302
    (msg,) = mail_to_smtp.wait_for(1)
    to = msg["To"]
    assert "provider@demo.test" in to and "colleague@demo.test" in to
    assert "other-provider@demo.test" not in to and "reviewer@demo.test" not in to
    assert "sent back for changes" in msg["Subject"]
    body = msg.get_body(preferencelist=("plain",)).get_content()
    assert "Phone numbers: This is the fax line; give the voice number." in body
    assert "See the comment." in body
    assert db.session.get(ListingRevision, rev_id).state == "changes_requested"


def test_suspension_and_reinstatement_are_mailed(client, login, send, mail_to_smtp):
    rev = pending_bluestem()
    listing_id = rev.listing_id
    db.session.commit()
    login("reviewer")
    page = f"/review/listings/{listing_id}"
    resp = send(client, f"{page}/suspend", {"reason": "Phone disconnected."}, form_url=page)
    assert resp.status_code == 302
    send(client, f"{page}/reinstate", {"reason": "Working again."}, form_url=page)
    first, second = mail_to_smtp.wait_for(2)
    assert (
        "suspended" in first["Subject"] and "Phone disconnected." in first.get_body().get_content()
    )
    assert "reinstated" in second["Subject"] and "Working again." in second.get_body().get_content()


def test_a_refused_decision_sends_nothing(client, login, send, mail_to_smtp):
    rev = pending_bluestem()
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
    assert db.session.get(ListingRevision, rev_id).state == "submitted"
    assert mail_to_smtp.messages == []


def test_decisions_and_reminders_reach_the_same_people_never_a_pending_invitee(
    decide, mail_to_smtp, users
):
    """One recipient rule: active provider accounts that accepted their invitation; the
    organization's main e-mail when it has none."""
    from datetime import timedelta

    from models import Organization
    from models.organizations import invite_user, organization_recipients

    rev = pending_bluestem()
    org = db.session.get(Organization, rev.listing.organization_id)
    invite_user(
        email="not-yet@demo.test",
        name="Invited, not accepted",
        role="provider",
        organization=org,
        is_org_admin=False,
        by=users.admin,
        ttl=timedelta(days=7),
    )
    db.session.commit()
    assert organization_recipients(org.id) == ["colleague@demo.test", "provider@demo.test"]
    resp = decide(rev, "approve")
    assert resp.status_code == 302
    (msg,) = mail_to_smtp.wait_for(1)
    assert "not-yet@demo.test" not in msg["To"]
    assert "provider@demo.test" in msg["To"]

    # an organization whose only account has not accepted yet: its main e-mail
    lone = Organization(legal_name="Lone Org", email="office@lone.test")
    db.session.add(lone)
    db.session.flush()
    invite_user(
        email="lone@lone.test",
        name="Lone",
        role="provider",
        organization=lone,
        is_org_admin=True,
        by=users.admin,
        ttl=timedelta(days=7),
    )
    assert organization_recipients(lone.id) == ["office@lone.test"]


def test_a_line_separator_in_a_listing_name_cannot_lose_the_decision_email(decide, mail_to_smtp):
    rev = pending_bluestem()
    rev.name = "Bluestem\u2028Crisis\vLine\x85Now"
    resp = decide(rev, "approve")
    assert resp.status_code == 302
    (msg,) = mail_to_smtp.wait_for(1)
    assert "Bluestem Crisis Line Now" in msg["Subject"]


def test_header_values_fold_every_line_break():
    from tasks.mail import header_value

    breaks = "\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029\x00\t"
    assert header_value(f"a{breaks}b") == "a b"
    assert all(ch not in header_value("x" + ch + "y") for ch in breaks)
    assert header_value("Crisis line: 988") == "Crisis line: 988"


def test_a_mail_that_cannot_be_built_is_recorded_for_admins_not_dropped(app):
    from models import AuditEvent, OutgoingMail, queue_mail
    from tasks.mail import relay

    mail = queue_mail(["x@demo.test"], "Subject", "no_such_template", {})
    db.session.commit()
    relay(mail)  # eager in tests: sent (or not) at once, in the task's own session
    db.session.expire_all()
    row = db.session.get(OutgoingMail, mail.id)
    assert row.sent_at is None and row.failed_at is not None
    assert "TemplateNotFound" in row.error and row.attempts == 1
    event = db.session.scalar(
        db.select(AuditEvent).filter_by(action="mail.failed").order_by(AuditEvent.id.desc())
    )
    assert event is not None and event.object_id == "no_such_template"
    assert "TemplateNotFound" in event.after["error"] and event.after["recipients"] == 1
    # the beat does not hand a failed message over again
    from tasks.mail import relay_outgoing_mail

    assert relay_outgoing_mail() == 0


@pytest.mark.live
def test_a_broker_outage_delays_the_decision_email_and_loses_nothing(app, var_dir, smtp_server):
    """With the broker unreachable the reviewer's approval answers as usual (no 500, no false
    "nothing was saved"); the e-mail waits in the database and the beat's relay sends it once
    the broker is back."""
    from flask import request_started

    from models import OutgoingMail
    from tests.conftest import (
        _fresh_request_globals,
        clone_database,
        csrf_from,
        drop_database,
        make_test_app,
        sign_in,
    )

    url = clone_database(app, var_dir)
    mail_cfg = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_server.port}
    down = make_test_app(
        url,
        var_dir / "broker-down",
        SQLALCHEMY_RECORD_QUERIES=False,
        CELERY_ALWAYS_EAGER=False,
        CELERY_BROKER_URL="redis://127.0.0.1:9/0",  # nothing listens on the discard port
        **mail_cfg,
    )
    request_started.connect(_fresh_request_globals, down)
    try:
        with down.app_context():
            rev = pending_bluestem()
            rev_id, version = rev.id, rev.lock_version
            db.session.remove()
        client = down.test_client()
        with down.app_context():
            assert sign_in(client, "reviewer@demo.test").status_code == 302
            db.session.remove()
        page = f"/review/revisions/{rev_id}"
        token = csrf_from(client.get(page).get_data(as_text=True))
        resp = client.post(
            f"{page}/decision",
            data={"decision": "approve", "note": "", "lock_version": version, "csrf_token": token},
        )
        assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:500]
        follow = client.get(resp.headers["Location"]).get_data(as_text=True)
        assert "Decision recorded: approved" in follow
        with down.app_context():
            assert db.session.get(ListingRevision, rev_id).state == "approved"
            (waiting,) = db.session.scalars(db.select(OutgoingMail)).all()
            assert waiting.sent_at is None and waiting.failed_at is None
            db.session.remove()
        assert smtp_server.messages == []
    finally:
        with down.app_context():
            db.session.remove()
            db.engine.dispose()
        app.extensions["celery"].set_default()  # the session app's (eager) Celery again

    # the broker is back: a worker's beat relays what waited, once
    up = make_test_app(url, var_dir / "broker-up", SQLALCHEMY_RECORD_QUERIES=False, **mail_cfg)
    try:
        from tasks.mail import relay_outgoing_mail

        with up.app_context():
            assert relay_outgoing_mail() == 1
            (msg,) = smtp_server.wait_for(1)
            assert "approved" in msg["Subject"] and "provider@demo.test" in msg["To"]
            assert db.session.scalars(db.select(OutgoingMail)).one().sent_at is not None
            assert relay_outgoing_mail() == 0
    finally:
        with up.app_context():
            db.session.remove()
            db.engine.dispose()
        app.extensions["celery"].set_default()
        drop_database(url)
