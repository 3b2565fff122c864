"""The HSDS 3.0 tabular form: one CSV per object plus a Frictionless `datapackage.json`.

The tables and their columns follow HSDS 3.0's own descriptor (same resource names, file
names, column names, types and keys), trimmed to the objects the registry publishes, with the
profile's extension columns added to services.csv."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any

from models.listings import extension_csv_types
from models.text import publishable

from .context import BuildContext

S, N, D, DT, T = "string", "number", "date", "datetime", "time"

# resource name -> (file, [(column, type, required)], foreign keys {column: resource})
TABLES: dict[str, tuple[str, list[tuple[str, str, bool]], dict[str, str]]] = {
    "organization": (
        "organizations.csv",
        [
            ("id", S, True),
            ("name", S, True),
            ("alternate_name", S, False),
            ("description", S, True),
            ("email", S, False),
            ("website", S, False),
            ("tax_status", S, False),
            ("tax_id", S, False),
            ("year_incorporated", N, False),
            ("legal_status", S, False),
            ("logo", S, False),
            ("uri", S, False),
            ("parent_organization_id", S, False),
        ],
        {},
    ),
    "organization_identifier": (
        "organization_identifiers.csv",
        [
            ("id", S, True),
            ("organization_id", S, True),
            ("identifier_scheme", S, False),
            ("identifier_type", S, True),
            ("identifier", S, True),
        ],
        {"organization_id": "organization"},
    ),
    "service": (
        "services.csv",
        [
            ("id", S, True),
            ("organization_id", S, True),
            ("program_id", S, False),
            ("name", S, True),
            ("alternate_name", S, False),
            ("description", S, False),
            ("url", S, False),
            ("email", S, False),
            ("status", S, True),
            ("interpretation_services", S, False),
            ("application_process", S, False),
            ("fees_description", S, False),
            ("wait_time", S, False),
            ("fees", S, False),
            ("accreditations", S, False),
            ("eligibility_description", S, False),
            ("minimum_age", N, False),
            ("maximum_age", N, False),
            ("assured_date", D, False),
            ("assurer_email", S, False),
            ("licenses", S, False),
            ("alert", S, False),
            ("last_modified", DT, False),
        ],
        {"organization_id": "organization"},
    ),
    "phone": (
        "phones.csv",
        [
            ("id", S, True),
            ("location_id", S, False),
            ("service_id", S, False),
            ("organization_id", S, False),
            ("contact_id", S, False),
            ("service_at_location_id", S, False),
            ("number", S, True),
            ("extension", N, False),
            ("type", S, False),
            ("description", S, False),
        ],
        {
            "service_id": "service",
            "organization_id": "organization",
            "location_id": "location",
            "service_at_location_id": "service_at_location",
        },
    ),
    "schedule": (
        "schedules.csv",
        [
            ("id", S, True),
            ("service_id", S, False),
            ("location_id", S, False),
            ("service_at_location_id", S, False),
            ("valid_from", D, False),
            ("valid_to", D, False),
            ("dtstart", D, False),
            ("timezone", N, False),
            ("until", D, False),
            ("count", N, False),
            ("wkst", S, False),
            ("freq", S, False),
            ("interval", N, False),
            ("byday", S, False),
            ("byweekno", S, False),
            ("bymonthday", S, False),
            ("byyearday", S, False),
            ("description", S, False),
            ("opens_at", T, False),
            ("closes_at", T, False),
            ("schedule_link", S, False),
            ("attending_type", S, False),
            ("notes", S, False),
        ],
        {"service_id": "service"},
    ),
    "service_area": (
        "service_areas.csv",
        [
            ("id", S, True),
            ("service_id", S, False),
            ("name", S, False),
            ("description", S, False),
            ("extent", S, False),
            ("extent_type", S, False),
            ("uri", S, False),
        ],
        {"service_id": "service"},
    ),
    "language": (
        "languages.csv",
        [
            ("id", S, True),
            ("service_id", S, False),
            ("location_id", S, False),
            ("phone_id", S, False),
            ("name", S, False),
            ("code", S, False),
            ("note", S, False),
        ],
        {"service_id": "service"},
    ),
    "location": (
        "locations.csv",
        [
            ("id", S, True),
            ("location_type", S, True),
            ("url", S, False),
            ("organization_id", S, False),
            ("name", S, False),
            ("alternate_name", S, False),
            ("description", S, False),
            ("transportation", S, False),
            ("latitude", N, False),
            ("longitude", N, False),
            ("external_identifier", S, False),
            ("external_identifier_type", S, False),
        ],
        {"organization_id": "organization"},
    ),
    "address": (
        "addresses.csv",
        [
            ("id", S, True),
            ("location_id", S, False),
            ("attention", S, False),
            ("address_1", S, True),
            ("address_2", S, False),
            ("city", S, True),
            ("region", S, False),
            ("state_province", S, True),
            ("postal_code", S, True),
            ("country", S, True),
            ("address_type", S, True),
        ],
        {"location_id": "location"},
    ),
    "accessibility": (
        "accessibility.csv",
        [
            ("id", S, True),
            ("location_id", S, False),
            ("description", S, False),
            ("details", S, False),
            ("url", S, False),
        ],
        {"location_id": "location"},
    ),
    "service_at_location": (
        "service_at_location.csv",
        [
            ("id", S, True),
            ("service_id", S, True),
            ("location_id", S, True),
            ("description", S, False),
        ],
        {"service_id": "service", "location_id": "location"},
    ),
    "cost_option": (
        "cost_options.csv",
        [
            ("id", S, True),
            ("service_id", S, True),
            ("valid_from", D, False),
            ("valid_to", D, False),
            ("option", S, False),
            ("currency", S, False),
            ("amount", N, False),
            ("amount_description", S, False),
        ],
        {"service_id": "service"},
    ),
    "taxonomy": (
        "taxonomies.csv",
        [
            ("id", S, True),
            ("name", S, True),
            ("description", S, True),
            ("uri", S, False),
            ("version", S, False),
        ],
        {},
    ),
    "taxonomy_term": (
        "taxonomy_terms.csv",
        [
            ("id", S, True),
            ("code", S, False),
            ("name", S, True),
            ("description", S, True),
            ("parent_id", S, False),
            ("taxonomy", S, False),
            ("language", S, False),
            ("taxonomy_id", S, False),
            ("term_uri", S, False),
        ],
        {"taxonomy_id": "taxonomy"},
    ),
    "attribute": (
        "attributes.csv",
        [
            ("id", S, True),
            ("link_id", S, True),
            ("taxonomy_term_id", S, True),
            ("link_type", S, False),
            ("link_entity", S, True),
            ("value", S, False),
        ],
        {"taxonomy_term_id": "taxonomy_term"},
    ),
}
ENUMS = {
    ("service", "status"): ["active", "inactive", "defunct", "temporarily closed"],
    ("location", "location_type"): ["physical", "postal", "virtual"],
    ("address", "address_type"): ["physical", "postal", "virtual"],
    ("schedule", "freq"): ["WEEKLY", "MONTHLY"],
    ("schedule", "wkst"): ["MO", "TU", "WE", "TH", "FR", "SA", "SU"],
}


def service_extensions(extensions: dict[str, str]) -> dict[str, str]:
    """The profile's extension columns, then any the field catalogue declares beyond them."""
    declared = extension_csv_types()
    return {**extensions, **{k: v for k, v in declared.items() if k not in extensions}}


