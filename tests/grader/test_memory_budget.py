"""The memory limit is one budget for the whole sandbox: processes and tmpfs files summed.

Each test runs under both mechanisms: the kernel's memory cgroup (what the platform uses where a
cgroup is writable, as here) and the sampling watchdog it falls back to (GRADER_CGROUP=off).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

import grader
from grader.contract import Verdict
from grader.grading import get_sandbox
from grader.sandbox import Sandbox

from .conftest import HOSTILE_IMPORTS, LINEAR

FORKING = LINEAR.replace(
    "        return self\n",
    """        import os, time
        for _ in range(40):
            if os.fork() == 0:
                block = np.ones(60 * 1024 * 1024 // 8)  # 60 MB, touched
                time.sleep(30)
                os._exit(0)
        time.sleep(30)
        return self
""",
    1,
)


@pytest.fixture(scope="module", params=["cgroup", "watchdog"])
def sandbox(request: pytest.FixtureRequest) -> Sandbox:
    base = get_sandbox()
    if request.param == "cgroup":
        assert base.cgroups is not None, f"no memory cgroup here: {base.cgroups_detail}"
        return base
    fallback = Sandbox(replace(base.config, cgroup="off"))
    assert fallback.cgroups is None
    return fallback


def _over_the_limit(message: str, sandbox: Sandbox, limit_mb: int) -> bool:
    if sandbox.cgroups is not None:
        return f"reached the {limit_mb} MiB memory limit" in message and "kernel" in message
    return f"over the {limit_mb} MiB memory limit" in message


def test_forty_children_of_60_mb_exceed_a_256_mib_budget_together(make_job, sandbox) -> None:
    job = make_job(FORKING, allowed=HOSTILE_IMPORTS, time_s=60.0)
    result = grader.grade(job, sandbox=sandbox)
    assert result.verdict is Verdict.MEMORY_LIMIT, result.message
    assert _over_the_limit(result.message, sandbox, 256), result.message
    assert "processes and files" in result.message
    assert result.peak_memory_mb is not None and result.peak_memory_mb >= 250
    # The whole sandbox stops at once (cgroup v1 alone would kill one child at a time).
    assert result.wall_seconds is not None and result.wall_seconds < 25


def test_files_in_tmp_count_against_the_memory_budget(make_job, sandbox) -> None:
    source = LINEAR.replace(
        "        return self\n",
        """        for i in range(10):  # files of 25 MB each: under the file size limit
            with open(f"/tmp/fill{i}", "wb") as f:
                for _ in range(25):
                    f.write(b"x" * 1024 * 1024)
        self.block = np.ones(160 * 1024 * 1024 // 8)
        import time
        time.sleep(30)
        return self
""",
        1,
    )
    # 250 MB of files and a 160 MB array: each fits the 400 MiB limit, not both together.
    job = make_job(source, time_s=60.0, memory_mb=400, scratch_mb=1024)
    result = grader.grade(job, sandbox=sandbox)
    assert result.verdict is Verdict.MEMORY_LIMIT, result.message
    assert _over_the_limit(result.message, sandbox, 400), result.message


def test_a_solution_within_the_budget_reports_its_total_as_peak_memory(make_job, sandbox) -> None:
    source = LINEAR.replace(
        "        return self\n",
        "        self.block = np.ones(100 * 1024 * 1024 // 8)\n"
        "        import time\n        time.sleep(0.3)\n        return self\n",
        1,
    )
    result = grader.grade(make_job(source, memory_mb=512), sandbox=sandbox)
    assert result.verdict is Verdict.SCORED, result.message
    assert result.peak_memory_mb is not None and 100 < result.peak_memory_mb < 512


def test_memfd_files_count_against_the_budget_where_seccomp_would_allow_them(
    make_job, sandbox
) -> None:
    """memfd_create is denied by seccomp; with the filter off, the budget still holds."""
    unfiltered = Sandbox(sandbox.config)
    unfiltered.seccomp = None
    source = LINEAR.replace(
        "        return self\n",
        """        import os, time
        fds = []
        for i in range(16):  # 1 GiB in memfd files, never mapped: no process's memory
            fd = os.memfd_create(f"block{i}")
            for _ in range(64):
                os.write(fd, b"x" * (1 << 20))
            fds.append(fd)
        time.sleep(30)
        return self
""",
        1,
    )
    job = make_job(source, allowed=HOSTILE_IMPORTS, time_s=60.0)
    result = grader.grade(job, sandbox=unfiltered)
    assert result.verdict is Verdict.MEMORY_LIMIT, result.message
    assert _over_the_limit(result.message, sandbox, 256), result.message
