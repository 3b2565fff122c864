"""Benchmark: the statewide PDF directory vs a bare WeasyPrint baseline, side by side.

For N generated listing records (default 1,000 and 5,000) it renders, each in its own child
process (peak RSS is the largest of that child and the processes it starts):

* directory-1, directory-2 — `tasks.publishing.pdf` exactly as a release does, from an empty
  parts cache: the statewide directory's parts (runs of a service type's listings, the county
  index, "How to get help now") rendered in one process or two side by side, then the cover
  and the contents with their page numbers, the join (one structure tree, bookmarks) and the
  "Page n of m" frame;
* baseline — WeasyPrint on the same listing text (each entry's name and lines) as plain
  <div>/<h3>/<p> blocks with a minimal stylesheet and nothing else, as one document.

It prints listings/s, pages, peak RSS and the ratio of directory time to baseline time. With
--repeat R it runs R rounds, each of every kind in turn (a slow spell of a noisy machine then
touches every kind alike), and prints the median of the rounds' ratios beside the best times'.

    PYTHONPATH=$PWD .venv/bin/python bench/pdf.py [--sizes 1000,5000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import html
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TYPE_MIX = [  # the demo data's mix of service types
    ("988_center", 7),
    ("mobile_crisis", 12),
    ("bhcc", 8),
    ("urgent_bhcc", 2),
    ("crisis_residential", 2),
    ("sobering_center", 2),
    ("ere", 7),
    ("cit_council", 4),
    ("cbhl", 6),
    ("ybhl", 4),
]
WORDS = [
    "crisis",
    "care",
    "support",
    "team",
    "county",
    "valley",
    "river",
    "prairie",
    "hope",
    "bridge",
    "center",
    "behavioral",
    "health",
    "community",
    "access",
    "harbor",
    "summit",
    "ozark",
    "lantern",
    "oak",
    "cedar",
    "north",
    "south",
    "east",
    "west",
]


def reference():
    from models.reference import PILLAR_TITLES, SERVICE_TYPES, Pillar, county_rows

    counties = sorted(
        ({"fips": r["fips"], "name": r["display_name"]} for r in county_rows()),
        key=lambda c: c["fips"],
    )
    fips = [c["fips"] for c in counties]
    regions = [
        {"slug": f"region-{i}", "name": f"Region {i}", "layer": "bench", "counties": fips[i::8]}
        for i in range(8)
    ]
    types = [
        {
            **{k: t[k] for k in ("code", "name", "short_name", "pillar", "sort_order")},
            "pillar_title": PILLAR_TITLES[Pillar(t["pillar"])],
            "description": t.get("description", ""),
            "rule_citation": t.get("rule_citation", ""),
        }
        for t in SERVICE_TYPES
    ]
    return {"counties": counties, "regions": regions, "service_types": types}


def generate(n: int, ref, seed: int = 6) -> list[dict]:
    rnd = random.Random(seed)
    types = {t["code"]: t for t in ref["service_types"]}
    names = {c["fips"]: c["name"] for c in ref["counties"]}
    fips = list(names)
    codes = [c for c, w in TYPE_MIX for _ in range(w)]
    out = []
    for i in range(n):
        st = types[codes[i % len(codes)]]
        words = " ".join(rnd.choice(WORDS).capitalize() for _ in range(2))
        site = rnd.choice(fips) if st["pillar"] == "place" or rnd.random() < 0.3 else None
        spread = {"contact": 10, "respond": 3, "place": rnd.randint(0, 2), "support": 3}[
            st["pillar"]
        ]
        role = "primary" if st["code"] == "988_center" else "served"
        counties = sorted(rnd.sample(fips, spread))
        hours = {
            "is_24_7": st["pillar"] in ("contact", "respond", "place"),
            "weekly": {d: [["08:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
            "closures": [],
            "notes": "",
        }
        from models.listings import hours_lines

        out.append(
            {
                "id": f"00000000-0000-4000-8000-{i:012d}",
                "listing_id": i + 1,
                "revision": 1,
                "organization": {
                    "id": f"org-{i % 97}",
                    "name": f"{words} Behavioral Health {i % 97}",
                },
                "service_type": st["code"],
                "service_type_name": st["name"],
                "service_type_short": st["short_name"],
                "pillar": st["pillar"],
                "pillar_title": st["pillar_title"],
                "sort_order": st["sort_order"],
                "is_role": False,
                "name": f"{words} {st['short_name']} {i}",
                "description": " ".join(
                    rnd.choice(WORDS) for _ in range(rnd.randint(8, 30))
                ).capitalize()
                + ".",
                "address": {
                    "address_1": f"{100 + i} {words} St",
                    "address_2": "",
                    "city": names[site].split(" County")[0],
                    "state": "MO",
                    "postal_code": f"6{rnd.randint(3000, 5999)}",
                    "county_fips": site,
                }
                if site
                else None,
                "counties": [{"fips": f, "name": names[f], "role": role} for f in counties],
                "phones": [
                    {"kind": "voice", "number": f"+1573555{i % 10000:04d}", "description": ""}
                ]
                + (
                    [
                        {
                            "kind": "text",
                            "number": f"+1816555{i % 10000:04d}",
                            "description": "Text line",
                        }
                    ]
                    if i % 3 == 0
                    else []
                ),
                "chat_url": "",
                "email": f"intake{i}@example.org",
                "website": f"https://example.org/{i}",
                "hours": hours,
                "hours_text": hours_lines(hours),
                "is_24_7": hours["is_24_7"],
                "populations": rnd.sample(["adults", "youth", "families", "veterans"], 2),
                "min_age": None,
                "max_age": None,
                "languages": ["en", "es"],
                "eligibility_notes": "",
                "nonviolent_only": st["code"] == "sobering_center",
                "walk_in": st["pillar"] == "place",
                "le_dropoff": st["pillar"] == "place",
                "referral_sources": ["self", "law_enforcement"],
                "target_response_minutes": 60 if st["pillar"] == "respond" else None,
                "cost": "no_cost",
                "no_one_turned_away": True,
                "cost_notes": "",
                "capacity": 12 if st["pillar"] == "place" else None,
                "capacity_unit": "beds" if st["pillar"] == "place" else None,
                "max_stay_hours": 23 if st["pillar"] == "place" else None,
                "accessibility": "",
                "exclude_from_print": False,
                "verified_at": "2026-11-01T12:00:00+00:00",
                "approved_at": "2026-11-01T12:00:00+00:00",
                "modified_at": "2026-11-01T12:00:00+00:00",
                "certifications": [],
            }
        )
    out.sort(key=lambda r: (r["sort_order"], r["name"].lower(), r["id"]))
    return out


BASELINE_CSS = "@page { size: letter; margin: 0.75in; } html { font-family: 'DejaVu Sans'; font-size: 9pt; } div { margin-bottom: 6pt; }"


def baseline_html(records, ref) -> str:
    """The same listing text (each printed entry's name and lines) as plain blocks."""
    from tasks.publishing.entry import entry, region_names

    names = {c["fips"]: c["name"] for c in ref["counties"]}
    regions = region_names(ref["regions"])
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>baseline</title><style>{BASELINE_CSS}</style></head><body>"
    ]
    for r in records:
        v = entry(r, names, regions)
        lines = "".join(f"<p>{html.escape(line)}</p>" for line in v["lines"])
        parts.append(f"<div><h3>{html.escape(v['name'])}</h3>{lines}</div>")
    parts.append("</body></html>")
    return "".join(parts)


