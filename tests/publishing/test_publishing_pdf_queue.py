"""PDF_FANOUT=celery: the parts of the printed directories go to the `pdf` queue as a Celery
group, rendered by real worker processes on Redis, and the print waits for every one."""

from __future__ import annotations

import os
import subprocess
import sys

import pikepdf
import pypdf
import pytest

from tests.publishing.conftest import REDIS_URL, ROOT, Worker, redis_available, wait_until


@pytest.fixture
def queue_app(tmp_path):
    from admin import create_app

    return create_app(
        {
            "VAR_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'registry.db'}",
            "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_RESULT_BACKEND": REDIS_URL,
            "CELERY_ALWAYS_EAGER": False,
            "PDF_FANOUT": "celery",
            "PDF_PART_TIMEOUT": 240,
        }
    )


@pytest.fixture
def pdf_worker(queue_app, tmp_path):
    """`celery worker -Q pdf` with two processes, on the same VAR_DIR (the parts folder)."""
    if not redis_available():
        pytest.skip("Redis is not answering on 127.0.0.1:6379")
    import redis

    redis.Redis.from_url(REDIS_URL).delete("pdf", "unacked", "unacked_index")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "REGISTRY_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'registry.db'}",
        REGISTRY_ENV="test",
        SECRET_KEY="test-secret-" + "x" * 32,
        CELERY_BROKER_URL=REDIS_URL,
        CELERY_RESULT_BACKEND=REDIS_URL,
    )
    log = tmp_path / "pdf-worker.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "admin.celery_app",
                "worker",
                "-Q",
                "pdf",
                "--concurrency=2",
                "--loglevel=INFO",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = Worker(proc, log)
    wait_until(lambda: "ready." in worker.output(), 120, "the pdf worker to start", worker)
    yield worker
    worker.stop()


def test_parts_are_rendered_by_the_pdf_queue_workers(queue_app, pdf_worker):
    from tasks.publishing.pdf import fan_out, parts_dir, render_on_queue

    with queue_app.app_context():
        folder = parts_dir()
        folder.mkdir(parents=True, exist_ok=True)
        jobs = [
            (
                f'<!doctype html><html lang="en-US"><title>Part {n}</title>'
                f"<body><p>Part number {n}</p>{'<p>more</p>' * 40 * n}</body></html>",
                folder / f"part-{n}.pdf",
            )
            for n in range(1, 5)
        ]
        results = render_on_queue(jobs)
        assert len(results) == 4
        here = f":{os.getpid()}"
        assert all(not r["worker"].endswith(here) for r in results)  # not in this process
        for n in range(1, 5):
            text = pypdf.PdfReader(folder / f"part-{n}.pdf").pages[0].extract_text()
            assert f"Part number {n}" in text
            with pikepdf.open(folder / f"part-{n}.pdf") as pdf:
                assert "/StructTreeRoot" in pdf.Root  # tagged, ready to be joined
        (folder / "part-1.pdf").unlink()
        fan_out(jobs[:1])  # the print's own entry point takes the queue too
        assert (folder / "part-1.pdf").is_file()
    assert "registry.render_pdf_part" in pdf_worker.output()


def test_a_part_name_outside_the_parts_folder_is_refused(queue_app):
    from tasks.pdf_parts import render_pdf_part
    from tasks.publishing.pdf import parts_dir, render_on_queue

    with queue_app.app_context():
        with pytest.raises(ValueError, match="not a part file name"):
            render_pdf_part.run("<p>x</p>", "../escape.pdf")
        with pytest.raises(ValueError, match="outside the parts folder"):
            render_on_queue([("<p>x</p>", parts_dir().parent / "elsewhere.pdf")])


def test_the_queue_needs_a_result_backend(tmp_path):
    from admin import create_app
    from admin.config import ConfigError

    with pytest.raises(ConfigError, match="CELERY_RESULT_BACKEND"):
        create_app({"VAR_DIR": str(tmp_path), "PDF_FANOUT": "celery"})
    with pytest.raises(ConfigError, match="PDF_FANOUT must be"):
        create_app({"VAR_DIR": str(tmp_path), "PDF_FANOUT": "threads"})
