"""A directory assembled from parts is still one accessible document: one structure tree
whose pages and elements line up, bookmarks nested by pillar and pointing at their pages,
title and language, contents with the right page numbers, "Page n of m" as an artifact."""

from __future__ import annotations

import re

import pypdf
from pdf_helpers import demo_context, flat, pdf_text


def structure(reader: pypdf.PdfReader):
    root = reader.trailer["/Root"]["/StructTreeRoot"]
    nums = root["/ParentTree"].get_object()["/Nums"]
    keys = [int(nums[i]) for i in range(0, len(nums), 2)]
    return root, keys


def test_one_structure_tree_lines_up_with_the_pages(demo_build):
    reader = pypdf.PdfReader(demo_build.statewide)
    root, keys = structure(reader)
    nums = root["/ParentTree"].get_object()["/Nums"]
    assert len(keys) == len(set(keys)) and int(root["/ParentTreeNextKey"]) == max(keys) + 1
    page_keys = [int(p["/StructParents"]) for p in reader.pages]
    assert len(set(page_keys)) == len(reader.pages) and set(page_keys) <= set(keys)
    pages = {p.indirect_reference.idnum for p in reader.pages}
    kids = root["/K"]
    document = (kids[0] if isinstance(kids, list) else kids).get_object()
    assert document["/S"] == "/Document"
    seen, stack = 0, list(document["/K"])
    while stack:
        element = stack.pop().get_object()
        if not isinstance(element, dict):
            continue
        if "/Pg" in element:
            assert element.raw_get("/Pg").idnum in pages  # every element points into this document
            seen += 1
        k = element.get("/K")
        stack.extend(k if isinstance(k, list) else [k] if k is not None else [])
    assert seen > 500
    # every element the pages' marked content names is in the tree: a kid of its parent, up
    # to the root (margin boxes used to leave one detached element per page)
    values = [nums[i].get_object() for i in range(1, len(nums), 2)]
    for value in values:
        for element in value if isinstance(value, list) else [value]:
            element = element.get_object()
            while element.get("/Type") != "/StructTreeRoot":
                parent = element["/P"].get_object()
                k = parent["/K"]
                kids = [x.get_object() for x in (k if isinstance(k, list) else [k])]
                assert any(x is element or x == element for x in kids), element.get("/S")
                element = parent


def bookmarks(reader: pypdf.PdfReader, items=None, depth=0):
    out = []
    for item in reader.outline if items is None else items:
        if isinstance(item, list):
            out[-1][2].extend(bookmarks(reader, item, depth + 1))
        else:
            out.append((item.title, reader.get_destination_page_number(item), []))
    return out


def test_bookmarks_nest_types_under_their_pillar_and_point_at_their_page(demo_build):
    reader = pypdf.PdfReader(demo_build.statewide)
    top = bookmarks(reader)
    titles = [t for t, _, _ in top]
    assert titles == [
        "Missouri Crisis Services Directory",
        "Someone to contact",
        "Someone to respond",
        "A safe place for help",
        "Partners and liaisons",
        "County index",
    ]
    place = dict((t, children) for t, _, children in top)["A safe place for help"]
    assert [t for t, _, _ in place] == [
        "Behavioral health crisis centers",
        "Urgent-care behavioral health crisis centers",
        "Crisis residential / stabilization units",
        "Sobering centers",
    ]

    def check(items):
        for title, page, children in items:
            assert flat(title) in flat(reader.pages[page].extract_text()), title
            check(children)

    check(top)


def test_every_page_after_the_cover_names_its_section_at_the_top(demo_build):
    reader = pypdf.PdfReader(demo_build.statewide)
    top = bookmarks(reader)
    # the cover's bookmark holds the help and contents pages, then a bookmark per section
    sections = [("How to get help now", 1), ("Contents", 2)] + [(t, p) for t, p, _ in top[1:]]
    assert [t for t, _ in sections][2:] == [
        "Someone to contact",
        "Someone to respond",
        "A safe place for help",
        "Partners and liaisons",
        "County index",
    ]
    ends = [p for _, p in sections[1:]] + [len(reader.pages)]
    assert not any(t in reader.pages[0].extract_text() for t, _ in sections)  # the cover
    for (title, start), end in zip(sections, ends, strict=True):
        assert end > start, title
        for number in range(start, end):
            # written by the frame, as a pagination artifact, on continued pages too
            artifact = reader.pages[number].get_contents().get_data().split(b"/Artifact")[-1]
            assert b"(" + title.encode("cp1252") + b") Tj" in artifact, (title, number)


