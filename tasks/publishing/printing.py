"""The printed directories of a release, added after its feeds are public.

Feeds never wait for print: a build writes the feed files, switches `current` and only then
renders the PDFs of that release — outside the build lock, so the next approval's feeds do not
wait either. Nothing already written changes: the manifest of a release with printed
directories says `"print": {"status": "pending", "manifest": "print.json"}`, the PDFs are
rendered into a private folder (RELEASES_DIR/.print-*), moved into releases/<n>/pdf/ and then
`print.json` (each file's size and hashes) is written last. Until it exists the files of that
release's print are not served; `/feeds/current/pdf/...` redirects to the newest release whose
print is ready.

One print at a time (a file lock, waited for): the next release's print then finds its
predecessor's `pdf/inputs.json` and reuses every PDF whose inputs did not change. A print whose
release is no longer current when its turn comes is skipped (the newer one prints). A print
killed half-way leaves no `print.json`; `resume_print` (beat, with `publish_pending`) prints the
current release again when the data still hashes to its content."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app

from .context import BuildContext

log = logging.getLogger(__name__)

PRINT_FILE = "print.json"
Progress = Callable[[int, int, str], None]


def print_wanted() -> bool:
    """PUBLISH_PDFS=false leaves the printed directories out (test suites that build many
    releases and do not look at the PDFs)."""
    return bool(current_app.config.get("PUBLISH_PDFS", True))


def manifest_entry() -> dict[str, str]:
    """What a new release's manifest says about its printed directories."""
    if not print_wanted():
        return {"status": "off"}
    return {"status": "pending", "manifest": PRINT_FILE}


def print_files(release_dir: Path) -> dict[str, dict[str, Any]] | None:
    """The printed files of a release once its print is complete; None before (or without)."""
    try:
        data = json.loads((release_dir / PRINT_FILE).read_bytes())
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, dict) else None


@contextlib.contextmanager
def print_lock(root: Path, *, wait: bool = True) -> Iterator[None]:
    """One print at a time on this releases folder; a second waits for the first (or, with
    wait=False, raises BlockingIOError at once)."""
    with open(root / ".print.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write_atomically(path: Path, data: bytes) -> None:
    from .builder import fsync_path

    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_bytes(data)
    fsync_path(tmp)
    os.replace(tmp, path)
    fsync_path(path.parent)


def print_release(
    root: Path, ctx: BuildContext, progress: Progress | None = None, *, wait: bool = True
) -> str:
    """Render and add the printed directories of release `ctx.number` (already on disk and
    current). Returns "printed", "done" (already printed) or "superseded"."""
    from .builder import finish_files, fsync_path
    from .layout import available_numbers, current_number, release_dir
    from .pdf import write_pdfs
    from .storage import release_storage

    final = release_dir(ctx.number, root)
    with print_lock(root, wait=wait):
        for stale in root.glob(".print-*"):  # prints that died (no other print runs now)
            shutil.rmtree(stale, ignore_errors=True)
        if print_files(final) is not None:
            return "done"
        newest = current_number(root)
        if newest is not None and newest > ctx.number:
            log.info("print of release %s skipped: release %s is current", ctx.number, newest)
            return "superseded"
        work = root / f".print-{ctx.number}-{uuid.uuid4().hex[:8]}"
        work.mkdir()
        try:
            # reuse from the newest earlier release whose print completed
            previous = next(
                (
                    release_dir(n, root)
                    for n in sorted(available_numbers(root), reverse=True)
                    if n < ctx.number and print_files(release_dir(n, root)) is not None
                ),
                None,
            )
            write_pdfs(dataclasses.replace(ctx, out_dir=work, previous_dir=previous), progress)
            # the directories reused whole are the previous print's files: described as it did
            files = finish_files(work, previous, PRINT_FILE)
            for rel in sorted(files):
                for name in (rel, rel + ".gz"):
                    dest = final / name
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(work / name, dest)
            for d in {(final / rel).parent for rel in files} | {final}:
                fsync_path(d)
            body = {
                "release": ctx.number,
                "completed_at": datetime.now(UTC)
                .isoformat(timespec="seconds")
                .replace("+00:00", "Z"),
                "files": files,
            }
            data = json.dumps(body, indent=1, sort_keys=True).encode()
            # object storage first: until print.json is written here, a failed upload prints again
            release_storage().add_print(root, ctx.number, files, data)
            _write_atomically(final / PRINT_FILE, data)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    log.info("printed directories of release %s: %d files", ctx.number, len(files))
    return "printed"


def resume_print(day=None) -> str | None:
    """Beat: print the current release if its print never completed (its worker died) and the
    data still hashes to its content (else the next release prints). None when nothing to do."""
    from models import today
    from models.listings import read_snapshot
    from models.reference import reference_snapshot

    from .builder import content_hash
    from .layout import current_number, read_manifest, release_dir, releases_root

    if not print_wanted():
        return None
    root = releases_root()
    number = current_number(root)
    if number is None:
        return None
    final = release_dir(number, root)
    manifest = read_manifest(number)
    if (manifest.get("print") or {}).get("status") != "pending" or print_files(final) is not None:
        return None
    snapshot = read_snapshot(day or today())
    reference = reference_snapshot()
    if content_hash(snapshot, reference) != manifest.get("content_hash"):
        return None
    ctx = BuildContext(
        records=snapshot.records,
        reference=reference,
        number=number,
        created_at=datetime.fromisoformat(manifest["created_at"].replace("Z", "+00:00")),
        out_dir=final,
        base_url=current_app.config["PUBLIC_BASE_URL"].rstrip("/"),
    )
    try:
        return print_release(root, ctx, wait=False)
    except BlockingIOError:
        return None  # a print is running
