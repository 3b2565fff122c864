"""Printable PDF directories of a release, rendered with WeasyPrint from cached parts.

`write_pdfs(ctx)` writes, under `ctx.out_dir`:

* `pdf/directory.pdf` — the statewide directory (cover, how to get help now, contents, the
  listings by pillar and service type, a county index);
* `pdf/type-<service_type>.pdf` — one per service type that has printed listings;
* `pdf/region-<slug>.pdf` — one per region (listings serving any of its counties + its index);
* `pdf/inputs.json` — each PDF's inputs hash. When the previous release has the same hash for
  a file, that file is hard-linked instead of made again.

A directory is assembled from parts (`Part`): runs of a service type's listings — the same
parts serve the statewide and the per-type directory, so each listing is laid out once — the
county index, a region's runs, and "How to get help now". A part is a tagged PDF in the parts
cache named by the hash of what it prints (its listings' printed lines, the template
version): a part whose inputs did not change since any earlier build is not rendered again,
and the parts that are missing are rendered side by side in `PDF_WORKERS` processes. Then
each directory gets its cover and contents (with the page numbers, now known), its parts
joined (`assemble.join`: one structure tree, bookmarks, title and language) and its frame —
title, section name and "Page n of m" — laid over every page. In a release all of this starts
beside the feeds, in a process of its own (`EarlyRender`), and the print takes what it made.

Everything printed comes from `ctx.records` and `ctx.reference` (never from live tables).
Provider text reaches the HTML only through Jinja autoescaping, and the `url_fetcher` serves
files from `templates/pdf/assets/` and nothing else."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import json
import logging
import mimetypes
import multiprocessing
import multiprocessing.connection
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import jinja2
import orjson
import pydyf
import weasyprint
from flask import current_app, has_app_context
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from models.listings import ANSWERING_ROLES
from models.listings import fields as F
from models.reference import snapshot_county_names

from . import assemble as assemble_module
from . import entry
from .assemble import join as assemble_files
from .context import BuildContext, no_cyclic_gc
from .processes import forking

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
PDF_TEMPLATES = ROOT / "templates" / "pdf"
ASSETS_DIR = PDF_TEMPLATES / "assets"
INPUTS_FILE = "pdf/inputs.json"
STATEWIDE = "pdf/directory.pdf"
PDF_VARIANT = "pdf/ua-1"  # tagged PDF (structure tree), title and language required

PILLAR_ORDER = ["contact", "respond", "place", "support"]
PILLAR_INTROS = {
    "contact": "Call, text or chat any time. A trained crisis counselor answers.",
    "respond": "A mobile team comes to the person, wherever they are.",
    "place": "Somewhere to go instead of an emergency room or jail.",
    "support": "Partners who connect people, police, courts, schools and hospitals to crisis care.",
}
# the county index: who answers (contact), who comes (respond), where to go (place)
INDEX_CONTACT_PILLAR = "contact"
INDEX_RESPOND_PILLAR = "respond"
INDEX_PLACE_PILLAR = "place"


# ------------------------------------------------------------------ url fetcher


class RefusedURL(ValueError):
    pass


class AssetsOnlyFetcher(URLFetcher):
    """Serves `data:` URLs and files under the assets folder; refuses everything else
    (http, https, ftp, file:// outside the folder) without touching the network."""

    def __init__(self, assets_dir: Path = ASSETS_DIR):
        super().__init__(timeout=1, allowed_protocols=("data",), allow_redirects=False)
        self.assets_dir = assets_dir.resolve()
        self.requested: list[str] = []
        self.refused: list[str] = []

    def refuse(self, url: str, why: str):
        self.refused.append(url)
        log.warning("pdf renderer refused to fetch %.200s (%s)", url, why)
        raise RefusedURL(f"refused: {why}")

    def fetch(self, url, headers=None):
        self.requested.append(url)
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme != "file":
            return self.refuse(url, f"scheme {scheme or 'none'!r} is not allowed")
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            return self.refuse(url, "file URL on another host")
        path = Path(url2pathname(parts.path)).resolve()
        if not path.is_relative_to(self.assets_dir) or not path.is_file():
            return self.refuse(url, "outside the PDF assets folder")
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": kind})


# ------------------------------------------------------------------ what each PDF holds


@dataclass
class PdfDoc:
    key: str  # path under out_dir
    kind: str  # statewide | type | region
    title: str
    subtitle: str
    records: list[dict[str, Any]]
    index_fips: list[str] = field(default_factory=list)  # counties in the index (may be none)


def printed(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if not r.get("exclude_from_print")]


def counties_of(record: dict[str, Any]) -> set[str]:
    """The county FIPS codes a listing is printed under: its site's county and its counties."""
    out = {c["fips"] for c in record.get("counties") or []}
    site = (record.get("address") or {}).get("county_fips")
    if site:
        out.add(site)
    return out


def plan(ctx: BuildContext) -> list[PdfDoc]:
    recs = printed(ctx.records)
    ref = ctx.reference
    all_fips = [c["fips"] for c in ref["counties"]]
    docs = [
        PdfDoc(
            STATEWIDE,
            "statewide",
            "Missouri Crisis Services Directory",
            "Statewide edition",
            recs,
            all_fips,
        )
    ]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for r in recs:
        by_type.setdefault(r["service_type"], []).append(r)
    for st in sorted(ref["service_types"], key=lambda t: t["sort_order"]):
        of_type = by_type.get(st["code"])
        if of_type:
            docs.append(
                PdfDoc(
                    f"pdf/type-{st['code']}.pdf",
                    "type",
                    f"Missouri {plural(st['name'])}",
                    st["description"] or st["pillar_title"],
                    of_type,
                )
            )
    covered = [(r, counties_of(r)) for r in recs]  # once per listing, not per region
    for region in ref["regions"]:
        fips = set(region["counties"])
        inside = [r for r, where in covered if not fips.isdisjoint(where)]
        docs.append(
            PdfDoc(
                f"pdf/region-{region['slug']}.pdf",
                "region",
                f"Crisis services: {region['name']}",
                region["layer"].capitalize(),
                inside,
                sorted(fips),
            )
        )
    return docs


def plural(name: str) -> str:
    if name.endswith("y") and not name.endswith(("ay", "ey", "oy")):
        return name[:-1] + "ies"
    return name if name.endswith("s") else name + "s"


@cache
def template_version() -> str:
    """Hash of everything besides the data that shapes the PDFs."""
    h = hashlib.sha256()
    h.update(weasyprint.__version__.encode())
    for p in sorted(PDF_TEMPLATES.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(PDF_TEMPLATES)).encode() + b"\0" + p.read_bytes())
    for module in (__file__, entry.__file__, assemble_module.__file__, F.__file__):
        h.update(Path(module).read_bytes())
    return h.hexdigest()


