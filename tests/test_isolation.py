"""The per-test outer transaction really isolates tests (these two fail if it leaks)."""

import pytest

from models import Organization, db

NAME = "Isolation Probe Organization"


@pytest.mark.parametrize("attempt", [1, 2])
def test_writes_do_not_leak_between_tests(attempt):
    assert db.session.scalar(db.select(Organization).filter_by(legal_name=NAME)) is None
    db.session.add(Organization(legal_name=NAME))
    db.session.commit()  # commits a savepoint only
    assert db.session.scalar(db.select(Organization).filter_by(legal_name=NAME)) is not None


def test_demo_data_is_present_for_every_test():
    assert db.session.scalar(db.select(db.func.count(Organization.id))) == 12
