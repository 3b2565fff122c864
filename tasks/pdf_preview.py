"""Preview PDFs: an admin asks for the directories as the next release would print them.

The task builds a DRAFT context from the current live data (the same single read a release
makes: `build_records` + `reference_snapshot`), renders every PDF into
`VAR_DIR/previews/<token>/pdf/` and keeps `status.json` next to them so the admin page can
show progress. Nothing is published. Only the newest previews are kept."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from flask import current_app

from models import Release, db, today, utcnow
from models.listings import build_records

from .publishing.context import BuildContext, reference_snapshot
from .publishing.pdf import write_pdfs

log = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
PDF_NAME_RE = re.compile(r"^(directory|type-[a-z0-9_]+|region-[a-z0-9-]+)\.pdf$")
KEEP_PREVIEWS = 5
STALE_AFTER_SECONDS = 15 * 60  # a queued/running preview older than this is treated as lost


def previews_root() -> Path:
    return Path(current_app.config["VAR_DIR"]) / "previews"


def preview_dir(token: str) -> Path:
    if not TOKEN_RE.match(token or ""):
        raise ValueError("not a preview token")
    return previews_root() / token


def write_status(folder: Path, **status: Any) -> None:
    status.setdefault("updated_at", utcnow().isoformat())
    tmp = folder / "status.json.tmp"
    tmp.write_text(json.dumps(status, indent=2))
    os.replace(tmp, folder / "status.json")


def read_status(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / "status.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def list_previews() -> list[dict[str, Any]]:
    root = previews_root()
    out = []
    if root.is_dir():
        for folder in root.iterdir():
            status = read_status(folder) if TOKEN_RE.match(folder.name) else None
            if status:
                out.append({"token": folder.name, **status})
    out.sort(key=lambda s: s.get("requested_at", ""), reverse=True)
    return out


def is_active(status: dict[str, Any]) -> bool:
    if status.get("state") not in ("queued", "running"):
        return False
    try:
        from datetime import datetime

        age = (utcnow() - datetime.fromisoformat(status["updated_at"])).total_seconds()
    except (KeyError, ValueError):
        return False
    return age < STALE_AFTER_SECONDS


def new_preview(requested_by: str) -> str:
    """Create the folder and its 'queued' status; the caller enqueues `render_pdf_preview`."""
    token = secrets.token_urlsafe(24)
    folder = preview_dir(token)
    folder.mkdir(parents=True)
    now = utcnow().isoformat()
    write_status(
        folder, state="queued", requested_by=requested_by, requested_at=now, done=0, total=0
    )
    prune(keep=KEEP_PREVIEWS)
    return token


def prune(keep: int) -> None:
    for old in list_previews()[keep:]:
        if not is_active(old):
            shutil.rmtree(previews_root() / old["token"], ignore_errors=True)


def pdf_files(token: str) -> list[str]:
    folder = preview_dir(token) / "pdf"
    if not folder.is_dir():
        return []
    names = [p.name for p in folder.iterdir() if PDF_NAME_RE.match(p.name)]
    return sorted(names, key=lambda n: (n != "directory.pdf", n))


@shared_task(
    name="registry.pdf_preview", ignore_result=True, time_limit=20 * 60, soft_time_limit=19 * 60
)
def render_pdf_preview(token: str) -> str:
    folder = preview_dir(token)
    status = read_status(folder)
    if status is None:
        log.warning("pdf preview %s: no such preview", token)
        return "missing"
    status.update(state="running", started_at=utcnow().isoformat())
    write_status(folder, **status)
    try:
        number = (db.session.scalar(db.select(db.func.max(Release.number))) or 0) + 1
        ctx = BuildContext(
            records=build_records(today()),
            reference=reference_snapshot(),
            number=number,
            created_at=utcnow(),
            out_dir=folder,
            is_preview=True,
        )
        db.session.rollback()  # the read is done; hold no transaction while rendering

        def progress(done: int, total: int, key: str) -> None:
            status.update(done=done, total=total, current=key, updated_at=utcnow().isoformat())
            write_status(folder, **status)

        write_pdfs(ctx, progress=progress)
    except (Exception, SoftTimeLimitExceeded) as exc:
        log.exception("pdf preview %s failed", token)
        status.update(
            state="failed",
            error=type(exc).__name__,
            finished_at=utcnow().isoformat(),
            updated_at=utcnow().isoformat(),
        )
        write_status(folder, **status)
        return "failed"
    status.update(
        state="done",
        release_number=number,
        finished_at=utcnow().isoformat(),
        updated_at=utcnow().isoformat(),
    )
    write_status(folder, **status)
    return "done"
