"""Fixtures for fault tests: real grading workers as OS processes around the test database.

Every test here runs on PostgreSQL (the issue's faults are about a real database server),
with `transaction=True` so the worker processes see the rows the test commits. Each test
gets a private Redis (restartable without touching the machine's shared one), and every
worker reaches PostgreSQL through its own TCP proxy that the test can cut.

Where the machine allows it (root: network namespaces), each worker runs in its own
network namespace, as on another machine: it sees only the test's Redis and its proxy.
Set FAULTS_NETNS=0 to keep workers on the host network.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.celery_broker import celery_broker_switched
from tests.faults.harness import (
    BeatProcess,
    NetworkNamespace,
    RedisServer,
    TcpProxy,
    WorkerProcess,
    network_namespaces_work,
    remove_stale_namespaces,
    still_running,
    wait_until,
)

pytestmark = pytest.mark.slow


def _postgres_target() -> tuple[str, int]:
    from django.db import connection

    return (
        connection.settings_dict.get("HOST") or "127.0.0.1",
        int(connection.settings_dict.get("PORT") or 5432),
    )


@pytest.fixture
def postgres(transactional_db: None) -> Iterator[dict]:
    """The committed-transaction test database on PostgreSQL, or a skip saying why.

    On the way out it waits for other sessions (killed workers, cut proxies) to leave,
    so that the flush and the final drop of the test database are not blocked.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip(
            "fault tests run real worker processes against a database server: "
            "set DATABASE_URL to PostgreSQL (CI does)"
        )
    yield dict(connection.settings_dict)
    with contextlib.suppress(AssertionError):
        wait_until(lambda: _other_sessions(connection) == 0, timeout=20, interval=0.2)


