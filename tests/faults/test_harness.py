"""The fault harness itself breaks things the way the fault tests claim it does."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pytest
import redis

from tests.faults.conftest import WorkerPool
from tests.faults.harness import (
    RedisServer,
    TcpProxy,
    make_unwritable_path,
    still_running,
    wait_until,
)

pytestmark = pytest.mark.slow


def test_private_redis_restart_loses_every_key(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        client = redis.Redis(host=server.host, port=server.port)
        client.rpush("grading", b"message")
        server.restart()
        assert client.llen("grading") == 0
        assert server.port != 6379
    finally:
        server.stop()


def test_cut_proxy_makes_postgres_unreachable_until_restored(postgres: dict) -> None:
    proxy = TcpProxy(("127.0.0.1", int(postgres.get("PORT") or 5432)))
    proxy.start()
    url = f"postgresql://postgres@127.0.0.1:{proxy.port}/{postgres['NAME']}"
    try:
        connection = psycopg.connect(url, autocommit=True)
        assert connection.execute("select 1").fetchone() == (1,)
        proxy.cut()
        with pytest.raises(psycopg.OperationalError):
            connection.execute("select 1")
        connection.close()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(url, connect_timeout=3)
        # The shared server itself never went down.
        direct = psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{postgres.get('PORT') or 5432}/postgres"
        )
        assert direct.execute("select 1").fetchone() == (1,)
        direct.close()
        proxy.restore()
        again = psycopg.connect(url, autocommit=True)
        assert again.execute("select 1").fetchone() == (1,)
        again.close()
    finally:
        proxy.close()


def test_unwritable_path_refuses_even_root(tmp_path: Path) -> None:
    path = make_unwritable_path(tmp_path)
    with pytest.raises(OSError):
        path.mkdir(parents=True)


def test_worker_process_starts_and_sigkill_leaves_nothing_running(workers: WorkerPool) -> None:
    worker = workers.start()
    assert worker.is_alive()
    below = worker.descendants()
    assert below, "a prefork worker has at least one pool process"
    victims = worker.kill_everything()
    wait_until(
        lambda: not still_running(victims), timeout=30, message="killed worker processes to end"
    )
    assert not worker.is_alive()


def test_worker_in_its_own_network_namespace_sees_only_the_test_services(
    workers: WorkerPool,
) -> None:
    if not workers.namespaces:
        pytest.skip("network namespaces need root (ip netns); workers share the host network")
    space = workers.namespaces[0]
    shared = subprocess.run(
        space.wrap(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "ping"]),
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert "PONG" not in shared.stdout
    private = subprocess.run(
        space.wrap(["redis-cli", "-h", space.host_ip, "-p", str(workers.redis.port), "ping"]),
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert private.stdout.strip() == "PONG"
