"""Password logins through the API count against the same limits as the login form (failures
per client address and per username, hackathon.accounts.login_limits), and the address is the
one the connection came from: a client cannot pick a new one with X-Forwarded-For."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from django.conf import settings
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def small_limit(settings: Any) -> None:
    settings.LOGIN_FAILURES_LIMIT = 3


def login(
    client: Client, username: str = "member_a", password: str = "wrong", **headers: str
) -> Any:
    body = {"username": username, "password": password, "name": "cli"}
    return client.post(URL, body, content_type="application/json", headers=headers)


def wrong_login(client: Client, username: str = "member_a", **headers: str) -> int:
    return login(client, username, **headers).status_code


def test_password_logins_are_refused_with_429_past_the_limit_per_address(client: Client) -> None:
    assert [wrong_login(client) for _ in range(3)] == [401, 401, 401]
    refused = login(client)
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= settings.LOGIN_FAILURES_WINDOW_S


def test_past_the_limit_even_the_right_password_is_refused(
    client: Client, member_a: Any, password: str
) -> None:
    for _ in range(3):
        wrong_login(client, "alice")
    assert login(client, "alice", password).status_code == 429
    assert login(Client(REMOTE_ADDR="198.51.100.8"), "alice", password).status_code == 429


def test_below_the_limit_the_right_password_gets_a_token(
    client: Client, member_a: Any, password: str
) -> None:
    for _ in range(2):
        wrong_login(client, "alice")
    assert login(client, "alice", password).status_code == 201


def test_a_forged_x_forwarded_for_does_not_reset_the_login_limit(client: Client) -> None:
    statuses = [
        wrong_login(client, f"nobody{n}", X_Forwarded_For=f"203.0.113.{n}") for n in range(6)
    ]
    assert statuses == [401, 401, 401, 429, 429, 429]


def test_another_address_has_its_own_login_limit_but_not_the_same_username(
    client: Client,
) -> None:
    assert [wrong_login(client, f"nobody{n}") for n in range(4)][-1] == 429
    other = Client(REMOTE_ADDR="198.51.100.7")
    assert wrong_login(other, "somebody") == 401
    for n in range(3):
        wrong_login(Client(REMOTE_ADDR=f"198.51.100.{20 + n}"), "carol")
    assert wrong_login(other, "carol") == 429


def test_failures_on_the_login_form_and_the_api_add_up(client: Client, member_a: Any) -> None:
    for _ in range(2):
        client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert wrong_login(client, "alice") == 401
    assert wrong_login(client, "alice") == 429
    page = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert "Too many failed logins" in page.content.decode()


def test_counters_that_expire_between_any_two_redis_calls_never_fail_a_token_login(
    client: Client, monkeypatch: pytest.MonkeyPatch, _private_cache_keys: str
) -> None:
    """The window ends (the real Redis drops the counters) before every Redis call."""
    wrong_login(client)
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
    assert wrong_login(client) == 401
    monkeypatch.undo()
    raw = redis.Redis.from_url(settings.CACHE_REDIS_URL)
    keys = list(raw.scan_iter(match=f"{_private_cache_keys}:*login-failures:*"))
    assert len(keys) == 2
    assert all(raw.get(key) == b"1" and raw.ttl(key) > 0 for key in keys)
