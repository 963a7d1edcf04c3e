"""Periodic jobs are declared once and name tasks that exist."""

from __future__ import annotations

from django.conf import settings
from hackathon.celery import app


def test_every_periodic_job_names_a_registered_task_on_the_default_queue() -> None:
    app.loader.import_default_modules()
    assert settings.CELERY_BEAT_SCHEDULE, "the sweeper must be scheduled"
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name
        assert entry["options"]["queue"] == "default", name
    assert app.conf.beat_schedule == settings.CELERY_BEAT_SCHEDULE


def test_grading_task_is_routed_to_the_grading_queue_with_late_acks() -> None:
    from hackathon.submissions.tasks import grade_submission

    assert settings.CELERY_TASK_ROUTES[grade_submission.name] == {"queue": "grading"}
    assert grade_submission.acks_late and grade_submission.reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.broker_transport_options["visibility_timeout"] > 0