def child(kind: str, n: int, result_file: str) -> None:
    import logging

    logging.disable(logging.INFO)
    import weasyprint

    from admin import create_app
    from models.reference.geo import missouri_zips
    from tasks.publishing.context import BuildContext
    from tasks.publishing.pdf import (
        STATEWIDE,
        AssetsOnlyFetcher,
        assemble,
        part_jobs,
        plan_parts,
        render_parts,
        warm_up,
    )

    var = tempfile.mkdtemp(prefix="bench-pdf-")
    app = create_app(
        {"VAR_DIR": var, "DATABASE_URL": f"sqlite:///{var}/bench.db", "DEMO_BANNER": False}
    )
    ref = reference()
    records = generate(n, ref)
    out = Path(var) / "out"
    ctx = BuildContext(
        records=records, reference=ref, number=1, created_at=datetime.now(UTC), out_dir=out
    )
    target = ctx.path("pdf/directory.pdf")
    with app.app_context():
        if kind.startswith("directory"):
            # the ZIP table (the county index's distances) is loaded before the clock starts:
            # a release has loaded it in its feeds step (locations), before any print
            missouri_zips()
        start = time.perf_counter()
        if kind.startswith("directory"):
            # the statewide directory as a release makes it (`write_pdfs`): WeasyPrint warmed
            # before the fork, its parts rendered side by side in `workers` processes (an
            # empty parts cache), then cover, contents, join and frame
            workers = int(kind.rsplit("-", 1)[1])
            statewide = next(p for p in plan_parts(ctx, False) if p.doc.key == STATEWIDE)
            cache = Path(var) / "pdf-parts"
            cache.mkdir(exist_ok=True)  # (the plan may have kept county index rows there)
            jobs = part_jobs([statewide], cache)
            warm_up()
            render_parts(list(jobs.values()), workers)
            pages = assemble(statewide, ctx, False, cache)
        else:
            document = weasyprint.HTML(
                string=baseline_html(records, ref), url_fetcher=AssetsOnlyFetcher()
            ).render()
            document.write_pdf(target)
            pages = len(document.pages)
        seconds = time.perf_counter() - start
    Path(result_file).write_text(
        json.dumps({"seconds": seconds, "pages": pages, "bytes": target.stat().st_size})
    )


