"""Resource control by the kernel: the hostile memory routes, CPU shares, cgroup removal.

Every route that once escaped the sampled budget (memfd, MAP_SHARED anonymous memory, tmpfs)
ends as memory limit exceeded while the host's available memory, sampled during the run, drops
by about the limit at most. memfd_create is also denied by seccomp: the memfd test turns the
filter off to show that the cgroup alone holds too (each layer holds on its own).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

import grader
from grader.contract import GradingResult, Verdict
from grader.grading import _selftest_with, get_sandbox
from grader.sandbox import Sandbox

from .conftest import HOSTILE_IMPORTS, run_cgroups_left
from .probes import kernel_sandbox
from .test_hostile import in_fit

LIMIT_MB = 256
ATTEMPT_MB = 1536  # what each attack tries to hold: eight times the limit
NOISE_MB = 320  # what other programs on a shared machine may take meanwhile

pytestmark = pytest.mark.skipif(
    get_sandbox().cgroups is None,
    reason=f"no writable memory cgroup: {get_sandbox().cgroups_detail}",
)


def _mem_available_mb() -> float:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no MemAvailable in /proc/meminfo")


@contextmanager
def available_memory_drop() -> Iterator[list[float]]:
    """Yields a list that holds, afterwards, the largest drop of MemAvailable (MiB) seen."""
    baseline = _mem_available_mb()
    lowest = [baseline]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            lowest[0] = min(lowest[0], _mem_available_mb())
            time.sleep(0.005)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    drop: list[float] = []
    try:
        yield drop
    finally:
        stop.set()
        thread.join()
        drop.append(baseline - lowest[0])


def _hostile(make_job, body: str, sandbox: Sandbox | None = None) -> tuple[GradingResult, float]:
    job = make_job(in_fit(body), allowed=(*HOSTILE_IMPORTS, "mmap"), memory_mb=LIMIT_MB)
    job = replace(job, limits=replace(job.limits, time_s=20.0, processes=64))
    with available_memory_drop() as drop:
        result = grader.grade(job, sandbox=sandbox)
    assert run_cgroups_left() == []
    return result, drop[0]


def _assert_stopped_at_the_limit(result: GradingResult, drop_mb: float) -> None:
    assert result.verdict is Verdict.MEMORY_LIMIT, (result.verdict, result.message, result.stdout)
    assert f"reached the {LIMIT_MB} MiB memory limit" in result.message
    assert result.peak_memory_mb is not None
    assert LIMIT_MB * 0.9 <= result.peak_memory_mb <= LIMIT_MB * 1.05
    assert drop_mb < LIMIT_MB + NOISE_MB, f"the host lost {drop_mb:.0f} MiB"


MEMFD = f"""
fds = []
for i in range({ATTEMPT_MB // 64}):
    fd = os.memfd_create(f"block{{i}}")
    for _ in range(64):
        os.write(fd, b"x" * (1 << 20))
    fds.append(fd)
print("held", len(fds) * 64, "MiB")
"""

# RLIMIT_AS (the limit, per process) stops one process from mapping much beyond its
# interpreter: the attack spreads small shared mappings over many processes.
MAP_SHARED = f"""
import mmap
for i in range({ATTEMPT_MB // 40}):
    pid = os.fork()
    if pid == 0:
        block = mmap.mmap(-1, 40 << 20, flags=mmap.MAP_SHARED)
        for offset in range(0, 40 << 20, 1 << 20):
            block[offset:offset + (1 << 20)] = b"x" * (1 << 20)
        time.sleep(30)
        os._exit(0)
time.sleep(30)
"""

TMPFS = f"""
for directory in ("/tmp", "/work"):
    for i in range({ATTEMPT_MB // 2 // 32}):
        try:
            with open(f"{{directory}}/fill{{i}}", "wb") as f:
                for _ in range(32):
                    f.write(b"x" * (1 << 20))
        except OSError:
            break
time.sleep(30)
"""


def test_memfd_beyond_the_limit_is_stopped_by_the_cgroup_even_without_seccomp(make_job) -> None:
    unfiltered = Sandbox(get_sandbox().config)
    unfiltered.seccomp = None
    result, drop = _hostile(make_job, MEMFD, unfiltered)
    _assert_stopped_at_the_limit(result, drop)


def test_memfd_is_denied_by_seccomp(make_job) -> None:
    result, _ = _hostile(make_job, MEMFD)
    assert result.verdict is Verdict.RUNTIME_ERROR
    assert "PermissionError" in result.message


def test_map_shared_anonymous_memory_in_many_processes_is_stopped(make_job) -> None:
    # mmap is not in the platform's sandbox; the kernel must stop it all the same.
    result, drop = _hostile(make_job, "import time\n" + MAP_SHARED, kernel_sandbox())
    _assert_stopped_at_the_limit(result, drop)


def test_files_in_tmp_and_work_beyond_the_limit_are_stopped(make_job) -> None:
    job_body = "import time\n" + TMPFS
    result, drop = _hostile(make_job, job_body)
    _assert_stopped_at_the_limit(result, drop)


def test_a_run_within_the_limit_scores_and_reports_the_kernels_peak(make_job) -> None:
    result, _ = _hostile(make_job, "block = bytearray(64 << 20)\nprint('ok')")
    assert result.verdict is Verdict.SCORED, result.message
    assert result.peak_memory_mb is not None and 64 < result.peak_memory_mb < LIMIT_MB


HONEST = """
total = 0
for i in range(4_000_000):
    total += i * i % 7
self.total = total
"""
BUSY = """
import time
for _ in range(4):
    if os.fork() == 0:
        while True:
            pass
threading_spin = [0]
while True:
    threading_spin[0] += 1
"""


def test_a_busy_sandbox_leaves_an_honest_neighbour_its_share_of_cpu(make_job) -> None:
    """Alone, beside a sandbox spinning in five processes, alone again: on a shared machine the
    load drifts, so the time alone is the mean of before and after."""

    def honest() -> float:
        result = grader.grade(make_job(in_fit(HONEST), allowed=HOSTILE_IMPORTS, time_s=60.0))
        assert result.verdict is Verdict.SCORED, result.message
        assert result.fit_seconds is not None
        return result.fit_seconds

    before = honest()
    busy_result: list[GradingResult] = []
    busy_job = make_job(in_fit(BUSY), allowed=HOSTILE_IMPORTS, time_s=8.0 + 4 * before)
    busy = threading.Thread(target=lambda: busy_result.append(grader.grade(busy_job)))
    busy.start()
    time.sleep(3.0)  # the neighbour's five processes are spinning by now
    beside = honest()
    busy.join()
    after = honest()
    assert busy_result[0].verdict is Verdict.TIME_LIMIT, busy_result[0].message
    alone = (before + after) / 2
    # With a CPU share per run the honest run keeps about a core of the two (1x-1.7x seen,
    # the worker and the database take some); without one, six runnable processes share
    # two cores and it gets a third of one (about 3x). 2x tells them apart on a busy CI.
    assert beside / alone < 2.0, (
        f"fit took {beside:.2f} s beside a busy sandbox, {before:.2f} s and {after:.2f} s alone"
    )


def test_each_run_has_its_own_cgroup_removed_afterwards(make_job) -> None:
    job = make_job(in_fit("import time\ntime.sleep(1.5)"), allowed=HOSTILE_IMPORTS)
    runner = threading.Thread(target=lambda: grader.grade(job))
    runner.start()
    seen: list[str] = []
    while runner.is_alive():
        seen += run_cgroups_left()
        time.sleep(0.05)
    runner.join()
    assert len(set(seen)) == len(set(get_sandbox().cgroups.parents.values()))  # one per hierarchy
    assert run_cgroups_left() == []


def test_a_sandbox_killed_from_outside_is_an_internal_error_not_a_verdict(make_job) -> None:
    """What another program's sweep of the uid once did: the team must not be charged for it."""
    body = "import time\nopen('/work/in-fit', 'w').close()\ntime.sleep(20)"
    job = make_job(in_fit(body), allowed=HOSTILE_IMPORTS)
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(grader.grade(job))
        except grader.InternalError as exc:
            outcome.append(exc)

    runner = threading.Thread(target=run)
    runner.start()
    deadline = time.monotonic() + 60
    victims: list[int] = []
    while not victims and time.monotonic() < deadline:
        time.sleep(0.1)
        for group in run_cgroups_left():
            pids = [int(p) for p in Path(group, "cgroup.procs").read_text().split()]
            if any(Path(f"/proc/{pid}/root/work/in-fit").exists() for pid in pids):
                victims = pids  # the solution is in fit: kill all, as a uid sweep would
                break
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    runner.join()
    assert victims, "the sandbox never started"
    assert isinstance(outcome[0], grader.InternalError), outcome[0]
    assert "killed from outside by SIGKILL" in str(outcome[0])


@pytest.mark.skipif(os.geteuid() != 0, reason="the strong level needs root (per-slot uids)")
def test_the_self_test_names_the_controllers_and_strong_requires_a_memory_cgroup() -> None:
    level, detail = grader.selftest()
    assert level == "strong", detail
    assert f"memory, pids and CPU limited by {get_sandbox().cgroups.describe()}" in detail
    without = Sandbox(replace(get_sandbox().config, cgroup="off"))
    level, detail = _selftest_with(without)
    assert level == "standard", detail
    assert "no memory cgroup (strong needs one)" in detail
    assert "memory by the sampling watchdog" in detail
