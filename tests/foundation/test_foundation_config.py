"""Configuration from the environment, Celery settings, and `flask users create`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import extract_parameters
from flask import Flask

from admin.config import DEV_SECRET, ConfigError, celery_settings, load
from models import User, db

ENV_NAMES = [
    "SECRET_KEY",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "PORT",
    "REGISTRY_ENV",
    "VAR_DIR",
    "MAIL_PORT",
]


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A clean environment for config loading; VAR_DIR points at a temporary folder."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    return monkeypatch


def loaded(overrides=None) -> Flask:
    app = Flask("config-probe")
    load(app, overrides)
    return app


def test_embedded_default_needs_no_service(env, tmp_path):
    c = loaded().config
    assert c["ENV_NAME"] == "development"
    assert c["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'registry.db'}"
    assert c["CELERY_BROKER_URL"] == f"sqla+sqlite:///{tmp_path / 'celery-broker.db'}"
    for key in ("UPLOAD_DIR", "RELEASES_DIR", "OUTBOX_DIR"):
        assert c[key].startswith(str(tmp_path)) and (tmp_path / c[key].rsplit("/", 1)[1]).is_dir()
    assert c["PORT"] == 5000
    assert c["SESSION_COOKIE_SECURE"] is False


def test_port_is_read_from_the_environment(env):
    env.setenv("PORT", "6123")
    assert loaded().config["PORT"] == 6123
    env.setenv("PORT", "web")
    with pytest.raises(ConfigError, match="PORT must be a whole number"):
        loaded()


def test_production_switches_by_environment_variables(env):
    env.setenv("REGISTRY_ENV", "production")
    env.setenv("SECRET_KEY", "s" * 64)
    env.setenv("DATABASE_URL", "postgres://registry@db:5432/registry")
    env.setenv("CELERY_BROKER_URL", "redis://redis:6379/0")
    env.setenv("MAIL_PORT", "587")
    env.setenv("PUBLIC_BASE_URL", "https://registry.example.org/")
    c = loaded().config
    assert c["PUBLIC_BASE_URL"] == "https://registry.example.org"
    assert c["IS_PRODUCTION"] is True
    assert c["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://registry@db:5432/registry"
    assert c["CELERY_BROKER_URL"] == "redis://redis:6379/0"
    assert c["MAIL_PORT"] == 587
    assert c["SESSION_COOKIE_SECURE"] is True and c["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert c["PREFERRED_URL_SCHEME"] == "https"


def test_public_base_url_follows_the_port_unless_set(env):
    env.setenv("PORT", "8080")
    assert loaded().config["PUBLIC_BASE_URL"] == "http://localhost:8080"
    env.setenv("PUBLIC_BASE_URL", "http://registry.local:9000")
    assert loaded().config["PUBLIC_BASE_URL"] == "http://registry.local:9000"


def test_production_refuses_a_missing_public_base_url(env):
    env.setenv("REGISTRY_ENV", "production")
    env.setenv("SECRET_KEY", "s" * 64)
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL must be set"):
        loaded()


@pytest.mark.parametrize("secret", [None, "", DEV_SECRET, "short-secret"])
def test_production_refuses_a_missing_default_or_weak_secret(env, secret):
    env.setenv("REGISTRY_ENV", "production")
    if secret is not None:
        env.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigError, match="In production SECRET_KEY must be set"):
        loaded()


def test_create_app_refuses_production_without_a_secret(env):
    from admin import create_app

    env.setenv("REGISTRY_ENV", "production")
    with pytest.raises(ConfigError):
        create_app()


def test_an_unknown_registry_setting_is_refused(env):
    env.setenv("REGISTRY_SESION_IDLE_MINUTES", "5")  # a typo must not be silently ignored
    with pytest.raises(ConfigError, match="Unknown REGISTRY_ settings: SESION_IDLE_MINUTES"):
        loaded()


def test_a_known_registry_setting_is_read_as_json(env):
    env.setenv("REGISTRY_SESSION_IDLE_MINUTES", "15")
    env.setenv("REGISTRY_DEMO_BANNER", "false")
    c = loaded().config
    assert c["SESSION_IDLE_MINUTES"] == 15 and c["DEMO_BANNER"] is False


def test_an_unknown_environment_name_is_refused(env):
    env.setenv("REGISTRY_ENV", "staging")
    with pytest.raises(ConfigError, match="REGISTRY_ENV must be"):
        loaded()


def test_test_overrides_win_over_the_environment(env, tmp_path):
    other = tmp_path / "override"
    c = loaded({"VAR_DIR": str(other)}).config
    assert c["VAR_DIR"] == str(other)
    assert c["UPLOAD_DIR"] == str(other / "uploads")


# ------------------------------------------------------------------ Celery


def test_celery_eager_settings_in_effect_under_their_celery5_names(app):
    conf = app.extensions["celery"].conf
    assert conf.task_always_eager is True
    assert conf.task_eager_propagates is True
    # the Celery 3 upper-case names do nothing in Celery 5: only lower-case settings are passed
    assert all(key == key.lower() for key in celery_settings(app.config))


def test_celery_uses_json_only(app):
    celery = app.extensions["celery"]
    conf = celery.conf
    assert conf.task_serializer == "json" and conf.result_serializer == "json"
    assert list(conf.accept_content) == ["json"]
    ours = {name: task for name, task in celery.tasks.items() if name.startswith("registry.")}
    assert "registry.housekeeping" in ours
    for name, task in ours.items():
        assert task.serializer == "json", name


def test_an_eager_task_runs_in_the_callers_app_context(app, database_url, var_dir):
    from models import LoginAttempt, utcnow
    from tasks.housekeeping import housekeeping
    from tests.conftest import make_test_app

    # another app created later becomes Celery's default app (as live servers do in tests)
    other = make_test_app(database_url, var_dir / "other-celery")
    try:
        db.session.add(
            LoginAttempt(email="old@example.org", ip="192.0.2.9", at=utcnow() - timedelta(days=31))
        )
        db.session.commit()
        result = housekeeping.delay()
        assert result.successful()
        assert result.get() == {"login_attempts": 1, "sessions": 0}
        assert db.session.scalar(db.select(LoginAttempt).filter_by(email="old@example.org")) is None
    finally:
        with other.app_context():
            db.engine.dispose()


def test_one_beat_schedule_names_registered_tasks(app):
    celery = app.extensions["celery"]
    schedule = celery.conf.beat_schedule
    assert schedule, "the beat schedule is empty"
    for entry in schedule.values():
        assert entry["task"] in celery.tasks


# ------------------------------------------------------------------ flask users create


def create(app, *args):
    return app.test_cli_runner().invoke(args=["users", "create", *args])


def test_users_create_makes_an_argon2id_account(app):
    result = create(
        app,
        "--email",
        "New.Admin@Example.org",
        "--name",
        "New Admin",
        "--role",
        "admin",
        "--password",
        "a long enough passphrase",
    )
    assert result.exit_code == 0, result.output
    assert "created admin new.admin@example.org" in result.output
    user = db.session.scalar(db.select(User).filter_by(email="new.admin@example.org"))
    assert user.role == "admin" and user.totp_enabled_at is None  # enrols at first sign-in
    assert extract_parameters(user.password_hash).type.name == "ID"
    assert user.check_password("a long enough passphrase")


def test_users_create_makes_a_provider_in_an_organization(app, users):
    org_id = users.provider.organization_id
    result = create(
        app,
        "--email",
        "staff@bluestem.example.org",
        "--name",
        "Staff",
        "--role",
        "provider",
        "--organization-id",
        str(org_id),
        "--org-admin",
        "--password",
        "a long enough passphrase",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(db.select(User).filter_by(email="staff@bluestem.example.org"))
    assert user.organization_id == org_id and user.is_org_admin


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--email", "x@example.org", "--name", "X", "--role", "admin", "--password", "short"],
            "at least 12 characters",
        ),
        (
            [
                "--email",
                "x@example.org",
                "--name",
                "X",
                "--role",
                "admin",
                "--password",
                "password1234",
            ],
            "common password",
        ),
        (
            [
                "--email",
                "not-an-address",
                "--name",
                "X",
                "--role",
                "admin",
                "--password",
                "a long enough passphrase",
            ],
            "not a valid e-mail address",
        ),
        (
            [
                "--email",
                "x@example.org",
                "--name",
                "  ",
                "--role",
                "admin",
                "--password",
                "a long enough passphrase",
            ],
            "name",
        ),
        (
            [
                "--email",
                "x@example.org",
                "--name",
                "X",
                "--role",
                "provider",
                "--password",
                "a long enough passphrase",
            ],
            "providers need an existing organization",
        ),
        (
            [
                "--email",
                "x@example.org",
                "--name",
                "X",
                "--role",
                "provider",
                "--organization-id",
                "999999",
                "--password",
                "a long enough passphrase",
            ],
            "providers need an existing organization",
        ),
        (
            [
                "--email",
                "x@example.org",
                "--name",
                "X",
                "--role",
                "reviewer",
                "--organization-id",
                "1",
                "--password",
                "a long enough passphrase",
            ],
            "only providers belong",
        ),
        (
            [
                "--email",
                "x@example.org",
                "--name",
                "X",
                "--role",
                "superuser",
                "--password",
                "a long enough passphrase",
            ],
            "'superuser' is not one of",
        ),
    ],
)
def test_users_create_refuses_bad_input(app, args, message):
    before = db.session.scalar(db.select(db.func.count(User.id)))
    result = create(app, *args)
    assert result.exit_code != 0
    assert message in result.output
    assert db.session.scalar(db.select(db.func.count(User.id))) == before


def test_users_create_refuses_an_email_that_already_has_an_account(app):
    args = [
        "--email",
        "twice@example.org",
        "--name",
        "Twice",
        "--role",
        "reviewer",
        "--password",
        "a long enough passphrase",
    ]
    assert create(app, *args).exit_code == 0
    again = create(app, *[a.replace("twice@", "TWICE@") for a in args])
    assert again.exit_code != 0 and "already has an account" in again.output
    assert (
        db.session.scalar(db.select(db.func.count(User.id)).filter_by(email="twice@example.org"))
        == 1
    )


def test_flask_demo_totp_prints_the_code_the_demo_staff_accept(app):
    from admin.auth.totp import totp
    from admin.demo import DEMO_TOTP_SECRET

    result = app.test_cli_runner().invoke(args=["demo", "totp"])
    assert result.exit_code == 0
    code = result.output.strip()
    assert len(code) == 6 and totp(DEMO_TOTP_SECRET).verify(code, valid_window=1)