def descriptor(extensions: dict[str, str]) -> dict[str, Any]:
    extensions = service_extensions(extensions)
    resources = []
    for name, (path, columns, fks) in TABLES.items():
        if name == "service":
            columns = columns + [(col, typ, False) for col, typ in extensions.items()]
        fields = []
        for col, typ, required in columns:
            f: dict[str, Any] = {"name": col, "type": typ}
            if col == "id" or col.endswith("_id"):
                f["format"] = "uuid"
            if typ == T:
                f["format"] = "%H:%M:%S"
            constraints = {}
            if required:
                constraints["required"] = True
            if col == "id":
                constraints["unique"] = True
            if (name, col) in ENUMS:
                constraints["enum"] = ENUMS[(name, col)]
            if constraints:
                f["constraints"] = constraints
            fields.append(f)
        schema: dict[str, Any] = {"fields": fields, "primaryKey": "id"}
        if fks:
            schema["foreignKeys"] = [
                {"fields": col, "reference": {"resource": ref, "fields": "id"}}
                for col, ref in fks.items()
            ]
        resources.append(
            {
                "name": name,
                "path": path,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": schema,
            }
        )
    return {
        "name": "mo_dmh_crisis_services",
        "title": "Missouri crisis services (HSDS 3.0 tabular form)",
        "description": TABULAR_NOTICE,
        "profile": "tabular-data-package",
        "version": "3.0.0",
        "licenses": [
            {
                "name": "CC-BY-SA-4.0",
                "path": "https://creativecommons.org/licenses/by-sa/4.0/",
                "title": "Creative Commons Attribution-ShareAlike 4.0",
            }
        ],
        "resources": resources,
    }


