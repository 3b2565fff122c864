"""Release files under /feeds/ and the HSDS 3.0 API under /api/hsds/, answered from release files.

Every answer carries a strong ETag, Last-Modified (the release time) and Cache-Control, answers
304 to If-None-Match / If-Modified-Since, comes gzip'd when the client accepts it (release files
are precompressed), and is open to any origin for GET. Bad parameters answer 400 naming the
parameter, unknown ids 404, all as JSON."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, current_app, g, request, send_file
from werkzeug.security import safe_join

from tasks.publishing.history import HistoryGap, changes_since, release_at
from tasks.publishing.layout import live_dir
from tasks.publishing.profile import (
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    openapi_document,
    profile_document,
)
from tasks.publishing.storage import (
    LIVE_CACHE,
    S3Storage,
    StorageUnavailable,
    release_storage,
)

from . import bp
from .release import ParsedRelease, current_release, get_release, parse_time

MIMETYPES = {
    ".json": "application/json",
    ".geojson": "application/geo+json",
    ".csv": "text/csv",
    ".atom": "application/atom+xml",
    ".pdf": "application/pdf",
}
CURRENT_MAX_AGE = 60
IMMUTABLE = "public, max-age=31536000, immutable"
POLLING = f"public, max-age={CURRENT_MAX_AGE}, must-revalidate"


class ApiError(Exception):
    def __init__(self, status: int, detail: str, parameter: str | None = None):
        super().__init__(detail)
        self.status, self.detail, self.parameter = status, detail, parameter


TITLES = {
    400: "Bad request",
    404: "Not found",
    410: "Gone: sync in full",
    414: "Query too long",
    503: "Not available yet",
}


def error_response(status: int, detail: str, parameter: str | None = None) -> Response:
    body: dict[str, Any] = {
        "status": status,
        "title": TITLES.get(status, "Error"),
        "detail": detail,
    }
    if parameter:
        body["parameter"] = parameter
    resp = Response(json.dumps({"error": body}), status=status, mimetype="application/json")
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.errorhandler(ApiError)
def api_error(e: ApiError):
    return error_response(e.status, e.detail, e.parameter)


@bp.errorhandler(StorageUnavailable)
def storage_unavailable(e: StorageUnavailable):
    """The release storage (a bucket) did not answer: try again, as for a release not ready."""
    resp = error_response(
        503, "The published releases cannot be read right now; try again shortly."
    )
    resp.headers["Retry-After"] = "30"
    return resp


# Longer queries are refused here, as JSON, well below the server's own request-line limit
# (gunicorn --limit-request-line 8190), whose answer would be an HTML page.
MAX_QUERY_CHARS = 2048


_PAGING = ("search", "page", "per_page", "format")
_SERVICE_FILTERS = (
    "taxonomy_term_id",
    "taxonomy_id",
    "organization_id",
    "modified_after",
    "county",  # DMH extension: a Missouri county FIPS code
    "service_type",  # DMH extension: a service type code
    "postcode",  # HSDS on /service_at_locations; a documented extension on /services
    "proximity",
    "open_now",  # DMH extensions: open at this moment / at that date-time (US Central hours)
    "open_at",
    "age",  # DMH extension: serves a person of this age
)
# The parameters each API endpoint takes (HSDS 3.0's, plus the DMH extensions documented in
# the OpenAPI file); anything else is refused by name, never silently ignored.
API_PARAMETERS: dict[str, tuple[str, ...]] = {
    "feeds.api_services": (*_PAGING, *_SERVICE_FILTERS, "minimal", "full"),
    "feeds.api_service_at_locations": (*_PAGING, *_SERVICE_FILTERS, "full"),
    "feeds.api_counties": (*_PAGING, "postcode", "full"),
    "feeds.api_county": (),
    "feeds.api_organizations": (*_PAGING, "full_service", "full"),
    "feeds.api_organization": ("full_service",),
    "feeds.api_taxonomies": _PAGING,
    "feeds.api_taxonomy_terms": (*_PAGING, "taxonomy_id", "top_only", "parent_id"),
    "feeds.api_changes": ("since",),
    "feeds.api_capacity": (),
    "feeds.api_service": (),
    "feeds.api_service_at_location": (),
    "feeds.api_taxonomy": (),
    "feeds.api_taxonomy_term": (),
}
HINTS = {"q": "use search=", "keyword": "use search="}


@bp.before_request
def answer_from_cache():
    """A request the API has answered before (same path, same query string, same encoding,
    same release) is answered here, before any other per-request work: the answer's bytes and
    headers were kept whole. Only answers that passed every check are kept, so a bad parameter
    still reaches the checks below; answers that vary by the minute (open_now) are not kept."""
    if request.method not in ("GET", "HEAD") or not request.path.startswith("/api/hsds/"):
        return None
    parsed = current_release()
    if parsed is None:
        return None
    hit = parsed.answer((request.path, request.query_string, accepts_gzip()))
    if hit is None:
        return None
    body, headers, etag = hit
    if not_modified(etag, parsed.created_at):
        return answer_304(etag, parsed.created_at, POLLING)
    return Response(body, headers=headers)


@bp.before_request
def refuse_long_queries():
    if len(request.query_string) > MAX_QUERY_CHARS:
        return error_response(
            414, f"The query is longer than {MAX_QUERY_CHARS} characters; shorten it."
        )
    return None


@bp.before_request
def refuse_unknown_and_empty_parameters():
    allowed = API_PARAMETERS.get(request.endpoint or "")
    if allowed is None:
        return None
    for name, values in request.args.lists():
        if name not in allowed:
            hint = HINTS.get(name)
            takes = ", ".join(allowed) or "no parameters"
            return error_response(
                400,
                f"{name} is not a parameter of this endpoint"
                + (f" ({hint})" if hint else "")
                + f"; it takes: {takes}",
                name,
            )
        if len(values) > 1:
            return error_response(400, f"{name} is given more than once", name)
        if values[0].strip() == "":
            return error_response(400, f"{name} is empty: give a value or leave it out", name)
    return None


@bp.after_request
def cors(resp: Response) -> Response:
    if "Access-Control-Allow-Origin" in resp.headers:
        return resp  # a kept answer (answer_from_cache), stamped when it was made
    if request.path.startswith(("/api/hsds", "/feeds/")):
        resp.headers["Access-Control-Allow-Origin"] = "*"
        resp.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        resp.headers["Access-Control-Allow-Headers"] = "If-None-Match, If-Modified-Since"
        resp.headers["Access-Control-Expose-Headers"] = "ETag, Last-Modified"
        resp.headers.pop("X-Frame-Options", None)
        resp.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return resp


# ------------------------------------------------------------------ conditional requests


def accepts_gzip() -> bool:
    return "gzip" in (request.headers.get("Accept-Encoding") or "").lower()


def not_modified(etag: str, last_modified: datetime) -> bool:
    inm = request.headers.get("If-None-Match")
    if inm is not None:  # RFC 9110: If-Modified-Since is ignored when If-None-Match is present
        tags = [t.strip() for t in inm.split(",")]
        return "*" in tags or etag in tags or f"W/{etag}" in tags
    ims = request.headers.get("If-Modified-Since")
    if ims:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return last_modified.replace(microsecond=0) <= since
    return False


def stamp(resp: Response, etag: str, last_modified: datetime, cache_control: str) -> Response:
    resp.headers["ETag"] = etag
    resp.headers["Last-Modified"] = format_datetime(last_modified.astimezone(UTC), usegmt=True)
    resp.headers["Cache-Control"] = cache_control
    resp.headers["Vary"] = "Accept-Encoding"
    return resp


def answer_304(etag: str, last_modified: datetime, cache_control: str) -> Response:
    return stamp(Response(status=304), etag, last_modified, cache_control)


# ------------------------------------------------------------------ release files


def print_pending(parsed: ParsedRelease, relpath: str) -> bool:
    return (
        relpath.startswith("pdf/")
        and (parsed.manifest.get("print") or {}).get("status") == "pending"
    )


def print_not_ready(number: int, relpath: str, current: bool) -> Response:
    """A printed file of a release whose print is still being rendered: under `current`, the
    same file of the newest release whose print is ready (a redirect, never cached); else 503."""
    if current:
        store = release_storage()
        for n in sorted(store.available_numbers(), reverse=True):
            files = store.print_files(n) if n < number else None
            if files and relpath in files:
                resp = Response(status=302, headers={"Location": f"/feeds/releases/{n}/{relpath}"})
                resp.headers["Cache-Control"] = "no-store"
                return resp
    resp = error_response(
        503, f"The printed directories of release {number} are being prepared; try again shortly."
    )
    resp.headers["Retry-After"] = "60"
    return resp


def serve_file(
    number: int,
    relpath: str,
    cache_control: str,
    *,
    current: bool = False,
    parsed: ParsedRelease | None = None,
):
    parsed = parsed or get_release(number)
    if parsed is None:
        raise ApiError(404, f"release {number} is not available")
    if relpath == "manifest.json":
        sha = parsed.manifest_sha256
    else:
        meta = parsed.manifest.get("files", {}).get(relpath)
        if meta is None:
            # the printed directories join the release when rendered (printing.py)
            printed = parsed.printed()
            meta = (printed or {}).get(relpath)
            if meta is None and printed is None and print_pending(parsed, relpath):
                return print_not_ready(number, relpath, current)
        if meta is None:
            raise ApiError(404, f"release {number} has no file {relpath!r}")
        sha = meta["sha256"]
    full = safe_join(str(parsed.path), relpath)
    if full is None:
        raise ApiError(404, "no such file")
    gz = accepts_gzip()
    path = full + ".gz" if gz else full
    etag = f'"{sha[:40]}{"-gz" if gz else ""}"'
    if not_modified(etag, parsed.created_at):
        return answer_304(etag, parsed.created_at, cache_control)
    ext = "." + relpath.rsplit(".", 1)[-1] if "." in relpath else ""
    mimetype = MIMETYPES.get(ext, "application/octet-stream")
    try:
        if parsed.remote is not None:  # object storage: the stored twin, streamed
            resp = remote_response(parsed, number, relpath + (".gz" if gz else ""), mimetype)
        elif (data := parsed.file_bytes(path)) is not None:
            resp = Response(data, mimetype=mimetype)
        else:
            resp = send_file(
                path,
                mimetype=mimetype,
                conditional=False,
                etag=False,
                max_age=None,
                last_modified=None,
            )
    except FileNotFoundError:
        raise ApiError(404, f"release {number} has no file {relpath!r}") from None
    resp.headers.pop("Content-Disposition", None)
    if gz:
        resp.headers["Content-Encoding"] = "gzip"
    return stamp(resp, etag, parsed.created_at, cache_control)


def remote_response(parsed: ParsedRelease, number: int, name: str, mimetype: str) -> Response:
    """A file of a release in object storage, passed through in chunks (not redirected: the
    answer keeps this app's ETag, caching, CORS and gzip negotiation; docs/decisions.md).
    FileNotFoundError when the bucket has no such object."""
    body = parsed.remote.open(number, name)
    resp = Response(body.chunks(), mimetype=mimetype)
    resp.content_length = body.length
    resp.call_on_close(body.close)
    return resp


CAPACITY = "capacity.json"
CAPACITY_CACHE = LIVE_CACHE  # as the bucket's objects carry it, for a CDN pointed there


def capacity_answer() -> Response:
    """The live capacity file (tasks/capacity.py), rewritten every minute outside releases:
    from RELEASES_DIR/live/, or from the bucket with a remote release storage. 503 with
    Retry-After until it is first written; StorageUnavailable (503) if the bucket is down."""
    gz = accepts_gzip()
    store = release_storage()
    if store.is_remote:
        body, packed = remote_capacity(store, gz)
        if body is None:
            return capacity_not_published()
    else:
        folder = live_dir()
        try:
            body = (folder / CAPACITY).read_bytes()
            packed = (folder / (CAPACITY + ".gz")).read_bytes() if gz else None
        except FileNotFoundError:
            return capacity_not_published()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}{"-gz" if packed else ""}"'
    generated = parse_time(json.loads(body)["generated_at"])
    if not_modified(etag, generated):
        return answer_304(etag, generated, CAPACITY_CACHE)
    resp = Response(packed or body, mimetype="application/json")
    if packed:
        resp.headers["Content-Encoding"] = "gzip"
    return stamp(resp, etag, generated, CAPACITY_CACHE)


def remote_capacity(store: S3Storage, gz: bool) -> tuple[bytes | None, bytes | None]:
    """(body, gzip twin or None) from the bucket; (None, None) before the first write. A gzip
    client gets the twin alone, its body recovered from it: the ETag then always names the
    bytes sent, even while the two objects are a minute apart."""
    if not gz:
        return store.get_live(CAPACITY), None
    packed = store.get_live(CAPACITY + ".gz")
    return (gzip.decompress(packed), packed) if packed is not None else (None, None)


def capacity_not_published() -> Response:
    resp = error_response(503, "Live capacity has not been published yet; try again shortly.")
    resp.headers["Retry-After"] = "60"
    return resp


@bp.get("/feeds/current/capacity.json")
def current_capacity():
    return capacity_answer()


@bp.get("/api/hsds/capacity")
def api_capacity():
    """DMH extension: live capacity of public crisis centers, crisis residential programs and
    sobering centers (the same document as /feeds/current/capacity.json)."""
    return capacity_answer()


@bp.get("/feeds/current/<path:relpath>")
def current_file(relpath: str):
    parsed = current_release()
    if parsed is not None:
        return serve_file(parsed.number, relpath, POLLING, current=True, parsed=parsed)
    number = release_storage().current_number()
    if number is None:
        raise ApiError(503, "No release has been published yet.")
    return serve_file(number, relpath, POLLING, current=True)  # a 404 names the release


@bp.get("/feeds/releases/<int:number>/<path:relpath>")
def release_file(number: int, relpath: str):
    return serve_file(number, relpath, IMMUTABLE)


# ------------------------------------------------------------------ API plumbing


def need_release() -> ParsedRelease:
    parsed = current_release()
    if parsed is None:
        raise ApiError(503, "No release has been published yet.")
    return parsed


def json_answer(parsed: ParsedRelease, build) -> Response:
    """Serialized once per (release, URL). The strong ETag is the hash of the answer's own
    bytes, so an object (or page) that did not change keeps its ETag across releases and a
    conditional request still gets 304 after a new release."""
    args = sorted((k, v) for k, vs in request.args.lists() for v in vs)
    key = request.path + "?" + "&".join(f"{k}={v}" for k, v in args) + g.get("cache_vary", "")
    gz = accepts_gzip()
    ndjson = wants_ndjson()

    def make():
        answer = build()
        if ndjson:  # HSDS's format=ndjson: every result, one JSON document per line
            body = b"".join(
                json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
                for item in answer["contents"]
            )
        else:
            body = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        packed = gzip.compress(body, compresslevel=6, mtime=0) if len(body) > 1024 else None
        return body, packed, hashlib.sha256(body).hexdigest()[:32]

    body, body_gz, tag = parsed.cached(key, make)
    etag = f'"{tag}{"-gz" if gz and body_gz is not None else ""}"'
    if not_modified(etag, parsed.created_at):
        return answer_304(etag, parsed.created_at, POLLING)
    resp = Response(
        body_gz if gz and body_gz is not None else body,
        mimetype="application/x-ndjson" if ndjson else "application/json",
    )
    if gz and body_gz is not None:
        resp.headers["Content-Encoding"] = "gzip"
    stamp(resp, etag, parsed.created_at, POLLING)
    if not g.get("cache_vary"):  # kept whole for the next identical request
        cors(resp)
        sent = body_gz if gz and body_gz is not None else body
        parsed.keep_answer(
            (request.path, request.query_string, gz), (sent, list(resp.headers), etag)
        )
    return resp


def arg_int(name: str, default: int, minimum: int = 1) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"\+?\d{1,9}", raw.strip()):
        raise ApiError(400, f"{name} must be a whole number of at least {minimum}", name)
    value = int(raw)
    if value < minimum:
        raise ApiError(400, f"{name} must be at least {minimum}", name)
    return value


def arg_bool(name: str) -> bool:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return False
    low = raw.strip().lower()
    if low in ("true", "1", "yes"):
        return True
    if low in ("false", "0", "no"):
        return False
    raise ApiError(400, f"{name} must be true or false", name)


def arg_uuid(name: str) -> str | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return str(uuid.UUID(raw.strip()))
    except ValueError:
        raise ApiError(400, f"{name} must be a UUID", name) from None


def arg_datetime(name: str) -> datetime | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = parse_time(raw.strip())
        value.astimezone(UTC), value.astimezone(CENTRAL)  # the zones it is read in
    except (ValueError, OverflowError):  # OverflowError: at the very ends of the calendar
        raise ApiError(
            400, f"{name} must be an RFC 3339 date-time such as 2025-01-31T00:00:00Z", name
        ) from None
    return value


def wants_ndjson() -> bool:
    return request.args.get("format") == "ndjson"


def check_format() -> None:
    raw = request.args.get("format")
    if raw not in (None, "json", "ndjson"):
        raise ApiError(400, "format must be json (pages) or ndjson (every result)", "format")


def paging() -> tuple[int, int]:
    if wants_ndjson():
        for name in ("page", "per_page"):
            if name in request.args:
                raise ApiError(400, f"{name} does not apply to format=ndjson (every result)", name)
        return 1, 10**9
    page = arg_int("page", 1)
    per_page = min(arg_int("per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE)
    return page, per_page


def page_of(items: list, page: int, per_page: int) -> dict[str, Any]:
    total = len(items)
    pages = math.ceil(total / per_page) if total else 0
    contents = items[(page - 1) * per_page : page * per_page]
    return {
        "total_items": total,
        "total_pages": pages,
        "page_number": page,
        "size": len(contents),
        "first_page": page == 1,
        "last_page": page >= pages,
        "empty": total == 0,
        "contents": contents,
    }


def search_words() -> list[str]:
    raw = request.args.get("search")
    if raw is None:
        return []
    if len(raw) > 200:
        raise ApiError(400, "search is limited to 200 characters", "search")
    return [w for w in re.split(r"\s+", raw.lower().strip()) if w]


# ------------------------------------------------------------------ API endpoints


def base_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


@bp.get("/api/hsds/")
@bp.get("/api/hsds")
def api_root():
    parsed = current_release()
    body = {
        "version": "3.0",
        "profile": f"{base_url()}/api/hsds/profile",
        "openapi_url": f"{base_url()}/api/hsds/openapi.json",
    }
    if parsed is not None:
        body["release"] = parsed.number
        body["manifest_url"] = f"{base_url()}/feeds/releases/{parsed.number}/manifest.json"
    resp = Response(json.dumps(body), mimetype="application/json")
    resp.headers["Cache-Control"] = POLLING
    return resp


@bp.get("/api/hsds/profile")
def api_profile():
    resp = Response(json.dumps(profile_document(base_url()), indent=1), mimetype="application/json")
    resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp


@bp.get("/api/hsds/openapi.json")
def api_openapi():
    resp = Response(json.dumps(openapi_document(base_url()), indent=1), mimetype="application/json")
    resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp


def filtered_service_ids(parsed: ParsedRelease) -> list[str]:
    """The services of the release that every filter of the request keeps (nearest first with
    `proximity`). Raises ApiError (400) for a filter that cannot be read."""
    checks, near = service_checks(parsed)
    out = [
        doc["id"]
        for doc in parsed.services
        if all(check(parsed.facets[doc["id"]]) for check in checks)
    ]
    if near and near.meters is not None:
        out.sort(key=lambda sid: near.distance(parsed.facets[sid]))
    return out


Check = Callable[[dict[str, Any]], bool]


def service_checks(parsed: ParsedRelease) -> tuple[list[Check], Nearness | None]:
    """One test of a service's facets per filter given, read (and checked) in a fixed order
    so that the first bad parameter is the one reported."""
    words = search_words()
    term = arg_uuid("taxonomy_term_id")
    tax = arg_uuid("taxonomy_id")
    org = arg_uuid("organization_id")
    after = arg_datetime("modified_after")
    county = arg_county()
    stype = arg_service_type(parsed)
    near = nearness(parsed)
    moment = opening_moment()
    age = arg_age()
    wanted: list[tuple[Any, Check]] = [
        (near, lambda f: near.keep(f)),
        (moment, lambda f: is_open(f, *moment)),
        (age is not None, lambda f: fits_age(f, age)),
        (term, lambda f: term in f["terms"]),
        (tax, lambda f: tax in f["taxonomies"]),
        (org, lambda f: org == f["organization_id"]),
        (after, lambda f: f["modified"] is not None and f["modified"] > after),
        (county, lambda f: county in f["counties"]),
        (stype, lambda f: stype == f["service_type"]),
        (words, lambda f: all(w in f["text"] for w in words)),
    ]
    return [check for given, check in wanted if given], near


def arg_county() -> str | None:
    county = request.args.get("county")
    if county in (None, ""):
        return None
    if not re.fullmatch(r"29\d{3}", county.strip()):
        raise ApiError(
            400, "county must be a 5-digit Missouri county FIPS code such as 29019", "county"
        )
    return county.strip()


def arg_service_type(parsed: ParsedRelease) -> str | None:
    stype = request.args.get("service_type")
    if stype in (None, ""):
        return None
    if stype not in parsed.service_types:
        raise ApiError(
            400,
            f"service_type must be one of: {', '.join(sorted(parsed.service_types))}",
            "service_type",
        )
    return stype


def arg_age() -> int | None:
    if request.args.get("age") is None:
        return None
    age = arg_int("age", -1, minimum=0)
    if age > 130:
        raise ApiError(400, "age must be between 0 and 130", "age")
    return age


def fits_age(facets: dict[str, Any], age: int) -> bool:
    low, high = facets["min_age"], facets["max_age"]
    return (low is None or low <= age) and (high is None or age <= high)


CENTRAL = ZoneInfo("America/Chicago")  # the registry's hours are US Central time
DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def opening_moment() -> tuple[str, str, str] | None:
    """(day code, HH:MM:SS, YYYY-MM-DD) in US Central time for open_now / open_at, or None."""
    now = arg_bool("open_now")
    at = arg_datetime("open_at")
    if now and at:
        raise ApiError(400, "give open_now or open_at, not both", "open_at")
    if not (now or at):
        return None
    when = (at or datetime.now(UTC)).astimezone(CENTRAL)
    if now:  # answers change with the clock: cache them per minute only
        g.cache_vary = when.strftime("#%Y%m%d%H%M")
    return DAY_CODES[when.weekday()], when.strftime("%H:%M:%S"), when.date().isoformat()


def is_open(facets: dict[str, Any], day: str, time: str, date: str) -> bool:
    if date in facets["closed_on"]:
        return False
    return any(day in days and opens <= time <= closes for days, opens, closes in facets["hours"])


EARTH_RADIUS_M = 6_371_008.8


def meters_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


class Nearness:
    """HSDS's `postcode` and `proximity`: without proximity, services whose service area covers
    the ZIP code's county; with it, services with a location within `proximity` meters of the
    ZIP code's centroid, nearest first (a service area does not move a building closer)."""

    def __init__(self, fips: str, lat: float, lon: float, meters: int | None):
        self.fips, self.lat, self.lon, self.meters = fips, lat, lon, meters

    def point_distance(self, lat: float, lon: float) -> float:
        return meters_between(self.lat, self.lon, lat, lon)

    def distance(self, facets: dict[str, Any]) -> float:
        return min(
            (self.point_distance(la, lo) for _, la, lo in facets["points"]), default=math.inf
        )

    def keep(self, facets: dict[str, Any]) -> bool:
        if self.meters is None:
            return self.fips in facets["counties"]
        return self.distance(facets) <= self.meters


def nearness(parsed: ParsedRelease) -> Nearness | None:
    raw = request.args.get("postcode")
    meters = arg_int("proximity", 0) or None
    if raw is None:
        if meters is not None:
            raise ApiError(
                400, "proximity needs postcode: meters from that ZIP code's centroid", "proximity"
            )
        return None
    code = raw.strip()
    if not re.fullmatch(r"\d{5}", code):
        raise ApiError(400, "postcode must be a 5-digit ZIP code such as 65201", "postcode")
    found = parsed.counties()["by_zip"].get(code)
    if found is None:
        raise ApiError(400, f"postcode {code} is not a Missouri ZIP code", "postcode")
    return Nearness(*found, meters)


@bp.get("/api/hsds/services")
def api_services():
    parsed = need_release()
    page, per_page = paging()
    check_format()
    minimal, full = arg_bool("minimal"), arg_bool("full")
    opening_moment()  # open_now answers vary by the minute: part of the cache key

    def build():  # filtering runs on a cache miss only (a bad parameter is never cached)
        ids = filtered_service_ids(parsed)
        if minimal:
            items = [
                {
                    k: parsed.by_id[i][k]
                    for k in ("id", "name", "status", "last_modified")
                    if k in parsed.by_id[i]
                }
                for i in ids
            ]
        elif full:
            items = [parsed.by_id[i] for i in ids]
        else:
            items = [parsed.list_items[i] for i in ids]
        return page_of(items, page, per_page)

    return json_answer(parsed, build)


@bp.get("/api/hsds/services/<ident>")
def api_service(ident: str):
    parsed = need_release()
    doc = parsed.by_id.get(ident)
    if doc is None:
        raise ApiError(404, f"no service {ident!r} in the current release")
    return json_answer(parsed, lambda: doc)


def organization_full(parsed: ParsedRelease, org_id: str) -> dict[str, Any]:
    org = dict(parsed.organizations[org_id])
    services = []
    locations = {}
    for sid in parsed.org_services.get(org_id, []):
        doc = {k: v for k, v in parsed.by_id[sid].items() if k != "organization"}
        services.append(doc)
        for s in doc.get("service_at_locations", []):
            loc = s.get("location")
            if loc and loc.get("location_type") == "physical":
                locations[loc["id"]] = loc
    org["services"] = services
    if locations:
        org["locations"] = list(locations.values())
    return org


@bp.get("/api/hsds/organizations")
def api_organizations():
    parsed = need_release()
    page, per_page = paging()
    check_format()
    full = arg_bool("full") or arg_bool("full_service")
    words = search_words()
    ids = [
        oid
        for oid, org in sorted(parsed.organizations.items(), key=lambda kv: kv[1]["name"].lower())
        if not words
        or all(w in (org["name"] + " " + org.get("description", "")).lower() for w in words)
    ]

    def build():
        if full:
            items = [organization_full(parsed, oid) for oid in ids]
        else:
            items = [
                {
                    k: parsed.organizations[oid][k]
                    for k in (
                        "id",
                        "name",
                        "alternate_name",
                        "description",
                        "email",
                        "website",
                        "uri",
                    )
                    if k in parsed.organizations[oid]
                }
                for oid in ids
            ]
        return page_of(items, page, per_page)

    return json_answer(parsed, build)


@bp.get("/api/hsds/organizations/<ident>")
def api_organization(ident: str):
    parsed = need_release()
    if ident not in parsed.organizations:
        raise ApiError(404, f"no organization {ident!r} in the current release")
    arg_bool("full_service")
    return json_answer(parsed, lambda: organization_full(parsed, ident))


def sal_list_item(parsed: ParsedRelease, sal_id: str, full: bool) -> dict[str, Any]:
    entry = parsed.sals[sal_id]
    sal = entry["sal"]
    service = parsed.by_id[entry["service_id"]] if full else parsed.list_items[entry["service_id"]]
    if full:
        service = {k: v for k, v in service.items() if k != "service_at_locations"}
    location = (
        sal["location"]
        if full
        else {k: v for k, v in sal["location"].items() if not isinstance(v, list | dict)}
    )
    item = {k: v for k, v in sal.items() if k != "location"}
    item["location"] = location
    item["service"] = service
    return item


@bp.get("/api/hsds/service_at_locations")
def api_service_at_locations():
    parsed = need_release()
    page, per_page = paging()
    check_format()
    full = arg_bool("full")
    opening_moment()  # open_now answers vary by the minute: part of the cache key

    def build():  # filtering runs on a cache miss only (a bad parameter is never cached)
        service_ids = filtered_service_ids(parsed)
        near = nearness(parsed)
        if near is not None and near.meters is not None:
            # each location on its own: within reach, nearest first
            points = sorted(
                (near.point_distance(la, lo), sal_id)
                for sid in service_ids
                for sal_id, la, lo in parsed.facets[sid]["points"]
            )
            ids = [sal_id for d, sal_id in points if d <= near.meters]
        else:
            wanted = set(service_ids)
            ids = [sal_id for sal_id, e in parsed.sals.items() if e["service_id"] in wanted]
        return page_of([sal_list_item(parsed, i, full) for i in ids], page, per_page)

    return json_answer(parsed, build)


@bp.get("/api/hsds/service_at_locations/<ident>")
def api_service_at_location(ident: str):
    parsed = need_release()
    if ident not in parsed.sals:
        raise ApiError(404, f"no service_at_location {ident!r} in the current release")
    return json_answer(parsed, lambda: sal_list_item(parsed, ident, True))


@bp.get("/api/hsds/taxonomies")
def api_taxonomies():
    parsed = need_release()
    page, per_page = paging()
    check_format()
    words = search_words()
    items = [
        t
        for t in parsed.taxonomies.values()
        if not words or all(w in (t["name"] + " " + t["description"]).lower() for w in words)
    ]
    return json_answer(parsed, lambda: page_of(items, page, per_page))


@bp.get("/api/hsds/taxonomies/<ident>")
def api_taxonomy(ident: str):
    parsed = need_release()
    if ident not in parsed.taxonomies:
        raise ApiError(404, f"no taxonomy {ident!r}")
    return json_answer(parsed, lambda: parsed.taxonomies[ident])


def term_doc(parsed: ParsedRelease, term: dict[str, Any]) -> dict[str, Any]:
    doc = dict(term)
    tax = parsed.taxonomies.get(term.get("taxonomy_id", ""))
    if tax:
        doc["taxonomy_detail"] = tax
    return doc


@bp.get("/api/hsds/taxonomy_terms")
def api_taxonomy_terms():
    parsed = need_release()
    page, per_page = paging()
    check_format()
    words = search_words()
    tax = arg_uuid("taxonomy_id")
    parent = arg_uuid("parent_id")
    arg_bool("top_only")  # every DMH term is top-level
    items = [
        term_doc(parsed, t)
        for t in parsed.terms.values()
        if (not tax or t.get("taxonomy_id") == tax)
        and (not parent or t.get("parent_id") == parent)
        and (
            not words
            or all(
                w in (t["name"] + " " + t.get("code", "") + " " + t["description"]).lower()
                for w in words
            )
        )
    ]
    return json_answer(parsed, lambda: page_of(items, page, per_page))


@bp.get("/api/hsds/taxonomy_terms/<ident>")
def api_taxonomy_term(ident: str):
    parsed = need_release()
    if ident not in parsed.terms:
        raise ApiError(404, f"no taxonomy term {ident!r}")
    return json_answer(parsed, lambda: term_doc(parsed, parsed.terms[ident]))


def county_item(area: dict[str, Any], full: bool) -> dict[str, Any]:
    return area if full else {k: v for k, v in area.items() if k != "zip_codes"}


@bp.get("/api/hsds/counties")
def api_counties():
    """Missouri's 115 county-level areas (DMH extension): FIPS, name, kind (county or city),
    centroid; `full=true` adds their ZIP codes; `postcode=` answers the area holding a ZIP."""
    parsed = need_release()
    page, per_page = paging()
    check_format()
    full = arg_bool("full")
    words = search_words()
    table = parsed.counties()
    areas = table["list"]
    if request.args.get("postcode") is not None:
        near = nearness(parsed)
        areas = [table["by_fips"][near.fips]]
    if words:
        areas = [a for a in areas if all(w in (a["name"] + " " + a["kind"]).lower() for w in words)]
    return json_answer(
        parsed, lambda: page_of([county_item(a, full) for a in areas], page, per_page)
    )


@bp.get("/api/hsds/counties/<fips>")
def api_county(fips: str):
    parsed = need_release()
    area = parsed.counties()["by_fips"].get(fips)
    if area is None:
        raise ApiError(404, f"no Missouri county with FIPS code {fips!r}")
    return json_answer(parsed, lambda: area)


FULL_SYNC = "sync in full from /feeds/current/hsds/services.json, then ask again from its release"


@bp.get("/api/hsds/changes")
def api_changes():
    """Added, changed and removed service ids between any earlier release and the current one:
    `since` is a release number (0: from nothing) or a date-time (the newest release created at
    or before it). Read from the current release's history, so pruned releases still count."""
    parsed = need_release()
    raw = request.args.get("since")
    if raw is None:
        raise ApiError(
            400, "since is required: a release number (0 for everything) or a date-time", "since"
        )
    history = parsed.history()
    if history is None:
        raise ApiError(410, f"release {parsed.number} carries no history; {FULL_SYNC}", "since")
    try:
        if re.fullmatch(r"\d{1,9}", raw.strip()):
            since = int(raw)
        else:
            since = release_at(history, arg_datetime("since"))
        changes = changes_since(history, since, parsed.number)
    except HistoryGap as e:
        raise ApiError(410, f"{e}; {FULL_SYNC}", "since") from None
    times = dict(history["releases"])
    body = {
        "since": {"release": since, "created_at": times.get(since)},
        "release": parsed.number,
        "created_at": times.get(parsed.number),
        **changes,
    }
    return json_answer(parsed, lambda: body)


@bp.get("/api/hsds/<path:rest>")
def api_unknown(rest: str):
    raise ApiError(404, f"no such endpoint /api/hsds/{rest}")
