"""The certification and re-verification sweeps, with time frozen at chosen dates."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import psycopg
import pytest
from freezegun import freeze_time

from models import (
    Certification,
    CertificationStatus,
    OutboxEvent,
    Reminder,
    db,
)
from models.certifications import after_lapse_kind, before_expiry_kind
from models.listings import AttentionRank, build_records
from models.listings import workflow as wf
from tasks.sweeps import (
    CERTIFICATION_SWEEP_LOCK,
    run_certification_sweep,
    run_verification_sweep,
)


def at(day, hour=7):
    return datetime.combine(day, time(hour), tzinfo=UTC)


def sweep_on(day):
    with freeze_time(at(day)):
        return run_certification_sweep(day)


def kinds_of(cert_id):
    return [
        r.kind
        for r in db.session.scalars(
            db.select(Reminder).where(Reminder.certification_id == cert_id).order_by(Reminder.id)
        )
    ]


def public_names(day):
    return {r["name"] for r in build_records(day)}


@pytest.fixture
def bluestem_bhcc(demo):
    """Bluestem's BHCC certification (demo: expires 20 days after the demo was loaded)."""
    (cert,) = demo.certs("Bluestem Valley Behavioral Health", "bhcc")
    assert cert.status == "certified" and cert.expires_on is not None
    return cert


def test_stage_functions_pick_the_nearest_threshold():
    assert before_expiry_kind(120) is None
    assert before_expiry_kind(90) == "expires_in_90"
    assert before_expiry_kind(61) == "expires_in_90"
    assert before_expiry_kind(20) == "expires_in_30"
    assert before_expiry_kind(0) == "expires_in_7"
    assert before_expiry_kind(-1) is None
    assert after_lapse_kind(0) is None
    assert after_lapse_kind(1) == "lapsed_1"
    assert after_lapse_kind(13) == "lapsed_1"
    assert after_lapse_kind(14) == "lapsed_14"
    assert after_lapse_kind(44) == "lapsed_30"
    assert after_lapse_kind(45) is None


def test_each_reminder_goes_out_once_across_repeated_sweeps(app, outbox, bluestem_bhcc):
    cert_id, expiry = bluestem_bhcc.id, bluestem_bhcc.expires_on
    offsets = [
        -95,
        -90,
        -90,
        -89,
        -61,
        -60,
        -45,
        -30,
        -29,
        -8,
        -7,
        -3,
        0,
        1,
        1,
        2,
        13,
        14,
        20,
        30,
        31,
        44,
        45,
        60,
    ]
    for offset in offsets:
        sweep_on(expiry + timedelta(days=offset))
    assert kinds_of(cert_id) == [
        "expires_in_90",
        "expires_in_60",
        "expires_in_30",
        "expires_in_7",
        "lapsed_1",
        "lapsed_14",
        "lapsed_30",
    ]
    mine = [
        m
        for m in outbox.messages()
        if "Behavioral Health Crisis Center certification" in m["Subject"]
    ]
    assert len(mine) == 7
    assert len({m["Subject"].strip() for m in mine}) == 7
    for m in mine:
        assert set(m["To"].addresses[i].addr_spec for i in range(len(m["To"].addresses))) == {
            "provider@demo.test",
            "colleague@demo.test",
        }
        body = m.get_body(("plain",)).get_content()
        assert (
            f"http://registry.test/portal/certifications/new?renews={cert_id}" in body
            or "renewal" in body
        )
    first = next(m for m in mine if "90-day notice" in m["Subject"])
    assert (
        f"/portal/certifications/new?renews={cert_id}" in first.get_body(("plain",)).get_content()
    )
    assert all(
        r.delivered_at is not None and r.recipients == 2
        for r in db.session.scalars(db.select(Reminder).where(Reminder.certification_id == cert_id))
    )


def test_a_late_first_sweep_sends_only_the_nearest_reminder(app, outbox, bluestem_bhcc):
    sweep_on(bluestem_bhcc.expires_on - timedelta(days=20))
    assert kinds_of(bluestem_bhcc.id) == ["expires_in_30"]


def test_expiry_removes_the_listing_on_the_next_day(app, outbox, demo, bluestem_bhcc):
    expiry = bluestem_bhcc.expires_on
    covered = {lst.id for lst in bluestem_bhcc.listings}
    names = {lst.display_name for lst in bluestem_bhcc.listings}
    assert names == {"Central Behavioral Health Crisis Center", "Bluestem Youth Crisis Center"}
    result = sweep_on(expiry)
    assert result.expired == [] and bluestem_bhcc.status == "certified"
    assert names <= public_names(expiry)

    pending_before = db.session.scalar(
        db.select(db.func.count(OutboxEvent.id)).where(OutboxEvent.processed_at.is_(None))
    )
    result = sweep_on(expiry + timedelta(days=1))
    db.session.refresh(bluestem_bhcc)
    assert bluestem_bhcc.status == CertificationStatus.EXPIRED
    assert bluestem_bhcc.id in result.expired
    assert set(result.listings_marked) == covered
    events = db.session.scalars(
        db.select(OutboxEvent).where(OutboxEvent.processed_at.is_(None)).order_by(OutboxEvent.id)
    ).all()
    assert len(events) > pending_before
    assert {
        e.payload["listing_id"]
        for e in events
        if e.payload.get("reason") == "certification expired"
    } >= covered
    assert not names & public_names(expiry + timedelta(days=1))
    # a second sweep the same day changes nothing
    again = sweep_on(expiry + timedelta(days=1))
    assert again.expired == [] and again.reminders == []


