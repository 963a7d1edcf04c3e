"""Password logins through the API are limited per client address, and the address is the one
the connection came from: a client cannot pick a new one with X-Forwarded-For."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def fresh_counts() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def wrong_login(client: Client, **headers: str) -> int:
    body = {"username": "member_a", "password": "wrong-password", "name": "cli"}
    return client.post(URL, body, content_type="application/json", headers=headers).status_code


@override_settings(API_THROTTLE_LOGIN="3/minute")
def test_password_logins_are_refused_with_429_past_the_limit_per_address(client: Client) -> None:
    assert [wrong_login(client) for _ in range(3)] == [401, 401, 401]
    assert wrong_login(client) == 429


@override_settings(API_THROTTLE_LOGIN="3/minute")
def test_a_forged_x_forwarded_for_does_not_reset_the_login_limit(client: Client) -> None:
    statuses = [wrong_login(client, X_Forwarded_For=f"203.0.113.{n}") for n in range(6)]
    assert statuses == [401, 401, 401, 429, 429, 429]


@override_settings(API_THROTTLE_LOGIN="3/minute")
def test_another_address_has_its_own_login_limit(client: Client) -> None:
    assert [wrong_login(client) for _ in range(4)][-1] == 429
    other = Client(REMOTE_ADDR="198.51.100.7")
    assert wrong_login(other) == 401
