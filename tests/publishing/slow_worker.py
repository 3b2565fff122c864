"""Celery entry point for the kill -9 test: the normal worker, plus a writer that announces it
has started (a marker file) and then waits, so the test can kill the worker mid-build."""

import os
import time
from pathlib import Path

from admin.celery_app import celery_app, flask_app  # noqa: F401
from tasks.publishing import writers


def write_slowly(ctx):
    Path(os.environ["PUBLISHING_TEST_MARKER"]).write_text(str(os.getpid()))
    time.sleep(120)


writers.WRITERS.insert(2, write_slowly)
