"""Join separately rendered PDF parts into one tagged, bookmarked directory.

Each part (front matter, a service type's section, a county index...) is a complete tagged
PDF of its own, rendered by WeasyPrint, possibly in another process or an earlier release.
`join` appends their pages to the first part's and merges what makes the result one
accessible document:

* the structure tree (PDF/UA): every part's top-level elements move under the first part's
  `Document` element; the parent tree's keys of each later part are shifted past the ones
  before it, and so are its pages' `StructParents` and its annotations' `StructParent`;
* the bookmarks: each part's outline, pointing to the same pages at their new numbers;
* the title, language, XMP metadata and viewer preferences come from the first part (the
  front matter, whose `<title>` is the document's title).

`frame` writes the running title, the section's name and "Page n of m" into every page (the
parts are rendered
without them, since only the joined document knows its page numbers), marked as pagination
artifacts so that assistive technology skips them, in an embedded subset of the stylesheet's
DejaVu Sans (a few hundred bytes per document instead of laying out blank pages)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import logging
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path

# pikepdf announces its logger bridge at INFO on import: not news for anyone reading the log
logging.getLogger("pikepdf._core").setLevel(logging.WARNING)

import pikepdf  # noqa: E402
from pikepdf import Array, Dictionary, Name  # noqa: E402

ARTIFACT_OPEN = b"/Artifact <</Type /Pagination>> BDC\n"


def _keys(parent_tree: pikepdf.Object) -> list[tuple[int, pikepdf.Object]]:
    """The (key, value) pairs of a number tree (flat `Nums` or nested `Kids`)."""
    out = []
    nums = parent_tree.get("/Nums")
    if nums is not None:
        out += [(int(nums[i]), nums[i + 1]) for i in range(0, len(nums), 2)]
    for kid in parent_tree.get("/Kids") or []:
        out += _keys(kid)
    return out


def _outline(pdf: pikepdf.Pdf) -> list[tuple[str, int | None, list]]:
    """A part's bookmarks as (title, page index, children), read from the outline's
    dictionaries (a few thousand items in a large directory: pikepdf's outline model costs
    ten times more)."""
    index = {page.objgen: i for i, page in enumerate(pdf.pages)}

    def page_of(item: pikepdf.Object) -> int | None:
        dest = item.get("/Dest")
        if dest is None and isinstance(item.get("/A"), Dictionary):
            dest = item.A.get("/D")
        if isinstance(dest, Array) and len(dest) and isinstance(dest[0], Dictionary):
            return index.get(dest[0].objgen)
        return None

    def walk(first: pikepdf.Object | None) -> list:
        out, item, seen = [], first, set()
        while isinstance(item, Dictionary) and item.objgen not in seen:
            seen.add(item.objgen)  # a malformed outline's loop ends here
            out.append((str(item.get("/Title", "")), page_of(item), walk(item.get("/First"))))
            item = item.get("/Next")
        return out

    root = pdf.Root.get("/Outlines")
    return walk(root.get("/First")) if isinstance(root, Dictionary) else []


def _offset(items: list, offset: int) -> list:
    return [
        (title, None if page is None else page + offset, _offset(children, offset))
        for title, page, children in items
    ]


def _write_outline(pdf: pikepdf.Pdf, items: list) -> None:
    """Replace `pdf`'s bookmarks by `items` (title, page index, children), every level open,
    each pointing at its page ([page /Fit])."""
    pages = [page.obj for page in pdf.pages]
    fit = Name.Fit

    def level(parent: pikepdf.Object, items: list) -> int:
        count, previous, first = 0, None, None
        for title, page, children in items:
            node = pdf.make_indirect(
                Dictionary(
                    Title=pikepdf.String(title),
                    Parent=parent,
                    Dest=Array([pages[page if page is not None else 0], fit]),
                )
            )
            if previous is None:
                first = node
            else:
                previous.Next = node
                node.Prev = previous
            previous = node
            count += 1 + level(node, children)
        if first is not None:
            parent.First, parent.Last = first, previous
        if count:
            parent.Count = count
        return count

    root = pdf.make_indirect(Dictionary(Type=Name.Outlines))
    level(root, items)
    pdf.Root.Outlines = root


def _document(tree: pikepdf.Object) -> pikepdf.Object:
    """The structure tree's top element (WeasyPrint's `Document`), with `K` as an array."""
    document = tree.K[0] if isinstance(tree.K, Array) else tree.K
    if not isinstance(document.K, Array):
        document.K = Array([document.K])
    return document


class _Joined:
    """The first part's PDF growing by the pages, structure and bookmarks of the others."""

    def __init__(self, out: pikepdf.Pdf):
        self.out = out
        self.tree = out.Root.StructTreeRoot
        self.document = _document(self.tree)
        self.entries = _keys(self.tree.ParentTree)
        self.next_key = max((k for k, _ in self.entries), default=-1) + 1
        self.bookmarks = _outline(out)

    def add(self, part: pikepdf.Pdf, nest: bool, outline: list | None = None) -> None:
        """Append `part` (its bookmarks `outline`, if kept: read from it otherwise)."""
        offset = len(self.out.pages)
        items = _offset(_outline(part) if outline is None else outline, offset)
        if nest and self.bookmarks:
            self.bookmarks[-1][2].extend(items)
        else:
            self.bookmarks += items
        self.out.pages.extend(part.pages)
        kids = list(_document(part.Root.StructTreeRoot).K)
        entries = _keys(part.Root.StructTreeRoot.ParentTree)
        # the part's structure and parent-tree entries in one copy (qpdf's copier maps each
        # object once, so references to the pages just appended land on the new pages)
        bundle = part.make_indirect(Array([Array(kids), Array([v for _, v in entries])]))
        copied_kids, copied_values = self.out.copy_foreign(bundle)
        for kid in copied_kids:
            if isinstance(kid, Dictionary):
                kid.P = self.document
            self.document.K.append(kid)
        self.entries += [
            (key + self.next_key, value)
            for (key, _), value in zip(entries, copied_values, strict=True)
        ]
        for page in self.out.pages[offset:]:
            self._shift(page.obj)
        self.next_key += max((k for k, _ in entries), default=-1) + 1

    def _shift(self, page: pikepdf.Object) -> None:
        """Point a moved page (and its annotations) at its entries' new keys."""
        if "/StructParents" in page:
            page.StructParents = int(page.StructParents) + self.next_key
        for annot in page.get("/Annots") or []:
            if "/StructParent" in annot:
                annot.StructParent = int(annot.StructParent) + self.next_key

    def finish(self) -> None:
        nums = Array()
        for key, value in sorted(self.entries, key=lambda kv: kv[0]):
            nums.append(key)
            nums.append(value)
        self.tree.ParentTree = self.out.make_indirect(Dictionary(Nums=nums))
        self.tree.ParentTreeNextKey = self.next_key
        root = self.out.Root
        if "/Names" in root and "/Dests" in root.Names:
            del root.Names["/Dests"]  # the first part's anchors; pages moved on
        _write_outline(self.out, self.bookmarks)


