"""A printed entry a person can use: at most eight one-line lines, phones first, counties
summarised; and a county index that names the few services to call."""

from __future__ import annotations

import copy

import pytest
import weasyprint
from pdf_helpers import flat


def county(fips, name, role="served"):
    return {"fips": fips, "name": name, "role": role}


def test_county_summary_all_areas_region_or_first_names_then_count():
    from tasks.publishing.entry import counties_line

    names = [f"County {i:02d}" for i in range(115)]
    everywhere = {"counties": [county(f"29{i:03d}", n) for i, n in enumerate(names)]}
    assert counties_line(everywhere, 115) == "Serves all 115 county areas"

    ten = {"counties": [county(f"29{i:03d}", n) for i, n in enumerate(names[:10])]}
    line = counties_line(ten, 115)
    assert line == (
        "Serves County 00, County 01, County 02, County 03, County 04, County 05 + 4 more"
    )
    region = {frozenset(c["fips"] for c in ten["counties"]): "Northwest region"}
    assert counties_line(ten, 115, region) == "Serves Northwest region"

    both = {
        "counties": [
            county(f"29{i:03d}", f"A long county name {i:02d}", "primary") for i in range(9)
        ]
        + [county(f"29{i:03d}", f"A long county name {i:02d}", "backup") for i in range(9, 30)]
    }
    line = counties_line(both, 115)
    assert line.startswith("Primary for A long county name 00") and "; Backup for " in line
    assert "+ 8 more" in line or "+ 7 more" in line  # the count is printed, never cut
    assert len(line) <= 100


def test_phone_line_keeps_whole_numbers_and_counts_the_rest():
    from tasks.publishing.entry import entry

    record = {
        "name": "Line",
        "organization": {"name": "Org"},
        "phones": [
            {"kind": "voice", "number": "+15735550100"},
            {"kind": "fax", "number": "+15735550109"},
            {"kind": "text", "number": "+15735550101"},
            {"kind": "tty", "number": "+15735550102"},
            {"kind": "voice", "number": "+15735550103"},
            {"kind": "voice", "number": "+15735550104"},
        ],
        "chat_url": "https://chat.example.org/",
    }
    lines = entry(record, {})["lines"]
    assert lines[0] == (
        "Call (573) 555-0100 · Text (573) 555-0101 · TTY (573) 555-0102 · Chat online"
        " · + 2 more online"
    )
    assert "555-0109" not in " ".join(lines)  # fax numbers are not for a person in crisis


def worst_case(record):
    """Every printed field of `record` as long as a provider can make it."""
    r = copy.deepcopy(record)
    long = "Very long words and more " * 30
    r["name"] = "A name that goes on " * 10
    r["description"] = long
    r["phones"] = [
        {"kind": k, "number": "+1573555010" + str(i)}
        for i, k in enumerate(["voice", "text", "tty", "videophone", "voice"])
    ]
    r["chat_url"] = "https://chat.example.org/" + "x" * 200
    r["address"] = {
        "address_1": "1234 " + "Long Street Name " * 8,
        "address_2": "Suite " + "9" * 40,
        "city": "Excelsior Springs",
        "state": "MO",
        "postal_code": "65201",
        "county_fips": "29019",
    }
    r["hours_text"] = [f"Day {i}: 8:00am–5:00pm, 6:00pm–midnight" for i in range(9)]
    r["is_24_7"] = False
    r["populations"] = ["adults", "youth", "families", "older_adults", "veterans", "lgbtq"]
    r["languages"] = ["es", "asl", "en", "vi", "bs", "ar"]
    r["walk_in"] = r["le_dropoff"] = r["no_one_turned_away"] = r["nonviolent_only"] = True
    r["min_age"], r["max_age"] = 12, 99
    r["counties"] = [
        {"fips": f"29{2 * i + 1:03d}", "name": f"Countyname {i}", "role": role}
        for i, role in zip(range(57), ["primary", "backup", "served"] * 19, strict=False)
    ]
    r["website"] = "https://www.example.org/" + "y" * 150
    return r