def _other_sessions(connection: object) -> int:
    with connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute(
            "select count(*) from pg_stat_activity "
            "where datname = current_database() and pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


# --- Network: namespaces for workers, when allowed ------------------------------------------

_NETNS_COUNT = 3


@pytest.fixture(scope="session")
def worker_namespaces() -> Iterator[list[NetworkNamespace]]:
    """Up to three network namespaces for the session (empty when not allowed)."""
    if os.environ.get("FAULTS_NETNS", "1") == "0" or not network_namespaces_work():
        yield []
        return
    remove_stale_namespaces()
    spaces = []
    try:
        for index in range(_NETNS_COUNT):
            space = NetworkNamespace(name=f"hkw{os.getpid()}n{index}", index=index)
            space.create()
            spaces.append(space)
        yield spaces
    finally:
        for space in spaces:
            space.delete()


# --- Redis ------------------------------------------------------------------------------------


@pytest.fixture
def private_redis(
    tmp_path: Path, worker_namespaces: list[NetworkNamespace]
) -> Iterator[RedisServer]:
    """A redis-server for this test only; bound to 127.0.0.1 and each namespace's host end."""
    server = RedisServer(
        tmp_path / "redis",
        host="127.0.0.1",
        extra_binds=tuple(space.host_ip for space in worker_namespaces),
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def broker(private_redis: RedisServer, settings: object) -> Iterator[str]:
    """Point this test process (Celery producer, live publisher) at the private Redis;
    everything goes back to the session's broker afterwards (tests/celery_broker.py)."""
    with celery_broker_switched(private_redis.url(), settings) as url:
        yield url


# --- Live events --------------------------------------------------------------------------


@dataclass
class LiveEvents:
    """Every message published on the private Redis, recorded by a pattern subscription."""

    redis: RedisServer
    messages: list[tuple[str, object]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        import redis

        # Keep the client as long as the subscription: a Redis client closes its connection
        # pool when it is freed, the subscription's connection included. Freed at the end of
        # this method, it cut the connection under the thread already reading it, which then
        # died (AttributeError inside redis-py) and recorded nothing more, now and then.
        self._client = redis.Redis(host=self.redis.host, port=self.redis.port)
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        self._pubsub.psubscribe("*")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import redis

        while not self._stop.is_set():
            try:
                message = self._pubsub.get_message(timeout=0.2)
            except (redis.RedisError, OSError, ValueError):
                time.sleep(0.2)  # the server restarted: resubscribe
                with contextlib.suppress(redis.RedisError, OSError):
                    self._pubsub.psubscribe("*")
                continue
            if not message or message.get("type") != "pmessage":
                continue
            channel = message["channel"].decode()
            raw = message["data"].decode(errors="replace")
            # hackathon.live publishes "<stream id> <json payload>".
            _, _, payload = raw.partition(" ")
            try:
                data: object = json.loads(payload or raw)
            except ValueError:
                data = raw
            self.messages.append((channel, data))

    def on(self, topic: str, event: str | None = None) -> list[dict]:
        """Payloads published on `topic` (e.g. "submission:12"), optionally of one event."""
        found = []
        for channel, data in list(self.messages):
            if not channel.endswith(":" + topic) and channel != topic:
                continue
            if not isinstance(data, dict):
                continue
            if event is None or data.get("event") == event:
                found.append(data)
        return found

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with contextlib.suppress(Exception):
            self._pubsub.close()
        with contextlib.suppress(Exception):
            self._client.close()


@pytest.fixture
def live_events(private_redis: RedisServer) -> Iterator[LiveEvents]:
    recorder = LiveEvents(private_redis)
    recorder.start()
    yield recorder
    recorder.stop()


# --- Workers ------------------------------------------------------------------------------


@dataclass
class WorkerPool:
    """Starts workers for one test and makes sure none of their processes outlives it."""

    base: Path
    database: dict
    redis: RedisServer
    namespaces: list[NetworkNamespace]
    workers: list[WorkerProcess] = field(default_factory=list)
    proxies: dict[str, TcpProxy] = field(default_factory=dict)
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def start(
        self,
        *,
        name: str | None = None,
        wait: bool = True,
        queues: str = "grading,grading-long",
        env: dict[str, str] | None = None,
        disk: Path | None = None,
        kind: type[WorkerProcess] = WorkerProcess,
    ) -> WorkerProcess:
        """Start a worker; `disk` replaces its local writable storage on the host (the
        dataset cache) with the given path, e.g. an unwritable or a full one."""
        index = next(self._names)
        name = name or f"worker-{index}"
        space = self.namespaces[(index - 1) % len(self.namespaces)] if self.namespaces else None
        host = space.host_ip if space else "127.0.0.1"
        proxy = TcpProxy(_postgres_target(), host=host)
        proxy.start()
        self.proxies[name] = proxy
        database_url = (
            f"postgres://{self.database.get('USER') or 'postgres'}@{host}:{proxy.port}/"
            f"{self.database['NAME']}"
        )
        extra_env = {"DATABASE_CONN_MAX_AGE": "0", **FAST_WORKER_ENV, **(env or {})}
        if disk is not None:
            extra_env["DATASET_CACHE_DIR"] = str(disk / "datasets")
        worker = kind(
            name=name,
            workdir=self.base / name,
            database_url=database_url,
            redis_url=f"redis://{host}:{self.redis.port}/0",
            queues=queues,
            extra_env=extra_env,
            netns=space,
        )
        worker.start()
        self.workers.append(worker)
        if wait:
            worker.wait_ready()
        return worker

    def start_beat(self, *, env: dict[str, str] | None = None) -> WorkerProcess:
        """A beat process plus a worker on the default queue, where periodic jobs run."""
        self.start(name="default-queue", queues="default", env=env)
        return self.start(name="beat", kind=BeatProcess, env=env)

    def proxy_of(self, worker: WorkerProcess) -> TcpProxy:
        return self.proxies[worker.name]

    def logs(self) -> str:
        return "\n".join(f"--- {w.name} ---\n{w.log_tail(40)}" for w in self.workers)

    def shutdown(self) -> None:
        """SIGKILL every worker and whatever runs below it (a warm shutdown would wait for
        running grades; the tests that care about shutdowns do them explicitly)."""
        victims = []
        for worker in self.workers:
            if worker.is_alive():
                victims += worker.kill_everything()
        for proxy in self.proxies.values():
            proxy.close()
        with contextlib.suppress(AssertionError):
            wait_until(lambda: not still_running(victims), timeout=20)


@pytest.fixture
def workers(
    postgres: dict,
    broker: str,
    private_redis: RedisServer,
    worker_namespaces: list[NetworkNamespace],
    tmp_path: Path,
) -> Iterator[WorkerPool]:
    pool = WorkerPool(
        base=tmp_path / "workers",
        database=postgres,
        redis=private_redis,
        namespaces=worker_namespaces,
    )
    yield pool
    pool.shutdown()


# --- The sweeper, as beat would run it ------------------------------------------------------


@dataclass
class Sweeper:
    """Runs the platform's periodic sweep in this process, with short timings."""

    runs: int = 0
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    resent: list[int] = field(default_factory=list)

    def __call__(self) -> None:
        from hackathon.submissions.sweeper import sweep_submissions

        report = sweep_submissions()
        self.runs += 1
        self.requeued += report.requeued
        self.failed += report.failed
        self.resent += report.resent


@pytest.fixture
def sweeper(settings: object, broker: str) -> Sweeper:
    """Short timings for the sweeper: a worker silent for 3 s is gone, a queued submission
    with no message for 1 s is re-sent, a run may overstay its limit by 2 s."""
    settings.WORKER_HEARTBEAT_TIMEOUT_S = 3.0  # type: ignore[attr-defined]
    settings.GRADING_QUEUED_GRACE_S = 1.0  # type: ignore[attr-defined]
    settings.GRADING_STALE_MARGIN_S = 2.0  # type: ignore[attr-defined]
    settings.GRADING_UNACKED_STALE_S = 3.0  # type: ignore[attr-defined]
    return Sweeper()


# Worker settings that make faults show up within seconds rather than minutes.
FAST_WORKER_ENV = {
    "WORKER_HEARTBEAT_INTERVAL_S": "0.5",
    "WORKER_HEARTBEAT_TIMEOUT_S": "3",
    "GRADING_RETRY_BACKOFF_S": "0.5",
    "GRADING_STALE_MARGIN_S": "2",
    "GRADING_QUEUED_GRACE_S": "1",
    "GRADING_UNACKED_STALE_S": "3",
    "SWEEPER_INTERVAL_S": "1",
    # A platform fault ends the submission after GRADING_MAX_ATTEMPTS, as the tests that
    # count attempts expect; the tests of held retries set a deadline of their own.
    "GRADING_RETRY_DEADLINE_S": "0",
}
