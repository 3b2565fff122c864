"""The statewide directory and its companions, rendered from a demo release."""

from __future__ import annotations

import copy
import json

import pypdf
from pdf_helpers import HOSTILE, demo_context, flat, pdf_text


def printed(records):
    return [r for r in records if not r["exclude_from_print"]]


def test_every_printed_listing_is_in_the_statewide_directory(demo_build):
    text = flat(demo_build.text)
    names = [r["name"] for r in printed(demo_build.ctx.records)]
    assert len(names) > 40
    missing = [n for n in names if flat(n) not in text]
    assert missing == []


def test_listings_excluded_from_print_are_left_out(demo_build):
    excluded = [r for r in demo_build.ctx.records if r["exclude_from_print"]]
    assert excluded, "the demo data has a listing excluded from print"
    for r in excluded:
        assert flat(r["name"]) not in flat(demo_build.text)
        for pdf in (demo_build.out / "pdf").glob("*.pdf"):
            assert r["id"] not in pdf.read_bytes().decode("latin-1")


def test_every_county_is_in_the_index(demo_build):
    text = flat(demo_build.text)
    index = text[text.index("County index For each county") :]
    counties = demo_build.ctx.reference["counties"]
    assert len(counties) == 115
    assert [c["name"] for c in counties if c["name"] not in index] == []


def test_structure_cover_contents_and_page_numbers(demo_build):
    reader = pypdf.PdfReader(demo_build.statewide)
    pages = len(reader.pages)
    assert pages > 1
    text = flat(demo_build.text)
    assert "Release 1 Printed" in text
    assert "Data approved by DMH as of" in text
    assert "How to get help now" in text and "Call or text 988" in text and "911" in text
    assert "DEMO DATA – fictional" in text
    for pillar in (
        "Someone to contact",
        "Someone to respond",
        "A safe place for help",
        "Partners and liaisons",
    ):
        assert pillar in text
    assert f"Page 2 of {pages}" in text and f"Page {pages} of {pages}" in text
    contents = flat(reader.pages[2].extract_text())
    assert contents.startswith("Contents")
    assert "988 crisis centers (7)" in contents and "...." in contents  # leaders to page numbers


def test_phones_hours_and_coverage_are_printed(demo_build):
    text = flat(demo_build.text)
    assert "Call (" in text
    assert "Open 24 hours, every day" in text
    assert "Backup for all 115 county areas" in text


def test_tagged_titled_letter_with_embedded_fonts(demo_build):
    reader = pypdf.PdfReader(demo_build.statewide)
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root
    assert root["/MarkInfo"]["/Marked"]
    assert root["/Lang"] == "en-US"
    assert reader.metadata.title == "Missouri Crisis Services Directory"
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)
    fonts = reader.pages[3]["/Resources"]["/Font"]
    assert len(fonts) >= 2  # the text's fonts and the page frame's
    for ref in fonts.values():
        font = ref.get_object()
        if "/DescendantFonts" in font:  # WeasyPrint's CID fonts
            font = font["/DescendantFonts"][0].get_object()
        descriptor = font["/FontDescriptor"]
        assert "/FontFile2" in descriptor or "/FontFile3" in descriptor


def test_provider_html_is_printed_as_text_and_nothing_remote_is_fetched(demo_build):
    text = flat(demo_build.text)
    assert flat(HOSTILE[:60]) in text  # the entry's one line of description, as text
    assert flat(demo_build.hostile["name"]) in text
    assert demo_build.fetched, "the stylesheet goes through the fetcher"
    assert all(
        u.startswith("file://") and "/templates/pdf/assets/" in u for u in demo_build.fetched
    )


def test_one_pdf_per_type_and_region_with_inputs(demo_build):
    ctx = demo_build.ctx
    names = {p.name for p in (demo_build.out / "pdf").glob("*.pdf")}
    types = {r["service_type"] for r in printed(ctx.records)}
    expected = (
        {"directory.pdf"}
        | {f"type-{t}.pdf" for t in types}
        | {f"region-{g['slug']}.pdf" for g in ctx.reference["regions"]}
    )
    assert names == expected
    inputs = json.loads((demo_build.out / "pdf" / "inputs.json").read_text())
    assert set(inputs) == {f"pdf/{n}" for n in names}
    assert all(len(v) == 64 for v in inputs.values())
    mobile = flat(pdf_text(demo_build.out / "pdf" / "type-mobile_crisis.pdf"))
    for r in printed(ctx.records):
        assert (flat(r["name"]) in mobile) == (r["service_type"] == "mobile_crisis")