def join(
    parts: Sequence[Path],
    target: Path,
    nested: Sequence[bool] = (),
    *,
    title: str | None = None,
    sections: Sequence[str | None] = (),
    demo_banner: bool = False,
) -> int:
    """Write the pages of `parts`, in order, as one tagged PDF at `target` (atomically).
    A part whose `nested` flag is set has its bookmarks put under the last top-level
    bookmark before it (a service type continuing its pillar). With a `title`, the page frame
    is laid on in the same pass (`frame`), with each part's `sections` name (if any) at the
    top of its pages. Returns the page count."""
    nested = list(nested) or [False] * len(parts)
    sections = list(sections) or [None] * len(parts)
    with pikepdf.open(parts[0]) as out:
        joined = _Joined(out)
        running = [sections[0]] * len(out.pages)
        for path, nest, section in zip(parts[1:], nested[1:], sections[1:], strict=True):
            with pikepdf.open(path) as part:
                joined.add(part, nest, kept_outline(path))
            running += [section] * (len(out.pages) - len(running))
        joined.finish()
        count = len(out.pages)
        if title is not None:
            frame(out, title, demo_banner, running)
        _save(out, target)
    return count


FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
REGULAR, BOLD = "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"  # Debian's fonts-dejavu-core
# where the stylesheet's margin boxes were: letter, margins 0.75in top, 0.7in sides, 0.8in bottom
PAGE_WIDTH, MARGIN_X = 612.0, 50.4
TITLE_Y, FOOTER_Y, SIZE = 760.0, 26.0, 8.0


