"""The embedded default really works: a Celery worker running beat in the same process, on the
SQLAlchemy transport over SQLite (`sqla+sqlite:///...`), no service installed."""

from __future__ import annotations

import os
import re
import shelve
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from celery import Celery

from tests.conftest import ROOT, run_flask

WAIT_SECONDS = 120


@pytest.fixture
def embedded(tmp_path):
    """A migrated SQLite database and a broker URL under a temporary VAR_DIR."""
    env = {
        "VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'registry.db'}",
        "REGISTRY_ENV": "development",
    }
    result = run_flask(["db", "upgrade"], env, timeout=300)
    assert result.returncode == 0, result.stderr
    return tmp_path, env


@pytest.fixture
def worker(embedded):
    var_dir, env_extra = embedded
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CELERY_", "REGISTRY_", "TEST_DATABASE"))
    }
    env.update(env_extra, PYTHONPATH=str(ROOT))
    log = open(var_dir / "worker.log", "w")  # noqa: SIM115 - closed in the fixture's teardown
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "admin.celery_app",
            "worker",
            "-B",
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield proc, var_dir
    stop(proc)
    log.close()


def stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def wait_for(predicate, proc, log: Path, what: str):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            pytest.fail(
                f"the worker exited ({proc.returncode}) before {what}:\n{log.read_text()[-3000:]}"
            )
        time.sleep(0.5)
    pytest.fail(f"no {what} within {WAIT_SECONDS} s:\n{log.read_text()[-3000:]}")


def test_worker_with_beat_runs_a_task_over_the_sqlite_broker(worker):
    proc, var_dir = worker
    log = var_dir / "worker.log"
    db_path = var_dir / "registry.db"
    old = (datetime.now(UTC) - timedelta(days=40)).strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "INSERT INTO login_attempt (email, ip, succeeded, at) VALUES ('old@example.org', '192.0.2.1', 0, ?)",
            (old,),
        )
    # beat starts inside the worker and writes its schedule under VAR_DIR
    wait_for(
        lambda: "beat: Starting" in log.read_text() and "ready." in log.read_text(),
        proc,
        log,
        "worker and beat start-up",
    )
    # a producer that knows nothing but the broker URL queues the hourly housekeeping job
    producer = Celery(
        "producer", broker=f"sqla+sqlite:///{var_dir / 'celery-broker.db'}", set_as_current=False
    )
    producer.conf.update(
        task_serializer="json", accept_content=["json"], broker_connection_retry_on_startup=True
    )
    try:
        producer.send_task("registry.housekeeping")
    finally:
        producer.close()

    def cleaned():
        with sqlite3.connect(db_path) as conn:
            return conn.execute("SELECT count(*) FROM login_attempt").fetchone()[0] == 0

    wait_for(cleaned, proc, log, "housekeeping run")
    wait_for(
        lambda: re.search(r"Task registry\.housekeeping\[[-0-9a-f]+\] succeeded", log.read_text()),
        proc,
        log,
        "task success in the worker log",
    )
    stop(proc)
    # beat kept its schedule (with the one hourly job) in VAR_DIR, as configured
    with shelve.open(str(var_dir / "celerybeat-schedule"), flag="r") as schedule:  # noqa: S301 - our own file
        assert "housekeeping" in schedule["entries"]