def test_contents_give_the_page_each_section_starts_on(demo_build):
    reader = pypdf.PdfReader(demo_build.statewide)
    contents = reader.pages[2].extract_text()
    lines = re.findall(r"^(.+?) \.{3,}\s*(\d+)$", contents, flags=re.M)
    assert len(lines) >= 10
    for title, page in lines:
        title = re.sub(r" \(\d+\)$", "", title.strip())
        assert flat(title) in flat(reader.pages[int(page) - 1].extract_text()), title


def test_title_language_and_page_frame_as_artifact(demo_build):
    reader = pypdf.PdfReader(demo_build.statewide)
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en-US" and root["/MarkInfo"]["/Marked"]
    assert root["/ViewerPreferences"]["/DisplayDocTitle"]
    assert reader.metadata.title == "Missouri Crisis Services Directory"
    assert b"pdfuaid" in root["/Metadata"].get_object().get_data()
    total = len(reader.pages)
    for number, page in enumerate(reader.pages, start=1):
        assert f"Page {number} of {total}" in page.extract_text()
        assert b"/Artifact <</Type /Pagination>> BDC" in page.get_contents().get_data()


def test_parts_rendered_side_by_side_or_in_turn_print_the_same(
    app, demo_build, tmp_path, monkeypatch
):
    from tasks.publishing.pdf import write_pdfs

    monkeypatch.setitem(app.config, "PDF_WORKERS", 2)  # demo_build rendered in one process
    monkeypatch.setitem(app.config, "VAR_DIR", str(tmp_path / "var"))  # an empty parts cache
    ctx = demo_context(
        tmp_path / "out", records=demo_build.ctx.records, reference=demo_build.ctx.reference
    )
    ctx.created_at = demo_build.ctx.created_at
    done = write_pdfs(ctx)
    assert len(done["rendered"]) > 10
    for name in ("directory.pdf", "type-mobile_crisis.pdf", "region-st-louis-metro.pdf"):
        assert pdf_text(tmp_path / "out" / "pdf" / name) == pdf_text(demo_build.out / "pdf" / name)


def long_section(ids: list[str]) -> dict:
    listings = [{"id": i, "name": f"Service {i}", "lines": [f"line of {i}"]} for i in ids]
    group = {"pillar": "respond", "title": "Someone to respond", "intro": "", "heading": True}
    return {
        **group,
        "types": [
            {"code": "mc", "title": "Mobile crisis teams", "description": "", "listings": listings}
        ],
    }


def test_a_long_section_prints_in_runs_and_one_change_touches_one_run():
    """A type's listings are parts of CHUNK_MIN..CHUNK_MAX listings whose ends the listings
    decide: changing one listing changes one part; adding one moves no other run's end."""
    from tasks.publishing.pdf import CHUNK_MAX, CHUNK_MIN, section_parts

    ids = [f"{n:05d}" for n in range(0, 1200, 2)]
    parts = section_parts(long_section(ids))
    sizes = [len(p.spec["sections"][0]["types"][0]["listings"]) for p in parts]
    assert sum(sizes) == len(ids) and len(parts) > 4
    assert all(CHUNK_MIN <= n <= CHUNK_MAX for n in sizes[:-1])
    # the headings and the contents lines go with the first run only
    firsts = [p.spec["sections"][0] for p in parts]
    assert firsts[0]["heading"] and not any(s["heading"] for s in firsts[1:])
    assert [bool(s["types"][0]["continued"]) for s in firsts] == [False] + [True] * (len(parts) - 1)
    assert parts[0].contents[0]["title"] == "Someone to respond" and not any(
        p.contents for p in parts[1:]
    )

    changed = long_section(ids)
    changed["types"][0]["listings"][300]["lines"] = ["a new phone"]
    after = section_parts(changed)
    assert len([a for a, b in zip(after, parts, strict=True) if a.digest != b.digest]) == 1

    added = section_parts(long_section(sorted([*ids, "00601"])))
    before, now = {p.digest for p in parts}, {p.digest for p in added}
    assert len(now - before) <= 2 and len(before - now) <= 2