@cache
def font_file(name: str) -> Path:
    for folder in FONT_DIRS:
        for path in sorted(folder.rglob(name)):
            return path
    raise FileNotFoundError(f"{name} (Debian package fonts-dejavu-core) is not installed")


class FrameFont:
    """A TrueType font subset to the characters of the frame, as a simple WinAnsi font: the
    frame's few words need neither a CID font nor a ToUnicode map, and every font of a PDF/UA
    file must be embedded."""

    def __init__(self, name: str, text: str):
        from fontTools import subset
        from fontTools.ttLib import TTFont

        self.chars = sorted({c for c in text if _code(c) is not None} | {" "})
        options = subset.Options()
        options.notdef_outline = True
        options.name_IDs = ["*"]
        # the frame's words are shown glyph by glyph (no shaping, no kerning) and, like
        # WeasyPrint's own embedded fonts, unhinted: half the subsetting time and bytes
        options.hinting = False
        options.drop_tables = [
            *options.drop_tables,
            "FFTM",  # FontForge's timestamps
            *("GSUB", "GPOS", "GDEF", "kern", "MATH"),
        ]
        font = TTFont(font_file(name), recalcTimestamp=False)  # the same bytes every time
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=[ord(c) for c in self.chars])
        subsetter.subset(font)
        scale = 1000 / font["head"].unitsPerEm
        cmap = font.getBestCmap()
        metrics = font["hmtx"].metrics
        self.widths = {
            _code(c): round(metrics[cmap[ord(c)]][0] * scale) for c in self.chars if ord(c) in cmap
        }
        head, hhea = font["head"], font["hhea"]
        self.bbox = [head.xMin, head.yMin, head.xMax, head.yMax]
        self.ascent, self.descent = hhea.ascent, hhea.descent
        self.scale = scale
        buffer = io.BytesIO()
        font.save(buffer)
        self.data = buffer.getvalue()
        self.base = "FRAMEA+" + font_file(name).stem.replace("-", "")

    KEPT = ("chars", "widths", "bbox", "ascent", "descent", "scale", "base")

    def dump(self) -> bytes:
        kept = {k: getattr(self, k) for k in self.KEPT}
        kept["widths"] = sorted(self.widths.items())
        return json.dumps({**kept, "data": base64.b64encode(self.data).decode()}).encode()

    @classmethod
    def load(cls, blob: bytes) -> FrameFont:
        kept = json.loads(blob)
        font = cls.__new__(cls)
        for k in cls.KEPT:
            setattr(font, k, kept[k])
        font.widths = {code: width for code, width in kept["widths"]}
        font.data = base64.b64decode(kept["data"])
        return font

    def width(self, text: str, size: float) -> float:
        return sum(self.widths.get(_code(c), 0) for c in text) * size / 1000

    def dictionary(self, pdf: pikepdf.Pdf) -> pikepdf.Object:
        first, last = 32, 255
        widths = Array([self.widths.get(code, 0) for code in range(first, last + 1)])
        descriptor = Dictionary(
            Type=Name.FontDescriptor,
            FontName=Name("/" + self.base),
            Flags=32,  # nonsymbolic
            FontBBox=Array([round(v * self.scale) for v in self.bbox]),
            ItalicAngle=0,
            Ascent=round(self.ascent * self.scale),
            Descent=round(self.descent * self.scale),
            CapHeight=round(self.ascent * self.scale * 0.7),
            StemV=80,
            FontFile2=pdf.make_stream(self.data),
        )
        return pdf.make_indirect(
            Dictionary(
                Type=Name.Font,
                Subtype=Name.TrueType,
                BaseFont=Name("/" + self.base),
                FirstChar=first,
                LastChar=last,
                Widths=widths,
                Encoding=Name.WinAnsiEncoding,
                FontDescriptor=pdf.make_indirect(descriptor),
            )
        )


