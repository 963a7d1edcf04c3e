"""Failed password logins, counted per client address and per username in the shared cache
(Redis), for every route that takes a password: the HTML login form and the API's token
endpoint (`POST /api/v1/auth/token/`). Past LOGIN_FAILURES_LIMIT failures in a window of
LOGIN_FAILURES_WINDOW_S seconds (opened by the first failure), an address or a username is
refused, even with the right password, until the window ends.

Each count is one Lua script (INCR, and EXPIRE when the key has no expiry yet) and each check
one script reading every key with its TTL: Redis runs a script atomically, so a window that
ends between two steps cannot leave a counter without expiry or fail a request.
"""

from __future__ import annotations

import hashlib

from django.conf import settings

from hackathon.failopen_cache import shared_cache

# KEYS: the counters; ARGV[1]: the window in seconds. Returns each counter's new value.
_RECORD_LUA = """
local counts = {}
for i, key in ipairs(KEYS) do
  counts[i] = redis.call('INCR', key)
  if redis.call('TTL', key) < 0 then
    redis.call('EXPIRE', key, ARGV[1])
  end
end
return counts
"""

# KEYS: the counters; ARGV[1]: the limit. Returns the seconds until every counter at or past
# the limit has expired (0: none is).
_RETRY_AFTER_LUA = """
local wait = 0
for _, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= tonumber(ARGV[1]) then
    wait = math.max(wait, redis.call('TTL', key))
  end
end
return wait
"""


def _keys(*, address: str, username: str) -> list[str]:
    # Hashed: a username may hold any character, and keys stay short.
    user = hashlib.sha256(username.casefold().encode()).hexdigest()[:32]
    return [f"login-failures:addr:{address}", f"login-failures:user:{user}"]


def login_retry_after(*, address: str, username: str) -> int | None:
    """Seconds until a login from `address` for `username` may be tried again, or None."""
    wait = shared_cache().run_script(
        _RETRY_AFTER_LUA,
        keys=_keys(address=address, username=username),
        args=[settings.LOGIN_FAILURES_LIMIT],
        default=0,
    )
    return int(wait) if wait and int(wait) > 0 else None


def login_failure_record(*, address: str, username: str) -> None:
    """Count one failed attempt against the address and the username (concurrent failures
    are all counted)."""
    shared_cache().run_script(
        _RECORD_LUA,
        keys=_keys(address=address, username=username),
        args=[settings.LOGIN_FAILURES_WINDOW_S],
        default=[],
    )
