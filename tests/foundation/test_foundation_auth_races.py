"""Sign-in under concurrency, on real PostgreSQL transactions: one TOTP code opens one session,
and no more passwords are checked than the throttle allows, however many arrive at once."""

from __future__ import annotations

import pytest
from flask import request_started

from tests.conftest import (
    DEMO_PASSWORD,
    _fresh_request_globals,
    csrf_from,
    run_at_once,
    totp_now,
)

pytestmark = pytest.mark.live


def clients(live_app, n: int):
    request_started.connect(_fresh_request_globals, live_app)
    return [live_app.test_client() for _ in range(n)]


def test_one_totp_code_sent_twenty_times_at_once_opens_one_session(live_app):
    from models import User, db

    email = "reviewer@demo.test"
    browsers = clients(live_app, 20)
    tokens = []
    for c in browsers:
        token = csrf_from(c.get("/login").get_data(as_text=True))
        resp = c.post(
            "/login", data={"email": email, "password": DEMO_PASSWORD, "csrf_token": token}
        )
        assert resp.headers["Location"].endswith("/login/verify")
        tokens.append(csrf_from(c.get("/login/verify").get_data(as_text=True)))
    with live_app.app_context():
        secret = db.session.scalar(db.select(User.totp_secret).filter_by(email=email))
        db.session.remove()
    code = totp_now(secret)

    def verify(c, token):
        return lambda: c.post("/login/verify", data={"code": code, "csrf_token": token}).status_code

    codes = run_at_once([verify(c, t) for c, t in zip(browsers, tokens, strict=True)])
    assert codes.count(302) == 1, codes  # signed in: redirected to the landing page
    # the rest: told the code was used (200, the form again), throttled once the reserved
    # attempts reached the limit (429), or on SQLite asked to retry (503)
    assert set(codes) <= {302, 200, 429, 503}, codes
    signed_in = [c for c in browsers if c.get("/review/queue").status_code == 200]
    assert len(signed_in) == 1


def test_twenty_wrong_passwords_at_once_check_exactly_the_limit(live_app):
    from models import AuditEvent, LoginAttempt, db

    email = "provider@demo.test"
    limit = int(live_app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"])
    browsers = clients(live_app, 20)
    tokens = [csrf_from(c.get("/login").get_data(as_text=True)) for c in browsers]

    def guess(c, token, i):
        data = {"email": email, "password": f"wrong-guess-{i}", "csrf_token": token}
        return lambda: c.post("/login", data=data).status_code

    codes = run_at_once(
        [guess(c, t, i) for i, (c, t) in enumerate(zip(browsers, tokens, strict=True))]
    )
    with live_app.app_context():
        checked = db.session.scalar(
            db.select(db.func.count(AuditEvent.id)).where(AuditEvent.action == "auth.login_failed")
        )
        throttled = db.session.scalar(
            db.select(db.func.count(AuditEvent.id)).where(
                AuditEvent.action == "auth.login_throttled"
            )
        )
        failures = db.session.scalar(
            db.select(db.func.count(LoginAttempt.id)).where(
                LoginAttempt.email == email, LoginAttempt.succeeded.is_(False)
            )
        )
        db.session.remove()
    assert checked == limit and failures == limit, (checked, failures, codes)
    assert codes.count(429) == 20 - limit and throttled == 20 - limit