def test_a_renewal_in_review_keeps_the_listing_public_until_the_old_expiry(
    app, outbox, users, bluestem_bhcc
):
    old = bluestem_bhcc
    expiry = old.expires_on
    names = {lst.display_name for lst in old.listings}
    with freeze_time(at(expiry - timedelta(days=5))):
        renewal = wf.submit_certification(
            old.organization,
            "bhcc",
            users.provider,
            listings=list(old.listings),
            renews=old,
            note="Renewal: survey done.",
        )
        wf.claim(renewal, users.reviewer)
        db.session.commit()
    for offset in range(-5, 1):
        day = expiry + timedelta(days=offset)
        sweep_on(day)
        assert names <= public_names(day), day
        assert old.status == "certified"
    # the renewal was submitted before the 7-day threshold was swept: no "renew now" reminder
    assert kinds_of(old.id) == []
    assert renewal.status == "in_review"

    # still in review when the old one lapses: the listings leave, the provider is told
    sweep_on(expiry + timedelta(days=1))
    db.session.refresh(old)
    assert old.status == "expired"
    assert not names & public_names(expiry + timedelta(days=1))
    assert kinds_of(old.id) == ["lapsed_1"]
    body = outbox.messages()[-1].get_body(("plain",)).get_content()
    assert "Your renewal" in body and "in review" in body

    # approved: listings return, and no further lapse reminders
    with freeze_time(at(expiry + timedelta(days=3))):
        wf.decide_certification(
            renewal,
            users.reviewer,
            "certified",
            certificate_number="DEMO-BHCC-RENEWED",
            effective_on=expiry + timedelta(days=3),
            expires_on=expiry + timedelta(days=3 * 365),
        )
        db.session.commit()
    for offset in (3, 14, 30):
        sweep_on(expiry + timedelta(days=offset))
        assert names <= public_names(expiry + timedelta(days=offset))
    assert kinds_of(old.id) == ["lapsed_1"]


def test_a_renewal_approved_before_expiry_keeps_the_listing_without_a_gap(
    app, outbox, users, bluestem_bhcc
):
    old = bluestem_bhcc
    expiry = old.expires_on
    names = {lst.display_name for lst in old.listings}
    with freeze_time(at(expiry - timedelta(days=10))):
        renewal = wf.submit_certification(
            old.organization, "bhcc", users.provider, listings=list(old.listings), renews=old
        )
        wf.decide_certification(
            renewal,
            users.reviewer,
            "certified",
            certificate_number="DEMO-BHCC-NEXT",
            effective_on=expiry + timedelta(days=1),
            expires_on=expiry + timedelta(days=1096),
        )
        db.session.commit()
    for offset in (-7, 0, 1, 2, 14, 30):
        sweep_on(expiry + timedelta(days=offset))
        assert names <= public_names(expiry + timedelta(days=offset))
    db.session.refresh(old)
    assert old.status == "expired" and renewal.status == "certified"
    assert kinds_of(old.id) == []


def test_a_deemed_certification_follows_its_accreditation(app, outbox, demo):
    (cert,) = demo.certs("Ozark Hollow Community Health", "bhcc")
    assert cert.basis == "deemed" and cert.expires_on is None
    names = {lst.display_name for lst in cert.listings}
    assert names
    accredited_until = cert.accreditation_expires_on
    assert cert.effective_expiry == accredited_until
    sweep_on(accredited_until - timedelta(days=60))
    assert kinds_of(cert.id) == ["expires_in_60"]
    sweep_on(accredited_until)
    assert cert.status == "certified" and names <= public_names(accredited_until)
    sweep_on(accredited_until + timedelta(days=1))
    db.session.refresh(cert)
    assert cert.status == "expired"
    assert not names & public_names(accredited_until + timedelta(days=1))
    assert kinds_of(cert.id)[-1] == "lapsed_1"
    sent = [m["Subject"] for m in outbox.messages()]
    assert any(f"{accredited_until:%B %-d, %Y}" in s for s in sent)


