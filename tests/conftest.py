"""Test fixtures: a real PostgreSQL database (SQLite only as a declared fallback), built once
per session with the migrations and the demo data, and a per-test outer transaction so every
test starts from the same state. Live-server and worker tests get their own copy of the
database (PostgreSQL TEMPLATE), because they need real commits seen by other processes."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, event
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
DEMO_PASSWORD = "demo-password"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _cheap_password_hashing() -> None:
    """argon2id at production parameters costs ~0.2 s per sign-in; the suite signs in hundreds
    of times. Tests hash cheaply; test_foundation_security checks the production parameters."""
    from argon2 import PasswordHasher

    from models.organizations import user as user

    user.use_password_hasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


_cheap_password_hashing()


# ------------------------------------------------------------------ which database


def _pg_admin_url() -> str | None:
    if os.environ.get("TEST_BACKEND") == "sqlite":
        return None
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url.rsplit("/", 1)[0] + "/postgres"
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=2):
            return PG_ADMIN_URL
    except psycopg.OperationalError:
        return None


PG_ADMIN = _pg_admin_url()
if (
    PG_ADMIN is None
    and os.environ.get("REQUIRE_SERVICES") == "1"
    and os.environ.get("TEST_BACKEND") != "sqlite"
):
    raise pytest.UsageError(
        "REQUIRE_SERVICES=1 but no PostgreSQL answers on 127.0.0.1:5432 (or TEST_DATABASE_URL)."
    )
BACKEND = "postgresql" if PG_ADMIN else "sqlite"


def pytest_report_header(config):
    return f"registry tests on {BACKEND}" + (
        f" ({PG_ADMIN.rsplit('@', 1)[-1]})" if PG_ADMIN else " (no PostgreSQL found: fallback)"
    )


def pg_url(dbname: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + dbname


def pg_exec(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


def worker_suffix() -> str:
    return f"{os.getpid()}_{os.environ.get('PYTEST_XDIST_WORKER', 'm')}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ the session database


@pytest.fixture(scope="session")
def var_dir():
    d = Path(tempfile.mkdtemp(prefix="registry-test-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(var_dir):
    if BACKEND == "postgresql":
        name = f"registry_test_{worker_suffix()}"
        pg_exec(f"DROP DATABASE IF EXISTS {name}")
        pg_exec(f"CREATE DATABASE {name}")
        yield pg_url(name)
        pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    else:
        yield f"sqlite:///{var_dir / 'test.db'}"


def make_test_app(database_url: str, var_dir: Path, **extra):
    from admin import create_app

    config = {
        "ENV_NAME": "test",
        "TESTING": True,
        "SECRET_KEY": "test-secret-" + "x" * 32,
        "DATABASE_URL": database_url,
        "VAR_DIR": str(var_dir),
        "UPLOAD_DIR": str(var_dir / "uploads"),
        "RELEASES_DIR": str(var_dir / "releases"),
        "OUTBOX_DIR": str(var_dir / "outbox"),
        "CELERY_BROKER_URL": "memory://",
        "CELERY_ALWAYS_EAGER": True,
        "SQLALCHEMY_RECORD_QUERIES": True,
        "DEMO_BANNER": True,
        # the PDF directories are rendered by the tests that look at them (tests/pdf, and the
        # release test that checks they are part of a release)
        "PUBLISH_PDFS": False,
        "PUBLIC_BASE_URL": "http://registry.test",
    }
    config.update(extra)
    return create_app(config)


def _fresh_request_globals(sender, **extra):
    """Each request starts with an empty `g`, as in production. Tests keep one app context
    pushed (for the shared database session), and requests reuse it, so without this `g`
    would carry Flask-Login's cached user and Flask-WTF's CSRF token from one request (and
    one client) to the next, hiding sign-out and session bugs."""
    from flask import g

    g.__dict__.clear()


@pytest.fixture(scope="session")
def app(database_url, var_dir):
    """One app for the session; schema from the migrations, then reference and demo data."""
    from flask import request_started

    app = make_test_app(database_url, var_dir)
    request_started.connect(_fresh_request_globals, app)
    from models import db

    with app.app_context():
        upgrade()
        from admin.demo import load_demo

        load_demo()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    yield app
    # close pooled connections before the database is dropped (else ResourceWarning at exit)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _db_isolation(request, app):
    """Every test runs inside an outer transaction that is rolled back afterwards. Sessions
    commit to savepoints. Tests marked `live` manage their own database instead."""
    if request.node.get_closest_marker("live"):
        yield
        return
    from models import db

    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        engines = db.engines
        saved = engines[None]
        engines[None] = connection
        factory_kw = db.session.session_factory.kw
        factory_kw["join_transaction_mode"] = "create_savepoint"
        try:
            yield connection
        finally:
            db.session.remove()
            factory_kw.pop("join_transaction_mode", None)
            engines[None] = saved
            if outer.is_active:
                outer.rollback()
            connection.close()


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


@pytest.fixture
def client(app):
    return app.test_client()


# ------------------------------------------------------------------ signing in


def csrf_from(html: str) -> str:
    m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert m, "no CSRF token on the page"
    return m.group(1)


def get_csrf(client, url: str = "/login") -> str:
    return csrf_from(client.get(url).get_data(as_text=True))


def totp_now(secret: str = DEMO_TOTP_SECRET) -> str:
    from admin.auth.totp import totp

    return totp(secret).now()


def sign_in(client, email: str, password: str = DEMO_PASSWORD, *, follow: bool = False):
    """Sign in through the real forms (password, then TOTP for staff). Returns the last response."""
    from models import User, db

    resp = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": get_csrf(client)}
    )
    if resp.status_code == 302 and resp.headers["Location"].endswith("/login/verify"):
        user = db.session.scalar(db.select(User).filter_by(email=email))
        user.totp_last_counter = None  # allow several sign-ins within one 30-second step
        db.session.commit()
        token = get_csrf(client, "/login/verify")
        resp = client.post(
            "/login/verify", data={"code": totp_now(user.totp_secret), "csrf_token": token}
        )
    if follow and resp.status_code == 302:
        resp = client.get(resp.headers["Location"])
    return resp


@pytest.fixture
def login(client):
    def _login(who: str):
        email = who if "@" in who else f"{who}@demo.test"
        resp = sign_in(client, email)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return client

    return _login


def post(client, url: str, data: dict | None = None, *, form_url: str | None = None, **kw):
    """POST with a valid CSRF token taken from `form_url` (default: the same URL)."""
    data = dict(data or {})
    data.setdefault("csrf_token", get_csrf(client, form_url or url))
    return client.post(url, data=data, **kw)


@pytest.fixture
def users(app):
    from models import User, db

    def by_email(email):
        return db.session.scalar(db.select(User).filter_by(email=email))

    class Users:
        provider = property(lambda self: by_email("provider@demo.test"))
        reviewer = property(lambda self: by_email("reviewer@demo.test"))
        admin = property(lambda self: by_email("admin@demo.test"))

        def get(self, email):
            return by_email(email)

    return Users()


# ------------------------------------------------------------------ concurrency


def run_at_once(fns, timeout: float = 120) -> list:
    """Call every function in its own thread, released together by a barrier; their results
    in order. Any exception fails the test with all of them."""
    barrier = threading.Barrier(len(fns))
    results: list = [None] * len(fns)
    errors: list = []

    def run(i, fn):
        try:
            barrier.wait(timeout=30)
            results[i] = fn()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    assert not errors, errors
    return results


# ------------------------------------------------------------------ releases


@pytest.fixture
def releases_dir(app, tmp_path):
    """Point the (session) app at an empty releases folder for one test."""
    saved = app.config["RELEASES_DIR"]
    d = tmp_path / "releases"
    d.mkdir()
    app.config["RELEASES_DIR"] = str(d)
    yield d
    app.config["RELEASES_DIR"] = saved


@pytest.fixture
def build(app, releases_dir):
    """Run the release builder in the test's transaction; returns the BuildResult."""
    from tasks.publishing.builder import build_release

    def _build(trigger: str = "manual", **kw):
        with app.app_context():
            return build_release(trigger, **kw)

    return _build


