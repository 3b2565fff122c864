"""Building, switching and pruning releases on disk.

Layout under RELEASES_DIR:
    releases/<number>/...   immutable, complete releases
    current -> releases/<n> the served release (a symlink, swapped atomically)
    .build-*/               a build in progress (deleted by the next build if it crashed)
    .print-*/               printed directories being rendered (printing.py)

A build: take the one build lock, read the live data once, hash it; identical to the current
release's content -> nothing new. Otherwise run every writer into a temporary folder, gzip
every file, write the manifest last, fsync files and folders, rename the folder into
releases/<number>/, record the Release row, then swap `current`. A crash anywhere before the
swap leaves `current` on the previous, intact release. The printed directories (PDF) follow,
outside the lock, into the same release (printing.py): feeds never wait for print."""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from isal import isal_zlib

from models import (
    OutboxEvent,
    PublishRun,
    PublishRunStatus,
    Release,
    ReleaseTrigger,
    db,
    record,
    today,
    utcnow,
)
from models.audit import chain_head
from models.listings import KeptRecords, Snapshot, kept_records, read_snapshot
from models.locks import write_afresh

from .context import BuildContext, no_cyclic_gc, reference_snapshot, release_clock, timestamp
from .layout import (  # noqa: F401 - the builder's callers read the layout through it
    MANIFEST,
    PRIVATE,
    RECORD_BYTES,
    RECORD_INDEX,
    available_numbers,
    current_number,
    read_manifest,
    release_dir,
    releases_root,
)
from .pdf import EARLY_PREFIX, start_early_render
from .printing import manifest_entry, print_files, print_release, print_wanted
from .storage import release_storage

log = logging.getLogger(__name__)

LOCK_KEY = 0x5245_4C45  # "RELE": the advisory lock every release build takes
# seconds between two progress commits of a build (its first step is always committed)
PROGRESS_EVERY = 0.25
Progress = Callable[[int, int, str], None]


class BuildBusy(RuntimeError):
    """Another build holds the lock."""


@dataclass
class BuildResult:
    status: str  # PublishRunStatus value
    number: int | None = None  # the new release (published) or the current one (unchanged)
    run_id: int | None = None
    changes: dict[str, Any] | None = None
    context: BuildContext | None = field(default=None, repr=False)  # kept for the print phase


# ------------------------------------------------------------------ durability helpers


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def swap_current(root: Path, number: int) -> None:
    """Point `current` at releases/<number> atomically (symlink + rename), durably. With object
    storage the release is uploaded and the bucket's pointer switched first (storage.py)."""
    release_storage().make_current(root, number)
    tmp = root / f".current-{uuid.uuid4().hex}"
    os.symlink(f"releases/{number}", tmp)
    os.replace(tmp, root / "current")
    fsync_path(root)


def content_hash(snapshot: Snapshot, reference: dict[str, Any]) -> str:
    """What decides whether a release is new: the data, never the files (PDF timestamps etc.):
    the reference data and each published service's input digest (models/listings/snapshot.py)."""
    h = hashlib.sha256(json.dumps(reference, sort_keys=True, default=str).encode("utf-8"))
    for sid in sorted(snapshot.digests):
        h.update(f"{sid}:{snapshot.digests[sid]};".encode())
    return h.hexdigest()


# ISA-L's level 2: about 13 times faster than zlib's level 6 on a large feed, 4 % larger
# (docs/decisions.md); any gzip reader reads it
GZIP_LEVEL = 2


