"""The writers of a release. Each is `writer(ctx) -> None` and writes its files under
`ctx.out_dir`; the builder runs them in the order of WRITERS, then gzips every file and writes
the manifest. Other areas append their writer here with one import line. The printed
directories are not among them: they follow the feeds (printing.py)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import sys
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from xml.sax.saxutils import escape

import orjson
from flask import current_app, has_app_context

from models.listings import fields as fields_module
from models.listings import format_phone, record_json
from models.publishing import safe_cell
from models.reference import snapshot_county_names
from models.text import publishable

from .context import BuildContext, timestamp
from .counties import write_counties
from .coverage import write_coverage
from .history import write_history
from .hsds import service_document, taxonomies, term_index
from .layout import ATOM_STATE, SERVICE_STATE
from .outputs import Maker, Outputs, listing_columns, previous_outputs, write_outputs_state
from .processes import available_cpus, fork_map
from .profile import extension_csv_types
from .tabular import Tables

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


def serialise(ctx: BuildContext) -> None:
    """Serialise the release's HSDS documents and make their other outputs, once per
    context, for every writer.

    Each document is serialised once, here: its bytes make services.json and its digest
    decides last_modified and the changelog; its rows of the other formats are made from it
    at once (`make_service`). A service whose inputs and the code that shapes it are those
    of the previous release (`document_key`) is not built again: its bytes are copied from
    that release's services.json (and its other outputs from the release's kept outputs,
    `outputs`), without parsing. The services to build (all of them in a first build) are
    made by this process and forked ones, one per further CPU (`FEED_WORKERS`).

    A service's last_modified is the time of the release in which its published content
    (nested organization, locations, phones, schedules, certification status included) last
    changed: an unchanged service keeps the previous release's value; a new, changed or
    returning (reinstated) one takes this release's time. So `modified_after=<a release's
    created_at>` answers exactly what changed after that release."""
    if getattr(ctx, "_hsds_state", None) is not None:
        return
    taxes = taxonomies(ctx.reference)
    terms = term_index(taxes)
    county_names = snapshot_county_names(ctx.reference)
    now = timestamp(ctx.created_at)
    before = previous_state(ctx)
    version = document_version(ctx)
    previous_bytes = _previous_services_bytes(ctx, before)
    ctx._tables = Tables(extension_csv_types())
    ctx._maker = maker = Maker(ctx, ctx._tables)
    keys: list[str] = []
    wanted: list[tuple[dict[str, Any], ServiceState | None]] = []
    for r in ctx.records:
        key = document_key(version, ctx.digests.get(r["id"]))
        prev = before.get(r["id"])
        keys.append(key)
        if not (key and prev is not None and prev.key == key and previous_bytes is not None):
            wanted.append((r, prev))

    sources = ctx.record_sources

    def make(job: tuple[dict[str, Any], ServiceState | None]) -> Made:
        r = job[0]
        made = make_service(r, job[1], now, terms, county_names, maker)
        if sources is not None and r["id"] not in sources:  # its record's JSON, made here too
            made = made._replace(source=record_json(r))
        return made

    made = dict(
        zip(
            (r["id"] for r, _ in wanted),
            fork_map(
                make, wanted, workers=feed_workers(), min_each=FAN_OUT_MIN, chunk=FAN_OUT_CHUNK
            ),
            strict=True,
        )
    )
    reused: set[str] = set()
    bodies: list[bytes | memoryview] = []
    state: dict[str, ServiceState] = {}
    offset = 1  # after "["
    for r, key in zip(ctx.records, keys, strict=True):
        sid = r["id"]
        m = made.get(sid)
        if m is None:
            prev = before[sid]
            body = previous_bytes[prev.offset : prev.offset + prev.length]
            digest, modified = prev.digest, prev.modified
            reused.add(sid)
        else:
            body, digest, modified = m.body, m.digest, m.modified
        bodies.append(body)
        state[sid] = ServiceState(digest, modified, key, offset, len(body))
        offset += len(body) + 1  # and its "," or "]"
    ctx._hsds_taxonomies = taxes
    ctx._hsds_bytes, ctx._hsds_state = bodies, state
    ctx._made_outputs = {sid: m.outputs for sid, m in made.items()}
    if sources is not None:
        sources.update((sid, m.source) for sid, m in made.items() if m.source is not None)
    ctx._hsds_reused = reused


class Made(NamedTuple):
    """A service built in this release: its document's bytes (services.json), the digest
    of its content, its last_modified, its outputs in every other format, and its record's
    JSON for the next build when the build has none (made beside it, so a first build's
    records are serialised side by side too). Made in a forked process, its bytes are
    memoryviews of what that process sent."""

    body: bytes | memoryview
    digest: str
    modified: str
    outputs: Outputs
    source: bytes | memoryview | None = None  # its record's JSON, when the build has none


# fewer services to build than this per process are built in this process alone (forking
# a build of several hundred megabytes costs more than it saves)
FAN_OUT_MIN = 250
FAN_OUT_CHUNK = 32  # services a process takes at a time


def feed_workers() -> int:
    """Processes that build services at once (FEED_WORKERS; 0 means one per CPU)."""
    configured = int(current_app.config.get("FEED_WORKERS") or 0) if has_app_context() else 0
    return configured if configured > 0 else available_cpus()


def make_service(
    r: dict[str, Any],
    prev: ServiceState | None,
    now: str,
    terms: dict,
    county_names: dict[str, str],
    maker: Maker,
) -> Made:
    """Build one service: its HSDS document, serialised once, and its other outputs."""
    doc = service_document(r, terms, county_names)
    doc.pop("last_modified", None)
    content = dump_json(doc)
    digest = content_digest(content)
    same = prev is not None and prev.digest == digest and prev.modified
    modified = prev.modified if same else now
    doc["last_modified"] = modified  # the last member, in the dict and in the bytes
    body = content[:-1] + b',"last_modified":' + dump_json(modified) + b"}"
    return Made(body, digest, modified, maker(doc, r))


def services(ctx: BuildContext) -> list[dict[str, Any]]:
    """The HSDS documents of the release, in order (parsed from their bytes)."""
    serialise(ctx)
    return [orjson.loads(body) for body in ctx._hsds_bytes]


def content_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


# the modules that shape a service's document and its other outputs
SHAPING_CODE = ("hsds.py", "writers.py", "outputs.py", "tabular.py", "profile.py")


def document_version(ctx: BuildContext) -> str:
    """What every document of this build is made with besides its own record: the code that
    shapes it and its other outputs, the field catalogue, the reference data (taxonomies,
    county names) and the public address that links name."""
    h = hashlib.sha256()
    here = Path(__file__).parent
    for name in SHAPING_CODE:
        h.update((here / name).read_bytes())
    helpers = {sys.modules[f.__module__].__file__ for f in (safe_cell, format_phone, publishable)}
    for module in [fields_module.__file__, *sorted(helpers)]:
        h.update(Path(module).read_bytes())
    h.update(ctx.base_url.encode("utf-8"))
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
        return memoryview((ctx.previous_dir / "hsds" / "services.json").read_bytes())
    except OSError:
        return None


def write_service_state(ctx: BuildContext) -> None:
    """Each service's state for the next build (private: not in the manifest, never served)."""
    lines = "".join("\t".join([sid, *map(str, st)]) + "\n" for sid, st in ctx._hsds_state.items())
    ctx.keep(SERVICE_STATE, lines.encode("utf-8"))


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
    serialise(ctx)
    ctx.write("hsds/services.json", b"[" + b",".join(ctx._hsds_bytes) + b"]")
    taxes = [{k: v for k, v in t.items() if k != "key"} for t in ctx._hsds_taxonomies]
    ctx.write("hsds/taxonomies.json", dump_json(taxes))
    write_service_state(ctx)


def write_hsds_tabular(ctx: BuildContext) -> None:
    made = outputs(ctx)
    groups = (out.groups() for out in made)
    ctx._tables.write(ctx, ctx._hsds_taxonomies, groups, same=unchanged_tables(ctx))


def unchanged_tables(ctx: BuildContext) -> set[int]:
    """The tables (indexes in the package) whose file is the previous release's, known
    without making it: the release has the previous one's services in the same order, made
    by the same code (some document was reused: the same version, so the same columns), and
    each service built again wrote the same rows of that table as in the previous release."""
    before = ctx._previous_made
    if not ctx._hsds_reused or before is None:
        return set()
    changed: set[int] = set()
    for sid, out in ctx._made_outputs.items():
        new = {g[0]: (g[1], g[2]) for g in out.groups()}
        old = {g[0]: (g[1], g[2]) for g in before[sid].groups()}
        changed.update(i for i in new.keys() | old.keys() if new.get(i) != old.get(i))
    return set(range(len(ctx._tables.resources))) - changed


def outputs(ctx: BuildContext) -> list[Outputs]:
    """Each service's outputs in every other format (tabular rows, listings.csv line, GeoJSON
    feature), in release order: made with its document (`serialise`), or kept from the
    previous release for a service whose document was reused (made from its bytes when that
    release kept none). Gathered once per context; kept for the next build."""
    cached = getattr(ctx, "_outputs", None)
    if cached is not None:
        return cached
    serialise(ctx)
    fresh = ctx._made_outputs
    ids = [r["id"] for r in ctx.records]
    # those built again too, to tell which files stay the previous release's: only when that
    # release had the same services in the same order and some were reused (the same code)
    same_services = bool(ctx._hsds_reused) and list(previous_state(ctx)) == ids
    kept = previous_outputs(ctx, [*ctx._hsds_reused, *fresh] if same_services else ctx._hsds_reused)
    ctx._previous_made = (
        {sid: kept[sid] for sid in fresh}
        if same_services and all(sid in kept for sid in fresh)
        else None
    )
    made = []
    for r, body in zip(ctx.records, ctx._hsds_bytes, strict=True):
        out = fresh.get(r["id"]) or kept.get(r["id"])
        if out is None:
            out = ctx._maker(orjson.loads(body), r)
        made.append(out)
    if ctx.digests:  # a release (not a preview): keep them for the next build
        write_outputs_state(ctx, ids, made)
    ctx._outputs = made
    return made


def write_geojson(ctx: BuildContext) -> None:
    features = [f for f in (out.feature() for out in outputs(ctx)) if f is not None]
    body = b",".join(features)
    ctx.write("listings.geojson", b'{"type":"FeatureCollection","features":[' + body + b"]}")


def write_listings_csv(ctx: BuildContext) -> None:
    header = Maker(ctx, Tables({})).csv_line([safe_cell(c) for c in listing_columns()])
    lines = [out.listing() for out in outputs(ctx)]
    ctx.write("listings.csv", b"".join(["\ufeff".encode(), header, *lines]))


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
    serialise(ctx)
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
ATOM_FIELDS = {"id", "title", "updated", "link", "summary"}
ATOM_ENTRY_NAMESPACE = uuid.UUID("0b7e0f3c-52a4-5d43-9b0e-4f1d7a2c6e90")


def atom_entry_id(service_id: str, release: int, kind: str) -> str:
    """A valid, stable `urn:uuid:` for "service X was <kind> in release N"."""
    return f"urn:uuid:{uuid.uuid5(ATOM_ENTRY_NAMESPACE, f'{service_id}:{release}:{kind}')}"


def previous_atom_entries(ctx: BuildContext) -> list[dict[str, str]]:
    """The entries of the previous release's feed (our own file), to carry forward: as it
    kept them (its private state), or parsed from its changes.atom."""
    if not ctx.previous_dir:
        return []
    with contextlib.suppress(OSError, orjson.JSONDecodeError):
        kept = orjson.loads((Path(ctx.previous_dir) / ATOM_STATE).read_bytes())
        if isinstance(kept, list) and all(
            isinstance(e, dict)
            and set(e) == ATOM_FIELDS
            and all(map(isinstance, e.values(), [str] * 5))
            for e in kept
        ):
            return kept
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
    ctx.write("changes.json", dump_json(changes))
    names = {r["id"]: r["name"] for r in ctx.records}
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
    ctx.write("changes.atom", feed.encode("utf-8"))
    if ctx.digests:  # a release (not a preview): its entries, for the next build
        ctx.keep(ATOM_STATE, dump_json(entries))


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
