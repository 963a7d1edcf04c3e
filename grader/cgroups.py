"""Resource control by the kernel: one cgroup per sandbox run (cgroup v2, or v1 controllers).

Each run gets its own cgroup, created below the worker's own cgroup (or GRADER_CGROUP_PARENT):
- memory: a hard limit on every page the sandbox causes: anonymous memory, shmem (memfd, MAP_SHARED
  anonymous, SysV and POSIX shared memory), tmpfs files and page cache, with no swap to escape to
  (v2 `memory.max` + `memory.swap.max=0` + `memory.oom.group`; v1 `memory.limit_in_bytes` +
  `memory.memsw.limit_in_bytes` where swap accounting exists);
- pids: `pids.max`, a bound on processes and threads together;
- cpu: the default weight (v2 `cpu.weight`, v1 `cpu.shares`), so concurrent sandboxes get equal
  shares whatever their thread count, and a quota of GRADER_SANDBOX_CPUS CPUs (default 1).

The sandbox's first process joins the cgroup before anything of the sandbox runs: the command
line starts with `/bin/sh -c JOIN_SCRIPT`, a trusted step that writes its own pid to each
`cgroup.procs` and then execs the rest (setpriv to the slot uid, prlimit, bwrap). No preexec_fn.

After the run every process left in the cgroup is killed and the cgroup removed. The kernel's
counters say whether the run hit the limit (an OOM kill while the limit was reached) and its
peak usage.

GRADER_CGROUP=auto (default) uses cgroups where a hierarchy is writable and falls back to the
sampling watchdog otherwise; `required` makes an unusable hierarchy a configuration error; `off`
never uses them.
"""

from __future__ import annotations

import errno
import itertools
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import ConfigError, InternalError
from grader.procfs import is_zombie

CONTROLLERS = ("memory", "pids", "cpu", "cpuacct")  # cpuacct: v1's CPU time (v2: cpu.stat)
PREFIX = "hackathon-sandbox-"
# sh is the one trusted step between the worker and bwrap: join every cgroup, then exec.
JOIN_SCRIPT = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'
JOIN_FAILED_STATUS = 125
CPU_PERIOD_US = 100_000
EXTRA_PIDS = 8  # bwrap's monitor, the namespace's init, the interpreter's own threads

_counter = itertools.count()
_counter_lock = threading.Lock()


@dataclass(frozen=True)
class Hierarchy:
    """Where sandbox cgroups go: one parent directory per controller (v2: the same one)."""

    version: int
    parents: dict[str, Path]

    @property
    def controllers(self) -> tuple[str, ...]:
        return tuple(c for c in CONTROLLERS if c in self.parents)

    def describe(self) -> str:
        return f"cgroup v{self.version} ({', '.join(self.controllers)})"


@dataclass
class Usage:
    """The kernel's account of one run."""

    peak_kb: int | None = None
    limit_hit: bool = False  # the memory limit was reached and the kernel killed for it
    oom_kills: int = 0


