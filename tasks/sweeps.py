"""Daily sweeps that keep the published directory true without anyone remembering to check.

- certification sweep: lapsed certifications become `expired` (and the listings that needed
  them are marked changed, so a release follows); reminders 90/60/30/7 days before expiry and
  1/14/30 days after lapse, each sent once;
- re-verification sweep: listings not verified for REVERIFY_AFTER_DAYS get a reminder, and
  REVERIFY_GRACE_DAYS later they are flagged stale for reviewers.

Both are safe to run twice at once: each takes a PostgreSQL advisory lock for its transaction
(the second run does nothing) and every reminder is claimed through a unique row first. E-mails
go out after the commit, one task per reminder, which locks its row while it sends so a
redelivered task cannot send twice."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from celery import shared_task
from flask import current_app
from sqlalchemy import or_, update

from models import (
    ACTIVE_STATUSES,
    Certification,
    CertificationStatus,
    Listing,
    Organization,
    OrganizationStatus,
    db,
    mark_changed,
    record,
    today,
    utcnow,
)
from models.certifications import (
    AFTER_LAPSE,
    BEFORE_EXPIRY,
    LAPSE_WINDOW_DAYS,
    PENDING_STATUSES,
    Reminder,
    ReminderKind,
    after_lapse_kind,
    before_expiry_kind,
    claim_reminder,
    expiry_sql,
)
from models.listings import expire_certification, issue_link, unanswered_for_follow_up, verify_path
from models.locks import begin_writing, try_transaction_lock
from models.organizations import organization_recipients, recipient_users
from models.reference import CertificationScope

from .mail import SENDING, send_mail

log = logging.getLogger(__name__)

# arbitrary constants naming each sweep's advisory lock (the audit chain uses 7_311_001)
CERTIFICATION_SWEEP_LOCK = 7_311_101
VERIFICATION_SWEEP_LOCK = 7_311_102
# an undelivered reminder older than this is handed to a worker again by the next sweep
REDELIVER_AFTER = timedelta(hours=1)

ACTIVE = [s.value for s in ACTIVE_STATUSES]
# a renewal in one of these statuses means the organization is already renewing
RENEWING = [s.value for s in (*PENDING_STATUSES, CertificationStatus.ON_HOLD, *ACTIVE_STATUSES)]


@dataclass
class SweepResult:
    sweep: str
    on: str
    skipped: bool = False  # another run held the lock
    expired: list[int] = field(default_factory=list)  # certification ids
    listings_marked: list[int] = field(default_factory=list)
    reminders: list[int] = field(default_factory=list)  # reminder ids claimed by this run
    flagged_stale: list[int] = field(default_factory=list)  # listing ids

    def as_dict(self) -> dict:
        return asdict(self)


def _try_lock(key: int) -> bool:
    return try_transaction_lock(key)


def _affected_listings(cert: Certification) -> list[Listing]:
    """Live listings of the certification's organization whose service type needs this type of
    certification (listing-scope: those it names; organization-scope: all of that type)."""
    from models import ServiceType

    listings = db.session.scalars(
        db.select(Listing)
        .join(ServiceType, ServiceType.code == Listing.service_type_code)
        .where(
            Listing.organization_id == cert.organization_id,
            Listing.live_revision_id.is_not(None),
            or_(
                ServiceType.required_certification_code == cert.type_code,
                ServiceType.org_certification_code == cert.type_code,
            ),
        )
        .order_by(Listing.id)
    ).all()
    named = {lst.id for lst in cert.listings}
    if cert.type.scope == CertificationScope.ORGANIZATION:
        return listings
    return [lst for lst in listings if lst.id in named]


def _replacement(cert: Certification, on: date) -> Certification | None:
    """Another certification of the same type that takes over from `cert`: its renewal in
    progress (or decided), or a separate one active on `on` covering the same listings."""
    others = db.session.scalars(
        db.select(Certification)
        .where(
            Certification.organization_id == cert.organization_id,
            Certification.type_code == cert.type_code,
            Certification.id != cert.id,
            Certification.status.in_(RENEWING),
        )
        .order_by(Certification.id)
    ).all()
    mine = {lst.id for lst in cert.listings}
    for other in others:
        if other.renews_id == cert.id:
            # a decided renewal counts even before its effective date, unless it has run out too
            expiry = other.effective_expiry
            if other.status in ACTIVE and expiry is not None and expiry < on:
                continue
            return other
        if other.is_active_on(on) and mine <= {lst.id for lst in other.listings}:
            return other
    return None


def run_certification_sweep(on: date | None = None) -> SweepResult:
    """Expire lapsed certifications and claim due reminders, in one transaction (committed
    here); e-mails are handed to workers after the commit."""
    on = on or today()
    result = SweepResult("certifications", on.isoformat())
    if not _try_lock(CERTIFICATION_SWEEP_LOCK):
        db.session.rollback()
        result.skipped = True
        log.info("certification sweep for %s: another run holds the lock; nothing done", on)
        return result

    # 1. lapsed certifications become expired; their listings are marked for the next release
    lapsed = db.session.scalars(
        db.select(Certification)
        .where(Certification.status.in_(ACTIVE), expiry_sql() < on)
        .order_by(Certification.id)
    ).all()
    for cert in lapsed:
        if not expire_certification(cert, on):
            continue
        result.expired.append(cert.id)
        already = {lst.id for lst in cert.listings}  # expire_certification marked these
        for lst in _affected_listings(cert):
            if lst.id not in already:
                mark_changed(lst.id, "certification expired")
            result.listings_marked.append(lst.id)

    # 2. before expiry: the nearest of 90/60/30/7 days, unless a renewal is under way
    upcoming = db.session.scalars(
        db.select(Certification)
        .where(
            Certification.status.in_(ACTIVE),
            expiry_sql() >= on,
            expiry_sql() <= on + timedelta(days=max(BEFORE_EXPIRY)),
        )
        .order_by(Certification.id)
    ).all()
    for cert in upcoming:
        expiry = cert.effective_expiry
        kind = before_expiry_kind((expiry - on).days)
        if kind is None or _replacement(cert, on) is not None:
            continue
        reminder = claim_reminder(kind, expiry, on, certification=cert)
        if reminder is not None:
            result.reminders.append(reminder.id)

    # 3. after lapse: 1/14/30 days, unless something active has taken over
    oldest = on - timedelta(days=max(AFTER_LAPSE) + LAPSE_WINDOW_DAYS)
    expired = db.session.scalars(
        db.select(Certification)
        .where(
            Certification.status == CertificationStatus.EXPIRED.value,
            expiry_sql() < on,
            expiry_sql() >= oldest,
        )
        .order_by(Certification.id)
    ).all()
    for cert in expired:
        expiry = cert.effective_expiry
        kind = after_lapse_kind((on - expiry).days)
        if kind is None:
            continue
        replacement = _replacement(cert, on)
        if replacement is not None and replacement.is_active_on(on):
            continue
        reminder = claim_reminder(kind, expiry, on, certification=cert)
        if reminder is not None:
            result.reminders.append(reminder.id)

    db.session.commit()
    log.info(
        "certification sweep for %s: %d expired (%s), %d listings marked for release, %d reminders claimed",
        on,
        len(result.expired),
        result.expired,
        len(result.listings_marked),
        len(result.reminders),
    )
    _dispatch(result.reminders)
    return result


def _day_start(on: date) -> datetime:
    return datetime.combine(on, time.min, tzinfo=UTC)


def run_verification_sweep(on: date | None = None) -> SweepResult:
    """Remind organizations of listings not verified for REVERIFY_AFTER_DAYS; flag them stale
    REVERIFY_GRACE_DAYS later. Attestation (or an approval) stamps verified_at and clears it."""
    on = on or today()
    cfg = current_app.config
    after = int(cfg.get("REVERIFY_AFTER_DAYS", 365))
    grace = int(cfg.get("REVERIFY_GRACE_DAYS", 30))
    result = SweepResult("verification", on.isoformat())
    if not _try_lock(VERIFICATION_SWEEP_LOCK):
        db.session.rollback()
        result.skipped = True
        log.info("verification sweep for %s: another run holds the lock; nothing done", on)
        return result

    # "verified `after` days ago or more": verified before the start of (on - after + 1)
    remind_before = _day_start(on - timedelta(days=after - 1))
    stale_before = _day_start(on - timedelta(days=after + grace - 1))
    due = db.session.scalars(
        db.select(Listing)
        .join(Organization, Organization.id == Listing.organization_id)
        .where(
            Listing.live_revision_id.is_not(None),
            Listing.is_suspended.is_(False),
            Organization.status == OrganizationStatus.ACTIVE.value,
            Listing.verified_at < remind_before,
        )
        .order_by(Listing.id)
    ).all()
    now = utcnow() if on == today() else _day_start(on)
    for lst in due:
        reminder = claim_reminder(ReminderKind.REVERIFY, lst.verified_at.date(), on, listing=lst)
        if reminder is not None:
            result.reminders.append(reminder.id)
        if lst.stale_since is None and lst.verified_at < stale_before:
            # conditional UPDATE: a concurrent run (or an attestation) that got there first wins
            flagged = db.session.execute(
                update(Listing)
                .where(
                    Listing.id == lst.id,
                    Listing.stale_since.is_(None),
                    Listing.verified_at < stale_before,
                )
                .values(stale_since=now, lock_version=Listing.lock_version + 1)
                .execution_options(synchronize_session=False)
            ).rowcount
            if flagged != 1:
                continue
            db.session.refresh(lst)
            lst.set_sort_keys(lst.open_revision)
            record(
                "listing.stale",
                actor="verification sweep",
                target=lst,
                organization_id=lst.organization_id,
                after={"verified_at": lst.verified_at, "stale_since": now},
            )
            result.flagged_stale.append(lst.id)

    follow_ups = unanswered_for_follow_up(now)
    for links in follow_ups.values():
        for link in links:
            link.followed_up_at = now
    db.session.commit()
    for listing in follow_ups:
        follow_up_admins(listing)
    log.info(
        "verification sweep for %s: %d reminders claimed, %d listings flagged stale (%s)",
        on,
        len(result.reminders),
        len(result.flagged_stale),
        result.flagged_stale,
    )
    _dispatch(result.reminders)
    return result


def _dispatch(reminder_ids: list[int]) -> None:
    """Hand this run's reminders, and older ones a worker never delivered, to the mail task."""
    stuck = db.session.scalars(
        db.select(Reminder.id).where(
            Reminder.delivered_at.is_(None), Reminder.created_at < utcnow() - REDELIVER_AFTER
        )
    ).all()
    db.session.rollback()  # end the read transaction before handing over
    for rid in [*reminder_ids, *(r for r in stuck if r not in reminder_ids)]:
        try:
            deliver_reminder.delay(rid)
        except Exception:  # a broker outage must not undo the sweep; the next run retries
            log.exception("could not hand reminder %s to a worker; the next sweep retries", rid)


