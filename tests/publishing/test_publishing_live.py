"""Real processes: concurrent `flask publish`, a worker killed with SIGKILL mid-build, and the
approve -> outbox -> beat -> release path through a real Celery worker on Redis (DB 3)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.publishing.conftest import REDIS_URL, ROOT, live_env, wait_until

pytestmark = pytest.mark.live


def releases(live_app) -> Path:
    return Path(live_app.config["RELEASES_DIR"])


def current_manifest(live_app) -> dict | None:
    path = releases(live_app) / "current" / "manifest.json"
    return json.loads(path.read_bytes()) if path.exists() else None


def release_rows(live_app) -> list[int]:
    from models import Release, db

    with live_app.app_context():
        numbers = db.session.scalars(db.select(Release.number).order_by(Release.number)).all()
        db.session.remove()
        return list(numbers)


def test_two_concurrent_flask_publish_make_one_release(live_app):
    env = live_env(live_app)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "publish"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=240) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    said = sorted(o[0].strip().splitlines()[-1] for o in outs)
    assert release_rows(live_app) == [1]
    assert "published release 1" in said
    assert said[0] in (
        "another build is running; nothing done",
        "unchanged: release 1 is current",
    ) or said[1] in ("another build is running; nothing done", "unchanged: release 1 is current")
    assert current_manifest(live_app)["release"] == 1
    again = subprocess.run(
        [sys.executable, "-m", "flask", "publish"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert "unchanged: release 1 is current" in again.stdout
    assert release_rows(live_app) == [1]


def test_kill_9_of_a_worker_mid_build_leaves_current_intact(live_app, start_worker, tmp_path):
    from celery import Celery

    env = live_env(live_app)
    first = subprocess.run(
        [sys.executable, "-m", "flask", "publish"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert "published release 1" in first.stdout, first.stderr[-2000:]
    before = (releases(live_app) / "current" / "manifest.json").read_bytes()
    # a change, so the next build is a real new release
    from models import Listing, db

    with live_app.app_context():
        lst = db.session.scalar(
            db.select(Listing).where(Listing.live_revision_id.is_not(None)).order_by(Listing.id)
        )
        data = dict(lst.live_revision.data)
        data["description"] = "Changed before the killed build."
        lst.live_revision.data = data
        db.session.commit()
        db.session.remove()
    marker = tmp_path / "building"
    worker = start_worker(
        app_module="tests.publishing.slow_worker", PUBLISHING_TEST_MARKER=str(marker)
    )
    client = Celery(broker=REDIS_URL)
    client.send_task("registry.publish_release", args=["manual", None, None])
    pid = int(
        wait_until(lambda: marker.exists() and marker.read_text(), 90, "the build to start", worker)
    )
    os.kill(pid, signal.SIGKILL)
    worker.proc.wait(timeout=30)
    assert (releases(live_app) / "current" / "manifest.json").read_bytes() == before
    assert list(releases(live_app).glob(".build-*")), "the killed build left its temporary folder"
    assert release_rows(live_app) == [1]
    # the lock died with the worker's connection: the next run succeeds and cleans up
    nxt = subprocess.run(
        [sys.executable, "-m", "flask", "publish"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert "published release 2" in nxt.stdout, nxt.stderr[-2000:]
    assert current_manifest(live_app)["release"] == 2
    assert not list(releases(live_app).glob(".build-*"))


def test_approve_then_beat_publishes_through_a_real_worker(live_app, start_worker):
    from models import ListingRevision, RevisionState, User, db
    from models.listings import workflow as wf

    with live_app.app_context():
        rev = db.session.scalar(
            db.select(ListingRevision)
            .where(ListingRevision.state == RevisionState.SUBMITTED.value)
            .order_by(ListingRevision.submitted_at)
        )
        reviewer = db.session.scalar(db.select(User).filter_by(email="reviewer@demo.test"))
        listing_uuid = rev.listing.uuid
        new_phones = [p["number"] for p in rev.data["phones"]]
        if rev.claimed_by_id is None:
            wf.claim(rev, reviewer)
        wf.approve(rev, reviewer, "Checked by phone.")
        db.session.commit()  # the outbox row is committed with the approval; nothing is enqueued
        db.session.remove()
    worker = start_worker(beat=True, REGISTRY_PUBLISH_INTERVAL_MINUTES="0.05")
    manifest = wait_until(
        lambda: current_manifest(live_app), 120, "the beat to publish a release", worker, every=0.5
    )
    assert manifest["release"] == 1
    client = live_app.test_client()
    doc = json.loads(client.get(f"/api/hsds/services/{listing_uuid}").get_data())
    assert [p["number"] for p in doc["phones"]] == new_phones
    from models import OutboxEvent

    with live_app.app_context():
        assert (
            db.session.scalar(
                db.select(db.func.count(OutboxEvent.id)).where(OutboxEvent.processed_at.is_(None))
            )
            == 0
        )
        db.session.remove()


def test_a_real_prefork_worker_prints_the_directories_with_processes_of_its_own(
    live_app, start_worker
):
    """Celery's prefork workers are daemonic processes: the print still starts its early
    render and its pool of renderers there (multiprocessing used to refuse them)."""
    from models import Listing, db, mark_changed

    with live_app.app_context():
        listing = db.session.scalars(
            db.select(Listing).where(Listing.live_revision_id.is_not(None))
        ).first()
        mark_changed(listing.id, "test")  # an outbox row: the beat publishes
        db.session.commit()
        db.session.remove()
    worker = start_worker(
        beat=True,
        pool="prefork",  # as the Procfile's worker runs
        REGISTRY_PUBLISH_INTERVAL_MINUTES="0.05",
        REGISTRY_PUBLISH_PDFS="true",
        PDF_WORKERS="2",
    )
    manifest = wait_until(
        lambda: current_manifest(live_app), 120, "the beat to publish a release", worker, every=0.5
    )
    folder = Path(live_app.config["RELEASES_DIR"]) / "releases" / str(manifest["release"])
    printed = wait_until(
        lambda: (
            (folder / "print.json").is_file() and json.loads((folder / "print.json").read_text())
        ),
        240,
        "the worker to print the release",
        worker,
        every=1,
    )
    assert "pdf/directory.pdf" in printed["files"]
    assert (folder / "pdf" / "directory.pdf").read_bytes().startswith(b"%PDF")
    assert "daemonic processes" not in worker.output()
    assert "ForkPoolWorker" in worker.output()  # the print ran in a prefork pool's process
