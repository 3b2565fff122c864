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
# the county index: who answers, who comes, where to go
INDEX_988 = "988_center"
INDEX_MOBILE = "mobile_crisis"
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
    for module in (__file__, F.__file__):
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


def _label_list(values, labels) -> str:
    return ", ".join(labels.get(v, v) for v in values)


def _ages(lo, hi) -> str:
    if lo is not None and hi is not None:
        return f"Ages {lo}–{hi}"
    if lo is not None:
        return f"Ages {lo} and older"
    if hi is not None:
        return f"Ages {hi} and younger"
    return ""


def counties_text(record: dict[str, Any], total: int) -> list[tuple[str, str]]:
    counties = record.get("counties") or []
    if not counties:
        return []
    by_role: dict[str, list[str]] = {}
    for c in counties:
        by_role.setdefault(c.get("role") or "served", []).append(c["name"])
    out = []
    for role in ("primary", "backup", "served"):
        names = by_role.get(role)
        if not names:
            continue
        label = "Counties served" if role == "served" else f"{F.COUNTY_ROLES[role]} for"
        text = (
            f"All {total} Missouri county areas"
            if len(names) == total
            else ", ".join(sorted(names))
        )
        out.append((label, text))
    return out


def listing_view(r: dict[str, Any], county_names: dict[str, str], total: int) -> dict[str, Any]:
    """The printed lines of one listing; every value is plain text (escaped by the template)."""
    a = r.get("address") or {}
    address = []
    if a.get("address_1"):
        address = [x for x in (a.get("address_1"), a.get("address_2")) if x]
        address.append(
            f"{a.get('city', '')}, {a.get('state', 'MO')} {a.get('postal_code', '')}".strip()
        )
        if a.get("county_fips"):
            address.append(county_names.get(a["county_fips"], a["county_fips"]))
    phones = [
        f"{F.PHONE_KINDS.get(p.get('kind'), 'Call')} {F.format_phone(p.get('number', ''))}"
        + (f" — {p['description']}" if p.get("description") else "")
        for p in r.get("phones") or []
    ]
    serves = [
        x
        for x in (
            _label_list(r.get("populations") or [], F.POPULATIONS),
            _ages(r.get("min_age"), r.get("max_age")),
            "Nonviolent people only" if r.get("nonviolent_only") else "",
            r.get("eligibility_notes") or "",
        )
        if x
    ]
    access = [
        x
        for x in (
            "Walk-ins welcome" if r.get("walk_in") else "",
            "Law enforcement drop-off accepted" if r.get("le_dropoff") else "",
            f"Target response time: {r['target_response_minutes']} minutes"
            if r.get("target_response_minutes")
            else "",
            "Referrals from: " + _label_list(r["referral_sources"], F.REFERRAL_SOURCES)
            if r.get("referral_sources")
            else "",
        )
        if x
    ]
    cost = [
        x
        for x in (
            F.COST_MODELS.get(r.get("cost") or "", r.get("cost") or ""),
            "No one is turned away for inability to pay" if r.get("no_one_turned_away") else "",
            r.get("cost_notes") or "",
        )
        if x
    ]
    stay = []
    if r.get("capacity"):
        stay.append(
            f"{r['capacity']} {F.CAPACITY_UNITS.get(r.get('capacity_unit') or '', r.get('capacity_unit') or '')}".strip()
        )
    if r.get("max_stay_hours"):
        stay.append(f"stays up to {r['max_stay_hours']} hours")
    online = [
        x
        for x in (r.get("website"), r.get("email"), r.get("chat_url") and f"Chat: {r['chat_url']}")
        if x
    ]
    rows = [
        ("Phone", phones),
        ("Address", address),
        ("Hours", r.get("hours_text") or []),
        ("Who it serves", serves),
        (
            "Languages",
            [_label_list(r.get("languages") or [], F.LANGUAGES)] if r.get("languages") else [],
        ),
        ("Getting there", access),
        ("Cost", cost),
        ("Capacity", ["; ".join(stay)] if stay else []),
        ("Accessibility", [r["accessibility"]] if r.get("accessibility") else []),
        ("Online", online),
    ]
    rows += [(label, [text]) for label, text in counties_text(r, total)]
    return {
        "name": r["name"],
        "organization": r["organization"]["name"],
        "type": r.get("service_type_short") or r["service_type"],
        "description": r.get("description") or "",
        "rows": [(label, lines) for label, lines in rows if lines],
        "phone": F.format_phone((r.get("phones") or [{}])[0].get("number", "")),
    }


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