# ------------------------------------------------------------------ e-mail


def _message(reminder: Reminder) -> tuple[int, str, str, dict]:
    """(organization id, subject, template, context) of a reminder's e-mail."""
    kind = ReminderKind(reminder.kind)
    if reminder.certification_id is not None:
        cert = reminder.certification
        renewal = _replacement(cert, reminder.due_on)
        ctx = {
            "certification": cert,
            "organization": cert.organization,
            "type_name": cert.type.name,
            "expiry": reminder.anchor_on,
            "listings": _affected_listings(cert),
            "renewal": renewal,
            "renew_path": f"/portal/certifications/new?renews={cert.id}",
        }
        if kind in BEFORE_EXPIRY.values():
            days = next(d for d, k in BEFORE_EXPIRY.items() if k == kind)
            ctx["days"] = days
            subject = f"{cert.type.name} certification expires on {reminder.anchor_on:%B %-d, %Y} ({days}-day notice)"
            return cert.organization_id, subject, "certification_expiring", ctx
        days = next(d for d, k in AFTER_LAPSE.items() if k == kind)
        ctx["days"] = days
        subject = f"{cert.type.name} certification lapsed on {reminder.anchor_on:%B %-d, %Y} (notice {days} day{'' if days == 1 else 's'} after)"
        return cert.organization_id, subject, "certification_lapsed", ctx
    lst = reminder.listing
    cfg = current_app.config
    ctx = {
        "listing": lst,
        "organization": lst.organization,
        "verified_on": reminder.anchor_on,
        "flag_on": reminder.anchor_on
        + timedelta(
            days=int(cfg.get("REVERIFY_AFTER_DAYS", 365)) + int(cfg.get("REVERIFY_GRACE_DAYS", 30))
        ),
        "portal_path": "/portal/",
        "facts": listing_facts(lst),
    }
    subject = f"Please confirm your listing is still correct: {lst.display_name}"
    return lst.organization_id, subject, "reverify_listing", ctx


