"""What every release writer receives. Writers never read live tables: the records and the
reference data in the context were read once, at the start of the build."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from models.reference import reference_snapshot


@dataclass
class BuildContext:
    records: list[dict[str, Any]]  # models.snapshot.build_records(day)
    reference: dict[str, Any]  # models.reference.reference_snapshot()
    number: int  # the release number being built (or a preview number)
    created_at: datetime
    out_dir: Path  # temporary folder; the writer creates its files under it
    previous_dir: Path | None = None  # the previous release's folder, for reuse and changelogs
    is_preview: bool = False
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # filled in by the manifest step
    base_url: str = ""  # public URL of the registry, for links inside the files
    changes: dict[str, Any] = field(
        default_factory=dict
    )  # added / changed / removed ids (write_changes)

    def path(self, relative: str) -> Path:
        p = self.out_dir / relative
        p.parent.mkdir(parents=True, exist_ok=True)
        return p


__all__ = ["BuildContext", "reference_snapshot"]
