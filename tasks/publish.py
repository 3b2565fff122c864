"""Publishing jobs: build a release, drain the outbox, the nightly release, webhook deliveries.

Approvals write an outbox row in their own transaction (models.publishing.release.mark_changed); the beat
job `registry.publish_pending` looks for such rows every few minutes and builds a release, so
a crash between an approval and any enqueue loses nothing. A build takes one lock; a second
build at the same time returns at once ("busy") and its rows are drained next time."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime

from celery import shared_task
from celery.exceptions import Retry
from flask import current_app
from standardwebhooks.webhooks import Webhook as StandardWebhook

from models import (
    OutboxEvent,
    PublishRunStatus,
    ReleaseTrigger,
    Webhook,
    WebhookDelivery,
    db,
    today,
    utcnow,
)
from models.publishing import signing_key

from .audit_anchor import write_checkpoint
from .publishing.builder import BuildResult, build_release, releases_root
from .publishing.printing import resume_print

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Registry-Signature"
MESSAGE_NAMESPACE = uuid.UUID("5b0c8f0e-7a43-5f0e-9d61-3c2a8e4b7f12")
WEBHOOK_MAX_RETRIES = 8
WEBHOOK_TIMEOUT_SECONDS = 10


def after_publish(result: BuildResult) -> None:
    """Queue one delivery per active webhook. Never raises: deliveries never block publishing."""
    if result.status != PublishRunStatus.PUBLISHED or result.number is None:
        return
    try:
        ids = db.session.scalars(db.select(Webhook.id).where(Webhook.is_active.is_(True))).all()
    except Exception:  # noqa: BLE001 - publishing already succeeded; log and move on
        log.exception("could not list webhooks for release %s", result.number)
        return
    for wid in ids:
        try:
            deliver_webhook.delay(wid, result.number)
        except Retry:
            pass  # eager mode (tests, CELERY_ALWAYS_EAGER): the first attempt failed and was logged
        except Exception:  # noqa: BLE001 - a broker outage must not undo a published release
            log.exception("could not queue webhook %s for release %s", wid, result.number)


def run_build(
    trigger: str, user_id: int | None = None, run_id: int | None = None, progress=None
) -> BuildResult:
    result = build_release(trigger, user_id, run_id=run_id, progress=progress)
    after_publish(result)
    return result


@shared_task(
    name="registry.publish_release", ignore_result=True, acks_late=True, reject_on_worker_lost=True
)
def publish_release(
    trigger: str = ReleaseTrigger.MANUAL.value,
    user_id: int | None = None,
    run_id: int | None = None,
) -> dict:
    """Build a release now (admin "publish now", `flask publish` uses build_release directly)."""
    result = run_build(trigger, user_id, run_id)
    return {"status": result.status, "number": result.number}


@shared_task(name="registry.publish_pending", ignore_result=True)
def publish_pending() -> dict:
    """Beat, every few minutes: publish when approved changes wait in the outbox."""
    waiting = db.session.scalar(
        db.select(db.func.count(OutboxEvent.id)).where(OutboxEvent.processed_at.is_(None))
    )
    if not waiting:
        reap_dead_runs_now()
        printed = resume_print()  # a print whose worker died
        return {"status": "idle" if printed is None else f"print {printed}", "number": None}
    result = run_build(ReleaseTrigger.CHANGES.value)
    return {"status": result.status, "number": result.number}


def reap_dead_runs_now() -> None:
    """Between builds: mark runs whose worker died as failed (only if no build is running)."""
    from models.locks import write_afresh

    from .publishing.builder import BuildBusy, build_lock, reap_dead_runs

    try:
        with build_lock(releases_root()):
            write_afresh()
            reap_dead_runs()
            db.session.commit()
    except BuildBusy:
        pass


@shared_task(name="registry.publish_nightly", ignore_result=True)
def publish_nightly() -> dict:
    """Beat, nightly: a full build; eligibility is re-evaluated for the new day. Also writes
    the day's audit checkpoint (tasks/audit_anchor.py), whether or not a release was made."""
    result = run_build(ReleaseTrigger.NIGHTLY.value)
    write_checkpoint(releases_root(), today())
    return {"status": result.status, "number": result.number}


# ------------------------------------------------------------------ webhooks


