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