# ------------------------------------------------------------------ how a listing is printed


def index_kind(record: dict[str, Any]) -> str | None:
    """Which question of the county index a listing answers, from its type's pillar: who
    answers 988 (a "contact" service answering counties as primary or backup), who comes (a
    "respond" service) or where to go (a "place")."""
    pillar = record.get("pillar")
    if pillar == INDEX_CONTACT_PILLAR and any(
        c.get("role") in ANSWERING_ROLES for c in record.get("counties") or []
    ):
        return "988"
    return {INDEX_RESPOND_PILLAR: "mobile", INDEX_PLACE_PILLAR: "place"}.get(pillar)


def type_sections(
    records: list[dict[str, Any]],
    ref: dict[str, Any],
    views: dict[str, dict],
    headed: set[str] | None = None,
) -> list[dict[str, Any]]:
    """The pillars and service types of `records` in print order. A pillar's heading goes
    with the service types in `headed` (so a type's section is the same part wherever it is
    printed), or else with the pillar's first type that has listings here."""
    out: list[dict[str, Any]] = []
    by_type: dict[str, list[dict]] = {}
    for r in records:
        by_type.setdefault(r["service_type"], []).append(views[r["id"]])
    for pillar in PILLAR_ORDER:
        headed_here = False
        for st in sorted(ref["service_types"], key=lambda t: t["sort_order"]):
            if st["pillar"] != pillar:
                continue
            items = by_type.get(st["code"])
            if not items:
                continue
            out.append(
                {
                    "pillar": pillar,
                    "title": st["pillar_title"],
                    "intro": PILLAR_INTROS.get(pillar, ""),
                    "heading": st["code"] in headed if headed is not None else not headed_here,
                    "types": [
                        {
                            "code": st["code"],
                            "title": plural(st["name"]),
                            "description": st["description"],
                            "listings": items,
                        }
                    ],
                }
            )
            headed_here = True
    return out


def pillar_openers(records: list[dict[str, Any]], ref: dict[str, Any]) -> set[str]:
    """Per pillar, the first service type (in print order) with printed listings."""
    present = {r["service_type"] for r in records}
    out: dict[str, str] = {}
    for st in sorted(ref["service_types"], key=lambda t: t["sort_order"]):
        if st["code"] in present:
            out.setdefault(st["pillar"], st["code"])
    return set(out.values())


def index_items(records: list[dict[str, Any]], views: dict[str, dict]) -> dict[str, list]:
    """What the county index takes from each listing in it, by id: [id, kind (`index_kind`),
    name, phone, and its place (a "place") or its counties and roles]. Worked out once per
    plan, for the statewide directory's index and the regions'."""
    out = {}
    for r in records:
        kind = index_kind(r)
        if kind:
            view = views[r["id"]]
            out[r["id"]] = [
                r["id"],
                kind,
                view["name"],
                view["phone"],
                entry.site_point(r)
                if kind == "place"
                else [[c["fips"], c.get("role")] for c in r.get("counties") or []],
            ]
    return out


def county_index(
    doc: PdfDoc, ref: dict[str, Any], views: dict[str, dict], items: dict[str, list] | None = None
) -> list[dict[str, Any]]:
    """For each county of the document: who answers 988, who comes, where to go (see
    `entry.county_rows`). Plain text: no per-mention page reference. `items` are the
    listings' `index_items` (worked out here if not given)."""
    if not doc.index_fips:
        return []
    if items is None:
        items = index_items(doc.records, views)
    mine = [item for r in doc.records if (item := items.get(r["id"]))]
    # the rows are kept in the parts cache under the hash of what they are made of: after an
    # approval that changed no indexed name, phone, county or place, they are read, not
    # worked out again (the nearest places are most of a plan)
    made_of = [template_version(), sorted(doc.index_fips), ref["counties"], mine]
    kept = parts_dir() / f"index-{digest(made_of)}.json" if has_app_context() else None
    if kept is not None:
        with contextlib.suppress(OSError, ValueError):
            return orjson.loads(kept.read_bytes())
    kinds = {item[0]: item[1] for item in mine}
    rows = entry.county_rows(doc.index_fips, ref["counties"], doc.records, views, kinds)
    if kept is not None:
        with contextlib.suppress(OSError):
            kept.parent.mkdir(parents=True, exist_ok=True)
            assemble_module.write_atomically(kept, orjson.dumps(rows))
    return rows


def approved_as_of(records: list[dict[str, Any]]) -> str:
    stamps = [r.get("modified_at") or r.get("approved_at") for r in records]
    stamps = [s for s in stamps if s]
    if not stamps:
        return "—"
    return datetime.fromisoformat(max(stamps)).strftime("%B %-d, %Y")


