"""Two sweeps at once, on a committed copy of the demo database, with e-mail through a real SMTP
server: no duplicate message, whether the advisory lock or only the unique reminder rows stop
the second run."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest
from freezegun import freeze_time

import tasks.sweeps as sweeps
from tests.conftest import run_at_once

pytestmark = pytest.mark.live


def run_twice_at_once(live_app, day):
    def worker():
        try:
            with live_app.app_context():
                return [sweeps.run_certification_sweep(day), sweeps.run_verification_sweep(day)]
        finally:
            with live_app.app_context():
                sweeps.db.session.remove()

    return [r for pair in run_at_once([worker, worker]) for r in pair]


def sweep_day(live_app):
    """The day after Bluestem's BHCC certification lapses: an expiry plus several reminders."""
    from models import Certification, Organization, db

    with live_app.app_context():
        org = db.session.scalar(
            db.select(Organization).filter_by(dba="Bluestem Valley Behavioral Health")
        )
        cert = db.session.scalar(
            db.select(Certification).filter_by(organization_id=org.id, type_code="bhcc")
        )
        day = cert.expires_on + timedelta(days=1)
        db.session.remove()
    return day


def check_mail(live_app, smtp_server, results):
    from models import Reminder, db

    with live_app.app_context():
        reminders = db.session.scalars(db.select(Reminder)).all()
        assert reminders and all(r.delivered_at is not None for r in reminders)
        expected = sum(1 for r in reminders if r.recipients)
        db.session.remove()
    messages = smtp_server.wait_for(expected)
    assert len(messages) == expected
    keys = Counter((m["Subject"].strip(), m["To"].strip()) for m in messages)
    assert all(n == 1 for n in keys.values()), keys
    expired = [cid for r in results for cid in r.expired]
    assert len(expired) == len(set(expired)) >= 1
    claimed = [rid for r in results for rid in r.reminders]
    assert len(claimed) == len(set(claimed)) == len(reminders)


def test_two_concurrent_sweeps_send_no_duplicate_mail(live_app, smtp_server):
    live_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    day = sweep_day(live_app)
    with freeze_time(datetime.combine(day, time(6, 5), tzinfo=UTC), tick=True):
        results = run_twice_at_once(live_app, day)
    check_mail(live_app, smtp_server, results)
    # the lock or idempotence left one run with nothing to do for each sweep
    for name in ("certifications", "verification"):
        runs = [r for r in results if r.sweep == name]
        assert len(runs) == 2
        assert any(
            r.skipped or (not r.reminders and not r.expired and not r.flagged_stale) for r in runs
        )


@pytest.mark.postgres(
    reason="without the lock, SQLite refuses the second writer outright (its transactions are "
    "serializable); the test above covers SQLite"
)
def test_unique_reminder_rows_alone_prevent_duplicates(live_app, smtp_server, monkeypatch):
    """Even with the advisory lock out of the way, the claims and conditional updates let
    exactly one run win each reminder and each expiry."""
    monkeypatch.setattr(sweeps, "_try_lock", lambda key: True)
    live_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    day = sweep_day(live_app)
    with freeze_time(datetime.combine(day, time(6, 5), tzinfo=UTC), tick=True):
        results = run_twice_at_once(live_app, day)
    assert not any(r.skipped for r in results)
    check_mail(live_app, smtp_server, results)