def test_region_pdf_holds_the_listings_serving_its_counties(demo_build):
    ctx = demo_build.ctx
    region = next(g for g in ctx.reference["regions"] if g["slug"] == "st-louis-metro")
    text = flat(pdf_text(demo_build.out / "pdf" / "region-st-louis-metro.pdf"))
    fips = set(region["counties"])
    for r in printed(ctx.records):
        site = (r.get("address") or {}).get("county_fips")
        covers = {c["fips"] for c in r["counties"]} | ({site} if site else set())
        if covers & fips:
            assert flat(r["name"]) in text


def test_unchanged_build_reuses_every_pdf(app, demo_build, tmp_path, render_spy):
    from tasks.publishing.pdf import write_pdfs

    ctx = demo_context(
        tmp_path,
        number=2,
        records=copy.deepcopy(demo_build.ctx.records),
        reference=demo_build.ctx.reference,
        previous_dir=demo_build.out,
    )
    done = write_pdfs(ctx)
    assert render_spy == []
    assert done["rendered"] == [] and done["assembled"] == []
    assert len(done["reused"]) == len(list((demo_build.out / "pdf").glob("*.pdf")))
    for pdf in (demo_build.out / "pdf").glob("*.pdf"):
        again = tmp_path / "pdf" / pdf.name
        assert again.read_bytes() == pdf.read_bytes()
    assert (tmp_path / "pdf" / "inputs.json").read_text() == (
        demo_build.out / "pdf" / "inputs.json"
    ).read_text()


def test_changed_listing_renders_its_parts_again_and_reassembles_what_prints_it(
    app, demo_build, tmp_path, render_spy, monkeypatch
):
    from tasks.publishing.pdf import write_pdfs

    monkeypatch.setitem(app.config, "PDF_WORKERS", 1)  # renders in this process: spied
    records = copy.deepcopy(demo_build.ctx.records)
    changed = next(
        r for r in records if r["service_type"] == "sobering_center" and not r["exclude_from_print"]
    )
    changed["phones"][0]["number"] = "+15735559999"
    ctx = demo_context(
        tmp_path,
        number=2,
        records=records,
        reference=demo_build.ctx.reference,
        previous_dir=demo_build.out,
    )
    done = write_pdfs(ctx)
    site = (changed.get("address") or {}).get("county_fips")
    covers = {c["fips"] for c in changed["counties"]} | ({site} if site else set())
    regions = {
        f"pdf/region-{g['slug']}.pdf"
        for g in ctx.reference["regions"]
        if covers & set(g["counties"])
    }
    assert regions
    expected = {"pdf/directory.pdf", "pdf/type-sobering_center.pdf"} | regions
    assert set(done["assembled"]) == expected
    # laid out again: the sobering centers' section (shared by the statewide and the
    # per-type directory) and the county index (the center is among the nearest places, with
    # its phone), and in each region it serves, that region's sobering centers and index;
    # nothing else (the other types' sections, the other regions)
    assert len(done["rendered"]) == 2 + 2 * len(regions)
    parts = [  # not the front matter: each document's cover, its help and contents pages
        name
        for name in render_spy
        if not (name.endswith(".cover.pdf") or name.startswith("front-"))
    ]
    assert len(parts) == len(done["rendered"])
    # each reassembled document's cover (release number, date) is new; its help and contents
    # pages are the cached ones: a number of the same length moves no page
    assert sorted(n for n in render_spy if n.endswith(".cover.pdf")) == sorted(
        f"{key.removeprefix('pdf/')}.cover.pdf" for key in expected
    )
    assert [n for n in render_spy if n.startswith("front-")] == []
    assert "(573) 555-9999" in pdf_text(tmp_path / "pdf" / "directory.pdf")
    assert "(573) 555-9999" in pdf_text(tmp_path / "pdf" / "type-sobering_center.pdf")
    before = json.loads((demo_build.out / "pdf" / "inputs.json").read_text())
    after = json.loads((tmp_path / "pdf" / "inputs.json").read_text())
    assert {k for k in after if after[k] != before[k]} == expected
