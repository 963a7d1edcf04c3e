"""Celery tasks: thin wrappers that take ids and call one service.

grade_submission runs on the grading queues (see scheduling.py) with acks_late and
reject_on_worker_lost: a worker that dies mid-grade leaves its message to be delivered
again, and the claim in grading.py makes any extra delivery do nothing. No Celery retry
(with its countdown, the message would wait in this worker's memory and die with it): a
database that stays away longer than grading waits for it leaves the row as it is, and
the sweeper sends its message again.
"""

from __future__ import annotations

import logging

from celery import Task, shared_task

from hackathon.submissions import workers  # noqa: F401 - connects the worker signals
from hackathon.submissions.grading import submission_grade
from hackathon.submissions.models import Submission
from hackathon.submissions.scheduling import GRADE_TASK, send_grading_message
from hackathon.submissions.sweeper import sweep_if_due

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name=GRADE_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
)
def grade_submission(self: Task, submission_id: int) -> str:
    state = workers.STATE
    if state.checked and not state.accepts:
        # Belt and braces: a refusing worker does not consume the grading queues at all.
        submission = Submission.objects.filter(pk=submission_id).first()
        if submission is not None:
            send_grading_message(submission)
        return "refused: sandbox below the minimum level"
    name = workers.worker_name(self.request.hostname)
    outcome = submission_grade(submission_id=submission_id, worker=name, sandbox_level=state.level)
    logger.info("submission %s: %s", submission_id, outcome)
    return outcome


@shared_task(name="hackathon.submissions.tasks.sweep_submissions", ignore_result=True)
def sweep_submissions_task() -> dict:
    report = sweep_if_due()
    if report is None:
        return {"skipped": "swept by another process within the interval"}
    return {"requeued": report.requeued, "failed": report.failed, "resent": report.resent}
