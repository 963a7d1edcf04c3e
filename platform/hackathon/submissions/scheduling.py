"""Fair scheduling of grading work, kept simple and stated in one place.

- Per-size queues: a challenge whose time limit is above GRADING_LONG_THRESHOLD_S grades on
  "grading-long", every other on "grading". A worker started with `-Q grading,grading-long`
  takes from both in turn (kombu rotates the queues it polls), so a backlog of long runs
  delays a short one by at most one long run; a worker started with `-Q grading` only
  keeps short challenges flowing whatever the long ones do.
- Priority by the team's in-flight count, as DOMjudge orders its queue: a submission whose
  team has nothing else queued or running goes first (priority 0), each other in-flight
  submission of the same team pushes it one step back; a rejudge goes last. Redis serves
  priority 0 before 3, 6 and 9 within every queue. With the in-flight cap (default 2), one
  team's burst can never hold more than two places in the queue anyway.

The database stays the source of truth: the message is a hint, the claim decides.

The message is sent by task name (this module is below tasks.py, which imports it), and a
worker counts as alive while its heartbeat is younger than WORKER_HEARTBEAT_TIMEOUT_S.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from hackathon.celery import app as celery_app

if TYPE_CHECKING:
    from hackathon.challenges.models import Challenge
    from hackathon.submissions.models import Submission

logger = logging.getLogger(__name__)

QUEUE_SHORT = "grading"
QUEUE_LONG = "grading-long"
GRADING_QUEUES = (QUEUE_SHORT, QUEUE_LONG)
PRIORITY_STEPS = (0, 3, 6, 9)  # kombu's Redis priority lists; 0 is served first
PRIORITY_REJUDGE = 9
GRADE_TASK = "hackathon.submissions.tasks.grade_submission"


def heartbeat_interval_s() -> float:
    return float(getattr(settings, "WORKER_HEARTBEAT_INTERVAL_S", 5.0))


def heartbeat_timeout_s() -> float:
    return float(getattr(settings, "WORKER_HEARTBEAT_TIMEOUT_S", 20.0))


def queue_for(challenge: Challenge) -> str:
    threshold = float(getattr(settings, "GRADING_LONG_THRESHOLD_S", 60.0))
    return QUEUE_LONG if challenge.time_limit_s > threshold else QUEUE_SHORT


def priority_for(*, team_in_flight_before: int, rejudge: bool = False) -> int:
    if rejudge:
        return PRIORITY_REJUDGE
    step = min(team_in_flight_before, len(PRIORITY_STEPS) - 1)
    return PRIORITY_STEPS[step]


def send_grading_message(submission: Submission) -> bool:
    """Publish the grading hint now; False (and a log line) if the broker is unreachable:
    the row stays queued and the sweeper sends it again later.

    Never with a countdown: a delayed message waits in the memory of the worker that
    received it and is lost with it. A retry waits in the row (`retry_not_before`)."""
    try:
        celery_app.signature(GRADE_TASK).apply_async(
            (submission.pk,),
            queue=submission.queue or QUEUE_SHORT,
            priority=submission.priority,
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2},
        )
    except Exception:  # noqa: BLE001 - any broker failure: the sweeper is the way out
        logger.warning(
            "could not send grading message for submission %s", submission.pk, exc_info=True
        )
        return False
    return True


def enqueue_on_commit(submission: Submission) -> None:
    """Send the message only once the row that it points at is committed."""
    transaction.on_commit(lambda: send_grading_message(submission))


INTEGRITY_CHECK_TASK = "hackathon.integrity.tasks.check_submission"


def send_integrity_check(submission_id: int) -> None:
    """Ask the default queue for the integrity check of a graded submission (sent by name:
    the integrity app sits above this one). A hint only: if the broker is unreachable,
    the integrity sweep finds the submission unchecked and checks it."""
    try:
        celery_app.signature(INTEGRITY_CHECK_TASK).apply_async(
            (submission_id,),
            queue="default",
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2},
        )
    except Exception:  # noqa: BLE001 - any broker failure: the sweep is the way out
        logger.warning("could not send the integrity check of %s", submission_id, exc_info=True)
