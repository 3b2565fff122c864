"""Configuration comes from the environment only, and fails loudly at boot.

Well-known names are read as they are (DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY, MAIL_*,
PORT, ...); any other setting can be given as REGISTRY_<KEY> (Flask's `from_prefixed_env`,
values parsed as JSON when they can be). An unknown REGISTRY_ key stops the app."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET = "dev-only-insecure-secret-change-me"  # noqa: S105 - the known value production refuses

# environment variables read directly, with their type
DIRECT_ENV: dict[str, type] = {
    "SECRET_KEY": str,
    "DATABASE_URL": str,
    "CELERY_BROKER_URL": str,
    "CELERY_RESULT_BACKEND": str,
    "REDIS_URL": str,
    "MAIL_SERVER": str,
    "MAIL_PORT": int,
    "MAIL_USERNAME": str,
    "MAIL_PASSWORD": str,
    "MAIL_USE_TLS": bool,
    "MAIL_USE_SSL": bool,
    "MAIL_FROM": str,
    "PORT": int,
    "REGISTRY_ENV": str,
    "PUBLIC_BASE_URL": str,
    "VAR_DIR": str,
    "PDF_WORKERS": int,
    "FEED_WORKERS": int,
    "PDF_FANOUT": str,
    # where releases are served from (tasks/publishing/storage.py), and the bucket's key; without
    # one, boto3's other sources (a profile, an instance role)
    "RELEASE_STORAGE": str,
    "S3_BUCKET": str,
    "S3_PREFIX": str,
    "S3_ENDPOINT_URL": str,
    "S3_REGION": str,
    "AWS_ACCESS_KEY_ID": str,
    "AWS_SECRET_ACCESS_KEY": str,
}


class ConfigError(RuntimeError):
    pass


def defaults(var_dir: Path) -> dict[str, Any]:
    return {
        "ENV_NAME": "development",  # development | production | test
        "SECRET_KEY": DEV_SECRET,
        "VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'registry.db'}",
        "CELERY_BROKER_URL": f"sqla+sqlite:///{var_dir / 'celery-broker.db'}",
        "CELERY_RESULT_BACKEND": "",
        "REDIS_URL": "",
        "UPLOAD_DIR": str(var_dir / "uploads"),
        "RELEASES_DIR": str(var_dir / "releases"),
        "OUTBOX_DIR": str(var_dir / "outbox"),
        "MAIL_SERVER": "",
        "MAIL_PORT": 25,
        "MAIL_USERNAME": "",
        "MAIL_PASSWORD": "",
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_FROM": "Crisis Services Registry <registry@example.org>",
        "PORT": 5000,
        # empty: derived from PORT in finish() (http://localhost:<PORT>)
        "PUBLIC_BASE_URL": "",
        # how many reverse proxies (nginx) sit in front of the app and set X-Forwarded-*;
        # 0 trusts none, so throttling by address cannot be dodged with a forged header
        "TRUSTED_PROXIES": 0,
        # accounts and sessions
        "SESSION_IDLE_MINUTES": 30,
        "SESSION_ABSOLUTE_HOURS": 12,
        "LOGIN_MAX_FAILURES_PER_ACCOUNT": 5,
        "LOGIN_MAX_FAILURES_PER_IP": 20,
        "LOGIN_WINDOW_MINUTES": 15,
        "INVITATION_TTL_HOURS": 72,
        "PASSWORD_RESET_TTL_MINUTES": 60,
        "TOTP_ISSUER": "MO Crisis Services Registry",
        # workflow
        "REVIEW_SLA_BUSINESS_DAYS": 5,
        "SECRETS_KEY": "",  # Fernet key(s) sealing webhook secrets; derived from SECRET_KEY if empty
        "REVERIFY_AFTER_DAYS": 365,
        "REVERIFY_GRACE_DAYS": 30,
        # the region layer whose regions "no crisis center in its region" counts in (coverage)
        "COVERAGE_REGION_LAYER": "demo planning region",
        "RELEASES_KEEP": 10,
        "MAX_UPLOAD_MB": 20,
        "PUBLISH_INTERVAL_MINUTES": 3,
        # tests run tasks in-process (Celery's task_always_eager); never in production
        "CELERY_ALWAYS_EAGER": False,
        "DEMO_BANNER": True,
        "PUBLISH_PDFS": True,
        # how the parts of the printed directories are rendered side by side: "processes" (a
        # pool of PDF_WORKERS processes in the printing worker; 0: one per CPU) or "celery"
        # (tasks on the `pdf` queue, for workers on other machines sharing VAR_DIR; needs
        # CELERY_RESULT_BACKEND)
        "PDF_FANOUT": "processes",
        "LIST_PAGE_SIZE": 50,  # rows per page of the back office's long lists (keyset pages)
        "PDF_WORKERS": 0,
        # processes that build the services of a release at once when it builds many (a first
        # build, a change of the code that shapes them); 0: one per CPU
        "FEED_WORKERS": 0,
        "PDF_PART_TIMEOUT": 600,  # seconds a print waits for its parts from the `pdf` queue
        "CAPACITY_EXPIRES_HOURS": 12,  # a live capacity status older than this reads "unknown"
        "CAPACITY_EXPIRES_BY_TYPE": {},  # per service type, e.g. {"sobering_center": 6}
        # release storage: "local" serves RELEASES_DIR; "s3" uploads each release to a bucket
        # and serves it from there (several web nodes, a CDN)
        "RELEASE_STORAGE": "local",
        "S3_BUCKET": "",  # required with s3
        "S3_PREFIX": "registry/",  # keys start with it; a "/" is added when missing
        "S3_ENDPOINT_URL": "",  # empty: AWS; else MinIO or another S3-compatible store
        "S3_REGION": "",  # empty: boto3's default (AWS_DEFAULT_REGION)
        "S3_CACHE_SECONDS": 5,  # how long a web node trusts its last read of current.json
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
    }


def _coerce(name: str, raw: str, kind: type) -> Any:
    if kind is bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{name} must be true or false, not {raw!r}")
    if kind is int:
        try:
            return int(raw)
        except ValueError as exc:
            raise ConfigError(f"{name} must be a whole number, not {raw!r}") from exc
    return raw


def load(app, overrides: dict[str, Any] | None = None) -> None:
    """Fill app.config from defaults, the environment and test overrides, then validate."""
    env = os.environ
    var_dir = Path((overrides or {}).get("VAR_DIR") or env.get("VAR_DIR") or ROOT / "var")
    cfg = defaults(var_dir)
    for name, kind in DIRECT_ENV.items():
        if name in env and name != "REGISTRY_ENV":
            cfg[name] = _coerce(name, env[name], kind)
    if "REGISTRY_ENV" in env:
        cfg["ENV_NAME"] = env["REGISTRY_ENV"]
    app.config.update(cfg)
    known = set(cfg)
    before = set(app.config)
    app.config.from_prefixed_env(prefix="REGISTRY")
    unknown = {k for k in set(app.config) - before if k not in known and k != "ENV"}
    if unknown:
        raise ConfigError(f"Unknown REGISTRY_ settings: {', '.join(sorted(unknown))}")
    if overrides:
        app.config.update(overrides)
    finish(app.config)


def finish(c) -> None:
    if c["ENV_NAME"] not in ("development", "production", "test"):
        raise ConfigError("REGISTRY_ENV must be development, production or test")
    if c["PDF_FANOUT"] not in ("processes", "celery"):
        raise ConfigError("PDF_FANOUT must be processes or celery")
    if c["PDF_FANOUT"] == "celery" and not c.get("CELERY_RESULT_BACKEND"):
        raise ConfigError(
            "PDF_FANOUT=celery waits for the parts' results: set CELERY_RESULT_BACKEND "
            "(for example redis://redis:6379/2)"
        )
    check_release_storage(c)
    production = c["ENV_NAME"] == "production"
    if production and (
        not c.get("SECRET_KEY") or c["SECRET_KEY"] == DEV_SECRET or len(c["SECRET_KEY"]) < 32
    ):
        raise ConfigError(
            "In production SECRET_KEY must be set to a random value of at least 32 characters "
            "(for example: python -c 'import secrets; print(secrets.token_hex(32))')."
        )
    if not c.get("PUBLIC_BASE_URL"):
        if production:
            raise ConfigError(
                "In production PUBLIC_BASE_URL must be set to the address people and feed "
                "readers use (for example https://registry.dmh.mo.gov)."
            )
        c["PUBLIC_BASE_URL"] = f"http://localhost:{int(c['PORT'])}"
    c["PUBLIC_BASE_URL"] = c["PUBLIC_BASE_URL"].rstrip("/")
    c["SQLALCHEMY_DATABASE_URI"] = normalise_db_url(c["DATABASE_URL"])
    c.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    if c["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        c["SQLALCHEMY_ENGINE_OPTIONS"].setdefault("connect_args", {"timeout": 30})
    else:
        c["SQLALCHEMY_ENGINE_OPTIONS"].setdefault("pool_pre_ping", True)
    c["MAX_CONTENT_LENGTH"] = int(c["MAX_UPLOAD_MB"]) * 1024 * 1024 + 64 * 1024
    c["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=int(c["SESSION_ABSOLUTE_HOURS"]))
    c["SESSION_COOKIE_HTTPONLY"] = True
    c["SESSION_COOKIE_SAMESITE"] = "Lax"
    c["SESSION_COOKIE_SECURE"] = production
    c["SESSION_COOKIE_NAME"] = "__Host-registry" if production else "registry_session"
    c["REMEMBER_COOKIE_DURATION"] = timedelta(seconds=0)
    c["USE_SESSION_FOR_NEXT"] = True
    c["WTF_CSRF_TIME_LIMIT"] = 8 * 3600
    c["BOOTSTRAP_SERVE_LOCAL"] = True
    c["BOOTSTRAP_BOOTSWATCH_THEME"] = None
    c["PREFERRED_URL_SCHEME"] = "https" if production else "http"
    c["IS_PRODUCTION"] = production
    for key in ("UPLOAD_DIR", "RELEASES_DIR", "OUTBOX_DIR"):
        Path(c[key]).mkdir(parents=True, exist_ok=True)
    Path(c["VAR_DIR"]).mkdir(parents=True, exist_ok=True)


BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def check_release_storage(c) -> None:
    """RELEASE_STORAGE and the S3_ settings; S3_PREFIX is given its trailing "/"."""
    if c["RELEASE_STORAGE"] not in ("local", "s3"):
        raise ConfigError(f"RELEASE_STORAGE must be local or s3, not {c['RELEASE_STORAGE']!r}")
    for key in ("S3_BUCKET", "S3_PREFIX", "S3_ENDPOINT_URL", "S3_REGION"):
        if not isinstance(c[key], str):
            raise ConfigError(f"{key} must be text, not {c[key]!r}")
    if bool(c["AWS_ACCESS_KEY_ID"]) != bool(c["AWS_SECRET_ACCESS_KEY"]):
        raise ConfigError(
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together: set both, or neither "
            "(boto3 then uses a profile or an instance role)"
        )
    bucket = c["S3_BUCKET"]
    if c["RELEASE_STORAGE"] == "s3" and not bucket:
        raise ConfigError(
            "RELEASE_STORAGE=s3 needs S3_BUCKET: the bucket releases are published to "
            "(for example registry-releases)"
        )
    if bucket and not BUCKET_NAME.fullmatch(bucket):
        raise ConfigError(
            f"S3_BUCKET {bucket!r} is not a bucket name: 3 to 63 lowercase letters, digits, "
            "dots and hyphens, starting and ending with a letter or digit"
        )
    prefix = c["S3_PREFIX"]
    if prefix.startswith("/") or "//" in prefix:
        raise ConfigError(
            f"S3_PREFIX {prefix!r} must not start with / or contain //; for example registry/"
        )
    if prefix and not prefix.endswith("/"):
        c["S3_PREFIX"] = prefix + "/"
    endpoint = c["S3_ENDPOINT_URL"]
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                f"S3_ENDPOINT_URL must be an http:// or https:// address such as "
                f"http://minio:9000, not {endpoint!r}"
            )
    seconds = c["S3_CACHE_SECONDS"]
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise ConfigError(
            f"S3_CACHE_SECONDS must be a number of seconds (0 or more), not {seconds!r}"
        )


def normalise_db_url(url: str) -> str:
    """postgres:// and postgresql:// both mean psycopg 3 here."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def celery_settings(c) -> dict[str, Any]:
    broker = c["CELERY_BROKER_URL"]
    settings: dict[str, Any] = {
        "broker_url": broker,
        "result_backend": c.get("CELERY_RESULT_BACKEND") or None,
        "task_ignore_result": not c.get("CELERY_RESULT_BACKEND"),
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
        "enable_utc": True,
        "task_acks_late": False,
        "worker_prefetch_multiplier": 1,
        # a task never outlives the broker's visibility timeout (no redelivery loops)
        "task_time_limit": 15 * 60,
        "task_soft_time_limit": 14 * 60,
        "broker_connection_retry_on_startup": True,
        "worker_max_memory_per_child": 800_000,  # KiB; WeasyPrint does not return memory
        # parts of the printed directories go to their own queue (PDF_FANOUT=celery)
        "task_routes": {"registry.render_pdf_part": {"queue": "pdf"}},
        "beat_schedule_filename": str(Path(c["VAR_DIR"]) / "celerybeat-schedule"),
        "task_always_eager": bool(c.get("CELERY_ALWAYS_EAGER", False)),
        "task_eager_propagates": True,
    }
    if broker.startswith(("redis://", "rediss://")):
        settings["broker_transport_options"] = {"visibility_timeout": 3600}
    return settings
