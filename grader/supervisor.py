"""Watch one running sandbox: deadlines, capped output, the conversation, the kill.

`Supervisor` is a small state machine (`RunState`): RUNNING while the sandbox lives, KILLED
once it was stopped (a deadline, too much output, the memory budget, a broken protocol),
DRAINING while its pipes empty after the participant's process finished, REAPED at the end.
In one selector loop, in the caller's thread (so `progress` is called there too), it reads
stdout, stderr, the answer pipe and bwrap's info pipe, hands answers to the protocol's own
state machine (`grader.protocol.Conversation`) and writes the commands it returns to the
participant's stdin. Stopping SIGKILLs the namespace's pid 1 (the kernel then kills
everything inside) and bwrap's process group, then waits for bwrap.

Time, CPU and memory are measured here, outside the participant's process.
"""

from __future__ import annotations

import enum
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
from grader.protocol import Conversation, Measured, Phase, ProtocolError, ResultStream

logger = logging.getLogger(__name__)

STARTUP_TIMEOUT_S = 60.0  # interpreter + numpy + data load, before the participant's clock
OUTPUT_HARD_FACTOR = 16  # streams may print this many times the kept size before OUTPUT_LIMIT
CHUNK = 65536
KILL_DRAIN_S = 10.0
PROGRESS_EVERY_S = 0.5
MEMORY_SAMPLE_S = 0.05
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _anon_bytes(pid: int) -> int:
    """Proportional anonymous and shared memory of `pid`: pages a fork still shares are split
    among the processes sharing them (a forking solution is not charged for copies it never
    made); Pss_Shmem counts mapped shmem (MAP_SHARED anonymous, mapped memfd and SysV)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            total, found = 0, False
            for line in f:
                if line.startswith((b"Pss_Anon:", b"Pss_Shmem:")):
                    total += int(line.split()[1]) * 1024
                    found = True
            if found:
                return total
        with open(f"/proc/{pid}/statm", "rb") as f:  # kernels before 5.8: no Pss_Anon
            fields = f.read().split()
        return (int(fields[1]) - int(fields[2])) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0  # exited meanwhile


def _memory_files(pid: int, seen: dict[tuple[int, int], int]) -> None:
    """Add the memory-backed files `pid` holds open (memfd, /dev/shm), once per file."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if not target.startswith(("/memfd:", "/dev/shm/")):  # noqa: S108 - a path read, not made
                continue
            st = os.stat(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        seen[(st.st_dev, st.st_ino)] = st.st_blocks * 512


class MemoryWatch:
    """One memory budget for the whole sandbox, sampled from the host.

    RLIMIT_AS binds each process alone (forty 60 MB children pass a 256 MiB limit), so the total
    is summed here (where no memory cgroup can do it, see grader.cgroups): the proportional
    anonymous and mapped shared memory (Pss_Anon, Pss_Shmem) of every process of the sandbox,
    the memfd and /dev/shm files they hold open
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
        files: dict[tuple[int, int], int] = {}
        for pid in self._pids():
            total += _anon_bytes(pid)
            _memory_files(pid, files)
        total += sum(files.values())
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


def cpu_seconds(pids: list[int]) -> float:
    """CPU time of `pids` and of every child they have reaped (user + system, all threads).

    A process that exited is counted by its parent once reaped (cutime), or by itself while it
    is a zombie; the sandbox's pid 1 lives until the end, so nothing that ran inside is lost.
    """
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rpartition(b")")[2].split()
            ticks += sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
        except (OSError, IndexError, ValueError):
            continue
    return ticks / CLOCK_TICKS


@dataclass
class SandboxRun:
    """What came back from one sandbox run (raw: verdicts are decided by the caller).

    Everything but `error`, `arrays`, `report` and `live_*` was measured by trusted code;
    those four are what the participant's process answered, validated for form only.
    """

    ready: bool = False
    phase: Phase = Phase.STARTING  # how far the conversation went
    exit_status: int | None = None  # as os.waitstatus_to_exitcode: negative = signal
    timed_out: bool = False
    stopped: bool = False  # the supervisor killed the sandbox (a limit, a protocol error)
    output_exceeded: str | None = None  # "stdout" | "stderr"
    memory_exceeded_kb: int | None = None  # the sandbox's total when the watchdog killed it
    protocol_error: str | None = None
    stdout: str = ""
    stderr: str = ""
    error: dict | None = None  # the solution's error answer: {"kind", "message"}
    arrays: dict[str, tuple[dict, bytes]] = field(default_factory=dict)
    report: dict = field(default_factory=dict)  # loss_curve, hyperparameters, fp_events
    live_curve: list[float] = field(default_factory=list)  # progress answers during fit
    live_fp: dict = field(default_factory=dict)
    measured: dict[Phase, Measured] = field(default_factory=dict)
    peak_memory_kb: int | None = None  # the cgroup's peak, or the largest total the watchdog saw
    memory_control: str = "watchdog"  # "cgroup": the kernel enforced the limit and measured it
    pid_namespace: str | None = None  # e.g. "pid:[4026532412]", for checks that it is empty
    wall_seconds: float = 0.0
    run_seconds: float = 0.0  # from "ready" to the end

    @property
    def loss_curve(self) -> list[float]:
        """The live curve (what the progress view showed); the report's replaces it later."""
        return self.live_curve


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


class RunState(enum.StrEnum):
    RUNNING = "running"  # the sandbox lives; deadlines and the memory budget are watched
    DRAINING = "draining"  # every answer is in: its pipes close as it exits (deadline holds)
    KILLED = "killed"  # stopped by the supervisor; pipes drain for at most KILL_DRAIN_S
    REAPED = "reaped"  # bwrap waited for, the pid namespace empty


class Supervisor:
    """One run of the sandbox, watched until it and its pid namespace are gone.

    `uid` is the sandbox's own slot uid, if any (its processes are the sandbox's memory).
    `memory_probe` replaces the sampling watchdog where a cgroup enforces the memory limit:
    it returns the peak in KiB once the kernel has killed for the limit, and the whole sandbox
    is then stopped (cgroup v1 kills one process at a time).
    """

    def __init__(
        self,
        proc: subprocess.Popen,
        command_w: int,
        result_r: int,
        info_r: int,
        limits: Limits,
        array_cap: int,
        progress: Callable[[list[float]], None] | None,
        started: float,
        uid: int | None = None,
        conversation: bool = True,
        memory_probe: Callable[[], int | None] | None = None,
        cpu_probe: Callable[[], float | None] | None = None,
    ) -> None:
        self.proc = proc
        self.memory_probe = memory_probe
        self.cpu_probe = cpu_probe
        self.command_w: int | None = command_w
        self.result_r = result_r
        self.info_r = info_r
        self.limits = limits
        self.progress = progress
        self.run = SandboxRun()
        self.state = RunState.RUNNING
        self.watch = MemoryWatch(uid)
        # The harness answers commands; another entry module only reports its start and end.
        kind = Conversation if conversation else ResultStream
        self.conversation = kind(array_cap=array_cap, clock=time.monotonic, cpu_clock=self.cpu_now)
        hard = max(limits.output_bytes * OUTPUT_HARD_FACTOR, 1024 * 1024)
        self.streams = {
            proc.stdout.fileno(): _Stream("stdout", limits.output_bytes, hard),  # type: ignore[union-attr]
            proc.stderr.fileno(): _Stream("stderr", limits.output_bytes, hard),  # type: ignore[union-attr]
        }
        self.result_total = 0
        self.result_cap = 2 * array_cap + 16 * 1024 * 1024
        self.info = bytearray()
        self.child_pid: int | None = None
        self.pidfd: int | None = None
        self.deadline = started + STARTUP_TIMEOUT_S
        self.next_sample = started
        self.ready_at: float | None = None
        self.killed_at: float | None = None
        self.last_progress = 0.0
        self.curve_dirty = False
        self.open_fds = {*self.streams, result_r, info_r}

    # -- measurements -----------------------------------------------------------------------

    def sandbox_pids(self) -> list[int]:
        pids = self.watch._pids()
        if not pids and self.watch.namespace is None:
            # No namespace (degraded level): the process group the sandbox was started in.
            pids = [pid for pid in _all_pids() if _pgid(pid) == self.proc.pid]
        return pids

    def cpu_now(self) -> float | None:
        """The sandbox's CPU time so far: the cgroup's count where there is one (every process,
        exited ones too), else what /proc shows of its live processes."""
        if self.cpu_probe is not None:
            counted = self.cpu_probe()
            if counted is not None:
                return counted
        return cpu_seconds(self.sandbox_pids())

    # -- transitions --------------------------------------------------------------------------

    def kill(self) -> None:
        """RUNNING/DRAINING -> KILLED: SIGKILL the sandbox (pid 1 of its namespace, bwrap)."""
        if self.state is RunState.KILLED:
            return
        self.state = RunState.KILLED
        self.killed_at = time.monotonic()
        self.run.stopped = True
        self.conversation.fail()
        self._close_commands()
        # Killing the namespace's pid 1 makes the kernel kill every process inside it.
        if self.pidfd is not None:
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _close_commands(self) -> None:
        if self.command_w is not None:
            os.close(self.command_w)
            self.command_w = None

    def on_deadline(self, now: float) -> None:
        if self.state is RunState.KILLED or now < self.deadline:
            return
        if self.ready_at is None:
            self.kill()
            raise InternalError(f"the sandbox did not start within {STARTUP_TIMEOUT_S:.0f} s")
        self.run.timed_out = True
        self.kill()

    def on_memory_sample(self, now: float) -> None:
        if self.state is RunState.KILLED or now < self.next_sample:
            return
        self.next_sample = now + MEMORY_SAMPLE_S
        if self.memory_probe is not None:
            exceeded_kb = self.memory_probe()
            if exceeded_kb is not None:
                self.run.memory_exceeded_kb = exceeded_kb
                self.kill()
            return
        used_kb = self.watch.sample_kb()
        if used_kb > self.limits.memory_mb * 1024:
            self.run.memory_exceeded_kb = used_kb
            self.kill()

    def on_output(self, fd: int, chunk: bytes) -> None:
        stream = self.streams[fd]
        if not stream.feed(chunk) and self.state is not RunState.KILLED:
            self.run.output_exceeded = stream.name
            self.kill()

    def on_info(self, chunk: bytes) -> None:
        self.info += chunk
        self.child_pid = _parse_child_pid(self.info) or self.child_pid
        if self.child_pid and self.pidfd is None:
            # A pidfd pins pid 1 (no pid reuse) and tells when it has exited, which the
            # kernel lets happen only once its namespace is empty.
            self.pidfd = _pidfd_open(self.child_pid)
            self.run.pid_namespace = _pid_namespace(self.child_pid)
            self.watch.child_pid, self.watch.namespace = self.child_pid, self.run.pid_namespace

    def on_answer(self, chunk: bytes) -> None:
        if self.state is RunState.KILLED:
            return
        self.result_total += len(chunk)
        if self.result_total > self.result_cap:
            self.run.protocol_error = "the sandbox sent more data than was asked for"
            self.kill()
            return
        conversation = self.conversation
        try:
            commands = conversation.feed(chunk)
        except ProtocolError as exc:
            self.run.protocol_error = str(exc)
            self.kill()
            return
        if self.ready_at is None and conversation.ready:
            self.ready_at = time.monotonic()
            self.deadline = self.ready_at + self.limits.time_s
        for command in commands:
            self._send(command)
        if conversation.phase in (Phase.FINISHED, Phase.FAILED):
            # Nothing more to ask: the harness reads end-of-file and exits.
            self._close_commands()
            self.state = RunState.DRAINING
        if conversation.live_curve and self.progress is not None:
            self.curve_dirty = True

    def _send(self, command: bytes) -> None:
        if self.command_w is None:
            return
        try:
            os.write(self.command_w, command)  # a few hundred bytes: the pipe has room
        except OSError:  # the process is gone: its exit decides the verdict
            self._close_commands()

    def on_eof(self, fd: int) -> None:
        self.open_fds.discard(fd)
        if fd == self.info_r and self.child_pid is None:
            self.child_pid = _parse_child_pid(self.info)

    def on_progress_due(self) -> None:
        now = time.monotonic()
        if not self.curve_dirty or now - self.last_progress < PROGRESS_EVERY_S:
            return
        self.last_progress = now
        self.curve_dirty = False
        try:
            self.progress(list(self.conversation.live_curve))  # type: ignore[misc]
        except Exception:  # noqa: BLE001 - a live view must not stop grading
            logger.warning("progress callback failed", exc_info=True)

    def select_timeout(self, now: float) -> float:
        if self.state is RunState.KILLED:
            return 0.2
        timeout = min(self.deadline - now, max(0.0, self.next_sample - now))
        if self.progress is not None and self.curve_dirty:
            timeout = min(timeout, max(0.0, self.last_progress + PROGRESS_EVERY_S - now))
        return max(timeout, 0.0)

    # -- the loop -------------------------------------------------------------------------------

    def supervise(self) -> SandboxRun:
        sel = selectors.DefaultSelector()
        for fd in self.open_fds:
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ)
        try:
            while self.open_fds:
                now = time.monotonic()
                self.on_deadline(now)
                if self.killed_at is not None and now - self.killed_at > KILL_DRAIN_S:
                    break
                self.on_memory_sample(now)
                for key, _ in sel.select(self.select_timeout(now)):
                    self._read(sel, key.fd)
                if self.progress is not None:
                    self.on_progress_due()
        finally:
            if self.open_fds:
                self.kill()
            sel.close()
            self._close_commands()
            self._reap()
        return self._result()

    def _read(self, sel: selectors.BaseSelector, fd: int) -> None:
        try:
            chunk = os.read(fd, CHUNK)
        except BlockingIOError:
            return
        if not chunk:
            sel.unregister(fd)
            self.on_eof(fd)
        elif fd in self.streams:
            self.on_output(fd, chunk)
        elif fd == self.info_r:
            self.on_info(chunk)
        else:
            self.on_answer(chunk)

    def _reap(self) -> None:
        """-> REAPED: wait for bwrap, then for pid 1 (its namespace empty)."""
        _, status, usage = os.wait4(self.proc.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.usage_maxrss_kb = usage.ru_maxrss
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        if self.pidfd is not None:
            # bwrap's monitor can exit while pid 1 still tears the namespace down.
            try:
                if not select.select([self.pidfd], [], [], KILL_DRAIN_S)[0]:
                    signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
                    if not select.select([self.pidfd], [], [], KILL_DRAIN_S)[0]:
                        raise InternalError("the sandbox's pid namespace did not empty")
            finally:
                os.close(self.pidfd)
        self.state = RunState.REAPED

    def _result(self) -> SandboxRun:
        run, conversation = self.run, self.conversation
        if conversation.incomplete and run.protocol_error is None:
            run.protocol_error = "the result stream ended in the middle of a message"
        run.ready = conversation.ready
        run.phase = conversation.phase
        run.error = conversation.error
        run.arrays = conversation.arrays
        run.report = conversation.report
        run.live_curve = conversation.live_curve
        run.live_fp = conversation.live_fp
        run.measured = conversation.measured
        run.exit_status = self.proc.returncode
        run.peak_memory_kb = max(self.usage_maxrss_kb, self.watch.peak_kb) or None
        run.stdout = next(s for s in self.streams.values() if s.name == "stdout").text()
        run.stderr = next(s for s in self.streams.values() if s.name == "stderr").text()
        if self.ready_at is not None:
            run.run_seconds = time.monotonic() - self.ready_at
        return run


def supervise(
    proc: subprocess.Popen,
    command_w: int,
    result_r: int,
    info_r: int,
    limits: Limits,
    array_cap: int,
    progress: Callable[[list[float]], None] | None,
    started: float,
    uid: int | None = None,
    conversation: bool = True,
    memory_probe: Callable[[], int | None] | None = None,
    cpu_probe: Callable[[], float | None] | None = None,
) -> SandboxRun:
    """Watch `proc` until it and its pid namespace are gone (see `Supervisor`)."""
    return Supervisor(
        proc, command_w, result_r, info_r, limits, array_cap, progress, started, uid,
        conversation, memory_probe, cpu_probe,
    ).supervise()  # fmt: skip


def _all_pids() -> list[int]:
    return [int(e.name) for e in os.scandir("/proc") if e.name.isdigit()]


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


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
