"""Sign-in, second factor, throttling and sessions that really end (ASVS 6.x and 7.x)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from models import LoginAttempt, User, UserSession, db, utcnow
from tests.conftest import DEMO_PASSWORD, csrf_from, get_csrf, post, sign_in, totp_now

COOKIE = "registry_session"


def login_post(client, email, password, **kw):
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": get_csrf(client)}, **kw
    )


def landing(client, path="/"):
    """Where `path` sends this client: the Location of a redirect, or the path itself."""
    resp = client.get(path)
    return resp.headers.get("Location", path) if resp.status_code == 302 else path


# ------------------------------------------------------------------ password sign-in


def test_provider_signs_in_and_lands_on_the_portal(client):
    resp = login_post(client, "provider@demo.test", DEMO_PASSWORD)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/portal/"
    page = client.get("/portal/")
    assert page.status_code == 200
    assert "Bluestem Valley Behavioral Health" in page.get_data(as_text=True)


def test_email_is_matched_case_insensitively(client):
    resp = login_post(client, "  Provider@Demo.TEST ", DEMO_PASSWORD)
    assert resp.status_code == 302


def test_wrong_password_is_refused_with_a_message_and_recorded(client):
    resp = login_post(client, "provider@demo.test", "not-the-password")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "The e-mail or password is not right." in body
    assert client.get("/portal/").status_code == 302
    n = db.session.scalar(
        db.select(db.func.count())
        .select_from(LoginAttempt)
        .filter_by(email="provider@demo.test", succeeded=False)
    )
    assert n == 1


def test_unknown_email_gets_the_same_message_as_a_wrong_password(client):
    body = login_post(client, "nobody@demo.test", "whatever-password").get_data(as_text=True)
    assert "The e-mail or password is not right." in body


def test_sign_in_form_field_names_are_email_and_password(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'name="email"' in html and 'name="password"' in html
    assert 'autocomplete="current-password"' in html


def test_logout_ends_the_session(client, login):
    login("provider")
    assert client.get("/portal/").status_code == 200
    resp = post(client, "/logout", form_url="/portal/")
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    assert "You are signed out." in client.get("/login").get_data(as_text=True)
    again = client.get("/portal/")
    assert again.status_code == 302 and again.headers["Location"].startswith("/login")


def test_logout_is_post_only(client, login):
    login("provider")
    assert client.get("/logout").status_code == 405
    assert client.get("/portal/").status_code == 200


# ------------------------------------------------------------------ throttling


def test_five_failures_for_one_account_block_it_for_fifteen_minutes(client):
    start = datetime.now(UTC).replace(microsecond=0)
    with freeze_time(start) as clock:
        for _ in range(5):
            assert login_post(client, "provider@demo.test", "wrong-password-x").status_code == 200
        # the right password is refused too while the block lasts, with a clear message
        resp = login_post(client, "provider@demo.test", DEMO_PASSWORD)
        assert resp.status_code == 429
        assert "Too many failed sign-in attempts. Try again in 15 minutes." in resp.get_data(
            as_text=True
        )
        # other accounts from other addresses are unaffected
        other = client.application.test_client()
        assert (
            login_post(
                other, "reviewer@demo.test", DEMO_PASSWORD, environ_base={"REMOTE_ADDR": "10.9.9.9"}
            ).status_code
            == 302
        )
        clock.tick(timedelta(minutes=14))
        resp = login_post(client, "provider@demo.test", DEMO_PASSWORD)
        assert resp.status_code == 429
        assert "Try again in 1 minute." in resp.get_data(as_text=True)
        clock.tick(timedelta(minutes=1, seconds=1))
        assert login_post(client, "provider@demo.test", DEMO_PASSWORD).status_code == 302


def test_refused_attempts_do_not_extend_the_block(client):
    start = datetime.now(UTC).replace(microsecond=0)
    with freeze_time(start) as clock:
        for _ in range(5):
            login_post(client, "provider@demo.test", "wrong-password-x")
        for _ in range(3):
            clock.tick(timedelta(minutes=4))
            assert login_post(client, "provider@demo.test", "wrong-password-x").status_code == 429
        clock.tick(timedelta(minutes=3, seconds=1))
        assert login_post(client, "provider@demo.test", DEMO_PASSWORD).status_code == 302


def test_twenty_failures_from_one_address_block_that_address(client, app):
    addr = {"REMOTE_ADDR": "203.0.113.7"}
    start = datetime.now(UTC).replace(microsecond=0)
    with freeze_time(start) as clock:
        for i in range(20):
            # spread over many accounts so no single account reaches its own limit
            resp = login_post(client, f"guess{i}@demo.test", "wrong-password-x", environ_base=addr)
            assert resp.status_code == 200
        resp = login_post(client, "provider@demo.test", DEMO_PASSWORD, environ_base=addr)
        assert resp.status_code == 429
        assert "Too many failed sign-in attempts" in resp.get_data(as_text=True)
        # the same account from another address still signs in
        elsewhere = app.test_client()
        assert (
            login_post(
                elsewhere,
                "provider@demo.test",
                DEMO_PASSWORD,
                environ_base={"REMOTE_ADDR": "198.51.100.3"},
            ).status_code
            == 302
        )
        clock.tick(timedelta(minutes=15, seconds=1))
        assert (
            login_post(client, "provider@demo.test", DEMO_PASSWORD, environ_base=addr).status_code
            == 302
        )


def test_failures_older_than_the_window_do_not_count(client):
    start = datetime.now(UTC).replace(microsecond=0)
    with freeze_time(start) as clock:
        for _ in range(4):
            login_post(client, "provider@demo.test", "wrong-password-x")
        clock.tick(timedelta(minutes=16))
        for _ in range(4):
            login_post(client, "provider@demo.test", "wrong-password-x")
        assert login_post(client, "provider@demo.test", DEMO_PASSWORD).status_code == 302


# ------------------------------------------------------------------ TOTP


@pytest.fixture
def new_reviewer():
    user = User(email="new-reviewer@demo.test", name="New Reviewer", role="reviewer")
    user.set_password(DEMO_PASSWORD)
    db.session.add(user)
    db.session.commit()
    return user


def test_staff_without_totp_enrol_with_a_qr_code_at_first_sign_in(client, new_reviewer):
    resp = login_post(client, "new-reviewer@demo.test", DEMO_PASSWORD)
    assert resp.status_code == 302 and resp.headers["Location"] == "/login/setup-2fa"
    # not signed in yet: the password alone opens nothing
    assert client.get("/review/").status_code == 302
    page = client.get("/login/setup-2fa")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<svg" in html and "QR code for your authenticator app" in html
    assert 'name="code"' in html
    secret = re.search(r'<code class="totp-secret">([A-Z2-7]+)</code>', html).group(1)
    # a wrong code keeps the account un-enrolled
    bad = client.post("/login/setup-2fa", data={"code": "000000", "csrf_token": csrf_from(html)})
    assert bad.status_code == 200 and "That code is not right" in bad.get_data(as_text=True)
    assert db.session.get(User, new_reviewer.id).totp_enabled_at is None
    ok = client.post(
        "/login/setup-2fa", data={"code": totp_now(secret), "csrf_token": csrf_from(html)}
    )
    assert ok.status_code == 302 and ok.headers["Location"] == "/review/"
    landing_page = client.get("/review/")
    assert landing_page.status_code == 200
    assert "Two-step sign-in is set up." in landing_page.get_data(as_text=True)
    user = db.session.get(User, new_reviewer.id)
    assert user.totp_enabled_at is not None and user.totp_secret == secret


def test_enrolled_staff_are_challenged_and_a_wrong_code_is_refused(client):
    resp = login_post(client, "reviewer@demo.test", DEMO_PASSWORD)
    assert resp.status_code == 302 and resp.headers["Location"] == "/login/verify"
    assert client.get("/review/").status_code == 302
    token = get_csrf(client, "/login/verify")
    bad = client.post("/login/verify", data={"code": "123456", "csrf_token": token})
    assert bad.status_code == 200 and "That code is not right" in bad.get_data(as_text=True)
    assert client.get("/review/").status_code == 302
    good = client.post("/login/verify", data={"code": totp_now(), "csrf_token": token})
    assert good.status_code == 302 and good.headers["Location"] == "/review/"
    assert client.get("/review/").status_code == 200


def test_totp_page_without_a_password_step_sends_back_to_login(client):
    resp = client.get("/login/verify")
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    resp = client.get("/login/setup-2fa")
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"


def test_a_totp_code_cannot_be_replayed(app, client, users):
    with freeze_time(datetime.now(UTC)):
        code = totp_now()
        login_post(client, "admin@demo.test", DEMO_PASSWORD)
        first = client.post(
            "/login/verify", data={"code": code, "csrf_token": get_csrf(client, "/login/verify")}
        )
        assert first.status_code == 302 and first.headers["Location"] == "/manage/"
        # someone who saw the code tries it in another browser within the same 30 seconds
        thief = app.test_client()
        login_post(thief, "admin@demo.test", DEMO_PASSWORD)
        replay = thief.post(
            "/login/verify", data={"code": code, "csrf_token": get_csrf(thief, "/login/verify")}
        )
        assert replay.status_code == 200
        assert "already used" in replay.get_data(as_text=True)
        assert thief.get("/manage/").status_code == 302


def test_totp_second_step_is_throttled_like_passwords(client):
    start = datetime.now(UTC).replace(microsecond=0)
    with freeze_time(start):
        login_post(client, "reviewer@demo.test", DEMO_PASSWORD)
        token = get_csrf(client, "/login/verify")
        for _ in range(5):
            client.post("/login/verify", data={"code": "000000", "csrf_token": token})
        resp = client.post("/login/verify", data={"code": totp_now(), "csrf_token": token})
        assert resp.status_code == 429
        assert "Too many wrong codes" in resp.get_data(as_text=True)


# ------------------------------------------------------------------ deactivation and session end


def test_deactivated_user_cannot_sign_in(client, users):
    user = users.provider
    user.is_active = False
    user.deactivated_at = utcnow()
    db.session.commit()
    resp = login_post(client, "provider@demo.test", DEMO_PASSWORD)
    assert resp.status_code == 200
    assert "This account cannot sign in." in resp.get_data(as_text=True)
    assert client.get("/portal/").status_code == 302


def test_deactivation_ends_an_existing_session_on_the_next_request(client, login, users):
    login("provider")
    assert client.get("/portal/").status_code == 200
    user = users.provider
    user.is_active = False
    user.deactivated_at = utcnow()
    db.session.commit()
    resp = client.get("/portal/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_a_session_cookie_copied_before_logout_stops_working_after_logout(app, client, login):
    login("provider")
    copied = client.get_cookie(COOKIE).value
    thief = app.test_client()
    thief.set_cookie(COOKIE, copied)
    assert thief.get("/portal/").status_code == 200  # the copy works while the session lives
    post(client, "/logout", form_url="/portal/")
    thief.set_cookie(COOKIE, copied)
    resp = thief.get("/portal/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    # the server-side row is revoked, not just the browser's cookie cleared
    assert (
        db.session.scalar(
            db.select(db.func.count())
            .select_from(UserSession)
            .where(
                UserSession.revoked_at.is_(None), UserSession.user.has(email="provider@demo.test")
            )
        )
        == 0
    )


def test_session_id_is_rotated_at_sign_in(app, client):
    client.get("/login")
    before = client.get_cookie(COOKIE).value
    assert login_post(client, "provider@demo.test", DEMO_PASSWORD).status_code == 302
    after = client.get_cookie(COOKIE).value
    assert after != before
    # a cookie planted before sign-in (session fixation) gives its holder nothing
    planted = app.test_client()
    planted.set_cookie(COOKIE, before)
    assert planted.get("/portal/").status_code == 302
    # two sign-ins get two different server-side sessions
    second = app.test_client()
    login_post(second, "provider@demo.test", DEMO_PASSWORD)
    assert second.get_cookie(COOKIE).value != after
    rows = db.session.scalars(
        db.select(UserSession).where(UserSession.user.has(email="provider@demo.test"))
    ).all()
    assert len({r.id for r in rows}) == 2


def test_idle_timeout_is_thirty_minutes(client):
    start = datetime.now(UTC).replace(microsecond=0)
    with freeze_time(start) as clock:
        sign_in(client, "provider@demo.test")
        clock.tick(timedelta(minutes=29))
        assert client.get("/portal/").status_code == 200  # activity keeps it alive
        clock.tick(timedelta(minutes=29))
        assert client.get("/portal/").status_code == 200
        clock.tick(timedelta(minutes=31))
        resp = client.get("/portal/")
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_absolute_timeout_is_twelve_hours_even_when_active(client):
    start = datetime.now(UTC).replace(microsecond=0)
    with freeze_time(start) as clock:
        sign_in(client, "provider@demo.test")
        for _ in range(35):  # a request every 20 minutes for 11 h 40 min
            clock.tick(timedelta(minutes=20))
            assert client.get("/portal/").status_code == 200
        clock.tick(timedelta(minutes=19))
        assert client.get("/portal/").status_code == 200  # 11 h 59 min
        clock.tick(timedelta(minutes=2))
        resp = client.get("/portal/")
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


# ------------------------------------------------------------------ next=


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        " //evil.example",
    ],
)
def test_next_only_redirects_within_this_site(client, target):
    client.get("/login", query_string={"next": target})
    resp = login_post(client, "provider@demo.test", DEMO_PASSWORD)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/portal/"


def test_next_to_a_page_on_this_site_is_followed_through_the_totp_step(client):
    client.get("/login", query_string={"next": "/review/?tab=mine"})
    resp = sign_in(client, "reviewer@demo.test")
    assert resp.headers["Location"] == "/review/?tab=mine"


def test_a_protected_page_sends_anonymous_users_to_login_and_back(client):
    resp = client.get("/manage/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    resp = sign_in(client, "admin@demo.test")
    assert resp.headers["Location"] == "/manage/"


def test_signed_in_user_visiting_login_goes_to_their_landing_page(client, login):
    login("reviewer")
    assert landing(client, "/login") == "/review/"
    assert landing(client, "/") == "/review/"
