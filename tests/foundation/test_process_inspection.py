"""Process inspection through psutil: a zombie (exited, not yet reaped) runs nothing, so the
sandbox uid sweep and `hackathon up`'s shutdown do not count it as a live process."""

from __future__ import annotations

import os
import subprocess
import time

import psutil
from hackathon.cli import up

from grader.slots import uid_processes


def zombie_child() -> subprocess.Popen:
    child = subprocess.Popen(["true"])  # noqa: S607 - coreutils from PATH
    deadline = time.monotonic() + 10
    while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.01)
    return child


def test_a_zombie_is_not_a_process_of_its_uid() -> None:
    child = zombie_child()
    try:
        assert child.pid in psutil.pids()
        mine = uid_processes(os.getuid())
        assert child.pid not in mine
        assert os.getpid() in mine
    finally:
        child.wait()


def test_up_sees_a_zombie_child_as_a_zombie_and_a_live_one_as_running() -> None:
    child = zombie_child()
    sleeper = subprocess.Popen(["sleep", "30"])  # noqa: S607 - coreutils from PATH
    try:
        assert {child.pid, sleeper.pid} <= set(up.direct_children(os.getpid()))
        assert up.process_state(child.pid) == psutil.STATUS_ZOMBIE
        assert up.process_state(sleeper.pid) != psutil.STATUS_ZOMBIE
        assert up.parent_of(sleeper.pid) == os.getpid()
        assert sleeper.pid in up.descendants(os.getpid())
    finally:
        child.wait()
        sleeper.kill()
        sleeper.wait()
    assert up.process_state(child.pid) is None


def test_the_task_count_of_a_uid_counts_the_threads_of_its_processes() -> None:
    import threading

    from grader.sandbox import _user_task_count

    stop = threading.Event()
    threads = [threading.Thread(target=stop.wait) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        own = psutil.Process().num_threads()
        assert own >= 4
        assert _user_task_count(os.getuid()) >= own
        assert _user_task_count(2_000_000_000) == 0  # a uid nobody runs as
    finally:
        stop.set()
        for thread in threads:
            thread.join()
