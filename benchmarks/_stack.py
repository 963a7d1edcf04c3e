"""The platform as real processes for benchmarks: a PostgreSQL database of its own, a private
redis-server, grading workers (`celery -A hackathon.celery worker`) and a web process (uvicorn),
launched as the tests launch them (hackathon.testing).

Used by throughput.py, memory.py and load_run.py (not a benchmark itself: run_all.py skips
modules whose name starts with "_"). Everything listens on 127.0.0.1 only.

Database: BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/bench_faults,
dropped and created afresh on each run (so never point it at data you want to keep).
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
from hackathon.testing import (
    SERVICE_URLS,
    ManagedProcess,
    RedisServer,
    celery_worker_argv,
    child_environment,
    database_name,
    free_port,
    fresh_postgres_database,
    http_ok,
    uvicorn_argv,
    wait_until,
)

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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rss_mb(pid: int) -> float:
    try:
        return psutil.Process(pid).memory_info().rss / 2**20
    except psutil.Error:
        return 0.0


def pss_mb(pid: int) -> float:
    """Proportional set size: shared pages (copy-on-write after fork) split between sharers,
    so the PSS of several processes adds up, unlike their RSS."""
    try:
        return psutil.Process(pid).memory_full_info().pss / 2**20
    except psutil.Error:
        return 0.0


def children_of(pid: int) -> list[int]:
    try:
        return [child.pid for child in psutil.Process(pid).children()]
    except psutil.Error:
        return []


def descendants_of(pid: int) -> list[int]:
    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def machine() -> str:
    model = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


class Stack:
    """Start with `with Stack() as stack:`; every process it started is stopped on exit."""

    def __init__(self, *, heartbeat_s: float = 2.0) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="hk-bench-"))
        self.database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
        self.redis = RedisServer(self.workdir / "redis")
        self.redis_port = self.redis.port
        self.redis_url = self.redis.url()
        self.heartbeat_s = heartbeat_s
        self.processes: list[ManagedProcess] = []
        self.workers: dict[str, ManagedProcess] = {}

    # -- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> Stack:
        fresh_postgres_database(self.database_url, database_name(self.database_url))
        self.redis.start()
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
            process.stop(grace=20)
        self.redis.stop()
        from django.db import connections

        connections.close_all()

    def env(self, **extra: str) -> dict[str, str]:
        env = child_environment(
            drop_prefixes=("CELERY_",),
            drop_keys=SERVICE_URLS,
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

    # -- processes ------------------------------------------------------------------------
    def start_worker(self, name: str, *, wait: bool = True) -> ManagedProcess:
        workdir = self.workdir / name
        workdir.mkdir(parents=True, exist_ok=True)
        env = self.env(
            WORKER_NAME=name,
            DATASET_CACHE_DIR=str(workdir / "datasets"),
            LOG_LEVEL="INFO",
        )
        process = ManagedProcess.spawn(
            name,
            celery_worker_argv(hostname=f"{name}@%h", queues="grading,grading-long"),
            log_path=workdir / "worker.log",
            env=env,
            cwd=workdir,
        )
        self.processes.append(process)
        self.workers[name] = process
        if wait:
            self.wait_worker(name)
        return process

    def wait_worker(self, name: str) -> None:
        process = self.workers[name]

        def ready() -> bool:
            process.check_alive()
            return " ready." in process.log_text()

        wait_until(ready, timeout=120, message=f"worker {name}", interval=0.1)

    def stop_worker(self, name: str) -> None:
        self.workers.pop(name).stop(grace=20)

    def start_web(self) -> tuple[ManagedProcess, int]:
        port = free_port()
        process = ManagedProcess.spawn(
            "web", uvicorn_argv(port), log_path=self.workdir / "web.log", env=self.env(), cwd=ROOT
        )
        self.processes.append(process)

        def answers() -> bool:
            process.check_alive()
            return http_ok(f"http://127.0.0.1:{port}/", timeout=2)

        wait_until(answers, timeout=60, message="the web process", interval=0.1)
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


def wait_all_finished(ids: list[int], *, timeout: float, interval: float = 0.1) -> None:
    from hackathon.submissions.models import State, Submission

    def done() -> bool:
        return Submission.objects.filter(pk__in=ids, state=State.FINISHED).count() == len(ids)

    message = f"{len(ids)} submissions to be graded"
    wait_until(done, timeout=timeout, message=message, interval=interval)


def print_table(title: str, header: list[str], rows: list[list[object]]) -> None:
    cells = [header, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
