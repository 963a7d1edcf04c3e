"""The grader's settings and limits through a real grading worker: a setting that cannot work
makes the worker refuse grading work and say which setting and the fix, in its log (one line,
no traceback) and on the dashboard's worker row; a working one enforces the memory limit by
the kernel."""

from __future__ import annotations

import os

import pytest
from hackathon.submissions.models import State, WorkerHeartbeat
from hackathon.submissions.services import submission_create

from tests.faults.conftest import WorkerPool
from tests.faults.factories import make_challenge, make_teams, wait_for_state
from tests.faults.harness import wait_until

pytestmark = pytest.mark.slow

CASES = {
    "bad-bwrap": (
        {"GRADER_BWRAP": "/nonexistent/bwrap"},
        "GRADER_BWRAP=/nonexistent/bwrap names no file: unset it",
    ),
    "bad-state": (
        {"GRADER_STATE_DIR": "/proc/hackathon-state"},
        "GRADER_STATE_DIR=/proc/hackathon-state is not writable",
    ),
    "bad-uids": (
        {"GRADER_UID_BASE": "65534", "GRADER_SLOTS": "1"},
        "GRADER_UID_BASE=65534 GRADER_SLOTS=1: uid 65534 belongs to the user 'nobody'",
    ),
    "bad-cgroup": (
        {"GRADER_CGROUP": "required", "GRADER_CGROUP_PARENT": "/hackathon-missing-parent"},
        "GRADER_CGROUP=required but no writable memory cgroup",
    ),
}


@pytest.mark.django_db(transaction=True)
def test_each_bad_grader_setting_makes_the_worker_refuse_and_name_it(workers: WorkerPool) -> None:
    if os.geteuid() != 0:
        pytest.skip("sandbox uids are leased only as root")
    started = {name: workers.start(name=name, env=env) for name, (env, _) in CASES.items()}
    for name, (_, expected) in CASES.items():
        row = wait_until(
            lambda name=name: WorkerHeartbeat.objects.filter(name=name).first(),
            timeout=90,
            message=lambda name=name: f"the heartbeat row of {name}:\n{started[name].log_tail()}",
        )
        assert not row.accepts_work, name
        assert expected in row.sandbox_detail, (name, row.sandbox_detail)
        log = started[name].log_tail(400)
        assert "Traceback" not in log, log
        lines = [line for line in log.splitlines() if expected in line]
        assert len(lines) == 1, log
        assert "refuses to grade" in lines[0]


FLOOD = """
import numpy as np

class Model:
    def fit(self, X, y):
        for directory in ("/tmp", "/work"):
            for i in range(16):
                try:
                    with open(f"{directory}/fill{i}", "wb") as f:
                        for _ in range(32):
                            f.write(b"x" * (1 << 20))
                except OSError:
                    break
        self.mean = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean)
"""


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_stops_files_beyond_the_memory_limit_by_its_cgroup(
    workers: WorkerPool,
) -> None:
    """Two tmpfs directories, each under its own size cap, together past the memory limit."""
    challenge = make_challenge("tmpfs-flood", time_limit_s=20)
    challenge.memory_mb = 256
    challenge.save(update_fields=["memory_mb"])
    ((user, _),) = make_teams(1)
    workers.start(name="kernel-limits")
    row = wait_until(
        lambda: WorkerHeartbeat.objects.filter(name="kernel-limits", accepts_work=True).first(),
        timeout=90,
        message="the worker's heartbeat row",
    )
    if "cgroup" not in row.sandbox_detail or "watchdog" in row.sandbox_detail:
        pytest.fail(f"the worker has no memory cgroup here: {row.sandbox_detail}")
    submission = submission_create(challenge=challenge, user=user, code=FLOOD)
    graded = wait_for_state(submission.pk, State.FINISHED, timeout=120)
    assert graded.verdict == "memory_limit", (graded.verdict, graded.message)
    assert "reached the 256 MiB memory limit" in graded.message
    assert "kernel" in graded.message
