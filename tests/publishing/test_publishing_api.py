"""The HSDS API and the release files: conformance, filters, paging, caching headers, errors."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from models import Listing, db, utcnow
from tests.publishing.conftest import HSDS, load_json

STRICT = HSDS / "offline" / "openapi.offline.strict.json"


@pytest.fixture
def published(build, releases_dir):
    result = build()
    assert result.status == "published"
    return result


def get_json(client, url, **kw):
    resp = client.get(url, **kw)
    return resp, (
        json.loads(resp.get_data()) if resp.status_code != 304 and resp.get_data() else None
    )


def test_schemathesis_against_the_strict_hsds_openapi(app, published, releases_dir):
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    schema = schemathesis.openapi.from_path(str(STRICT))
    services = load_json(releases_dir / "current" / "hsds" / "services.json")
    taxes = load_json(releases_dir / "current" / "hsds" / "taxonomies.json")
    sal = next(
        s["service_at_locations"][0]["id"] for s in services if s.get("service_at_locations")
    )
    real_ids = {
        "/services/{id}": services[0]["id"],
        "/organizations/{id}": services[0]["organization"]["id"],
        "/service_at_locations/{id}": sal,
        "/taxonomies/{id}": taxes[0]["id"],
        "/taxonomy_terms/{id}": taxes[0]["terms"][0]["id"],
    }
    checks = [not_a_server_error, response_schema_conformance]
    base = "http://registry.test/api/hsds"
    plain = {"Accept-Encoding": "identity"}  # the WSGI client does not decode gzip
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) == 11
    calls = {"n": 0}
    for op in operations:
        if op.path in real_ids:  # a real id: the response must be the documented object
            case = op.Case(path_parameters={"id": real_ids[op.path]})
            resp = case.call_and_validate(base_url=base, app=app, checks=checks, headers=plain)
            assert resp.status_code == 200, (op.path, resp.text[:300])

        @settings(
            max_examples=15,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=op.as_strategy())
        def run(case):
            calls["n"] += 1
            resp = case.call_and_validate(base_url=base, app=app, checks=checks, headers=plain)
            assert resp.status_code in (200, 400, 404), (
                case.formatted_path,
                resp.status_code,
                resp.text[:300],
            )

        run()
    assert calls["n"] >= 11


def test_root_links_profile_and_openapi(client, published):
    resp, body = get_json(client, "/api/hsds/")
    assert resp.status_code == 200 and body["version"] == "3.0"
    assert body["profile"].endswith("/api/hsds/profile") and body["openapi_url"].endswith(
        "/api/hsds/openapi.json"
    )
    _, profile = get_json(client, "/api/hsds/profile")
    assert "mo_dmh_certification_status" in profile["service"]["properties"]
    assert (
        "mo_dmh_max_stay_hours" in profile["service"]["properties"]
        and "mo_dmh_capacity" in profile["service"]["properties"]
    )
    _, openapi = get_json(client, "/api/hsds/openapi.json")
    assert openapi["openapi"].startswith("3.1") and "/services" in openapi["paths"]
    for path, item in openapi["paths"].items():
        assert set(item) == {"get"} and "200" in item["get"]["responses"], path


def test_paging_edges(client, published):
    _, body = get_json(client, "/api/hsds/services?per_page=10")
    total = body["total_items"]
    assert (
        body["size"] == 10
        and body["first_page"]
        and not body["last_page"]
        and body["total_pages"] == -(-total // 10)
    )
    last = body["total_pages"]
    _, lastp = get_json(client, f"/api/hsds/services?per_page=10&page={last}")
    assert (
        lastp["last_page"]
        and lastp["size"] == total - 10 * (last - 1)
        and lastp["page_number"] == last
    )
    _, past = get_json(client, f"/api/hsds/services?per_page=10&page={last + 1}")
    assert (
        past["contents"] == []
        and past["size"] == 0
        and past["total_items"] == total
        and not past["empty"]
    )
    _, huge = get_json(client, "/api/hsds/services?per_page=1000000")
    assert huge["size"] == total and huge["total_pages"] == 1 and huge["last_page"]
    for bad, param in [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("per_page=0", "per_page"),
        ("per_page=1.5", "per_page"),
        ("minimal=maybe", "minimal"),
        ("modified_after=yesterday", "modified_after"),
        ("organization_id=not-a-uuid", "organization_id"),
        ("county=12345", "county"),
        ("service_type=spa", "service_type"),
        ("format=xml", "format"),
    ]:
        resp, err = get_json(client, f"/api/hsds/services?{bad}")
        assert resp.status_code == 400 and err["error"]["parameter"] == param, bad
    _, empty = get_json(client, "/api/hsds/services?search=zzzzqqqq")
    assert empty["empty"] and empty["total_pages"] == 0 and empty["contents"] == []


def test_unknown_ids_are_404_json(client, published):
    for path in (
        "services",
        "organizations",
        "service_at_locations",
        "taxonomies",
        "taxonomy_terms",
    ):
        resp, body = get_json(client, f"/api/hsds/{path}/00000000-0000-0000-0000-000000000000")
        assert (
            resp.status_code == 404
            and resp.mimetype == "application/json"
            and body["error"]["status"] == 404
        )
    resp, body = get_json(client, "/feeds/current/nope.json")
    assert resp.status_code == 404 and body["error"]["status"] == 404
    resp, _ = get_json(client, "/feeds/releases/999/manifest.json")
    assert resp.status_code == 404
    resp, _ = get_json(client, "/feeds/current/../../etc/passwd")
    assert resp.status_code == 404


def test_filters_combine(client, published, releases_dir):
    services = load_json(releases_dir / "current" / "hsds" / "services.json")
    mobile = [s for s in services if s["mo_dmh_service_type"] == "mobile_crisis"]
    _, body = get_json(client, "/api/hsds/services?service_type=mobile_crisis&per_page=500")
    assert {s["id"] for s in body["contents"]} == {s["id"] for s in mobile}
    county = mobile[0]["service_areas"][0]["uri"].rsplit(":", 1)[1]
    _, body = get_json(
        client, f"/api/hsds/services?service_type=mobile_crisis&county={county}&per_page=500"
    )
    assert body["contents"] and all(
        county
        in [a["uri"][-5:] for a in next(s for s in mobile if s["id"] == c["id"])["service_areas"]]
        for c in body["contents"]
    )
    org = mobile[0]["organization"]["id"]
    _, body = get_json(client, f"/api/hsds/services?organization_id={org}&per_page=500")
    assert body["contents"] and all(c["organization_id"] == org for c in body["contents"])
    term = next(a for a in mobile[0]["attributes"] if a["link_type"] == "service_type")[
        "taxonomy_term"
    ]
    _, by_term = get_json(client, f"/api/hsds/services?taxonomy_term_id={term['id']}&per_page=500")
    assert by_term["total_items"] == len(mobile)
    _, by_tax = get_json(
        client, f"/api/hsds/services?taxonomy_id={term['taxonomy_id']}&per_page=500"
    )
    assert by_tax["total_items"] == len(services)
    _, found = get_json(client, "/api/hsds/services?search=" + mobile[0]["name"].split()[0])
    assert mobile[0]["id"] in {c["id"] for c in found["contents"]}
    _, minimal = get_json(client, "/api/hsds/services?minimal=true&per_page=1")
    assert set(minimal["contents"][0]) <= {"id", "name", "status", "last_modified"}
    _, full = get_json(client, "/api/hsds/services?full=true&per_page=1")
    assert "attributes" in full["contents"][0]


def test_modified_after(client, build, releases_dir):
    build()
    first = load_json(releases_dir / "current" / "manifest.json")["created_at"]
    lst = db.session.scalar(
        db.select(Listing)
        .where(Listing.live_revision_id.is_not(None), Listing.is_suspended.is_(False))
        .order_by(Listing.id)
    )
    lst.verified_at = utcnow() + timedelta(days=1)  # a new assured_date: its content changed
    db.session.commit()
    build()
    second = load_json(releases_dir / "current" / "manifest.json")["created_at"]
    _, body = get_json(client, f"/api/hsds/services?modified_after={first}")
    assert [(c["id"], c["last_modified"]) for c in body["contents"]] == [(lst.uuid, second)]
    _, body = get_json(client, f"/api/hsds/services?modified_after={second}")
    assert body["contents"] == []  # strictly after
    _, body = get_json(client, "/api/hsds/services?modified_after=2000-01-01T00:00:00Z&per_page=1")
    assert body["total_items"] > 40


def test_etag_304_last_modified_gzip_and_cors(client, published):
    for url in (
        "/api/hsds/services?page=1",
        "/feeds/current/hsds/services.json",
        f"/feeds/releases/{published.number}/listings.csv",
        "/feeds/current/manifest.json",
    ):
        first = client.get(url)
        assert first.status_code == 200, url
        etag = first.headers["ETag"]
        assert etag.startswith('"') and not etag.startswith("W/")
        assert first.headers["Access-Control-Allow-Origin"] == "*"
        assert "max-age" in first.headers["Cache-Control"] and first.headers["Last-Modified"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.headers["ETag"] == etag and not again.get_data()
        since = client.get(url, headers={"If-Modified-Since": first.headers["Last-Modified"]})
        assert since.status_code == 304
        # If-None-Match wins over If-Modified-Since (RFC 9110)
        other = client.get(
            url,
            headers={
                "If-None-Match": '"other"',
                "If-Modified-Since": first.headers["Last-Modified"],
            },
        )
        assert other.status_code == 200
        other.close()
        zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert zipped.headers.get("Content-Encoding") == "gzip" and zipped.headers["ETag"] != etag
        assert gzip.decompress(zipped.get_data()) == first.get_data()
    immutable = client.get(f"/feeds/releases/{published.number}/listings.csv")
    assert "immutable" in immutable.headers["Cache-Control"]


def test_a_repeated_request_is_answered_whole_from_its_kept_answer(
    app, client, build, releases_dir, monkeypatch
):
    """The second identical request is answered before the view runs (same bytes, same
    headers); a bad parameter is still refused, an open_now answer is never kept, and a new
    release answers afresh."""
    from admin.feeds import views

    build()
    url = "/api/hsds/services?page=1&per_page=5"
    first = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200
    calls = []
    real = views.paging
    monkeypatch.setattr(views, "paging", lambda: calls.append(1) or real())
    again = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert calls == [] and again.get_data() == first.get_data()
    for name in ("ETag", "Content-Encoding", "Access-Control-Allow-Origin", "Cache-Control"):
        assert again.headers[name] == first.headers[name], name
    conditional = {"If-None-Match": first.headers["ETag"], "Accept-Encoding": "gzip"}
    assert client.get(url, headers=conditional).status_code == 304
    assert calls == []
    plain = client.get(url)  # another encoding: its own answer, made by the view
    assert calls == [1] and json.loads(plain.get_data()) == json.loads(
        gzip.decompress(first.get_data())
    )
    assert client.get(url + "&bogus=1").status_code == 400
    with app.app_context():
        from admin.feeds.release import current_release

        parsed = current_release()
    client.get("/api/hsds/services?open_now=true")
    assert not any(b"open_now" in key[1] for key in parsed.answers)

    lst = db.session.scalar(
        db.select(Listing).where(Listing.live_revision_id.is_not(None)).order_by(Listing.id)
    )
    one = f"/api/hsds/services/{lst.uuid}"
    for _ in range(2):  # made, then kept
        assert json.loads(client.get(one).get_data())["name"] == lst.live_revision.data["name"]
    data = dict(lst.live_revision.data)
    data["name"] = "Renamed for the next release"
    lst.live_revision.data = data
    db.session.commit()
    assert build().status == "published"
    assert json.loads(client.get(one).get_data())["name"] == "Renamed for the next release"


def test_release_files_are_kept_in_memory_up_to_a_bound_and_streamed_beyond(
    app, client, build, releases_dir, monkeypatch
):
    from admin.feeds import release as release_module

    build()
    folder = releases_dir / "current"
    with app.app_context():
        parsed = release_module.current_release()
    monkeypatch.setattr(release_module, "FILE_KEPT_MAX", 10_000)  # bytes
    small = client.get("/feeds/current/changes.json")
    assert small.get_data() == (folder / "changes.json").read_bytes()
    assert str(folder.resolve() / "changes.json") in {str(Path(p).resolve()) for p in parsed.files}
    big = client.get("/feeds/current/hsds/services.json")
    sent = big.get_data()
    big.close()
    assert len(sent) > 10_000 and sent == (folder / "hsds" / "services.json").read_bytes()
    assert not any(p.endswith("services.json") for p in parsed.files)  # streamed, not kept
    assert parsed.files_size == sum(len(b) for b in parsed.files.values())


def test_no_release_yet_is_a_json_503(client, releases_dir):
    resp, body = get_json(client, "/api/hsds/services")
    assert resp.status_code == 503 and body["error"]["status"] == 503


def test_public_responses_never_carry_a_session_cookie(app, client, login, published):
    """A signed-in browser fetching the feeds or the API gets cacheable answers with no
    Set-Cookie and no `Vary: Cookie`, on every public route; its own pages still get both."""
    login("provider")
    # the session cookie really is sent by this client (a signed-in page refreshes it)
    assert client.get("/portal/").status_code == 200
    services = json.loads(client.get("/api/hsds/services").get_data())["contents"]
    examples = {
        "relpath": "manifest.json",
        "number": str(published.number),
        "ident": None,  # per endpoint below
        "rest": "no-such-endpoint",
        "fips": "29019",
        "filename": "help.js",
    }
    idents = {"feeds.api_service": services[0]["id"]}
    for kind in ("organizations", "service_at_locations", "taxonomies", "taxonomy_terms"):
        listed = json.loads(client.get(f"/api/hsds/{kind}").get_data()).get("contents") or []
        idents[f"feeds.api_{kind.removesuffix('s') if kind != 'taxonomies' else 'taxonomy'}"] = (
            listed[0]["id"] if listed else "00000000-0000-0000-0000-000000000000"
        )
    public = [
        r
        for r in app.url_map.iter_rules()
        if r.rule.startswith(("/feeds/", "/api", "/healthz", "/help"))
    ]
    assert len(public) >= 15
    for rule in public:
        args = {a: (idents[rule.endpoint] if a == "ident" else examples[a]) for a in rule.arguments}
        url = rule.rule
        for a, v in args.items():
            url = url.replace(f"<path:{a}>", v).replace(f"<int:{a}>", v).replace(f"<{a}>", v)
        resp = client.get(url)
        assert resp.status_code < 500, url
        assert "Set-Cookie" not in resp.headers, url
        assert "cookie" not in resp.headers.get("Vary", "").lower(), url
        if resp.status_code == 200 and url != "/healthz":
            assert "public" in resp.headers.get("Cache-Control", ""), url
        resp.close()
    page = client.get("/portal/")
    assert page.status_code == 200 and "Cookie" in page.headers.get("Vary", "")


def test_a_very_long_query_is_a_json_414(client, published):
    resp = client.get("/api/hsds/services?q=" + "x" * 5000)
    assert resp.status_code == 414 and resp.is_json
    assert "longer than 2048" in resp.get_json()["error"]["detail"]
    assert client.get("/api/hsds/services?page=1").status_code == 200


def test_the_web_server_passes_long_request_lines_to_the_app():
    """gunicorn's default request-line limit (4094) would answer an HTML 414 before the app's
    JSON one; every way of running the web server raises it."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for name in ("Procfile", "Dockerfile", "docker-compose.yml"):
        text = (root / name).read_text()
        assert "--limit-request-line 8190" in text, name


