"""The one beat schedule. Every periodic job is listed here and nowhere else."""

from __future__ import annotations

from datetime import timedelta

from celery.schedules import crontab


def beat_schedule(config) -> dict:
    return {
        "housekeeping": {
            "task": "registry.housekeeping",
            "schedule": timedelta(hours=1),
        },
        # e-mail queued by requests whose hand-over to a worker failed (broker outage)
        "relay-outgoing-mail": {
            "task": "registry.relay_outgoing_mail",
            "schedule": timedelta(minutes=1),
        },
        # live capacity: a status reads "unknown" within a minute of expiring
        "publish-capacity": {
            "task": "registry.publish_capacity",
            "schedule": timedelta(minutes=1),
        },
        "remind-capacity-expiring": {
            "task": "registry.remind_capacity_expiring",
            "schedule": timedelta(minutes=5),
        },
        "publish-pending": {
            "task": "registry.publish_pending",
            "schedule": timedelta(minutes=float(config.get("PUBLISH_INTERVAL_MINUTES", 3))),
        },
        "publish-nightly": {
            "task": "registry.publish_nightly",
            "schedule": crontab(
                hour=7, minute=15
            ),  # 01:15 US Central (CST), after midnight everywhere in MO
        },
        # just after midnight Central time, so a certification lapses the day after its expiry
        "sweep-certifications": {
            "task": "registry.sweep_certifications",
            "schedule": crontab(hour=6, minute=5),
        },
        "sweep-verification": {
            "task": "registry.sweep_verification",
            "schedule": crontab(hour=6, minute=20),
        },
    }
