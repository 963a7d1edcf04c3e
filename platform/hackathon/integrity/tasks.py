"""Celery tasks on the default queue: thin wrappers around the integrity services.

Grading sends `check_submission` by name once a result is committed (no import of this
module below it); beat runs `sweep` (see hackathon.submissions.schedule) to check what a
lost message left unchecked.
"""

from __future__ import annotations

from celery import shared_task

from hackathon.integrity.services import integrity_check_submission, integrity_sweep


@shared_task(name="hackathon.integrity.tasks.check_submission", ignore_result=True)
def check_submission(submission_id: int) -> int:
    return len(integrity_check_submission(submission_id=submission_id))


@shared_task(name="hackathon.integrity.tasks.sweep", ignore_result=True)
def sweep() -> int:
    return integrity_sweep()
