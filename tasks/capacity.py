"""capacity.json: the live status of every public site that reports capacity, rewritten every
minute (and at once after a change), outside the release folders: a release is immutable and
changes only when reviewed content does; capacity changes without review, many times a day.

The file lives at RELEASES_DIR/live/capacity.json and is served as /feeds/current/capacity.json
and /api/hsds/capacity; with RELEASE_STORAGE=s3 it is also put in the bucket, from which web
nodes without the volume serve it. Only listings public in the current release appear; a status older than
its service type's expiry is written as "unknown" with the time it was last updated."""

from __future__ import annotations

import gzip
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from celery import shared_task
from flask import current_app

from models import db, utcnow
from models.listings import UNKNOWN, CapacityStatus, capacity_sites, expiry_hours, latest, view

from .publishing.context import timestamp
from .publishing.layout import (
    SERVICE_STATE,
    current_number,
    live_dir,
    release_dir,
    releases_root,
)
from .publishing.storage import StorageUnavailable, release_storage

log = logging.getLogger(__name__)

FILENAME = "capacity.json"
_public: dict[str, Any] = {"release": None, "ids": frozenset()}


def public_service_ids(root: Path) -> frozenset[str]:
    """Service ids of the current release (read once per release number)."""
    number = current_number(root)
    if number is None:
        return frozenset()
    if _public["release"] != (str(root), number):
        folder = release_dir(number, root)
        try:  # the release's state file: one line per service, its id first
            text = (folder / SERVICE_STATE).read_text(encoding="utf-8")
            ids = frozenset(line.split("\t", 1)[0] for line in text.splitlines())
        except OSError:  # a release written before state files
            path = folder / "hsds" / "services.json"
            ids = frozenset(d["id"] for d in json.loads(path.read_bytes()))
        _public.update(release=(str(root), number), ids=ids)
    return _public["ids"]


def expiry_settings() -> dict[str, Any]:
    return {
        "default": current_app.config.get("CAPACITY_EXPIRES_HOURS", 12),
        "by_type": current_app.config.get("CAPACITY_EXPIRES_BY_TYPE") or {},
    }


def capacity_document() -> dict[str, Any]:
    root = releases_root()
    public = public_service_ids(root)
    now = utcnow()
    settings = expiry_settings()
    listings = [lst for lst in capacity_sites() if lst.uuid in public]
    current = latest([lst.id for lst in listings])
    sites = []
    for lst in listings:
        hours = expiry_hours(lst.service_type_code, settings)
        v = view(current.get(lst.id), hours, now)
        site = {
            "service_id": lst.uuid,
            "name": lst.name,
            "service_type": lst.service_type_code,
            "mo_dmh_capacity_status": v.status,
            "mo_dmh_capacity_updated_at": timestamp(v.updated_at) if v.updated_at else None,
            "mo_dmh_capacity_valid_until": timestamp(v.expires_at)
            if v.is_known and v.expires_at
            else None,
        }
        if v.is_known:
            if v.available is not None:
                site["mo_dmh_capacity_available"] = v.available
            if v.reason:
                site["mo_dmh_capacity_reason"] = v.reason
            if v.note:
                site["mo_dmh_capacity_note"] = v.note
        sites.append(site)
    return {
        "generated_at": timestamp(now),
        "release": current_number(root),
        "expires_after_hours": {
            "default": float(settings["default"]),
            **{k: float(v) for k, v in settings["by_type"].items()},
        },
        "statuses": [*CapacityStatus.values(), UNKNOWN],
        "sites": sites,
    }


def write_capacity() -> Path:
    """Write the file atomically (temporary file, fsync, rename), with its .gz twin, then
    publish both through the release storage. A storage that fails is logged, never raised:
    the file on disk is written, and the next minute's write publishes again."""
    folder = live_dir()
    folder.mkdir(parents=True, exist_ok=True)
    body = json.dumps(capacity_document(), ensure_ascii=False, separators=(",", ":")).encode()
    packed = gzip.compress(body, mtime=0)
    target = folder / FILENAME
    for path, data in ((target, body), (folder / (FILENAME + ".gz"), packed)):
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".capacity-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    try:
        release_storage().put_live(FILENAME, body, packed)
    except StorageUnavailable as exc:
        log.warning("%s written to %s but not published: %s", FILENAME, folder, exc)
    return target


@shared_task(name="registry.publish_capacity", ignore_result=True)
def publish_capacity() -> str:
    """Beat, every minute, and after each change."""
    return str(write_capacity())


@shared_task(name="registry.remind_capacity_expiring", ignore_result=True)
def remind_capacity_expiring() -> int:
    """Beat, every 5 minutes: an hour before a status expires, tell the organization (unless
    it turned the reminder off). Marked reminded before sending: never twice."""
    from models.listings import expiring_soon
    from models.organizations import organization_recipients

    from .mail import send_mail

    due = expiring_soon(utcnow(), expiry_settings())
    for update in due:
        update.reminded_at = utcnow()
    db.session.commit()
    for update in due:
        listing = update.listing
        to = organization_recipients(listing.organization_id)
        if to:
            send_mail(
                to,
                f"Capacity of {listing.display_name} expires within the hour",
                "capacity_expiring",
                listing=listing,
                status=update.status,
                set_at=update.at,
                portal_path="/portal/#capacity",
            )
    return len(due)
