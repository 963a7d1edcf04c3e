"""Two grading workers as separate processes, as on two machines, share the load; and
the queue is fair between teams and between challenges."""

from __future__ import annotations

import math

import pytest
from hackathon.submissions.models import State, Submission
from hackathon.submissions.services import submission_create

from tests.faults.conftest import WorkerPool
from tests.faults.factories import (
    all_finished,
    constant_solution,
    expected_public_rmse,
    make_challenge,
    make_teams,
    sleepy_solution,
    states,
)
from tests.faults.harness import wait_until

pytestmark = pytest.mark.slow


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_separate_machines_both_grade_and_every_score_is_right(
    workers: WorkerPool,
) -> None:
    challenge = make_challenge("scale-out", time_limit_s=20)
    teams = make_teams(4)
    left = workers.start(name="machine-a", wait=False)
    right = workers.start(name="machine-b", wait=False)
    left.wait_ready()
    right.wait_ready()
    values = [round(0.25 * i, 2) for i in range(16)]
    ids = {
        submission_create(
            challenge=challenge, user=teams[i % 4][0], code=constant_solution(value)
        ).pk: value
        for i, value in enumerate(values)
    }
    wait_until(
        lambda: all_finished(list(ids)),
        timeout=240,
        interval=0.5,
        message=lambda: f"all graded ({states(ids)}):\n{workers.logs()}",
    )
    by_worker: dict[str, int] = {}
    for submission in Submission.objects.filter(pk__in=ids):
        assert submission.verdict == "scored", (submission.verdict, submission.message)
        expected = expected_public_rmse(challenge, ids[submission.pk])
        assert math.isclose(submission.public_score, expected, rel_tol=1e-9, abs_tol=1e-12)
        by_worker[submission.worker] = by_worker.get(submission.worker, 0) + 1
    assert set(by_worker) == {"machine-a", "machine-b"}, by_worker
    # Each fetched the data from the database into its own cache: nothing shared on disk.
    for worker in (left, right):
        assert any(worker.cache_dir.rglob("*")), f"{worker.name} has an empty dataset cache"
    assert left.cache_dir != right.cache_dir
    if workers.namespaces:
        assert left.netns is not right.netns


@pytest.mark.django_db(transaction=True)
def test_one_teams_burst_does_not_starve_another_team(workers: WorkerPool) -> None:
    challenge = make_challenge("fair-teams", time_limit_s=20)
    (eager, _), (patient, _) = make_teams(2)
    burst = [
        submission_create(challenge=challenge, user=eager, code=sleepy_solution(0.2)).pk
        for _ in range(12)
    ]
    late = submission_create(challenge=challenge, user=patient, code=sleepy_solution(0.2)).pk
    workers.start(name="only-one")
    wait_until(
        lambda: all_finished([*burst, late]),
        timeout=300,
        interval=0.5,
        message=lambda: f"all graded ({states([*burst, late])}):\n{workers.logs()}",
    )
    late_finished = Submission.objects.get(pk=late).finished_at
    before = Submission.objects.filter(pk__in=burst, finished_at__lt=late_finished).count()
    # The other team's one submission overtakes all but the first few of the burst.
    assert before <= 4, f"{before} of the burst were graded before the other team's one"


@pytest.mark.django_db(transaction=True)
def test_long_runs_of_one_challenge_do_not_block_another_challenge(
    workers: WorkerPool, settings: object
) -> None:
    settings.GRADING_LONG_THRESHOLD_S = 15.0  # type: ignore[attr-defined]
    slow = make_challenge("slow-runs", time_limit_s=40)
    quick = make_challenge("quick-runs", time_limit_s=10)
    teams = make_teams(4)
    long_ids = [
        submission_create(challenge=slow, user=teams[i][0], code=sleepy_solution(8)).pk
        for i in range(3)
    ]
    short_ids = [
        submission_create(challenge=quick, user=teams[i][0], code=sleepy_solution(0.2)).pk
        for i in range(4)
    ]
    assert set(Submission.objects.filter(pk__in=long_ids).values_list("queue", flat=True)) == {
        "grading-long"
    }
    workers.start(name="any-size", queues="grading,grading-long", wait=False)
    workers.start(name="short-only", queues="grading", wait=False)
    for worker in workers.workers:
        worker.wait_ready()
    wait_until(
        lambda: all_finished(short_ids),
        timeout=180,
        interval=0.5,
        message=lambda: f"the quick challenge's runs ({states(short_ids)}):\n{workers.logs()}",
    )
    still_waiting = Submission.objects.filter(pk__in=long_ids).exclude(state=State.FINISHED)
    assert still_waiting.count() >= 2, "the quick runs finished only after the long ones"