@pytest.mark.parametrize(
    ("query", "parameter", "words"),
    [
        ("postcode=6520", "postcode", "5-digit ZIP code"),
        ("postcode=90210", "postcode", "not a Missouri ZIP code"),
        ("proximity=10", "proximity", "needs postcode"),
        ("postcode=65201&proximity=0", "proximity", "at least 1"),
        ("postcode=65201&proximity=near", "proximity", "whole number"),
        ("q=crisis", "q", "use search="),
        ("keyword=crisis", "keyword", "use search="),
        ("page=", "page", "is empty"),
        ("per_page=", "per_page", "is empty"),
        ("modified_after=", "modified_after", "is empty"),
        ("page=1&page=2", "page", "more than once"),
        ("full_service=19540", "full_service", "not a parameter"),
        ("minimal=19540", "minimal", "true or false"),
    ],
)
def test_unknown_empty_and_bad_parameters_are_a_json_400_naming_them(
    client, published, query, parameter, words
):
    resp = client.get(f"/api/hsds/services?{query}")
    assert resp.status_code == 400, (query, resp.status_code)
    error = resp.get_json()["error"]
    assert error["parameter"] == parameter and words in error["detail"], error


def test_item_endpoints_take_no_parameters_and_a_405_names_the_allowed_methods(client, published):
    sid = json.loads(client.get("/api/hsds/services").get_data())["contents"][0]["id"]
    assert client.get(f"/api/hsds/services/{sid}").status_code == 200
    resp = client.get(f"/api/hsds/services/{sid}?full=true")
    assert resp.status_code == 400 and resp.get_json()["error"]["parameter"] == "full"
    for method in (client.post, client.put, client.delete):
        resp = method("/api/hsds/services")
        assert resp.status_code == 405 and resp.is_json
        assert set(resp.headers["Allow"].split(", ")) >= {"GET", "HEAD"}
    assert client.post("/healthz").headers["Allow"]


