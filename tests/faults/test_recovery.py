"""Recovery without anyone acting: a retry held through a worker's death, a full dataset
disk, and recovery with neither beat nor the default queue's worker.

Real processes: grading workers, beat and the default worker as Celery processes, a
private Redis, PostgreSQL, a small tmpfs as the dataset disk.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from hackathon.challenges.models import Challenge
from hackathon.leaderboard.models import TeamScore
from hackathon.submissions.models import State, Submission, WorkerHeartbeat
from hackathon.submissions.selectors import organizer_dashboard
from hackathon.submissions.services import submission_create

from tests.faults.conftest import WorkerPool
from tests.faults.factories import (
    TRIVIAL,
    make_challenge,
    make_teams,
    sleepy_solution,
    wait_for_state,
)
from tests.faults.harness import SmallTmpfs, can_mount_tmpfs, wait_until

pytestmark = pytest.mark.slow


def _row(pk: int) -> Submission:
    return Submission.objects.get(pk=pk)


@pytest.mark.django_db(transaction=True)
def test_a_retry_waiting_when_its_worker_is_killed_is_still_made(workers: WorkerPool) -> None:
    """Issue case 1: a failing metric, a 40 s backoff, the worker killed during it."""
    challenge = make_challenge("held-retry", time_limit_s=20)
    Challenge.objects.filter(pk=challenge.pk).update(metric="no-such-metric")
    ((user, _),) = make_teams(1)
    held = {"GRADING_RETRY_BACKOFF_S": "40", "GRADING_RETRY_DEADLINE_S": "3600"}
    workers.start_beat(env={**held, "SWEEPER_INTERVAL_S": "5"})
    worker = workers.start(name="retrying", env={**held, "SWEEPER_INTERVAL_S": "5"})
    submission = submission_create(challenge=challenge, user=user, code=TRIVIAL)
    wait_until(
        lambda: _row(submission.pk).attempts == 1 and _row(submission.pk).state == State.QUEUED,
        timeout=120,
        message=lambda: f"the first failed attempt:\n{worker.log_tail()}",
    )
    failed_at = time.monotonic()
    worker.kill_celery_processes()
    workers.start(name="retrying", env={**held, "SWEEPER_INTERVAL_S": "5"})
    wait_until(
        lambda: _row(submission.pk).attempts >= 2,
        timeout=120,
        message=lambda: f"the second attempt (row: {_row(submission.pk).__dict__})",
    )
    waited = time.monotonic() - failed_at
    assert 35 < waited < 40 + 45, f"attempt 2 came {waited:.0f} s after attempt 1"
    row = _row(submission.pk)
    assert row.verdict == "" and row.counts_toward_quota  # still held, never the team's fault
    assert "no-such-metric" in row.last_error


def _dataset_disk(tmp_path: Path) -> SmallTmpfs:
    if not can_mount_tmpfs(tmp_path):
        pytest.skip("a small tmpfs needs root (mount)")
    disk = SmallTmpfs(tmp_path / "cache-disk", size_kb=2048)
    disk.mount()
    (disk.path / "datasets").mkdir()
    # 512 kB left free.
    (disk.path / "filler").write_bytes(b"\0" * (1536 * 1024))
    return disk


def _big_challenge(slug: str) -> Challenge:
    # About 3.5 MB of data: 110 000 rows of 3 float64 features and a target.
    return make_challenge(slug, time_limit_s=30, n_train=80_000, n_test=30_000)


@pytest.mark.django_db(transaction=True)
def test_a_full_dataset_disk_passes_work_on_and_grades_it_once_space_is_freed(
    workers: WorkerPool, tmp_path: Path
) -> None:
    """Issue case 2: DATASET_CACHE_DIR on a 2 MB tmpfs with 512 kB free, 3.5 MB of data."""
    disk = _dataset_disk(tmp_path)
    try:
        challenge = _big_challenge("full-cache")
        ((user, team),) = make_teams(1)
        worker = workers.start(name="small-disk", disk=disk.path)
        submission = submission_create(challenge=challenge, user=user, code=TRIVIAL)
        declining = wait_until(
            lambda: WorkerHeartbeat.objects.filter(name="small-disk").exclude(declining="").first(),
            timeout=60,
            message=lambda: f"the worker saying it passes work on:\n{worker.log_tail()}",
        )
        assert "dataset cache" in declining.declining and "full-cache" in declining.declining
        board = organizer_dashboard()
        assert [r.worker.name for r in board.declining] == ["small-disk"]
        time.sleep(6)  # past one 5 s pause: it passes the run on again, never failing it
        row = _row(submission.pk)
        assert (row.state, row.attempts, row.verdict) == (State.QUEUED, 0, "")

        # Space is freed (the disk grows): the same worker takes the run.
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk.path)], check=True, timeout=20)
        graded = wait_for_state(submission.pk, State.FINISHED, timeout=120)
        assert graded.verdict == "scored", (graded.verdict, graded.last_error)
        assert (graded.attempts, graded.worker) == (1, "small-disk")
        assert TeamScore.objects.get(challenge=challenge, team=team).entries == 1
        wait_until(
            lambda: not WorkerHeartbeat.objects.get(name="small-disk").declining,
            timeout=10,
            message="the dashboard note cleared",
        )
    finally:
        workers.shutdown()
        disk.unmount()


@pytest.mark.django_db(transaction=True)
def test_a_worker_without_space_leaves_the_run_to_one_with_space(
    workers: WorkerPool, tmp_path: Path
) -> None:
    disk = _dataset_disk(tmp_path)
    try:
        challenge = _big_challenge("other-worker")
        ((user, _),) = make_teams(1)
        workers.start(name="small-disk", disk=disk.path)
        roomy = workers.start(name="roomy")
        roomy.pause()  # the first delivery goes to the worker without space
        submission = submission_create(challenge=challenge, user=user, code=TRIVIAL)
        wait_until(
            lambda: (
                WorkerHeartbeat.objects.filter(name="small-disk").exclude(declining="").exists()
            ),
            timeout=60,
            message="the small disk passing the run on",
        )
        roomy.resume()
        graded = wait_for_state(submission.pk, State.FINISHED, timeout=120)
        assert (graded.verdict, graded.worker, graded.attempts) == ("scored", "roomy", 1)
    finally:
        workers.shutdown()
        disk.unmount()


@pytest.mark.django_db(transaction=True)
def test_without_beat_a_dead_workers_run_is_back_in_the_queue_within_30_s(
    workers: WorkerPool,
) -> None:
    """No beat, no default-queue worker: the grading workers sweep, with default timings."""
    defaults = {
        "WORKER_HEARTBEAT_INTERVAL_S": "5",
        "WORKER_HEARTBEAT_TIMEOUT_S": "20",
        "SWEEPER_INTERVAL_S": "10",
        "GRADING_QUEUED_GRACE_S": "20",
    }
    challenge = make_challenge("no-beat", time_limit_s=30)
    ((user, team),) = make_teams(1)
    doomed = workers.start(name="doomed", env=defaults)
    survivor = workers.start(name="survivor", env=defaults)
    survivor.pause()  # the run starts on the doomed worker
    submission = submission_create(challenge=challenge, user=user, code=sleepy_solution(6))
    wait_until(
        lambda: _row(submission.pk).state == State.RUNNING,
        timeout=120,
        message=lambda: f"the run on the doomed worker:\n{doomed.log_tail()}",
    )
    survivor.resume()
    doomed.kill_everything()
    killed_at = time.monotonic()
    wait_until(
        lambda: _row(submission.pk).worker == "survivor" or _row(submission.pk).state == "queued",
        timeout=90,
        interval=0.5,
        message=lambda: f"the run back in the queue:\n{survivor.log_tail()}",
    )
    back_after = time.monotonic() - killed_at
    graded = wait_for_state(submission.pk, State.FINISHED, timeout=120)
    assert (graded.verdict, graded.worker) == ("scored", "survivor")
    assert TeamScore.objects.get(challenge=challenge, team=team).entries == 1
    # 20 s of silence + at most one 10 s interval; a loaded machine gets 10 s more.
    assert back_after < 40, f"back in the queue {back_after:.0f} s after the kill"
    assert "swept" in survivor.log_tail(400)