def _index_entry(v: dict[str, Any], role: str) -> str:
    text = v["name"]
    if role in ("primary", "backup"):
        text += f" ({role})"
    return f"{text}, {v['phone']}" if v["phone"] else text


def county_index(doc: PdfDoc, ref: dict[str, Any], views: dict[str, dict]) -> list[dict[str, Any]]:
    """For each county: the 988 center(s) (primary/backup), mobile teams, places for help.

    Each row is plain text ("Name (role), phone; ...", in short paragraphs, see `_chunks`):
    the listings are found by name in their section (the contents and the index's introduction
    give those sections' pages), so the index carries no per-mention page reference or link —
    thousands of those made the index the most expensive part of the layout (see
    docs/benchmarks.md)."""
    if not doc.index_fips:
        return []
    wanted = set(doc.index_fips)
    per: dict[str, dict[str, list]] = {f: {"c988": [], "mobile": [], "place": []} for f in wanted}
    rank = {"primary": 0, "backup": 1}
    for r in doc.records:
        if r["service_type"] == INDEX_988:
            bucket = "c988"
        elif r["service_type"] == INDEX_MOBILE:
            bucket = "mobile"
        elif r["pillar"] == INDEX_PLACE_PILLAR:
            bucket = "place"
        else:
            continue
        v = views[r["id"]]
        for fips, role in coverage(r).items():
            if fips in wanted:
                key = (rank.get(role, 2) if bucket == "c988" else 0, v["name"].lower())
                per[fips][bucket].append((key, _index_entry(v, role)))
    out = []
    for c in sorted(ref["counties"], key=lambda c: c["name"].lower()):
        if c["fips"] not in wanted:
            continue
        rows = {
            b: _chunks([text for _, text in sorted(entries)])
            for b, entries in per[c["fips"]].items()
        }
        out.append({"fips": c["fips"], "name": c["name"], **rows})
    return out


INDEX_CHUNK = 4  # entries per printed paragraph of an index row


def _chunks(entries: list[str]) -> list[str]:
    """An index row as paragraphs of at most INDEX_CHUNK entries ("A; B; C; D;" then "E"):
    WeasyPrint's line breaking slows down on very long paragraphs, and a county served by
    dozens of services would otherwise be one."""
    parts = ["; ".join(entries[i : i + INDEX_CHUNK]) for i in range(0, len(entries), INDEX_CHUNK)]
    return [p + ";" for p in parts[:-1]] + parts[-1:]


def index_sections(sections_: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Where the index's three kinds of service are printed (one page reference each)."""
    out = []
    for s in sections_:
        for t in s["types"]:
            if t["anchor"] in (f"t-{INDEX_988}", f"t-{INDEX_MOBILE}"):
                out.append({"anchor": t["anchor"], "title": t["title"]})
        if s["anchor"] == f"p-{INDEX_PLACE_PILLAR}":
            out.append({"anchor": s["anchor"], "title": s["title"]})
    return out


def approved_as_of(records: list[dict[str, Any]]) -> str:
    stamps = [r.get("modified_at") or r.get("approved_at") for r in records]
    stamps = [s for s in stamps if s]
    if not stamps:
        return "—"
    return datetime.fromisoformat(max(stamps)).strftime("%B %-d, %Y")


def render_html(doc: PdfDoc, ctx: BuildContext, demo_banner: bool) -> str:
    ref = ctx.reference
    county_names = {c["fips"]: c["name"] for c in ref["counties"]}
    total = len(county_names)
    views = {r["id"]: listing_view(r, county_names, total) for r in doc.records}
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