def test_an_unchanged_service_keeps_its_etag_across_releases(client, build, releases_dir):
    build()
    services = json.loads(client.get("/api/hsds/services?per_page=100").get_data())["contents"]
    kept_id, changed_id = services[0]["id"], services[1]["id"]
    kept = client.get(f"/api/hsds/services/{kept_id}", headers={"Accept-Encoding": "identity"})
    changed = client.get(
        f"/api/hsds/services/{changed_id}", headers={"Accept-Encoding": "identity"}
    )
    lst = db.session.scalar(db.select(Listing).filter_by(uuid=changed_id))
    data = dict(lst.live_revision.data)
    data["description"] = data.get("description", "") + " Updated."
    lst.live_revision.data = data
    db.session.commit()
    assert build().status == "published"
    plain = {"Accept-Encoding": "identity"}
    again = client.get(
        f"/api/hsds/services/{kept_id}", headers={**plain, "If-None-Match": kept.headers["ETag"]}
    )
    assert again.status_code == 304  # a poller refetches nothing it already has
    moved = client.get(
        f"/api/hsds/services/{changed_id}",
        headers={**plain, "If-None-Match": changed.headers["ETag"]},
    )
    assert moved.status_code == 200 and moved.headers["ETag"] != changed.headers["ETag"]


