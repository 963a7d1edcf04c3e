"""A grading worker killed with SIGKILL mid-grade: graded again, exactly one result."""

from __future__ import annotations

import time

import pytest
from hackathon.leaderboard.models import TeamScore
from hackathon.submissions.models import State, Submission
from hackathon.submissions.services import submission_create

from tests.faults.conftest import LiveEvents, Sweeper, WorkerPool
from tests.faults.factories import make_challenge, make_teams, sleepy_solution, wait_for_state
from tests.faults.harness import WorkerProcess, describe, still_running, wait_until

pytestmark = pytest.mark.slow

GRADE_TIMEOUT = 120


def _wait_mid_grade(submission_id: int, worker: WorkerProcess) -> None:
    """Until the submission runs on `worker` and its sandbox has started below it."""
    wait_for_state(submission_id, State.RUNNING, timeout=GRADE_TIMEOUT)

    def sandbox_started() -> bool:
        return any(child.children(recursive=True) for child in worker.pool_children())

    wait_until(sandbox_started, timeout=60, message=lambda: f"a sandbox below {worker.name}")
    time.sleep(1.0)  # well inside fit()
    assert Submission.objects.get(pk=submission_id).state == State.RUNNING


def _assert_exactly_one_result(submission: Submission, live_events: LiveEvents) -> None:
    assert submission.state == State.FINISHED
    assert submission.verdict == "scored", (submission.verdict, submission.message)
    assert submission.counts_toward_quota
    score = TeamScore.objects.get(challenge=submission.challenge, team=submission.team)
    assert score.entries == 1
    assert score.best_submission_id == submission.pk
    wait_until(
        lambda: live_events.on(f"submission:{submission.pk}", "finished"),
        timeout=10,
        message="the finished event",
    )
    time.sleep(1.0)  # a duplicate would arrive right behind it
    assert len(live_events.on(f"submission:{submission.pk}", "finished")) == 1
    assert len(live_events.on(f"challenge:{submission.challenge_id}", "leaderboard")) == 1


@pytest.mark.django_db(transaction=True)
def test_worker_machine_killed_mid_grade_is_graded_again_once_by_another_worker(
    workers: WorkerPool, live_events: LiveEvents, sweeper: Sweeper
) -> None:
    challenge = make_challenge("killed-machine", time_limit_s=30)
    ((user, team),) = make_teams(1)
    first = workers.start(name="doomed")
    submission = submission_create(challenge=challenge, user=user, code=sleepy_solution(4))
    _wait_mid_grade(submission.pk, first)
    assert Submission.objects.get(pk=submission.pk).worker == "doomed"

    killed, sandbox = first.kill_celery_processes()
    assert sandbox, "the solution was running below the pool process"
    # Nobody kills the sandbox: it must notice that its parent died and end by itself.
    wait_until(
        lambda: not still_running([*killed, *sandbox]),
        timeout=30,
        message=lambda: f"the orphaned sandbox to end: {describe(still_running(sandbox))}",
    )

    workers.start(name="survivor")
    graded = wait_for_state(submission.pk, State.FINISHED, timeout=GRADE_TIMEOUT, poll=sweeper)
    assert submission.pk in sweeper.requeued
    assert graded.worker == "survivor"
    assert graded.attempts == 2
    _assert_exactly_one_result(graded, live_events)


@pytest.mark.django_db(transaction=True)
def test_pool_process_killed_mid_grade_is_graded_again_and_leaves_no_sandbox_running(
    workers: WorkerPool, live_events: LiveEvents, sweeper: Sweeper
) -> None:
    challenge = make_challenge("killed-child", time_limit_s=8)
    ((user, team),) = make_teams(1)
    worker = workers.start(name="lonely")
    submission = submission_create(challenge=challenge, user=user, code=sleepy_solution(3))
    _wait_mid_grade(submission.pk, worker)

    below = [p for child in worker.pool_children() for p in child.children(recursive=True)]
    killed = worker.kill_pool_child()
    wait_until(
        lambda: not still_running([killed, *below]),
        timeout=30,
        message=lambda: (
            f"the sandbox of the killed process to end: {describe(still_running(below))}"
        ),
    )
    assert worker.is_alive(), "the Celery main process replaces a lost pool process"

    graded = wait_for_state(submission.pk, State.FINISHED, timeout=GRADE_TIMEOUT, poll=sweeper)
    assert graded.attempts == 2
    assert graded.worker == "lonely"
    _assert_exactly_one_result(graded, live_events)
