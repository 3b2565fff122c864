"""Printable PDF directories of a release, rendered with WeasyPrint.

`write_pdfs(ctx)` writes, under `ctx.out_dir`:

* `pdf/directory.pdf` — the statewide directory (cover, how to get help now, contents, the
  listings by pillar and service type, a county index);
* `pdf/type-<service_type>.pdf` — one per service type that has printed listings;
* `pdf/region-<slug>.pdf` — one per region (listings serving any of its counties + its index);
* `pdf/inputs.json` — each PDF's inputs hash (the records it prints, the reference data and
  the template version). When the previous release has the same hash for a file, that file is
  hard-linked instead of rendered again.

Everything printed comes from `ctx.records` and `ctx.reference` (never from live tables).
Provider text reaches the HTML only through Jinja autoescaping, and the `url_fetcher` serves
files from `templates/pdf/assets/` and nothing else."""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pydyf
import weasyprint
from flask import current_app, render_template
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from models import fields as F

from . import entry
from .context import BuildContext

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


def coverage(record: dict[str, Any]) -> dict[str, str]:
    """County FIPS -> role for one listing: its site county ("site") plus its counties."""
    out: dict[str, str] = {}
    site = (record.get("address") or {}).get("county_fips")
    if site:
        out[site] = "site"
    for c in record.get("counties") or []:
        out.setdefault(c["fips"], c.get("role") or "served")
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
    for st in sorted(ref["service_types"], key=lambda t: t["sort_order"]):
        of_type = [r for r in recs if r["service_type"] == st["code"]]
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
    for region in ref["regions"]:
        fips = set(region["counties"])
        inside = [r for r in recs if fips & coverage(r).keys()]
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
    for module in (__file__, entry.__file__, F.__file__):
        h.update(Path(module).read_bytes())
    return h.hexdigest()


def inputs_hash(doc: PdfDoc, ctx: BuildContext, demo_banner: bool) -> str:
    payload = {
        "key": doc.key,
        "kind": doc.kind,
        "title": doc.title,
        "subtitle": doc.subtitle,
        "records": doc.records,
        "index": doc.index_fips,
        "reference": ctx.reference,
        "template": template_version(),
        "demo_banner": demo_banner,
        "variant": PDF_VARIANT,
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


# ------------------------------------------------------------------ how a listing is printed


def index_kind(record: dict[str, Any]) -> str | None:
    """Which question of the county index a listing answers, from its type's pillar: who
    answers 988 (a "contact" service answering counties as primary or backup), who comes (a
    "respond" service) or where to go (a "place")."""
    pillar = record.get("pillar")
    if pillar == INDEX_CONTACT_PILLAR and any(
        c.get("role") in ("primary", "backup") for c in record.get("counties") or []
    ):
        return "988"
    return {INDEX_RESPOND_PILLAR: "mobile", INDEX_PLACE_PILLAR: "place"}.get(pillar)


def sections(doc: PdfDoc, ref: dict[str, Any], views: dict[str, dict]) -> list[dict[str, Any]]:
    types = sorted(ref["service_types"], key=lambda t: t["sort_order"])
    out = []
    for pillar in PILLAR_ORDER:
        groups = []
        for st in types:
            if st["pillar"] != pillar:
                continue
            items = [views[r["id"]] for r in doc.records if r["service_type"] == st["code"]]
            if items:
                groups.append(
                    {
                        "anchor": f"t-{st['code']}",
                        "title": plural(st["name"]),
                        "description": st["description"],
                        "listings": items,
                    }
                )
        if groups:
            title = next(t["pillar_title"] for t in types if t["pillar"] == pillar)
            out.append(
                {
                    "anchor": f"p-{pillar}",
                    "title": title,
                    "intro": PILLAR_INTROS.get(pillar, ""),
                    "types": groups,
                }
            )
    return out


def county_index(doc: PdfDoc, ref: dict[str, Any], views: dict[str, dict]) -> list[dict[str, Any]]:
    """For each county of the document: who answers 988, who comes, where to go (see
    `entry.county_rows`). Plain text: no per-mention page reference."""
    if not doc.index_fips:
        return []
    kinds = {r["id"]: k for r in doc.records if (k := index_kind(r))}
    return entry.county_rows(doc.index_fips, ref["counties"], doc.records, views, kinds)


def index_sections(sections_: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Where the index's kinds of service are printed (one page reference each)."""
    return [
        {"anchor": s["anchor"], "title": s["title"]}
        for s in sections_
        if s["anchor"]
        in (f"p-{INDEX_CONTACT_PILLAR}", f"p-{INDEX_RESPOND_PILLAR}", f"p-{INDEX_PLACE_PILLAR}")
    ]


def approved_as_of(records: list[dict[str, Any]]) -> str:
    stamps = [r.get("modified_at") or r.get("approved_at") for r in records]
    stamps = [s for s in stamps if s]
    if not stamps:
        return "—"
    return datetime.fromisoformat(max(stamps)).strftime("%B %-d, %Y")


def render_html(doc: PdfDoc, ctx: BuildContext, demo_banner: bool) -> str:
    ref = ctx.reference
    county_names = {c["fips"]: c["name"] for c in ref["counties"]}
    regions = entry.region_names(ref["regions"])
    views = {r["id"]: entry.entry(r, county_names, regions) for r in doc.records}
    sections_ = sections(doc, ref, views)
    index = county_index(doc, ref, views)
    return render_template(
        "pdf/directory.html",
        doc=doc,
        sections=sections_,
        index=index,
        index_sections=index_sections(sections_) if index else [],
        number=ctx.number,
        is_preview=ctx.is_preview,
        printed_on=ctx.created_at.strftime("%B %-d, %Y"),
        approved_as_of=approved_as_of(doc.records),
        listing_count=len(doc.records),
        demo_banner=demo_banner,
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
    """HTML -> tagged PDF at `target` (written atomically). Returns the page count."""
    fetcher = fetcher or AssetsOnlyFetcher()
    document = weasyprint.HTML(
        string=html, base_url=ASSETS_DIR.as_uri() + "/", url_fetcher=fetcher
    ).render(font_config=font_config())
    tmp = target.with_name(target.name + ".tmp")
    document.write_pdf(tmp, pdf_variant=PDF_VARIANT)
    os.replace(tmp, target)
    return len(document.pages)


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


def write_pdfs(ctx: BuildContext, progress: Callable[[int, int, str], None] | None = None) -> None:
    """Write every PDF of the release (see the module docstring)."""
    demo_banner = bool(current_app.config.get("DEMO_BANNER"))
    docs = plan(ctx)
    before = previous_inputs(ctx)
    hashes: dict[str, str] = {}
    rendered = reused = 0
    for i, doc in enumerate(docs, start=1):
        digest = inputs_hash(doc, ctx, demo_banner)
        hashes[doc.key] = digest
        target = ctx.path(doc.key)
        old = Path(ctx.previous_dir) / doc.key if ctx.previous_dir else None
        if old is not None and before.get(doc.key) == digest and old.is_file():
            _reuse(old, target)
            reused += 1
        else:
            render_document(render_html(doc, ctx, demo_banner), target)
            rendered += 1
        if progress:
            progress(i, len(docs), doc.key)
    ctx.path(INPUTS_FILE).write_text(json.dumps(hashes, indent=2, sort_keys=True) + "\n")
    log.info("pdf: %d rendered, %d reused from the previous release", rendered, reused)