def test_schemathesis_against_the_registrys_own_openapi(app, published, releases_dir, tmp_path):
    """The OpenAPI file the API root links to, every operation and parameter it documents
    (extensions included), with the HSDS schemas it names read from the local specification."""
    import os

    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        response_schema_conformance,
        status_code_conformance,
    )

    from tasks.publishing.profile import HSDS_SCHEMA

    served = json.loads(app.test_client().get("/api/hsds/openapi.json").get_data(as_text=True))
    local = os.path.relpath(HSDS / "schema", tmp_path)
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(served).replace(HSDS_SCHEMA, local))
    schema = schemathesis.openapi.from_path(str(path))
    services = load_json(releases_dir / "current" / "hsds" / "services.json")
    checks = [not_a_server_error, response_schema_conformance, status_code_conformance]
    base = "http://registry.test/api/hsds"
    plain = {"Accept-Encoding": "identity"}
    operations = [r.ok() for r in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/services", "/changes", "/service_at_locations"}
    real = {"/services/{id}": services[0]["id"]}
    seen = set()
    for op in operations:
        if op.path in real:
            case = op.Case(path_parameters={"id": real[op.path]})
            resp = case.call_and_validate(base_url=base, app=app, checks=checks, headers=plain)
            assert resp.status_code == 200

        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=op.as_strategy())
        def run(case):
            resp = case.call_and_validate(base_url=base, app=app, checks=checks, headers=plain)
            seen.add((case.operation.path, resp.status_code))

        run()
    assert ("/changes", 200) in seen and ("/services", 200) in seen


