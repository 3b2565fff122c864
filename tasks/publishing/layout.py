"""Where releases live on disk: the one home of the layout that the builder writes, the
printer fills and the feeds, the capacity file and the audit anchor read.

Layout under RELEASES_DIR:
    releases/<number>/      immutable, complete releases (a release is complete once its
                            manifest.json exists: the builder writes it last)
    releases/<number>/.state/  what the next build reuses (each service's content digest);
                            private: not in the manifest, so never served
    current -> releases/<n> the served release (a symlink, swapped atomically)
    live/                   files rewritten outside releases (capacity.json)
    audit/                  audit checkpoints (private)
    .build-*/, .print-*/    work in progress of the builder and the printer"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from flask import current_app

RELEASES = "releases"
CURRENT = "current"
MANIFEST = "manifest.json"
LIVE = "live"
PRIVATE = ".state"  # inside a release folder: for the next build, never served
SERVICE_STATE = f"{PRIVATE}/services.tsv"  # id, content digest, last_modified per line
OUTPUT_INDEX = f"{PRIVATE}/outputs.json"  # where each service's outputs lie in OUTPUT_BYTES
OUTPUT_BYTES = f"{PRIVATE}/outputs.bin"  # each service's tabular rows, CSV line, GeoJSON feature
RECORD_INDEX = f"{PRIVATE}/records.json"  # where each service's record lies in RECORD_BYTES
RECORD_BYTES = f"{PRIVATE}/records.bin"  # each service's record (models.listings.KeptRecords)
ATOM_STATE = f"{PRIVATE}/atom.json"  # the entries of changes.atom, for the next build to carry


def releases_root(*, create: bool = True) -> Path:
    """RELEASES_DIR; with `create` (the default, for writers) its releases/ folder exists.
    Readers pass create=False: a request never creates folders."""
    root = Path(current_app.config["RELEASES_DIR"])
    if create:
        (root / RELEASES).mkdir(parents=True, exist_ok=True)
    return root


def release_dir(number: int, root: Path | None = None) -> Path:
    return (root or releases_root(create=False)) / RELEASES / str(number)


def is_complete(folder: Path) -> bool:
    return (folder / MANIFEST).exists()


def current_number(root: Path | None = None) -> int | None:
    """The number `current` points at, if that release is complete; else None."""
    root = root or releases_root(create=False)
    try:
        number = int(Path(os.readlink(root / CURRENT)).name)
    except (OSError, ValueError):
        return None
    return number if is_complete(release_dir(number, root)) else None


def available_numbers(root: Path | None = None) -> list[int]:
    """The complete releases kept on disk, oldest first."""
    folder = (root or releases_root(create=False)) / RELEASES
    if not folder.is_dir():
        return []
    return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit() and is_complete(p))


def read_manifest(number: int, root: Path | None = None) -> dict[str, Any]:
    return json.loads((release_dir(number, root) / MANIFEST).read_bytes())


def live_dir(root: Path | None = None) -> Path:
    return (root or releases_root(create=False)) / LIVE
