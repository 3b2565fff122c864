"""The current release, parsed once per process and kept by release number.

The read side never touches live tables: everything it answers comes from the release files
in the release storage (tasks/publishing/storage.py): on disk (`current` -> releases/<n>/) or
in a bucket (current.json names n). Switching `current` changes the number, so the next
request parses the new release; old ones fall out of the small cache."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app

from tasks.publishing.layout import (
    CURRENT,
    MANIFEST,
    is_complete,
    release_dir,
    releases_root,
)
from tasks.publishing.printing import print_files
from tasks.publishing.storage import LocalStorage, S3Storage, release_storage

LIST_SCALARS = (
    "id",
    "organization_id",
    "name",
    "alternate_name",
    "description",
    "url",
    "email",
    "status",
    "interpretation_services",
    "application_process",
    "fees_description",
    "accreditations",
    "eligibility_description",
    "minimum_age",
    "maximum_age",
    "assured_date",
    "assurer_email",
    "alert",
    "last_modified",
)
ORG_SCALARS = ("id", "name", "alternate_name", "description", "email", "website", "uri")


def parse_time(value: str) -> datetime:
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def list_item(doc: dict[str, Any], org: dict[str, Any]) -> dict[str, Any]:
    """A service as the list answers show it: its scalars and its organization's."""
    item = {k: doc[k] for k in LIST_SCALARS if k in doc}
    if org:
        item["organization"] = {k: org[k] for k in ORG_SCALARS if k in org}
    return item


def _locations(
    doc: dict[str, Any], counties: set[str], sals: dict[str, dict[str, Any]]
) -> list[tuple[str, float, float]]:
    """(service_at_location id, latitude, longitude) of the service's mapped sites; the
    counties of its sites join `counties`, its service_at_locations `sals`."""
    points = []
    for s in doc.get("service_at_locations", []):
        loc = s.get("location") or {}
        if loc.get("latitude") is not None and loc.get("longitude") is not None:
            points.append((s["id"], float(loc["latitude"]), float(loc["longitude"])))
        if loc.get("external_identifier_type") == "US county FIPS":
            counties.add(loc["external_identifier"])
        sals[s["id"]] = {"sal": s, "service_id": doc["id"]}
    return points