def test_postcode_covers_the_zip_codes_county_and_proximity_is_meters_from_its_centroid(
    client, published
):
    boone = "29019"  # ZIP 65201 is Columbia, Boone County
    _, by_zip = get_json(client, "/api/hsds/services?postcode=65201&per_page=500")
    _, by_county = get_json(client, f"/api/hsds/services?county={boone}&per_page=500")
    assert by_zip["total_items"] == by_county["total_items"] > 0
    assert [s["id"] for s in by_zip["contents"]] == [s["id"] for s in by_county["contents"]]

    _, near = get_json(
        client, "/api/hsds/service_at_locations?postcode=65201&proximity=40000&per_page=500"
    )
    _, wide = get_json(
        client, "/api/hsds/service_at_locations?postcode=65201&proximity=400000&per_page=500"
    )
    assert 0 < near["total_items"] < wide["total_items"]
    centroid = (38.9382, -92.3049)

    def meters(item):
        from admin.feeds.views import meters_between

        loc = item["location"]
        return meters_between(*centroid, loc["latitude"], loc["longitude"])

    distances = [meters(i) for i in wide["contents"]]
    assert distances == sorted(distances) and max(distances) <= 400000
    assert all(meters(i) <= 40000 for i in near["contents"])
    # /services takes them as a documented extension: services with a location within reach
    _, services = get_json(client, "/api/hsds/services?postcode=65201&proximity=40000")
    assert {s["id"] for s in services["contents"]} == {i["service"]["id"] for i in near["contents"]}