@dataclass
class RunCgroup:
    """The cgroup of one run: created, joined by the sandbox, read, killed and removed."""

    hierarchy: Hierarchy
    name: str
    dirs: dict[str, Path] = field(default_factory=dict)

    def procs_files(self) -> list[str]:
        unique = {d for d in self.dirs.values()}
        return [str(d / "cgroup.procs") for d in sorted(unique)]

    def join_argv(self, rest: list[str]) -> list[str]:
        return ["/bin/sh", "-c", JOIN_SCRIPT, "cgroup-join", *self.procs_files(), "--", *rest]

    def usage(self, memory_limit_bytes: int) -> Usage:
        memory = self.dirs.get("memory")
        if memory is None:
            return Usage()
        if self.hierarchy.version == 2:
            events = _keyed(memory / "memory.events")
            peak = _int_file(memory / "memory.peak")
            oom_kills = events.get("oom_kill", 0)
            hit = events.get("oom", 0) > 0 or events.get("max", 0) > 0
        else:
            peak = max(
                _int_file(memory / "memory.max_usage_in_bytes") or 0,
                _int_file(memory / "memory.memsw.max_usage_in_bytes") or 0,
            )
            oom_kills = _keyed(memory / "memory.oom_control").get("oom_kill", 0)
            failed = (_int_file(memory / "memory.failcnt") or 0) + (
                _int_file(memory / "memory.memsw.failcnt") or 0
            )
            hit = failed > 0 or (peak or 0) >= memory_limit_bytes
        return Usage(
            peak_kb=None if peak is None else peak // 1024,
            limit_hit=hit and oom_kills > 0,
            oom_kills=oom_kills,
        )

    def cpu_seconds(self) -> float | None:
        """CPU time of every process the run has had (the kernel's count), or None."""
        if self.hierarchy.version == 2:
            d = self.dirs.get("cpu") or self.dirs.get("memory")
            usage = None if d is None else _keyed(d / "cpu.stat").get("usage_usec")
            return None if usage is None else usage / 1e6
        d = self.dirs.get("cpuacct")
        nanoseconds = None if d is None else _int_file(d / "cpuacct.usage")
        return None if nanoseconds is None else nanoseconds / 1e9

    def limit_probe(self, memory_mb: int) -> Callable[[], int | None]:
        """For the supervisor: the peak in KiB once the kernel killed for the limit, else None.

        Called every few tens of milliseconds while the sandbox runs: it reads one file, the
        count of OOM kills (v2 memory.events, v1 memory.oom_control), and the whole account
        only once the kernel has killed (no kill, no limit hit: `usage` says the same)."""
        memory = self.dirs.get("memory")
        if memory is None:
            return lambda: None
        events = str(
            memory / ("memory.events" if self.hierarchy.version == 2 else "memory.oom_control")
        )

        def probe() -> int | None:
            if not _keyed_text(_read_small(events)).get("oom_kill", 0):
                return None
            usage = self.usage(memory_mb * 1024 * 1024)
            return (usage.peak_kb or memory_mb * 1024) if usage.limit_hit else None

        return probe

    def pids(self) -> list[int]:
        pids: set[int] = set()
        for d in set(self.dirs.values()):
            try:
                text = (d / "cgroup.procs").read_text()
            except OSError:
                continue
            pids.update(int(p) for p in text.split())
        return sorted(pids)

    def destroy(self, *, timeout_s: float = 10.0) -> None:
        """Kill every process in the cgroup, then remove it (zombies do not hold it up)."""
        deadline = time.monotonic() + timeout_s
        kill_file = self.dirs.get("memory", next(iter(self.dirs.values()))) / "cgroup.kill"
        while True:
            live = [p for p in self.pids() if not is_zombie(p)]
            if not live:
                break
            if self.hierarchy.version == 2 and kill_file.exists():
                _write(kill_file, "1")
            else:
                for pid in live:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            if time.monotonic() > deadline:
                raise InternalError(f"processes of sandbox cgroup {self.name} survive: {live}")
            time.sleep(0.005)
        for d in set(self.dirs.values()):
            while True:
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                        raise InternalError(f"cannot remove the cgroup {d}: {exc}") from exc
                    time.sleep(0.01)

    def exists(self) -> bool:
        return any(d.exists() for d in self.dirs.values())


