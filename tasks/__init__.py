"""Celery jobs. Tasks take ids and ISO dates, never ORM objects; they import models/, never admin/."""