# every character the frame's WinAnsi fonts can show (cp1252 leaves five bytes undefined)
WINANSI = "".join(bytes([b]).decode("cp1252", errors="ignore") for b in range(32, 256))


_FONTS: dict[str, FrameFont] = {}


def frame_font(name: str, store: Path | None = None) -> FrameFont:
    """The frame's font, subset to every WinAnsi character once per process (subsetting is
    most of a frame's cost; the subset is some tens of kilobytes per document). With a
    `store` (the parts cache), once per machine: the subset is kept there, named by the
    font file's and this module's content, for the processes that come after."""
    font = _FONTS.get(name)
    if font is not None:
        return font
    kept = None
    if store is not None:
        h = hashlib.sha256(font_file(name).read_bytes())
        h.update(Path(__file__).read_bytes())
        kept = store / f"frame-font-{h.hexdigest()[:32]}.json"
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            font = FrameFont.load(kept.read_bytes())
    if font is None:
        font = FrameFont(name, WINANSI)
        if kept is not None:
            with contextlib.suppress(OSError):
                write_atomically(kept, font.dump())
    _FONTS[name] = font
    return font


def _code(char: str) -> int | None:
    try:
        return char.encode("cp1252")[0]
    except UnicodeEncodeError:
        return None


def _string(text: str) -> bytes:
    """A PDF literal string in WinAnsi; characters it lacks become '?'."""
    raw = text.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _show(font: str, size: float, x: float, y: float, text: str, grey: float = 0.0) -> bytes:
    return (
        f"BT /{font} {size:g} Tf {grey:g} g {x:.2f} {y:.2f} Td ".encode()
        + _string(text)
        + b" Tj ET\n"
    )


def frame(
    pdf: pikepdf.Pdf,
    title: str,
    demo_banner: bool = False,
    sections: Sequence[str | None] = (),
) -> None:
    """Write the running title and section (`sections`, by page; neither on the cover) and
    "Page n of m" (and, for demo data, "DEMO DATA – fictional") into every page of `pdf`, as
    pagination artifacts."""
    demo = "DEMO DATA – fictional"
    total = len(pdf.pages)
    regular = frame_font(REGULAR)
    bold = frame_font(BOLD) if demo_banner else None
    fonts = {"FrameR": regular.dictionary(pdf)}
    if bold:
        fonts["FrameB"] = bold.dictionary(pdf)
    save_state = pdf.make_stream(b"q\n")  # one stream, opening every page's contents
    for number, page in enumerate(pdf.pages, start=1):
        footer = f"Page {number} of {total}"
        ops = _show(
            "FrameR", SIZE, (PAGE_WIDTH - regular.width(footer, SIZE)) / 2, FOOTER_Y, footer
        )
        if number > 1:
            ops += _show("FrameR", SIZE, MARGIN_X, TITLE_Y, title, grey=0.267)
            section = sections[number - 1] if number <= len(sections) else None
            if section:
                x = PAGE_WIDTH - MARGIN_X - regular.width(section, SIZE)
                ops += _show("FrameR", SIZE, x, TITLE_Y, section, grey=0.267)
        if bold:
            x = PAGE_WIDTH - MARGIN_X - bold.width(demo, SIZE)
            ops += _show("FrameB", SIZE, x, FOOTER_Y, demo)
        if "/Resources" not in page.obj:
            page.obj.Resources = Dictionary()
        if "/Font" not in page.obj.Resources:
            page.obj.Resources.Font = Dictionary()
        font_dict = page.obj.Resources.Font
        for name, ref in fonts.items():
            font_dict[Name("/" + name)] = ref
        page.contents_add(save_state, prepend=True)
        page.contents_add(pdf.make_stream(b"Q\n" + ARTIFACT_OPEN + b"q\n" + ops + b"Q\nEMC\n"))


PLAIN_SPAN = {"/Type", "/S", "/K", "/Pg", "/P"}  # a Span with anything else is kept


