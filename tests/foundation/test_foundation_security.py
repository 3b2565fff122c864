"""Security headers, CSRF, password hashing, error pages and the anonymous route sweep."""

from __future__ import annotations

import re
import uuid as uuidlib

import pytest
from argon2 import extract_parameters
from argon2.low_level import Type
from flask_login import login_required

from admin.security import is_safe_next
from models import (
    Certification,
    Document,
    Listing,
    ListingRevision,
    Organization,
    ReviewComment,
    User,
    db,
)
from tests.conftest import DEMO_PASSWORD, get_csrf, make_test_app, sign_in

# ------------------------------------------------------------------ headers


def assert_security_headers(resp, *, production: bool = False):
    h = resp.headers
    policy = h["Content-Security-Policy"]
    directives = dict((d.strip().split(" ", 1) + [""])[:2] for d in policy.split(";"))
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] in ("same-origin", "strict-origin-when-cross-origin", "no-referrer")
    if production:
        hsts = h["Strict-Transport-Security"]
        assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31536000
        assert "includeSubDomains" in hsts
    else:
        assert "Strict-Transport-Security" not in h


@pytest.mark.parametrize(
    "path",
    [
        "/login",
        "/healthz",
        "/",
        "/portal/",
        "/does-not-exist",
        "/static/css/registry.css",
        "/bootstrap/static/css/bootstrap.min.css",
        "/login/verify",
    ],
)
def test_every_response_carries_the_security_headers(client, path):
    with client.get(path) as resp:
        assert_security_headers(resp)


def test_signed_in_pages_and_errors_carry_the_headers_too(client, login):
    login("provider")
    for path in ("/portal/", "/manage/", "/nothing-here"):
        resp = client.get(path)
        assert_security_headers(resp)
    assert client.get("/portal/").headers["Cache-Control"] == "no-store"


def test_pages_have_no_inline_script_or_style(client, login):
    pages = [client.get("/login").get_data(as_text=True)]
    login("provider")
    pages.append(client.get("/portal/").get_data(as_text=True))
    for html in pages:
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script> block"
        assert "<style" not in html
        assert not re.search(r"\sstyle=", html), "inline style attribute"
        assert not re.search(r"\son[a-z]+=", html), "inline event handler"
        assert "cdn." not in html and "https://" not in html.split("<body", 1)[0]


@pytest.fixture
def other_app(database_url, var_dir):
    """Another app on the session database (its own engine, closed afterwards)."""
    made = []

    def _make(name, **extra):
        made.append(make_test_app(database_url, var_dir / name, **extra))
        return made[-1]

    yield _make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def production_app(other_app):
    return other_app(
        "prod", ENV_NAME="production", TESTING=False, SECRET_KEY="p" * 48, DEMO_BANNER=False
    )


def test_production_sends_hsts_and_a_secure_host_only_cookie(production_app):
    client = production_app.test_client()
    resp = client.get("/login", base_url="https://registry.example.org")
    assert_security_headers(resp, production=True)
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("__Host-registry=")
    for part in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert part in cookie
    assert "Domain=" not in cookie


def test_development_cookie_is_httponly_and_samesite_lax(client):
    cookie = client.get("/login").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


# ------------------------------------------------------------------ CSRF


def test_a_post_without_the_csrf_token_is_refused(client):
    resp = client.post("/login", data={"email": "provider@demo.test", "password": DEMO_PASSWORD})
    assert resp.status_code == 400
    assert "The form expired or was sent from somewhere else" in resp.get_data(as_text=True)
    assert client.get("/portal/").status_code == 302


def test_a_post_with_a_forged_csrf_token_is_refused(client, login):
    login("provider")
    resp = client.post("/logout", data={"csrf_token": "forged"})
    assert resp.status_code == 400
    assert client.get("/portal/").status_code == 200  # still signed in: logout did not happen


def test_a_csrf_token_from_another_session_is_refused(app, client):
    other = app.test_client()
    foreign = get_csrf(other)
    client.get("/login")
    resp = client.post(
        "/login",
        data={"email": "provider@demo.test", "password": DEMO_PASSWORD, "csrf_token": foreign},
    )
    assert resp.status_code == 400


