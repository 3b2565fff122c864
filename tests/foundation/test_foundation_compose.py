"""The production wiring in docker-compose.yml, the Dockerfile and deploy/nginx.conf (no Docker
engine runs here, so the files are read and checked)."""

from __future__ import annotations

import re

import pytest
import yaml

from admin.config import DIRECT_ENV, defaults
from tests.conftest import ROOT

APP_SERVICES = ("web", "worker", "beat")


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def command_of(service) -> str:
    cmd = service.get("command", "")
    return " ".join(cmd) if isinstance(cmd, list) else cmd


def test_all_services_are_there(compose):
    assert {"postgres", "redis", "web", "worker", "beat", "nginx", "mailpit"} <= set(
        compose["services"]
    )


def test_app_services_share_one_image_and_the_production_environment(compose):
    services = compose["services"]
    known = set(DIRECT_ENV) | {f"REGISTRY_{k}" for k in defaults(ROOT / "var")}
    for name in (*APP_SERVICES, "migrate"):
        s = services[name]
        assert s["build"] == "." and s["image"] == services["web"]["image"]
        env = s["environment"]
        assert env["REGISTRY_ENV"] == "production"
        assert (
            env["DATABASE_URL"].startswith("postgresql://")
            and "@postgres:5432/" in env["DATABASE_URL"]
        )
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
        assert env["REDIS_URL"].startswith("redis://redis:6379/")
        assert env["MAIL_SERVER"] and env["MAIL_PORT"]
        # the secret comes from the environment and compose stops when it is missing
        assert re.fullmatch(r"\$\{SECRET_KEY:\?.+\}", env["SECRET_KEY"])
        assert "POSTGRES_PASSWORD:?" in env["DATABASE_URL"]
        # every variable is one the app reads (an unknown REGISTRY_ key would stop it)
        assert set(env) <= known, set(env) - known
        assert s["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert s["depends_on"]["redis"]["condition"] == "service_healthy"


def test_web_runs_gunicorn_and_is_health_checked(compose):
    web = compose["services"]["web"]
    assert command_of(web).startswith("sh -c exec gunicorn") and "admin:create_app()" in command_of(
        web
    )
    assert "/healthz" in " ".join(web["healthcheck"]["test"])


def test_beat_runs_exactly_once(compose):
    services = compose["services"]
    with_beat = [
        name
        for name, s in services.items()
        if re.search(r"celery .*\bbeat\b|\s-B\b|--beat\b", command_of(s))
    ]
    assert with_beat == ["beat"]
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1
    worker = command_of(services["worker"])
    assert "worker" in worker and "-B" not in worker.split() and "--beat" not in worker


def test_every_long_running_service_has_a_healthcheck(compose):
    for name, s in compose["services"].items():
        if "setup" in s.get("profiles", []):
            continue
        assert s.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_migrations_are_a_separate_step(compose):
    migrate = compose["services"]["migrate"]
    assert command_of(migrate).endswith("flask db upgrade && flask reference load")
    assert migrate["profiles"] == ["setup"] and migrate["restart"] == "no"
    for name in APP_SERVICES:
        assert "db upgrade" not in command_of(compose["services"][name])


def test_nginx_serves_releases_read_only_and_proxies_the_app(compose):
    services = compose["services"]
    nginx = services["nginx"]
    mounts = {v.split(":")[1]: v for v in nginx["volumes"]}
    assert mounts["/srv/releases"] == "releases:/srv/releases:ro"
    assert mounts["/etc/nginx/conf.d/default.conf"].endswith(":ro")
    # nginx sees the releases only, never uploads or the rest of VAR_DIR
    assert not any(v.startswith("registry-data") for v in nginx["volumes"])
    for name in APP_SERVICES:
        assert "releases:/var/lib/registry/releases" in services[name]["volumes"]
        assert (
            services[name]["environment"]["REGISTRY_RELEASES_DIR"] == "/var/lib/registry/releases"
        )
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    # the volume is RELEASES_DIR: release <n> is releases/<n>/ in it, `current` a link to one
    assert re.search(
        r"location /feeds/releases/ \{[^}]*alias /srv/releases/releases/;[^}]*gzip_static on;",
        conf,
    )
    assert re.search(r"location /feeds/current/ \{[^}]*alias /srv/releases/current/;", conf)
    # a release's private .state/ folder is never served
    assert re.search(r"location ~ /\\\. \{\s*return 404;", conf)
    assert "proxy_pass http://registry_web;" in conf and "server web:8000;" in conf
    assert "proxy_set_header X-Forwarded-For" in conf
    assert services["web"]["environment"]["REGISTRY_TRUSTED_PROXIES"] == "1"


def test_data_lives_in_named_volumes(compose):
    services = compose["services"]
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert any(v.startswith("redis-data:") for v in services["redis"]["volumes"])
    assert {"postgres-data", "redis-data", "registry-data", "releases"} <= set(compose["volumes"])


def test_smtp_catcher_is_the_default_mail_server(compose):
    services = compose["services"]
    assert services["mailpit"]["image"].startswith("axllent/mailpit")
    assert services["web"]["environment"]["MAIL_SERVER"] == "${MAIL_SERVER:-mailpit}"
    assert services["web"]["environment"]["MAIL_PORT"] == "${MAIL_PORT:-1025}"


def test_dockerfile_builds_a_python311_image_with_weasyprint_libraries():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    # the image installs the runtime group of the one package list
    assert "COPY deploy/debian-packages.txt" in text
    assert '$1 == "runtime"' in text
    assert "REGISTRY_ENV=production" in text
    assert re.search(r"^USER \w+", text, re.M), "the image must not run as root"
    assert "SECRET_KEY" not in text
