"""Release writer: counties.json, Missouri's 115 county-level areas as consumers need them to
turn what a person types (a county name, a ZIP code) into the FIPS code the API filters on.

Each area: FIPS, name, kind ("county", or "city" for the independent City of St. Louis, so
"St. Louis" is never ambiguous), the ZIP codes whose centroid lies in it (each with that
centroid) and the area's centroid (the mean of its ZIP centroids). ZIP data: the `zipcodes`
package (US Census ZCTA centroids), offline."""

from __future__ import annotations

from typing import Any

from models.reference import county_centroids, zips_by_county

from .context import BuildContext

FILENAME = "counties.json"
INDEPENDENT_CITIES = {"29510"}  # St. Louis city


def counties_document(reference: dict[str, Any]) -> list[dict[str, Any]]:
    zips = zips_by_county()
    centroids = county_centroids()
    out = []
    for c in reference.get("counties", []):
        fips = c["fips"]
        lat, lon = centroids.get(fips, (None, None))
        out.append(
            {
                "fips": fips,
                "name": c["name"],
                "kind": "city" if fips in INDEPENDENT_CITIES else "county",
                "latitude": round(lat, 4) if lat is not None else None,
                "longitude": round(lon, 4) if lon is not None else None,
                "zip_codes": [
                    {
                        "zip_code": z.zip_code,
                        "city": z.city,
                        "latitude": z.latitude,
                        "longitude": z.longitude,
                    }
                    for z in zips.get(fips, [])
                ],
            }
        )
    return out


def write_counties(ctx: BuildContext) -> None:
    from .writers import dump_json

    ctx.write(FILENAME, dump_json(counties_document(ctx.reference)))
