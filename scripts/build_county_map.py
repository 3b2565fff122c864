"""Reduce the Census Bureau's county boundaries (npm package `us-atlas`, counties-10m.json
TopoJSON) to Missouri's 115 county areas as SVG path data, written to
models/reference/data/mo_counties_map.json.

Usage (the package is fetched into a temporary folder, never into the project):

    cd /tmp && npm pack us-atlas && tar xzf us-atlas-*.tgz
    python scripts/build_county_map.py /tmp/package/counties-10m.json

TopoJSON is decoded here (quantized, delta-encoded arcs; a negative index means the arc
reversed). Arcs are simplified once (Douglas-Peucker) before rings are assembled, so a border
shared by two counties stays identical on both sides. Coordinates are projected with an
equirectangular projection scaled by cos(latitude) at Missouri's centre, which is accurate
to well under a pixel at this size."""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "models" / "data" / "mo_counties_map.json"
COUNTIES_CSV = ROOT / "models" / "data" / "counties.csv"
STATE_FIPS = "29"
WIDTH = 600.0
PAD = 4.0
TOLERANCE = 0.6  # SVG units for Douglas-Peucker


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    scale = topology.get("transform", {}).get("scale", [1, 1])
    translate = topology.get("transform", {}).get("translate", [0, 0])
    quantized = "transform" in topology
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy, *_ in arc:
            if quantized:
                x += dx
                y += dy
                points.append((x * scale[0] + translate[0], y * scale[1] + translate[1]))
            else:
                points.append((dx, dy))
        arcs.append(points)
    return arcs


def perpendicular(p, a, b) -> float:
    (x, y), (x1, y1), (x2, y2) = p, a, b
    dx, dy = x2 - x1, y2 - y1
    if dx == 0 and dy == 0:
        return math.hypot(x - x1, y - y1)
    return abs(dy * x - dx * y + x2 * y1 - y2 * x1) / math.hypot(dx, dy)


def simplify(points: list[tuple[float, float]], tolerance: float) -> list[tuple[float, float]]:
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        best, index = 0.0, None
        for i in range(first + 1, last):
            d = perpendicular(points[i], points[first], points[last])
            if d > best:
                best, index = d, i
        if index is not None and best > tolerance:
            keep[index] = True
            stack.append((first, index))
            stack.append((index, last))
    return [p for p, k in zip(points, keep, strict=True) if k]


def rings_of(geometry: dict) -> list[list[int]]:
    if geometry["type"] == "Polygon":
        return list(geometry["arcs"])
    if geometry["type"] == "MultiPolygon":
        return [ring for polygon in geometry["arcs"] for ring in polygon]
    return []


def build(topology: dict) -> dict:
    geometries = [
        g
        for g in topology["objects"]["counties"]["geometries"]
        if str(g.get("id", "")).startswith(STATE_FIPS)
    ]
    arcs = decode_arcs(topology)
    used = {i if i >= 0 else ~i for g in geometries for ring in rings_of(g) for i in ring}
    lons = [p[0] for i in used for p in arcs[i]]
    lats = [p[1] for i in used for p in arcs[i]]
    lat0 = math.radians((min(lats) + max(lats)) / 2)
    kx = math.cos(lat0)
    x_min, x_max = min(lons) * kx, max(lons) * kx
    y_min, y_max = min(lats), max(lats)
    s = (WIDTH - 2 * PAD) / (x_max - x_min)
    height = (y_max - y_min) * s + 2 * PAD

    def project(lon: float, lat: float) -> tuple[float, float]:
        return (PAD + (lon * kx - x_min) * s, PAD + (y_max - lat) * s)

    projected = {i: simplify([project(*p) for p in arcs[i]], TOLERANCE) for i in used}

    names = {}
    with open(COUNTIES_CSV, newline="") as f:
        for row in csv.DictReader(f):
            names[row["fips"]] = row["display_name"]

    counties = []
    for g in sorted(geometries, key=lambda g: g["id"]):
        fips = str(g["id"])
        parts = []
        xs, ys = [], []
        for ring in rings_of(g):
            points: list[tuple[float, float]] = []
            for i in ring:
                seg = projected[i] if i >= 0 else list(reversed(projected[~i]))
                points.extend(seg if not points else seg[1:])
            if len(points) < 3:
                continue
            xs.extend(p[0] for p in points)
            ys.extend(p[1] for p in points)
            parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in points) + "Z")
        if fips not in names:
            raise SystemExit(f"{fips} is in the atlas but not in counties.csv")
        counties.append(
            {
                "fips": fips,
                "name": names[fips],
                "d": "".join(parts),
                # a point inside the county's bounding box, for labels
                "cx": round((min(xs) + max(xs)) / 2, 1),
                "cy": round((min(ys) + max(ys)) / 2, 1),
            }
        )
    missing = set(names) - {c["fips"] for c in counties}
    if missing:
        raise SystemExit(f"counties.csv areas missing from the atlas: {sorted(missing)}")
    return {
        "source": "U.S. Census Bureau cartographic boundary files via the npm package us-atlas (counties-10m.json)",
        "projection": f"equirectangular, x scaled by cos({math.degrees(lat0):.2f} deg)",
        "width": round(WIDTH, 1),
        "height": round(height, 1),
        "counties": counties,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("topojson", type=Path, help="path to us-atlas counties-10m.json")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    data = build(json.loads(args.topojson.read_text()))
    args.out.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"{len(data['counties'])} county areas, {args.out.stat().st_size} bytes -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