# ------------------------------------------------------------------ live copies of the database


def clone_database(app, var_dir: Path) -> str:
    """A committed copy of the session database (demo data included) for other processes."""
    from models import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if BACKEND == "postgresql":
        source = app.config["SQLALCHEMY_DATABASE_URI"].rsplit("/", 1)[1]
        name = f"registry_live_{uuid.uuid4().hex[:10]}"
        pg_exec(f"CREATE DATABASE {name} TEMPLATE {source}")
        return pg_url(name)
    src = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    dst = var_dir / f"live-{uuid.uuid4().hex[:10]}.db"
    shutil.copyfile(src, dst)
    return f"sqlite:///{dst}"


def drop_database(url: str) -> None:
    if url.startswith("postgresql"):
        pg_exec(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


def _log_arrivals(app):
    """The app, logging each request as it arrives (werkzeug logs it when answered), so a
    browser test that times out says whether its request reached the server."""
    import logging

    log = logging.getLogger("live_server")
    log.setLevel(logging.INFO)
    inner = app.wsgi_app

    def wsgi_app(environ, start_response):
        log.info("arrived: %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
        return inner(environ, start_response)

    app.wsgi_app = wsgi_app
    return app


class LiveServer:
    def __init__(self, app, port: int):
        self.app = app
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._server = make_server("127.0.0.1", port, _log_arrivals(app), threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture
def live_app(app, var_dir):
    """An app on its own committed copy of the demo database."""
    url = clone_database(app, var_dir)
    d = var_dir / f"live-{uuid.uuid4().hex[:8]}"
    live = make_test_app(url, d, SQLALCHEMY_RECORD_QUERIES=False)
    yield live
    from models import db

    with live.app_context():
        db.session.remove()
        db.engine.dispose()
    drop_database(url)


@pytest.fixture
def live_server(live_app):
    server = LiveServer(live_app, free_port())
    server.start()
    yield server
    server.stop()


# ------------------------------------------------------------------ browser


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("Debian's chromium is not installed (/usr/bin/chromium)")
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    context.close()


def browser_sign_in(
    page, base_url: str, email: str, password: str = DEMO_PASSWORD, totp_secret: str | None = None
):
    page.goto(base_url + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit], input[type=submit]")
    if totp_secret:
        page.wait_for_url(re.compile(r".*/login/(verify|setup-2fa)$"))
        page.fill("input[name=code]", totp_now(totp_secret))
        page.click("button[type=submit], input[type=submit]")


def save_draft(page):
    """Press the listing editor's "Save draft" and return the save's response.

    A "leave this page?" prompt would hold the save's navigation (and its POST) until answered:
    it is recorded, accepted and named in the assertion. A form the browser would refuse to send
    is named too. The button is pressed from the keyboard: focus brings it into view without a
    pointer landing on coordinates a late layout change could move."""
    dialogs: list[str] = []

    def answer(dialog) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.accept()

    page.on("dialog", answer)
    invalid = page.evaluate(
        "Array.from(document.querySelectorAll('form.listing-editor :invalid'), e => e.name)"
    )
    assert invalid == [], invalid
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/edit"), timeout=30_000
    ) as saved:
        page.get_by_role("button", name="Save draft").press("Enter")
    page.remove_listener("dialog", answer)
    assert dialogs == [], dialogs
    assert saved.value.status in (302, 303), (saved.value.status, page.url)
    return saved.value


# ------------------------------------------------------------------ e-mail


class CapturedMail:
    def __init__(self):
        self.messages: list = []
        self._cond = threading.Condition()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        from email import message_from_bytes, policy

        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self._cond:
            self.messages.append(msg)
            self._cond.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int = 1, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} e-mail(s), got {len(self.messages)}")
                self._cond.wait(left)
        return self.messages


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives."""
    from aiosmtpd.controller import Controller

    handler = CapturedMail()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.port = port
    yield handler
    controller.stop()


@pytest.fixture
def mail_to_smtp(app, smtp_server):
    """Point the app's mail at the test SMTP server for one test."""
    saved = {k: app.config.get(k) for k in ("MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    yield smtp_server
    app.config.update(saved)


# ------------------------------------------------------------------ query counting


class QueryCounter:
    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []

    def _on(self, conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            self.statements.append(statement)

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._on)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    from models import db

    def _counter():
        with app.app_context():
            engine = db.engines.get(None)
        return QueryCounter(getattr(engine, "engine", engine))

    return _counter


# ------------------------------------------------------------------ subprocess helpers


def run_flask(
    args: list[str], env_extra: dict[str, str], timeout: int = 120
) -> subprocess.CompletedProcess:
    env = {**os.environ, "FLASK_APP": "admin", **env_extra}
    return subprocess.run(
        [sys.executable, "-m", "flask", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "live: uses its own committed database copy (no outer transaction)"
    )
    config.addinivalue_line(
        "markers",
        "postgres(reason): needs a PostgreSQL-only feature (row or advisory locks, triggers, real "
        "concurrency); skipped with that reason on the SQLite backend",
    )


def pytest_collection_modifyitems(config, items):
    if BACKEND == "postgresql":
        return
    for item in items:
        marker = item.get_closest_marker("postgres")
        if marker is not None:
            why = marker.kwargs.get("reason") or (
                marker.args[0] if marker.args else "needs PostgreSQL"
            )
            item.add_marker(pytest.mark.skip(reason=f"PostgreSQL only: {why}"))


__all__ = ["create_engine"]


# ------------------------------------------------------------------ personas (factories)


@pytest.fixture
def provider_a(app):
    """The administrator of a provider organization of its own (org A), with one live listing."""
    from tests.factories import ListingFactory, ProviderFactory

    user = ProviderFactory(is_org_admin=True, name="Provider of A")
    ListingFactory(organization=user.organization, by=user)
    return user


@pytest.fixture
def provider_b(app):
    """A provider of another organization (org B), with one live listing."""
    from tests.factories import ListingFactory, ProviderFactory

    user = ProviderFactory(name="Provider of B")
    ListingFactory(organization=user.organization, by=user)
    return user


@pytest.fixture
def reviewer(app):
    from tests.factories import ReviewerFactory

    return ReviewerFactory(name="A reviewer")


@pytest.fixture
def admin(app):
    from tests.factories import AdminFactory

    return AdminFactory(name="An administrator")


@pytest.fixture
def login_as(app):
    """Sign a fresh test client in as a (factory-made) person; returns the client."""
    from tests.factories import PASSWORD

    def _login_as(user):
        client = app.test_client()
        resp = sign_in(client, user.email, PASSWORD)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        assert "/login" not in resp.headers["Location"], resp.headers["Location"]
        return client

    return _login_as