def follow_up_admins(listing) -> None:
    """The second reminder, to the organization's admins: nobody answered the e-mailed links
    for 14 days. Sent after the commit that marks the links followed up (never twice). The
    admins among the organization's recipients (models/organizations/people.py): an admin who has not
    accepted the invitation yet hears nothing."""
    admins = [u.email for u in recipient_users(listing.organization_id) if u.is_org_admin]
    if admins:
        send_mail(
            admins,
            f"No answer yet: is {listing.display_name} still correct?",
            "reverify_follow_up",
            listing=listing,
            portal_path=f"/portal/listings/{listing.id}",
            facts=listing_facts(listing),
        )


def listing_facts(listing) -> list[tuple[str, str]]:
    """What matters to someone in crisis, as published: phones, address, hours, counties."""
    from models.listings import FIELD_LABELS, display_value
    from models.reference import county_names

    data = listing.live_revision.data if listing.live_revision else {}
    names = county_names()
    return [
        (FIELD_LABELS[key], display_value(key, data, names) or "—")
        for key in ("phones", "address", "hours", "counties")
    ]


@shared_task(name="registry.deliver_reminder", ignore_result=True, retry_backoff_max=900, **SENDING)
def deliver_reminder(reminder_id: int) -> str:
    """Send one claimed reminder. The row is locked while sending, so a second delivery of the
    same task waits and then finds it delivered."""
    begin_writing()
    reminder = db.session.scalar(
        db.select(Reminder).where(Reminder.id == reminder_id).with_for_update()
    )
    if reminder is None or reminder.delivered_at is not None:
        db.session.rollback()
        return ""
    try:
        organization_id, subject, template, context = _message(reminder)
        if reminder.kind == ReminderKind.REVERIFY and recipient_users(organization_id):
            # one e-mail per person: each carries a link of its own (models/listings/verification.py)
            people = recipient_users(organization_id)
            to = [u.email for u in people]
            where = ""
            for person in people:
                token = issue_link(reminder.listing, person)
                where = send_mail(
                    person.email, subject, template, **context, verify_path=verify_path(token)
                )
        else:
            to = organization_recipients(organization_id)
            where = send_mail(to, subject, template, **context) if to else ""
    except Exception:
        db.session.rollback()
        raise
    reminder.delivered_at = utcnow()
    reminder.recipients = len(to)
    db.session.commit()
    log.info("reminder %s (%s) sent to %d recipient(s)", reminder_id, reminder.kind, len(to))
    return where


# ------------------------------------------------------------------ Celery and the CLI


def _parse_day(day: str | None) -> date | None:
    return date.fromisoformat(day) if day else None


@shared_task(name="registry.sweep_certifications", acks_late=True, ignore_result=True)
def sweep_certifications(day: str | None = None) -> dict:
    return run_certification_sweep(_parse_day(day)).as_dict()


@shared_task(name="registry.sweep_verification", acks_late=True, ignore_result=True)
def sweep_verification(day: str | None = None) -> dict:
    return run_verification_sweep(_parse_day(day)).as_dict()


__all__ = [
    "SweepResult",
    "deliver_reminder",
    "run_certification_sweep",
    "run_verification_sweep",
    "sweep_certifications",
    "sweep_verification",
]
