"""A simulated year: the demo runs for 366 days with both sweeps every morning. The published
records never hold a listing whose required certification has expired, every reminder goes out
exactly once, and the DMH dashboard's counts match the database."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta

from freezegun import freeze_time

from models import (
    ACTIVE_STATUSES,
    Certification,
    Listing,
    ListingRevision,
    Reminder,
    db,
    today,
)
from models.certifications import AFTER_LAPSE, BEFORE_EXPIRY, ReminderKind
from models.listings import build_records
from tasks.sweeps import run_certification_sweep, run_verification_sweep

ORDER = [BEFORE_EXPIRY[d] for d in sorted(BEFORE_EXPIRY, reverse=True)] + [
    AFTER_LAPSE[d] for d in sorted(AFTER_LAPSE)
]
ACTIVE = {s.value for s in ACTIVE_STATUSES}


def check_published(day):
    """No published listing lacks an active, unexpired certification it needs."""
    records = build_records(day)
    listings = {
        lst.id: lst
        for lst in db.session.scalars(
            db.select(Listing).where(Listing.id.in_([r["listing_id"] for r in records]))
        )
    }
    certs_by_org = defaultdict(list)
    for c in db.session.scalars(db.select(Certification)):
        certs_by_org[c.organization_id].append(c)
    for r in records:
        lst = listings[r["listing_id"]]
        for code in lst.service_type.required_certification_codes():
            holding = [
                c
                for c in certs_by_org[lst.organization_id]
                if c.type_code == code and c.status in ACTIVE and c.is_active_on(day)
            ]
            assert holding, (
                f"{r['name']} is published on {day} without an active {code} certification"
            )
        for c in r["certifications"]:
            assert c["status"] in ACTIVE and (
                c["expires_on"] is None or c["expires_on"] >= day.isoformat()
            ), (day, r["name"], c)
    # and the sweep left nothing active past its expiry
    for certs in certs_by_org.values():
        for c in certs:
            if c.status in ACTIVE and c.effective_expiry is not None:
                assert c.effective_expiry >= day, (day, c)
    return records


def test_a_simulated_year(app, outbox, login):
    start = today()
    published_counts = []
    # one freezer moved day by day (starting a freezer scans every loaded module)
    with freeze_time(datetime.combine(start, time(6, 5), tzinfo=UTC)) as clock:
        for offset in range(366):
            day = start + timedelta(days=offset)
            clock.move_to(datetime.combine(day, time(6, 5), tzinfo=UTC))
            run_certification_sweep(day)
            run_verification_sweep(day)
            if offset % 7 == 0 or offset in range(15, 26):
                published_counts.append(len(check_published(day)))
    last = start + timedelta(days=365)
    check_published(last)
    assert published_counts[0] > published_counts[-1]  # lapsed certifications took listings out

    # every reminder claimed was delivered exactly once: one e-mail, or for re-verification one
    # per recipient (each carries its own link)
    reminders = db.session.scalars(db.select(Reminder).order_by(Reminder.id)).all()
    assert all(r.delivered_at is not None and r.recipients for r in reminders)
    messages = [m for m in outbox.messages() if not m["Subject"].startswith("No answer yet")]
    assert len(messages) == sum(r.recipients if r.kind == "reverify" else 1 for r in reminders)
    assert any(r.kind == "reverify" and r.recipients > 1 for r in reminders)
    keys = [(m["Subject"].strip(), m["To"].strip()) for m in messages]
    assert len(keys) == len(set(keys))
    # per certification, reminders came in order and never twice
    per_cert = defaultdict(list)
    for r in reminders:
        if r.certification_id:
            per_cert[(r.certification_id, r.anchor_on)].append(r)
    assert per_cert
    for rows in per_cert.values():
        kinds = [ReminderKind(r.kind) for r in sorted(rows, key=lambda r: (r.due_on, r.id))]
        assert len(kinds) == len(set(kinds))
        assert kinds == sorted(kinds, key=ORDER.index)
        assert all(r.due_on >= r.anchor_on - timedelta(days=90) for r in rows)
    # Bluestem's BHCC certification (20 days left at the start): 30- and 7-day notices, then lapse notices
    bluestem = db.session.scalar(
        db.select(Certification).where(Certification.certificate_number == "DEMO-BHCC-2023-0001")
    )
    assert [
        r.kind for r in sorted(per_cert[(bluestem.id, bluestem.expires_on)], key=lambda r: r.due_on)
    ] == ["expires_in_30", "expires_in_7", "lapsed_1", "lapsed_14", "lapsed_30"]
    # re-verification: one reminder per listing and cycle
    reverify = [(r.listing_id, r.anchor_on) for r in reminders if r.listing_id]
    assert len(reverify) == len(set(reverify)) >= 1

    # the dashboard, once, at the end of the year
    with freeze_time(datetime.combine(last, time(15, 0), tzinfo=UTC)):
        client = login("reviewer")
        html = client.get("/review/dashboard").get_data(as_text=True)
        counts = dict(re.findall(r'data-count="(\w+)">#?(\d+)<', html))
        stale = db.session.scalar(
            db.select(db.func.count(Listing.id)).where(Listing.stale_since.is_not(None))
        )
        expiring = sum(
            1
            for c in db.session.scalars(db.select(Certification))
            if c.status in ACTIVE
            and c.effective_expiry is not None
            and last <= c.effective_expiry <= last + timedelta(days=90)
        )
        backlog = db.session.scalar(
            db.select(db.func.count(ListingRevision.id)).where(
                ListingRevision.state.in_(["submitted", "in_review", "changes_requested"])
            )
        ) + db.session.scalar(
            db.select(db.func.count(Certification.id)).where(
                Certification.status.in_(["submitted", "in_review", "on_hold"])
            )
        )
        assert int(counts["stale"]) == stale >= 1
        assert int(counts["expiring"]) == expiring
        assert int(counts["backlog"]) == backlog
        assert len(re.findall(r'<tr data-listing="\d+">', html)) == stale
        assert len(re.findall(r'<tr data-certification="\d+">', html)) == expiring