def test_csrf_is_on_in_tests(app):
    assert app.config.get("WTF_CSRF_ENABLED", True) is True


# ------------------------------------------------------------------ password hashing


@pytest.fixture
def production_hashing():
    """The suite hashes cheaply (tests/conftest.py); these tests use production's hasher."""
    from models.organizations import user as user

    saved = user.password_hasher
    user.use_password_hasher(user.PRODUCTION_HASHER)
    yield
    user.use_password_hasher(saved)


def test_the_app_hashes_with_production_parameters_outside_the_test_suite():
    import subprocess
    import sys

    probe = "import models.organizations.user as u; print(u.password_hasher is u.PRODUCTION_HASHER)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_password_hashes_are_argon2id_with_asvs_parameters(users, production_hashing):
    for user in (users.provider, users.reviewer, users.admin):
        user.set_password(DEMO_PASSWORD)
        params = extract_parameters(user.password_hash)
        assert params.type is Type.ID
        # OWASP ASVS 5.0 appendix C: t=1 needs m >= 46 MiB; t=2 needs 19 MiB; t>=3 needs 12 MiB
        floor_kib = {1: 46 * 1024, 2: 19 * 1024}.get(params.time_cost, 12 * 1024)
        assert params.memory_cost >= floor_kib
        assert params.memory_cost >= 19 * 1024
        assert params.salt_len >= 16 and params.hash_len >= 32
        assert user.check_password(DEMO_PASSWORD) and not user.check_password(DEMO_PASSWORD + "x")


def test_weak_hashes_are_upgraded_at_the_next_sign_in(client, users, production_hashing):
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    user = users.provider
    user.password_hash = weak.hash(DEMO_PASSWORD)
    db.session.commit()
    assert sign_in(client, "provider@demo.test").status_code == 302
    assert extract_parameters(users.provider.password_hash).memory_cost >= 19 * 1024


# ------------------------------------------------------------------ safe next


@pytest.mark.parametrize("target", ["/portal/", "/review/?page=2", "/manage/#top"])
def test_is_safe_next_accepts_paths_on_this_site(target):
    assert is_safe_next(target)


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "//evil.example",
        "https://evil.example",
        "/\\evil",
        "\\\\evil",
        "/\t/evil.example",
        "/\n/evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "portal/",
        "/%0d%0aSet-Cookie:x=y\x00",
    ],
)
def test_is_safe_next_refuses_everything_else(target):
    assert not is_safe_next(target)


# ------------------------------------------------------------------ error pages

TRACE_MARKERS = ("Traceback", 'File "', "werkzeug", "sqlalchemy.", "Exception:")


def assert_plain_error(resp, code, title):
    body = resp.get_data(as_text=True)
    assert resp.status_code == code
    assert title in body
    for marker in TRACE_MARKERS:
        assert marker not in body


@pytest.fixture
def failing_app(other_app):
    """An app with a route that raises, as a bug would (production settings: no debug)."""
    app = other_app("failing", ENV_NAME="production", TESTING=False, SECRET_KEY="f" * 48)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals: password=hunter2")

    return app


def test_error_pages_say_what_happened_without_a_stack_trace(client, login, failing_app):
    assert_plain_error(client.get("/no/such/page"), 404, "Not found")
    login("provider")
    assert_plain_error(client.get("/manage/"), 403, "Not allowed")
    resp = failing_app.test_client().get("/boom")
    assert_plain_error(resp, 500, "Something went wrong")
    assert "hunter2" not in resp.get_data(as_text=True)


def test_api_errors_answer_json(client):
    resp = client.get("/api/hsds/does-not-exist")
    assert resp.status_code == 404
    assert resp.get_json()["error"]["status"] == 404


# ------------------------------------------------------------------ the anonymous route sweep

PUBLIC_PREFIXES = (
    "/login",
    "/healthz",
    "/invitation/",
    "/reset/",
    "/feeds/",
    "/api/hsds/",
    "/help/",  # the public find-help page (a client of the public API)
    "/static/",
    "/bootstrap/static/",
)
# /verify: the e-mailed re-verification link, which carries its own credential
PUBLIC_EXACT = {"/login", "/healthz", "/api/hsds", "/feeds", "/forgot", "/verify"}
CHECKED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def is_public(rule: str) -> bool:
    return rule in PUBLIC_EXACT or rule.startswith(PUBLIC_PREFIXES)