class Finisher:
    """Gzips, hashes and fsyncs the files of a build folder, in threads (ISA-L, zlib and
    sha256 release the GIL), and describes each for the manifest. `collect()` between two
    writers hands over the files written since the last call, so compression overlaps the
    writers that follow; a writer that hands over its bytes instead (`write`, through
    `BuildContext.write`) has them written there too. `finish()` waits for all and fsyncs
    the folders.

    A file byte-identical to the previous release's becomes a hard link to that release's
    file, and its gzip twin too (releases never change once written): neither is compressed
    nor fsynced again; a file that already is that hard link (a printed directory reused
    whole) is not even read. `manifest` names the previous release's file that describes
    its files (the feeds' manifest; for the printed directories, print.json)."""

    def __init__(
        self, out_dir: Path, previous_dir: Path | None = None, manifest: str = MANIFEST
    ) -> None:
        self.out_dir, self.previous_dir = out_dir, previous_dir
        self.before: dict[str, dict[str, Any]] = {}
        if previous_dir is not None:
            with contextlib.suppress(OSError, ValueError):
                manifest = json.loads((previous_dir / manifest).read_bytes())
                self.before = manifest.get("files") or {}
        self.pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2)
        self.futures: dict[str, Future] = {}
        self.kept: list[Future] = []  # private files being written (`keep`)

    def write(self, relative: str, data: bytes) -> None:
        """Write a file of the release and finish it (`_finish`: compared, gzipped, hashed,
        fsynced) in a thread, while the writers go on; `collect` leaves it to that thread."""
        if relative in self.futures:
            raise ValueError(f"written twice: {relative}")
        path = self.out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        self.futures[relative] = self.pool.submit(self._finish, path, relative, data)

    def reuse(self, relative: str) -> bool:
        """Make file `relative` the previous release's (a hard link to it and its gzip
        twin), as the manifest described it, without its bytes: for a writer that knows its
        file did not change. False, and nothing done, when that file cannot be taken."""
        old = self.before.get(relative)
        if self.previous_dir is None or not _described(old):
            return False
        if relative in self.futures:
            raise ValueError(f"written twice: {relative}")
        path = self.out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        gz_path = path.with_name(path.name + ".gz")
        try:
            os.link(self.previous_dir / relative, path)
            os.link(self.previous_dir / (relative + ".gz"), gz_path)
        except OSError:
            path.unlink(missing_ok=True)
            gz_path.unlink(missing_ok=True)
            return False
        entry = {k: old[k] for k in DESCRIBED}
        self.futures[relative] = self.pool.submit(dict, entry)
        return True

    def keep(self, relative: str, data: bytes) -> None:
        """Write a private file (under PRIVATE, which `collect` skips) in a thread: the file
        write releases the GIL, so the writers go on meanwhile. `finish` waits for it."""
        if not relative.startswith(PRIVATE + "/"):
            raise ValueError(f"not a private file: {relative}")
        path = self.out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        self.kept.append(self.pool.submit(path.write_bytes, data))

    def collect(self) -> None:
        base = str(self.out_dir)
        for folder, dirs, names in os.walk(base):
            if folder == base and PRIVATE in dirs:
                dirs.remove(PRIVATE)
            prefix = os.path.relpath(folder, base).replace(os.sep, "/") + "/"
            for name in names:
                rel = name if prefix == "./" else prefix + name
                if rel in self.futures or name.endswith(".gz") or name.startswith(".link-"):
                    continue
                self.futures[rel] = self.pool.submit(self._finish, self.out_dir / rel, rel)

    def finish(self) -> dict[str, dict[str, Any]]:
        self.collect()
        try:
            files = {rel: self.futures[rel].result() for rel in sorted(self.futures)}
            for future in self.kept:
                future.result()
        finally:
            self.close()
        folders = [Path(folder) for folder, _, _ in os.walk(self.out_dir)]
        for d in sorted(folders, key=lambda x: len(x.parts), reverse=True):
            fsync_path(d)
        return files

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _finish(self, p: Path, rel: str, data: bytes | None = None) -> dict[str, Any]:
        """Describe file `rel` at `p`; given its `data` (`write`), write it there first,
        unless it is the previous release's file, which is linked instead."""
        old = self.before.get(rel)
        on_disk = data is None
        if on_disk:
            if _described(old) and self._linked(p, rel):
                with contextlib.suppress(OSError):
                    os.link(self.previous_dir / (rel + ".gz"), p.with_name(p.name + ".gz"))
                    return {k: old[k] for k in DESCRIBED}
            data = p.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        gz_path = p.with_name(p.name + ".gz")
        entry = {"bytes": len(data), "sha256": sha, "gzip_bytes": None}
        if old and old.get("sha256") == sha and old.get("gzip_bytes"):
            # the previous release's files, already on disk for good: linked, not synced again
            with contextlib.suppress(OSError):
                link_over(self.previous_dir / rel, p)
                on_disk = True
                os.link(self.previous_dir / (rel + ".gz"), gz_path)
                entry["gzip_bytes"] = old["gzip_bytes"]
                return entry
        if not on_disk:
            p.write_bytes(data)
        # a gzip member (wbits 31) with a zero mtime; unlike igzip.compress, this releases the
        # GIL, so files compress side by side and beside the writers
        gz = isal_zlib.compress(data, GZIP_LEVEL, wbits=31)
        gz_path.write_bytes(gz)
        entry["gzip_bytes"] = len(gz)
        for q in (p, gz_path):
            fsync_path(q)
        return entry

    def _linked(self, p: Path, rel: str) -> bool:
        """Whether `p` is the previous release's file itself (a hard link to it)."""
        try:
            return os.path.samefile(p, self.previous_dir / rel)
        except (OSError, TypeError):
            return False


