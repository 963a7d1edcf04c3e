"""Worker slots: one dedicated unprivileged uid per concurrently running sandbox.

A slot is held with an exclusive `flock` on `<state>/slots/slot-<n>.lock` (root-owned
directory), so slots are shared correctly between threads, processes and Celery workers on one
machine, and a crashed holder releases its slot with its file descriptors. The uid of slot n is
`uid_base + n`; because nothing else ever runs as that uid, every process that carries it after
a run is a leftover of that run and is killed.
"""

from __future__ import annotations

import fcntl
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from grader.errors import InternalError

SLOT_WAIT_S = 60.0


@dataclass(frozen=True)
class Slot:
    index: int
    uid: int


def _open_slot_dir(state_dir: Path) -> Path:
    slot_dir = state_dir / "slots"
    try:
        slot_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise InternalError(f"cannot create the slot directory {slot_dir}: {exc}") from exc
    return slot_dir


@contextmanager
def slot_lease(state_dir: Path, *, count: int, uid_base: int) -> Iterator[Slot]:
    """Hold a free slot for the duration of the block (waits up to SLOT_WAIT_S)."""
    slot_dir = _open_slot_dir(state_dir)
    deadline = time.monotonic() + SLOT_WAIT_S
    pid_hint = os.getpid()
    while True:
        for offset in range(count):
            index = (pid_hint + offset) % count
            try:
                fd = os.open(slot_dir / f"slot-{index}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise InternalError(f"cannot open a slot lock in {slot_dir}: {exc}") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            slot = Slot(index, uid_base + index)
            try:
                # A holder that crashed mid-run may have left processes; the runner sweeps
                # again after every run, before the slot is released.
                kill_uid_processes(slot.uid)
                yield slot
            finally:
                os.close(fd)
            return
        if time.monotonic() > deadline:
            raise InternalError(f"no free sandbox slot among {count} after {SLOT_WAIT_S:.0f} s")
        time.sleep(0.05)


def _is_zombie(pid: str) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[0] == b"Z"
    except (OSError, IndexError):
        return True


def uid_processes(uid: int) -> list[int]:
    """Pids of the live processes owned by `uid`.

    Zombies are left out: they run nothing. (The namespace's pid 1 can outlive bwrap's
    monitor by a moment and then waits, dead, for the host's init to reap it.)
    """
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat(follow_symlinks=False).st_uid == uid and not _is_zombie(entry.name):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def kill_uid_processes(uid: int, *, timeout_s: float = 10.0) -> int:
    """SIGKILL every process of a dedicated sandbox uid and wait until none is left."""
    if uid == 0 or uid == os.getuid():
        raise ValueError("refusing to sweep a shared uid")
    killed = 0
    deadline = time.monotonic() + timeout_s
    while True:
        pids = uid_processes(uid)
        if not pids:
            return killed
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
        if time.monotonic() > deadline:
            raise InternalError(f"processes of sandbox uid {uid} survive SIGKILL: {pids}")
        time.sleep(0.002)