TABULAR_NOTICE = (
    "Data for programs: every value exactly as published (phone numbers begin with +, "
    "provider text is not altered). Opened in a spreadsheet, a cell beginning with = + - or @ "
    "may be run as a formula: for spreadsheets use listings.csv, whose cells are made safe."
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return value if isinstance(value, str) else str(value)


def taxonomy_rows(taxes: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for t in taxes:
        yield "taxonomy", {k: t[k] for k in ("id", "name", "description", "version")}
        for term in t["terms"]:
            yield "taxonomy_term", term


def document_rows(d: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The rows one nested service document contributes, table by table (before the tables
    drop rows whose id an earlier document already gave, such as a shared organization)."""
    sid = d["id"]
    org = d["organization"]
    yield "organization", org
    for ident in org.get("organization_identifiers", []):
        yield "organization_identifier", {**ident, "organization_id": org["id"]}
    for p in org.get("phones", []):
        yield "phone", {**p, "organization_id": org["id"]}
    yield "service", d
    for p in d.get("phones", []):
        yield "phone", {**p, "service_id": sid}
    for s in d.get("schedules", []):
        yield "schedule", {**s, "service_id": sid}
    for a in d.get("service_areas", []):
        yield "service_area", a
    for lang in d.get("languages", []):
        yield "language", lang
    for c in d.get("cost_options", []):
        yield "cost_option", c
    for a in d.get("attributes", []):
        yield "attribute", a
    for sal in d.get("service_at_locations", []):
        loc = sal["location"]
        yield "location", loc
        for addr in loc.get("addresses", []):
            yield "address", addr
        for acc in loc.get("accessibility", []):
            yield "accessibility", acc
        yield "service_at_location", sal


# what a service area row holds (hsds._service_areas): ids, then text shared by every service
# covering the county, so that text is made a CSV line's tail once per release
AREA_KEYS = frozenset({"id", "service_id", "name", "description", "uri"})
PLAIN_ID = re.compile(r"[0-9A-Za-z-]+")  # written as it is: nothing to quote


# one document's rows of one table, as written: [the table's index in the package, the rows'
# ids joined by newlines, their CSV lines joined (UTF-8), the lines' byte lengths joined by commas]
Group = list[Any]


class Tables:
    """The tabular package made one document at a time: each document's rows become CSV
    lines once (`groups`), and each table is the lines of every document in order, a row id
    written once per table (`write`). A release keeps each service's groups, so the next
    build writes an unchanged service's rows without building or reading its document."""

    def __init__(self, extensions: dict[str, str]) -> None:
        self.package = descriptor(extensions)
        self.resources = self.package["resources"]
        self.index = {res["name"]: i for i, res in enumerate(self.resources)}
        self.columns = [[f["name"] for f in res["schema"]["fields"]] for res in self.resources]
        self._buf = io.StringIO()
        self._writer = csv.writer(self._buf, lineterminator="\r\n")
        self._area = self.index.get("service_area")
        self._area_tails: dict[tuple[Any, ...], str] = {}

    def groups(self, table_rows: Iterable[tuple[str, dict[str, Any]]]) -> list[Group]:
        """One document's rows as CSV lines, grouped by table (in the document's order)."""
        buf, writerow, index, columns = self._buf, self._writer.writerow, self.index, self.columns
        area, tails, plain = self._area, self._area_tails, PLAIN_ID.fullmatch
        buf.seek(0)
        buf.truncate()
        by_table: dict[int, dict[str, tuple[int, int]]] = {}
        at = 0
        for table, row in table_rows:
            i = index[table]
            spans = by_table.setdefault(i, {})
            rid = str(row["id"])
            if rid in spans:  # a document naming a row twice writes it once
                continue
            if i == area and row.keys() == AREA_KEYS and plain(rid) and plain(row["service_id"]):
                # the same line writerow writes: plain ids, then the county's tail
                tail = tails.get((row["name"], row["description"], row["uri"]))
                if tail is None:
                    tail = self._area_tail(row)
                buf.write(f"{rid},{row['service_id']},{tail}")
                end = buf.tell()
                spans[rid] = (at, end)
                at = end
                continue
            values = list(map(row.get, columns[i]))  # csv writes None as an empty cell
            if True in values or False in values:  # (or a 1 or 0): the exact conversion
                values = [_cell(v) for v in values]
            writerow(values)
            end = buf.tell()
            spans[rid] = (at, end)
            at = end
        text = buf.getvalue()
        clean = publishable(text)  # control characters dropped; almost never any to drop
        tidy = publishable if len(clean) != len(text) else str
        if text.isascii() and tidy is str:  # offsets in characters are offsets in bytes
            data = text.encode("ascii")
            return [
                [
                    i,
                    "\n".join(spans),
                    b"".join([data[a:b] for a, b in spans.values()]),
                    ",".join([str(b - a) for a, b in spans.values()]),
                ]
                for i, spans in by_table.items()
            ]
        groups = []
        for i, spans in by_table.items():
            lines = [tidy(text[a:b]).encode("utf-8") for a, b in spans.values()]
            groups.append(
                [i, "\n".join(spans), b"".join(lines), ",".join([str(len(x)) for x in lines])]
            )
        return groups

    def _area_tail(self, row: dict[str, Any]) -> str:
        """A service area line after its two ids, as writerow writes it (kept per release)."""
        out = io.StringIO()
        values = [row.get(c) for c in self.columns[self._area][2:]]
        csv.writer(out, lineterminator="\r\n").writerow(values)
        tail = self._area_tails[row["name"], row["description"], row["uri"]] = out.getvalue()
        return tail

    def write(
        self,
        ctx: BuildContext,
        taxes: list[dict[str, Any]],
        documents: Iterable[list[Group]],
        same: Iterable[int] = (),
    ) -> None:
        """Write every table from the taxonomies' rows and then each document's groups. A
        table in `same` (known to be the previous release's: `writers.unchanged_tables`) is
        that release's file, taken without being made, unless the taxonomies write to it."""
        taxonomy = self.groups(taxonomy_rows(taxes))
        candidates = set(same) - {group[0] for group in taxonomy}
        taken = {i for i in candidates if ctx.reuse(f"hsds/{self.resources[i]['path']}")}
        out = [[publishable(self._header(i)).encode("utf-8")] for i in range(len(self.resources))]
        seen: list[set[str]] = [set() for _ in self.resources]
        for groups in chain([taxonomy], documents):
            for i, joined_ids, text, lengths in groups:
                if i in taken:
                    continue
                ids = joined_ids.split("\n")
                known = seen[i]
                if known.isdisjoint(ids):  # the usual case: rows of this service alone
                    out[i].append(text)
                    known.update(ids)
                elif not known.issuperset(ids):  # some rows shared with an earlier service
                    at = 0
                    for rid, size in zip(ids, map(int, lengths.split(",")), strict=True):
                        if rid not in known:
                            known.add(rid)
                            out[i].append(text[at : at + size])
                        at += size
        for i, (res, lines) in enumerate(zip(self.resources, out, strict=True)):
            if i not in taken:
                ctx.write(f"hsds/{res['path']}", b"".join(lines))
        ctx.write("hsds/datapackage.json", json.dumps(self.package, indent=1).encode("utf-8"))

    def _header(self, i: int) -> str:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerow(self.columns[i])
        return buf.getvalue()