def test_counties_resource_resolves_names_kinds_and_zip_codes(client, published):
    _, body = get_json(client, "/api/hsds/counties?per_page=500")
    assert body["total_items"] == 115
    louis = [c for c in body["contents"] if c["name"].startswith("St. Louis")]
    assert {(c["fips"], c["kind"]) for c in louis} == {("29510", "city"), ("29189", "county")}
    assert "zip_codes" not in body["contents"][0]
    _, one = get_json(client, "/api/hsds/counties?postcode=65201")
    assert [c["fips"] for c in one["contents"]] == ["29019"]
    _, boone = get_json(client, "/api/hsds/counties/29019")
    assert "65201" in {z["zip_code"] for z in boone["zip_codes"]}
    assert client.get("/api/hsds/counties/29999").status_code == 404
    resp = client.get("/api/hsds/counties?postcode=abc")
    assert resp.status_code == 400 and resp.get_json()["error"]["parameter"] == "postcode"


def test_988_primary_and_backup_counties_are_structured(client, published):
    _, body = get_json(client, "/api/hsds/services?county=29019&service_type=988_center&full=true")
    roles = {
        s["name"]: (
            "29019" in (s.get("mo_dmh_primary_counties") or "").split(),
            "29019" in (s.get("mo_dmh_backup_counties") or "").split(),
        )
        for s in body["contents"]
    }
    assert sorted(roles.values()) == [(False, True), (True, False)], roles


