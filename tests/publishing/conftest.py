"""Fixtures for the publishing tests: a fresh releases folder per test, a build helper, a
local HTTP receiver for webhooks, and a real Celery worker (Redis DB 3) for live tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HSDS = ROOT.parent / "shared" / "hsds-3.0"  # the HSDS 3.0 specification beside the checkout
REDIS_URL = "redis://127.0.0.1:6379/3"


def load_json(path: Path):
    return json.loads(path.read_bytes())


# ------------------------------------------------------------------ webhook receiver


class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST; answers `fail_first` times with 503."""

    def __init__(self, fail_first: int = 0):
        self.requests: list[dict] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server hook name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                code = 503 if len(receiver.requests) <= receiver.fail_first else 204
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def _make(fail_first: int = 0) -> Receiver:
        r = Receiver(fail_first)
        made.append(r)
        return r

    yield _make
    for r in made:
        r.close()


# ------------------------------------------------------------------ real worker processes


def redis_available() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        return True
    except Exception:  # noqa: BLE001
        return False


def live_env(live_app, **extra) -> dict[str, str]:
    cfg = live_app.config
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": cfg["DATABASE_URL"],
        "VAR_DIR": cfg["VAR_DIR"],
        "REGISTRY_RELEASES_DIR": cfg["RELEASES_DIR"],
        "REGISTRY_OUTBOX_DIR": cfg["OUTBOX_DIR"],
        "REGISTRY_UPLOAD_DIR": cfg["UPLOAD_DIR"],
        "REGISTRY_ENV": "test",
        "SECRET_KEY": "test-secret-" + "x" * 32,
        "PUBLIC_BASE_URL": "http://registry.test",
        "FLASK_APP": "admin",
        # the printed directories have their own tests (test_publishing_print.py, tests/pdf)
        "REGISTRY_PUBLISH_PDFS": "false",
    }
    env.update(extra)
    return env


class Worker:
    def __init__(self, proc: subprocess.Popen, log: Path):
        self.proc = proc
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


@pytest.fixture
def start_worker(live_app, tmp_path):
    """Start `celery worker` (optionally with beat) for the live app on Redis DB 3."""
    if not redis_available():
        pytest.skip("Redis is not answering on 127.0.0.1:6379")
    started: list[Worker] = []

    def _start(
        *, beat: bool = False, app_module: str = "admin.celery_app", pool: str = "solo", **env_extra
    ) -> Worker:
        import redis

        # Redis DB 3 belongs to the publishing tests: start from an empty queue
        redis.Redis.from_url(REDIS_URL).delete(
            "celery", "unacked", "unacked_index", "unacked_mutex"
        )
        log = tmp_path / f"worker-{len(started)}.log"
        env = live_env(live_app, CELERY_BROKER_URL=REDIS_URL, **env_extra)
        args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            app_module,
            "worker",
            f"--pool={pool}",  # prefork: as the Procfile's and compose's workers run
            "--concurrency=1",
            "--loglevel=INFO",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ]
        if beat:
            args += ["-B", "-s", str(tmp_path / "beat-schedule")]
        with log.open("wb") as out:
            proc = subprocess.Popen(
                args,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        w = Worker(proc, log)
        started.append(w)
        return w

    yield _start
    for w in started:
        w.stop()


def wait_until(
    predicate, timeout: float, what: str, worker: Worker | None = None, every: float = 0.2
):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    detail = ("\n--- worker log ---\n" + worker.output()[-4000:]) if worker else ""
    raise AssertionError(f"gave up waiting for {what}{detail}")


@pytest.fixture
def fresh_g(app):
    """The root isolation fixture keeps one app context open for the whole test, so requests
    share `flask.g` (Flask-WTF's cached CSRF token, Flask-Login's user). Give each request an
    empty `g` and end its database session with it, as in production."""
    from flask import g, request_started, request_tearing_down

    from models import db

    def clear(sender, **extra):
        g.__dict__.clear()

    def end_session(sender, **extra):
        db.session.remove()

    request_started.connect(clear, app)
    request_tearing_down.connect(end_session, app)
    yield
    request_started.disconnect(clear, app)
    request_tearing_down.disconnect(end_session, app)


@pytest.fixture
def staff_login(login, fresh_g):
    """`login` for staff pages, with each request ending its database session (see fresh_g)."""
    return login
