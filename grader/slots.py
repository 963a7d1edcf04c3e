"""Sandbox uids leased host-wide: one dedicated unprivileged uid per running sandbox.

A uid is held with an exclusive `flock` on `/run/hackathon-sandbox/uid-<uid>.lock`
(GRADER_LEASE_DIR), a path that does not depend on GRADER_STATE_DIR: every installation on the
host (another checkout, `hackathon evaluate` next to a worker, a second worker container that
mounts the same directory) takes its uids from the same locks, so overlapping ranges are shared,
never run twice. A crashed holder releases its lease with its file descriptors.

The platform kills only processes of a uid whose lease it holds, and only after its own run: a
uid that has live processes while its lock is free belongs to something outside the lease
protocol (a user, an older installation) and is skipped, never swept.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import signal
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from grader.errors import ConfigError, InternalError
from grader.procfs import is_zombie

SLOT_WAIT_S = 60.0
DEFAULT_LEASE_DIR = Path("/run/hackathon-sandbox")


@dataclass(frozen=True)
class Slot:
    index: int
    uid: int


def lease_dir() -> Path:
    return Path(os.environ.get("GRADER_LEASE_DIR") or DEFAULT_LEASE_DIR)


def _open_lease_dir(directory: Path) -> Path:
    try:
        directory.mkdir(mode=0o755, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"GRADER_LEASE_DIR: cannot create {directory} ({exc.strerror}); point it at a "
            "directory on a local disk that root can write (every installation must use the same)"
        ) from exc
    return directory


def _try_lock(directory: Path, uid: int) -> int | None:
    """An fd holding the lease of `uid`, or None when another holder has it."""
    try:
        fd = os.open(directory / f"uid-{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise ConfigError(
            f"GRADER_LEASE_DIR: cannot open a lease file in {directory} ({exc.strerror})"
        ) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def check_uid_range(*, uid_base: int, count: int) -> None:
    """Raise ConfigError when the range cannot serve as sandbox uids (names, foreign processes)."""
    if uid_base < 1000 or uid_base + count > 2**31 - 2:
        raise ConfigError(
            f"GRADER_UID_BASE={uid_base}: sandbox uids must lie between 1000 and 2^31 "
            "(choose a free range such as 61000)"
        )
    for uid in range(uid_base, uid_base + count):
        try:
            name = pwd.getpwuid(uid).pw_name
        except KeyError:
            continue
        raise ConfigError(
            f"GRADER_UID_BASE={uid_base} GRADER_SLOTS={count}: uid {uid} belongs to the user "
            f"{name!r}; choose a range no account uses"
        )
    directory = _open_lease_dir(lease_dir())
    foreign: list[int] = []
    running = live_processes_by_uid(range(uid_base, uid_base + count))  # one look at /proc
    for uid in range(uid_base, uid_base + count):
        fd = _try_lock(directory, uid)
        if fd is None:
            continue  # leased by a running sandbox: in use the right way
        try:
            if running.get(uid) and uid_processes(uid):  # still there under the lock
                foreign.append(uid)
        finally:
            os.close(fd)
    if len(foreign) == count:
        raise ConfigError(
            f"GRADER_UID_BASE={uid_base} GRADER_SLOTS={count}: every uid of the range runs "
            f"processes that no sandbox lease accounts for ({_uids_text(foreign)}); choose "
            "another GRADER_UID_BASE"
        )


def _uids_text(uids: list[int]) -> str:
    shown = ", ".join(str(u) for u in uids[:5])
    return shown + (f" and {len(uids) - 5} more" if len(uids) > 5 else "")


@contextmanager
def slot_lease(*, count: int, uid_base: int) -> Iterator[Slot]:
    """Hold a free sandbox uid for the duration of the block (waits up to SLOT_WAIT_S).

    On leaving the block every process of the uid is killed while the lease is still held:
    they were started under this lease.
    """
    directory = _open_lease_dir(lease_dir())
    deadline = time.monotonic() + SLOT_WAIT_S
    pid_hint = os.getpid()
    foreign: set[int] = set()
    while True:
        for offset in range(count):
            index = (pid_hint + offset) % count
            uid = uid_base + index
            fd = _try_lock(directory, uid)
            if fd is None:
                continue
            if uid_processes(uid):
                foreign.add(uid)
                os.close(fd)
                continue
            foreign.discard(uid)
            # The holder's pid, for people looking at the lock files: written in place,
            # fixed width (a truncation is a metadata write on every lease).
            os.pwrite(fd, f"{os.getpid():>10}\n".encode(), 0)
            try:
                yield Slot(index, uid)
            finally:
                try:
                    kill_uid_processes(uid)
                finally:
                    os.close(fd)
            return
        if time.monotonic() > deadline:
            why = ""
            if foreign:
                why = (
                    f"; uids {_uids_text(sorted(foreign))} run processes that no sandbox lease "
                    "accounts for (choose another GRADER_UID_BASE)"
                )
            raise InternalError(
                f"no free sandbox uid among {count} from GRADER_UID_BASE={uid_base} "
                f"after {SLOT_WAIT_S:.0f} s{why}"
            )
        time.sleep(0.05)


def uid_processes(uid: int) -> list[int]:
    """Pids of the live processes owned by `uid`.

    Zombies are left out: they run nothing. (The namespace's pid 1 can outlive bwrap's
    monitor by a moment and then waits, dead, for the host's init to reap it.)
    """
    return live_processes_by_uid((uid,)).get(uid, [])


def live_processes_by_uid(uids: Iterable[int]) -> dict[int, list[int]]:
    """Pids of the live (not zombie) processes of each of `uids`, from one pass over /proc.

    On the path of every grading run (before and after it): the owner of /proc/<pid> first,
    one stat per process, and a process's state read only for the uids asked for."""
    wanted = set(uids)
    found: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            owner = os.stat(f"/proc/{name}").st_uid
        except OSError:
            continue  # gone meanwhile
        if owner in wanted and not is_zombie(name):
            found.setdefault(owner, []).append(int(name))
    return found


def kill_uid_processes(uid: int, *, timeout_s: float = 10.0) -> int:
    """SIGKILL every process of a leased sandbox uid and wait until none is left.

    Call it only while holding the uid's lease.
    """
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
