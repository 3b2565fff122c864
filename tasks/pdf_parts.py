"""Parts of the printed directories rendered by Celery workers on the `pdf` queue.

With PDF_FANOUT=celery, a print sends each missing part to this task (a group) and waits for
all of them (tasks/publishing/pdf.py `render_parts`); add workers on the `pdf` queue to print
faster. The parts folder (VAR_DIR/pdf-parts) must be the same disk for the print and the
workers. The task only renders HTML it is given into a file under that folder."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from celery import shared_task

from .publishing.pdf import parts_dir, render_part

PDF_QUEUE = "pdf"


@shared_task(name="registry.render_pdf_part", acks_late=True)
def render_pdf_part(html: str, name: str) -> dict:
    """Render one part into the parts folder; returns its page count and who rendered it."""
    folder = parts_dir()
    target = (folder / name).resolve()
    if target.parent != folder.resolve() or not name.endswith(".pdf"):
        raise ValueError(f"not a part file name: {name!r}")
    pages = render_part(html, Path(target))
    return {"pages": pages, "worker": f"{socket.gethostname()}:{os.getpid()}"}
