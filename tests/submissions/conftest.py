"""Fixtures for the grading pipeline, reusable by other test areas.

- `make_challenge(**overrides)`: a tiny, open, published regression challenge whose data
  are real DataBlobs (train 40 rows, test 20 rows: graded in well under a second).
- `clean_broker` (tests/conftest.py): a private Redis for the test and its workers.
- `start_worker(name, ...)`: a real `celery -A hackathon.celery worker` OS process against the
  test database (transaction=True tests: it must see committed rows) and the broker.
- `wait_for(predicate)`: poll with a generous timeout (2 shared cores).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone
from hackathon.challenges.models import Challenge, DataBlob
from hackathon.testing import ManagedProcess, celery_worker_argv, child_environment

ROOT = Path(__file__).resolve().parents[2]

LINEAR_SOLUTION = """\
import numpy as np

class Model:
    def fit(self, X, y):
        X1 = np.hstack([X, np.ones((len(X), 1))])
        self.w = np.linalg.lstsq(X1, y, rcond=None)[0]
        self.loss_curve_ = [float(np.mean((X1 @ self.w - y) ** 2))]
        return self

    def predict(self, X):
        return np.hstack([X, np.ones((len(X), 1))]) @ self.w
"""

GD_SOLUTION = """\
import numpy as np

class Model:
    def fit(self, X, y):
        self.w = np.zeros(X.shape[1]); self.b = 0.0; self.loss_curve_ = []
        for _ in range({epochs}):
            err = X @ self.w + self.b - y
            self.loss_curve_.append(float(np.mean(err ** 2)))
            self.w -= 0.1 * X.T @ err / len(y); self.b -= 0.1 * err.mean()
        return self

    def predict(self, X):
        return X @ self.w + self.b
"""

SLOW_SOLUTION = """\
import time
import numpy as np

class Model:
    def fit(self, X, y):
        self.loss_curve_ = []
        for i in range({seconds} * 10):
            self.loss_curve_.append(1.0 / (i + 1))
            time.sleep(0.1)
        self.mean = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean)
"""


def npy_blob(array: np.ndarray) -> DataBlob:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    data = buffer.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    blob, _ = DataBlob.objects.get_or_create(sha256=sha, defaults={"data": data, "size": len(data)})
    return blob


@pytest.fixture
def make_challenge(db: None) -> Callable[..., Challenge]:
    counter = iter(range(1, 10_000))

    def make(**overrides: object) -> Challenge:
        n = next(counter)
        rng = np.random.default_rng(n)
        X = rng.normal(size=(60, 3))
        y = X @ np.array([1.5, -2.0, 0.5]) + 0.3 + rng.normal(scale=0.1, size=60)
        mask = np.zeros(20, dtype=bool)
        mask[:10] = True
        now = timezone.now()
        fields: dict[str, object] = {
            "slug": f"tiny-{n}",
            "title": f"Tiny regression {n}",
            "task": "regression",
            "metric": "rmse",
            "n_features": 3,
            "feature_names": ["a", "b", "c"],
            "train_X": npy_blob(X[:40]),
            "train_y": npy_blob(y[:40]),
            "test_X": npy_blob(X[40:]),
            "test_y": npy_blob(y[40:]),
            "public_mask": npy_blob(mask),
            "n_train": 40,
            "n_test": 20,
            "time_limit_s": 10.0,
            "memory_mb": 512,
            "daily_quota": 10,
            "inflight_cap": 2,
            "is_published": True,
            "start_at": now - timedelta(days=1),
            "end_at": now + timedelta(days=1),
        }
        fields.update(overrides)
        return Challenge.objects.create(**fields)

    return make


# --- workers --------------------------------------------------------------------------------
def test_database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] or "postgres"
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    return (
        f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    )


test_database_url.__test__ = False  # type: ignore[attr-defined]


@dataclass
class LiveWorker:
    name: str
    workdir: Path
    process: subprocess.Popen
    log_path: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    def log(self, lines: int = 80) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while " ready." not in self.log_path.read_text(errors="replace"):
            if self.process.poll() is not None:
                raise AssertionError(f"worker {self.name} exited:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"worker {self.name} not ready:\n{self.log()}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL the worker and everything below it, as if its machine went away."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def start_worker(
    transactional_db: None, clean_broker: str, tmp_path: Path
) -> Iterator[Callable[..., LiveWorker]]:
    started: list[LiveWorker] = []

    def start(
        name: str = "grader1",
        *,
        queues: str = "grading,grading-long",
        pool: str = "solo",
        env: dict[str, str] | None = None,
        wait: bool = True,
    ) -> LiveWorker:
        workdir = tmp_path / name
        workdir.mkdir(exist_ok=True)
        log_path = workdir / "worker.log"
        worker_env = child_environment(
            DJANGO_SETTINGS_MODULE="hackathon.settings",
            DATABASE_URL=test_database_url(),
            REDIS_URL=clean_broker,
            HACKATHON_VAR_DIR=str(workdir / "var"),
            DATASET_CACHE_DIR=str(workdir / "datasets"),
            SECRET_KEY="test-worker-key",
            WORKER_HEARTBEAT_INTERVAL_S="1",
            PYTHONUNBUFFERED="1",
        )
        worker_env.update(env or {})
        argv = celery_worker_argv(hostname=f"{name}@%h", queues=queues, pool=pool)
        process = ManagedProcess.spawn(
            name, argv, log_path=log_path, env=worker_env, cwd=workdir
        ).popen
        worker = LiveWorker(name, workdir, process, log_path, env or {})
        started.append(worker)
        if wait:
            worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()


def wait_for(
    predicate: Callable[[], object], *, timeout: float = 90, what: str = "", interval: float = 0.2
) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


def grader_ready() -> bool:
    try:
        import grader
    except ImportError:
        return False
    return callable(getattr(grader, "grade", None)) and callable(getattr(grader, "selftest", None))


requires_grader = pytest.mark.skipif(
    not grader_ready(), reason="grader.grade/selftest are not on main yet"
)
