"""Bulk import of organizations and listings from CSV.

`check_csv` parses and validates every row and writes nothing; it reports each problem as
(line, column, message). `import_rows` writes the rows of a file that passed the check — the
caller commits once, so the real run is all-or-nothing. Imported listings are drafts: they go
through review like any other change and are never live on arrival.

Untrusted input rules: the file must be UTF-8; a cell may not start a spreadsheet formula
(= + - @, tab, carriage return) — such cells are refused rather than silently altered; a cell
over MAX_CELL_CHARS, a line over the csv module's field limit, or more than MAX_ROWS rows is an
error in the report, never a crash."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from models import audit
from models.base import db
from models.listings.fields import empty_data
from models.listings.identifiers import (
    normalise_ein,
    normalise_email,
    normalise_https_url,
    normalise_npi,
    normalise_phone,
)
from models.listings.listing import CountyRole
from models.organizations.organization import Organization
from models.organizations.user import User
from models.publishing.export import starts_formula
from models.reference import geo as geo
from models.reference.tables import County, CoverageKind, FieldRule, ServiceType
from models.text import normalise, problem

MAX_ROWS = 5000
MAX_CELL_CHARS = 4000
FIPS_RE = re.compile(r"^29\d{3}$")

ORGANIZATION_COLUMNS = [
    "legal_name",
    "dba",
    "ein",
    "npi",
    "website",
    "email",
    "phone",
    "contact_name",
]
ORGANIZATION_REQUIRED = {"legal_name"}
LISTING_COLUMNS = [
    "organization",
    "service_type",
    "name",
    "description",
    "address_1",
    "city",
    "zip",
    "county_fips",
    "phone",
    "counties_served",
    "website",
    "email",
]
LISTING_REQUIRED = {"organization", "service_type", "name", "phone"}

MULTI_LINE_COLUMNS = {"description"}  # the text policy allows line breaks only here
KINDS = {"organizations": ORGANIZATION_COLUMNS, "listings": LISTING_COLUMNS}
REQUIRED = {"organizations": ORGANIZATION_REQUIRED, "listings": LISTING_REQUIRED}


@dataclass
class RowError:
    line: int
    column: str
    message: str


@dataclass
class CheckResult:
    kind: str
    rows: list[dict[str, Any]] = field(default_factory=list)  # normalised, ready to write
    errors: list[RowError] = field(default_factory=list)
    total_rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)

    @property
    def bad_lines(self) -> list[int]:
        return sorted({e.line for e in self.errors})


def template_csv(kind: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(KINDS[kind])
    return buf.getvalue()


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8-sig")


def _is_formula(cell: str, column: str) -> bool:
    if not starts_formula(cell):
        return False
    # "+1 573 555 0123" is an ordinary phone number, not a formula
    return not (column == "phone" and re.fullmatch(r"\+[\d\s().-]+", cell))


def check_csv(raw: bytes, kind: str) -> CheckResult:
    result = CheckResult(kind)
    opened = _open(raw, kind, result)
    if opened is None:
        return result
    reader, header = opened
    ctx = _Context(kind)
    for line, cells in _data_lines(reader, result):
        if len(cells) > len(header):
            result.errors.append(
                RowError(
                    line, "line", f"This line has {len(cells)} cells; the header has {len(header)}."
                )
            )
            continue
        row = dict(
            zip(header, [c.strip() for c in cells] + [""] * (len(header) - len(cells)), strict=True)
        )
        errors = _cell_errors(row, line)
        if errors:
            result.errors.extend(errors)
            continue
        normalised = ctx.check(row, line, errors)
        result.errors.extend(errors)
        if not errors:
            result.rows.append(normalised)
    if result.total_rows == 0 and not result.errors:
        result.errors.append(RowError(2, "file", "The file has a header but no rows."))
    return result


def _open(raw: bytes, kind: str, result: CheckResult) -> tuple[Any, list[str]] | None:
    """The csv reader past a checked header, or None with the reasons in `result.errors`."""
    if kind not in KINDS:
        result.errors.append(RowError(0, "kind", f"Unknown import kind {kind!r}."))
        return None
    try:
        text = _decode(raw)
    except UnicodeDecodeError:
        result.errors.append(
            RowError(0, "file", "The file is not UTF-8 text. Save it as 'CSV UTF-8' and try again.")
        )
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        result.errors.append(RowError(1, "header", f"The header line cannot be read ({exc})."))
        return None
    if not header:
        result.errors.append(RowError(1, "header", "The file is empty; start from the template."))
        return None
    header = [h.strip().lower() for h in header]
    result.errors.extend(_header_errors(header, kind))
    return None if result.errors else (reader, header)


def _header_errors(header: list[str], kind: str) -> list[RowError]:
    expected = KINDS[kind]
    errors = [
        RowError(
            1, h or "(blank)", f"Unknown column; the template's columns are: {', '.join(expected)}."
        )
        for h in header
        if h not in expected
    ]
    errors += [
        RowError(1, c, "This required column is missing.")
        for c in REQUIRED[kind]
        if c not in header
    ]
    if len(set(header)) != len(header):
        errors.append(RowError(1, "header", "A column appears twice."))
    return errors


def _data_lines(reader, result: CheckResult) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank line, counted in `result.total_rows`; stops at
    a line the csv module cannot read or past MAX_ROWS, with the error in `result.errors`."""
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            result.errors.append(
                RowError(
                    line, "line", f"This line cannot be read ({exc}); nothing after it was checked."
                )
            )
            return
        if not any(c.strip() for c in cells):
            continue
        result.total_rows += 1
        if result.total_rows > MAX_ROWS:
            result.errors.append(
                RowError(line, "file", f"More than {MAX_ROWS} rows; split the file.")
            )
            return
        yield line, cells


