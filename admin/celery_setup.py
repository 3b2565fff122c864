"""Celery wired as Flask's documentation shows: one Celery app per Flask app, a task class
that runs each task inside the app context, `@shared_task` in tasks/."""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask

from tasks.schedule import beat_schedule

from .config import celery_settings


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    settings = celery_settings(app.config)
    settings["beat_schedule"] = beat_schedule(app.config)
    celery_app.config_from_object(settings)
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    # register the task modules (they only use @shared_task)
    celery_app.conf.imports = ("tasks.jobs",)
    import tasks.jobs  # noqa: F401
    return celery_app
