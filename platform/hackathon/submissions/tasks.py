"""Celery tasks: thin wrappers that take ids and call one service.

grade_submission runs on the grading queues (see scheduling.py) with acks_late and
reject_on_worker_lost: a worker that dies mid-grade leaves its message to be delivered
again, and the claim in grading.py makes any extra delivery do nothing.
"""

from __future__ import annotations

import logging

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from hackathon.submissions import workers  # noqa: F401 - connects the worker signals
from hackathon.submissions.grading import submission_grade
from hackathon.submissions.models import Submission
from hackathon.submissions.scheduling import GRADE_TASK, send_grading_message
from hackathon.submissions.sweeper import sweep_submissions

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name=GRADE_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    # Only the claim can meet these (the database down before anything started): retrying
    # is safe because the claim is conditional.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=20,
)
def grade_submission(self: Task, submission_id: int) -> str:
    state = workers.STATE
    if state.checked and not state.accepts:
        # Belt and braces: a refusing worker does not consume the grading queues at all.
        submission = Submission.objects.filter(pk=submission_id).first()
        if submission is not None:
            send_grading_message(submission, countdown=5)
        return "refused: sandbox below the minimum level"
    name = workers.worker_name(self.request.hostname)
    outcome = submission_grade(submission_id=submission_id, worker=name, sandbox_level=state.level)
    logger.info("submission %s: %s", submission_id, outcome)
    return outcome


@shared_task(name="hackathon.submissions.tasks.sweep_submissions", ignore_result=True)
def sweep_submissions_task() -> dict:
    report = sweep_submissions()
    return {"requeued": report.requeued, "failed": report.failed, "resent": report.resent}
