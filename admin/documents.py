"""Uploaded documents on disk: written under a random server-generated name in UPLOAD_DIR
(outside the static folder), and served back only as an attachment that a browser will not
sniff or run. Blueprint-free so every area (portal, review) serves files the same way: the
caller loads the Document and checks `can(user, "download", doc)` first."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import abort, current_app, send_file

from models import Document


@dataclass(frozen=True)
class StoredFile:
    storage_name: str
    size: int
    sha256: str


def upload_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def max_upload_bytes() -> int:
    return int(current_app.config["MAX_UPLOAD_MB"]) * 1024 * 1024


def write_file(data: bytes) -> StoredFile:
    """Write checked bytes under a fresh random name (temp file, fsync, rename)."""
    folder = upload_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = secrets.token_hex(24)
    tmp = folder / f".{name}.part"
    with open(tmp, "xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / name)
    return StoredFile(name, len(data), hashlib.sha256(data).hexdigest())


def remove_file(storage_name: str) -> None:
    """Undo `write_file` when the database refused the row."""
    (upload_dir() / storage_name).unlink(missing_ok=True)


def path_of(doc: Document) -> Path:
    # storage names are ours (hex); refuse anything else rather than join it to a path
    if not doc.storage_name.isalnum():
        abort(404)
    return upload_dir() / doc.storage_name


# A stored file is provider-supplied content: it never runs anything in the registry's origin.
DOWNLOAD_CSP = "sandbox; default-src 'none'"
# Inline (a PDF in the reviewer's frame): Chromium's PDF viewer does not render under `sandbox`,
# so the file may be framed by this site only, and may load and run nothing itself.
INLINE_CSP = "default-src 'none'; object-src 'none'; frame-ancestors 'self'"


def send_document(doc: Document, *, inline: bool = False):
    """The one way a stored document leaves the registry (portal, review, manage): the path
    guard, then `send_private_file`. `inline` applies to PDFs only."""
    return send_private_file(
        path_of(doc),
        mimetype=doc.content_type,
        download_name=doc.original_filename,
        inline=inline and doc.content_type == "application/pdf",
    )


def send_private_file(path: Path, *, mimetype: str, download_name: str, inline: bool = False):
    """A private file (a stored document, a rendered preview) as the registry serves them all:
    the checked content type, no sniffing, not cached. By default an attachment under a sandbox
    CSP; `inline` (PDFs only) shows it in a frame of this site. 404 when the file is gone."""
    if not path.is_file():
        abort(404)
    response = send_file(
        path,
        mimetype=mimetype,
        as_attachment=not inline,
        download_name=download_name,
        conditional=False,
        etag=False,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    if inline:
        response.headers["Content-Security-Policy"] = INLINE_CSP
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
    else:
        response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    return response