def marked_content_owners(reader: pypdf.PdfReader) -> list[tuple[int, int, dict]]:
    """(page, marked-content id, element the parent tree names for it) for every id the
    pages' content streams mark."""
    root = reader.trailer["/Root"]["/StructTreeRoot"]
    nums = root["/ParentTree"].get_object()["/Nums"]
    tree = {int(nums[i]): nums[i + 1].get_object() for i in range(0, len(nums), 2)}
    out = []
    for number, page in enumerate(reader.pages):
        data = page.get_contents().get_data()
        owners = tree[int(page["/StructParents"])]
        for mcid in map(int, re.findall(rb"/MCID (\d+)", data)):
            out.append((number, mcid, owners[mcid].get_object()))
    return out


def test_runs_of_text_are_folded_into_their_paragraphs_and_read_the_same(tmp_path):
    """WeasyPrint tags every run of text as a Span of its own; a part keeps the ids in the
    paragraph instead. The text reads the same, every marked-content id is still owned by
    the element the parent tree names (which lists it), and the file has fewer objects."""
    import shutil

    from tasks.publishing.assemble import fold_file
    from tasks.publishing.pdf import render_document

    html = (
        '<html lang="en"><title>t</title><body><h1>Help now</h1>'
        "<p>Call <b>988</b> or text <span>988</span>, any hour.</p>"
        "<p>" + "A long paragraph that runs over several lines. " * 12 + "</p></body></html>"
    )
    plain, folded = tmp_path / "plain.pdf", tmp_path / "folded.pdf"
    render_document(html, plain)
    shutil.copy(plain, folded)
    fold_file(folded)
    before, after = pypdf.PdfReader(plain), pypdf.PdfReader(folded)
    assert pdf_text(folded) == pdf_text(plain)
    owned_before, owners = marked_content_owners(before), marked_content_owners(after)
    assert len(owners) == len(owned_before) >= 5
    for (page, mcid, owner), (_, _, was) in zip(owners, owned_before, strict=True):
        assert mcid in list(owner["/K"]), (page, mcid)
        # a run of a paragraph is the paragraph's now; the <span> of the HTML stays a Span
        assert was["/S"] == "/Span" and was["/P"].get_object()["/S"] == owner["/S"]
    assert sum(o["/S"] == "/P" for _, _, o in owners) >= 3
    count = lambda path: len(pypdf.PdfReader(path).trailer["/Root"]["/StructTreeRoot"]["/K"])  # noqa: E731
    assert count(folded) == count(plain)


def test_the_directory_owns_every_marked_content_id(demo_build):
    """In the joined directory too: each id the pages mark is listed by its element."""
    owners = marked_content_owners(pypdf.PdfReader(demo_build.statewide))
    assert len(owners) > 1000
    for page, mcid, owner in owners:
        kids = owner["/K"]
        kids = kids if isinstance(kids, list) else [kids]
        listed = [k if isinstance(k, int) else k.get_object().get("/K") for k in kids]
        assert mcid in listed or any(isinstance(x, list) and mcid in x for x in listed), (
            page,
            mcid,
        )


def test_the_frame_font_kept_in_the_cache_is_the_font_subset_again(tmp_path, monkeypatch):
    """The frame's subset font is kept in the parts cache for the processes that come after:
    read back, it writes the same font into a PDF; a damaged copy is subset again."""
    import pikepdf

    from tasks.publishing import assemble

    def written(font) -> bytes:
        with pikepdf.new() as pdf:
            d = font.dictionary(pdf)
            return repr(d.Widths).encode() + bytes(d.FontDescriptor.FontFile2.read_bytes())

    monkeypatch.setattr(assemble, "_FONTS", {})
    made = assemble.frame_font(assemble.REGULAR, tmp_path)
    kept = list(tmp_path.glob("frame-font-*.json"))
    assert len(kept) == 1
    monkeypatch.setattr(assemble, "_FONTS", {})  # another process
    read = assemble.frame_font(assemble.REGULAR, tmp_path)
    assert read is not made and written(read) == written(made)
    assert read.width("Page 1 of 9", 8) == made.width("Page 1 of 9", 8) > 0
    kept[0].write_text('{"chars": ')  # damaged
    monkeypatch.setattr(assemble, "_FONTS", {})
    again = assemble.frame_font(assemble.REGULAR, tmp_path)
    assert written(again) == written(made)


