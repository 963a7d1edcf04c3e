"""The platform as real processes for benchmarks: a PostgreSQL database of its own, a private
redis-server, grading workers (`celery -A hackathon worker`) and a web process (uvicorn).

Used by throughput.py, memory.py and load_run.py (not a benchmark itself: run_all.py skips
modules whose name starts with "_"). Everything listens on 127.0.0.1 only.

Database: BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/bench_faults,
dropped and created afresh on each run (so never point it at data you want to keep).
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_faults"

TRIVIAL_SOLUTION = """
import numpy as np


class Model:
    def fit(self, X, y):
        self.c = float(np.mean(y))
        self.loss_curve_ = [float(np.mean((y - self.c) ** 2))]

    def predict(self, X):
        return np.full(len(X), self.c)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0.0


def pss_mb(pid: int) -> float:
    """Proportional set size: shared pages (copy-on-write after fork) split between sharers,
    so the PSS of several processes adds up, unlike their RSS."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0.0


def children_of(pid: int) -> list[int]:
    """Direct children, from /proc/<pid>/task/*/children."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(x) for x in (task / "children").read_text().split()]
    return found


def descendants_of(pid: int) -> list[int]:
    out, todo = [], children_of(pid)
    while todo:
        child = todo.pop()
        out.append(child)
        todo += children_of(child)
    return out


def machine() -> str:
    model = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


def wait_until(predicate: Callable[[], object], *, timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


class Stack:
    """Start with `with Stack() as stack:`; every process it started is stopped on exit."""

    def __init__(self, *, heartbeat_s: float = 2.0) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="hk-bench-"))
        self.database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
        self.redis_port = free_port()
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.heartbeat_s = heartbeat_s
        self.processes: list[subprocess.Popen] = []
        self.workers: dict[str, subprocess.Popen] = {}

    # -- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> Stack:
        self._recreate_database()
        self._start_redis()
        env = self.env()
        os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")})
        os.environ["DJANGO_SETTINGS_MODULE"] = "hackathon.settings"
        os.environ["HACKATHON_VAR_DIR"] = env["HACKATHON_VAR_DIR"]
        subprocess.run(  # noqa: S603 - the project's own commands
            [sys.executable, str(ROOT / "manage.py"), "migrate", "--no-input", "-v", "0"],
            env=env,
            check=True,
        )
        import django

        django.setup()
        return self

    def __exit__(self, *exc: object) -> None:
        for process in reversed(self.processes):
            self._stop(process)
        from django.db import connections

        connections.close_all()

    def _recreate_database(self) -> None:
        import psycopg

        parts = urllib.parse.urlsplit(self.database_url)
        name = parts.path.lstrip("/")
        admin = parts._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')

    def _start_redis(self) -> None:
        from hackathon.embedded_redis import find_redis_server

        log = (self.workdir / "redis.log").open("wb")
        self.processes.append(
            subprocess.Popen(  # noqa: S603 - the project's own commands
                [
                    find_redis_server(),
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(self.redis_port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.workdir),
                ],  # fmt: skip
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        import redis

        def answers() -> bool:
            try:
                return bool(redis.Redis(port=self.redis_port, socket_timeout=1).ping())
            except redis.RedisError:
                return False

        wait_until(answers, timeout=20, what="redis-server")

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith("CELERY_")
        }
        env.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            SECRET_KEY="benchmark-only-secret-key-not-for-production",  # noqa: S106 - a throwaway stack on 127.0.0.1
            DJANGO_SETTINGS_MODULE="hackathon.settings",
            DEBUG="0",
            HACKATHON_VAR_DIR=str(self.workdir / "var"),
            WORKER_HEARTBEAT_INTERVAL_S=str(self.heartbeat_s),
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def _stop(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)

    # -- processes ------------------------------------------------------------------------
    def start_worker(self, name: str, *, wait: bool = True) -> subprocess.Popen:
        workdir = self.workdir / name
        workdir.mkdir(parents=True, exist_ok=True)
        log_path = workdir / "worker.log"
        env = self.env(
            WORKER_NAME=name,
            DATASET_CACHE_DIR=str(workdir / "datasets"),
            LOG_LEVEL="INFO",
        )
        process = subprocess.Popen(  # noqa: S603 - the project's own commands
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "hackathon",
                "worker",
                "-Q",
                "grading,grading-long",
                "-c",
                "1",
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "INFO",
            ],  # fmt: skip
            cwd=str(workdir),
            env=env,
            stdout=log_path.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        self.workers[name] = process
        if wait:
            self.wait_worker(name)
        return process

    def wait_worker(self, name: str) -> None:
        log_path = self.workdir / name / "worker.log"
        process = self.workers[name]

        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"worker {name} exited:\n{log_path.read_text()[-3000:]}")
            return " ready." in log_path.read_text(errors="replace")

        wait_until(ready, timeout=120, what=f"worker {name}")

    def stop_worker(self, name: str) -> None:
        process = self.workers.pop(name)
        self._stop(process)

    def start_web(self) -> tuple[subprocess.Popen, int]:
        port = free_port()
        log_path = self.workdir / "web.log"
        process = subprocess.Popen(  # noqa: S603 - the project's own commands
            [
                sys.executable,
                "-m",
                "uvicorn",
                "hackathon.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],  # fmt: skip
            cwd=str(ROOT),
            env=self.env(),
            stdout=log_path.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        import urllib.request

        def answers() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"web exited:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False

        wait_until(answers, timeout=60, what="the web process")
        return process, port

    # -- data -----------------------------------------------------------------------------
    def make_challenge(self, slug: str, *, n_train: int = 400, n_test: int = 200) -> object:
        """An open regression challenge with generous quotas (the limits are not measured)."""
        import hashlib
        import io

        import numpy as np
        from hackathon.challenges.models import Challenge, DataBlob

        def blob(array: np.ndarray) -> DataBlob:
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=False)
            data = buffer.getvalue()
            sha = hashlib.sha256(data).hexdigest()
            return DataBlob.objects.get_or_create(
                sha256=sha, defaults={"data": data, "size": len(data)}
            )[0]

        rng = np.random.default_rng(1)
        X = rng.normal(size=(n_train + n_test, 5))
        y = X @ rng.normal(size=5) + rng.normal(scale=0.1, size=n_train + n_test)
        mask = np.zeros(n_test, dtype=bool)
        mask[: n_test // 2] = True
        return Challenge.objects.create(
            slug=slug,
            title=slug.replace("-", " ").title(),
            task="regression",
            metric="rmse",
            n_features=5,
            feature_names=[f"x{i}" for i in range(5)],
            train_X=blob(X[:n_train]),
            train_y=blob(y[:n_train]),
            test_X=blob(X[n_train:]),
            test_y=blob(y[n_train:]),
            public_mask=blob(mask),
            n_train=n_train,
            n_test=n_test,
            time_limit_s=20,
            memory_mb=512,
            daily_quota=100_000,
            inflight_cap=0,
            is_published=True,
        )

    def make_teams(self, count: int, prefix: str = "bench") -> list[tuple[object, object]]:
        from django.contrib.auth import get_user_model
        from hackathon.accounts.services import team_create

        users = get_user_model()
        out = []
        for i in range(count):
            user = users.objects.create_user(username=f"{prefix}{i}", password="bench-password-1")  # noqa: S106 - benchmark users on a throwaway database
            out.append((user, team_create(user=user, name=f"{prefix.title()} {i}")))
        return out


def wait_all_finished(ids: list[int], *, timeout: float) -> None:
    from hackathon.submissions.models import State, Submission

    def done() -> bool:
        return Submission.objects.filter(pk__in=ids, state=State.FINISHED).count() == len(ids)

    wait_until(done, timeout=timeout, what=f"{len(ids)} submissions to be graded")


def print_table(title: str, header: list[str], rows: list[list[object]]) -> None:
    cells = [header, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
