"""Admin preview of the PDF directories before publishing.

Starting a preview only queues a Celery task (rendering never runs in a web request); the
status page refreshes itself with a meta refresh until the PDFs are ready, then links them.
The PDFs are served to admins only."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from tasks.pdf_preview import (
    PDF_NAME_RE,
    is_active,
    list_previews,
    new_preview,
    pdf_files,
    preview_dir,
    read_status,
    render_pdf_preview,
)

from ..access import requires
from ..documents import send_private_file
from . import bp


def _status_or_404(token: str) -> dict:
    try:
        folder = preview_dir(token)
    except ValueError:
        abort(404)
    status = read_status(folder)
    if status is None:
        abort(404)
    return status


@bp.get("/pdf-previews")
@requires("manage")
def pdf_previews():
    previews = list_previews()
    return render_template("manage/pdf_previews.html", previews=previews)


@bp.post("/pdf-previews")
@requires("manage")
def start_pdf_preview():
    running = next((p for p in list_previews() if is_active(p)), None)
    if running:
        flash("A preview is already being rendered; here is its progress.", "info")
        return redirect(url_for("manage.pdf_preview", token=running["token"]))
    token = new_preview(current_user.email)
    render_pdf_preview.delay(token)
    return redirect(url_for("manage.pdf_preview", token=token))


@bp.get("/pdf-previews/<token>")
@requires("manage")
def pdf_preview(token: str):
    status = _status_or_404(token)
    files = pdf_files(token) if status.get("state") == "done" else []
    return render_template(
        "manage/pdf_preview.html",
        token=token,
        status=status,
        files=files,
        refresh=status.get("state") in ("queued", "running") and is_active(status),
    )


@bp.get("/pdf-previews/<token>/<name>")
@requires("manage")
def pdf_preview_file(token: str, name: str):
    status = _status_or_404(token)
    if status.get("state") != "done" or not PDF_NAME_RE.match(name):
        abort(404)
    download = request.args.get("download") == "1"
    return send_private_file(
        preview_dir(token) / "pdf" / name,
        mimetype="application/pdf",
        download_name=f"preview-{name}",
        inline=not download,
    )
