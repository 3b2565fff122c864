"""The cached `pydyf.PDF.page_references` the renderer installs gives pydyf's own answer."""

from __future__ import annotations

import pydyf


def original_page_references(pdf):
    return tuple(f"{n} 0 R".encode("ascii") for n in pdf.pages["Kids"][::3])


def test_page_references_follow_every_added_page():
    from tasks.publishing import pdf as renderer

    assert pydyf.PDF.page_references.fget is renderer._page_references
    pdf = pydyf.PDF()
    assert pdf.page_references == ()
    seen = []
    for _ in range(3):
        page = pydyf.Dictionary({"Type": "/Page", "Parent": pdf.pages.reference})
        pdf.add_page(page)
        seen.append(f"{page.number} 0 R".encode("ascii"))
        assert pdf.page_references == original_page_references(pdf) == tuple(seen)
    assert pdf.page_references is pdf.page_references  # built once per page count
