"""Fixtures for the sweeps: mail into a folder we can count, helpers to find demo objects."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest


class Outbox:
    """The .eml files tasks.mail writes when no SMTP server is configured."""

    def __init__(self, folder: Path):
        self.folder = folder

    def messages(self):
        return [
            message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted(self.folder.glob("*.eml"))
        ]

    def subjects(self) -> list[str]:
        return [m["Subject"] for m in self.messages()]


@pytest.fixture
def outbox(app, tmp_path):
    """Point the app's development mail folder at an empty folder for one test."""
    saved = {k: app.config.get(k) for k in ("OUTBOX_DIR", "MAIL_SERVER")}
    app.config.update(OUTBOX_DIR=str(tmp_path / "outbox"), MAIL_SERVER="")
    yield Outbox(tmp_path / "outbox")
    app.config.update(saved)


@pytest.fixture
def demo(app):
    """Look-ups into the demo data by name."""
    from models import Certification, Listing, ListingRevision, Organization, db

    class Demo:
        def org(self, dba: str) -> Organization:
            return db.session.scalar(db.select(Organization).filter_by(dba=dba))

        def listing(self, name: str) -> Listing:
            return db.session.scalar(
                db.select(Listing)
                .join(ListingRevision, Listing.live_revision_id == ListingRevision.id)
                .where(ListingRevision.name == name)
            )

        def certs(self, dba: str, type_code: str) -> list[Certification]:
            org = self.org(dba)
            return list(
                db.session.scalars(
                    db.select(Certification)
                    .filter_by(organization_id=org.id, type_code=type_code)
                    .order_by(Certification.id)
                )
            )

    return Demo()


@pytest.fixture(autouse=True)
def _demo_totp_secret_accepted(monkeypatch):
    """pyotp 2.12 refuses secrets under 112 bits; the documented 80-bit demo secret must still
    sign staff in. The foundation branch makes the app accept it (admin/auth/totp.py); until
    that is merged here, the sweeps tests lower pyotp's floor to the same 80 bits."""
    import pyotp.otp

    monkeypatch.setattr(pyotp.otp.OTP, "min_secret_length_bits", 80, raising=False)


def _fresh_request_globals(sender, **extra):
    from flask import g

    g.__dict__.clear()


@pytest.fixture(scope="session", autouse=True)
def _fresh_g_per_request(app):
    """Each test request starts with an empty `g` (the foundation branch adds the same hook to
    tests/conftest.py; connecting it twice is harmless). Without it the CSRF token cached in
    `g` by one page leaks into the next request and staff sign-in fails with 400."""
    from flask import request_started

    request_started.connect(_fresh_request_globals, app)
    yield
    request_started.disconnect(_fresh_request_globals, app)


@pytest.fixture(autouse=True)
def _session_celery_app(request, app):
    """Tasks run eagerly inside the app context of the *default* Celery app, and every
    create_app() makes its own Celery app the default: after any live test (its app and
    database gone) the session app's must be made the default again."""
    if not request.node.get_closest_marker("live"):
        celery = app.extensions["celery"]
        celery.set_default()
        celery.set_current()  # the thread-local current app wins over the default
    yield