def create(hierarchy: Hierarchy, *, memory_mb: int, pids: int, cpus: float) -> RunCgroup:
    """A fresh cgroup for one run with its limits written (InternalError when it cannot be)."""
    with _counter_lock:
        serial = next(_counter)
    name = f"{PREFIX}{os.getpid()}-{serial}"
    group = RunCgroup(hierarchy, name)
    memory_bytes = memory_mb * 1024 * 1024
    try:
        for controller, parent in hierarchy.parents.items():
            d = parent / name
            if d not in group.dirs.values():
                d.mkdir(mode=0o755)
            group.dirs[controller] = d
        if hierarchy.version == 2:
            d = group.dirs["memory"]
            _write(d / "memory.max", str(memory_bytes))
            _write_if_exists(d / "memory.swap.max", "0")
            _write_if_exists(d / "memory.oom.group", "1")
            if "pids" in group.dirs:
                _write(d / "pids.max", str(pids + EXTRA_PIDS))
            if "cpu" in group.dirs:
                _write(d / "cpu.weight", "100")
                if cpus > 0:
                    _write(d / "cpu.max", f"{int(cpus * CPU_PERIOD_US)} {CPU_PERIOD_US}")
        else:
            d = group.dirs["memory"]
            _write(d / "memory.limit_in_bytes", str(memory_bytes))
            _write_if_exists(d / "memory.memsw.limit_in_bytes", str(memory_bytes))
            _write_if_exists(d / "memory.swappiness", "0")
            if "pids" in group.dirs:
                _write(group.dirs["pids"] / "pids.max", str(pids + EXTRA_PIDS))
            if "cpu" in group.dirs:
                cpu = group.dirs["cpu"]
                _write(cpu / "cpu.shares", "1024")
                if cpus > 0:
                    _write(cpu / "cpu.cfs_period_us", str(CPU_PERIOD_US))
                    _write(cpu / "cpu.cfs_quota_us", str(int(cpus * CPU_PERIOD_US)))
    except OSError as exc:
        try:
            group.destroy(timeout_s=1.0)
        except InternalError:
            pass
        raise InternalError(f"cannot set up the sandbox's cgroup {name}: {exc}") from exc
    return group


# -- discovering a writable hierarchy ------------------------------------------------------------


def discover(mode: str, parent: str | None = None) -> tuple[Hierarchy | None, str]:
    """(hierarchy or None, why) for GRADER_CGROUP=`mode` and GRADER_CGROUP_PARENT=`parent`.

    With mode "required", no usable memory controller raises ConfigError.
    """
    if mode == "off":
        return None, "GRADER_CGROUP=off"
    reasons: list[str] = []
    mounts = _cgroup_mounts()
    own = _own_cgroups()
    for probe in (_probe_v2, _probe_v1):
        try:
            hierarchy = probe(mounts, own, parent)
        except OSError as exc:
            reasons.append(f"{probe.__doc__}: {exc.strerror or exc}")
            continue
        if isinstance(hierarchy, str):
            reasons.append(hierarchy)
            continue
        _sweep_stale(hierarchy)
        try:
            create(hierarchy, memory_mb=64, pids=1, cpus=1.0).destroy(timeout_s=2.0)
        except InternalError as exc:
            reasons.append(str(exc))
            continue
        return hierarchy, hierarchy.describe()
    why = "; ".join(reasons) or "no cgroup file system is mounted"
    if mode == "required":
        raise ConfigError(
            f"GRADER_CGROUP=required but no writable memory cgroup: {why}. Give the worker a "
            "delegated cgroup (docker compose: the worker's `cgroup: host` and read-write "
            "/sys/fs/cgroup mount; systemd: Delegate=yes), or set GRADER_CGROUP=auto to fall "
            "back to the watchdog"
        )
    return None, why


def _probe_v2(
    mounts: dict[str, tuple[Path, str]], own: dict[str, str], parent: str | None
) -> Hierarchy | str:
    """cgroup v2"""
    if "cgroup2" not in mounts or "" not in own:
        return "cgroup v2: not mounted"
    mount, root = mounts["cgroup2"]
    base = _under(mount, root, parent or own[""])
    if not base.is_dir():
        return f"cgroup v2: no cgroup {base}"
    available = (base / "cgroup.controllers").read_text().split()
    wanted = [c for c in CONTROLLERS if c in available]
    if "memory" not in wanted:
        return f"cgroup v2 at {base}: no memory controller delegated"
    enabled = set((base / "cgroup.subtree_control").read_text().split())
    missing = [c for c in wanted if c not in enabled]
    if missing:
        control = " ".join(f"+{c}" for c in missing)
        try:
            _write(base / "cgroup.subtree_control", control)
        except OSError as exc:
            if exc.errno != errno.EBUSY:
                raise
            # "No internal processes": move this cgroup's processes into a leaf, then enable.
            leaf = base / "hackathon-worker"
            leaf.mkdir(exist_ok=True)
            for pid in (base / "cgroup.procs").read_text().split():
                try:
                    _write(leaf / "cgroup.procs", pid)
                except OSError as move_exc:
                    if move_exc.errno != errno.ESRCH:
                        raise
            _write(base / "cgroup.subtree_control", control)
    return Hierarchy(2, {c: base for c in wanted})


