"""PostgreSQL unreachable for a few seconds during grading: the worker waits it out."""

from __future__ import annotations

import time

import pytest
from hackathon.leaderboard.models import TeamScore
from hackathon.submissions.models import State, Submission
from hackathon.submissions.services import submission_create

from tests.faults.conftest import LiveEvents, WorkerPool
from tests.faults.factories import (
    TRIVIAL,
    make_challenge,
    make_teams,
    sleepy_solution,
    wait_for_state,
)
from tests.faults.harness import wait_until

pytestmark = pytest.mark.slow

OUTAGE_S = 6.0


@pytest.mark.django_db(transaction=True)
def test_database_cut_off_while_the_solution_runs_ends_with_one_correct_result(
    workers: WorkerPool, live_events: LiveEvents
) -> None:
    challenge = make_challenge("pg-outage", time_limit_s=30)
    ((user, team),) = make_teams(1)
    worker = workers.start(name="patient")
    proxy = workers.proxy_of(worker)
    submission = submission_create(challenge=challenge, user=user, code=sleepy_solution(2))
    wait_for_state(submission.pk, State.RUNNING, timeout=120)
    wait_until(
        lambda: any(child.children(recursive=True) for child in worker.pool_children()),
        timeout=60,
        message="the sandbox to start",
    )

    proxy.cut()
    cut_at = time.monotonic()
    # The result is ready while the database is away: the worker must hold on to it.
    time.sleep(OUTAGE_S)
    assert Submission.objects.get(pk=submission.pk).state == State.RUNNING
    proxy.restore()

    graded = wait_for_state(submission.pk, State.FINISHED, timeout=120)
    assert time.monotonic() - cut_at >= OUTAGE_S
    assert graded.verdict == "scored", (graded.verdict, graded.message, graded.last_error)
    assert graded.attempts == 1
    assert graded.counts_toward_quota
    assert TeamScore.objects.get(challenge=challenge, team=team).entries == 1
    wait_until(lambda: live_events.on(f"submission:{submission.pk}", "finished"), timeout=10)
    time.sleep(0.5)
    assert len(live_events.on(f"submission:{submission.pk}", "finished")) == 1
    assert worker.is_alive()


@pytest.mark.django_db(transaction=True)
def test_database_unreachable_when_the_message_arrives_is_retried_until_it_is_back(
    workers: WorkerPool,
) -> None:
    challenge = make_challenge("pg-down-at-claim", time_limit_s=20)
    ((user, _),) = make_teams(1)
    worker = workers.start(name="early")
    proxy = workers.proxy_of(worker)
    proxy.cut()
    submission = submission_create(challenge=challenge, user=user, code=TRIVIAL)
    time.sleep(OUTAGE_S)
    assert Submission.objects.get(pk=submission.pk).state == State.QUEUED
    proxy.restore()

    graded = wait_for_state(submission.pk, State.FINISHED, timeout=120)
    assert graded.verdict == "scored", (graded.verdict, graded.message, graded.last_error)
    assert graded.attempts == 1
    assert graded.worker == "early"


@pytest.mark.django_db(transaction=True)
def test_worker_machine_off_the_network_for_a_while_mid_grade_ends_with_one_result(
    workers: WorkerPool, live_events: LiveEvents
) -> None:
    """Packets lost rather than refused: TCP retransmits, nothing errors, the worker waits."""
    if not workers.namespaces:
        pytest.skip("needs the worker in its own network namespace (root, ip netns)")
    challenge = make_challenge("partition", time_limit_s=30)
    ((user, team),) = make_teams(1)
    worker = workers.start(name="islanded")
    submission = submission_create(challenge=challenge, user=user, code=sleepy_solution(2))
    wait_for_state(submission.pk, State.RUNNING, timeout=120)
    wait_until(
        lambda: any(child.children(recursive=True) for child in worker.pool_children()),
        timeout=60,
        message="the sandbox to start",
    )
    assert worker.netns is not None
    worker.netns.partition()
    try:
        time.sleep(OUTAGE_S)
        assert Submission.objects.get(pk=submission.pk).state == State.RUNNING
    finally:
        worker.netns.heal()

    graded = wait_for_state(submission.pk, State.FINISHED, timeout=180)
    assert graded.verdict == "scored", (graded.verdict, graded.message, graded.last_error)
    assert graded.attempts == 1
    assert TeamScore.objects.get(challenge=challenge, team=team).entries == 1
    wait_until(lambda: live_events.on(f"submission:{submission.pk}", "finished"), timeout=30)
    time.sleep(0.5)
    assert len(live_events.on(f"submission:{submission.pk}", "finished")) == 1
    assert worker.is_alive()