def lines_per_listing(html: str) -> list[int]:
    """Laid-out line boxes of each printed entry (WeasyPrint's own layout, page by page)."""
    from weasyprint.formatting_structure.boxes import LineBox

    from tasks.publishing.pdf import ASSETS_DIR, AssetsOnlyFetcher

    document = weasyprint.HTML(
        string=html, base_url=ASSETS_DIR.as_uri() + "/", url_fetcher=AssetsOnlyFetcher()
    ).render()
    counts: list[int] = []

    def walk(box, inside: list[int] | None):
        classes = (box.element.get("class") or "").split() if box.element is not None else []
        if "listing" in classes and box.element_tag == "div":
            inside = [0]
            counts.append(0)
        if isinstance(box, LineBox) and inside is not None:
            counts[-1] += 1
            return
        for child in getattr(box, "children", []) or []:
            walk(child, inside)

    for page in document.pages:
        walk(page._page_box, None)
    return counts


def test_every_entry_is_at_most_eight_printed_lines_even_at_its_longest(app, demo_build):
    from tasks.publishing.entry import MAX_LINES, entry
    from tasks.publishing.pdf import Part, part_html, type_sections

    ctx = demo_build.ctx
    records = [r for r in ctx.records if not r["exclude_from_print"]]
    records = records + [worst_case(r) | {"id": r["id"] + "-long"} for r in records[:6]]
    names = {c["fips"]: c["name"] for c in ctx.reference["counties"]}
    views = {r["id"]: entry(r, names) for r in records}
    sections = type_sections(records, ctx.reference, views)
    html = part_html(Part({"title": "Test", "sections": sections, "index": []}))
    counts = lines_per_listing(html)
    assert len(counts) == len(records)
    assert max(counts) <= MAX_LINES
    assert max(counts) == MAX_LINES  # the worst case fills every line: the check can fail


def test_a_long_line_is_cut_at_a_word_with_an_ellipsis():
    from tasks.publishing.entry import clip

    assert clip("short") == "short"
    text = clip("word " * 40, 30)
    assert len(text) <= 30 and text.endswith("word…")


@pytest.mark.parametrize("name", ["Boone County", "St. Louis City"])
def test_index_names_who_answers_who_comes_and_the_nearest_places(demo_build, name):
    from tasks.publishing.entry import INDEX_PLACES

    text = flat(demo_build.text)
    index = text[text.index("County index For each county") :]
    row = index[index.index(f"{name} 988: ") :]
    row = row[: row.index("Nearest places for help: ") + 400]
    assert "(primary), (" in row and "(backup), (" in row
    assert "Mobile crisis: " in row and "Mobile crisis: call 988" not in row
    places = row[row.index("Nearest places for help: ") :].split(" mi)")
    assert 1 <= len(places) - 1 <= INDEX_PLACES


def test_entries_are_kept_between_builds_for_unchanged_records(app, tmp_path):
    """A build keeps the previous build's entry of a listing whose record digest did not
    change; a changed digest, or other county names, makes the entry again."""
    import copy

    from pdf_helpers import demo_context

    from models.reference import snapshot_county_names
    from tasks.publishing import entry
    from tasks.publishing.pdf import entry_views

    ctx = demo_context(tmp_path)
    ctx.digests = {r["id"]: f"digest-{r['id']}" for r in ctx.records}
    names = snapshot_county_names(ctx.reference)
    regions = entry.region_names(ctx.reference["regions"])
    first = entry_views(ctx, names, regions)
    assert first and all(
        v == entry.entry(r, names, regions)
        for r in ctx.records
        if (v := first.get(r["id"])) is not None
    )

    changed = ctx.records[0]
    changed["name"] = changed["name"] + " (renamed)"
    ctx.digests[changed["id"]] = "digest-changed"
    second = entry_views(ctx, names, regions)
    for sid, view in second.items():
        if sid == changed["id"]:
            assert view is not first[sid] and "(renamed)" in str(view)
        else:
            assert view is first[sid]  # kept, not made again

    renamed = copy.deepcopy(names)
    fips = next(iter(renamed))
    renamed[fips] = "Renamed County"
    third = entry_views(ctx, renamed, regions)
    assert all(third[sid] is not second[sid] for sid in third)