DESCRIBED = ("bytes", "sha256", "gzip_bytes")  # what a manifest says of each file


def _described(entry: dict[str, Any] | None) -> bool:
    """Whether a previous manifest's entry says all a file's description needs."""
    return bool(entry) and all(entry.get(k) for k in DESCRIBED)


def finish_files(
    out_dir: Path, previous_dir: Path | None = None, manifest: str = MANIFEST
) -> dict[str, dict[str, Any]]:
    """Gzip every file of `out_dir`, fsync files and folders, and describe each file for the
    manifest (`Finisher`, all at once)."""
    return Finisher(out_dir, previous_dir, manifest).finish()


def link_over(source: Path, target: Path) -> None:
    """Replace `target` by a hard link to `source` (equal bytes), atomically."""
    tmp = target.with_name(f".link-{uuid.uuid4().hex[:8]}-{target.name}")
    os.link(source, tmp)
    os.replace(tmp, target)


def write_manifest(ctx: BuildContext, chash: str, files: dict[str, dict[str, Any]]) -> None:
    manifest = {
        "release": ctx.number,
        "created_at": timestamp(ctx.created_at),
        "content_hash": chash,
        "hsds_version": "3.0",
        "counts": counts_of(ctx),
        "changes": {k: len(ctx.changes.get(k, [])) for k in ("added", "changed", "removed")},
        "files": files,
        "print": manifest_entry(),
        "audit": chain_head(),  # the audit chain's head, written down outside the database
    }
    data = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8")
    path = ctx.out_dir / "manifest.json"
    path.write_bytes(data)
    gz = ctx.out_dir / "manifest.json.gz"
    gz.write_bytes(gzip.compress(data, mtime=0))
    fsync_path(path)
    fsync_path(gz)
    fsync_path(ctx.out_dir)


def counts_of(ctx: BuildContext) -> dict[str, Any]:
    """What the release holds, by kind (the manifest's and the release row's counts)."""
    cached = getattr(ctx, "_counts", None)
    if cached is not None:
        return cached
    by_type: dict[str, int] = {}
    for r in ctx.records:
        by_type[r["service_type"]] = by_type.get(r["service_type"], 0) + 1
    ctx._counts = {
        "services": len(ctx.records),
        "organizations": len({r["organization"]["id"] for r in ctx.records}),
        "locations": sum(1 for r in ctx.records if r.get("address")),
        "by_service_type": dict(sorted(by_type.items())),
    }
    return ctx._counts


# ------------------------------------------------------------------ the lock


@contextlib.contextmanager
def build_lock(root: Path) -> Iterator[None]:
    """One build at a time across every worker, beat and CLI: a PostgreSQL session advisory
    lock (released when the connection closes, so a killed worker never leaves it held), or
    an flock'd file on SQLite. Raises BuildBusy without waiting."""
    if db.engine.dialect.name == "postgresql":
        # a connection of its own: the session returns its connection to the pool at each commit
        engine = getattr(db.engine, "engine", db.engine)
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            if not conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({LOCK_KEY})").scalar():
                raise BuildBusy("another release build is running")
            try:
                yield
            finally:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({LOCK_KEY})")
        return
    fh = open(root / ".build.lock", "w")  # noqa: SIM115 - held for the duration of the build
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BuildBusy("another release build is running") from exc
        yield
    finally:
        fh.close()


