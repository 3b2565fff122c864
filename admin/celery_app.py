"""Worker and beat entry point: `celery -A admin.celery_app worker -B`."""

from admin import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
