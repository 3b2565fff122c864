"""County coverage: the pure computation, the demo's coverage, the map, the page, the CSV and
the release writer."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime

import pytest

from models import today
from models.listings import build_records
from models.reference import Gap, compute_coverage, county_map, coverage_csv_rows
from tasks.publishing.context import BuildContext, reference_snapshot
from tasks.publishing.coverage import write_coverage

COUNTIES = [
    {"fips": "29001", "name": "Adair County"},
    {"fips": "29003", "name": "Andrew County"},
    {"fips": "29005", "name": "Atchison County"},
    {"fips": "29007", "name": "Audrain County"},
]
REGIONS = [
    {"name": "North", "layer": "test layer", "counties": ["29001", "29003"]},
    {"name": "South", "layer": "test layer", "counties": ["29005", "29007"]},
    {"name": "Elsewhere", "layer": "another layer", "counties": ["29001", "29005"]},
]


def rec(id_, stype, *, counties=(), site=None, name=None):
    return {
        "id": id_,
        "name": name or id_,
        "service_type": stype,
        "organization": {"name": "Org"},
        "counties": [{"fips": f, "role": r} for f, r in counties],
        "address": {"county_fips": site} if site else None,
        "phones": [{"number": "+15735550100", "kind": "voice"}],
    }


def by_fips(coverage):
    return {c.fips: c for c in coverage}


def test_988_primary_and_backup_counties_are_counted_by_role():
    records = [
        rec(
            "a",
            "988_center",
            counties=[("29001", "primary"), ("29003", "primary"), ("29005", "backup")],
        ),
        rec(
            "b",
            "988_center",
            counties=[("29005", "primary"), ("29001", "backup"), ("29003", "backup")],
        ),
        rec("statewide", "988_center", counties=[(c["fips"], "backup") for c in COUNTIES]),
    ]
    cov = by_fips(compute_coverage(records, COUNTIES, REGIONS, "test layer"))
    assert [r.id for r in cov["29001"].primary_988] == ["a"]
    assert [r.id for r in cov["29001"].backup_988] == ["b", "statewide"]
    assert [r.id for r in cov["29005"].primary_988] == ["b"]
    assert [r.id for r in cov["29005"].backup_988] == ["a", "statewide"]
    assert cov["29007"].primary_988 == [] and [r.id for r in cov["29007"].backup_988] == [
        "statewide"
    ]
    assert Gap.NO_988_PRIMARY in cov["29007"].gaps
    assert Gap.NO_988_PRIMARY not in cov["29001"].gaps
    assert sum(len(c.primary_988) for c in cov.values()) == 3
    assert sum(len(c.backup_988) for c in cov.values()) == 3 + 4


def test_a_county_without_a_mobile_team_is_a_gap_and_crisis_centers_count_per_region():
    records = [
        rec("988", "988_center", counties=[(c["fips"], "primary") for c in COUNTIES]),
        rec(
            "team",
            "mobile_crisis",
            counties=[("29001", "served"), ("29003", "served"), ("29005", "served")],
        ),
        rec("bhcc", "bhcc", site="29001"),
        rec("urgent", "urgent_bhcc", site="29003", counties=[("29005", "served")]),
        rec("sober", "sobering_center", site="29007"),
        rec("liaison", "cbhl", counties=[("29007", "served")]),
    ]
    cov = by_fips(compute_coverage(records, COUNTIES, REGIONS, "test layer"))
    assert cov["29007"].gaps == [Gap.NO_MOBILE_TEAM]  # South has the urgent center via 29005
    assert cov["29007"].crisis_centers_in_region == 1 and cov["29007"].crisis_centers == []
    assert [r.id for r in cov["29007"].sobering_centers] == ["sober"]
    assert {r.id for r in cov["29005"].crisis_centers} == {"urgent"}
    assert cov["29001"].crisis_centers_in_region == 2 and cov["29001"].gaps == []
    assert cov["29001"].regions == ["North"]
    # without the urgent center's listed county, South has no crisis center
    records[3] = rec("urgent", "urgent_bhcc", site="29003")
    cov = compute_coverage(records, COUNTIES, REGIONS, "test layer")
    assert [c.fips for c in cov[:2]] == ["29005", "29007"]  # gap counties first
    assert Gap.NO_CRISIS_CENTER_IN_REGION in by_fips(cov)["29005"].gaps
    # another layer groups differently: 29005 shares a region with 29001's crisis center
    other = by_fips(compute_coverage(records, COUNTIES, REGIONS, "another layer"))
    assert Gap.NO_CRISIS_CENTER_IN_REGION not in other["29005"].gaps
    assert Gap.NO_CRISIS_CENTER_IN_REGION in other["29007"].gaps  # in no region: counts alone


@pytest.fixture
def demo_coverage(app):
    ref = reference_snapshot()
    return by_fips(compute_coverage(build_records(today()), ref["counties"], ref["regions"]))


def names(refs):
    return sorted(r.name for r in refs)


def test_demo_coverage_matches_a_hand_count_for_three_counties(demo_coverage):
    cov = demo_coverage
    assert len(cov) == 115
    # Worth County: left out of every mobile team on purpose; the Northwest BHCC's
    # certification is suspended, so its region has no public crisis center either
    worth = cov["29227"]
    assert names(worth.primary_988) == ["Big Muddy 988 Crisis Line"]
    assert names(worth.backup_988) == ["Heartland Statewide Backup Crisis Line"]
    assert worth.mobile_teams == [] and worth.crisis_centers == [] and worth.sobering_centers == []
    assert worth.crisis_centers_in_region == 0
    assert worth.gaps == [Gap.NO_MOBILE_TEAM, Gap.NO_CRISIS_CENTER_IN_REGION]
    # Boone County (Columbia): Bluestem's home
    boone = cov["29019"]
    assert names(boone.primary_988) == ["Bluestem Valley 988 Crisis Line"]
    assert names(boone.backup_988) == ["Heartland Statewide Backup Crisis Line"]
    assert names(boone.mobile_teams) == ["Bluestem Valley Mobile Crisis Team — West"]
    assert names(boone.crisis_centers) == [
        "Bluestem Youth Crisis Center",
        "Central Behavioral Health Crisis Center",
    ]
    assert names(boone.sobering_centers) == ["Bluestem Sobering Support Center"]
    # Central region: both Boone centers, Capital City Urgent (Cole) and the West Central
    # center sited in Pettis County, which the demo's planning regions put in Central
    assert boone.crisis_centers_in_region == 4
    assert boone.gaps == []
    # St. Louis city (29510), not St. Louis County (29189)
    city = cov["29510"]
    assert city.name == "St. Louis City"
    assert names(city.primary_988) == ["Gateway Riverbend 988 Crisis Line"]
    assert names(city.backup_988) == ["Heartland Statewide Backup Crisis Line"]
    assert names(city.mobile_teams) == ["Gateway Riverbend Mobile Crisis Team — Metro"]
    assert names(city.crisis_centers) == ["St. Louis metro Behavioral Health Crisis Center"]
    assert names(city.sobering_centers) == ["Riverbend Sobering Center"]
    assert city.gaps == []
    # every county has exactly one 988 primary and the statewide backup
    assert all(len(c.primary_988) == 1 and len(c.backup_988) == 1 for c in cov.values())


def test_a_county_as_a_dict_is_what_dataclasses_asdict_makes(demo_coverage):
    from dataclasses import asdict

    for cov in demo_coverage.values():
        assert cov.as_dict() == asdict(cov)


def test_the_map_data_has_all_115_county_areas():
    geometry = county_map()
    fipses = [c["fips"] for c in geometry["counties"]]
    assert len(fipses) == len(set(fipses)) == 115
    assert "29510" in fipses and "29186" in fipses and "29189" in fipses
    assert all(c["d"].startswith("M") and c["d"].endswith("Z") for c in geometry["counties"])


def test_coverage_page_map_has_115_named_county_shapes(login, demo_coverage):
    client = login("reviewer")
    resp = client.get("/review/coverage")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    shapes = re.findall(
        r"<path class=\"county ([\w-]+)\" data-fips=\"(\d{5})\" d=\"[^\"]+\" aria-label=\"([^\"]+)\"><title>([^<]+)</title></path>",
        html,
    )
    assert len(shapes) == 115 == len(re.findall(r"<path\b", html))
    assert len({fips for _c, fips, _l, _t in shapes}) == 115
    labelled = {fips: (cls, label, title) for cls, fips, label, title in shapes}
    cls, label, title = labelled["29227"]
    assert (
        cls == "county-gap"
        and label.startswith("Worth County: gap")
        and "No mobile crisis team" in title
    )
    assert labelled["29019"][0] != "county-gap" and labelled["29019"][1].startswith("Boone County:")
    assert labelled["29186"][1].startswith("Ste. Genevieve County")
    assert 'href="#county-29227"' in html and 'id="county-29227"' in html
    # gap counties come first in the table
    rows = re.findall(r'<tr id="county-(\d{5})"( class="coverage-gap")?>', html)
    flags = [bool(g) for _f, g in rows]
    assert len(rows) == 115 and flags == sorted(flags, reverse=True)
    assert sum(flags) == sum(1 for c in demo_coverage.values() if c.gaps)
    assert "style=" not in html and "<script>" not in html


def test_coverage_csv_is_spreadsheet_safe_and_gaps_first(login, demo_coverage):
    client = login("reviewer")
    resp = client.get("/review/coverage.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.get_data().decode("utf-8-sig"))))
    assert rows[0][:4] == ["County", "FIPS", "Region", "Gaps"]
    assert len(rows) == 116
    gap_rows = [r for r in rows[1:] if r[3]]
    assert rows[1 : len(gap_rows) + 1] == gap_rows
    worth = next(r for r in rows if r[1] == "29227")
    assert "No mobile crisis team" in worth[3]
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell


def test_spreadsheet_safe_neutralises_formulas():
    from models.publishing import safe_cell as spreadsheet_safe

    assert spreadsheet_safe('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert spreadsheet_safe("+1 573") == "'+1 573"
    assert spreadsheet_safe("-2") == "'-2"
    assert spreadsheet_safe("@SUM") == "'@SUM"
    assert spreadsheet_safe("Boone County") == "Boone County"
    cov = compute_coverage(
        [rec("x", "mobile_crisis", name="=cmd()", counties=[("29001", "served")])], COUNTIES
    )
    cells = [c for row in coverage_csv_rows(cov) for c in row]
    assert "'=cmd() (Org)" in cells


def test_providers_cannot_see_coverage_or_the_dashboard(login):
    client = login("provider")
    assert client.get("/review/coverage").status_code == 403
    assert client.get("/review/coverage.csv").status_code == 403
    assert client.get("/review/dashboard").status_code == 403


def test_anonymous_users_are_sent_to_sign_in(client):
    for url in ("/review/coverage", "/review/coverage.csv", "/review/dashboard"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_write_coverage_writes_coverage_json_from_the_build_context(app, tmp_path):
    ref = reference_snapshot()
    records = build_records(today())
    ctx = BuildContext(
        records=records,
        reference=ref,
        number=7,
        created_at=datetime(2026, 11, 27, tzinfo=UTC),
        out_dir=tmp_path / "release",
    )
    assert write_coverage(ctx) is None
    doc = json.loads((tmp_path / "release" / "coverage.json").read_text())
    assert doc["release"] == 7 and doc["region_layer"] == "demo planning region"
    assert doc["summary"]["counties"] == len(doc["counties"]) == 115
    worth = next(c for c in doc["counties"] if c["fips"] == "29227")
    assert worth["gaps"] == ["no_mobile_team", "no_crisis_center_in_region"]
    assert doc["summary"]["counties_with_gaps"] == sum(1 for c in doc["counties"] if c["gaps"])
    assert doc["summary"]["gaps"]["no_mobile_team"] >= 1
    # only the context is read: records without mobile teams make every county a gap
    ctx2 = BuildContext(
        records=[r for r in records if r["service_type"] != "mobile_crisis"],
        reference=ref,
        number=8,
        created_at=datetime(2026, 11, 27, tzinfo=UTC),
        out_dir=tmp_path / "r2",
    )
    write_coverage(ctx2)
    doc2 = json.loads((tmp_path / "r2" / "coverage.json").read_text())
    assert doc2["summary"]["gaps"]["no_mobile_team"] == 115
