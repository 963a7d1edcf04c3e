"""The pipeline with real processes: a Celery worker OS process, Redis, the bwrap sandbox,
and the test database (committed transactions, so the worker sees the rows)."""

from __future__ import annotations

import numpy as np
import pytest
from django.utils import timezone
from hackathon.challenges.models import Challenge
from hackathon.leaderboard.models import TeamScore
from hackathon.submissions.models import State, Submission, Verdict, WorkerHeartbeat
from hackathon.submissions.scheduling import send_grading_message
from hackathon.submissions.services import submission_create
from hackathon.submissions.sweeper import pending_message_submission_ids, requeue_stale_submissions

from tests.submissions.conftest import (
    GD_SOLUTION,
    LINEAR_SOLUTION,
    SLOW_SOLUTION,
    requires_grader,
    wait_for,
)

pytestmark = [pytest.mark.slow, requires_grader]


def _finished(pk: int) -> Submission | None:
    sub = Submission.objects.get(pk=pk)
    return sub if sub.state == State.FINISHED else None


def _expected_public_rmse(challenge: Challenge) -> float:
    def load(blob) -> np.ndarray:
        import io

        return np.load(io.BytesIO(bytes(blob.data)), allow_pickle=False)

    X, y = load(challenge.train_X), load(challenge.train_y)
    tX, ty, mask = load(challenge.test_X), load(challenge.test_y), load(challenge.public_mask)
    w = np.linalg.lstsq(np.hstack([X, np.ones((len(X), 1))]), y, rcond=None)[0]
    pred = np.hstack([tX, np.ones((len(tX), 1))]) @ w
    return float(np.sqrt(np.mean((pred[mask] - ty[mask]) ** 2)))


def test_a_submission_is_graded_scored_and_ranked_by_a_real_worker(
    start_worker, make_challenge, member_a, team_a
) -> None:
    worker = start_worker("grader-e2e")
    challenge = make_challenge()
    sub = submission_create(challenge=challenge, user=member_a, code=GD_SOLUTION.format(epochs=50))
    done = wait_for(lambda: _finished(sub.pk), what=f"grading of #{sub.pk}\n{worker.log()}")
    assert done.verdict == Verdict.SCORED, (done.message, done.stderr)
    assert done.attempts == 1
    assert done.public_score is not None and done.private_score is not None
    assert len(done.loss_curve) == 50 and done.loss_curve[-1] < done.loss_curve[0]
    assert done.fit_seconds is not None and done.sandbox_level in {"strong", "standard"}
    assert done.worker.startswith("grader-e2e@")
    score = TeamScore.objects.get(challenge=challenge, team=team_a)
    # The board holds the score as it publishes it: at display precision (5 digits).
    assert score.best_submission_id == sub.pk
    assert score.best_score == float(f"{done.public_score:.5g}")
    heartbeat = WorkerHeartbeat.objects.get(name=done.worker)
    assert heartbeat.accepts_work and heartbeat.sandbox_level == done.sandbox_level

    exact = submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    graded = wait_for(lambda: _finished(exact.pk), what="second grading")
    assert graded.public_score == pytest.approx(_expected_public_rmse(challenge), rel=1e-6)


def test_a_duplicate_delivery_does_nothing(start_worker, make_challenge, member_a, team_a) -> None:
    worker = start_worker("grader-dup")
    sub = submission_create(challenge=make_challenge(), user=member_a, code=LINEAR_SOLUTION)
    first = wait_for(lambda: _finished(sub.pk), what=f"grading\n{worker.log()}")
    send_grading_message(first)
    send_grading_message(first)
    wait_for(lambda: worker.log(400).count("nothing to claim") >= 2, what="duplicates handled")
    again = Submission.objects.get(pk=sub.pk)
    assert (again.attempts, again.finished_at, again.claim_token) == (
        1,
        first.finished_at,
        first.claim_token,
    )


