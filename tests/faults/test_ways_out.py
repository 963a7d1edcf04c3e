"""Every non-terminal state has a way out, and workers show they are alive."""

from __future__ import annotations

import time

import pytest
from hackathon.submissions.models import State, Submission, WorkerHeartbeat
from hackathon.submissions.services import quota_usage, submission_create

from tests.faults.conftest import Sweeper, WorkerPool
from tests.faults.factories import make_challenge, make_teams, sleepy_solution, wait_for_state
from tests.faults.harness import still_running, wait_until

pytestmark = pytest.mark.slow


@pytest.mark.django_db(transaction=True)
def test_submission_whose_workers_keep_dying_ends_as_internal_error_after_max_attempts(
    workers: WorkerPool, sweeper: Sweeper, settings: object
) -> None:
    settings.GRADING_MAX_ATTEMPTS = 2  # type: ignore[attr-defined]
    challenge = make_challenge("keeps-dying", time_limit_s=30)
    ((user, team),) = make_teams(1)
    submission = submission_create(challenge=challenge, user=user, code=sleepy_solution(20))
    for attempt, name in enumerate(("first-victim", "second-victim"), start=1):
        worker = workers.start(name=name)
        wait_until(
            lambda name=name: Submission.objects.filter(
                pk=submission.pk, state=State.RUNNING, worker=name
            ).exists(),
            timeout=120,
            message=lambda worker=worker: f"attempt on {worker.name}:\n{worker.log_tail()}",
        )
        assert Submission.objects.get(pk=submission.pk).attempts == attempt
        victims = worker.kill_everything()
        wait_until(lambda victims=victims: not still_running(victims), timeout=30)
        if attempt == 1:
            wait_for_state(submission.pk, State.QUEUED, timeout=60, poll=sweeper)

    ended = wait_for_state(submission.pk, State.FINISHED, timeout=60, poll=sweeper)
    assert ended.verdict == "internal_error"
    assert not ended.counts_toward_quota
    assert "second-victim" in ended.last_error
    assert submission.pk in sweeper.failed
    assert quota_usage(team=team, challenge=challenge).daily_used == 0


@pytest.mark.django_db(transaction=True)
def test_worker_heartbeat_advances_while_it_lives_and_stops_when_it_dies(
    workers: WorkerPool,
) -> None:
    worker = workers.start(name="beating")
    row = wait_until(
        lambda: WorkerHeartbeat.objects.filter(name="beating").first(),
        timeout=60,
        message="the worker's heartbeat row",
    )
    assert row.sandbox_level in ("strong", "standard", "degraded")
    assert "grading" in row.queues
    first_seen = row.last_seen
    wait_until(
        lambda: WorkerHeartbeat.objects.get(name="beating").last_seen > first_seen,
        timeout=30,
        message="a later heartbeat",
    )
    worker.kill_everything()
    time.sleep(1.0)
    last = WorkerHeartbeat.objects.get(name="beating").last_seen
    time.sleep(2.0)
    assert WorkerHeartbeat.objects.get(name="beating").last_seen == last