def _probe_v1(
    mounts: dict[str, tuple[Path, str]], own: dict[str, str], parent: str | None
) -> Hierarchy | str:
    """cgroup v1"""
    parents: dict[str, Path] = {}
    for controller in CONTROLLERS:
        if controller not in mounts or controller not in own:
            continue
        mount, root = mounts[controller]
        base = _under(mount, root, parent or own[controller])
        if not base.is_dir() or not os.access(base, os.W_OK | os.X_OK):
            if controller == "memory":
                what = "not writable" if base.is_dir() else "no such cgroup"
                return f"cgroup v1 memory at {base}: {what}"
            continue
        parents[controller] = base
    if "memory" not in parents:
        return "cgroup v1: no memory controller mounted"
    return Hierarchy(1, parents)


def _under(mount: Path, mount_root: str, path: str) -> Path:
    """The directory of cgroup `path` in a hierarchy mounted at `mount` (showing `mount_root`)."""
    if mount_root != "/" and (path == mount_root or path.startswith(mount_root + "/")):
        path = path[len(mount_root) :]
    return mount / path.lstrip("/")


def _cgroup_mounts() -> dict[str, tuple[Path, str]]:
    """controller (or "cgroup2") -> (mount point, root of the hierarchy shown there)."""
    found: dict[str, tuple[Path, str]] = {}
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        root, point = fields[3], Path(fields[4].replace("\\040", " "))
        if tail[0] == "cgroup2":
            found.setdefault("cgroup2", (point, root))
        elif tail[0] == "cgroup":
            for option in tail[2].split(","):
                if option in CONTROLLERS:
                    found.setdefault(option, (point, root))
    return found


def _own_cgroups() -> dict[str, str]:
    """controller -> this process's cgroup path ("" -> its v2 path)."""
    own: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return own
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            own[controller] = path
    return own


def _sweep_stale(hierarchy: Hierarchy) -> None:
    """Remove the cgroups of runs whose worker process is gone (a crash mid-run)."""
    for parent in set(hierarchy.parents.values()):
        try:
            entries = list(parent.iterdir())
        except OSError:
            continue
        for entry in entries:
            if not entry.name.startswith(PREFIX) or not entry.is_dir():
                continue
            owner = entry.name[len(PREFIX) :].split("-", 1)[0]
            if not owner.isdigit() or Path(f"/proc/{owner}").exists():
                continue
            dirs = {c: p / entry.name for c, p in hierarchy.parents.items()}
            try:
                RunCgroup(hierarchy, entry.name, dirs).destroy(timeout_s=2.0)
            except InternalError:
                continue


# -- small file helpers --------------------------------------------------------------------------


def _write(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def _write_if_exists(path: Path, value: str) -> None:
    if path.exists():
        _write(path, value)


def _read_small(path: str | Path) -> str:
    """A small kernel file's text ("" when it cannot be read): one open, one read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return ""
    try:
        return os.read(fd, 65536).decode()
    except OSError:
        return ""
    finally:
        os.close(fd)


def _int_file(path: str | Path) -> int | None:
    try:
        return int(_read_small(path).split()[0])
    except (ValueError, IndexError):
        return None


def _keyed(path: str | Path) -> dict[str, int]:
    return _keyed_text(_read_small(path))


def _keyed_text(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            out[key] = int(value)
    return out