def service_facets(
    doc: dict[str, Any], org: dict[str, Any], sals: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """What the list filters ask of one service; its service_at_locations go into `sals`."""
    terms = [a["taxonomy_term"] for a in doc.get("attributes", []) if a.get("taxonomy_term")]
    counties = {
        a["uri"].rsplit(":", 1)[-1]
        for a in doc.get("service_areas", [])
        if a.get("uri", "").startswith("urn:us-fips:")
    }
    points = _locations(doc, counties, sals)
    schedules = doc.get("schedules", [])
    return {
        "organization_id": org.get("id") or doc.get("organization_id"),
        "terms": {t["id"] for t in terms},
        "taxonomies": {t.get("taxonomy_id") for t in terms},
        "counties": counties,
        "service_type": doc.get("mo_dmh_service_type", ""),
        "points": points,
        "hours": [
            (set((h.get("byday") or "").split(",")), h["opens_at"], h["closes_at"])
            for h in schedules
            if h.get("opens_at") and h.get("closes_at")
        ],
        "closed_on": {  # holiday closures: valid for one date, no opening time
            h["valid_from"]
            for h in schedules
            if not h.get("opens_at") and h.get("valid_from") == h.get("valid_to")
        },
        "min_age": doc.get("minimum_age"),
        "max_age": doc.get("maximum_age"),
        "modified": parse_time(doc["last_modified"]) if doc.get("last_modified") else None,
        "text": " ".join(
            [
                doc.get("name", ""),
                doc.get("description", ""),
                org.get("name", ""),
                *(a.get("name", "") for a in doc.get("service_areas", [])),
                *(t.get("name", "") for t in terms),
            ]
        ).lower(),
    }


def index_taxonomies(
    taxes: list[dict[str, Any]], types: set[str]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Taxonomies and terms by id; the service-type codes of the DMH taxonomy join `types`."""
    taxonomies, terms = {}, {}
    for t in taxes:
        taxonomies[t["id"]] = {
            k: t[k] for k in ("id", "name", "description", "uri", "version") if k in t
        }
        is_service_type = t.get("name") == "MO DMH Crisis Service Type"
        for term in t.get("terms", []):
            terms[term["id"]] = term
            if is_service_type and term.get("taxonomy_id") == t["id"]:
                types.add(term["code"])
    return taxonomies, terms


@dataclass
class ParsedRelease:
    number: int
    path: Path
    manifest: dict[str, Any]
    created_at: datetime
    services: list[dict[str, Any]]
    by_id: dict[str, dict[str, Any]]
    list_items: dict[str, dict[str, Any]]
    facets: dict[
        str, dict[str, Any]
    ]  # per service id: org, terms, taxonomies, counties, type, modified, text
    organizations: dict[str, dict[str, Any]]
    org_services: dict[str, list[str]]
    sals: dict[str, dict[str, Any]]  # sal id -> {"sal":..., "service_id":...}
    taxonomies: dict[str, dict[str, Any]]
    terms: dict[str, dict[str, Any]]
    service_types: set[str]
    manifest_sha256: str
    remote: S3Storage | None = None  # the bucket it is read from; None: the folder at `path`
    responses: OrderedDict = field(default_factory=OrderedDict)  # serialized API answers (LRU)
    # whole answers (body and headers) by (path, raw query string, gzip?): a repeated request
    # is answered from here before any other per-request work (views.answer_from_cache)
    answers: OrderedDict = field(default_factory=OrderedDict)
    # bytes of release files served from this process's memory (release files never change)
    files: dict[str, bytes] = field(default_factory=dict)
    files_size: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _history: Any = False  # not read yet
    _counties: dict[str, Any] | None = None

    # ---------------------------------------------------------- loading

    @classmethod
    def load(cls, number: int, path: Path, remote: S3Storage | None = None) -> ParsedRelease:
        """Raises FileNotFoundError when the release has no manifest (not complete)."""

        def read(name: str) -> bytes:
            return remote.read(number, name) if remote else (path / name).read_bytes()

        raw_manifest = read(MANIFEST)
        manifest = json.loads(raw_manifest)
        services = json.loads(read("hsds/services.json"))
        try:
            taxes = json.loads(read("hsds/taxonomies.json"))
        except FileNotFoundError:
            taxes = []
        by_id, items, facets, orgs, org_services, sals = {}, {}, {}, {}, {}, {}
        types = set()
        for doc in services:
            sid = doc["id"]
            by_id[sid] = doc
            org = doc.get("organization") or {}
            items[sid] = list_item(doc, org)
            facets[sid] = service_facets(doc, org, sals)
            types.add(facets[sid]["service_type"])
            if org:
                orgs.setdefault(org["id"], org)
                org_services.setdefault(org["id"], []).append(sid)
        taxonomies, terms = index_taxonomies(taxes, types)
        types.discard("")
        return cls(
            number=number,
            path=path,
            manifest=manifest,
            created_at=parse_time(manifest["created_at"]),
            services=services,
            by_id=by_id,
            list_items=items,
            facets=facets,
            organizations=orgs,
            org_services=org_services,
            sals=sals,
            taxonomies=taxonomies,
            terms=terms,
            service_types=types,
            manifest_sha256=hashlib.sha256(raw_manifest).hexdigest(),
            remote=remote,
        )

    def read(self, name: str) -> bytes:
        """A file of this release; FileNotFoundError when it has none."""
        if self.remote is not None:
            return self.remote.read(self.number, name)
        return (self.path / name).read_bytes()

    def printed(self) -> dict[str, dict[str, Any]] | None:
        """Its printed files once their print.json exists (printing.py); None before."""
        if self.remote is not None:
            return self.remote.print_files(self.number)
        return print_files(self.path)

    def counties(self) -> dict[str, Any]:
        """counties.json (tasks/publishing/counties.py) read on first use, indexed:
        {"list": [...], "by_fips": {fips: area}, "by_zip": {zip: (fips, lat, lon)}}."""
        with self.lock:
            if self._counties is None:
                try:
                    areas = json.loads(self.read("counties.json"))
                except (OSError, ValueError):
                    areas = []
                self._counties = {
                    "list": areas,
                    "by_fips": {a["fips"]: a for a in areas},
                    "by_zip": {
                        z["zip_code"]: (a["fips"], z["latitude"], z["longitude"])
                        for a in areas
                        for z in a["zip_codes"]
                    },
                }
            return self._counties

    def history(self) -> dict[str, Any] | None:
        """The release history (tasks/publishing/history.py), read on first use."""
        with self.lock:
            if self._history is False:
                try:
                    self._history = json.loads(self.read("history.json"))
                except (OSError, ValueError):
                    self._history = None
            return self._history

    # ---------------------------------------------------------- serialized answers

    def cached(self, key: str, build) -> tuple[bytes, bytes | None, str]:
        with self.lock:
            hit = self.responses.get(key)
            if hit is not None:
                self.responses.move_to_end(key)
                return hit
        value = build()
        with self.lock:
            self.responses[key] = value
            while len(self.responses) > 512:
                self.responses.popitem(last=False)
        return value

    def answer(self, key: tuple) -> tuple | None:
        return self.answers.get(key)  # a dict read is atomic; no LRU bookkeeping on a hit

    def file_bytes(self, path: str) -> bytes | None:
        """The bytes of one of this release's files, read once and kept (up to FILE_KEPT_MAX
        each and FILES_KEPT_MAX in all); None for a file to stream. FileNotFoundError if absent."""
        data = self.files.get(path)
        if data is not None:
            return data
        size = os.path.getsize(path)
        if size > FILE_KEPT_MAX or self.files_size + size > FILES_KEPT_MAX:
            return None
        with open(path, "rb") as fh:
            data = fh.read()
        with self.lock:
            if path not in self.files:
                self.files[path] = data
                self.files_size += len(data)
        return data

    def keep_answer(self, key: tuple, value: tuple) -> None:
        with self.lock:
            self.answers[key] = value
            while len(self.answers) > 512:
                self.answers.popitem(last=False)


FILE_KEPT_MAX = 16 * 1024 * 1024  # larger files are streamed from disk
FILES_KEPT_MAX = 32 * 1024 * 1024  # per release and process (three releases are kept parsed)

_cache: OrderedDict[tuple[str, int], ParsedRelease] = OrderedDict()
_cache_lock = threading.Lock()


def get_release(number: int, store: LocalStorage | S3Storage | None = None) -> ParsedRelease | None:
    store = store or release_storage()
    remote = store if store.is_remote else None
    root = releases_root(create=False)
    key = (remote.location if remote else str(root), number)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            return hit
    path = release_dir(number, root)
    if remote is None and not is_complete(path):
        return None
    try:
        parsed = ParsedRelease.load(number, path, remote)
    except FileNotFoundError:
        if remote is None:
            raise
        return None  # the bucket holds no complete release of that number
    with _cache_lock:
        _cache[key] = parsed
        while len(_cache) > 3:
            _cache.popitem(last=False)
    return parsed


_roots: dict[str, tuple[str, str]] = {}  # RELEASES_DIR -> (its cache key, its `current` link)


def current_release() -> ParsedRelease | None:
    store = release_storage()
    if not store.is_remote:  # the common case, per request: one readlink and a dict read
        configured = current_app.config["RELEASES_DIR"]
        root = _roots.get(configured)
        if root is None:
            path = Path(configured)
            root = _roots[configured] = (str(path), str(path / CURRENT))
        try:
            number = int(os.readlink(root[1]).rsplit("/", 1)[-1])
        except (OSError, ValueError):
            number = None
        hit = _cache.get((root[0], number)) if number is not None else None
        if hit is not None:  # a release once loaded was complete, and releases never change
            return hit
    number = store.current_number()
    return get_release(number, store) if number is not None else None
