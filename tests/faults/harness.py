"""Real processes for fault tests: a private Redis, a TCP proxy in front of PostgreSQL,
grading workers started as separate OS processes, and the means to break each of them.
The launching itself (command lines, environment, the Redis server) is hackathon.testing's.

Nothing here imports Django: the fixtures in conftest.py glue these pieces to the test
database and to the Celery app of the test process.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from hackathon.testing import RedisServer as RedisServer  # the fault tests' private Redis
from hackathon.testing import (
    celery_beat_argv,
    celery_worker_argv,
    child_environment,
    free_port,
    wait_until,
)

# --- PostgreSQL behind a proxy we can cut ----------------------------------------------------


class TcpProxy:
    """Forwards a local port to `target`; `cut()` makes the target unreachable for clients.

    Cut: every open connection is reset and new ones are refused (the listening socket
    closes), as when the database host drops off the network. `restore()` listens again on
    the same port. The PostgreSQL server itself keeps running for everyone else.
    """

    def __init__(
        self, target: tuple[str, int], *, host: str = "127.0.0.1", port: int | None = None
    ) -> None:
        self.target = target
        self.host = host
        self.port = port or free_port(host)
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.connections_accepted = 0
        self.is_cut = False

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(128)
        self._listener = listener
        self.is_cut = False
        threading.Thread(target=self._accept_loop, args=(listener,), daemon=True).start()

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # listener closed by cut()/close()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self.is_cut:
                    client.close()
                    upstream.close()
                    continue
                self._sockets.update((client, upstream))
                self.connections_accepted += 1
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()
            with self._lock:
                self._sockets.discard(src)
                self._sockets.discard(dst)

    def cut(self) -> None:
        with self._lock:
            self.is_cut = True
            listener, self._listener = self._listener, None
            sockets = list(self._sockets)
        if listener:
            listener.close()
        for sock in sockets:
            # SO_LINGER 0: the peer sees a reset, not a polite end of stream.
            with contextlib.suppress(OSError):
                sock.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
            # shutdown() wakes the pump thread blocked in recv(); close() alone would not,
            # and the connection would live on.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def restore(self) -> None:
        self.start()

    def close(self) -> None:
        self.cut()


# --- Network namespaces (a worker "on another machine") ------------------------------------


@dataclass
class NetworkNamespace:
    """A network namespace linked to the host by a veth pair; the host end is `host_ip`.

    A worker inside reaches only what listens on `host_ip`: the private Redis and the
    PostgreSQL proxy of the test, never 127.0.0.1 of the host.
    """

    name: str
    index: int
    host_ip: str = ""
    ns_ip: str = ""
    created: bool = field(default=False, init=False)

    @property
    def _veth_host(self) -> str:
        return f"vh{os.getpid() % 100000}x{self.index}"[:15]

    @property
    def _veth_ns(self) -> str:
        return f"vn{os.getpid() % 100000}x{self.index}"[:15]

    def create(self) -> None:
        used = subprocess.run(
            ["ip", "-4", "-o", "addr"], capture_output=True, text=True, timeout=20
        ).stdout
        start = (os.getpid() * 3 + self.index) % (50 * 250)
        for offset in range(50 * 250):
            slot = (start + offset) % (50 * 250)
            subnet, third = 200 + slot // 250, slot % 250
            if f" 10.{subnet}.{third}." not in used:
                break
        self.host_ip = f"10.{subnet}.{third}.1"
        self.ns_ip = f"10.{subnet}.{third}.2"
        commands = [
            ["ip", "netns", "add", self.name],
            ["ip", "link", "add", self._veth_host, "type", "veth", "peer", "name", self._veth_ns],
            ["ip", "link", "set", self._veth_ns, "netns", self.name],
            ["ip", "addr", "add", f"{self.host_ip}/30", "dev", self._veth_host],
            ["ip", "link", "set", self._veth_host, "up"],
            [
                "ip",
                "netns",
                "exec",
                self.name,
                "ip",
                "addr",
                "add",
                f"{self.ns_ip}/30",
                "dev",
                self._veth_ns,
            ],
            ["ip", "netns", "exec", self.name, "ip", "link", "set", self._veth_ns, "up"],
            ["ip", "netns", "exec", self.name, "ip", "link", "set", "lo", "up"],
        ]
        self.created = True
        for command in commands:
            subprocess.run(command, check=True, capture_output=True, timeout=20)

    def partition(self) -> None:
        """Take the link down: packets to and from the namespace are lost (no refusal, no
        reset), as when a worker machine drops off the network."""
        subprocess.run(["ip", "link", "set", self._veth_host, "down"], check=True, timeout=20)

    def heal(self) -> None:
        subprocess.run(["ip", "link", "set", self._veth_host, "up"], check=True, timeout=20)

    def wrap(self, argv: list[str]) -> list[str]:
        # nsenter switches the network namespace only: `ip netns exec` would also remount
        # /sys, hiding the cgroup hierarchies a grading worker limits its sandboxes with.
        return ["nsenter", f"--net=/run/netns/{self.name}", "--", *argv]

    def delete(self) -> None:
        if not self.created:
            return
        subprocess.run(["ip", "link", "del", self._veth_host], capture_output=True, timeout=20)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=20)
        self.created = False


def remove_stale_namespaces(prefix: str = "hkw") -> list[str]:
    """Delete namespaces (and their host veth ends) left by test sessions that were killed:
    names are `<prefix><pid>n<index>`, stale when that pid is no longer running."""
    listing = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, timeout=20
    ).stdout
    removed = []
    for line in listing.splitlines():
        match = re.match(rf"^{prefix}(\d+)n(\d+)\b", line.strip())
        if not match or psutil.pid_exists(int(match.group(1))):
            continue
        pid, index = int(match.group(1)), int(match.group(2))
        veth = f"vh{pid % 100000}x{index}"[:15]
        subprocess.run(["ip", "link", "del", veth], capture_output=True, timeout=20)
        subprocess.run(["ip", "netns", "del", match.group(0)], capture_output=True, timeout=20)
        removed.append(match.group(0))
    return removed


def network_namespaces_work() -> bool:
    """True when this process may create network namespaces and veth pairs (root, CAP_NET_ADMIN)."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        return False
    probe = NetworkNamespace(name=f"hkprobe{os.getpid()}", index=49)
    try:
        probe.create()
        return True
    except (subprocess.SubprocessError, OSError):
        return False
    finally:
        probe.delete()