def _cell_errors(row: dict[str, str], line: int) -> list[RowError]:
    """Normalise every cell of `row` in place; the cells the text policy refuses."""
    errors: list[RowError] = []
    for col, value in row.items():
        multi_line = col in MULTI_LINE_COLUMNS
        row[col] = value = normalise(value, multi_line=multi_line)
        why = problem(value, multi_line=multi_line)
        if why:
            errors.append(RowError(line, col, why))
        elif len(value) > MAX_CELL_CHARS:
            errors.append(RowError(line, col, f"Longer than {MAX_CELL_CHARS} characters."))
        elif _is_formula(value, col):
            errors.append(
                RowError(
                    line,
                    col,
                    "Starts with a formula character (= + - @); formulas are not accepted. Remove the leading character.",
                )
            )
    return errors


class _Context:
    """Lookups done once per file, and the duplicates seen so far within it."""

    def __init__(self, kind: str):
        self.kind = kind
        self.seen_names: dict[str, int] = {}
        self.seen_listings: dict[tuple, int] = {}  # (org, type, "name"|"address", value) -> line
        self.orgs = {o.legal_name.lower(): o for o in db.session.scalars(db.select(Organization))}
        if kind == "listings":
            self.types = {t.code: t for t in db.session.scalars(db.select(ServiceType))}
            self.counties = set(db.session.scalars(db.select(County.fips)))

    def check(self, row: dict[str, str], line: int, errors: list[RowError]) -> dict[str, Any]:
        return (
            self._organization(row, line, errors)
            if self.kind == "organizations"
            else self._listing(row, line, errors)
        )

    @staticmethod
    def _apply(fn, row, col, line, errors, out):
        try:
            out[col] = fn(row.get(col, ""))
        except ValueError as exc:
            errors.append(RowError(line, col, str(exc)))

    def _organization(self, row, line, errors) -> dict[str, Any]:
        out: dict[str, Any] = {k: row.get(k, "") for k in ORGANIZATION_COLUMNS}
        name = out["legal_name"]
        if not name:
            errors.append(RowError(line, "legal_name", "Required."))
        elif len(name) > 200:
            errors.append(RowError(line, "legal_name", "At most 200 characters."))
        elif name.lower() in self.orgs:
            errors.append(
                RowError(line, "legal_name", "An organization with this name already exists.")
            )
        elif name.lower() in self.seen_names:
            errors.append(
                RowError(line, "legal_name", f"Same name as line {self.seen_names[name.lower()]}.")
            )
        else:
            self.seen_names[name.lower()] = line
        for col, fn in (
            ("ein", normalise_ein),
            ("npi", normalise_npi),
            ("website", normalise_https_url),
            ("email", normalise_email),
            ("phone", normalise_phone),
        ):
            self._apply(fn, row, col, line, errors, out)
        for col, limit in (("dba", 200), ("contact_name", 120)):
            if len(out[col]) > limit:
                errors.append(RowError(line, col, f"At most {limit} characters."))
        return out

    def _duplicates(self, org, st, name: str, address: tuple, line: int, errors) -> None:
        """The same organization and service type with the same name, or at the same address,
        earlier in the file: one listing typed twice, which would make two drafts."""
        if org is None or st is None:
            return
        street = " ".join(address[0].casefold().split())
        keys = [("name", " ".join(name.casefold().split()), "name", "Same name")]
        if street:
            where = (street, address[1].casefold().strip(), address[2].strip())
            keys.append(("address", where, "address_1", "Same address"))
        for kind, value, col, what in keys:
            if not value:
                continue
            key = (org.id, st.code, kind, value)
            first = self.seen_listings.setdefault(key, line)
            if first != line:
                errors.append(
                    RowError(
                        line,
                        col,
                        f"{what}, organization and service type as line {first}: "
                        "the same listing twice? Remove one of the rows.",
                    )
                )

    def _fips(self, value: str, line: int, col: str, errors: list[RowError]) -> str | None:
        v = value.strip()
        if not FIPS_RE.match(v) or v not in self.counties:
            errors.append(
                RowError(line, col, f"{v!r} is not a Missouri county FIPS code (29001–29510).")
            )
            return None
        return v

    def _listing(self, row, line, errors) -> dict[str, Any]:
        org = self._listing_organization(row, line, errors)
        st = self.types.get(row.get("service_type", ""))
        if st is None:
            errors.append(
                RowError(
                    line,
                    "service_type",
                    f"Unknown service type; use one of: {', '.join(sorted(self.types))}.",
                )
            )
        name = row.get("name", "")
        if not name:
            errors.append(RowError(line, "name", "Required."))
        elif len(name) > 200:
            errors.append(RowError(line, "name", "At most 200 characters."))
        data = empty_data()
        data["name"] = name
        data["description"] = row.get("description", "")
        self._contact(row, line, errors, data)
        address = tuple(row.get(k, "") for k in ("address_1", "city", "zip", "county_fips"))
        self._duplicates(org, st, name, address[:3], line, errors)
        self._site(st, address, line, errors, data)
        self._coverage(row, st, line, errors, data)
        if st is not None:
            data["walk_in"] = False
        return {
            "organization_id": org.id if org else None,
            "service_type_code": st.code if st else None,
            "data": data,
        }

    def _listing_organization(self, row, line, errors) -> Organization | None:
        org = self.orgs.get(row.get("organization", "").lower())
        if org is None:
            errors.append(
                RowError(
                    line,
                    "organization",
                    "No organization has this legal name; import or create it first.",
                )
            )
        elif not org.is_active:
            errors.append(RowError(line, "organization", "This organization is deactivated."))
        return org

    def _contact(self, row, line, errors, data) -> None:
        for col, fn in (("website", normalise_https_url), ("email", normalise_email)):
            self._apply(fn, row, col, line, errors, data)
        try:
            phone = normalise_phone(row.get("phone", ""))
            if not phone:
                errors.append(RowError(line, "phone", "Required: the number people call."))
            data["phones"] = [{"number": phone, "kind": "voice", "description": ""}]
        except ValueError as exc:
            errors.append(RowError(line, "phone", str(exc)))

    def _site(self, st, address: tuple, line, errors, data) -> None:
        """The site address: required, forbidden or optional by service type; when given,
        complete, with a Missouri ZIP code that lies in the county given."""
        has_address = any(address)
        rule = st.site_address_rule if st is not None else None
        if rule == FieldRule.REQUIRED and not has_address:
            errors.append(RowError(line, "address_1", f"A {st.short_name} needs a site address."))
        if rule == FieldRule.FORBIDDEN and has_address:
            errors.append(
                RowError(
                    line,
                    "address_1",
                    f"A {st.short_name} has no public site address; leave the address columns empty.",
                )
            )
        elif has_address:
            self._address(address, line, errors, data)

    def _address(self, address: tuple, line, errors, data) -> None:
        street, city, zip_code, county = address
        for col, v in zip(("address_1", "city", "zip", "county_fips"), address, strict=True):
            if not v:
                errors.append(RowError(line, col, "Required when an address is given."))
        fips = self._fips(county, line, "county_fips", errors) if county else None
        info = geo.zip_info(zip_code) if zip_code else None
        if zip_code and (not re.fullmatch(r"\d{5}", zip_code) or info is None):
            errors.append(RowError(line, "zip", "Not a Missouri ZIP code."))
        elif info is not None and fips is not None and info.county_fips != fips:
            errors.append(
                RowError(
                    line,
                    "zip",
                    f"ZIP {zip_code} is not in county {fips} (it is in {info.county_fips}).",
                )
            )
        if info is not None:
            data["address"] = {
                "address_1": street,
                "address_2": "",
                "city": city,
                "state": "MO",
                "postal_code": zip_code,
                "county_fips": fips,
            }
            data["latitude"], data["longitude"] = info.latitude, info.longitude

    def _coverage(self, row, st, line, errors, data) -> None:
        served = [c for c in re.split(r"[;,\s]+", row.get("counties_served", "")) if c]
        role = (
            CountyRole.PRIMARY.value
            if st is not None and st.coverage_kind == CoverageKind.PRIMARY_BACKUP
            else CountyRole.SERVED.value
        )
        fips_list = []
        for c in served:
            f = self._fips(c, line, "counties_served", errors)
            if f and f not in fips_list:
                fips_list.append(f)
        if st is not None and st.counties_rule == FieldRule.REQUIRED and not served:
            errors.append(
                RowError(
                    line,
                    "counties_served",
                    f"A {st.short_name} lists the counties it serves (FIPS codes separated by ';').",
                )
            )
        data["counties"] = [{"fips": f, "role": role} for f in fips_list]


def import_rows(result: CheckResult, *, by: User) -> list[Any]:
    """Write the rows of a file that passed `check_csv`. Never commits; the caller commits once
    (or rolls back), so a failure anywhere leaves nothing written."""
    from models.listings.workflow import create_listing
    from models.organizations.operations import create_organization

    if not result.ok:
        raise ValueError("only a file that passed the check can be imported")
    created: list[Any] = []
    if result.kind == "organizations":
        for row in result.rows:
            created.append(create_organization(row, by=by))
    else:
        orgs = {o.id: o for o in db.session.scalars(db.select(Organization))}
        for row in result.rows:
            listing, _rev = create_listing(
                orgs[row["organization_id"]], row["service_type_code"], row["data"], by
            )
            created.append(listing)
    audit.record(
        f"import.{result.kind}",
        actor=by,
        object_type="import",
        object_id="csv",
        after={"rows": len(created), "ids": [c.id for c in created]},
    )
    return created
