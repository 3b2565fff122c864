"""Offline Missouri geography: which county a ZIP code lies in and its coordinates
(the `zipcodes` package's data; matched to county FIPS through the Census names)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import zipcodes

from models.reference.tables import county_rows


@dataclass(frozen=True)
class ZipInfo:
    zip_code: str
    city: str
    county_fips: str
    latitude: float
    longitude: float


def _key(name: str) -> str:
    return name.lower().replace(" ", "")


@cache
def _county_fips_by_name() -> dict[str, str]:
    return {_key(r["census_name"]): r["fips"] for r in county_rows()}


@cache
def missouri_zips() -> dict[str, ZipInfo]:
    by_name = _county_fips_by_name()
    out = {}
    for z in zipcodes.filter_by(state="MO"):
        fips = by_name.get(_key(z["county"]))
        if fips is None:
            continue
        out[z["zip_code"]] = ZipInfo(
            z["zip_code"], z["city"].title(), fips, float(z["lat"]), float(z["long"])
        )
    return out


def zip_info(zip_code: str) -> ZipInfo | None:
    return missouri_zips().get((zip_code or "").strip()[:5])


@cache
def zips_by_county() -> dict[str, list[ZipInfo]]:
    out: dict[str, list[ZipInfo]] = {}
    for info in sorted(missouri_zips().values(), key=lambda i: i.zip_code):
        out.setdefault(info.county_fips, []).append(info)
    return out


@cache
def county_centroids() -> dict[str, tuple[float, float]]:
    """Mean of the county's ZIP points: good enough to place a county on a rough map."""
    out = {}
    for fips, infos in zips_by_county().items():
        out[fips] = (
            sum(i.latitude for i in infos) / len(infos),
            sum(i.longitude for i in infos) / len(infos),
        )
    return out
