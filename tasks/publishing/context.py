"""What every release writer receives. Writers never read live tables: the records and the
reference data in the context were read once, at the start of the build."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models.reference import reference_snapshot


@dataclass
class BuildContext:
    records: list[dict[str, Any]]  # models.listings.snapshot.build_records(day)
    reference: dict[str, Any]  # models.reference.tables.reference_snapshot()
    number: int  # the release number being built (or a preview number)
    created_at: datetime
    out_dir: Path  # temporary folder; the writer creates its files under it
    previous_dir: Path | None = None  # the previous release's folder, for reuse and changelogs
    # service id -> digest of what its record is made of (models.listings.Snapshot): a service
    # whose digest is the previous release's reuses that release's document
    digests: dict[str, str] = field(default_factory=dict)
    is_preview: bool = False
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # filled in by the manifest step
    base_url: str = ""  # public URL of the registry, for links inside the files
    changes: dict[str, Any] = field(
        default_factory=dict
    )  # added / changed / removed ids (write_changes)
    # the print's parts being rendered while the feeds are written (pdf.start_early_render)
    early_render: Any = field(default=None, repr=False, compare=False)
    # the build's builder.Finisher while the writers run (`write`, `keep`); None otherwise
    finisher: Any = field(default=None, repr=False, compare=False)
    # in a build, service id -> the JSON its record was read from (Snapshot.sources), kept for
    # the next build (`kept_records`); the services the build makes add theirs (`serialise`)
    record_sources: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    def path(self, relative: str) -> Path:
        p = self.out_dir / relative
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def write(self, relative: str, data: bytes) -> None:
        """Write a file of the release: in a build, one byte-identical to the previous
        release's is a hard link to it (`Finisher.write`), neither written nor read again."""
        if self.finisher is not None:
            self.finisher.write(relative, data)
        else:
            self.path(relative).write_bytes(data)

    def reuse(self, relative: str) -> bool:
        """Take the previous release's file `relative` as this release's (`Finisher.reuse`),
        for a writer that knows it did not change; False when it cannot (not a build, no
        such file): then the writer writes it."""
        return self.finisher is not None and self.finisher.reuse(relative)

    def keep(self, relative: str, data: bytes) -> None:
        """Write a private file for the next build (under `.state`: never served, never
        compressed): in a build, in a thread beside the writers that follow
        (`Finisher.keep`)."""
        if self.finisher is not None:
            self.finisher.keep(relative, data)
        else:
            self.path(relative).write_bytes(data)


def release_clock() -> datetime:
    """Now, to the millisecond: a release's time is written with milliseconds everywhere
    (manifest, changes, every last_modified), so comparing the written values is exact."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def timestamp(dt: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, as HSDS writes last_modified."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


__all__ = ["BuildContext", "reference_snapshot", "release_clock", "timestamp"]


@contextlib.contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """The build makes millions of short-lived objects and no garbage cycles of note; the
    cyclic collector would walk the whole heap again and again (about a fifth of a build of
    10,000 listings). Reference counting still frees everything as it goes."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