def test_an_organization_scope_certification_lapse_marks_every_listing_that_needs_it(
    app, outbox, demo
):
    (ccbho,) = [c for c in demo.certs("Bluestem Valley Behavioral Health", "ccbho")]
    sobering = demo.listing("Bluestem Sobering Support Center")
    assert sobering.display_name in public_names(ccbho.expires_on)
    result = sweep_on(ccbho.expires_on + timedelta(days=1))
    assert ccbho.id in result.expired
    assert sobering.id in result.listings_marked
    assert db.session.scalar(
        db.select(OutboxEvent).where(
            OutboxEvent.processed_at.is_(None),
            OutboxEvent.payload["listing_id"].as_integer() == sobering.id,
        )
    )
    assert sobering.display_name not in public_names(ccbho.expires_on + timedelta(days=1))


def test_verification_sweep_reminds_then_flags_stale_and_attestation_clears_it(
    app, outbox, demo, users
):
    stale = demo.listing("Community Behavioral Health Liaison — Northwest")
    assert stale.stale_since is None and stale.attention_rank == AttentionRank.SETTLED
    verified = stale.verified_at
    # 370 days after: reminder, not yet stale
    day = verified.date() + timedelta(days=370)
    with freeze_time(at(day)):
        result = run_verification_sweep(day)
    assert result.reminders and stale.stale_since is None
    # 395 days after: stale (and no second reminder in the same cycle)
    day = verified.date() + timedelta(days=395)
    with freeze_time(at(day)):
        result = run_verification_sweep(day)
    db.session.refresh(stale)
    assert stale.id in result.flagged_stale and stale.stale_since is not None
    # first on its organization's dashboard from now on (the rank the dashboard sorts by)
    assert stale.attention_rank == AttentionRank.NEEDS_ACTION
    assert (
        db.session.scalar(
            db.select(db.func.count(Reminder.id)).where(Reminder.listing_id == stale.id)
        )
        == 1
    )
    mails = [
        m
        for m in outbox.messages()
        if "Community Behavioral Health Liaison — Northwest" in m["Subject"]
        and m["Subject"].startswith("Please confirm")
    ]
    reminder = db.session.scalar(db.select(Reminder).where(Reminder.listing_id == stale.id))
    assert len(mails) == reminder.recipients >= 1  # one e-mail per recipient, each its own link
    assert all(m["To"].addresses[0].addr_spec.endswith("demo.test") for m in mails)
    assert len({m["To"] for m in mails}) == len(mails)
    with freeze_time(at(day)):
        again = run_verification_sweep(day)
    assert stale.id not in again.flagged_stale
    # the one-click attestation clears the flag and starts a new cycle
    with freeze_time(at(day, 9)):
        wf.attest_no_changes(stale, users.get("staff@northland.demo.test"))
        db.session.commit()
    assert stale.stale_since is None and stale.attention_rank == AttentionRank.SETTLED
    next_cycle = day + timedelta(days=366)
    with freeze_time(at(next_cycle)):
        result = run_verification_sweep(next_cycle)
    assert stale.id not in result.flagged_stale
    assert (
        db.session.scalar(
            db.select(db.func.count(Reminder.id)).where(Reminder.listing_id == stale.id)
        )
        == 2
    )


def test_a_sweep_that_cannot_take_its_lock_does_nothing(app, outbox, bluestem_bhcc):
    url = app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg://", "postgresql://")
    if not url.startswith("postgresql"):
        pytest.skip("advisory locks are PostgreSQL's")
    with psycopg.connect(url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (CERTIFICATION_SWEEP_LOCK,))
        result = sweep_on(bluestem_bhcc.expires_on + timedelta(days=1))
        other.execute("SELECT pg_advisory_unlock(%s)", (CERTIFICATION_SWEEP_LOCK,))
    assert result.skipped and result.expired == [] and result.reminders == []
    assert db.session.get(Certification, bluestem_bhcc.id).status == "certified"
    assert outbox.messages() == []


def test_flask_sweep_commands(app, outbox, bluestem_bhcc):
    runner = app.test_cli_runner()
    day = bluestem_bhcc.expires_on + timedelta(days=1)
    with freeze_time(at(day)):
        out = runner.invoke(args=["sweep", "certifications", "--date", day.isoformat()])
    assert out.exit_code == 0, out.output
    assert f"certifications sweep for {day.isoformat()}:" in out.output
    assert "certifications expired" in out.output and "0 certifications expired" not in out.output
    out = runner.invoke(args=["sweep", "verification", "--date", day.isoformat()])
    assert out.exit_code == 0 and "listings flagged stale" in out.output
    bad = runner.invoke(args=["sweep", "certifications", "--date", "2026-13-40"])
    assert bad.exit_code == 2 and "--date" in bad.output


def test_sweeps_are_celery_tasks_with_late_acks_on_the_beat(app):
    from tasks.schedule import beat_schedule
    from tasks.sweeps import sweep_certifications, sweep_verification

    assert (
        sweep_certifications.name == "registry.sweep_certifications"
        and sweep_certifications.acks_late
    )
    assert sweep_verification.name == "registry.sweep_verification" and sweep_verification.acks_late
    tasks = {e["task"] for e in beat_schedule(app.config).values()}
    assert {"registry.sweep_certifications", "registry.sweep_verification"} <= tasks