def test_county_index_rows_are_kept_and_made_again_when_an_indexed_line_changes(
    app, tmp_path, monkeypatch
):
    """A county index is kept in the parts cache under the hash of what it is made of: a
    plan with the same indexed lines reads it (the parts are the same); a changed phone of a
    listing the index names makes it again, and the kept rows are the rows made again."""
    import copy

    from tasks.publishing import entry, pdf

    monkeypatch.setitem(app.config, "VAR_DIR", str(tmp_path / "var"))  # an empty parts cache
    made = []
    real_rows = entry.county_rows
    monkeypatch.setattr(entry, "county_rows", lambda *a: made.append(1) or real_rows(*a))
    ctx = demo_context(tmp_path / "out")
    first = pdf.plan_parts(ctx, False)
    indexed = len(made)
    assert indexed >= 2 and len(list(pdf.parts_dir().glob("index-*.json"))) == indexed
    again = pdf.plan_parts(ctx, False)
    assert len(made) == indexed  # read, not made
    assert [p.digest for p in again] == [p.digest for p in first]

    ctx.records = copy.deepcopy(ctx.records)
    answering = next(r for r in ctx.records if pdf.index_kind(r) == "988")
    answering["phones"] = [{**answering["phones"][0], "number": "+15735550199"}]
    changed = pdf.plan_parts(ctx, False)
    assert len(made) > indexed  # the indexes naming it are made again
    monkeypatch.setattr(pdf, "has_app_context", lambda: False)  # nothing kept: all made
    assert [p.digest for p in pdf.plan_parts(ctx, False)] == [p.digest for p in changed]


def test_a_parts_bookmarks_are_kept_beside_it_and_join_as_if_walked(tmp_path):
    """A rendered part's bookmarks are noted beside it (`<name>.outline`), and a join reads
    them there instead of walking the part: the joined document's bookmarks are the same
    either way. A note that cannot be read is ignored (the part is walked)."""
    from tasks.publishing.assemble import join, kept_outline
    from tasks.publishing.pdf import render_document, render_part

    def part(title: str, names: list[str]) -> str:
        items = "".join(f"<h4>{n}</h4><p>{n} answers day and night.</p>" for n in names)
        return f'<html lang="en"><title>{title}</title><body><h2>{title}</h2>{items}</body></html>'

    front = tmp_path / "front.pdf"
    render_document(part("Front", []), front)
    parts = [tmp_path / "a.pdf", tmp_path / "b.pdf"]
    render_part(part("Mobile crisis teams", ["North team", "South team"]), parts[0])
    render_part(part("Crisis centers", [f"Center {i}" for i in range(40)]), parts[1])
    noted = kept_outline(parts[1])
    assert noted and noted[0][0] == "Crisis centers" and len(noted[0][2]) == 40
    assert noted[0][2][-1][1] > 0  # the last center is on a later page of the part

    join([front, *parts], tmp_path / "kept.pdf")
    for p in parts:
        p.with_suffix(".outline").write_text("{not json")  # unreadable: walked instead
    join([front, *parts], tmp_path / "walked.pdf")
    kept, walked = (pypdf.PdfReader(tmp_path / n) for n in ("kept.pdf", "walked.pdf"))
    assert bookmarks(kept) == bookmarks(walked)
    assert [title for title, _, _ in bookmarks(kept)] == [
        "Front",
        "Mobile crisis teams",
        "Crisis centers",
    ]


def test_a_plan_cuts_a_section_printed_by_two_directories_into_parts_once(app, tmp_path):
    """The statewide directory and a service type's own print the type's section: one plan
    cuts it into parts once and both directories hold those parts, which are the parts each
    directory would have on its own."""
    from tasks.publishing import pdf

    ctx = demo_context(tmp_path / "out")
    planned = {p.doc.key: p for p in pdf.plan_parts(ctx, False)}
    statewide = planned[pdf.STATEWIDE]
    shared = 0
    for p in planned.values():
        if p.doc.kind != "type":
            continue
        own = {id(part) for part in p.parts}
        shared += sum(id(part) in own for part in statewide.parts)
    assert shared >= 3  # the same objects, not equal copies
    ref, views = (
        ctx.reference,
        pdf.entry_views(
            ctx,
            pdf.snapshot_county_names(ctx.reference),
            pdf.entry.region_names(ctx.reference["regions"]),
        ),
    )
    openers = pdf.pillar_openers(pdf.printed(ctx.records), ref)
    for p in planned.values():
        alone = pdf.doc_parts(p.doc, ref, views, openers)  # nothing shared with another
        assert [part.digest for part in alone] == [part.digest for part in p.parts], p.doc.key