def test_format_ndjson_answers_every_result_one_document_per_line(client, published):
    resp = client.get(
        "/api/hsds/services?format=ndjson&full=true", headers={"Accept-Encoding": "identity"}
    )
    assert resp.status_code == 200 and resp.mimetype == "application/x-ndjson"
    lines = resp.get_data(as_text=True).splitlines()
    docs = [json.loads(line) for line in lines]
    _, paged = get_json(client, "/api/hsds/services?full=true&per_page=500")
    assert docs == paged["contents"] and len(docs) == paged["total_items"] > 50
    resp = client.get("/api/hsds/services?format=ndjson&page=2")
    assert resp.status_code == 400 and resp.get_json()["error"]["parameter"] == "page"
    resp = client.get("/api/hsds/services?format=xml")
    assert resp.status_code == 400 and resp.get_json()["error"]["parameter"] == "format"


def test_open_at_follows_published_hours_in_central_time_and_age_the_ages_served(client, published):
    _, everything = get_json(client, "/api/hsds/services?full=true&per_page=500")
    docs = everything["contents"]
    always = {
        d["id"]
        for d in docs
        if any(
            s.get("byday", "").count(",") == 6 and s.get("opens_at") == "00:00:00"
            for s in d.get("schedules", [])
        )
    }
    office = {
        d["id"]
        for d in docs
        if d.get("schedules")
        and d["id"] not in always
        and all(s.get("opens_at", "99") >= "07:00:00" for s in d["schedules"])
    }
    assert always and office
    # Monday 2026-12-07 03:00 in Missouri is 09:00 UTC: only round-the-clock services are open
    _, night = get_json(client, "/api/hsds/services?open_at=2026-12-07T09:00:00Z&per_page=500")
    night_ids = {d["id"] for d in night["contents"]}
    assert always <= night_ids and not (office & night_ids)
    # the same instant written with its offset is the same moment
    _, same = get_json(client, "/api/hsds/services?open_at=2026-12-07T03:00:00-06:00&per_page=500")
    assert {d["id"] for d in same["contents"]} == night_ids
    _, now = get_json(client, "/api/hsds/services?open_now=true&per_page=500")
    assert always <= {d["id"] for d in now["contents"]}
    resp = client.get("/api/hsds/services?open_now=true&open_at=2026-12-07T09:00:00Z")
    assert resp.status_code == 400
    # the very ends of the calendar have no Central time: a clear 400 naming the parameter
    for name, value in (
        ("open_at", "0001-01-01T00:11:10Z"),
        ("modified_after", "9999-12-31T23:59:59-12:00"),
    ):
        resp = client.get(f"/api/hsds/services?{name}={value}")
        assert resp.status_code == 400, (name, resp.status_code)
        assert resp.get_json()["error"]["parameter"] == name

    youth = {d["id"] for d in docs if (d.get("maximum_age") or 200) < 18}
    adults_only = {d["id"] for d in docs if (d.get("minimum_age") or 0) >= 18}
    assert youth and adults_only
    _, twelve = get_json(client, "/api/hsds/services?age=12&per_page=500")
    ids = {d["id"] for d in twelve["contents"]}
    assert youth <= ids and not (adults_only & ids)
    for bad in ("age=-1", "age=131", "age=ten"):
        resp = client.get(f"/api/hsds/services?{bad}")
        assert resp.status_code == 400 and resp.get_json()["error"]["parameter"] == "age", bad


def test_open_now_answers_are_cached_per_minute_not_per_release(client, published):
    from freezegun import freeze_time

    with freeze_time("2026-12-07T09:00:00Z"):  # Monday 3 am in Missouri
        _, night = get_json(client, "/api/hsds/services?open_now=true&per_page=500")
    with freeze_time("2026-12-07T16:00:00Z"):  # Monday 10 am
        _, day = get_json(client, "/api/hsds/services?open_now=true&per_page=500")
    assert day["total_items"] > night["total_items"]


