"""The cache holding throttle counters is Redis, shared by processes, and fails open."""

from __future__ import annotations

import logging
import socket

import pytest
import redis
from django.conf import settings
from django.core.cache import cache, caches
from hackathon.failopen_cache import FailOpenRedisCache

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_default_cache_is_redis_at_cache_redis_url() -> None:
    assert isinstance(caches["default"], FailOpenRedisCache)
    assert settings.CACHES["default"]["LOCATION"] == settings.CACHE_REDIS_URL
    cache.set("probe", 41, 30)
    assert cache.incr("probe") == 42
    assert cache.get_many(["probe", "absent"]) == {"probe": 42}
    assert cache.add("probe", 1) is False
    assert cache.delete("probe") is True
    assert cache.get("probe") is None


def test_counts_live_in_redis_where_every_web_process_sees_them() -> None:
    cache.set("shared-count", 7, 60)
    raw = redis.Redis.from_url(settings.CACHE_REDIS_URL).get(cache.make_key("shared-count"))
    assert raw == b"7"
    cache.delete("shared-count")


def test_the_cache_has_a_redis_database_apart_from_the_broker_and_the_live_streams() -> None:
    """Clearing the cache (FLUSHDB) must not empty the Celery queues or the live streams."""
    cache_db = redis.Redis.from_url(settings.CACHE_REDIS_URL)
    broker_db = redis.Redis.from_url(settings.REDIS_URL)  # also the live streams' (live.py)
    assert cache_db.connection_pool.connection_kwargs.get("db", 0) != (
        broker_db.connection_pool.connection_kwargs.get("db", 0)
    )
    cache.set("where-am-i", 1, 60)
    key = cache.make_key("where-am-i")
    assert cache_db.exists(key) == 1
    assert broker_db.exists(key) == 0
    cache.delete("where-am-i")


@pytest.mark.parametrize(
    ("redis_url", "cache_url"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/1"),
        ("redis://:pw@redis:6379", "redis://:pw@redis:6379/1"),
        ("rediss://cache.example:6380/4", "rediss://cache.example:6380/5"),
        ("redis://h:6379/0?db=2&ssl_cert_reqs=none", "redis://h:6379/3?ssl_cert_reqs=none"),
        ("unix:///srv/var/redis.sock", "unix:///srv/var/redis.sock?db=1"),
        ("unix:///srv/var/redis.sock?db=7", "unix:///srv/var/redis.sock?db=8"),
        ("redis://127.0.0.1:6379/15", "redis://127.0.0.1:6379/0"),
    ],
)
def test_by_default_the_cache_uses_the_next_database_of_the_redis_url_server(
    redis_url: str, cache_url: str
) -> None:
    from hackathon.settings import _next_database, _redis_database

    assert _next_database(redis_url) == cache_url
    server, db = _redis_database(redis_url)
    assert _redis_database(cache_url) == (server, (db + 1) % 16)
    parsed = redis.connection.parse_url(cache_url)
    assert parsed.get("db", 0) == (db + 1) % 16


def test_an_unreachable_redis_fails_open_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    down = FailOpenRedisCache(
        f"redis://127.0.0.1:{closed_port()}/0",
        {"OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}},
    )
    with caplog.at_level(logging.WARNING, logger="hackathon.failopen_cache"):
        assert down.get("k", "fallback") == "fallback"
        down.set("k", 1, 30)
        assert down.add("k", 1) is False
        assert down.incr("k") == 1
        assert down.get_many(["k"]) == {}
        assert down.set_many({"k": 1}) == ["k"]
        assert down.delete("k") is False
    assert len([r for r in caplog.records if "failed open" in r.message]) == 7


def test_api_requests_are_served_while_redis_is_unreachable(client, settings) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "hackathon.failopen_cache.FailOpenRedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    response = client.post(
        "/api/v1/auth/token/",
        {"username": "nobody", "password": "x", "name": "cli"},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert client.get("/api/v1/challenges/").status_code in {200, 401, 403}
