"""Celery's prefork workers are daemonic processes (billiard's pool), and multiprocessing
refuses to start children from a daemonic process; the print starts its renderers there."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import billiard

HTML = "<!doctype html><html lang='en'><title>part</title><p>Call or text 988.</p></html>"


def render_two_parts_side_by_side(folder: str) -> tuple:
    from tasks.publishing.pdf import render_parts

    mark = multiprocessing.current_process()._config.get("daemon")  # noqa: SLF001
    targets = [Path(folder) / f"{i}.pdf" for i in range(2)]
    render_parts([(HTML, t) for t in targets], 2)  # two processes of its own
    after = multiprocessing.current_process()._config.get("daemon")  # noqa: SLF001
    return mark, [t.read_bytes()[:5] for t in targets], after


def test_parts_render_side_by_side_inside_a_celery_prefork_worker(tmp_path):
    with billiard.Pool(1) as pool:  # the pool a Celery prefork worker runs its tasks in
        mark, heads, after = pool.apply(render_two_parts_side_by_side, (str(tmp_path),))
    assert mark is True  # as in a worker: without the lift, multiprocessing refuses children
    assert heads == [b"%PDF-", b"%PDF-"]
    assert after is True  # and the mark is put back
