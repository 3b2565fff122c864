"""The writers of a release. Each is `writer(ctx) -> None` and writes its files under
`ctx.out_dir`; the builder runs them in the order of WRITERS, then gzips every file and writes
the manifest. Other areas append their writer here with one import line. The printed
directories are not among them: they follow the feeds (printing.py)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from xml.sax.saxutils import escape

import orjson

from models.listings import (
    COST_MODELS,
    LANGUAGES,
    POPULATIONS,
    csv_values,
    format_phone,
    simple_fields,
)
from models.listings import fields as fields_module
from models.publishing import safe_cell
from models.reference import snapshot_county_names
from models.text import publishable

from .context import BuildContext, timestamp
from .counties import write_counties
from .coverage import write_coverage
from .history import write_history
from .hsds import service_document, taxonomies, term_index
from .layout import SERVICE_STATE
from .profile import extension_csv_types
from .tabular import write_tabular

Writer = Callable[[BuildContext], None]


def dump_json(obj: Any) -> bytes:
    """Compact UTF-8 JSON, byte for byte what `json.dumps(obj, ensure_ascii=False,
    separators=(",", ":"))` writes (tested), six times faster."""
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


class ServiceState(NamedTuple):
    """What a release remembers of each service for the next build (its state file)."""

    digest: str  # of the document's content (all but last_modified)
    modified: str  # its last_modified
    key: str = ""  # what the document was made from: the record's inputs and the code
    offset: int = 0  # where its bytes lie in hsds/services.json
    length: int = 0


def services(ctx: BuildContext) -> list[dict[str, Any]]:
    """The HSDS documents of the release, built once per context and shared by the writers.

    Each document is serialised once, here: its bytes make services.json and its digest
    decides last_modified and the changelog. A service whose inputs and the code that shapes
    it are those of the previous release (`document_key`) is not built again: its bytes are
    read from that release's services.json and its document parsed from them.

    A service's last_modified is the time of the release in which its published content
    (nested organization, locations, phones, schedules, certification status included) last
    changed: an unchanged service keeps the previous release's value; a new, changed or
    returning (reinstated) one takes this release's time. So `modified_after=<a release's
    created_at>` answers exactly what changed after that release."""
    cached = getattr(ctx, "_hsds_services", None)
    if cached is not None:
        return cached
    taxes = taxonomies(ctx.reference)
    terms = term_index(taxes)
    county_names = snapshot_county_names(ctx.reference)
    now = timestamp(ctx.created_at)
    before = previous_state(ctx)
    version = document_version(ctx)
    previous_bytes = _previous_services_bytes(ctx, before)
    docs: list[dict[str, Any]] = []
    bodies: list[bytes] = []
    state: dict[str, ServiceState] = {}
    offset = 1  # after "["
    for r in ctx.records:
        sid = r["id"]
        key = document_key(version, ctx.digests.get(sid))
        prev = before.get(sid)
        if key and prev is not None and prev.key == key and previous_bytes is not None:
            body = previous_bytes[prev.offset : prev.offset + prev.length]
            doc = orjson.loads(body)
            digest, modified = prev.digest, prev.modified
        else:
            doc = service_document(r, terms, county_names)
            doc.pop("last_modified", None)
            content = dump_json(doc)
            digest = content_digest(content)
            same = prev is not None and prev.digest == digest and prev.modified
            modified = prev.modified if same else now
            doc["last_modified"] = modified  # the last member, in the dict and in the bytes
            body = content[:-1] + b',"last_modified":' + dump_json(modified) + b"}"
        docs.append(doc)
        bodies.append(body)
        state[sid] = ServiceState(digest, modified, key, offset, len(body))
        offset += len(body) + 1  # and its "," or "]"
    ctx._hsds_taxonomies = taxes
    ctx._hsds_bytes, ctx._hsds_state = bodies, state
    ctx._hsds_services = docs
    return docs


def content_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


SHAPING_CODE = ("hsds.py", "writers.py")  # the modules that shape a service document


def document_version(ctx: BuildContext) -> str:
    """What every document of this build is made with besides its own record: the code that
    shapes it, the field catalogue and the reference data (taxonomies, county names)."""
    h = hashlib.sha256()
    here = Path(__file__).parent
    for name in SHAPING_CODE:
        h.update((here / name).read_bytes())
    h.update(Path(fields_module.__file__).read_bytes())
    catalogue = [(f.key, f.hsds, f.widget, f.csv) for f in fields_module.FIELDS]
    h.update(repr(catalogue).encode("utf-8"))
    h.update(json.dumps(ctx.reference, sort_keys=True, default=str).encode("utf-8"))
    return h.hexdigest()


def document_key(version: str, digest: str | None) -> str:
    if not digest:
        return ""  # no digest (a preview, a test's context): the document is built
    return hashlib.sha256(f"{version}:{digest}".encode()).hexdigest()[:32]


def _previous_services_bytes(ctx: BuildContext, before: dict[str, ServiceState]) -> bytes | None:
    """The previous release's services.json, when some of its documents can be reused."""
    if ctx.previous_dir is None or not ctx.digests or not any(s.key for s in before.values()):
        return None
    try:
        return (ctx.previous_dir / "hsds" / "services.json").read_bytes()
    except OSError:
        return None


def write_service_state(ctx: BuildContext) -> None:
    """Each service's state for the next build (private: not in the manifest, never served)."""
    lines = "".join("\t".join([sid, *map(str, st)]) + "\n" for sid, st in ctx._hsds_state.items())
    ctx.path(SERVICE_STATE).write_text(lines, encoding="utf-8")


def previous_state(ctx: BuildContext) -> dict[str, ServiceState]:
    """The previous release's services by id; read once. From its state file, or (a release
    written before state files) from its services.json, with nothing to reuse."""
    cached = getattr(ctx, "_previous_state", None)
    if cached is not None:
        return cached
    state: dict[str, ServiceState] = {}
    if ctx.previous_dir is not None:
        try:
            text = (ctx.previous_dir / SERVICE_STATE).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = None
        parsed = parse_service_state(text) if text is not None else None
        if parsed is not None:
            state = parsed
        else:
            for sid, doc in (previous_docs(ctx) or {}).items():
                modified = doc.pop("last_modified", "")
                state[sid] = ServiceState(content_digest(dump_json(doc)), modified)
    ctx._previous_state = state
    return state


def parse_service_state(text: str) -> dict[str, ServiceState] | None:
    """A state file's services by id, or None when it is not one this code can trust (then
    the build falls back to the previous services.json and reuses nothing).

    A line of three fields (id, digest, last_modified: an older layout) keeps its dates and
    changelog but offers no bytes to reuse."""
    state: dict[str, ServiceState] = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) == 6 and fields[4].isdigit() and fields[5].isdigit():
            sid, digest, modified, key, offset, length = fields
            state[sid] = ServiceState(digest, modified, key, int(offset), int(length))
        elif len(fields) == 3:
            sid, digest, modified = fields
            state[sid] = ServiceState(digest, modified)
        else:
            return None
    return state


def write_hsds_json(ctx: BuildContext) -> None:
    services(ctx)
    with ctx.path("hsds/services.json").open("wb") as fh:
        fh.write(b"[")
        fh.write(b",".join(ctx._hsds_bytes))
        fh.write(b"]")
    taxes = [{k: v for k, v in t.items() if k != "key"} for t in ctx._hsds_taxonomies]
    ctx.path("hsds/taxonomies.json").write_bytes(dump_json(taxes))
    write_service_state(ctx)


def write_hsds_tabular(ctx: BuildContext) -> None:
    write_tabular(ctx, services(ctx), ctx._hsds_taxonomies, extension_csv_types())


def write_geojson(ctx: BuildContext) -> None:
    features = []
    for doc, r in zip(services(ctx), ctx.records, strict=True):
        if r.get("latitude") is None or r.get("longitude") is None:
            continue
        sal = next(
            (
                s
                for s in doc.get("service_at_locations", [])
                if s["location"]["location_type"] == "physical"
            ),
            None,
        )
        addr = r.get("address") or {}
        features.append(
            {
                "type": "Feature",
                "id": sal["id"] if sal else r["id"],
                "geometry": {
                    "type": "Point",
                    "coordinates": [float(r["longitude"]), float(r["latitude"])],
                },
                "properties": {
                    "service_id": r["id"],
                    "service_name": r["name"],
                    "service_type": r["service_type"],
                    "service_type_name": r["service_type_name"],
                    "organization_id": r["organization"]["id"],
                    "organization_name": r["organization"]["name"],
                    "address_1": addr.get("address_1", ""),
                    "city": addr.get("city", ""),
                    "postal_code": addr.get("postal_code", ""),
                    "county_fips": addr.get("county_fips", ""),
                    "phone": (r.get("phones") or [{}])[0].get("number", ""),
                    "open_24_7": r["is_24_7"],
                    "walk_in": r["walk_in"],
                    "hours": r.get("hours_text") or [],
                    "assured_date": (r.get("verified_at") or "")[:10],
                    "last_modified": doc.get("last_modified", ""),
                    "url": f"{ctx.base_url}/api/hsds/services/{r['id']}",
                },
            }
        )
    ctx.path("listings.geojson").write_bytes(
        dump_json({"type": "FeatureCollection", "features": features})
    )


LISTING_COLUMNS = [
    "id",
    "name",
    "service_type",
    "service_type_name",
    "organization_id",
    "organization_name",
    "description",
    "phone",
    "other_phones",
    "chat_url",
    "website",
    "email",
    "address_1",
    "address_2",
    "city",
    "state",
    "postal_code",
    "county_fips",
    "latitude",
    "longitude",
    "counties_served",
    "open_24_7",
    "hours",
    "walk_in",
    "law_enforcement_dropoff",
    "no_one_turned_away",
    "nonviolent_only",
    "populations",
    "minimum_age",
    "maximum_age",
    "languages",
    "cost",
    "capacity",
    "capacity_unit",
    "max_stay_hours",
    "accessibility",
    "certification_status",
    "certification_expires",
    "assured_date",
    "last_modified",
]


def write_listings_csv(ctx: BuildContext) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    columns = LISTING_COLUMNS + [spec.csv for spec in simple_fields() if spec.csv]
    w.writerow(columns)
    for doc, r in zip(services(ctx), ctx.records, strict=True):
        addr = r.get("address") or {}
        phones = r.get("phones") or []
        row = {
            "id": r["id"],
            "name": r["name"],
            "service_type": r["service_type"],
            "service_type_name": r["service_type_name"],
            "organization_id": r["organization"]["id"],
            "organization_name": r["organization"]["name"],
            "description": r.get("description"),
            "phone": format_phone(phones[0]["number"]) if phones else "",
            "other_phones": "; ".join(
                f"{p.get('kind', 'voice')} {format_phone(p['number'])}" for p in phones[1:]
            ),
            "chat_url": r.get("chat_url"),
            "website": r.get("website"),
            "email": r.get("email"),
            "address_1": addr.get("address_1"),
            "address_2": addr.get("address_2"),
            "city": addr.get("city"),
            "state": addr.get("state"),
            "postal_code": addr.get("postal_code"),
            "county_fips": addr.get("county_fips"),
            "latitude": r.get("latitude"),
            "longitude": r.get("longitude"),
            "counties_served": "; ".join(c["fips"] for c in r.get("counties") or []),
            "open_24_7": r["is_24_7"],
            "hours": "; ".join(r.get("hours_text") or []),
            "walk_in": r["walk_in"],
            "law_enforcement_dropoff": r["le_dropoff"],
            "no_one_turned_away": r["no_one_turned_away"],
            "nonviolent_only": r["nonviolent_only"],
            "populations": "; ".join(POPULATIONS.get(p, p) for p in r.get("populations") or []),
            "minimum_age": r.get("min_age"),
            "maximum_age": r.get("max_age"),
            "languages": "; ".join(LANGUAGES.get(code, code) for code in r.get("languages") or []),
            "cost": COST_MODELS.get(r.get("cost") or "", r.get("cost")),
            "capacity": r.get("capacity"),
            "capacity_unit": r.get("capacity_unit") if r.get("capacity") else "",
            "max_stay_hours": r.get("max_stay_hours"),
            "accessibility": r.get("accessibility"),
            "certification_status": doc.get("mo_dmh_certification_status"),
            "certification_expires": doc.get("mo_dmh_certification_expires"),
            "assured_date": doc.get("assured_date"),
            "last_modified": doc.get("last_modified"),
        }
        row.update(csv_values(r))  # the field catalogue's own columns
        w.writerow([safe_cell(row[c]) for c in columns])
    ctx.path("listings.csv").write_bytes(("\ufeff" + buf.getvalue()).encode("utf-8"))


def previous_docs(ctx: BuildContext) -> dict[str, dict[str, Any]] | None:
    """Each service of the previous release, by id (None: no previous release); read once."""
    if ctx.previous_dir is None:
        return None
    cached = getattr(ctx, "_previous_docs", False)
    if cached is False:
        path = ctx.previous_dir / "hsds" / "services.json"
        cached = {d["id"]: d for d in orjson.loads(path.read_bytes())} if path.exists() else None
        ctx._previous_docs = cached
    return cached


def previous_number(ctx: BuildContext) -> int | None:
    if ctx.previous_dir is None:
        return None
    try:
        return int(json.loads((ctx.previous_dir / "manifest.json").read_bytes())["release"])
    except (OSError, ValueError, KeyError):
        return None


def compute_changes(ctx: BuildContext) -> dict[str, Any]:
    services(ctx)
    current = ctx._hsds_state
    before = previous_state(ctx)
    return {
        "release": ctx.number,
        "previous_release": previous_number(ctx),
        "created_at": timestamp(ctx.created_at),
        "added": sorted(set(current) - set(before)),
        "changed": sorted(i for i in set(current) & set(before) if current[i][:2] != before[i][:2]),
        "removed": sorted(set(before) - set(current)),
    }


ATOM = "{http://www.w3.org/2005/Atom}"
ATOM_KEEP_DAYS = 30  # an Atom reader polling less often than every release loses nothing
ATOM_KEEP_AT_LEAST = 50
ATOM_ENTRY_NAMESPACE = uuid.UUID("0b7e0f3c-52a4-5d43-9b0e-4f1d7a2c6e90")


def atom_entry_id(service_id: str, release: int, kind: str) -> str:
    """A valid, stable `urn:uuid:` for "service X was <kind> in release N"."""
    return f"urn:uuid:{uuid.uuid5(ATOM_ENTRY_NAMESPACE, f'{service_id}:{release}:{kind}')}"


def previous_atom_entries(ctx: BuildContext) -> list[dict[str, str]]:
    """The entries of the previous release's feed (our own file), to carry forward."""
    if not ctx.previous_dir:
        return []
    path = Path(ctx.previous_dir) / "changes.atom"
    try:
        root = ET.fromstring(path.read_bytes())  # noqa: S314 - a file this writer made
    except (OSError, ET.ParseError):
        return []
    out = []
    for e in root.findall(f"{ATOM}entry"):
        entry_id = e.findtext(f"{ATOM}id") or ""
        if not re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", entry_id):  # older feeds' ids
            entry_id = f"urn:uuid:{uuid.uuid5(ATOM_ENTRY_NAMESPACE, entry_id)}"
        link = e.find(f"{ATOM}link")
        out.append(
            {
                "id": entry_id,
                "title": e.findtext(f"{ATOM}title") or "",
                "updated": e.findtext(f"{ATOM}updated") or "",
                "link": link.get("href", "") if link is not None else "",
                "summary": e.findtext(f"{ATOM}summary") or "",
            }
        )
    return out


def write_changes(ctx: BuildContext) -> None:
    changes = compute_changes(ctx)
    ctx.changes = changes
    ctx.path("changes.json").write_bytes(dump_json(changes))
    names = {d["id"]: d["name"] for d in services(ctx)}
    updated = changes["created_at"]
    base = ctx.base_url
    entries = []
    for kind in ("added", "changed", "removed"):
        for sid in changes[kind]:
            entries.append(
                {
                    "id": atom_entry_id(sid, ctx.number, kind),
                    "title": publishable(f"{kind.capitalize()}: {names.get(sid, sid)}"),
                    "updated": updated,
                    "link": (
                        f"{base}/api/hsds/services/{sid}"
                        if kind != "removed"
                        else f"{base}/feeds/releases/{ctx.number}/changes.json"
                    ),
                    "summary": f"Release {ctx.number}: service {sid} {kind}.",
                }
            )
    # the last 30 days of changes, and never fewer than the newest 50 entries
    cutoff = (ctx.created_at - timedelta(days=ATOM_KEEP_DAYS)).astimezone(UTC)
    seen = {e["id"] for e in entries}
    for old in previous_atom_entries(ctx):
        if old["id"] in seen:
            continue
        seen.add(old["id"])
        try:
            recent = datetime.fromisoformat(old["updated"].replace("Z", "+00:00")) >= cutoff
        except ValueError:
            recent = False
        if recent or len(entries) < ATOM_KEEP_AT_LEAST:
            entries.append(old)
    body = "".join(
        "<entry>"
        f"<id>{escape(e['id'])}</id>"
        f"<title>{escape(publishable(e['title']))}</title>"
        f"<updated>{escape(e['updated'])}</updated>"
        f'<link href="{escape(e["link"])}"/>'
        f"<summary>{escape(publishable(e['summary']))}</summary>"
        "</entry>"
        for e in entries
    )
    feed = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>{escape(base)}/feeds/current/changes.atom</id>"
        "<title>Missouri Crisis Services Registry: changes</title>"
        f"<updated>{updated}</updated>"
        "<author><name>Missouri Department of Mental Health</name></author>"
        f'<link rel="self" href="{escape(base)}/feeds/current/changes.atom"/>'
        f'<link rel="alternate" href="{escape(base)}/feeds/releases/{ctx.number}/changes.json"/>'
        + body
        + "</feed>\n"
    )
    ctx.path("changes.atom").write_text(feed, encoding="utf-8")


WRITERS: list[Writer] = [
    write_hsds_json,
    write_hsds_tabular,
    write_geojson,
    write_listings_csv,
    write_changes,
    write_history,
    write_coverage,
    write_counties,
]