def test_a_worker_killed_mid_grade_leads_to_exactly_one_result(
    start_worker, make_challenge, member_a, team_a, settings
) -> None:
    settings.WORKER_HEARTBEAT_TIMEOUT_S = 3
    challenge = make_challenge(time_limit_s=60)
    doomed = start_worker("grader-doomed")
    sub = submission_create(
        challenge=challenge, user=member_a, code=SLOW_SOLUTION.format(seconds=3)
    )
    wait_for(
        lambda: Submission.objects.filter(pk=sub.pk, state=State.RUNNING).exists(),
        what=f"grading to start\n{doomed.log()}",
    )
    doomed.kill()
    # The machine is gone: its heartbeat stops; the sweeper gives the submission back.
    wait_for(lambda: requeue_stale_submissions().requeued, timeout=30, what="sweeper requeue")
    survivor = start_worker("grader-survivor")
    done = wait_for(lambda: _finished(sub.pk), timeout=120, what=f"regrade\n{survivor.log()}")
    assert done.verdict == Verdict.SCORED
    assert done.attempts == 2
    assert done.worker.startswith("grader-survivor@")
    assert "stopped sending heartbeats" in done.last_error  # kept for organizers
    assert TeamScore.objects.filter(challenge=challenge, team=team_a).count() == 1
    assert TeamScore.objects.get(challenge=challenge, team=team_a).entries == 1


def test_a_pool_child_killed_mid_grade_is_regraded_at_once_on_redelivery(
    start_worker, make_challenge, member_a, team_a
) -> None:
    import os
    import signal

    import psutil

    challenge = make_challenge(time_limit_s=60)
    worker = start_worker("grader-prefork", pool="prefork")
    sub = submission_create(
        challenge=challenge, user=member_a, code=SLOW_SOLUTION.format(seconds=3)
    )
    running = wait_for(
        lambda: Submission.objects.filter(pk=sub.pk, state=State.RUNNING).first(),
        what=f"grading to start\n{worker.log()}",
    )
    child = psutil.Process(running.worker_pid)
    assert child.ppid() == worker.process.pid  # the pool child, not the main process
    os.kill(running.worker_pid, signal.SIGKILL)
    done = wait_for(lambda: _finished(sub.pk), timeout=120, what=f"regrade\n{worker.log()}")
    assert done.verdict == Verdict.SCORED
    assert done.attempts == 2
    assert done.worker_pid != running.worker_pid
    assert TeamScore.objects.get(challenge=challenge, team=team_a).entries == 1
    # What the submission page was pushed meanwhile: the curve growing, then the verdict.
    events = _live_events(sub.pk)
    curves = [len(e["data"]["loss_curve"]) for e in events if e["event"] == "progress"]
    assert len(curves) >= 2 and curves[-1] > curves[0]
    finished = [e["data"] for e in events if e["event"] == "finished"]
    assert len(finished) == 1  # one result, one event
    assert finished[0]["verdict"] == "scored" and "private_score" not in finished[0]


def test_a_submission_whose_grading_process_dies_every_time_ends_refunded_at_once(
    start_worker, make_challenge, member_a, team_a
) -> None:
    """As the kernel's OOM killer would on every run of a poison submission: the pool child
    grading it is killed each time; after GRADING_MAX_WORKER_DEATHS (3) deaths it ends as a
    refunded internal error, not after GRADING_RETRY_DEADLINE_S (an hour)."""
    import os
    import signal

    challenge = make_challenge(time_limit_s=60)
    worker = start_worker("grader-poison", pool="prefork")
    sub = submission_create(
        challenge=challenge, user=member_a, code=SLOW_SOLUTION.format(seconds=30)
    )
    killed: list[int] = []
    for _ in range(3):
        running = wait_for(
            lambda: (
                Submission.objects.filter(pk=sub.pk, state=State.RUNNING)
                .exclude(worker_pid__in=killed)
                .first()
            ),
            what=f"attempt {len(killed) + 1} to start\n{worker.log()}",
        )
        os.kill(running.worker_pid, signal.SIGKILL)
        killed.append(running.worker_pid)
    done = wait_for(lambda: _finished(sub.pk), timeout=60, what=f"the end\n{worker.log()}")
    assert (done.verdict, done.worker_deaths, done.attempts) == (Verdict.INTERNAL_ERROR, 3, 3)
    assert done.counts_toward_quota is False
    assert "died 3 times" in done.message and "not counted against your quota" in done.message
    assert f"grading process {killed[-1]} died" in done.last_error
    assert not TeamScore.objects.filter(challenge=challenge, team=team_a).exists()
    # The worker itself lives on and grades the next submission.
    after = submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    graded = wait_for(lambda: _finished(after.pk), timeout=120, what=f"next\n{worker.log()}")
    assert graded.verdict == Verdict.SCORED