def clean_stale_builds(root: Path) -> None:
    """Folders of builds that crashed (only called while holding the lock)."""
    for p in root.glob(".build-*"):
        shutil.rmtree(p, ignore_errors=True)
    # an early render's folder is the print's until it ends, and a print runs outside the
    # build lock: only a day-old one is left over from a process that died
    for p in root.glob(f"{EARLY_PREFIX}*"):
        with contextlib.suppress(OSError):
            if p.stat().st_mtime < time.time() - 24 * 3600:
                shutil.rmtree(p, ignore_errors=True)
    for p in root.glob(".current-*"):
        with contextlib.suppress(OSError):
            p.unlink()


def prune(root: Path, keep: int) -> list[int]:
    numbers = available_numbers(root)
    cur = current_number(root)
    drop = [n for n in numbers[:-keep] if n != cur] if keep > 0 else []
    for n in drop:
        shutil.rmtree(release_dir(n, root), ignore_errors=True)
    release_storage().prune(root, keep)
    return drop


# ------------------------------------------------------------------ the build


def writers() -> list:
    from .writers import WRITERS

    return list(WRITERS)


def every(seconds: float) -> Callable[[], bool]:
    """A clock that says yes at its first call, then once `seconds` have passed since the
    last yes."""
    last = [float("-inf")]

    def due() -> bool:
        now = time.monotonic()
        if now - last[0] < seconds:
            return False
        last[0] = now
        return True

    return due


def _commit_run(run: PublishRun, **changes) -> None:
    write_afresh()
    for k, v in changes.items():
        setattr(run, k, v)
    db.session.commit()


def _finish_run(run: PublishRun, status: PublishRunStatus, **fields) -> None:
    """End the run through its state machine (running -> status) and commit."""
    write_afresh()
    run.finish(status, **fields)
    db.session.commit()


def build_release(
    trigger: str = ReleaseTrigger.MANUAL.value,
    user_id: int | None = None,
    *,
    day: date | None = None,
    progress: Progress | None = None,
    run_id: int | None = None,
) -> BuildResult:
    """Build and switch to a new release if the content changed. Commits (progress, outcome)."""
    root = releases_root()
    run = db.session.get(PublishRun, run_id) if run_id else None
    if run is None:
        run = PublishRun(trigger=trigger, triggered_by_id=user_id)
        db.session.add(run)
        db.session.commit()
    try:
        with build_lock(root), no_cyclic_gc():
            result = _build_locked(root, run, day or today(), progress)
    except BuildBusy:
        _finish_run(run, PublishRunStatus.BUSY, step_label="another build was running")
        return BuildResult(PublishRunStatus.BUSY.value, run_id=run.id)
    except Exception as exc:
        db.session.rollback()
        run = db.session.get(PublishRun, run.id)
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if run is not None and run.is_running:
            _finish_run(run, PublishRunStatus.FAILED, error=error)
        elif run is not None:  # it published, then a later step failed: it stays published
            _commit_run(run, error=error)
        raise
    if result.context is not None and print_wanted():
        _print(root, result.context, run, progress)
    return result


def _print(root: Path, ctx: BuildContext, run: PublishRun, progress: Progress | None) -> None:
    """The printed directories of a release whose feeds are already public (printing.py).
    A failure is logged and recorded on the run; the feeds stay published, the beat retries."""
    label = f"release {ctx.number} is current"
    due = every(PROGRESS_EVERY)  # as the feeds' steps

    def step(i: int, total: int, key: str) -> None:
        if due():
            _commit_run(run, step_label=f"{label}; printing {key} ({i}/{total})")
        if progress:
            progress(i, total, f"printing {key}")

    try:
        outcome = print_release(root, ctx, step)
    except Exception as exc:
        log.exception("printed directories of release %s failed", ctx.number)
        db.session.rollback()
        _commit_run(
            run,
            step_label=f"{label}; printed directories failed (retried by the beat)",
            error=f"printing: {type(exc).__name__}: {exc}"[:2000],
        )
        return
    finally:
        if ctx.early_render is not None:  # a print that returned before waiting for it
            ctx.early_render.finish()
            ctx.early_render.discard()
    if outcome == "printed":
        release = db.session.scalar(db.select(Release).filter_by(number=ctx.number))
        files = print_files(release_dir(ctx.number, root)) or {}
        if release is not None:
            write_afresh()
            release.files = {**(release.files or {}), **files}
    _commit_run(run, step_label=f"{label}; printed directories {outcome}")


