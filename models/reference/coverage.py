"""County coverage: for each of Missouri's 115 county areas, who answers 988 (primary and
backup), which mobile crisis teams respond, which crisis centers and sobering centers serve it,
and where the gaps are.

A pure function of published records (models.listings.snapshot.build_records or a release's records),
the counties and the regions: the reviewer page, the CSV and each release's coverage.json all
call `compute_coverage`, so they cannot disagree.

Gaps (each county may have several):
- no 988 primary center;
- no mobile crisis team;
- no crisis center (BHCC or urgent-care BHCC) in its region: one whose site lies in, or whose
  listed counties reach, any county of the county's region in the configured region layer
  (a county in no region of that layer counts on its own).
A service reaches a county through its site county and through the counties it lists.

Which column a service counts in is service-type data, never a type code: a type whose
`coverage_kind` is primary_backup answers 988 for its counties; otherwise its `coverage_group`
(models.reference.tables.CoverageGroup) makes it a mobile team, a crisis center, a sobering center, or
nothing here."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from models.publishing.export import safe_cell
from models.reference.tables import SERVICE_TYPES, CoverageGroup, CoverageKind

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_REGION_LAYER = "demo planning region"

ANSWERS_988 = "answers_988"  # the role of a primary_backup type
# the CountyCoverage list each coverage group fills
GROUP_LISTS = {
    CoverageGroup.MOBILE_TEAM: "mobile_teams",
    CoverageGroup.CRISIS_CENTER: "crisis_centers",
    CoverageGroup.SOBERING_CENTER: "sobering_centers",
}


class Gap:
    NO_988_PRIMARY = "no_988_primary"
    NO_MOBILE_TEAM = "no_mobile_team"
    NO_CRISIS_CENTER_IN_REGION = "no_crisis_center_in_region"


GAP_LABELS = {
    Gap.NO_988_PRIMARY: "No 988 primary center",
    Gap.NO_MOBILE_TEAM: "No mobile crisis team",
    Gap.NO_CRISIS_CENTER_IN_REGION: "No crisis center in its region",
}


@dataclass(frozen=True)
class ServiceRef:
    id: str  # the listing's public UUID
    name: str
    organization: str
    service_type: str
    phone: str = ""


@dataclass
class CountyCoverage:
    fips: str
    name: str
    regions: list[str] = field(default_factory=list)  # region names in the layer
    primary_988: list[ServiceRef] = field(default_factory=list)
    backup_988: list[ServiceRef] = field(default_factory=list)
    mobile_teams: list[ServiceRef] = field(default_factory=list)
    crisis_centers: list[ServiceRef] = field(default_factory=list)  # serving this county
    crisis_centers_in_region: int = 0
    sobering_centers: list[ServiceRef] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)

    @property
    def gap_labels(self) -> list[str]:
        return [GAP_LABELS[g] for g in self.gaps]

    def as_dict(self) -> dict[str, Any]:
        """Like dataclasses.asdict, without its deep copy of every value (coverage.json of a
        large release holds tens of thousands of service references)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                value = [dict(vars(v)) if isinstance(v, ServiceRef) else v for v in value]
            out[f.name] = value
        return out


def _ref(record: dict[str, Any]) -> ServiceRef:
    phones = record.get("phones") or []
    voice = next((p.get("number", "") for p in phones if p.get("kind", "voice") == "voice"), "")
    return ServiceRef(
        id=record["id"],
        name=record["name"],
        organization=(record.get("organization") or {}).get("name", ""),
        service_type=record["service_type"],
        phone=voice,
    )


def reach(record: dict[str, Any]) -> set[str]:
    """Every county a record serves: its listed counties (any role) and its site county."""
    fipses = {c["fips"] for c in record.get("counties") or []}
    site = (record.get("address") or {}).get("county_fips")
    if site:
        fipses.add(site)
    return fipses


def _role(service_type: dict[str, Any]) -> str:
    if service_type.get("coverage_kind") == CoverageKind.PRIMARY_BACKUP:
        return ANSWERS_988
    return service_type.get("coverage_group") or CoverageGroup.NONE.value


def coverage_roles(service_types: Iterable[dict[str, Any]] | None = None) -> dict[str, str]:
    """Service-type code -> ANSWERS_988 or a CoverageGroup value. `service_types`: the
    reference snapshot's (code, coverage_kind, coverage_group); a type it does not describe
    (an older snapshot, or none given) takes the built-in type's data."""
    roles = {t["code"]: _role(t) for t in SERVICE_TYPES}
    for t in service_types or ():
        if "coverage_kind" in t and "coverage_group" in t:
            roles[t["code"]] = _role(t)
    return roles