def _live_events(submission_id: int) -> list[dict]:
    import json

    import redis
    from django.conf import settings
    from hackathon import live

    client = redis.Redis.from_url(settings.REDIS_URL)
    entries = client.xrange(live.STREAM_PREFIX + live.submission_topic(submission_id))
    return [json.loads(fields[b"p"]) for _, fields in entries]


def test_a_platform_fault_is_retried_then_refunded_never_blamed_on_the_team(
    start_worker, make_challenge, member_a, team_a, tmp_path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("the dataset cache cannot be created under a file")
    worker = start_worker(
        "grader-broken-disk",
        env={
            "DATASET_CACHE_DIR": str(blocker / "datasets"),
            "GRADING_MAX_ATTEMPTS": "2",
            "GRADING_RETRY_BACKOFF_S": "0.2",
            "GRADING_RETRY_DEADLINE_S": "0",  # no held retries: two attempts, then the end
            "SWEEPER_INTERVAL_S": "0.5",  # the worker's own sweep sends the retry
        },
    )
    sub = submission_create(challenge=make_challenge(), user=member_a, code=LINEAR_SOLUTION)
    done = wait_for(lambda: _finished(sub.pk), timeout=120, what=f"retries\n{worker.log()}")
    assert done.verdict == Verdict.INTERNAL_ERROR
    assert done.attempts == 2
    assert done.counts_toward_quota is False
    assert "not counted against your quota" in done.message
    assert "not-a-directory" in done.last_error  # the organizers see the cause


def test_a_worker_below_the_minimum_sandbox_level_refuses_to_grade_and_says_why(
    start_worker, make_challenge, member_a, team_a
) -> None:
    worker = start_worker("grader-weak", env={"GRADER_BWRAP": "/nonexistent/bwrap"})
    heartbeat = wait_for(
        lambda: WorkerHeartbeat.objects.filter(name__startswith="grader-weak@").first(),
        what="heartbeat",
    )
    assert not heartbeat.accepts_work
    assert "refuses to grade" in heartbeat.sandbox_detail
    assert "grading" not in heartbeat.queues.split(",")
    sub = submission_create(challenge=make_challenge(), user=member_a, code=LINEAR_SOLUTION)
    before = heartbeat.last_seen
    wait_for(
        lambda: WorkerHeartbeat.objects.get(pk=heartbeat.pk).last_seen > before,
        what="a heartbeat after the submission",
    )
    assert Submission.objects.get(pk=sub.pk).state == State.QUEUED
    assert sub.pk in pending_message_submission_ids()  # still waiting for a capable worker
    assert "Task hackathon.submissions.tasks.grade_submission" not in worker.log(400)


def test_one_teams_burst_does_not_go_before_another_teams_first_submission(
    start_worker, make_challenge, member_a, team_a, member_b, team_b
) -> None:
    challenge = make_challenge(inflight_cap=3)
    a1 = submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    a2 = submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    a3 = submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    b1 = submission_create(challenge=challenge, user=member_b, code=LINEAR_SOLUTION)
    start_worker("grader-fair")
    ids = [a1.pk, a2.pk, a3.pk, b1.pk]
    wait_for(lambda: all(_finished(pk) for pk in ids), timeout=120, what="all graded")
    order = list(
        Submission.objects.filter(pk__in=ids).order_by("started_at").values_list("pk", flat=True)
    )
    assert order == [a1.pk, b1.pk, a2.pk, a3.pk]
    assert timezone.now() > Submission.objects.get(pk=a3.pk).finished_at
