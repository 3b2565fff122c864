"""How one listing is printed, and the county index: short enough to use in a hurry.

A printed entry is at most eight lines (`MAX_LINES`): its name, what it is (one line of the
description), phones first, the address, the hours, who it serves and how to get in, the
counties it covers (summarised), and who runs it. Each line is one printed line: the
stylesheet keeps every line on one line (`white-space: nowrap`, an ellipsis where it does not
fit) and this module keeps each line's text within `LINE_BUDGET` characters, so nothing a
person needs first (a phone number) is cut. The full record is in the feeds and online.

The county index answers "who do I call for this county": the 988 center (primary, backup),
the mobile crisis team(s), and the nearest places for help, each with its phone."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from models.listings import ANSWERING_ROLES, CountyRole
from models.listings import fields as F
from models.reference import county_centroids, zip_info

MAX_LINES = 8
LINE_BUDGET = 100  # characters that fit one line of the entry at the stylesheet's size
MAX_PHONES = 3  # numbers on the phone line; more are online
SUMMARY_COUNTIES = 6  # county names printed before "+ n more"
INDEX_PLACES = 3  # nearest places for help per county in the index
INDEX_MOBILE = 3  # mobile teams per county in the index


def clip(text: str, budget: int = LINE_BUDGET) -> str:
    """`text` on one line within `budget` characters, cut at a word with an ellipsis."""
    text = " ".join((text or "").split())
    if len(text) <= budget:
        return text
    cut = text[: budget - 1]
    space = cut.rfind(" ")
    if space > budget // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;·–-") + "…"


def join(parts: Iterable[str], sep: str = " · ") -> str:
    return sep.join(p for p in parts if p)


def phone_text(phone: dict[str, Any]) -> str:
    kind = F.PHONE_KINDS.get(phone.get("kind") or "", "Call")
    return f"{kind} {F.format_phone(phone.get('number', ''))}"


def phones_line(record: dict[str, Any]) -> str:
    phones = [p for p in record.get("phones") or [] if p.get("kind") != "fax"]
    shown = [phone_text(p) for p in phones[:MAX_PHONES]]
    if record.get("chat_url"):
        shown.append("Chat online")
    more = len(phones) - MAX_PHONES
    if more > 0:
        shown.append(f"+ {more} more online")
    return join(shown)


def address_line(record: dict[str, Any], county_names: dict[str, str]) -> str:
    a = record.get("address") or {}
    if not a.get("address_1"):
        return ""
    street = join((a.get("address_1"), a.get("address_2")), ", ")
    town = f"{a.get('city', '')}, {a.get('state') or 'MO'} {a.get('postal_code', '')}".strip()
    county = county_names.get(a.get("county_fips") or "", "")
    return join((street, town + (f" ({county})" if county else "")), ", ")


def hours_line(record: dict[str, Any]) -> str:
    if record.get("is_24_7"):
        return "Open 24 hours, every day"
    return join(record.get("hours_text") or [], "; ")


def _ages(lo, hi) -> str:
    if lo is not None and hi is not None:
        return f"ages {lo}–{hi}"
    if lo is not None:
        return f"ages {lo}+"
    if hi is not None:
        return f"ages up to {hi}"
    return ""


def serves_line(record: dict[str, Any]) -> str:
    """Who it serves and how to get in, then the catalogue's printed fields ("Label: text")."""
    populations = ", ".join(F.POPULATIONS.get(p, p) for p in record.get("populations") or [])
    languages = [F.LANGUAGES.get(code, code) for code in record.get("languages") or []]
    return join(
        (
            populations,
            _ages(record.get("min_age"), record.get("max_age")),
            "nonviolent people only" if record.get("nonviolent_only") else "",
            "walk-ins welcome" if record.get("walk_in") else "",
            "law-enforcement drop-off" if record.get("le_dropoff") else "",
            "no one turned away for inability to pay" if record.get("no_one_turned_away") else "",
            ", ".join(x for x in languages if x != "English"),
            *(f"{label}: {text}" for label, text in F.print_lines(record)),
        )
    )


def region_names(regions: list[dict[str, Any]]) -> dict[frozenset[str], str]:
    return {frozenset(r["counties"]): r["name"] for r in regions}


def counties_line(
    record: dict[str, Any], total: int, regions: dict[frozenset[str], str] | None = None
) -> str:
    """'988 primary for all 115 county areas', a region's name, or up to six county names
    then '+ n more' — one clause per role."""
    by_role: dict[str, list[str]] = {}
    fips_by_role: dict[str, set[str]] = {}
    for c in record.get("counties") or []:
        role = c.get("role") or CountyRole.SERVED
        by_role.setdefault(role, []).append(c["name"])
        fips_by_role.setdefault(role, set()).add(c["fips"])
    roles = [role for role in (*ANSWERING_ROLES, CountyRole.SERVED) if by_role.get(role)]
    clauses = []
    for role in roles:
        label = "Serves" if role == CountyRole.SERVED else f"{CountyRole(role).label} for"
        budget = LINE_BUDGET // len(roles) - len(label) - 3
        summary = county_summary(sorted(by_role[role]), fips_by_role[role], total, regions, budget)
        clauses.append(f"{label} {summary}")
    return join(clauses, "; ")