def read_kept_records(root: Path, number: int | None) -> KeptRecords | None:
    """The records release `number` kept for this build (None: none to reuse)."""
    if number is None:
        return None
    folder = release_dir(number, root)
    try:
        return KeptRecords(
            (folder / RECORD_INDEX).read_bytes(), (folder / RECORD_BYTES).read_bytes()
        )
    except OSError:
        return None


def reap_dead_runs(except_id: int | None = None) -> int:
    """Only while holding the build lock: no other build can be running, so a run that started
    building and still says "running" died with its worker (kill -9, a lost machine). Mark it
    failed, so the progress page never shows a dead run as running; a run queued for an hour
    and never started is marked too. Returns how many; the caller commits."""
    now = utcnow()
    dead = db.session.scalars(
        db.select(PublishRun).where(
            PublishRun.status == PublishRunStatus.RUNNING.value,
            PublishRun.id != (except_id or 0),
            (PublishRun.total_steps > 0) | (PublishRun.started_at < now - timedelta(hours=1)),
        )
    ).all()
    for r in dead:
        started = r.total_steps > 0
        r.finish(
            PublishRunStatus.FAILED,
            finished_at=now,
            step_label=(
                f"stopped at step {r.step}/{r.total_steps} ({r.step_label})"
                if started
                else "never started"
            ),
        )
        r.error = (
            "the build stopped: its worker died or was killed; a later build publishes the changes"
            if started
            else "the build was queued but never started (no worker took it)"
        )
    return len(dead)


def _build_locked(root: Path, run: PublishRun, day: date, progress: Progress | None) -> BuildResult:
    clean_stale_builds(root)
    write_afresh()
    reap_dead_runs(except_id=run.id)
    db.session.commit()
    steps = writers()
    total = len(steps) + 3

    # a commit per step is two round trips and a writer lock: a step that follows the last
    # committed one by less than PROGRESS_EVERY is told only to `progress`
    due = every(PROGRESS_EVERY)

    def step(i: int, label: str) -> None:
        if due():
            _commit_run(run, step=i, total_steps=total, step_label=label)
        if progress:
            progress(i, total, label)

    step(0, "reading approved listings")
    last_event = db.session.scalar(
        db.select(db.func.max(OutboxEvent.id)).where(OutboxEvent.processed_at.is_(None))
    )
    cur = current_number(root)
    # (none kept: an empty set, so that this build's records are still the next one's start)
    kept = read_kept_records(root, cur) or KeptRecords(b"", b"")
    snapshot = read_snapshot(day, kept=kept)
    records = snapshot.records
    reference = reference_snapshot()
    chash = content_hash(snapshot, reference)
    if cur is not None and read_manifest(cur).get("content_hash") == chash:
        write_afresh()
        drain_outbox_events(last_event, release_id=None)
        _finish_run(
            run,
            PublishRunStatus.UNCHANGED,
            release_number=cur,
            step=total,
            total_steps=total,
            step_label="no change since the current release",
        )
        if progress:
            progress(total, total, f"unchanged: release {cur} stays current")
        return BuildResult(PublishRunStatus.UNCHANGED.value, number=cur, run_id=run.id)

    last_row = db.session.scalar(db.select(db.func.max(Release.number))) or 0
    number = max([last_row, *available_numbers(root)]) + 1
    out_dir = root / f".build-{number}-{uuid.uuid4().hex[:8]}"
    out_dir.mkdir()
    ctx = BuildContext(
        records=records,
        digests=snapshot.digests,
        reference=reference,
        number=number,
        created_at=release_clock(),
        out_dir=out_dir,
        previous_dir=(release_dir(cur, root)) if cur is not None else None,
        base_url=current_app.config["PUBLIC_BASE_URL"].rstrip("/"),
        record_sources=snapshot.sources,
    )
    if print_wanted():
        ctx.early_render = start_early_render(ctx)  # the print, beside the feeds
    try:
        return _publish(root, run, ctx, chash, last_event, steps, step, progress, snapshot)
    except BaseException:
        if ctx.early_render is not None:
            ctx.early_render.finish()
            ctx.early_render.discard()
        raise