# --- Grading workers -----------------------------------------------------------------------


@dataclass
class WorkerProcess:
    """`celery -A hackathon.celery worker -Q grading` as its own OS process (its own session).

    Each has its own scratch dir and dataset cache, as a worker on another machine would;
    it shares only DATABASE_URL and REDIS_URL with the platform.
    """

    name: str
    workdir: Path
    database_url: str
    redis_url: str
    queues: str = "grading"
    concurrency: int = 1
    extra_env: dict[str, str] = field(default_factory=dict)
    netns: NetworkNamespace | None = None
    process: subprocess.Popen | None = field(default=None, init=False)

    @property
    def scratch_dir(self) -> Path:
        return self.workdir / "scratch"

    @property
    def cache_dir(self) -> Path:
        return self.workdir / "datasets"

    @property
    def log_path(self) -> Path:
        return self.workdir / "worker.log"

    def env(self) -> dict[str, str]:
        env = child_environment(
            drop_prefixes=("PYTEST_", "DJANGO_", "CELERY_"),
            DJANGO_SETTINGS_MODULE="hackathon.settings",
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            DATASET_CACHE_DIR=str(self.cache_dir),
            WORKER_NAME=self.name,
            HACKATHON_VAR_DIR=str(self.workdir / "var"),
            SECRET_KEY="fault-test-worker-key",
            PYTHONUNBUFFERED="1",
            LOG_LEVEL="INFO",
        )
        env.update(self.extra_env)
        return env

    def argv(self) -> list[str]:
        return celery_worker_argv(
            hostname=f"{self.name}@%h", queues=self.queues, concurrency=self.concurrency
        )

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for path in (self.scratch_dir, self.cache_dir, self.workdir / "var"):
            path.mkdir(parents=True, exist_ok=True)
        argv = self.argv()
        if self.netns:
            argv = self.netns.wrap(argv)
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open by the child
        self.process = subprocess.Popen(
            argv,
            cwd=str(self.workdir),
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, timeout: float = 90) -> None:
        def ready() -> bool:
            if self.process and self.process.poll() is not None:
                raise AssertionError(
                    f"worker {self.name} exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            return " ready." in self.log_path.read_text(errors="replace")

        wait_until(
            ready, timeout=timeout, message=lambda: f"worker {self.name} ready:\n{self.log_tail()}"
        )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def main_process(self) -> psutil.Process:
        """The Celery main process (below `nsenter`, which execs, so the same pid)."""
        return psutil.Process(self.pid)

    def is_alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def descendants(self) -> list[psutil.Process]:
        """Every process below the worker, sandboxes included (found by parent links, so a
        process that started its own session or pid namespace is still found)."""
        try:
            return self.main_process.children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def pool_children(self) -> list[psutil.Process]:
        try:
            return self.main_process.children(recursive=False)
        except psutil.NoSuchProcess:
            return []

    def kill_pool_child(self) -> psutil.Process:
        """SIGKILL the prefork child that runs tasks: the main process sees the worker lost."""
        children = self.pool_children()
        assert children, f"worker {self.name} has no pool child:\n{self.log_tail()}"
        busy = [c for c in children if c.children(recursive=True)] or children
        busy[0].send_signal(signal.SIGKILL)
        return busy[0]

    def kill_everything(self) -> list[psutil.Process]:
        """SIGKILL the worker and every process below it at once: the machine went away."""
        victims = [self.main_process, *self.descendants()]
        for proc in victims:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.send_signal(signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        if self.process:
            self.process.wait(timeout=30)
        return victims

    def kill_celery_processes(self) -> tuple[list[psutil.Process], list[psutil.Process]]:
        """SIGKILL the Celery main process and its pool processes, nothing else.

        Returns (killed, left): `left` are the processes below the pool (the sandbox), which
        must end by themselves once their parent is gone.
        """
        pool = self.pool_children()
        left = [p for child in pool for p in child.children(recursive=True)]
        killed = [self.main_process, *pool]
        for proc in killed:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.send_signal(signal.SIGKILL)
        if self.process:
            self.process.wait(timeout=30)
        return killed, left

    def pause(self) -> None:
        """SIGSTOP the worker and its pool: it holds its connections but takes nothing new
        (its pending BRPOP times out on the server within a second)."""
        for proc in [self.main_process, *self.descendants()]:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        for proc in [self.main_process, *self.descendants()]:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.send_signal(signal.SIGCONT)

    def stop(self, timeout: float = 30) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL of anything left."""
        if not self.process:
            return
        if self.process.poll() is None:
            self.resume()
            below = self.descendants()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                below = self.descendants()
                self.kill_everything()
            for proc in below:
                with contextlib.suppress(psutil.NoSuchProcess):
                    proc.kill()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)


@dataclass
class BeatProcess(WorkerProcess):
    """`celery -A hackathon.celery beat`: sends the periodic jobs declared in the settings."""

    def argv(self) -> list[str]:
        return celery_beat_argv(schedule=self.workdir / "beat-schedule")

    def wait_ready(self, timeout: float = 90) -> None:
        def ready() -> bool:
            if self.process and self.process.poll() is not None:
                raise AssertionError(
                    f"beat exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            return "beat: Starting" in self.log_path.read_text(errors="replace")

        wait_until(ready, timeout=timeout, message=lambda: f"beat ready:\n{self.log_tail()}")


def still_running(processes: Iterable[psutil.Process]) -> list[psutil.Process]:
    """The processes among `processes` that are still alive (zombies count as gone)."""
    alive = []
    for proc in processes:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.NoSuchProcess:
            continue
    return alive


def describe(processes: Iterable[psutil.Process]) -> str:
    parts = []
    for proc in processes:
        try:
            parts.append(f"{proc.pid} {' '.join(proc.cmdline())[:160]}")
        except psutil.Error:
            parts.append(f"{proc.pid} (gone)")
    return "; ".join(parts) or "none"


# --- Disks ---------------------------------------------------------------------------------


def make_unwritable_path(base: Path) -> Path:
    """A path no process can create anything under, root included: its parent is a file."""
    blocker = base / "not-a-directory"
    blocker.write_text("scratch cannot live below a regular file\n")
    return blocker / "scratch"


@dataclass
class SmallTmpfs:
    """A tiny tmpfs (root only): a scratch disk that fills up after `size_kb`."""

    path: Path
    size_kb: int = 64
    mounted: bool = field(default=False, init=False)

    def mount(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "mount",
                "-t",
                "tmpfs",
                "-o",
                f"size={self.size_kb}k,mode=0777",
                "tmpfs",
                str(self.path),
            ],
            check=True,
            capture_output=True,
            timeout=20,
        )
        self.mounted = True

    def fill(self) -> None:
        """Write until ENOSPC: the disk is full."""
        with contextlib.suppress(OSError), open(self.path / "filler", "wb") as handle:
            while True:
                handle.write(b"\0" * 4096)
                handle.flush()

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True, timeout=20)
            self.mounted = False


def can_mount_tmpfs(base: Path) -> bool:
    if os.geteuid() != 0:
        return False
    probe = SmallTmpfs(base / "tmpfs-probe", size_kb=16)
    try:
        probe.mount()
        return True
    except (subprocess.SubprocessError, OSError):
        return False
    finally:
        probe.unmount()
