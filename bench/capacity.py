"""Live capacity under load, on the embedded default (SQLite, Celery's SQLAlchemy transport):
does a day of capacity traffic slow the back office? Measured side by side in one run:

  idle    a signed-in provider opens the dashboard (/portal/) and a reviewer-side page, again
          and again, with nothing else going on;
  loaded  the same, while capacity traffic runs at SPEEDUP times the issue's load — 500 sites
          updating every 15 minutes (0.56 updates/s) and 200 consumers polling capacity.json
          every 60 s (3.3 polls/s) — and capacity.json is rewritten SPEEDUP times a minute.

Prints median and p95 latency of the back-office page in both phases and their ratio.

    PYTHONPATH=$PWD .venv/bin/python bench/capacity.py [--seconds 20] [--speedup 10]

Served by gunicorn with `make run`'s settings (Procfile: 2 workers, 4 threads)."""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "demo-password"  # noqa: S105 - the demo data's published password


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(var: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "FLASK_APP": "admin",
        "VAR_DIR": str(var),
        "DATABASE_URL": f"sqlite:///{var / 'registry.db'}",
        "CELERY_BROKER_URL": f"sqla+sqlite:///{var / 'celery-broker.db'}",
        "REGISTRY_ENV": "development",
        "REGISTRY_PUBLISH_PDFS": "false",
        "REGISTRY_DEMO_BANNER": "false",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "PORT": str(port),
    }


def flask(args: list[str], env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, check=True, capture_output=True
    )


class Session:
    """A signed-in browser: cookies, and the CSRF token of the last page."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as resp:
            return resp.read().decode("utf-8", "replace")

    def post(self, path: str, data: dict[str, str], token_from: str) -> int:
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', self.get(token_from)).group(1)
        body = urllib.parse.urlencode({**data, "csrf_token": token}).encode()
        with self.opener.open(self.base + path, body, timeout=30) as resp:
            resp.read()
            return resp.status

    def sign_in(self, email: str) -> None:
        self.post("/login", {"email": email, "password": PASSWORD}, "/login")


def timed_gets(session: Session, path: str, seconds: float) -> list[float]:
    out, stop = [], time.monotonic() + seconds
    while time.monotonic() < stop:
        t = time.perf_counter()
        session.get(path)
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--speedup", type=float, default=10)
    args = parser.parse_args()
    var = Path(tempfile.mkdtemp(prefix="registry-bench-capacity-"))
    port = free_port()
    env = env_for(var, port)
    server = None
    try:
        flask(["db", "upgrade"], env)
        flask(["demo", "load"], env)
        flask(["publish"], env)
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                "2",
                "--threads",
                "4",
                "--bind",
                f"127.0.0.1:{port}",
                "--no-control-socket",
                "admin:create_app()",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).read()  # noqa: S310
                break
            except OSError:
                time.sleep(0.2)
        provider = Session(base)
        provider.sign_in("provider@demo.test")
        page = provider.get("/portal/")
        sites = sorted(set(re.findall(r'/portal/listings/(\d+)/capacity"', page)))
        assert sites, "the demo provider has no site that reports capacity"
        print(f"capacity sites of the demo provider: {len(sites)}; speedup ×{args.speedup:g}")

        idle = timed_gets(provider, "/portal/", args.seconds)

        stop = threading.Event()
        counts = {"updates": 0, "polls": 0, "writes": 0, "errors": 0}
        update_every = 900 / 500 / args.speedup  # one of 500 sites every 15 minutes
        poll_every = 60 / 200 / args.speedup  # 200 consumers every 60 s

        def updates() -> None:
            writer = Session(base)
            writer.sign_in("colleague@demo.test")
            statuses = ["accepting", "full", "accepting", "full"]
            i = 0
            while not stop.is_set():
                t = time.monotonic()
                try:
                    writer.post(
                        f"/portal/listings/{sites[i % len(sites)]}/capacity",
                        {"status": statuses[i % 4], "quick": "1"},
                        "/portal/",
                    )
                    counts["updates"] += 1
                except OSError:
                    counts["errors"] += 1
                i += 1
                stop.wait(max(0.0, update_every - (time.monotonic() - t)))

        def polls() -> None:
            while not stop.is_set():
                t = time.monotonic()
                try:
                    urllib.request.urlopen(base + "/api/hsds/capacity", timeout=30).read()  # noqa: S310
                    counts["polls"] += 1
                except OSError:
                    counts["errors"] += 1
                stop.wait(max(0.0, poll_every - (time.monotonic() - t)))

        def rewrite() -> None:  # the minute beat, sped up
            while not stop.is_set():
                subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        "from admin import create_app; from tasks.capacity import write_capacity\n"
                        "app = create_app()\nwith app.app_context(): write_capacity()",
                    ],
                    cwd=ROOT,
                    env=env,
                    check=False,
                    capture_output=True,
                )
                counts["writes"] += 1
                stop.wait(60 / args.speedup)

        threads = [threading.Thread(target=f, daemon=True) for f in (updates, polls, rewrite)]
        for t in threads:
            t.start()
        time.sleep(1)
        loaded = timed_gets(provider, "/portal/", args.seconds)
        stop.set()
        for t in threads:
            t.join(timeout=30)

        def p95(xs: list[float]) -> float:
            return statistics.quantiles(xs, n=20)[18] if len(xs) >= 20 else max(xs)

        mi, ml = statistics.median(idle), statistics.median(loaded)
        print(
            f"traffic: {counts['updates']} capacity updates, {counts['polls']} polls, "
            f"{counts['writes']} capacity.json rewrites, {counts['errors']} errors "
            f"in {args.seconds:g} s"
        )
        print(f"{'':10}{'requests':>10}{'median ms':>12}{'p95 ms':>10}")
        print(f"{'idle':10}{len(idle):>10}{mi * 1000:>12.1f}{p95(idle) * 1000:>10.1f}")
        print(f"{'loaded':10}{len(loaded):>10}{ml * 1000:>12.1f}{p95(loaded) * 1000:>10.1f}")
        print(f"ratio loaded/idle: median {ml / mi:.2f}, p95 {p95(loaded) / p95(idle):.2f}")
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    main()
