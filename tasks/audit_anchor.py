"""Where the audit chain's head is written down outside the database: in every release's
manifest (public, kept with the releases) and in a nightly checkpoint file under
RELEASES_DIR/audit/ (private). `latest_anchor` finds the newest one for `flask audit verify`
and the admin's "verify" button, so deleting the newest audit events shows as truncation."""

from __future__ import annotations

import json
import os
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from models.audit import chain_head

from .publishing.layout import MANIFEST, available_numbers, release_dir


def write_checkpoint(root: Path, day: date) -> Path:
    folder = root / "audit"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"checkpoint-{day.isoformat()}.json"
    tmp = folder / f".{uuid.uuid4().hex}.tmp"
    tmp.write_text(json.dumps({"day": day.isoformat(), **chain_head()}, sort_keys=True))
    os.replace(tmp, path)
    return path


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def latest_anchor(root: Path) -> dict[str, Any] | None:
    """The anchor that reaches furthest (highest event id), with a `source` naming where it
    was written; None when nothing has been anchored yet."""
    found: list[dict[str, Any]] = []
    for n in available_numbers(root)[-1:]:  # releases only grow: the newest reaches furthest
        manifest = _read(release_dir(n, root) / MANIFEST)
        if manifest and isinstance(manifest.get("audit"), dict):
            found.append({**manifest["audit"], "source": f"release {n}'s manifest"})
    for path in sorted((root / "audit").glob("checkpoint-*.json"))[-1:]:
        data = _read(path)
        if data:
            found.append({**data, "source": f"the checkpoint of {data.get('day')}"})
    found = [a for a in found if isinstance(a.get("last_id"), int) and a["last_id"] > 0]
    return max(found, key=lambda a: a["last_id"]) if found else None
