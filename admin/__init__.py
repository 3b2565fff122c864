"""The Flask application: `create_app()` reads like a table of contents."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from .config import ROOT
from .config import load as load_config


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder="static",
    )
    from .requests import RegistryRequest

    app.request_class = RegistryRequest
    load_config(app, config)
    configure_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    from .celery_setup import celery_init_app

    celery_init_app(app)
    return app


# Loggers that speak at INFO about their own internals; at INFO the log keeps one line per
# request (gunicorn's access log) and one per job (Celery's "Task ... succeeded").
QUIET_LOGGERS = ("alembic.runtime.plugins", "weasyprint", "fontTools", "celery.worker.strategy")


def configure_logging(app: Flask) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def register_extensions(app: Flask) -> None:
    from models import context
    from models.base import configure_sqlite

    from . import security
    from .extensions import bootstrap, csrf, db, login_manager, migrate

    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), compare_type=True)
    csrf.init_app(app)
    bootstrap.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # sessions are checked server-side (security.py)
    login_manager.user_loader(security.load_user)
    context.configure(
        review_sla_business_days=int(app.config["REVIEW_SLA_BUSINESS_DAYS"]),
        secrets_keys=secrets_keys(app.config),
    )
    security.register_security_headers(app)
    security.register_client_address(app)
    app.session_interface = security.RegistrySessionInterface()
    security.trust_proxies(app)


def secrets_keys(config) -> list[bytes]:
    """REGISTRY_SECRETS_KEY (Fernet keys, comma separated, newest first), else one derived from
    SECRET_KEY; see models/publishing/sealed.py."""
    from models.publishing import derive_key

    given = [k.strip() for k in (config.get("SECRETS_KEY") or "").split(",") if k.strip()]
    return [k.encode("ascii") for k in given] or [derive_key(config["SECRET_KEY"])]


def register_blueprints(app: Flask) -> None:
    from .auth import bp as auth_bp
    from .feeds import bp as feeds_bp
    from .help import bp as help_bp
    from .manage import bp as manage_bp
    from .portal import bp as portal_bp
    from .review import bp as review_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(portal_bp, url_prefix="/portal")
    app.register_blueprint(review_bp, url_prefix="/review")
    app.register_blueprint(manage_bp, url_prefix="/manage")
    app.register_blueprint(feeds_bp)
    app.register_blueprint(help_bp, url_prefix="/help")


def register_errorhandlers(app: Flask) -> None:
    from .errors import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from .templating import register

    register(app)


def register_commands(app: Flask) -> None:
    from .commands import register

    register(app)
