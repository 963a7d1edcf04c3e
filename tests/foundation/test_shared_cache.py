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


def test_the_default_cache_is_redis_at_redis_url() -> None:
    assert isinstance(caches["default"], FailOpenRedisCache)
    assert settings.CACHES["default"]["LOCATION"] == settings.REDIS_URL
    cache.set("probe", 41, 30)
    assert cache.incr("probe") == 42
    assert cache.get_many(["probe", "absent"]) == {"probe": 42}
    assert cache.add("probe", 1) is False
    assert cache.delete("probe") is True
    assert cache.get("probe") is None


def test_counts_live_in_redis_where_every_web_process_sees_them() -> None:
    cache.set("shared-count", 7, 60)
    raw = redis.Redis.from_url(settings.REDIS_URL).get(cache.make_key("shared-count"))
    assert raw == b"7"
    cache.delete("shared-count")


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
