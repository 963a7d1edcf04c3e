"""The HTML login refuses further attempts after too many failures from one address or for one
username, says when to try again, and does not lock out others beyond the per-address limit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from hackathon.accounts import login_limits

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(login_limits, "LOGIN_FAILURES_LIMIT", 3)
    cache.clear()
    yield
    cache.clear()


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
