"""The shared cache (throttle and login-attempt counters) on Redis, failing open.

Counters live in Redis so every web process sees the same counts, in a database of their own
(CACHE_REDIS_URL; never the broker's or the live streams'), so clearing the cache touches
nothing else. When Redis is unreachable (restarting, full, network), a read answers its default
and a write does nothing, with a warning in the log: requests then go unthrottled for a moment
instead of failing with 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)
T = TypeVar("T")


def _or_default(operation: str, call: Callable[[], T], default: T) -> T:
    try:
        return call()
    except UNREACHABLE as exc:
        logger.warning("Cache unreachable, %s failed open: %s", operation, exc)
        return default


class FailOpenRedisCache(RedisCache):
    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return _or_default("get", lambda: RedisCache.get(self, key, default, version), default)

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        _or_default("set", lambda: RedisCache.set(self, key, value, timeout, version), None)

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        return _or_default("add", lambda: RedisCache.add(self, key, value, timeout, version), False)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return _or_default("delete", lambda: RedisCache.delete(self, key, version), False)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        # As if the counter started now: the caller's limit is not reached by an outage.
        return _or_default("incr", lambda: RedisCache.incr(self, key, delta, version), delta)

    def get_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        return _or_default("get_many", lambda: RedisCache.get_many(self, keys, version), {})

    def set_many(
        self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[Any]:
        return _or_default(
            "set_many", lambda: RedisCache.set_many(self, data, timeout, version), list(data)
        )

    def run_script(self, script: str, *, keys: Sequence[str], args: Sequence[Any], default: T) -> T:
        """Run a Lua `script` on `keys` (cache keys, prefixed here as every other cache key):
        Redis runs it atomically, so a key cannot expire half-way. `default` when unreachable."""
        full_keys = [self.make_and_validate_key(key) for key in keys]
        client = self._cache.get_client(write=True)
        return _or_default(
            "script", lambda: client.eval(script, len(full_keys), *full_keys, *args), default
        )


def shared_cache() -> FailOpenRedisCache:
    """The default cache, which must be this backend (counters need its atomic scripts)."""
    backend = caches["default"]
    if not isinstance(backend, FailOpenRedisCache):
        raise ImproperlyConfigured(
            "CACHES['default'] must be hackathon.failopen_cache.FailOpenRedisCache: login "
            "limits and throttles count in Redis, shared by every web process"
        )
    return backend