def _region_members(
    result: dict[str, CountyCoverage], regions: Iterable[dict[str, Any]], region_layer: str
) -> dict[str, set[str]]:
    """County -> the counties of its region(s) in the layer; names each county's regions."""
    members_of: dict[str, set[str]] = defaultdict(set)
    for region in regions:
        if region.get("layer") != region_layer:
            continue
        members = set(region.get("counties") or [])
        for fips in members & result.keys():
            result[fips].regions.append(region["name"])
            members_of[fips] |= members
    return members_of


def _add_988(result: dict[str, CountyCoverage], record: dict[str, Any]) -> None:
    ref = _ref(record)
    for c in record.get("counties") or []:
        cov = result.get(c["fips"])
        if cov is None:
            continue
        if c.get("role") == "backup":
            cov.backup_988.append(ref)
        else:  # primary (a 988 center's "served" county answers as primary)
            cov.primary_988.append(ref)


def _gaps(cov: CountyCoverage) -> list[str]:
    gaps = []
    if not cov.primary_988:
        gaps.append(Gap.NO_988_PRIMARY)
    if not cov.mobile_teams:
        gaps.append(Gap.NO_MOBILE_TEAM)
    if cov.crisis_centers_in_region == 0:
        gaps.append(Gap.NO_CRISIS_CENTER_IN_REGION)
    return gaps


def compute_coverage(
    records: Iterable[dict[str, Any]],
    counties: Iterable[dict[str, Any]],
    regions: Iterable[dict[str, Any]] = (),
    region_layer: str = DEFAULT_REGION_LAYER,
    service_types: Iterable[dict[str, Any]] | None = None,
) -> list[CountyCoverage]:
    """Per-county coverage, gap counties first, then by name.

    `counties`: [{"fips", "name"}]; `regions`: [{"name", "layer", "counties": [fips]}];
    `service_types`: [{"code", "coverage_kind", "coverage_group"}] (the shape of
    models.reference.tables.reference_snapshot; see `coverage_roles` when it is left out)."""
    result = {c["fips"]: CountyCoverage(fips=c["fips"], name=c["name"]) for c in counties}
    region_members = _region_members(result, regions, region_layer)
    roles = coverage_roles(service_types)
    crisis_reach: list[set[str]] = []
    for record in sorted(records, key=lambda r: (r.get("name", "").lower(), r["id"])):
        role = roles.get(record.get("service_type"), CoverageGroup.NONE.value)
        if role == ANSWERS_988:
            _add_988(result, record)
            continue
        target = GROUP_LISTS.get(role)
        if target is None:
            continue
        where = reach(record)
        if role == CoverageGroup.CRISIS_CENTER:
            crisis_reach.append(where)
        ref = _ref(record)
        for fips in where & result.keys():
            getattr(result[fips], target).append(ref)

    for fips, cov in result.items():
        area = region_members.get(fips) or {fips}
        cov.crisis_centers_in_region = sum(1 for r in crisis_reach if r & area)
        cov.gaps = _gaps(cov)
    return sorted(result.values(), key=lambda c: (not c.gaps, c.name.lower(), c.fips))


def coverage_document(coverage: list[CountyCoverage], region_layer: str) -> dict[str, Any]:
    """The JSON form written into each release as coverage.json."""
    gaps: dict[str, int] = {g: 0 for g in GAP_LABELS}
    for c in coverage:
        for g in c.gaps:
            gaps[g] += 1
    return {
        "region_layer": region_layer,
        "gap_labels": GAP_LABELS,
        "summary": {
            "counties": len(coverage),
            "counties_with_gaps": sum(1 for c in coverage if c.gaps),
            "gaps": gaps,
        },
        "counties": [c.as_dict() for c in coverage],
    }


@lru_cache(maxsize=1)
def county_map() -> dict[str, Any]:
    """Missouri's county areas as SVG path data (built by scripts/build_county_map.py from the
    Census Bureau's cartographic boundaries)."""
    return json.loads((DATA_DIR / "mo_counties_map.json").read_text())


CSV_HEADER = [
    "County",
    "FIPS",
    "Region",
    "Gaps",
    "988 primary",
    "988 backup",
    "Mobile crisis teams",
    "Crisis centers serving the county",
    "Crisis centers in the region",
    "Sobering centers",
]


def coverage_csv_rows(coverage: list[CountyCoverage]) -> list[list[str]]:
    def names(refs: list[ServiceRef]) -> str:
        return "; ".join(f"{r.name} ({r.organization})" for r in refs)

    rows = [CSV_HEADER]
    for c in coverage:
        rows.append(
            [
                safe_cell(v)
                for v in (
                    c.name,
                    c.fips,
                    "; ".join(c.regions),
                    "; ".join(c.gap_labels),
                    names(c.primary_988),
                    names(c.backup_988),
                    names(c.mobile_teams),
                    names(c.crisis_centers),
                    c.crisis_centers_in_region,
                    names(c.sobering_centers),
                )
            ]
        )
    return rows