# ------------------------------------------------------------------ parts


@dataclass
class Part:
    """One separately rendered piece of a directory: a service type's section (shared by the
    statewide and the per-type directory), a county index, or a region's body. Its file is
    named by the hash of everything it prints, so it is rendered once and reused for as long
    as its inputs do not change."""

    spec: dict[str, Any]  # the template's input (plain data)
    digest: str = ""
    contents: list[dict[str, Any]] = field(default_factory=list)  # its lines in the contents
    template: str = "part.html"
    section: str = ""  # written at the top of its pages (`assemble.frame`)

    def __post_init__(self):
        if not self.digest:
            self.digest = digest(
                {"part": self.spec, "file": self.template, "template": template_version()}
            )


def digest(payload: Any) -> str:
    blob = orjson.dumps(payload, default=str, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(blob).hexdigest()


# A service type's listings are printed in runs ("chunks"), each a part of its own, so a
# change lays out again only the run holding the listing. Where a run ends is decided by the
# listings themselves (content-defined, like rsync's rolling checksum): after a listing whose
# id hashes to 0 mod CHUNK_SPREAD, once the run has CHUNK_MIN listings, or at CHUNK_MAX. So a
# listing added or removed moves no boundary outside its own run (and rarely the next one).
CHUNK_MIN, CHUNK_SPREAD, CHUNK_MAX = 16, 32, 64


def _ends_run(listing: dict[str, Any]) -> bool:
    mark = hashlib.sha256((listing.get("id") or listing["name"]).encode()).digest()[:4]
    return int.from_bytes(mark, "big") % CHUNK_SPREAD == 0


def runs(listings: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    out: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    for listing in listings:
        current.append(listing)
        if len(current) >= CHUNK_MAX or (len(current) >= CHUNK_MIN and _ends_run(listing)):
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def section_parts(group: dict[str, Any]) -> list[Part]:
    """A service type's section: its first run with the headings (and the contents lines),
    then its other runs, each a part."""
    t = group["types"][0]
    contents = [{"level": "type", "title": f"{t['title']} ({len(t['listings'])})"}]
    if group["heading"]:
        contents.insert(0, {"level": "pillar", "title": group["title"]})
    parts = []
    for i, run in enumerate(runs(t["listings"])):
        section = {
            **group,
            "heading": group["heading"] and i == 0,
            "types": [{**t, "listings": run, "continued": i > 0}],
        }
        spec = {"title": t["title"], "sections": [section], "index": []}
        parts.append(Part(spec, contents=contents if i == 0 else [], section=group["title"]))
    return parts


def _section_parts(group: dict[str, Any], made: dict[tuple, list[Part]] | None) -> list[Part]:
    """`section_parts`, once per plan for a section printed by several directories (a
    service type's, in the statewide directory and in its own): the same listings' entries,
    the same headings, the same parts."""
    if made is None:
        return section_parts(group)
    t = group["types"][0]
    key = (t["code"], group["heading"], tuple(map(id, t["listings"])))
    parts = made.get(key)
    if parts is None:
        parts = made[key] = section_parts(group)
    return parts


@cache
def help_part() -> Part:
    """The page "How to get help now": the same in every directory, rendered once into the
    parts cache (beside the other parts, before any page number is known)."""
    return Part({}, template="help.html", section="How to get help now")


def index_part(rows: list[dict[str, Any]]) -> Part:
    return Part(
        {"title": "County index", "sections": [], "index": rows},
        contents=[{"level": "pillar", "title": "County index"}],
        section="County index",
    )


def doc_parts(
    doc: PdfDoc,
    ref: dict[str, Any],
    views: dict[str, dict],
    openers: set[str],
    items: dict[str, list] | None = None,
    made: dict[tuple, list[Part]] | None = None,
) -> list[Part]:
    """The parts of one directory, in order: one per service type and the county index. The
    statewide and per-type directories share their service types' parts (each listing is laid
    out once for both); a region's parts hold that region's listings of one type, so a change
    lays out again only the type's part in each region it touches. `made` holds the sections
    a plan already cut into parts (`_section_parts`), for the next directory that prints the
    same section."""
    rows = county_index(doc, ref, views, items)
    if doc.kind == "region":
        openers = pillar_openers(doc.records, ref)
    groups = type_sections(doc.records, ref, views, openers)
    parts = [part for g in groups for part in _section_parts(g, made)]
    if rows:
        parts.append(index_part(rows))
    return parts


@cache
def templates() -> jinja2.Environment:
    """The PDF templates, outside any Flask app (parts render in worker processes too)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(PDF_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def part_html(part: Part) -> str:
    return templates().get_template(part.template).render(**part.spec)


def front_html(doc: PdfDoc, ctx: BuildContext, demo_banner: bool, contents: list, part: str) -> str:
    """A directory's front matter: its cover (`part="cover"`: release, dates, counts) or its
    contents (`part="contents"`); "How to get help now" between them is `help_part()`."""
    return (
        templates()
        .get_template("front.html")
        .render(
            part=part,
            doc=doc,
            contents=contents,
            number=ctx.number,
            is_preview=ctx.is_preview,
            printed_on=ctx.created_at.strftime("%B %-d, %Y"),
            approved_as_of=approved_as_of(doc.records),
            listing_count=len(doc.records),
            demo_banner=demo_banner,
        )
    )


def _page_references(pdf: pydyf.PDF) -> tuple[bytes, ...]:
    """pydyf's `PDF.page_references`, built once per page count instead of on every call.

    WeasyPrint's tagging asks for it once per structure element, and pydyf rebuilds the tuple
    of every page's reference each time: quadratic in the size of a tagged document (most of
    the statewide directory's write time at a few hundred pages). `Kids` only ever grows by
    `add_page`, so its length identifies the tuple."""
    kids = pdf.pages["Kids"]
    cached = pdf.__dict__.get("_page_references_cache")
    if cached is None or cached[0] != len(kids):
        cached = (len(kids), tuple(f"{number} 0 R".encode("ascii") for number in kids[::3]))
        pdf.__dict__["_page_references_cache"] = cached
    return cached[1]


if isinstance(getattr(pydyf.PDF, "page_references", None), property):
    pydyf.PDF.page_references = property(_page_references)


@cache
def font_config() -> FontConfiguration:
    """One fontconfig set-up per process, shared by every PDF of a release (the templates
    declare no @font-face, so nothing document-specific is added to it)."""
    return FontConfiguration()


def render_document(html: str, target: Path, fetcher: AssetsOnlyFetcher | None = None) -> int:
    """HTML -> tagged PDF (PDF/UA-1) at `target`, written atomically. Returns the page count."""
    fetcher = fetcher or AssetsOnlyFetcher()
    document = weasyprint.HTML(
        string=html, base_url=ASSETS_DIR.as_uri() + "/", url_fetcher=fetcher
    ).render(font_config=font_config())
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    target.parent.mkdir(parents=True, exist_ok=True)
    document.write_pdf(tmp, pdf_variant=PDF_VARIANT)
    os.replace(tmp, target)
    return len(document.pages)


@cache
def warm_up() -> None:
    """Render one tiny page with the directory's stylesheet, once per process, before any
    fork: WeasyPrint's user-agent stylesheets, its C type declarations and the fonts are
    loaded on a process's first document (about 0.3 s), and forked renderers inherit them."""
    html = '<html lang="en"><link rel="stylesheet" href="directory.css"><p>988</p></html>'
    weasyprint.HTML(
        string=html, base_url=ASSETS_DIR.as_uri() + "/", url_fetcher=AssetsOnlyFetcher()
    ).render(font_config=font_config()).write_pdf(pdf_variant=PDF_VARIANT)


def render_part(html: str, target: Path) -> int:
    """Render a part into the parts cache, its runs of text folded into their paragraphs
    (`assemble.fold_spans`: half the objects every join of it copies), its page count and
    bookmarks noted beside it (so assembling needs not open the part twice, nor walk its
    bookmarks). Returns the page count."""
    tmp = target.with_name(f"{target.name}.{os.getpid()}.part")
    try:
        count = render_document(html, tmp)
        outline = assemble_module.fold_file(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    assemble_module.note_outline(target, outline)
    assemble_module.note_pages(target, count)
    return count


def _render_job(job: tuple[str, str]) -> int:
    html, target = job
    return render_part(html, Path(target))


def render_parts(jobs: list[tuple[str, Path]], workers: int) -> None:
    """Render (html, target) jobs, over `workers` processes when there are several (largest
    first, so the long ones start at once); in this process otherwise."""
    jobs = sorted(jobs, key=lambda job: -len(job[0]))
    if workers <= 1 or len(jobs) <= 1:
        for html, target in jobs:
            render_part(html, target)
        return
    context = multiprocessing.get_context("fork")
    # the collector on in each renderer (a build runs without it, `no_cyclic_gc`): WeasyPrint's
    # layouts are cyclic garbage, a few megabytes a part never freed otherwise
    with (
        forking(),
        ProcessPoolExecutor(
            max_workers=min(workers, len(jobs)), mp_context=context, initializer=gc.enable
        ) as pool,
    ):
        list(pool.map(_render_job, [(html, str(target)) for html, target in jobs]))


def render_on_queue(jobs: list[tuple[str, Path]]) -> list[dict]:
    """Render the jobs as tasks on the `pdf` queue (a Celery group) and wait for every one
    (PDF_PART_TIMEOUT); a part that fails fails the print, which the beat resumes later."""
    from celery import group
    from celery.result import allow_join_result

    from tasks.pdf_parts import PDF_QUEUE, render_pdf_part

    cache = parts_dir().resolve()
    signatures = []
    for html, target in sorted(jobs, key=lambda job: -len(job[0])):
        if Path(target).resolve().parent != cache:
            raise ValueError(f"a part outside the parts folder: {target}")
        signatures.append(render_pdf_part.s(html, Path(target).name).set(queue=PDF_QUEUE))
    if not signatures:
        return []
    result = group(signatures).apply_async()
    with allow_join_result():  # the parts run on other workers (their own queue)
        return result.get(timeout=int(current_app.config.get("PDF_PART_TIMEOUT") or 600))


def fan_out(jobs: list[tuple[str, Path]]) -> None:
    if current_app.config.get("PDF_FANOUT") == "celery" and jobs:
        render_on_queue(jobs)
    else:
        render_parts(jobs, pdf_workers())


def pdf_workers() -> int:
    """Processes that render parts at once (PDF_WORKERS; 0 means one per CPU)."""
    configured = int(current_app.config.get("PDF_WORKERS") or 0)
    return configured if configured > 0 else (os.cpu_count() or 1)


def parts_dir() -> Path:
    """Rendered parts, named by their inputs' hash, shared by every build on this disk."""
    return Path(current_app.config["VAR_DIR"]) / "pdf-parts"


def _reuse(previous: Path, target: Path) -> None:
    try:
        os.link(previous, target)
    except OSError:
        shutil.copy2(previous, target)


def previous_inputs(ctx: BuildContext) -> dict[str, str]:
    if not ctx.previous_dir:
        return {}
    path = Path(ctx.previous_dir) / INPUTS_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return (
        {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}
        if isinstance(data, dict)
        else {}
    )


@dataclass
class Planned:
    doc: PdfDoc
    parts: list[Part]
    digest: str


_VIEWS: dict[str, Any] = {"key": None, "views": {}}  # this process's last build's entries


def entry_views(
    ctx: BuildContext, county_names: dict[str, str], regions: dict[frozenset[str], str]
) -> dict[str, dict]:
    """Each printed listing's entry by id. An entry is made from its record and the county
    and region names alone, so the process's previous build's entry is kept for a listing
    whose record digest (`ctx.digests`) is unchanged; a build keeps only its own."""
    names = sorted(county_names.items())
    key = digest({"names": names, "regions": sorted((sorted(k), v) for k, v in regions.items())})
    before = _VIEWS["views"] if _VIEWS["key"] == key else {}
    views, kept, made = {}, {}, {}
    for r in printed(ctx.records):
        record_digest = ctx.digests.get(r["id"])
        view = before.get(record_digest) if record_digest else None
        if view is None:
            view = entry.entry(r, county_names, regions)
            if record_digest:
                made[record_digest] = view
        views[r["id"]] = view
        if record_digest:
            kept[record_digest] = view
    _VIEWS.update(key=key, views=kept, made=made)
    return views


def made_entries() -> bytes:
    """The entries this process's last plan made (not kept from the build before), for the
    process it was forked from to keep (`keep_entries`): the early render plans in a child."""
    return orjson.dumps({"key": _VIEWS["key"], "made": _VIEWS.get("made") or {}})


def keep_entries(blob: bytes, ctx: BuildContext) -> None:
    """Keep the entries a child's plan of `ctx` made (`made_entries`) with this process's, for
    the next build's plan (its early render is forked from here): a build after an approval
    then makes only the changed listings' entries. Only `ctx`'s listings' are kept."""
    try:
        data = orjson.loads(blob)
        key, made = data["key"], data["made"]
    except (ValueError, KeyError, TypeError):
        return
    if not isinstance(made, dict):
        return
    kept = {**(_VIEWS["views"] if _VIEWS["key"] == key else {}), **made}
    wanted = {d for r in printed(ctx.records) if (d := ctx.digests.get(r["id"]))}
    _VIEWS.update(key=key, views={d: v for d, v in kept.items() if d in wanted}, made={})


def plan_parts(ctx: BuildContext, demo_banner: bool) -> list[Planned]:
    ref = ctx.reference
    county_names = snapshot_county_names(ref)
    regions = entry.region_names(ref["regions"])
    views = entry_views(ctx, county_names, regions)
    listings = printed(ctx.records)
    openers = pillar_openers(listings, ref)
    items = index_items(listings, views)
    made: dict[tuple, list[Part]] = {}
    out = []
    for doc in plan(ctx):
        parts = doc_parts(doc, ref, views, openers, items, made)
        key = {
            "key": doc.key,
            "kind": doc.kind,
            "title": doc.title,
            "subtitle": doc.subtitle,
            "parts": [p.digest for p in parts],
            "approved_as_of": approved_as_of(doc.records),
            "listings": len(doc.records),
            "demo_banner": demo_banner,
            "variant": PDF_VARIANT,
            "template": template_version(),
        }
        out.append(Planned(doc, parts, digest(key)))
    return out


FRONT_PAGES = 3  # cover, how to get help now, contents (checked after rendering)


def part_jobs(planned: list[Planned], cache: Path) -> dict[str, tuple[str, Path]]:
    """What must be rendered to assemble `planned`: (html, target) by digest for each part
    missing from the parts cache, "How to get help now" included, each once. The parts found
    are touched (see `prune`)."""
    jobs: dict[str, tuple[str, Path]] = {}
    for part in [help_part()] * bool(planned) + [part for p in planned for part in p.parts]:
        path = cache / f"{part.digest}.pdf"
        if part.digest in jobs:
            continue
        if path.is_file():
            os.utime(path)
        else:
            jobs[part.digest] = (part_html(part), path)
    return jobs


def cached_part(html: str, path: Path) -> int:
    """The page count of the part at `path` in the parts cache, rendered from `html` unless a
    build already did (a part found is touched, see `prune`)."""
    if path.is_file():
        with contextlib.suppress(OSError):
            os.utime(path)
            return assemble_module.page_count(path)
    return render_part(html, path)


def cached_render(html: str, cache: Path) -> tuple[Path, int]:
    """Render `html` into the parts cache, named by its hash (and the templates'), unless a
    build already did; returns the PDF and its page count."""
    path = cache / f"front-{digest({'html': html, 'template': template_version()})}.pdf"
    return path, cached_part(html, path)


def cover_file(doc: PdfDoc, ctx: BuildContext) -> Path:
    return ctx.path(doc.key + ".cover.pdf")


def render_cover(doc: PdfDoc, ctx: BuildContext, demo_banner: bool) -> int:
    """Render a directory's cover (`cover_file`) for this release; returns its page count."""
    return render_document(
        front_html(doc, ctx, demo_banner, [], part="cover"), cover_file(doc, ctx)
    )


def assemble(
    planned: Planned,
    ctx: BuildContext,
    demo_banner: bool,
    cache: Path,
    cover_pages: int | None = None,
) -> int:
    """Front matter with the contents' page numbers, the parts, the page frame: one PDF.

    The cover (release number, dates) is rendered for each release (unless `cover_pages`
    says it already was, at `cover_file`); "How to get help now" is a part; the contents come
    from the parts cache while no page number in them moves."""
    doc, parts = planned.doc, planned.parts
    assemble_module.frame_font(assemble_module.REGULAR, cache)  # read once per machine
    if demo_banner:
        assemble_module.frame_font(assemble_module.BOLD, cache)
    help_file = cache / f"{help_part().digest}.pdf"  # rendered with the parts (`part_jobs`)
    help_pages = cached_part(part_html(help_part()), help_file)
    counts = [assemble_module.page_count(cache / f"{p.digest}.pdf") for p in parts]
    cover = cover_file(doc, ctx)
    if cover_pages is None:
        cover_pages = render_cover(doc, ctx, demo_banner)
    before_contents = cover_pages + help_pages
    front_pages = FRONT_PAGES
    for _ in range(3):
        contents, page = [], front_pages + 1
        for part, count in zip(parts, counts, strict=True):
            contents += [dict(line, page=page) for line in part.contents]
            page += count
        contents_file, rendered = cached_render(
            front_html(doc, ctx, demo_banner, contents, part="contents"), cache
        )
        if before_contents + rendered == front_pages:
            break
        front_pages = before_contents + rendered
    target = ctx.path(doc.key)
    total = assemble_files(
        [cover, help_file, contents_file, *(cache / f"{p.digest}.pdf" for p in parts)],
        target,
        nested=[  # help and contents under the cover's title, a type under its pillar
            False,
            True,
            True,
            *(bool(p.contents) and p.contents[0]["level"] == "type" for p in parts),
        ],
        title=doc.title,
        sections=[None, help_part().section, "Contents", *(p.section for p in parts)],
        demo_banner=demo_banner,
    )
    cover.unlink()
    return total


def write_pdfs(
    ctx: BuildContext, progress: Callable[[int, int, str], None] | None = None
) -> dict[str, list[str]]:
    """Write every PDF of the release (see the module docstring). Returns what it did: the
    parts it rendered (their hashes), the documents it assembled and those it reused."""
    demo_banner = bool(current_app.config.get("DEMO_BANNER"))
    cache = parts_dir()
    cache.mkdir(parents=True, exist_ok=True)
    if ctx.early_render is not None:
        # waited for first: it is the print's critical path, and a plan here would take a
        # core from it; the plan it wrote is this print's (the same release, the same code).
        # Meanwhile WeasyPrint is warmed here, once per process: the next build's early
        # render, forked from this process, starts warm
        warm_up()
        ctx.early_render.finish()
        ctx.early_render.keep_entries(ctx)
        done = _take_early(ctx, cache, progress)
        if done is not None:
            return done
    with no_cyclic_gc():  # plain data, many objects, no cycles (as the feeds' build)
        planned = plan_parts(ctx, demo_banner)
    reusable, todo = split_reusable(planned, ctx)
    early: list[Planned] = []
    if ctx.early_render is not None:  # what it printed from the inputs planned here
        assembled = ctx.early_render.assembled()
        early = [p for p in todo if assembled.get(p.doc.key) == p.digest]
        todo = [p for p in todo if assembled.get(p.doc.key) != p.digest]
    # every part a document still to assemble needs, each rendered once (in parallel) if missing
    jobs = part_jobs(todo, cache)
    if jobs or todo:
        warm_up()
    fan_out(list(jobs.values()))
    done = 0
    for p, old in reusable:
        _reuse(old, ctx.path(p.doc.key))
        done += 1
        if progress:
            progress(done, len(planned), p.doc.key)
    for p in early:
        os.replace(ctx.early_render.folder / p.doc.key, ctx.path(p.doc.key))
        done += 1
        if progress:
            progress(done, len(planned), p.doc.key)
    for key in assemble_all(todo, ctx, demo_banner, cache):
        done += 1
        if progress:
            progress(done, len(planned), key)
    _finish_print(ctx, cache, {p.doc.key: p.digest for p in planned})
    log.info(
        "pdf: %d parts rendered, %d documents assembled (%d beside the feeds), "
        "%d reused from the previous release",
        len(jobs),
        len(todo) + len(early),
        len(early),
        len(reusable),
    )
    return {
        "rendered": sorted(jobs),
        "assembled": [p.doc.key for p in early + todo],
        "assembled_early": [p.doc.key for p in early],
        "reused": [p.doc.key for p, _ in reusable],
    }


def _take_early(
    ctx: BuildContext, cache: Path, progress: Callable[[int, int, str], None] | None
) -> dict[str, list[str]] | None:
    """The print from the early render's plan, when every document it planned is either the
    previous release's (same inputs) or one it assembled; None (nothing done) otherwise."""
    early = ctx.early_render
    planned, assembled = early.planned(), early.assembled()
    if not planned:
        return None
    same = previous_files(ctx)
    steps = []
    for key, digest in planned.items():
        old = same(key, digest)
        if old is not None:
            steps.append((key, old, True))
        elif assembled.get(key) == digest and (early.folder / key).is_file():
            steps.append((key, early.folder / key, False))
        else:
            return None
    for done, (key, source, reused) in enumerate(steps, start=1):
        if reused:
            _reuse(source, ctx.path(key))
        else:
            os.replace(source, ctx.path(key))
        if progress:
            progress(done, len(steps), key)
    _finish_print(ctx, cache, planned)
    moved = [key for key, _, reused in steps if not reused]
    log.info(
        "pdf: %d documents assembled beside the feeds, %d reused from the previous release",
        len(moved),
        len(steps) - len(moved),
    )
    return {
        "rendered": [],
        "assembled": moved,
        "assembled_early": moved,
        "reused": [key for key, _, reused in steps if reused],
    }


def split_reusable(
    planned: list[Planned], ctx: BuildContext
) -> tuple[list[tuple[Planned, Path]], list[Planned]]:
    """The documents whose inputs are the previous release's (with its file), and the others."""
    same = previous_files(ctx)
    reusable, todo = [], []
    for p in planned:
        old = same(p.doc.key, p.digest)
        if old is not None:
            reusable.append((p, old))
        else:
            todo.append(p)
    return reusable, todo


def previous_files(ctx: BuildContext) -> Callable[[str, str], Path | None]:
    """(document key, inputs' digest) -> the previous release's file of that document, if it
    was made from the same inputs; None otherwise."""
    before = previous_inputs(ctx)

    def same(key: str, digest: str) -> Path | None:
        if not ctx.previous_dir or before.get(key) != digest:
            return None
        old = Path(ctx.previous_dir) / key
        return old if old.is_file() else None

    return same


def _finish_print(ctx: BuildContext, cache: Path, hashes: dict[str, str]) -> None:
    """The last of every print: each document's inputs for the next one, the cache pruned."""
    ctx.path(INPUTS_FILE).write_text(json.dumps(hashes, indent=2, sort_keys=True) + "\n")
    prune(cache)


class EarlyRender:
    """A forked process that prints a release while the same release's feeds are written, so
    that its print finds the work done.

    It plans as the print will (`write_pdfs`), against the current release's inputs, renders
    the missing parts over PDF_WORKERS processes, then assembles the documents to assemble
    into a private folder of its own (`folder`); a print of more parts than workers renders
    and assembles at a lower CPU priority (nice 10) than the feeds beside it. The print waits
    for its outcome (`finish()`: not for it to exit, which `discard()` reaps) and, when
    every document it planned is either the previous release's or one it assembled, takes its
    plan (`planned()`) and moves its documents in; otherwise the print plans, moves in each
    document the process assembled from the inputs the print planned (`assembled()`) and
    assembles the others. The parts cache is named by content and every file is written
    atomically, so a process that dies or is killed (after `timeout`) leaves nothing wrong
    behind: the print renders and assembles what is missing."""

    # in `folder`, written last: {"planned": {key: digest}, "assembled": {key: digest}}
    DONE = "assembled.json"
    ENTRIES = "entries.json"  # the printed entries its plan made (`made_entries`)

    def __init__(self, ctx: BuildContext):
        context = multiprocessing.get_context("fork")
        demo_banner = bool(current_app.config.get("DEMO_BANNER"))
        self.folder = (
            Path(ctx.out_dir).parent / f"{EARLY_PREFIX}{ctx.number}-{uuid.uuid4().hex[:8]}"
        )
        self.folder.mkdir()
        # a byte on `ready` once its outcome is written: the print goes on while it and its
        # helpers exit (tearing down a process of several hundred megabytes takes a while)
        self.ready, ready = context.Pipe(duplex=False)
        self.process = context.Process(
            target=self._run,
            args=(ctx, demo_banner, parts_dir(), pdf_workers(), self.folder, ready),
            daemon=False,
        )
        try:
            with forking():
                self.process.start()
        except BaseException:
            self.discard()
            raise
        finally:
            ready.close()

    @staticmethod
    def _run(
        ctx: BuildContext, demo_banner: bool, cache: Path, workers: int, folder: Path, ready: Any
    ) -> None:
        gc.enable()  # forked from a build without the cyclic collector (`no_cyclic_gc`)
        with no_cyclic_gc():  # at the feeds' priority: the print waits for the plan
            planned = plan_parts(ctx, demo_banner)
        # the entries it made, for the build's process to keep (the next one is forked there)
        assemble_module.write_atomically(folder / EarlyRender.ENTRIES, made_entries())
        cache.mkdir(parents=True, exist_ok=True)
        todo = split_reusable(planned, ctx)[1]
        jobs = part_jobs(todo, cache)
        if len(jobs) > workers:  # a print of many parts, a release's longest work, yields to
            os.nice(10)  # the feeds; the few parts of an approval are what the print waits on
        if jobs or todo:
            warm_up()
        here = dataclasses.replace(ctx, out_dir=folder, early_render=None)
        digests = {p.doc.key: p.digest for p in planned}
        with Assembly(todo, here, demo_banner, cache, workers) as assembly:
            if jobs:
                render_parts(list(jobs.values()), workers)
            done = {key: digests[key] for key in assembly.run()}
            outcome = {"planned": digests, "assembled": done}
            assemble_module.write_atomically(
                folder / EarlyRender.DONE, json.dumps(outcome).encode()
            )
            ready.send_bytes(b"done")  # before its helpers stop

    def finish(self, timeout: float = 3600) -> None:
        """Wait until it has written its outcome or ended (idempotent); past `timeout`, stop
        it and let the print do the rest."""
        if self._outcome_written():
            return
        multiprocessing.connection.wait([self.ready, self.process.sentinel], timeout)
        if not self._outcome_written() and self.process.is_alive():
            self.process.kill()
            self.process.join()

    def _outcome_written(self) -> bool:
        with contextlib.suppress(OSError, EOFError):
            if self.ready.poll():
                return self.ready.recv_bytes() == b"done" or (self.folder / self.DONE).is_file()
        return (self.folder / self.DONE).is_file()

    def assembled(self) -> dict[str, str]:
        """After `finish`: the documents it assembled (key -> inputs' digest), in `folder`."""
        return self._done("assembled")

    def planned(self) -> dict[str, str]:
        """After `finish`: every document it planned (key -> inputs' digest)."""
        return self._done("planned")

    def _done(self, what: str) -> dict[str, str]:
        try:
            done = json.loads((self.folder / self.DONE).read_bytes())[what]
        except (OSError, ValueError, KeyError, TypeError):
            return {}
        return done if isinstance(done, dict) else {}

    def keep_entries(self, ctx: BuildContext) -> None:
        """After `finish`: keep the entries its plan made in this process (`keep_entries`)."""
        with contextlib.suppress(OSError):
            keep_entries((self.folder / self.ENTRIES).read_bytes(), ctx)

    def discard(self, timeout: float = 60) -> None:
        """Wait for it to exit (it is past its outcome), then remove its folder (what the
        print did not take)."""
        if self.process.pid is not None:  # started
            self.process.join(timeout)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
        self.ready.close()
        shutil.rmtree(self.folder, ignore_errors=True)


EARLY_PREFIX = ".early-"  # the folders of early renders, beside the builds' (.build-*)


def start_early_render(ctx: BuildContext) -> EarlyRender | None:
    """Start rendering `ctx`'s missing parts beside the feeds (see `EarlyRender`); not when the
    parts go to Celery workers (PDF_FANOUT=celery), which render them when the print asks."""
    if current_app.config.get("PDF_FANOUT") == "celery":
        return None
    try:
        return EarlyRender(ctx)
    except Exception:  # noqa: BLE001 - an optimisation: the print renders its parts anyway
        log.exception("could not start rendering the print's parts beside the feeds")
        return None


_ASSEMBLY: tuple = ()  # what forked assembly processes read (set just before the fork)


def _assemble_job(index: int, cover_pages: int | None = None) -> str:
    todo, ctx, demo_banner, cache = _ASSEMBLY
    assemble(todo[index], ctx, demo_banner, cache, cover_pages)
    return todo[index].doc.key


def _cover_job(index: int) -> int:
    todo, ctx, demo_banner, _ = _ASSEMBLY
    return render_cover(todo[index].doc, ctx, demo_banner)


class Assembly:
    """Assembles documents (front matter, join, frame): with `workers` (by default
    PDF_WORKERS) of two or more, the longest (the statewide directory) in this process and the
    others side by side in `workers - 1` forked ones, this process taking its share of them
    once the longest is done. The helpers are forked when the assembly
    is opened, so a caller with other work first (rendering the parts the documents need)
    opens it before that work: a fork of a large process is not free, and then none is on
    the way to the longest document. Meanwhile a helper renders the longest document's cover
    (the release's number and dates: it needs no part)."""

    def __init__(
        self,
        todo: list[Planned],
        ctx: BuildContext,
        demo_banner: bool,
        cache: Path,
        workers: int | None = None,
    ) -> None:
        self.todo, self.ctx, self.demo_banner, self.cache = todo, ctx, demo_banner, cache
        self.workers = min(pdf_workers() if workers is None else workers, len(todo))
        self.pool: ProcessPoolExecutor | None = None
        self.cover: Future | None = None  # the longest document's cover, rendered by a helper
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Assembly:
        global _ASSEMBLY
        if self.workers <= 1:
            return self
        _ASSEMBLY = (self.todo, self.ctx, self.demo_banner, self.cache)
        # the frame's fonts, subset once (or read from the cache) here: the forked inherit them
        assemble_module.frame_font(assemble_module.REGULAR, self.cache)
        if self.demo_banner:
            assemble_module.frame_font(assemble_module.BOLD, self.cache)
        context = multiprocessing.get_context("fork")
        stack = self._stack
        try:
            stack.callback(_clear_assembly)
            stack.enter_context(forking())
            self.pool = stack.enter_context(
                ProcessPoolExecutor(
                    max_workers=self.workers - 1, mp_context=context, initializer=gc.enable
                )
            )
            self.pool.submit(int).result()  # the helpers are forked now, not when work comes
            self.cover = self.pool.submit(_cover_job, self._order()[0])
        except BaseException:
            stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def run(self) -> Iterator[str]:
        """Assemble every document; yields each one's key as it is done."""
        if self.pool is None:
            for p in self.todo:
                assemble(p, self.ctx, self.demo_banner, self.cache)
                yield p.doc.key
            return
        longest, *others = self._order()
        futures = [self.pool.submit(_assemble_job, i) for i in others]
        cover = self.cover
        yield _assemble_job(longest, None if cover is None or cover.cancel() else cover.result())
        # then this process takes, largest first, what no helper has started
        running = []
        for i, future in zip(others, futures, strict=True):
            if future.cancel():
                yield _assemble_job(i)
            else:
                running.append(future)
        for future in as_completed(running):
            yield future.result()

    def _order(self) -> list[int]:
        """The documents' indexes, longest first."""
        return sorted(range(len(self.todo)), key=lambda i: -len(self.todo[i].doc.records))


def _clear_assembly() -> None:
    global _ASSEMBLY
    _ASSEMBLY = ()


def assemble_all(
    todo: list[Planned],
    ctx: BuildContext,
    demo_banner: bool,
    cache: Path,
    workers: int | None = None,
) -> Iterator[str]:
    """Assemble each document (`Assembly`); yields each document's key as it is done."""
    with Assembly(todo, ctx, demo_banner, cache, workers) as assembly:
        yield from assembly.run()


PART_MAX_AGE = 7 * 24 * 3600  # seconds a part may go unused before it is deleted


def prune(cache: Path) -> None:
    """Delete parts no build has used for a week (every use touches the file)."""
    cutoff = time.time() - PART_MAX_AGE
    for path in cache.glob("*.pdf"):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
                path.with_suffix(".pages").unlink(missing_ok=True)
                path.with_suffix(".outline").unlink(missing_ok=True)
    for path in [*cache.glob("frame-font-*.json"), *cache.glob("index-*.json")]:
        with contextlib.suppress(OSError):  # made again when wanted (a fraction of a second)
            if path.stat().st_mtime < cutoff:
                path.unlink()
