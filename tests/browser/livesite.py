"""The platform as real processes, for the browser journeys.

`LiveSite` runs `hackathon up` itself (the ASGI server, a Celery worker grading in the real
sandbox, beat, its embedded Redis) on a free 127.0.0.1 port, in a temporary var dir, on a
database of its own: a PostgreSQL database created for the session when DATABASE_URL names
a PostgreSQL server, else the embedded SQLite file. Nothing of it runs in the pytest
process, so the browser (Playwright's event loop) and Django's ORM never share a thread.
"""

from __future__ import annotations

import os
import re
import secrets
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

ORGANIZER_USERNAME = "organizer"
ORGANIZER_PASSWORD = "browser-organizer-" + "pass-7Qx"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _postgres_admin_dsn(url: str) -> tuple[str, str]:
    """The URL of the server's maintenance database, and the database name in `url`."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "postgres"
    return urlunsplit(parts._replace(path="/postgres")), name


def _postgres_execute(admin_url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(statement)


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log_path: Path

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class LiveSite:
    """One platform instance; `start()` blocks until it serves pages and a worker listens."""

    workdir: Path
    database_url: str | None = None
    challenges_dir: Path | None = None
    port: int = field(default_factory=free_port)
    processes: list[Process] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    _dropped_database: str | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- environment ----------------------------------------------------------------
    def _database(self) -> str | None:
        """A PostgreSQL database made for this site, or None: SQLite under the var dir."""
        if self.database_url and self.database_url.startswith(("postgres://", "postgresql://")):
            admin_url, name = _postgres_admin_dsn(self.database_url)
            dedicated = f"{name}_browser"[:63]
            _postgres_execute(admin_url, f'DROP DATABASE IF EXISTS "{dedicated}" WITH (FORCE)')
            _postgres_execute(admin_url, f'CREATE DATABASE "{dedicated}"')
            self._dropped_database = dedicated
            return urlunsplit(urlsplit(self.database_url)._replace(path=f"/{dedicated}"))
        return None

    def _environment(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            # The site gets its own database and its own embedded Redis (as on a laptop):
            # no Celery message or pub/sub event of another test session reaches it.
            if not key.startswith(("PYTEST_", "DJANGO_", "DATABASE_URL", "REDIS_URL", "HACKATHON_"))
        }
        env.update(
            {
                "HACKATHON_VAR_DIR": str(self.workdir / "var"),
                "SECRET_KEY": secrets.token_urlsafe(40),
                "DEBUG": "0",
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "PYTHONUNBUFFERED": "1",
                "HACKATHON_ADMIN_USER": ORGANIZER_USERNAME,
                "HACKATHON_ADMIN_PASSWORD": ORGANIZER_PASSWORD,
            }
        )
        database_url = self._database()
        if database_url:
            env["DATABASE_URL"] = database_url
        if self.challenges_dir is not None:
            env["CHALLENGES_DIR"] = str(self.challenges_dir)
        return env

    # --- processes ------------------------------------------------------------------
    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Process:
        log_path = self.workdir / f"{name}.log"
        log = log_path.open("wb")
        popen = subprocess.Popen(  # noqa: S603 - fixed argv built here
            argv,
            cwd=self.workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() ends all its children
        )
        log.close()
        process = Process(name, popen, log_path)
        self.processes.append(process)
        return process

    def _check_alive(self) -> None:
        for process in self.processes:
            code = process.popen.poll()
            if code is not None:
                raise RuntimeError(f"{process.name} exited with status {code}:\n{process.tail()}")

    def start(self) -> None:
        """`hackathon up` on a free port, with one grading slot; wait until it serves and grades."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.env = self._environment()
        command = [str(BIN / "hackathon"), "up", "--host", "127.0.0.1", "--port", str(self.port)]
        up = self._spawn("up", [*command, "--concurrency", "1", "--grace", "5"], env=self.env)
        # Migrations, the challenge bundles and the organizer come first, then the children.
        self._wait_until(self._serves_pages, "the web server answers /healthz", 180)
        self._wait_until(
            lambda: re.search(rb"grading-\d+@\S+ ready\.", up.log_path.read_bytes()) is not None,
            "the Celery grading worker is ready",
            90,
        )

    def _serves_pages(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=5) as response:  # noqa: S310
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def _wait_until(self, condition, what: str, timeout: float) -> None:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while not condition():
            self._check_alive()
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {p.name}\n{p.tail()}" for p in self.processes)
                raise RuntimeError(f"timed out after {timeout:.0f} s waiting until {what}\n{logs}")
            time.sleep(0.2)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ({p.log_path})\n{p.tail(80)}" for p in self.processes)

    def stop(self) -> None:
        """SIGTERM to `hackathon up`, which stops its children; kill what is left after 30 s."""
        for process in self.processes:
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait(timeout=5)
            # Its process group is ours alone (a new session): nothing of it may outlive it.
            _signal_group(process.popen.pid, signal.SIGKILL)
        self.processes.clear()
        if self._dropped_database and self.database_url:
            admin_url, _ = _postgres_admin_dsn(self.database_url)
            _postgres_execute(
                admin_url, f'DROP DATABASE IF EXISTS "{self._dropped_database}" WITH (FORCE)'
            )