def _publish(
    root: Path,
    run: PublishRun,
    ctx: BuildContext,
    chash: str,
    last_event: int | None,
    steps: list[Callable[[BuildContext], None]],
    step: Callable[[int, str], None],
    progress: Progress | None,
    snapshot: Snapshot,
) -> BuildResult:
    """Write the feeds of release `ctx.number`, record it and make it current."""
    number, out_dir, records, total = ctx.number, ctx.out_dir, ctx.records, len(steps) + 3
    finisher = Finisher(out_dir, ctx.previous_dir)
    ctx.finisher = finisher
    try:
        for i, writer in enumerate(steps, start=1):
            step(i, writer.__name__.removeprefix("write_").replace("_", " "))
            writer(ctx)
            finisher.collect()  # compressed while the next writers run
        # after the writers: the services they made brought their records' JSON along
        index, blob = kept_records(snapshot)
        ctx.keep(RECORD_INDEX, index)
        ctx.keep(RECORD_BYTES, blob)
        step(len(steps) + 1, "compressing and checking files")
        ctx.files = finisher.finish()
    finally:
        finisher.close()
        ctx.finisher = None
    write_manifest(ctx, chash, ctx.files)
    final = release_dir(number, root)
    os.rename(out_dir, final)
    fsync_path(root / "releases")
    step(len(steps) + 2, "recording the release")
    write_afresh()
    release = Release(
        number=number,
        created_at=ctx.created_at,
        content_hash=chash,
        trigger=run.trigger,
        triggered_by_id=run.triggered_by_id,
        counts=counts_of(ctx),
        files=ctx.files,
        changes=ctx.changes,
        reference_snapshot=ctx.reference,
    )
    db.session.add(release)
    db.session.flush()
    drain_outbox_events(last_event, release_id=release.id)
    record(
        "release.publish",
        actor=f"publisher ({run.trigger})",
        target=release,
        after={
            "number": number,
            "counts": release.counts,
            "changes": {k: len(v) for k, v in ctx.changes.items() if isinstance(v, list)},
        },
    )
    db.session.commit()
    swap_current(root, number)
    refresh_capacity()  # which listings are public may have changed
    _finish_run(
        run,
        PublishRunStatus.PUBLISHED,
        release_number=number,
        step=total,
        step_label=f"release {number} is current",
    )
    if progress:
        progress(total, total, f"release {number} is current")
    dropped = prune(root, int(current_app.config.get("RELEASES_KEEP", 10)))
    log.info("published release %s (%s services); pruned %s", number, len(records), dropped)
    return BuildResult(
        PublishRunStatus.PUBLISHED.value,
        number=number,
        run_id=run.id,
        changes=ctx.changes,
        context=ctx,
    )


def refresh_capacity() -> None:
    """Rewrite the live capacity file for the new release; never fails a release."""
    from tasks.capacity import write_capacity

    try:
        write_capacity()
    except Exception:  # noqa: BLE001 - the minute beat rewrites it anyway
        log.exception("could not rewrite capacity.json after the release")


def drain_outbox_events(up_to_id: int | None, release_id: int | None) -> int:
    """Mark the outbox events the build has seen as processed (the build read the data after them)."""
    if up_to_id is None:
        return 0
    return db.session.execute(
        db.update(OutboxEvent)
        .where(OutboxEvent.processed_at.is_(None), OutboxEvent.id <= up_to_id)
        .values(processed_at=utcnow(), release_id=release_id)
    ).rowcount


def rollback_to(
    number: int, user_id: int | None = None, actor: str = "flask publish --rollback"
) -> None:
    """Point `current` back at a kept release."""
    root = releases_root()
    if number not in available_numbers(root):
        raise ValueError(
            f"release {number} is not kept on disk (kept: {', '.join(map(str, available_numbers(root))) or 'none'})"
        )
    before = current_number(root)
    swap_current(root, number)
    run = PublishRun(
        trigger=ReleaseTrigger.MANUAL.value,
        triggered_by_id=user_id,
        status=PublishRunStatus.ROLLED_BACK.value,
        finished_at=utcnow(),
        release_number=number,
        step_label=f"rolled back from {before} to {number}",
    )
    db.session.add(run)
    release = db.session.scalar(db.select(Release).filter_by(number=number))
    record(
        "release.rollback",
        actor=actor,
        target=release,
        object_type="release",
        object_id=number,
        before={"current": before},
        after={"current": number},
    )
    db.session.commit()
