"""The one beat schedule. Every periodic job is listed here and nowhere else."""

from __future__ import annotations

from datetime import timedelta


def beat_schedule(config) -> dict:
    return {
        "housekeeping": {
            "task": "registry.housekeeping",
            "schedule": timedelta(hours=1),
        },
    }