def county_summary(
    names: list[str],
    fips: set[str],
    total: int,
    regions: dict[frozenset[str], str] | None,
    budget: int = LINE_BUDGET,
) -> str:
    """All county areas, the region they make up, or the first names and '+ n more' (as
    many names as fit `budget`, at most SUMMARY_COUNTIES; the count is never cut)."""
    if len(names) == total:
        return f"all {total} county areas"
    region = (regions or {}).get(frozenset(fips))
    if region:
        return region
    for shown in range(min(len(names), SUMMARY_COUNTIES), 0, -1):
        rest = len(names) - shown
        text = ", ".join(names[:shown]) + (f" + {rest} more" if rest else "")
        if len(text) <= budget:
            return text
    return f"{len(names)} county areas"


def entry(
    record: dict[str, Any],
    county_names: dict[str, str],
    regions: dict[frozenset[str], str] | None = None,
) -> dict[str, Any]:
    """The printed entry of one listing: a name and at most seven more lines of plain text
    (escaped by the template)."""
    org = record["organization"]
    lines = [
        clip(record.get("description") or ""),
        clip(phones_line(record)),
        clip(address_line(record, county_names)),
        clip(hours_line(record)),
        clip(serves_line(record)),
        clip(counties_line(record, len(county_names), regions)),
        clip(join((f"Run by {org['name']}", record.get("website") or org.get("website") or ""))),
    ]
    first_phone = next(iter(record.get("phones") or []), {})
    return {
        "id": record.get("id", ""),
        "name": clip(record["name"]),
        "lines": [line for line in lines if line],
        "phone": F.format_phone(first_phone.get("number", "")),
    }


# ------------------------------------------------------------------ the county index


def miles(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in miles between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 3958.8 * 2 * math.asin(math.sqrt(h))


def site_point(record: dict[str, Any]) -> tuple[float, float] | None:
    """Where a place for help is: its coordinates, else its ZIP code's centroid."""
    lat, lon = record.get("latitude"), record.get("longitude")
    if lat is not None and lon is not None:
        try:
            return float(lat), float(lon)
        except (TypeError, ValueError):
            pass
    info = zip_info((record.get("address") or {}).get("postal_code") or "")
    return (info.latitude, info.longitude) if info else None


def _with_phone(name: str, phone: str) -> str:
    return f"{name}, {phone}" if phone else name


def county_rows(
    fips_wanted: Iterable[str],
    counties: list[dict[str, Any]],
    records: list[dict[str, Any]],
    entries: dict[str, dict[str, Any]],
    kinds: dict[str, str],
) -> list[dict[str, Any]]:
    """Per county (alphabetical): who answers 988 (primary first), which mobile teams come,
    and the nearest places for help with their distance. `kinds` maps a record id to
    "988", "mobile" or "place" (records of other kinds are not in the index)."""
    wanted = set(fips_wanted)
    answer: dict[str, list[tuple[int, str]]] = {f: [] for f in wanted}
    mobile: dict[str, list[str]] = {f: [] for f in wanted}
    places = []
    rank = {CountyRole.PRIMARY: 0, CountyRole.BACKUP: 1}
    for r in records:
        kind = kinds.get(r["id"])
        e = entries[r["id"]]
        if kind == "place":
            point = site_point(r)
            if point:
                places.append((point, e))
            continue
        for c in r.get("counties") or []:
            if c["fips"] not in wanted:
                continue
            role = c.get("role") or CountyRole.SERVED
            if kind == "988":
                label = e["name"] + (f" ({role})" if role in rank else "")
                answer[c["fips"]].append((rank.get(role, 2), _with_phone(label, e["phone"])))
            elif kind == "mobile":
                mobile[c["fips"]].append(_with_phone(e["name"], e["phone"]))
    centroids = county_centroids()
    out = []
    for county in sorted(counties, key=lambda c: c["name"].lower()):
        fips = county["fips"]
        if fips not in wanted:
            continue
        out.append(
            {
                "fips": fips,
                "name": county["name"],
                "c988": [text for _, text in sorted(answer[fips])],
                "mobile": sorted(mobile[fips])[:INDEX_MOBILE],
                "mobile_more": max(0, len(mobile[fips]) - INDEX_MOBILE),
                "place": nearest(centroids.get(fips), places),
            }
        )
    return out


def nearest(
    centre: tuple[float, float] | None, places: list[tuple[tuple[float, float], dict[str, Any]]]
) -> list[str]:
    if centre is None:
        return []
    ranked = sorted(places, key=lambda p: (miles(centre, p[0]), p[1]["name"]))[:INDEX_PLACES]
    return [
        f"{_with_phone(e['name'], e['phone'])} ({round(miles(centre, point))} mi)"
        for point, e in ranked
    ]