def test_hours_name_their_time_zone_and_coordinates_say_where_they_come_from(client, build):
    lst = db.session.scalar(
        db.select(Listing)
        .where(Listing.live_revision_id.is_not(None), Listing.is_suspended.is_(False))
        .where(Listing.service_type_code == "bhcc")
        .order_by(Listing.id)
    )
    data = dict(lst.live_revision.data)
    data["latitude"], data["longitude"] = 38.951234, -92.328765  # the provider's exact point
    lst.live_revision.data = data
    db.session.commit()
    assert build().status == "published"
    _, body = get_json(client, "/api/hsds/services?full=true&per_page=500")
    by_id = {d["id"]: d for d in body["contents"]}
    assert by_id[lst.uuid]["mo_dmh_coordinates"] == "provided"
    located = [d for d in body["contents"] if d.get("mo_dmh_coordinates")]
    assert {d["mo_dmh_coordinates"] for d in located} == {"provided", "postal_code_centroid"}
    assert all(
        d["mo_dmh_timezone"] == "America/Chicago" for d in body["contents"] if d.get("schedules")
    )


def test_holiday_closures_are_structured_and_close_the_service_that_day(client, published):
    _, body = get_json(client, "/api/hsds/services?full=true&per_page=500")
    closed = [
        (d, s)
        for d in body["contents"]
        for s in d.get("schedules", [])
        if not s.get("opens_at") and s.get("valid_from")
    ]
    assert closed, "the demo has a Christmas closure"
    doc, closure = closed[0]
    day = closure["valid_from"]
    assert closure["valid_to"] == day and "Closed on" in closure["description"]
    weekly = [s for s in doc["schedules"] if s.get("opens_at")]
    # at noon on the closure day the service is not open, whatever its weekly hours say
    _, at_noon = get_json(client, f"/api/hsds/services?open_at={day}T12:00:00-06:00&per_page=500")
    assert weekly and doc["id"] not in {d["id"] for d in at_noon["contents"]}


def test_schedule_ids_survive_a_change_of_hours(client, build):
    lst = db.session.scalar(
        db.select(Listing)
        .where(Listing.live_revision_id.is_not(None), Listing.is_suspended.is_(False))
        .order_by(Listing.id)
        .where(Listing.service_type_code == "cbhl")
    )
    assert build().status == "published"
    before = get_json(client, f"/api/hsds/services/{lst.uuid}")[1]["schedules"]
    data = dict(lst.live_revision.data)
    hours = json.loads(json.dumps(data["hours"]))
    assert not hours.get("is_24_7")
    for day, slots in hours["weekly"].items():
        hours["weekly"][day] = [["09:30", closes] for _, closes in slots]
    data["hours"] = hours
    lst.live_revision.data = data
    db.session.commit()
    assert build().status == "published"
    after = get_json(client, f"/api/hsds/services/{lst.uuid}")[1]["schedules"]
    assert [s["opens_at"] for s in after if s.get("opens_at")] != [
        s["opens_at"] for s in before if s.get("opens_at")
    ]
    assert [s["id"] for s in after] == [s["id"] for s in before]  # updated, not replaced


def test_a_repeated_list_request_is_answered_from_the_cache_before_any_filtering(
    client, published, monkeypatch
):
    import admin.feeds.views as views

    calls = []
    real = views.filtered_service_ids
    monkeypatch.setattr(views, "filtered_service_ids", lambda p: calls.append(1) or real(p))
    for url in ("/api/hsds/services?county=29019", "/api/hsds/service_at_locations?county=29019"):
        first = client.get(url)
        second = client.get(url)
        assert first.status_code == second.status_code == 200
        assert first.get_data() == second.get_data()
    assert len(calls) == 2  # one per URL: the repeats did no per-request work
    for _ in range(2):  # a bad parameter is checked every time, never cached
        resp = client.get("/api/hsds/services?county=99999")
        assert resp.status_code == 400 and resp.get_json()["error"]["parameter"] == "county"
