"""The worker's scratch disk unwritable or full: an internal error, retried elsewhere,
never blamed on the team.

What a grading run writes on the worker's disk: the dataset cache (DATASET_CACHE_DIR, on
the first run of a challenge) and the sandbox's state (GRADER_STATE_DIR: its private
runtime and slot locks). The solution itself writes only to a tmpfs inside the sandbox.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hackathon.submissions.models import State, Submission, WorkerHeartbeat
from hackathon.submissions.services import quota_usage, submission_create

from tests.faults.conftest import WorkerPool
from tests.faults.factories import TRIVIAL, make_challenge, make_teams, wait_for_state
from tests.faults.harness import SmallTmpfs, can_mount_tmpfs, make_unwritable_path, wait_until

pytestmark = pytest.mark.slow


def _first_attempt_failed_on(submission_id: int, worker: str) -> bool:
    submission = Submission.objects.get(pk=submission_id)
    return worker in submission.last_error or (
        submission.state == State.FINISHED and submission.verdict == "internal_error"
    )


@pytest.mark.django_db(transaction=True)
def test_unwritable_scratch_is_an_internal_error_retried_on_a_healthy_worker(
    workers: WorkerPool, tmp_path: Path
) -> None:
    """With the default number of attempts, while a healthy worker is idle."""
    challenge = make_challenge("scratch-retry", time_limit_s=20)
    ((user, team),) = make_teams(1)
    broken = workers.start(name="broken-disk", disk=make_unwritable_path(tmp_path))
    healthy = workers.start(name="healthy-disk")
    # The first attempt must land on the broken worker: hold the healthy one meanwhile.
    healthy.pause()
    time.sleep(2.5)
    submission = submission_create(challenge=challenge, user=user, code=TRIVIAL)
    wait_until(
        lambda: _first_attempt_failed_on(submission.pk, "broken-disk"),
        timeout=120,
        message=lambda: f"the broken worker's attempt:\n{broken.log_tail()}",
    )
    healthy.resume()
    seen = Submission.objects.get(pk=submission.pk)
    assert seen.verdict in ("", "scored"), "a platform fault is not a verdict on the team"

    graded = wait_for_state(submission.pk, State.FINISHED, timeout=180)
    assert graded.verdict == "scored", (
        f"{graded.verdict} after {graded.attempts} attempts, "
        f"all on the broken worker while a healthy one was idle: {graded.last_error}"
    )
    assert graded.worker == "healthy-disk"
    assert graded.attempts >= 2
    assert quota_usage(team=team, challenge=challenge).daily_used == 1


@pytest.mark.django_db(transaction=True)
def test_unwritable_scratch_on_every_attempt_ends_as_a_refunded_internal_error(
    workers: WorkerPool, tmp_path: Path
) -> None:
    challenge = make_challenge("scratch-final", time_limit_s=20)
    ((user, team),) = make_teams(1)
    workers.start(
        name="always-broken",
        disk=make_unwritable_path(tmp_path),
        env={"GRADING_MAX_ATTEMPTS": "2"},
    )
    submission = submission_create(challenge=challenge, user=user, code=TRIVIAL)
    ended = wait_for_state(submission.pk, State.FINISHED, timeout=180)
    assert ended.verdict == "internal_error"
    assert ended.attempts == 2
    assert not ended.counts_toward_quota
    assert "not counted" in ended.message
    assert "always-broken" in ended.last_error
    assert quota_usage(team=team, challenge=challenge).daily_used == 0


@pytest.mark.django_db(transaction=True)
def test_full_dataset_disk_uses_no_attempt_and_is_not_the_teams_fault(
    workers: WorkerPool, tmp_path: Path
) -> None:
    """The worker sees the full disk before claiming: it passes the run on, says why, and
    the submission waits (tests/faults/test_recovery.py: graded once space is freed)."""
    if not can_mount_tmpfs(tmp_path):
        pytest.skip("a small tmpfs needs root (mount)")
    disk = SmallTmpfs(tmp_path / "tiny", size_kb=64)
    disk.mount()
    try:
        disk.fill()
        challenge = make_challenge("scratch-full", time_limit_s=20)
        ((user, team),) = make_teams(1)
        workers.start(name="full-disk", disk=disk.path, env={"GRADING_MAX_ATTEMPTS": "2"})
        submission = submission_create(challenge=challenge, user=user, code=TRIVIAL)
        note = wait_until(
            lambda: WorkerHeartbeat.objects.get(name="full-disk").declining,
            timeout=60,
            message="the worker saying why it passes work on",
        )
        assert "dataset cache" in note
        time.sleep(6)  # past one 5 s pause: passed on again, still no attempt
        waiting = Submission.objects.get(pk=submission.pk)
        assert (waiting.state, waiting.attempts, waiting.verdict) == (State.QUEUED, 0, "")
        assert quota_usage(team=team, challenge=challenge).in_flight == 1
    finally:
        workers.shutdown()
        disk.unmount()


@pytest.mark.django_db(transaction=True)
def test_worker_whose_sandbox_state_dir_is_unwritable_refuses_work_and_says_why(
    workers: WorkerPool, tmp_path: Path
) -> None:
    challenge = make_challenge("state-dir", time_limit_s=20)
    ((user, _),) = make_teams(1)
    workers.start(name="no-state", env={"GRADER_STATE_DIR": str(make_unwritable_path(tmp_path))})
    row = wait_until(
        lambda: WorkerHeartbeat.objects.filter(name="no-state").first(),
        timeout=60,
        message="the refusing worker's heartbeat row",
    )
    assert not row.accepts_work
    assert "refuses" in row.sandbox_detail
    submission = submission_create(challenge=challenge, user=user, code=TRIVIAL)
    time.sleep(3.0)
    assert Submission.objects.get(pk=submission.pk).state == State.QUEUED

    workers.start(name="has-state")
    graded = wait_for_state(submission.pk, State.FINISHED, timeout=120)
    assert graded.verdict == "scored"
    assert graded.worker == "has-state"
    assert graded.attempts == 1