def fold_spans(pdf: pikepdf.Pdf) -> int:
    """Fold each plain `Span` into its parent: WeasyPrint tags every run of text (every
    line's piece of a paragraph) as a `Span` of its own, with nothing but its marked-content
    ids; the parent (a `P`, a heading) takes those ids directly, and the parent tree names
    the parent for them. The text, its order and its roles read the same; the document has
    half the objects, which is most of what joining and saving a directory costs. A `Span`
    with attributes, alternate text or content on another page is left as it is. Returns how
    many were folded."""
    root = pdf.Root.get("/StructTreeRoot")
    if root is None:
        return 0
    into: dict[tuple[int, int], pikepdf.Object] = {}  # folded span -> its parent
    stack = [root]
    while stack:
        element = stack.pop()
        kids = element.get("/K")
        if kids is None:
            continue
        many = isinstance(kids, pikepdf.Array)
        page = element.get("/Pg")
        out, changed = [], False
        for kid in kids if many else [kids]:
            if not isinstance(kid, pikepdf.Dictionary) or not kid.is_indirect:
                out.append(kid)  # a marked-content id or reference, an object reference
                continue
            ids = _plain_span_ids(kid, page)
            if ids is None:
                out.append(kid)
                stack.append(kid)
                continue
            out += ids
            into[kid.objgen] = element
            changed = True
        if changed:
            element.K = Array(out)
    if into:
        for _, value in _keys(root.ParentTree):
            if isinstance(value, pikepdf.Array):
                for i, target in enumerate(value):
                    if isinstance(target, pikepdf.Dictionary) and target.objgen in into:
                        value[i] = into[target.objgen]
    return len(into)


def fold_file(path: Path) -> list:
    """`fold_spans` on a PDF file, rewritten atomically (a part, once, when rendered).
    Returns its bookmarks (`note_outline`)."""
    with pikepdf.open(path) as pdf:
        if fold_spans(pdf):
            _save(pdf, path)
        return _outline(pdf)


def _plain_span_ids(kid: pikepdf.Object, page: pikepdf.Object | None) -> list[int] | None:
    """A plain span's marked-content ids, if it can be folded into a parent on `page`."""
    if kid.get("/S") != "/Span" or not set(kid.keys()) <= PLAIN_SPAN:
        return None
    own = kid.get("/Pg")
    if page is None or own is None or own.objgen != page.objgen:
        return None
    ids = kid.get("/K")
    ids = list(ids) if isinstance(ids, pikepdf.Array) else [ids]
    if not ids or not all(isinstance(i, int) for i in ids):
        return None
    return [int(i) for i in ids]


def page_count(path: Path) -> int:
    """The page count of a part, kept beside it (`<name>.pages`): parts never change, and
    opening a PDF to count its pages costs more than reading one number."""
    note = path.with_suffix(".pages")
    try:
        return int(note.read_text())
    except (OSError, ValueError):
        pass
    with pikepdf.open(path) as pdf:
        count = len(pdf.pages)
    note_pages(path, count)
    return count


def note_outline(path: Path, items: list) -> None:
    """Keep a part's bookmarks beside it (`<name>.outline`, read by `kept_outline`): a
    directory's thousands of bookmarks are then read as JSON, not walked in each part."""
    write_atomically(path.with_suffix(".outline"), json.dumps(items).encode())


def kept_outline(path: Path) -> list | None:
    """The bookmarks kept beside a part (`note_outline`), or None."""
    try:
        items = json.loads(path.with_suffix(".outline").read_bytes())
    except (OSError, ValueError):
        return None
    return items if isinstance(items, list) else None


def note_pages(path: Path, count: int) -> None:
    """Keep a part's page count beside it (read by `page_count`), written atomically."""
    write_atomically(path.with_suffix(".pages"), str(count).encode())


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` beside `path`, then rename it over: a reader sees the old file or the
    whole new one, whichever process writes. Not fsynced: for what the parts cache and a
    print's work folder keep, which are made again when lost."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _save(pdf: pikepdf.Pdf, target: Path) -> None:
    tmp = target.with_name(target.name + ".join.tmp")
    pdf.save(tmp, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    os.replace(tmp, target)
