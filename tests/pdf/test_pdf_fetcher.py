"""The renderer's url_fetcher: the PDF assets folder and data: URLs, nothing else."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture
def fetcher():
    from tasks.publishing.pdf import AssetsOnlyFetcher

    return AssetsOnlyFetcher()


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "https://example.org/logo.png",
        "ftp://example.org/x",
        "file:///etc/passwd",
        "file://otherhost/work/templates/pdf/assets/directory.css",
        "gopher://example.org/",
    ],
)
def test_refuses_network_and_outside_files(fetcher, url, caplog):
    from tasks.publishing.pdf import RefusedURL

    with caplog.at_level(logging.WARNING, logger="tasks.publishing.pdf"), pytest.raises(RefusedURL):
        fetcher.fetch(url)
    assert fetcher.refused == [url]
    assert "refused to fetch" in caplog.text


def test_refuses_path_traversal_out_of_the_assets_folder(fetcher):
    from tasks.publishing.pdf import ASSETS_DIR, RefusedURL

    url = ASSETS_DIR.as_uri() + "/../../../../../../etc/passwd"
    with pytest.raises(RefusedURL):
        fetcher.fetch(url)
    with pytest.raises(RefusedURL):
        fetcher.fetch((ASSETS_DIR.parent / "directory.html").as_uri())


def test_serves_assets_and_data_urls(fetcher):
    from tasks.publishing.pdf import ASSETS_DIR

    css = fetcher.fetch((ASSETS_DIR / "directory.css").as_uri())
    assert b"@page" in css.read()
    assert css.content_type == "text/css"
    data = fetcher.fetch("data:text/plain;base64,aGVsbG8=")
    assert data.read() == b"hello"
    assert fetcher.refused == []


def test_an_http_image_in_rendered_html_is_refused_not_fetched(app, tmp_path, caplog):
    """Even HTML that did contain a remote image (templates never let provider text become
    HTML) renders without any network fetch: the fetcher refuses it."""
    from tasks.publishing.pdf import AssetsOnlyFetcher, render_document

    fetcher = AssetsOnlyFetcher()
    html = (
        '<html lang="en"><head><title>t</title></head><body><p>x</p>'
        '<img src="http://169.254.169.254/latest/meta-data/" alt="probe">'
        '<img src="file:///etc/passwd" alt="probe2"></body></html>'
    )
    with caplog.at_level(logging.WARNING, logger="tasks.publishing.pdf"):
        pages = render_document(html, tmp_path / "probe.pdf", fetcher)
    assert pages == 1
    assert fetcher.refused == ["http://169.254.169.254/latest/meta-data/", "file:///etc/passwd"]
    assert caplog.text.count("refused to fetch") == 2
