"""Failed password logins on the HTML form, counted per client address and per username in the
shared cache (Redis): past the limit, further attempts are refused until the window ends."""

from __future__ import annotations

import time

from django.core.cache import cache

LOGIN_FAILURES_LIMIT = 10
LOGIN_FAILURES_WINDOW_S = 300


def _keys(*, address: str, username: str) -> list[str]:
    return [f"login-failures:addr:{address}", f"login-failures:user:{username.casefold()}"]


def login_retry_after(*, address: str, username: str) -> int | None:
    """Seconds until a login from `address` for `username` may be tried again, or None."""
    now = time.time()
    waits = []
    for key in _keys(address=address, username=username):
        counts = cache.get_many([key, f"{key}:until"])
        if counts.get(key, 0) >= LOGIN_FAILURES_LIMIT:
            until = counts.get(f"{key}:until", now + LOGIN_FAILURES_WINDOW_S)
            waits.append(max(1, int(until - now) + 1))
    return max(waits) if waits else None


def login_failure_record(*, address: str, username: str) -> None:
    """Count one failed attempt against the address and the username (a fixed window opened by
    the first failure; Redis INCR, so concurrent attempts are all counted)."""
    now = time.time()
    for key in _keys(address=address, username=username):
        cache.add(f"{key}:until", now + LOGIN_FAILURES_WINDOW_S, LOGIN_FAILURES_WINDOW_S)
        cache.add(key, 0, LOGIN_FAILURES_WINDOW_S)
        cache.incr(key)