def demo_ids() -> dict[str, object]:
    def first(model, attr="id"):
        return db.session.scalar(db.select(getattr(model, attr)).order_by(model.id).limit(1))

    return {
        "listing": first(Listing),
        "revision": first(ListingRevision),
        "certification": first(Certification),
        "cert": first(Certification),
        "document": first(Document),
        "doc": first(Document),
        "organization": first(Organization),
        "org": first(Organization),
        "user": first(User),
        "comment": first(ReviewComment),
        "uuid": first(Listing, "uuid"),
    }


def fill(rule, ids) -> str:
    """The rule's URL with each parameter filled with a real demo id where the name says which."""
    values = {}
    for arg, conv in rule._converters.items():
        kind = type(conv).__name__
        match = next((v for k, v in ids.items() if k in arg and v is not None), None)
        if kind == "UUIDConverter":
            values[arg] = uuidlib.UUID(str(ids["uuid"]))
        elif kind in ("IntegerConverter", "NumberConverter"):
            values[arg] = match if isinstance(match, int) else 1
        elif kind == "PathConverter":
            values[arg] = "index.html"
        elif kind == "AnyConverter":
            values[arg] = next(iter(conv.items)) if hasattr(conv, "items") else "x"
        else:
            values[arg] = str(match) if match is not None else "x"
    return rule.build(values, append_unknown=False)[1]


def unprotected_routes(app) -> list[str]:
    """Every non-public (rule, method) that an anonymous visitor can reach: anything but a
    redirect to the sign-in page or 401/403/404."""
    problems = []
    client = app.test_client()
    with app.test_request_context():
        ids = demo_ids()
    for rule in app.url_map.iter_rules():
        if is_public(rule.rule):
            continue
        url = fill(rule, ids)
        for method in sorted(set(rule.methods or ()) & set(CHECKED_METHODS)):
            # a fresh token each time: an anonymous POST /logout clears the session
            data = {"csrf_token": get_csrf(client)} if method != "GET" else None
            resp = client.open(url, method=method, data=data)
            location = resp.headers.get("Location", "")
            if resp.status_code in (301, 302, 303, 307, 308) and location.split("?")[0].endswith(
                "/login"
            ):
                continue
            if resp.status_code in (401, 403, 404):
                continue
            problems.append(f"{method} {url} ({rule.endpoint}) -> {resp.status_code} {location}")
    return problems


def test_every_non_public_route_refuses_anonymous_visitors(app):
    rules = [r for r in app.url_map.iter_rules() if not is_public(r.rule)]
    assert any(r.rule.startswith("/portal") for r in rules) and any(
        r.rule.startswith("/manage") for r in rules
    )
    assert unprotected_routes(app) == []


def test_the_sweep_catches_a_new_route_without_protection(other_app):
    app = other_app("sweep")

    @app.get("/manage/forgot-to-protect/<int:organization_id>")
    def forgot(organization_id):
        return "organization data"

    @app.post("/portal/protected-action")
    @login_required
    def protected():
        return "done"

    problems = unprotected_routes(app)
    assert len(problems) == 1 and "forgot-to-protect" in problems[0]


# ------------------------------------------------------------------ behind a proxy


def test_forwarded_for_is_ignored_unless_a_proxy_is_trusted(client, other_app):
    from models import LoginAttempt

    client.post(
        "/login",
        data={
            "email": "nobody@example.org",
            "password": "wrong-password-x",
            "csrf_token": get_csrf(client),
        },
        headers={"X-Forwarded-For": "198.51.100.77"},
    )
    attempt = db.session.scalar(db.select(LoginAttempt).filter_by(email="nobody@example.org"))
    assert attempt.ip == "127.0.0.1"
    proxied = other_app("proxied", TRUSTED_PROXIES=1)

    @proxied.get("/whoami")
    def whoami():
        from flask import request

        return f"{request.remote_addr} {request.scheme}"

    forwarded = {"X-Forwarded-For": "198.51.100.77", "X-Forwarded-Proto": "https"}
    assert (
        proxied.test_client().get("/whoami", headers=forwarded).get_data(as_text=True)
        == "198.51.100.77 https"
    )
