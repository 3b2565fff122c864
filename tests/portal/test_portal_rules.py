"""Per-type listing rules (data on ServiceType), judged by models.listings.rules.check_listing —
the function both the editor and submit_revision use."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy.orm import selectinload

from models import Listing, Organization, ServiceType, db
from models.listings import DAYS, ListingRuleError, check_listing
from models.listings import workflow as wf
from tests.portal.conftest import listing_named


def live_data(name: str) -> tuple[Listing, dict]:
    lst = listing_named(name)
    return lst, copy.deepcopy(lst.live_revision.data)


def first_live(type_code: str, org_name: str | None = None) -> Listing:
    q = db.select(Listing).where(
        Listing.service_type_code == type_code, Listing.live_revision_id.is_not(None)
    )
    if org_name:
        q = q.join(Organization).where(Organization.dba == org_name)
    return db.session.scalars(q.order_by(Listing.id)).first()


def problems(lst: Listing, data: dict, org=None, type_code=None) -> dict[str, list[str]]:
    st = db.session.get(ServiceType, type_code or lst.service_type_code)
    return check_listing(st, data, org or lst.organization)


def weekly(opens: str, closes: str) -> dict:
    return {
        "is_24_7": False,
        "weekly": {d: [[opens, closes]] for d in DAYS},
        "closures": [],
        "notes": "",
    }


def test_every_demo_live_listing_meets_its_rules(app):
    # live revisions loaded up front: the certification index loads the listings it covers
    # with raiseload, which a listing's still unloaded relationships would take on
    live = db.session.scalars(
        db.select(Listing)
        .where(Listing.live_revision_id.is_not(None))
        .options(selectinload(Listing.live_revision))
    )
    for lst in live:
        assert problems(lst, lst.live_revision.data) == {}, lst.live_revision.name


# ---- BHCC: 24/7, max stay at most 23 hours


def test_bhcc_must_be_open_around_the_clock(app):
    lst = first_live("bhcc")
    data = copy.deepcopy(lst.live_revision.data)
    data["hours"] = weekly("08:00", "20:00")
    assert "must be open 24 hours" in " ".join(problems(lst, data)["hours"])
    data["hours"] = weekly("00:00", "24:00")  # every day all day counts as 24/7
    assert "hours" not in problems(lst, data)


@pytest.mark.parametrize(
    "stay, ok", [(23, True), (1, True), (24, False), (72, False), (None, False)]
)
def test_bhcc_max_stay_at_most_23_hours(app, stay, ok):
    lst = first_live("bhcc")
    data = copy.deepcopy(lst.live_revision.data)
    data["max_stay_hours"] = stay
    assert ("max_stay_hours" not in problems(lst, data)) is ok


# ---- urgent-care BHCC: less than 24 hours a day


def test_urgent_bhcc_is_open_less_than_24_hours(app):
    lst = first_live("urgent_bhcc")
    data = copy.deepcopy(lst.live_revision.data)
    assert problems(lst, data) == {}
    data["hours"] = {"is_24_7": True, "weekly": {d: [] for d in DAYS}, "closures": [], "notes": ""}
    assert "less than 24 hours" in " ".join(problems(lst, data)["hours"])
    data["hours"] = weekly("00:00", "24:00")
    assert "hours" in problems(lst, data)
    data["hours"] = {"is_24_7": False, "weekly": {d: [] for d in DAYS}, "closures": [], "notes": ""}
    assert "Give the hours" in " ".join(problems(lst, data)["hours"])
    data["hours"] = weekly("07:00", "19:00")
    data["max_stay_hours"] = 30
    assert "max_stay_hours" in problems(lst, data)


# ---- sobering center: run by an active CCBHO, nonviolent only


def test_sobering_center_needs_an_active_ccbho_organization(app):
    lst = first_live("sobering_center")
    data = copy.deepcopy(lst.live_revision.data)
    assert problems(lst, data) == {}
    heartland = db.session.scalar(
        db.select(Organization).filter_by(dba="Heartland Lifeline Network")
    )  # holds no CCBHO
    msg = " ".join(problems(lst, data, org=heartland)["service_type"])
    assert "Certified Community Behavioral Health Organization" in msg


def test_sobering_center_ccbho_must_be_active_today(app, bluestem):
    from datetime import timedelta

    from models import Certification, today

    lst = first_live("sobering_center", bluestem.dba)
    ccbho = db.session.scalar(
        db.select(Certification).filter_by(organization_id=bluestem.id, type_code="ccbho")
    )
    ccbho.expires_on = today() - timedelta(days=1)
    db.session.flush()
    assert "service_type" in problems(lst, copy.deepcopy(lst.live_revision.data))


def test_sobering_center_states_nonviolent(app):
    lst = first_live("sobering_center")
    data = copy.deepcopy(lst.live_revision.data)
    data["nonviolent_only"] = False
    assert "nonviolent" in " ".join(problems(lst, data)["nonviolent_only"])


# ---- 988 center: counties answered as primary or backup


def test_988_counties_are_primary_or_backup(app):
    lst = first_live("988_center")
    data = copy.deepcopy(lst.live_revision.data)
    assert problems(lst, data) == {}
    data["counties"] = [{"fips": c["fips"], "role": "served"} for c in data["counties"]]
    assert "primary or as backup" in " ".join(problems(lst, data)["counties"])
    fips = data["counties"][0]["fips"]
    data["counties"] = [{"fips": fips, "role": "primary"}, {"fips": fips, "role": "backup"}]
    assert "only once" in " ".join(problems(lst, data)["counties"])
    data["counties"] = []
    assert "counties" in problems(lst, data)


def test_primary_backup_roles_are_only_for_988(app):
    lst = first_live("mobile_crisis")
    data = copy.deepcopy(lst.live_revision.data)
    data["counties"][0]["role"] = "primary"
    assert "only for 988" in " ".join(problems(lst, data)["counties"])


# ---- mobile team: counties served, no walk-in address


def test_mobile_team_has_counties_and_no_walk_in_address(app):
    lst = first_live("mobile_crisis")
    data = copy.deepcopy(lst.live_revision.data)
    assert problems(lst, data) == {}
    data["counties"] = []
    assert "counties" in problems(lst, data)
    data = copy.deepcopy(lst.live_revision.data)
    data["address"] = {
        "address_1": "1 Demo St",
        "address_2": "",
        "city": "Columbia",
        "state": "MO",
        "postal_code": "65201",
        "county_fips": "29019",
    }
    assert "leave the site address empty" in " ".join(problems(lst, data)["address"])
    data["address"] = None
    data["walk_in"] = True
    assert "walk_in" in problems(lst, data)


# ---- liaisons: a role with a county area and a contact, not a facility


def test_liaison_is_a_role_without_a_facility(app):
    lst = first_live("cbhl")
    data = copy.deepcopy(lst.live_revision.data)
    assert problems(lst, data) == {}
    data["address"] = {
        "address_1": "1 Demo St",
        "address_2": "",
        "city": "Columbia",
        "state": "MO",
        "postal_code": "65201",
        "county_fips": "29019",
    }
    assert "a role, not a facility" in " ".join(problems(lst, data)["address"])
    data["address"] = None
    data["phones"], data["email"] = [], ""
    assert "is a role" in " ".join(problems(lst, data)["phones"])
    data["email"] = "liaison@example.org"
    assert "is a role" not in " ".join(problems(lst, data).get("phones", []))
    data["counties"] = []
    assert "counties" in problems(lst, data)
    data = copy.deepcopy(lst.live_revision.data)
    data["capacity"] = 4
    assert "capacity" in problems(lst, data)


# ---- invariants of every listing


def test_address_zip_must_lie_in_the_county(app):
    lst = first_live("bhcc")
    data = copy.deepcopy(lst.live_revision.data)
    data["address"] = dict(
        data["address"], postal_code="63101", county_fips="29019"
    )  # St. Louis ZIP, Boone County
    assert "not in the chosen county" in " ".join(problems(lst, data)["address"])


@pytest.mark.parametrize(
    "lo, hi, ok",
    [(0, 120, True), (18, None, True), (18, 17, False), (-1, None, False), (None, 121, False)],
)
def test_ages(app, lo, hi, ok):
    lst = first_live("bhcc")
    data = copy.deepcopy(lst.live_revision.data)
    data["min_age"], data["max_age"] = lo, hi
    assert ("ages" not in problems(lst, data)) is ok


@pytest.mark.parametrize(
    "spans, ok",
    [
        ([["08:00", "12:00"], ["13:00", "17:00"]], True),
        ([["22:00", "24:00"]], True),
        ([["17:00", "08:00"]], False),
        ([["08:00", "08:00"]], False),
        ([["08:00", "12:00"], ["11:00", "17:00"]], False),
        ([["8am", "5pm"]], False),
    ],
)
def test_hours_are_consistent(app, spans, ok):
    lst = first_live("cit_council")
    data = copy.deepcopy(lst.live_revision.data)
    data["hours"]["weekly"]["mon"] = spans
    assert ("hours" not in problems(lst, data)) is ok


# ---- submit refuses what the rules refuse


def test_submit_refuses_a_revision_that_breaks_a_rule(app, users, bluestem):
    lst = next(
        x
        for x in db.session.scalars(
            db.select(Listing)
            .where(Listing.organization_id == bluestem.id, Listing.live_revision_id.is_not(None))
            .order_by(Listing.id)
        )
        if x.open_revision is None and x.service_type_code == "crisis_residential"
    )
    data = copy.deepcopy(lst.live_revision.data)
    data["hours"] = weekly(
        "09:00", "17:00"
    )  # written around the editor: a crisis residential unit is 24/7
    rev = wf.save_draft(lst, data, users.provider)
    with pytest.raises(ListingRuleError) as exc:
        wf.submit_revision(rev, users.provider)
    assert "hours" in exc.value.problems
    assert rev.state == "draft" and rev.submitted_at is None
