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

`frame` lays the running title and "Page n of m" over every page (the parts are rendered
without them, since only the joined document knows its page numbers), marked as pagination
artifacts so that assistive technology skips them."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name

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


def _copy(out: pikepdf.Pdf, obj: pikepdf.Object) -> pikepdf.Object:
    """`obj` of another PDF in `out`: indirect objects through qpdf's copier (each copied
    once, so references to pages already appended land on the new pages), direct arrays and
    dictionaries element by element."""
    if isinstance(obj, pikepdf.Object) and obj.is_indirect:
        return out.copy_foreign(obj)
    if isinstance(obj, Array):
        return Array([_copy(out, x) for x in obj])
    if isinstance(obj, Dictionary):
        return Dictionary({k: _copy(out, v) for k, v in obj.items()})
    return obj


def _outline(pdf: pikepdf.Pdf) -> list[tuple[str, int | None, list]]:
    """A part's bookmarks as (title, page index, children)."""
    index = {page.objgen: i for i, page in enumerate(pdf.pages)}

    def walk(items) -> list:
        out = []
        for item in items:
            page = None
            dest = item.destination
            if isinstance(dest, Array) and len(dest) and isinstance(dest[0], Dictionary):
                page = index.get(dest[0].objgen)
            out.append((item.title, page, walk(item.children)))
        return out

    with pdf.open_outline() as outline:
        return walk(outline.root)


def _offset(items: list, offset: int) -> list:
    return [
        (title, None if page is None else page + offset, _offset(children, offset))
        for title, page, children in items
    ]


def _add_outline(items: list, into: list) -> None:
    for title, page, children in items:
        item = pikepdf.OutlineItem(title, page if page is not None else 0)
        _add_outline(children, item.children)
        into.append(item)


def join(parts: Sequence[Path], target: Path, nested: Sequence[bool] = ()) -> int:
    """Write the pages of `parts`, in order, as one tagged PDF at `target` (atomically).
    A part whose `nested` flag is set has its bookmarks put under the last top-level
    bookmark before it (a service type continuing its pillar). Returns the page count."""
    nested = list(nested) or [False] * len(parts)
    with pikepdf.open(parts[0]) as out:
        tree = out.Root.StructTreeRoot
        document = tree.K[0] if isinstance(tree.K, Array) else tree.K
        if not isinstance(document.K, Array):
            document.K = Array([document.K])
        entries = _keys(tree.ParentTree)
        next_key = max((k for k, _ in entries), default=-1) + 1
        bookmarks = _outline(out)
        for path, nest in zip(parts[1:], nested[1:], strict=True):
            with pikepdf.open(path) as part:
                offset = len(out.pages)
                items = _offset(_outline(part), offset)
                if nest and bookmarks:
                    bookmarks[-1][2].extend(items)
                else:
                    bookmarks += items
                out.pages.extend(part.pages)
                src_tree = part.Root.StructTreeRoot
                src_doc = src_tree.K[0] if isinstance(src_tree.K, Array) else src_tree.K
                kids = src_doc.K if isinstance(src_doc.K, Array) else Array([src_doc.K])
                for kid in kids:
                    copied = out.copy_foreign(kid)
                    if isinstance(copied, Dictionary):
                        copied.P = document
                    document.K.append(copied)
                src_entries = _keys(src_tree.ParentTree)
                for key, value in src_entries:
                    entries.append((key + next_key, _copy(out, value)))
                for page in out.pages[offset:]:
                    if "/StructParents" in page.obj:
                        page.obj.StructParents = int(page.obj.StructParents) + next_key
                    for annot in page.obj.get("/Annots") or []:
                        if "/StructParent" in annot:
                            annot.StructParent = int(annot.StructParent) + next_key
                next_key += max((k for k, _ in src_entries), default=-1) + 1
        nums = Array()
        for key, value in sorted(entries, key=lambda kv: kv[0]):
            nums.append(key)
            nums.append(value)
        tree.ParentTree = out.make_indirect(Dictionary(Nums=nums))
        tree.ParentTreeNextKey = next_key
        if "/Names" in out.Root and "/Dests" in out.Root.Names:
            del out.Root.Names["/Dests"]  # the first part's anchors; pages moved on
        with out.open_outline() as outline:
            outline.root.clear()
            _add_outline(bookmarks, outline.root)
        count = len(out.pages)
        _save(out, target)
    return count


def frame(target: Path, overlay: Path) -> None:
    """Lay page i of `overlay` over page i of `target` (same page count), as an artifact."""
    with pikepdf.open(target, allow_overwriting_input=True) as pdf, pikepdf.open(overlay) as over:
        if len(over.pages) != len(pdf.pages):
            raise ValueError(f"frame has {len(over.pages)} pages for {len(pdf.pages)}")
        for page, layer in zip(pdf.pages, over.pages, strict=True):
            form = pdf.copy_foreign(layer.as_form_xobject())
            name = page.add_resource(form, Name.XObject, prefix="Frame")
            page.contents_add(pdf.make_stream(b"q\n"), prepend=True)
            page.contents_add(
                pdf.make_stream(b"Q\n" + ARTIFACT_OPEN + b"q " + bytes(name) + b" Do Q\nEMC\n")
            )
        _save(pdf, target)


def _save(pdf: pikepdf.Pdf, target: Path) -> None:
    tmp = target.with_name(target.name + ".join.tmp")
    pdf.save(tmp, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    os.replace(tmp, target)
