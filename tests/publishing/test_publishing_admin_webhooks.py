"""Admin release pages, publish now, roll back, and signed webhook deliveries with retries."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from sqlalchemy import text

from models import Listing, PublishRun, Release, Webhook, WebhookDelivery, db
from tests.conftest import post
from tests.publishing.conftest import load_json


def change_a_listing(text: str) -> Listing:
    lst = db.session.scalar(
        db.select(Listing)
        .where(Listing.live_revision_id.is_not(None), Listing.is_suspended.is_(False))
        .order_by(Listing.id)
    )
    data = dict(lst.live_revision.data)
    data["description"] = text
    lst.live_revision.data = data
    db.session.commit()
    return lst


def run_delivery(webhook_id: int, number: int, monkeypatch) -> tuple[dict, list[int]]:
    """Run the delivery task as a worker picks it up; eager Celery runs each retry at once.
    Returns the final result and the countdowns the task asked Celery to wait between attempts."""
    import tasks.publish as publish

    countdowns: list[int] = []
    original = publish.backoff_seconds

    def spy(retries: int) -> int:
        countdowns.append(original(retries))
        return countdowns[-1]

    monkeypatch.setattr(publish, "backoff_seconds", spy)
    # as on a worker, a Retry re-runs the task (eagerly here) instead of surfacing to the caller
    monkeypatch.setitem(publish.deliver_webhook.app.conf, "task_eager_propagates", False)
    res = publish.deliver_webhook.apply(args=(webhook_id, number), throw=False)
    return res.result, countdowns


def test_webhook_is_signed_and_retried_with_backoff_until_delivered(
    app, build, receiver, monkeypatch
):
    from tasks.publish import SIGNATURE_HEADER, after_publish

    hook_target = receiver(fail_first=3)
    hook = Webhook(url=hook_target.url, secret="s3cret-for-the-county-site", description="county")
    db.session.add(hook)
    db.session.commit()
    result = build()
    after_publish(
        result
    )  # queued after the release; in tests the first attempt runs at once and fails (503)
    assert result.status == "published" and len(hook_target.requests) == 1
    final, countdowns = run_delivery(hook.id, result.number, monkeypatch)
    assert final["status"] == "delivered" and countdowns == [
        10,
        20,
    ]  # exponential backoff between attempts
    assert len(hook_target.requests) == 4
    last = hook_target.requests[-1]
    body = last["body"]
    for delivered in hook_target.requests:  # the first version's header, on every attempt
        expected = hmac.new(b"s3cret-for-the-county-site", delivered["body"], hashlib.sha256)
        assert delivered["headers"][SIGNATURE_HEADER] == "sha256=" + expected.hexdigest()
    # Standard Webhooks: the receiver verifies with the reference library and the secret;
    # one message id across retries, a timestamp per attempt, and a tampered body fails
    from standardwebhooks.webhooks import Webhook as Verifier
    from standardwebhooks.webhooks import WebhookVerificationError

    verifier = Verifier(b"s3cret-for-the-county-site")
    ids = {
        {k.lower(): v for k, v in r["headers"].items()}["webhook-id"] for r in hook_target.requests
    }
    assert len(ids) == 1 and ids.pop().startswith("msg_")
    for delivered in hook_target.requests:
        headers = {k.lower(): v for k, v in delivered["headers"].items()}
        assert verifier.verify(delivered["body"], headers)["type"] == "release.published"
    with pytest.raises(WebhookVerificationError):
        verifier.verify(
            body.replace(b"release", b"relaese"), {k.lower(): v for k, v in last["headers"].items()}
        )
    payload = json.loads(body)
    assert payload["data"]["release"] == payload["release"] == result.number
    assert payload["timestamp"].endswith("Z")
    assert payload["manifest_url"].endswith(f"/feeds/releases/{result.number}/manifest.json")
    assert len(payload["changes"]["added"]) > 40
    attempts = db.session.scalars(
        db.select(WebhookDelivery).filter_by(webhook_id=hook.id).order_by(WebhookDelivery.id)
    ).all()
    assert [(a.ok, a.status_code, a.will_retry) for a in attempts] == [
        (False, 503, True),
        (False, 503, True),
        (False, 503, True),
        (True, 204, False),
    ]


def test_webhook_gives_up_and_never_blocks_publishing(app, build, receiver, monkeypatch):
    from tasks.publish import WEBHOOK_MAX_RETRIES, backoff_seconds

    dead = receiver(fail_first=100)
    hook = Webhook(url=dead.url, secret="another-long-secret-value")
    db.session.add(hook)
    db.session.commit()
    result = build()
    assert result.status == "published"
    final, countdowns = run_delivery(hook.id, result.number, monkeypatch)
    assert final["status"] == "failed"
    assert countdowns[:4] == [10, 20, 40, 80] and len(countdowns) == WEBHOOK_MAX_RETRIES
    rows = db.session.scalars(db.select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
    assert (
        len(rows) == WEBHOOK_MAX_RETRIES + 1
        and not any(r.ok for r in rows)
        and not rows[-1].will_retry
    )
    assert backoff_seconds(20) == 3600


def test_admin_release_pages_publish_now_download_and_rollback(
    app, client, staff_login, releases_dir
):
    staff_login("admin")
    page = client.get("/manage/releases")
    assert page.status_code == 200 and "No release has been published yet" in page.get_data(
        as_text=True
    )
    resp = post(client, "/manage/releases/publish", form_url="/manage/releases")
    assert resp.status_code == 302 and "/manage/releases/runs/" in resp.headers["Location"]
    run_page = client.get(resp.headers["Location"]).get_data(as_text=True)
    first = db.session.scalar(db.select(Release).order_by(Release.number.desc()))
    assert first is not None, [
        (r.id, r.status, r.error, r.release_number)
        for r in db.session.scalars(db.select(PublishRun))
    ]
    assert (
        f'Release <a href="/manage/releases/{first.number}">{first.number}</a> is now current'
        in run_page
    )
    assert (
        db.session.scalar(db.select(PublishRun).order_by(PublishRun.id.desc())).triggered_by_id
        is not None
    )
    change_a_listing("A change worth a second release.")
    post(client, "/manage/releases/publish", form_url="/manage/releases")
    second = db.session.scalar(db.select(Release).order_by(Release.number.desc()))
    assert second.number == first.number + 1
    history = client.get("/manage/releases").get_data(as_text=True)
    assert f"Roll back to {first.number}" in history
    admin_name = db.session.get(
        PublishRun, db.session.scalar(db.select(db.func.max(PublishRun.id)))
    ).triggered_by_id
    assert admin_name is not None
    detail = client.get(f"/manage/releases/{first.number}").get_data(as_text=True)
    assert f"/feeds/releases/{first.number}/hsds/services.json" in detail
    download = client.get(f"/feeds/releases/{first.number}/hsds/services.json")
    assert download.status_code == 200 and json.loads(download.get_data())
    resp = post(client, f"/manage/releases/{first.number}/rollback", form_url="/manage/releases")
    assert resp.status_code == 302
    assert load_json(releases_dir / "current" / "manifest.json")["release"] == first.number
    assert client.get("/manage/releases/9999").status_code == 404


def test_webhook_form_errors_and_delivery_log(app, client, staff_login):
    staff_login("admin")
    resp = post(client, "/manage/webhooks", {"url": "ftp://example.org", "secret": "short"})
    text = resp.get_data(as_text=True)
    assert (
        resp.status_code == 200
        and "Enter a full http:// or https:// address." in text
        and "at least 16 characters" in text
    )
    assert db.session.scalar(db.select(db.func.count(Webhook.id))) == 0
    resp = post(
        client,
        "/manage/webhooks",
        {
            "url": "https://county.example.org/hook",
            "secret": "x" * 20,
            "description": "County site",
        },
    )
    assert resp.status_code == 302
    hook = db.session.scalar(db.select(Webhook))
    hook_id = hook.id
    db.session.add(
        WebhookDelivery(
            webhook_id=hook_id,
            release_number=3,
            attempt=1,
            status_code=500,
            ok=False,
            error="HTTP 500 Internal Server Error",
            will_retry=True,
        )
    )
    db.session.commit()
    log = client.get(f"/manage/webhooks/{hook_id}").get_data(as_text=True)
    assert "HTTP 500 Internal Server Error" in log and "failed, will retry" in log
    post(client, f"/manage/webhooks/{hook_id}/toggle", form_url=f"/manage/webhooks/{hook_id}")
    assert db.session.get(Webhook, hook_id).is_active is False


def test_release_pages_are_for_admins_only(client, staff_login):
    staff_login("reviewer")
    assert client.get("/manage/releases").status_code == 403
    assert client.get("/manage/webhooks").status_code == 403


def test_a_generated_secret_is_shown_once_sealed_at_rest_and_signs_as_standard_webhooks(
    app, client, staff_login
):
    staff_login("admin")
    resp = post(client, "/manage/webhooks", {"url": "https://county.example.org/hook"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "shown only once" in page
    hook = db.session.scalar(db.select(Webhook))
    secret = hook.secret
    assert secret.startswith("whsec_") and secret in page
    stored = db.session.execute(text("SELECT secret FROM webhook")).scalar_one()
    assert stored.startswith("fernet:") and secret not in stored  # a database copy holds no secret
    assert secret not in client.get(f"/manage/webhooks/{hook.id}").get_data(as_text=True)

    from standardwebhooks.webhooks import Webhook as Verifier

    from models import utcnow
    from tasks.publish import standard_headers

    body = b'{"type":"release.published"}'
    headers = standard_headers(secret, "msg_1", utcnow().replace(microsecond=0), body)
    assert Verifier(secret).verify(body, headers) == {"type": "release.published"}


def test_sealed_secrets_open_only_with_a_configured_key(app):
    from models.context import settings
    from models.publishing import SecretUnreadable, derive_key, seal, unseal

    sealed = seal("a-secret-of-twenty-chars")
    assert unseal(sealed) == "a-secret-of-twenty-chars"
    before = list(settings.secrets_keys)
    try:
        settings.secrets_keys = [derive_key("another-secret-key-" + "y" * 32)]
        with pytest.raises(SecretUnreadable):
            unseal(sealed)
        settings.secrets_keys = [settings.secrets_keys[0], *before]  # rotation: new key first
        assert unseal(sealed) == "a-secret-of-twenty-chars"
        assert seal("x" * 20) != seal("x" * 20)  # random IV: equal secrets look different
    finally:
        settings.secrets_keys = before
