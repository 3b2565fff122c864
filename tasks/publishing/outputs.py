"""What each service contributes to every feed format, made once and kept for the next build.

A service's outputs are its rows of the tabular package, its listings.csv line and its GeoJSON
feature, as bytes. A release keeps them in two private files (`.state/outputs.json`, an index,
and `.state/outputs.bin`, the bytes), so the next build writes an unchanged service, one whose
inputs and shaping code (`writers.document_key`) are those of the previous release, by copying
its bytes: it neither builds nor reads its document. A missing or unreadable state only means
the outputs are made again."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any, NamedTuple

import orjson

from models.listings import (
    COST_MODELS,
    LANGUAGES,
    POPULATIONS,
    csv_values,
    format_phone,
    simple_fields,
)
from models.publishing import safe_cell

from .context import BuildContext
from .layout import OUTPUT_BYTES, OUTPUT_INDEX
from .tabular import Group, Tables, document_rows

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


def listing_columns() -> list[str]:
    return LISTING_COLUMNS + [spec.csv for spec in simple_fields() if spec.csv]


def listing_cells(doc: dict[str, Any], r: dict[str, Any], columns: list[str]) -> list[Any]:
    """One service's listings.csv cells: shown as read, made safe for spreadsheets."""
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
    return [safe_cell(row[c]) for c in columns]


def feature(doc: dict[str, Any], r: dict[str, Any], base_url: str) -> dict[str, Any] | None:
    """One service's GeoJSON feature, at its physical location (None: no point to place)."""
    if r.get("latitude") is None or r.get("longitude") is None:
        return None
    sal = next(
        (
            s
            for s in doc.get("service_at_locations", [])
            if s["location"]["location_type"] == "physical"
        ),
        None,
    )
    addr = r.get("address") or {}
    return {
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
            "url": f"{base_url}/api/hsds/services/{r['id']}",
        },
    }


class Outputs(NamedTuple):
    """One service's outputs: `entry` says where each lies in `data`, its bytes:
    [size, [tabular group with its offset], [listing line offset, size], [feature offset,
    size] or None]; a tabular group is [table, ids, offset, size, line sizes]."""

    entry: list[Any]
    data: bytes | memoryview

    def groups(self) -> Iterable[Group]:
        data = self.data
        return ([i, ids, data[at : at + n], sizes] for i, ids, at, n, sizes in self.entry[1])

    def listing(self) -> bytes | memoryview:
        at, n = self.entry[2]
        return self.data[at : at + n]

    def feature(self) -> bytes | memoryview | None:
        if self.entry[3] is None:
            return None
        at, n = self.entry[3]
        return self.data[at : at + n]


class Maker:
    """Makes the outputs of a service from its document and record."""

    def __init__(self, ctx: BuildContext, tables: Tables) -> None:
        self.base_url = ctx.base_url
        self.tables = tables
        self.columns = listing_columns()
        self._buf = io.StringIO()
        self._writer = csv.writer(self._buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)

    def csv_line(self, cells: list[Any]) -> bytes:
        buf = self._buf
        buf.seek(0)
        buf.truncate()
        self._writer.writerow(cells)
        return buf.getvalue().encode("utf-8")

    def __call__(self, doc: dict[str, Any], r: dict[str, Any]) -> Outputs:
        parts: list[bytes] = []
        at = 0
        groups = []
        for i, ids, data, sizes in self.tables.groups(document_rows(doc)):
            groups.append([i, ids, at, len(data), sizes])
            parts.append(data)
            at += len(data)
        line = self.csv_line(listing_cells(doc, r, self.columns))
        listing = [at, len(line)]
        parts.append(line)
        at += len(line)
        point = feature(doc, r, self.base_url)
        placed = None
        if point is not None:
            body = orjson.dumps(point, option=orjson.OPT_NON_STR_KEYS)
            placed = [at, len(body)]
            parts.append(body)
            at += len(body)
        return Outputs([at, groups, listing, placed], b"".join(parts))


def previous_outputs(ctx: BuildContext, wanted: Iterable[str]) -> dict[str, Outputs]:
    """The `wanted` services' outputs kept by the previous release ({} if it kept none or
    they cannot be trusted: then they are made again)."""
    wanted = list(wanted)
    if ctx.previous_dir is None or not wanted:
        return {}
    try:
        index = orjson.loads((ctx.previous_dir / OUTPUT_INDEX).read_bytes())
        blob = memoryview((ctx.previous_dir / OUTPUT_BYTES).read_bytes())
        if index.get("size") != len(blob):
            return {}
        entries = index["services"]
        kept = {}
        for sid in wanted:
            entry = entries.get(sid)
            if entry is not None:
                base, size = entry[0], entry[1]
                kept[sid] = Outputs(entry[1:], blob[base : base + size])
        return kept
    except (OSError, orjson.JSONDecodeError, AttributeError, KeyError, TypeError, IndexError):
        return {}


def write_outputs_state(ctx: BuildContext, ids: list[str], outputs: list[Outputs]) -> None:
    """Keep every service's outputs for the next build (private: never served)."""
    services = {}
    at = 0
    for sid, out in zip(ids, outputs, strict=True):
        services[sid] = [at, *out.entry]
        at += out.entry[0]
    ctx.keep(OUTPUT_BYTES, b"".join(out.data for out in outputs))
    ctx.keep(OUTPUT_INDEX, orjson.dumps({"size": at, "services": services}))
