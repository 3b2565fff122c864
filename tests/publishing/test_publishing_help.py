"""The public "Find crisis help" page, driven in Chromium at phone width by its visible labels:
for Boone, St. Louis City, St. Louis County and ZIP 65201 it shows the 988 center (primary and
backup), the mobile crisis team with a call button and the nearest crisis centers, all fetched
from the public API; the database is never read while it works; the first view is small."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import event

from admin.feeds.views import meters_between

pytestmark = [pytest.mark.live, pytest.mark.browser]

PLACE_TYPES = {"bhcc", "urgent_bhcc", "sobering_center", "crisis_residential"}


@pytest.fixture
def help_site(live_app, live_server):
    """A live server whose current release was built from the demo data."""
    from tasks.publishing.builder import build_release, releases_root

    live_app.config["PUBLISH_PDFS"] = False
    with live_app.app_context():
        assert build_release().status == "published"
        current = releases_root() / "current"
        services = json.loads((current / "hsds" / "services.json").read_bytes())
        counties = json.loads((current / "counties.json").read_bytes())
    return live_server, services, {c["fips"]: c for c in counties}


def expected(services, area, origin):
    """What the page must show, worked out here from the release files (not from the page)."""
    fips = area["fips"]

    def serves(doc):
        return any(a.get("uri") == f"urn:us-fips:{fips}" for a in doc.get("service_areas", []))

    line = [d for d in services if d["mo_dmh_service_type"] == "988_center" and serves(d)]
    primary = [d["name"] for d in line if fips in (d.get("mo_dmh_primary_counties") or "").split()]
    backup = [d["name"] for d in line if fips in (d.get("mo_dmh_backup_counties") or "").split()]
    mobile = [
        d["name"] for d in services if d["mo_dmh_service_type"] == "mobile_crisis" and serves(d)
    ]
    places = sorted(
        (meters_between(*origin, s["location"]["latitude"], s["location"]["longitude"]), d["name"])
        for d in services
        if d["mo_dmh_service_type"] in PLACE_TYPES
        for s in d.get("service_at_locations", [])
        if s["location"].get("latitude") is not None
    )
    return primary, backup, mobile, [name for _, name in places[:5]]


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize(
    ("typed", "fips", "zip_code"),
    [
        ("Boone", "29019", None),
        ("St. Louis City", "29510", None),
        ("St. Louis County", "29189", None),
        ("65201", "29019", "65201"),
    ],
)
def test_find_help_answers_a_county_or_zip_at_phone_width(
    browser, help_site, live_app, typed, fips, zip_code
):
    server, services, counties = help_site
    area = counties[fips]
    if zip_code:
        z = next(z for z in area["zip_codes"] if z["zip_code"] == zip_code)
        origin = (z["latitude"], z["longitude"])
    else:
        origin = (area["latitude"], area["longitude"])
    primary, backup, mobile, nearest = expected(services, area, origin)
    assert primary and backup and mobile and nearest  # the demo covers these places

    statements = []
    with live_app.app_context():
        from models import db

        engine = db.engine

    def count(*args):
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(server.url + "/help/")
        page.get_by_label("County or ZIP code").fill(typed)
        page.get_by_role("button", name="Find help").click()
        heading = page.get_by_role("heading", level=2)
        heading.wait_for()
        assert area["name"] in heading.inner_text()
        assert page.evaluate("document.activeElement.id") == "results-heading"

        line = page.locator("#line-centers li")
        assert (
            line.nth(0).inner_text().startswith(primary[0])
            and "Primary" in line.nth(0).inner_text()
        )
        assert backup[0] in line.nth(1).inner_text() and "Backup" in line.nth(1).inner_text()
        teams = page.locator("#mobile-teams li")
        assert sorted(teams.locator(".name").all_inner_texts()) == sorted(mobile)
        call = page.get_by_role("link", name=re.compile(f"^Call {re.escape(mobile[0])} at"))
        assert call.get_attribute("href").startswith("tel:+1")
        shown = page.locator("#places li .name").all_inner_texts()
        assert shown == nearest
        first = page.locator("#places li").first.inner_text()
        assert re.search(r"\d+(\.\d)? miles away", first)
        assert re.search(r"Open now|Closed now", first)
        assert no_sideways_scroll(page)
    finally:
        context.close()
        event.remove(engine, "before_cursor_execute", count)
    assert statements == []  # the page and the API it called never touched the database


def test_st_louis_alone_asks_which_one_and_errors_sit_by_the_field(browser, help_site):
    server, _, _ = help_site
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(server.url + "/help/")
        field = page.get_by_label("County or ZIP code")
        field.fill("St. Louis")
        page.get_by_role("button", name="Find help").click()
        page.get_by_role("button", name="St. Louis County").wait_for()
        assert page.get_by_role("button", name="St. Louis City").is_visible()
        assert field.get_attribute("aria-invalid") == "true"
        page.get_by_role("button", name="St. Louis City").click()
        page.get_by_role("heading", name="Crisis help for St. Louis City").wait_for()

        field.fill("90210")
        page.get_by_role("button", name="Find help").click()
        error = page.locator("#place-error")
        error.wait_for()
        assert "not a Missouri ZIP code" in error.inner_text()
        assert "place-error" in field.get_attribute("aria-describedby")
        field.fill("Atlantis")
        page.get_by_role("button", name="Find help").click()
        page.get_by_text("No Missouri county is called").wait_for()
    finally:
        context.close()


def test_use_my_location_finds_the_county_and_measures_from_the_person(browser, help_site):
    server, services, counties = help_site
    here = (38.9517, -92.3341)  # downtown Columbia, Boone County
    _, _, _, nearest = expected(services, counties["29019"], here)
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        geolocation={"latitude": here[0], "longitude": here[1]},
        permissions=["geolocation"],
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(server.url + "/help/")
        page.get_by_role("button", name="Use my location").click()
        page.get_by_role("heading", name=re.compile("your location.*Boone County")).wait_for()
        assert page.locator("#places li .name").all_inner_texts() == nearest
    finally:
        context.close()


def test_the_first_view_is_small_and_public(browser, help_site, client):
    server, _, _ = help_site
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    sizes = []
    page.on("response", lambda r: sizes.append(len(r.body())))
    try:
        page.goto(server.url + "/help/", wait_until="networkidle")
    finally:
        context.close()
    assert 0 < sum(sizes) <= 100 * 1024, sizes
    resp = client.get("/help/")
    assert resp.status_code == 200 and "Set-Cookie" not in resp.headers
    assert "geolocation=(self)" in resp.headers["Permissions-Policy"]


WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_21_AA}})
    return [f"{v['id']}: {n['target']}" for v in results.response["violations"] for n in v["nodes"]]


def test_find_help_passes_axe_wcag_21_aa_empty_with_an_error_and_with_results(browser, help_site):
    server, _, _ = help_site
    for width in (390, 1280):
        context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            page.goto(server.url + "/help/")
            assert axe_violations(page) == []
            page.get_by_role("button", name="Find help").click()  # nothing typed: an error
            page.locator("#place-error").wait_for()
            assert axe_violations(page) == []
            page.get_by_label("County or ZIP code").fill("65201")
            page.get_by_role("button", name="Find help").click()
            page.get_by_role("heading", level=2).wait_for()
            assert axe_violations(page) == []
        finally:
            context.close()
