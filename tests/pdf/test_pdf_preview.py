"""Admin previews of the PDF directories: admins only, rendered by the Celery task."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import post


@pytest.fixture(autouse=True)
def own_var_dir(app, tmp_path, monkeypatch):
    """Preview folders live on disk (no transaction rolls them back): one VAR_DIR per test."""
    monkeypatch.setitem(app.config, "VAR_DIR", str(tmp_path))


@pytest.fixture
def fake_render(app, monkeypatch):
    """Rendering itself is proven in test_pdf_directory.py; here a stand-in writes a tiny
    PDF so the preview flow (queue, progress, links, serving) runs quickly."""
    from tasks.publishing import pdf

    rendered: list[str] = []

    def fake(planned, ctx, *_):
        rendered.append(Path(planned.doc.key).name)
        ctx.path(planned.doc.key).write_bytes(b"%PDF-1.7\n% preview stand-in\n%%EOF\n")
        return 1

    monkeypatch.setattr(pdf, "render_parts", lambda jobs, workers: None)
    monkeypatch.setitem(app.config, "PDF_WORKERS", 1)  # assembled here, where it is counted
    monkeypatch.setattr(pdf, "assemble", fake)
    return rendered


URLS = [
    "/manage/pdf-previews",
    "/manage/pdf-previews/" + "a" * 32,
    "/manage/pdf-previews/" + "a" * 32 + "/directory.pdf",
]


@pytest.mark.parametrize("url", URLS)
def test_anonymous_is_sent_to_login(client, url):
    resp = client.get(url)
    assert resp.status_code == 302
    assert "/login" in resp.headers["Location"]


@pytest.mark.parametrize("who", ["provider", "reviewer"])
def test_providers_and_reviewers_are_refused(login, who, app, monkeypatch):
    from tasks.pdf_preview import new_preview

    with app.test_request_context():
        token = new_preview("admin@demo.test")
    client = login(who)
    for url in [
        "/manage/pdf-previews",
        f"/manage/pdf-previews/{token}",
        f"/manage/pdf-previews/{token}/directory.pdf",
    ]:
        assert client.get(url).status_code == 403
    # the permission check itself answers, not the CSRF check in front of it
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    assert client.post("/manage/pdf-previews").status_code == 403


def test_admin_starts_a_preview_and_gets_the_pdfs(login, fake_render, app):
    client = login("admin")
    page = client.get("/manage/pdf-previews")
    assert page.status_code == 200
    assert "Render a preview" in page.get_data(as_text=True)
    resp = post(client, "/manage/pdf-previews")
    assert resp.status_code == 302
    status_url = resp.headers["Location"]
    token = status_url.rstrip("/").rsplit("/", 1)[1]
    assert "directory.pdf" in fake_render and len(fake_render) > 10

    html = client.get(status_url).get_data(as_text=True)
    assert 'http-equiv="refresh"' not in html
    assert "Rendered as release" in html
    assert f"/manage/pdf-previews/{token}/directory.pdf" in html
    assert f"/manage/pdf-previews/{token}/type-mobile_crisis.pdf" in html

    pdf = client.get(f"/manage/pdf-previews/{token}/directory.pdf")
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"].startswith("inline")
    assert "no-store" in pdf.headers["Cache-Control"]
    pdf.close()
    download = client.get(f"/manage/pdf-previews/{token}/directory.pdf?download=1")
    assert download.headers["Content-Disposition"].startswith("attachment")
    download.close()

    from tasks.pdf_preview import preview_dir, read_status

    with app.test_request_context():
        status = read_status(preview_dir(token))
    assert status["state"] == "done" and status["done"] == status["total"] == len(fake_render)

    listing = client.get("/manage/pdf-previews").get_data(as_text=True)
    assert f"/manage/pdf-previews/{token}" in listing


def test_queued_preview_page_refreshes_without_script(login, app):
    from tasks.pdf_preview import new_preview

    with app.test_request_context():
        token = new_preview("admin@demo.test")
    client = login("admin")
    html = client.get(f"/manage/pdf-previews/{token}").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="3">' in html
    assert "Waiting for a worker" in html
    assert client.get(f"/manage/pdf-previews/{token}/directory.pdf").status_code == 404
    # a second request while one is queued goes to the running one instead of queueing more work
    resp = post(client, "/manage/pdf-previews", form_url="/manage/pdf-previews")
    assert resp.headers["Location"].endswith(f"/manage/pdf-previews/{token}")


@pytest.mark.parametrize(
    "tail", ["nope", "a" * 32, "a" * 32 + "/directory.pdf", "a" * 32 + "/..%2F..%2Fsecret.pdf"]
)
def test_unknown_tokens_and_names_are_404(login, tail):
    client = login("admin")
    assert client.get(f"/manage/pdf-previews/{tail}").status_code == 404


def test_only_pdf_names_are_served(login, fake_render, app):
    client = login("admin")
    token = post(client, "/manage/pdf-previews").headers["Location"].rsplit("/", 1)[1]
    for name in ["inputs.json", "status.json", "directory.pdf.tmp", "..%2Fstatus.json"]:
        assert client.get(f"/manage/pdf-previews/{token}/{name}").status_code == 404
