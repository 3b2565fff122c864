"""PDF fixtures: one real release build of the demo data per test module (rendering is the
slow part), with one listing's description replaced by hostile HTML/CSS and every URL the
renderer asked for recorded."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest
from pdf_helpers import HOSTILE, demo_context, pdf_text


@pytest.fixture(scope="module")
def demo_build(app, tmp_path_factory):
    from models import db
    from tasks.publishing.pdf import AssetsOnlyFetcher, write_pdfs

    with app.app_context():
        ctx = demo_context(tmp_path_factory.mktemp("release-1"))
        db.session.remove()
        ctx.records = copy.deepcopy(ctx.records)
        hostile = next(
            r for r in ctx.records if r["service_type"] == "bhcc" and not r["exclude_from_print"]
        )
        hostile["description"] = HOSTILE
        fetched: list[str] = []
        original = AssetsOnlyFetcher.fetch

        def spy(self, url, headers=None):
            fetched.append(url)
            return original(self, url, headers)

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(AssetsOnlyFetcher, "fetch", spy)
            # in this process, so the spy sees every fetch (test_pdf_assembly renders the
            # same directories side by side and compares)
            mp.setitem(app.config, "PDF_WORKERS", 1)
            write_pdfs(ctx)
    statewide = ctx.out_dir / "pdf" / "directory.pdf"
    return SimpleNamespace(
        ctx=ctx,
        out=ctx.out_dir,
        hostile=hostile,
        fetched=fetched,
        statewide=statewide,
        text=pdf_text(statewide),
    )


@pytest.fixture
def render_spy(monkeypatch):
    """Records every real render (parts, front matter, page frames) by file name."""
    from tasks.publishing import pdf

    calls: list[str] = []
    real = pdf.render_document

    def spy(html, target, fetcher=None):
        calls.append(target.name)
        return real(html, target, fetcher)

    monkeypatch.setattr(pdf, "render_document", spy)
    return calls
