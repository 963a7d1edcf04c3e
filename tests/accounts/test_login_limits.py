"""The HTML login refuses further attempts after too many failures from one address or for one
username, says when to try again, and does not lock out others beyond the per-address limit."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis
from django.conf import settings
from django.test import Client
from django.urls import reverse
from hackathon.accounts import login_limits

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_limit(settings: Any) -> None:
    settings.LOGIN_FAILURES_LIMIT = 3


def counters(prefix: str) -> dict[bytes, tuple[int, int]]:
    """This test's login-failure counters in Redis: key -> (count, seconds to live)."""
    raw = redis.Redis.from_url(settings.CACHE_REDIS_URL)
    return {
        key: (int(raw.get(key) or 0), raw.ttl(key))
        for key in raw.scan_iter(match=f"{prefix}:*login-failures:*")
    }


def attempt(client: Client, username: str, password: str) -> Any:
    return client.post(reverse("login"), {"username": username, "password": password})


def test_too_many_failures_from_one_address_refuse_even_the_right_password(
    client: Client, member_a: Any, password: str
) -> None:
    for _ in range(3):
        assert attempt(client, "alice", "wrong").status_code == 200
    response = attempt(client, "alice", password)
    assert response.status_code == 200
    assert "Too many failed logins. Try again in 5 minutes." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_failures_for_one_username_from_many_addresses_lock_that_username(
    member_a: Any, password: str
) -> None:
    for n in range(3):
        attempt(Client(REMOTE_ADDR=f"198.51.100.{n}"), "alice", "wrong")
    response = attempt(Client(REMOTE_ADDR="198.51.100.50"), "alice", password)
    assert "Too many failed logins" in response.content.decode()


def test_other_users_failures_do_not_block_a_login_from_another_address(
    member_a: Any, member_b: Any, password: str
) -> None:
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(3):
        attempt(attacker, "alice", "wrong")
    response = attempt(Client(REMOTE_ADDR="198.51.100.1"), "bob", password)
    assert response.status_code == 302


def test_a_forged_x_forwarded_for_does_not_reset_the_html_login_limit(
    client: Client, member_a: Any, member_b: Any, password: str
) -> None:
    for n in range(3):
        attempt(client, f"nobody{n}", "wrong")
    response = client.post(
        reverse("login"),
        {"username": "bob", "password": password},
        headers={"X-Forwarded-For": "192.0.2.77"},
    )
    assert "Too many failed logins" in response.content.decode()


def test_logins_below_the_limit_succeed(client: Client, member_a: Any, password: str) -> None:
    for _ in range(2):
        attempt(client, "alice", "wrong")
    assert attempt(client, "alice", password).status_code == 302


def test_counters_that_expire_between_any_two_redis_calls_never_fail_a_login(
    client: Client, member_a: Any, monkeypatch: pytest.MonkeyPatch, _private_cache_keys: str
) -> None:
    """The race the old add-then-incr counting lost with a 500: the window ends (the real
    Redis drops the counters) between one Redis call and the next, here before every call."""
    for _ in range(2):
        attempt(client, "alice", "wrong")
    assert {count for count, _ in counters(_private_cache_keys).values()} == {2}
    real = redis.Redis.execute_command
    dropping = False

    def drop_counters_first(self: redis.Redis, *args: Any, **options: Any) -> Any:
        nonlocal dropping
        if not dropping:
            dropping = True
            try:
                for key in self.scan_iter(match=f"{_private_cache_keys}:*login-failures:*"):
                    self.delete(key)
            finally:
                dropping = False
        return real(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", drop_counters_first)
    response = attempt(client, "alice", "wrong")
    monkeypatch.undo()
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    after = counters(_private_cache_keys)
    assert len(after) == 2  # the address and the username, counted afresh
    for count, ttl in after.values():
        assert count == 1
        assert 0 < ttl <= settings.LOGIN_FAILURES_WINDOW_S


def test_a_counter_left_without_expiry_gets_one_at_the_next_failure(
    client: Client, member_a: Any, _private_cache_keys: str
) -> None:
    attempt(client, "alice", "wrong")
    raw = redis.Redis.from_url(settings.CACHE_REDIS_URL)
    for key in counters(_private_cache_keys):
        raw.persist(key)
    assert {ttl for _, ttl in counters(_private_cache_keys).values()} == {-1}
    attempt(client, "alice", "wrong")
    for count, ttl in counters(_private_cache_keys).values():
        assert count == 2
        assert 0 < ttl <= settings.LOGIN_FAILURES_WINDOW_S


def test_the_refusal_lasts_until_the_window_ends_and_then_lifts(
    client: Client, member_a: Any, password: str, settings: Any
) -> None:
    settings.LOGIN_FAILURES_WINDOW_S = 2
    for _ in range(3):
        attempt(client, "alice", "wrong")
    assert login_limits.login_retry_after(address="127.0.0.1", username="alice") in (1, 2)
    assert "Too many failed logins" in attempt(client, "alice", password).content.decode()
    time.sleep(2.2)
    assert login_limits.login_retry_after(address="127.0.0.1", username="alice") is None
    assert attempt(client, "alice", password).status_code == 302


def test_concurrent_failures_are_all_counted() -> None:
    from concurrent.futures import ThreadPoolExecutor

    def fail(_: int) -> None:
        login_limits.login_failure_record(address="203.0.113.5", username="carol")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(fail, range(40)))
    wait = login_limits.login_retry_after(address="198.51.100.99", username="CAROL")
    assert wait is not None and 0 < wait <= settings.LOGIN_FAILURES_WINDOW_S
    assert login_limits.login_retry_after(address="198.51.100.99", username="dave") is None
