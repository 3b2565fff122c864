"""Helpers shared by the PDF tests."""

from __future__ import annotations

import re
from pathlib import Path

import pypdf

HOSTILE = (
    '<img src="http://169.254.169.254/latest/meta-data/"> '
    "<style>body{display:none}</style> <b>bold?</b> "
    '<link rel="stylesheet" href="https://evil.example/x.css"> url(file:///etc/passwd)'
)


def pdf_text(path: Path) -> str:
    reader = pypdf.PdfReader(path)
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def flat(text: str) -> str:
    """Line breaks in extracted text are where a space was: compare on single spaces."""
    return re.sub(r"\s+", " ", text)


def demo_context(out_dir: Path, number: int = 1, records=None, reference=None, previous_dir=None):
    from models import today, utcnow
    from models.listings import build_records
    from tasks.publishing.context import BuildContext, reference_snapshot

    return BuildContext(
        records=records if records is not None else build_records(today()),
        reference=reference if reference is not None else reference_snapshot(),
        number=number,
        created_at=utcnow(),
        out_dir=out_dir,
        previous_dir=previous_dir,
    )
