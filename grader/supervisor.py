"""Watch one running sandbox: deadlines, capped output, the result stream, the kill.

Reads stdout, stderr, the harness's result pipe and bwrap's info pipe in one selector loop,
in the caller's thread (so `progress` is called there too). On the wall-clock deadline, too much
output or a malformed result stream it SIGKILLs the namespace's pid 1 (the kernel then kills
everything inside) and bwrap's process group, then waits for bwrap.
"""

from __future__ import annotations

import json
import logging
import os
import select
import selectors
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from grader.contract import Limits
from grader.errors import InternalError
from grader.harness import FRAME_HEADER

logger = logging.getLogger(__name__)

STARTUP_TIMEOUT_S = 60.0  # interpreter + numpy + data load, before the participant's clock
OUTPUT_HARD_FACTOR = 16  # streams may print this many times the kept size before OUTPUT_LIMIT
JSON_FRAME_MAX = 4 * 1024 * 1024
CHUNK = 65536
KILL_DRAIN_S = 10.0
PROGRESS_EVERY_S = 0.5
MEMORY_SAMPLE_S = 0.05
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _anon_bytes(pid: int) -> int:
    """Proportional anonymous memory of `pid`: pages a fork still shares are split among the
    processes sharing them (a forking solution is not charged for copies it never made)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss_Anon:"):
                    return int(line.split()[1]) * 1024
        with open(f"/proc/{pid}/statm", "rb") as f:  # kernels before 5.8: no Pss_Anon
            fields = f.read().split()
        return (int(fields[1]) - int(fields[2])) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0  # exited meanwhile


class MemoryWatch:
    """One memory budget for the whole sandbox, sampled from the host.

    RLIMIT_AS binds each process alone (forty 60 MB children pass a 256 MiB limit), so the total
    is summed here: the proportional anonymous memory (Pss_Anon) of every process of the sandbox
    (every process of the slot uid when there is one, else every process in the sandbox's pid
    namespace) plus the bytes stored on its /work and /tmp (tmpfs is memory),
    read through /proc/<pid 1>/root when this process may. Sampled every MEMORY_SAMPLE_S: a
    spike between two samples can pass, RLIMIT_AS stays the per-process backstop.
    """

    def __init__(self, uid: int | None) -> None:
        self.uid = uid
        self.child_pid: int | None = None
        self.namespace: str | None = None
        self.peak_kb = 0

    def sample_kb(self) -> int:
        total = 0
        for pid in self._pids():
            total += _anon_bytes(pid)
        if self.child_pid is not None:
            for mount in ("work", "tmp"):
                try:
                    st = os.statvfs(f"/proc/{self.child_pid}/root/{mount}")
                except OSError:
                    continue  # not ours to read (standard level), or already gone
                total += (st.f_blocks - st.f_bfree) * st.f_frsize
        kb = total // 1024
        self.peak_kb = max(self.peak_kb, kb)
        return kb

    def _pids(self) -> list[int]:
        if self.uid is not None:
            pids = []
            for entry in os.scandir("/proc"):
                if entry.name.isdigit():
                    try:
                        if entry.stat(follow_symlinks=False).st_uid == self.uid:
                            pids.append(int(entry.name))
                    except OSError:
                        continue
            return pids
        if self.namespace is not None:
            return processes_in_namespace(self.namespace)
        return []


@dataclass(frozen=True)
class Frame:
    """A message from the harness (untrusted: the solution can write to the same pipe)."""

    kind: bytes  # b"E" error, b"T" done, b"A" array
    header: dict
    body: bytes = b""


@dataclass
class SandboxRun:
    """What came back from one sandbox run (raw: verdicts are decided by the caller)."""

    ready: bool = False
    exit_status: int | None = None  # as os.waitstatus_to_exitcode: negative = signal
    timed_out: bool = False
    output_exceeded: str | None = None  # "stdout" | "stderr"
    memory_exceeded_kb: int | None = None  # the sandbox's total when the watchdog killed it
    protocol_error: str | None = None
    stdout: str = ""
    stderr: str = ""
    frames: list[Frame] = field(default_factory=list)
    loss_curve: list[float] = field(default_factory=list)
    peak_memory_kb: int | None = None  # the largest total the watchdog saw (or one process's)
    pid_namespace: str | None = None  # e.g. "pid:[4026532412]", for checks that it is empty
    wall_seconds: float = 0.0
    run_seconds: float = 0.0  # from "ready" to the end


class _Stream:
    def __init__(self, name: str, keep: int, hard: int) -> None:
        self.name = name
        self.keep = keep
        self.hard = hard
        self.data = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> bool:
        """Store what fits; return False once the stream is over its hard limit."""
        self.total += len(chunk)
        room = self.keep - len(self.data)
        if room > 0:
            self.data += chunk[:room]
        return self.total <= self.hard

    def text(self) -> str:
        text = self.data.decode("utf-8", errors="replace")
        if self.total > len(self.data):
            text += f"\n[... {self.total - len(self.data)} more bytes not kept]\n"
        return text


def supervise(
    proc: subprocess.Popen,
    result_r: int,
    info_r: int,
    limits: Limits,
    array_cap: int,
    progress: Callable[[list[float]], None] | None,
    started: float,
    uid: int | None = None,
) -> SandboxRun:
    """Watch `proc` until it and its pid namespace are gone; see the module docstring.

    `uid` is the sandbox's own slot uid, if any (its processes are the sandbox's memory).
    """
    run = SandboxRun()
    watch = MemoryWatch(uid)
    memory_limit_kb = limits.memory_mb * 1024
    next_sample = started
    hard = max(limits.output_bytes * OUTPUT_HARD_FACTOR, 1024 * 1024)
    streams = {
        proc.stdout.fileno(): _Stream("stdout", limits.output_bytes, hard),  # type: ignore[union-attr]
        proc.stderr.fileno(): _Stream("stderr", limits.output_bytes, hard),  # type: ignore[union-attr]
    }
    result = bytearray()
    result_total = 0
    result_cap = 2 * array_cap + 2 * JSON_FRAME_MAX
    info = bytearray()
    child_pid: int | None = None
    pidfd: int | None = None
    sel = selectors.DefaultSelector()
    for fd in (*streams, result_r, info_r):
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    open_fds = {*streams, result_r, info_r}
    deadline = started + STARTUP_TIMEOUT_S
    ready_at: float | None = None
    killed_at: float | None = None
    last_progress = 0.0
    curve_dirty = False

    def kill() -> None:
        nonlocal killed_at
        if killed_at is not None:
            return
        killed_at = time.monotonic()
        # Killing the namespace's pid 1 makes the kernel kill every process inside it.
        if pidfd is not None:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    try:
        while open_fds:
            now = time.monotonic()
            if killed_at is None and now >= deadline:
                if ready_at is None:
                    kill()
                    raise InternalError(
                        f"the sandbox did not start within {STARTUP_TIMEOUT_S:.0f} s"
                    )
                run.timed_out = True
                kill()
            if killed_at is not None and now - killed_at > KILL_DRAIN_S:
                break
            if killed_at is None and now >= next_sample:
                next_sample = now + MEMORY_SAMPLE_S
                used_kb = watch.sample_kb()
                if used_kb > memory_limit_kb:
                    run.memory_exceeded_kb = used_kb
                    kill()
            timeout = (deadline - now) if killed_at is None else 0.2
            if killed_at is None:
                timeout = min(timeout, max(0.0, next_sample - now))
            if progress is not None and curve_dirty:
                timeout = min(timeout, max(0.0, last_progress + PROGRESS_EVERY_S - now))
            for key, _ in sel.select(max(timeout, 0.0)):
                fd = key.fd
                try:
                    chunk = os.read(fd, CHUNK)
                except BlockingIOError:
                    continue
                if not chunk:
                    sel.unregister(fd)
                    open_fds.discard(fd)
                    if fd == info_r and child_pid is None:
                        child_pid = _parse_child_pid(info)
                    continue
                if fd in streams:
                    if not streams[fd].feed(chunk) and killed_at is None:
                        run.output_exceeded = streams[fd].name
                        kill()
                elif fd == info_r:
                    info += chunk
                    child_pid = _parse_child_pid(info) or child_pid
                    if child_pid and pidfd is None:
                        # A pidfd pins pid 1 (no pid reuse) and tells when it has exited,
                        # which the kernel lets happen only once its namespace is empty.
                        pidfd = _pidfd_open(child_pid)
                        run.pid_namespace = _pid_namespace(child_pid)
                        watch.child_pid, watch.namespace = child_pid, run.pid_namespace
                else:
                    result_total += len(chunk)
                    if result_total > result_cap:
                        run.protocol_error = "the sandbox sent more data than was asked for"
                        kill()
                        continue
                    result += chunk
                    error = _take_frames(result, run, array_cap)
                    if error and run.protocol_error is None:
                        run.protocol_error = error
                        kill()
                    if ready_at is None and run.ready:
                        ready_at = time.monotonic()
                        deadline = ready_at + limits.time_s
                    if run.loss_curve and progress is not None:
                        curve_dirty = True
            if progress is not None and curve_dirty:
                now = time.monotonic()
                if now - last_progress >= PROGRESS_EVERY_S:
                    last_progress = now
                    curve_dirty = False
                    try:
                        progress(list(run.loss_curve))
                    except Exception:  # noqa: BLE001 - a live view must not stop grading
                        logger.warning("progress callback failed", exc_info=True)
    finally:
        if open_fds:
            kill()
        sel.close()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        if pidfd is not None:
            # bwrap's monitor can exit while pid 1 still tears the namespace down.
            try:
                if not select.select([pidfd], [], [], KILL_DRAIN_S)[0]:
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                    if not select.select([pidfd], [], [], KILL_DRAIN_S)[0]:
                        raise InternalError("the sandbox's pid namespace did not empty")
            finally:
                os.close(pidfd)
    if result and run.protocol_error is None:
        run.protocol_error = "the result stream ended in the middle of a message"
    run.exit_status = proc.returncode
    run.peak_memory_kb = max(usage.ru_maxrss, watch.peak_kb) or None
    run.stdout = next(s for s in streams.values() if s.name == "stdout").text()
    run.stderr = next(s for s in streams.values() if s.name == "stderr").text()
    if ready_at is not None:
        run.run_seconds = time.monotonic() - ready_at
    return run


def _take_frames(buf: bytearray, run: SandboxRun, array_cap: int) -> str | None:
    """Move the complete frames of `buf` into `run`; a message when the stream is malformed.

    The bytes are untrusted (the solution can write forged frames to the result pipe), so every
    exception raised while parsing one is a protocol error, never a crash of the trusted side.
    """
    while len(buf) >= FRAME_HEADER.size:
        kind, length = FRAME_HEADER.unpack_from(buf)
        cap = array_cap + JSON_FRAME_MAX if kind == b"A" else JSON_FRAME_MAX
        if kind not in (b"R", b"P", b"E", b"A", b"T"):
            return f"unknown message {kind!r} on the result stream"
        if length > cap:
            return f"a {length}-byte message on the result stream exceeds {cap} bytes"
        if len(buf) < FRAME_HEADER.size + length:
            return None
        payload = bytes(buf[FRAME_HEADER.size : FRAME_HEADER.size + length])
        del buf[: FRAME_HEADER.size + length]
        try:
            error = _take_frame(kind, payload, run)
        except Exception as exc:  # noqa: BLE001 - whatever forged bytes raise is their fault
            error = f"{type(exc).__name__} while reading it"
        if error:
            name = FRAME_NAMES[kind]
            return f"a malformed {name} message on the result stream ({error})"
    return None


FRAME_NAMES = {b"R": "ready", b"P": "progress", b"E": "error", b"A": "array", b"T": "done"}
JSON_MAX_DEPTH = 8


def _take_frame(kind: bytes, payload: bytes, run: SandboxRun) -> str | None:
    if kind == b"R":
        run.ready = True
        return None
    # P, E and T frames are JSON; A frames a JSON header line, then the .npy bytes.
    head, _, body = payload.partition(b"\n") if kind == b"A" else (payload, b"", b"")
    data = _bounded_json(head)
    if not isinstance(data, dict):
        return "not a JSON object"
    if kind == b"P":
        start = data.get("start")
        if isinstance(start, bool) or not isinstance(start, int):
            return "no start index"
        values = _floats(data.get("values"))
        if values is None:
            return "the loss values are not a list of numbers"
        if start == len(run.loss_curve):
            run.loss_curve.extend(values)
        return None
    if kind == b"T" and "loss_curve" in data and _floats(data["loss_curve"]) is None:
        return "the loss curve is not a list of numbers"
    run.frames.append(Frame(kind, data, body))
    return None


def _bounded_json(raw: bytes) -> object:
    """JSON of at most JSON_MAX_DEPTH levels (the harness sends 2); raises ValueError."""
    # Brackets bound the depth from above (some may sit inside strings): only a deep-looking
    # payload pays for the exact check, and no payload reaches the parser's recursion limit.
    if raw.count(b"[") + raw.count(b"{") > JSON_MAX_DEPTH and _depth(raw) > JSON_MAX_DEPTH:
        raise ValueError(f"nested deeper than {JSON_MAX_DEPTH} levels")
    return json.loads(raw)


def _depth(raw: bytes) -> int:
    deepest = depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > JSON_MAX_DEPTH:
                    return deepest
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _floats(value: object) -> list[float] | None:
    """A list of floats (NaN and infinities allowed: a diverged curve), else None."""
    if not isinstance(value, list):
        return None
    out = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | float):
            return None
        try:
            out.append(float(item))
        except OverflowError:
            return None
    return out


def _pidfd_open(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except OSError:
        return None


def _pid_namespace(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def processes_in_namespace(namespace: str) -> list[int]:
    """Live (non-zombie) processes whose pid namespace is `namespace`."""
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry.name}/ns/pid") != namespace:
                continue
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                if f.read().rpartition(b")")[2].split()[0] == b"Z":
                    continue
        except (OSError, IndexError):
            continue
        pids.append(int(entry.name))
    return pids


def _parse_child_pid(info: bytes | bytearray) -> int | None:
    try:
        return int(json.loads(bytes(info))["child-pid"])
    except (ValueError, KeyError, TypeError):
        return None
