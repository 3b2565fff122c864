"""People: invitations, role changes, deactivation that ends sessions at once, second-factor
resets behind re-authentication, and password reset by e-mail that does not bypass TOTP."""

from __future__ import annotations

import re
from datetime import timedelta

from manage_helpers import page_token, post_form

from models import AuditEvent, Invitation, User, UserSession, db, utcnow
from tests.conftest import sign_in, totp_now


def _link_path(message) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    m = re.search(r"https?://\S+(/(?:invitation|reset)/[\w-]+)", body)
    assert m, body
    return m.group(1)


def test_admin_invites_a_provider_user_who_sets_a_password(app, admin_client, users, mail_to_smtp):
    org = users.provider.organization
    resp = post_form(
        admin_client,
        "/manage/people/invite",
        {
            "email": "New.Person@Example.org",
            "name": "New Person",
            "role": "provider",
            "organization_id": str(org.id),
            "is_org_admin": "y",
        },
        token_url="/manage/people/invite",
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    user = users.get("new.person@example.org")
    assert user.role == "provider" and user.organization_id == org.id and user.is_org_admin
    assert user.password_hash is None and not user.can_sign_in
    [msg] = mail_to_smtp.wait_for(1)
    assert msg["To"] == "new.person@example.org"
    path = _link_path(msg)
    invitee = app.test_client()
    resp = post_form(
        invitee,
        path,
        {"password": "a long river of quiet words", "confirm": "a long river of quiet words"},
        token_url=path,
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    assert invitee.get(path).status_code == 404  # one time only
    assert (
        sign_in(invitee, "new.person@example.org", "a long river of quiet words")
        .headers["Location"]
        .endswith("/portal/")
    )
    assert (
        db.session.scalar(
            db.select(AuditEvent).filter_by(action="user.invite", object_id=str(user.id))
        )
        is not None
    )


def test_invitation_form_errors_sit_next_to_fields(admin_client, users):
    resp = post_form(
        admin_client,
        "/manage/people/invite",
        {
            "email": "not-an-email",
            "name": "",
            "role": "reviewer",
            "organization_id": str(users.provider.organization_id),
        },
        token_url="/manage/people/invite",
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert (
        'id="email-error"' in html
        and 'id="name-error"' in html
        and 'id="organization_id-error"' in html
    )
    existing = post_form(
        admin_client,
        "/manage/people/invite",
        {
            "email": "reviewer@demo.test",
            "name": "Dup",
            "role": "reviewer",
            "organization_id": "",
        },
        token_url="/manage/people/invite",
    )
    assert "already has an account" in existing.get_data(as_text=True)


def test_invitation_link_expires(app, users):
    from models.organizations import invite_user

    _user, token = invite_user(
        email="late@example.org",
        name="Late",
        role="reviewer",
        organization=None,
        is_org_admin=False,
        by=users.admin,
        ttl=timedelta(hours=72),
    )
    inv = db.session.scalar(db.select(Invitation).filter_by(email="late@example.org"))
    inv.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert app.test_client().get(f"/invitation/{token}").status_code == 404


def test_deactivated_users_open_session_stops_on_the_next_request(app, admin_client, users):
    victim = app.test_client()
    assert sign_in(victim, "colleague@demo.test").status_code == 302
    assert victim.get("/portal/").status_code == 200
    target = users.get("colleague@demo.test")
    resp = post_form(admin_client, f"/manage/people/{target.id}/deactivate")
    assert resp.status_code == 302
    assert not users.get("colleague@demo.test").is_active
    after = victim.get("/portal/")
    assert after.status_code == 302 and "/login" in after.headers["Location"]
    again = sign_in(app.test_client(), "colleague@demo.test")
    assert again.status_code == 200 and "cannot sign in" in again.get_data(as_text=True)
    # reactivation lets them sign in again
    post_form(admin_client, f"/manage/people/{target.id}/reactivate")
    assert sign_in(app.test_client(), "colleague@demo.test").status_code == 302


def test_role_change_ends_sessions_and_is_audited(app, admin_client, users):
    victim = app.test_client()
    sign_in(victim, "reviewer2@demo.test")
    assert victim.get("/review/").status_code == 200
    target = users.get("reviewer2@demo.test")
    resp = post_form(
        admin_client,
        f"/manage/people/{target.id}/edit",
        {
            "name": target.name,
            "role": "admin",
            "organization_id": "",
        },
        token_url=f"/manage/people/{target.id}",
    )
    assert resp.status_code == 302
    assert users.get("reviewer2@demo.test").role == "admin"
    assert victim.get("/review/").status_code == 302
    ev = db.session.scalar(
        db.select(AuditEvent).filter_by(action="user.change_role", object_id=str(target.id))
    )
    assert ev.before["role"] == "reviewer" and ev.after["role"] == "admin"


def test_admin_cannot_demote_or_deactivate_themselves(admin_client, users):
    me = users.admin
    resp = post_form(
        admin_client,
        f"/manage/people/{me.id}/edit",
        {"name": me.name, "role": "reviewer", "organization_id": ""},
        token_url=f"/manage/people/{me.id}",
    )
    assert resp.status_code == 400 and "own role" in resp.get_data(as_text=True)
    post_form(admin_client, f"/manage/people/{me.id}/deactivate")
    assert users.admin.is_active


def _age_session(client, minutes: int) -> None:
    with client.session_transaction() as s:
        token = s["sid"]
    row = db.session.get(UserSession, UserSession.hash_token(token))
    row.created_at = utcnow() - timedelta(minutes=minutes)
    db.session.commit()


def test_second_factor_reset_needs_reauthentication(app, admin_client, users):
    target = users.reviewer
    url = f"/manage/people/{target.id}/reset-second-factor"
    _age_session(admin_client, 10)  # not a fresh sign-in any more
    page = admin_client.get(url).get_data(as_text=True)
    assert 'name="password"' in page and 'name="code"' in page
    wrong = post_form(
        admin_client, url, {"password": "not my password", "code": totp_now()}, token_url=url
    )
    assert wrong.status_code == 400
    assert users.reviewer.totp_enabled_at is not None
    admin = users.admin
    admin.totp_last_counter = None
    db.session.commit()
    ok = post_form(
        admin_client, url, {"password": "demo-password", "code": totp_now()}, token_url=url
    )
    assert ok.status_code == 302
    reviewer = users.reviewer
    assert reviewer.totp_enabled_at is None and reviewer.totp_secret is None
    # their next sign-in asks them to enrol a new authenticator after the password
    c = app.test_client()
    resp = c.post(
        "/login",
        data={
            "email": "reviewer@demo.test",
            "password": "demo-password",
            "csrf_token": page_token(c, "/login"),
        },
    )
    assert resp.headers["Location"].endswith("/login/setup-2fa")


def test_second_factor_reset_after_a_fresh_sign_in_asks_nothing_more(admin_client, users):
    url = f"/manage/people/{users.reviewer.id}/reset-second-factor"
    page = admin_client.get(url).get_data(as_text=True)
    assert 'name="password"' not in page
    assert post_form(admin_client, url, token_url=url).status_code == 302
    assert users.reviewer.totp_enabled_at is None


def test_forgot_password_answers_the_same_and_does_not_bypass_totp(app, users, mail_to_smtp):
    c = app.test_client()
    known = post_form(c, "/forgot", {"email": "reviewer@demo.test"}, token_url="/forgot").get_data(
        as_text=True
    )
    unknown = post_form(
        c, "/forgot", {"email": "nobody@nowhere.example"}, token_url="/forgot"
    ).get_data(as_text=True)
    strip = lambda html: re.sub(r'value="[^"]+"', "", html)  # noqa: E731 - CSRF tokens differ
    assert strip(known) == strip(unknown)
    [msg] = mail_to_smtp.wait_for(1)
    assert msg["To"] == "reviewer@demo.test"
    path = _link_path(msg)
    resp = post_form(
        c,
        path,
        {"password": "another calm sentence here", "confirm": "another calm sentence here"},
        token_url=path,
    )
    assert resp.status_code == 302
    login = c.post(
        "/login",
        data={
            "email": "reviewer@demo.test",
            "password": "another calm sentence here",
            "csrf_token": page_token(c, "/login"),
        },
    )
    assert login.headers["Location"].endswith("/login/verify")  # still asks for the code
    assert c.get("/review/").status_code == 302


def test_people_list_search_and_csv(admin_client):
    page = admin_client.get("/manage/people?q=reviewer").get_data(as_text=True)
    assert "reviewer@demo.test" in page and "provider@demo.test" not in page
    csv_text = admin_client.get("/manage/people.csv?role=admin").get_data(as_text=True)
    lines = csv_text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("id,email,name,role")
    assert any("admin@demo.test" in line for line in lines[1:])
    assert all(",admin," in line for line in lines[1:])


def test_org_admin_invites_and_removes_a_colleague(app, users, mail_to_smtp):
    c = app.test_client()
    sign_in(c, "provider@demo.test")
    resp = post_form(
        c,
        "/portal/colleagues",
        {"email": "helper@example.org", "name": "Helper"},
        token_url="/portal/colleagues",
    )
    assert resp.status_code == 302
    new = users.get("helper@example.org")
    assert new.organization_id == users.provider.organization_id and new.role == "provider"
    mail_to_smtp.wait_for(1)
    colleague = users.get("colleague@demo.test")
    victim = app.test_client()
    sign_in(victim, "colleague@demo.test")
    resp = post_form(c, f"/portal/colleagues/{colleague.id}/remove", token_url="/portal/colleagues")
    assert resp.status_code == 302
    assert not users.get("colleague@demo.test").is_active
    assert victim.get("/portal/").status_code == 302
    history = c.get("/portal/colleagues/history").get_data(as_text=True)
    assert "user removed by org admin" in history
    assert User  # the model import documents what the rows are


def test_reset_links_are_limited_per_hour(users):
    from models.organizations import MAX_RESETS_PER_HOUR, request_password_reset

    sent = [
        request_password_reset("provider@demo.test", ttl=timedelta(hours=1))
        for _ in range(MAX_RESETS_PER_HOUR + 2)
    ]
    assert [s is not None for s in sent] == [True] * MAX_RESETS_PER_HOUR + [False, False]
    assert request_password_reset("nobody@nowhere.example", ttl=timedelta(hours=1)) is None
