"""Read-side benchmark: requests/s of /feeds/current/hsds/services.json (200 and 304),
/api/hsds/services?page=1 and ?county=29019, each against a Flask route returning constant
bytes of the same size (the API's page 1, gzip; services.json's gzip file), all served by
gunicorn with `make run`'s settings (Procfile: 2 workers, 4 threads) in the same run; ratios
matter, not absolutes.

    PYTHONPATH=$PWD .venv/bin/python bench/serve.py [--seconds 5] [--listings 1000]

Creates its own database (demo data grown to --listings published listings) and release,
then drops them."""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def create_app_with_constant_route():
    """gunicorn entry point: the registry app plus one route that returns constant bytes (the
    file named by BENCH_CONSTANT, sent as gzip'd JSON like the API's own answer)."""
    from flask import Response

    from admin import create_app

    app = create_app()
    body = Path(os.environ["BENCH_CONSTANT"]).read_bytes()
    large = Path(os.environ["BENCH_LARGE"]).read_bytes()

    @app.get("/bench/constant")
    def constant():
        resp = Response(body, mimetype="application/json")
        resp.headers["Content-Encoding"] = "gzip"
        return resp

    @app.get("/bench/constant-large")
    def constant_large():
        resp = Response(large, mimetype="application/json")
        resp.headers["Content-Encoding"] = "gzip"
        return resp

    return app


GROW = """
import gzip, sys
from pathlib import Path
from bench.publish import grow_to, make_app
from models import db
app = make_app(sys.argv[1], Path(sys.argv[2]))
with app.app_context():
    grow_to(int(sys.argv[3]))
    db.session.commit()
"""
PAGE_ONE = """
import sys
from pathlib import Path
from admin import create_app
app = create_app()
resp = app.test_client().get("/api/hsds/services?page=1", headers={"Accept-Encoding": "gzip"})
assert resp.status_code == 200 and resp.headers.get("Content-Encoding") == "gzip"
Path(sys.argv[1]).write_bytes(resp.get_data())
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hammer(
    port: int, path: str, headers: dict[str, str], seconds: float, threads: int = 4
) -> tuple[float, int]:
    counts = [0] * threads
    statuses: set[int] = set()
    stop = time.monotonic() + seconds

    def run(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < stop:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            resp.read()
            statuses.add(resp.status)
            counts[i] += 1
        conn.close()

    ts = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(statuses) == 1, statuses
    return sum(counts) / seconds, statuses.pop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--listings", type=int, default=1000)
    args = ap.parse_args()
    name = f"registry_bench_serve_{os.getpid()}"
    var = Path(tempfile.mkdtemp(prefix="registry-serve-"))
    with psycopg.connect(ADMIN, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{name}",
        "VAR_DIR": str(var),
        "FLASK_APP": "admin",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    proc = None
    try:
        root = Path(__file__).resolve().parent.parent

        def flask(*cmd: str) -> None:
            subprocess.run(
                [sys.executable, "-m", "flask", *cmd],
                cwd=root,
                env=env,
                check=True,
                capture_output=True,
            )

        flask("db", "upgrade")
        flask("demo", "load")
        subprocess.run(
            [sys.executable, "-c", GROW, env["DATABASE_URL"], str(var), str(args.listings)],
            cwd=root,
            env=env,
            check=True,
            capture_output=True,
        )
        flask("publish")
        constant_file = var / "constant.bin"
        subprocess.run(
            [sys.executable, "-c", PAGE_ONE, str(constant_file)],
            cwd=root,
            env=env,
            check=True,
            capture_output=True,
        )
        env["BENCH_CONSTANT"] = str(constant_file)
        large_file = var / "releases" / "current" / "hsds" / "services.json.gz"
        env["BENCH_LARGE"] = str(large_file)
        print(
            f"{args.listings} listings; API page 1 (gzip) and its constant route: "
            f"{constant_file.stat().st_size} bytes; services.json (gzip) and its constant "
            f"route: {large_file.stat().st_size} bytes",
            flush=True,
        )
        port = free_port()
        proc = subprocess.Popen(
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
                "--log-level",
                "warning",
                "bench.serve:create_app_with_constant_route()",
            ],
            cwd=root,
            env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.request(
            "GET", "/feeds/current/hsds/services.json", headers={"Accept-Encoding": "gzip"}
        )
        resp = conn.getresponse()
        resp.read()
        etag = resp.getheader("ETag")
        conn.close()
        small, large = "/bench/constant", "/bench/constant-large"
        gz = {"Accept-Encoding": "gzip"}
        # (label, path, headers, the constant route of the same size)
        cases = [
            ("constant bytes route, API page size", small, {}, small),
            ("constant bytes route, services.json size", large, gz, large),
            (
                "/feeds/current/hsds/services.json gzip 200",
                "/feeds/current/hsds/services.json",
                gz,
                large,
            ),
            (
                "/feeds/current/hsds/services.json 304",
                "/feeds/current/hsds/services.json",
                {**gz, "If-None-Match": etag},
                small,
            ),
            ("/api/hsds/services?page=1 gzip 200", "/api/hsds/services?page=1", gz, small),
            (
                "/api/hsds/services?county=29019 gzip 200",
                "/api/hsds/services?county=29019",
                gz,
                small,
            ),
        ]
        for _, path, headers, _ in cases:
            hammer(port, path, headers, 1)  # warm up every worker and every answer cache
        rates: dict[str, float] = {}
        for label, path, headers, reference in cases:
            rps, status = hammer(port, path, headers, args.seconds)
            rates.setdefault(path, rps)
            print(
                f"{label:<46} {status}  {rps:8.0f} req/s  "
                f"{rps / rates[reference]:5.2f}x of the constant route of its size",
                flush=True,
            )
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        with psycopg.connect(ADMIN, autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    main()
