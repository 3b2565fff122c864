"""Celery wired as Flask's documentation shows: one Celery app per Flask app, a task class
that runs each task inside the app context, `@shared_task` in tasks/."""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask, current_app, has_app_context

from tasks.schedule import beat_schedule

from .config import celery_settings


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            # In a worker there is no app context and the task runs in this app's. A task run
            # eagerly (tests) from inside a request or a test gets a fresh context of the
            # *calling* app: `@shared_task` resolves to the most recently created Celery app,
            # which need not be the one whose database the caller is using.
            target = current_app._get_current_object() if has_app_context() else app
            with target.app_context():
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
