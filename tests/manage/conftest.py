"""Fixtures for the administration tests."""

from __future__ import annotations

import pytest

from tests.conftest import sign_in


@pytest.fixture
def admin_client(app):
    client = app.test_client()
    resp = sign_in(client, "admin@demo.test")
    assert resp.status_code == 302
    return client


@pytest.fixture(autouse=True)
def _session_celery(app):
    """Run queued tasks (e-mail) with the session app. Creating a live app makes its Celery app
    the current and default one, and that app's database is dropped after its test, so tasks
    queued by later tests would run against a missing database. Restored again afterwards so
    this folder's live tests leave nothing behind for the next folder."""
    celery = app.extensions["celery"]
    celery.set_current()
    celery.set_default()
    yield
    celery.set_current()
    celery.set_default()
