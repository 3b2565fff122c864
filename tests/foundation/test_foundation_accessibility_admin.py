"""The administrator's pages (the most of any role) under the same checks as
test_foundation_accessibility.py; a file of their own so the two run side by side."""

from __future__ import annotations

import pytest

from tests.foundation.test_foundation_accessibility import check_role

pytestmark = [pytest.mark.live, pytest.mark.browser]


def test_every_page_of_the_administrator_passes_axe_and_fits_a_phone(browser, live_server):
    check_role(browser, live_server, "admin")