def sign(secret: str, body: bytes) -> str:
    """The first version's X-Registry-Signature (kept beside the Standard Webhooks headers)."""
    return "sha256=" + hmac.new(signing_key(secret), body, hashlib.sha256).hexdigest()


def message_id(webhook_id: int, release_number: int) -> str:
    """The Standard Webhooks `webhook-id`: one per (subscription, release), the same on every
    retry, so a receiver can drop a delivery it already processed."""
    return "msg_" + uuid.uuid5(MESSAGE_NAMESPACE, f"{webhook_id}:{release_number}").hex


def webhook_body(release_number: int, sent_at: datetime) -> bytes:
    """A Standard Webhooks payload: type, timestamp, data. The top-level release,
    manifest_url and changes of the first version stay for receivers written against it."""
    from models import Release

    release = db.session.scalar(db.select(Release).filter_by(number=release_number))
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    changes = dict(release.changes) if release is not None else {}
    data = {
        "release": release_number,
        "manifest_url": f"{base}/feeds/releases/{release_number}/manifest.json",
        "changes": {k: changes.get(k, []) for k in ("added", "changed", "removed")},
    }
    payload = {
        "type": "release.published",
        "timestamp": sent_at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "data": data,
        **data,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("utf-8")


def standard_headers(secret: str, msg_id: str, sent_at: datetime, body: bytes) -> dict[str, str]:
    """webhook-id, webhook-timestamp and webhook-signature (v1, HMAC-SHA256 over
    "<id>.<timestamp>.<body>"), signed with the Standard Webhooks library itself."""
    signer = StandardWebhook(signing_key(secret))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signer.sign(msg_id, sent_at, body.decode("utf-8")),
    }


def backoff_seconds(retries: int) -> int:
    """10 s, 20 s, 40 s ... capped at one hour."""
    return int(min(3600, 10 * 2**retries))


class WebhookFailed(RuntimeError):
    pass


@shared_task(
    name="registry.deliver_webhook", bind=True, ignore_result=True, max_retries=WEBHOOK_MAX_RETRIES
)
def deliver_webhook(self, webhook_id: int, release_number: int) -> dict:
    """POST the release notice, signed; log the attempt; retry with exponential backoff."""
    hook = db.session.get(Webhook, webhook_id)
    if hook is None or not hook.is_active:
        return {"status": "skipped"}
    sent_at = datetime.now(UTC).replace(microsecond=0)
    body = webhook_body(release_number, sent_at)
    msg_id = message_id(webhook_id, release_number)
    secret = hook.secret
    attempt = self.request.retries + 1
    started = time.monotonic()
    status_code, error = None, ""
    req = urllib.request.Request(  # noqa: S310 - an admin-registered http(s) URL (checked on save)
        hook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            **standard_headers(secret, msg_id, sent_at, body),
            SIGNATURE_HEADER: sign(secret, body),  # the first version's header
            "X-Registry-Release": str(release_number),
            "X-Registry-Delivery-Attempt": str(attempt),
            "User-Agent": "mo-crisis-registry-webhook/1",
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=WEBHOOK_TIMEOUT_SECONDS) as resp:  # noqa: S310
            status_code = resp.status
    except urllib.error.HTTPError as exc:
        status_code, error = exc.code, f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError) as exc:
        error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
    ok = status_code is not None and 200 <= status_code < 300
    will_retry = not ok and self.request.retries < (self.max_retries or 0)
    db.session.add(
        WebhookDelivery(
            webhook_id=webhook_id,
            release_number=release_number,
            attempt=attempt,
            at=utcnow(),
            status_code=status_code,
            ok=ok,
            error=error[:2000],
            will_retry=will_retry,
            duration_ms=int((time.monotonic() - started) * 1000),
        )
    )
    db.session.commit()
    if ok:
        return {"status": "delivered", "attempt": attempt}
    if will_retry:
        raise self.retry(
            countdown=backoff_seconds(self.request.retries),
            exc=WebhookFailed(error or f"HTTP {status_code}"),
        )
    log.warning(
        "webhook %s gave up on release %s after %s attempts: %s",
        webhook_id,
        release_number,
        attempt,
        error,
    )
    return {"status": "failed", "attempt": attempt}
