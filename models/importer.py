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
from dataclasses import dataclass, field
from typing import Any

from . import audit, geo
from .base import db
from .fields import empty_data
from .identifiers import (
    normalise_ein,
    normalise_email,
    normalise_https_url,
    normalise_npi,
    normalise_phone,
)
from .organization import Organization
from .reference import County, CoverageKind, FieldRule, ServiceType
from .text import normalise, problem
from .user import User

MAX_ROWS = 5000
MAX_CELL_CHARS = 4000
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
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
    if not cell or not cell.startswith(FORMULA_PREFIXES):
        return False
    # "+1 573 555 0123" is an ordinary phone number, not a formula
    return not (column == "phone" and re.fullmatch(r"\+[\d\s().-]+", cell))


def check_csv(raw: bytes, kind: str) -> CheckResult:
    result = CheckResult(kind)
    if kind not in KINDS:
        result.errors.append(RowError(0, "kind", f"Unknown import kind {kind!r}."))
        return result
    try:
        text = _decode(raw)
    except UnicodeDecodeError:
        result.errors.append(
            RowError(0, "file", "The file is not UTF-8 text. Save it as 'CSV UTF-8' and try again.")
        )
        return result
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        result.errors.append(RowError(1, "header", f"The header line cannot be read ({exc})."))
        return result
    if not header:
        result.errors.append(RowError(1, "header", "The file is empty; start from the template."))
        return result
    header = [h.strip().lower() for h in header]
    expected = KINDS[kind]
    unknown = [h for h in header if h not in expected]
    missing = [c for c in REQUIRED[kind] if c not in header]
    for h in unknown:
        result.errors.append(
            RowError(
                1,
                h or "(blank)",
                f"Unknown column; the template's columns are: {', '.join(expected)}.",
            )
        )
    for c in missing:
        result.errors.append(RowError(1, c, "This required column is missing."))
    if len(set(header)) != len(header):
        result.errors.append(RowError(1, "header", "A column appears twice."))
    if result.errors:
        return result
    ctx = _Context(kind)
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.errors.append(
                RowError(
                    line, "line", f"This line cannot be read ({exc}); nothing after it was checked."
                )
            )
            break
        if not any(c.strip() for c in cells):
            continue
        result.total_rows += 1
        if result.total_rows > MAX_ROWS:
            result.errors.append(
                RowError(line, "file", f"More than {MAX_ROWS} rows; split the file.")
            )
            break
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
        out: dict[str, Any] = {}
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
        out["organization_id"] = org.id if org else None
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
        for col, fn, key in (
            ("website", normalise_https_url, "website"),
            ("email", normalise_email, "email"),
        ):
            try:
                data[key] = fn(row.get(col, ""))
            except ValueError as exc:
                errors.append(RowError(line, col, str(exc)))
        try:
            phone = normalise_phone(row.get("phone", ""))
            if not phone:
                errors.append(RowError(line, "phone", "Required: the number people call."))
            data["phones"] = [{"number": phone, "kind": "voice", "description": ""}]
        except ValueError as exc:
            errors.append(RowError(line, "phone", str(exc)))
        # site address
        street, city, zip_code, county = (
            row.get(k, "") for k in ("address_1", "city", "zip", "county_fips")
        )
        self._duplicates(org, st, name, (street, city, zip_code), line, errors)
        has_address = any((street, city, zip_code, county))
        if st is not None and st.site_address_rule == FieldRule.REQUIRED and not has_address:
            errors.append(RowError(line, "address_1", f"A {st.short_name} needs a site address."))
        if st is not None and st.site_address_rule == FieldRule.FORBIDDEN and has_address:
            errors.append(
                RowError(
                    line,
                    "address_1",
                    f"A {st.short_name} has no public site address; leave the address columns empty.",
                )
            )
        elif has_address:
            for col, v in (
                ("address_1", street),
                ("city", city),
                ("zip", zip_code),
                ("county_fips", county),
            ):
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
        # coverage
        served = [c for c in re.split(r"[;,\s]+", row.get("counties_served", "")) if c]
        role = (
            "primary"
            if st is not None and st.coverage_kind == CoverageKind.PRIMARY_BACKUP
            else "served"
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
        if st is not None:
            data["walk_in"] = False
        out["service_type_code"] = st.code if st else None
        out["data"] = data
        return out


def import_rows(result: CheckResult, *, by: User) -> list[Any]:
    """Write the rows of a file that passed `check_csv`. Never commits; the caller commits once
    (or rolls back), so a failure anywhere leaves nothing written."""
    from .organization_ops import create_organization
    from .workflow import create_listing

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