def run_child(kind: str, n: int) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        result_file = f.name
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", kind, str(n), result_file],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} render of {n} listings failed (exit {proc.returncode})")
    result = json.loads(Path(result_file).read_text())
    os.unlink(result_file)
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux: kilobytes
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds per size (each runs every kind in turn); prints the fastest of each kind "
        "over the fastest baseline, and the median and every round's ratio to that round's "
        "baseline",
    )
    parser.add_argument("--child", nargs=3, metavar=("KIND", "N", "RESULT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2])
        return
    import weasyprint

    print(
        f"WeasyPrint {weasyprint.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    print(
        f"{'listings':>8} {'kind':<10} {'seconds':>8} {'listings/s':>10} {'pages':>6} "
        f"{'peak RSS MB':>11} {'best/best':>11} {'median':>10} per round"
    )
    kinds = ("baseline", "directory-1", "directory-2")
    for n in (int(s) for s in args.sizes.split(",")):
        # rounds of every kind in turn, so a slow spell of the machine touches all of them
        rounds = [{kind: run_child(kind, n) for kind in kinds} for _ in range(args.repeat)]
        for kind in kinds:
            runs = [r[kind] for r in rounds]
            best = min(runs, key=lambda r: r["seconds"])
            ratios = sorted(r[kind]["seconds"] / r["baseline"]["seconds"] for r in rounds)
            print(
                f"{n:>8} {kind:<11} {best['seconds']:>8.1f} {n / best['seconds']:>10.0f} "
                f"{best['pages']:>6} {max(r['peak_rss_mb'] for r in runs):>11.0f} "
                f"{best['seconds'] / min(r['baseline']['seconds'] for r in rounds):>10.2f}× "
                f"{ratios[len(ratios) // 2]:>9.2f}× " + " ".join(f"{x:.2f}" for x in ratios)
            )


if __name__ == "__main__":
    main()
