"""A grader setting that cannot work: the worker starts, refuses grading work, and says which
setting and the fix, in its log (one line, no traceback) and on the dashboard's worker row."""

from __future__ import annotations

import os

import pytest
from hackathon.submissions.models import WorkerHeartbeat

from tests.faults.conftest import WorkerPool
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
