"""What /proc says about a process, read directly (one open and read each): the grading path
asks before and after every run, where a process-inspection library's objects would cost
more than the reads."""

from __future__ import annotations

import os


def is_zombie(pid: int | str) -> bool:
    """Dead and waiting to be reaped, or gone: it runs nothing."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[0] == b"Z"
    except (OSError, IndexError):
        return True


def thread_count(pid: int) -> int:
    """Threads of a live process (0 when it is gone)."""
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


def pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]
