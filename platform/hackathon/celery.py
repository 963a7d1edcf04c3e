"""The Celery application: grading runs on its own queue so workers can live anywhere."""

import os

from celery import Celery
from celery.signals import task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hackathon.settings")

app = Celery("hackathon")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _database_between_tasks(**kwargs: object) -> None:
    """Between tasks as between requests: a connection past CONN_MAX_AGE, or broken, is
    closed (the next query opens a new one); any other is kept and health-checked at its
    next use. Celery's own closing is off (CELERY_DB_REUSE_MAX in settings)."""
    from django.db import close_old_connections  # Django is set up once a task runs

    close_old_connections()
