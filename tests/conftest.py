"""Shared fixtures: the users every view is tested with.

organizer (staff, in the "organizers" group), member_a in team_a, member_b in team_b,
outsider (signed up, in no team), and a logged-in client for each; Django's `client`
is the anonymous visitor.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client, override_settings
from hackathon.accounts.models import Team
from hackathon.accounts.services import team_create
from hackathon.testing import RedisServer, short_private_dir

from tests.celery_broker import broker_conf_snapshot, celery_broker_switched
from tests.ci_skips import pytest_runtest_makereport  # noqa: F401 - the hook: skips fail on CI

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _celery_broker_left_as_found() -> Iterator[None]:
    """Fail the test that leaves this process's Celery app bound to another broker: later
    tests would publish to it whatever order pytest runs the files in (tests/celery_broker.py)."""
    before = broker_conf_snapshot() if "hackathon.celery" in sys.modules else {}
    yield
    if "hackathon.celery" in sys.modules:
        left = broker_conf_snapshot()
        assert left == before, f"the test left the Celery app's broker at {left} (was {before})"


_cache_prefixes = itertools.count()


@pytest.fixture(autouse=True)
def _private_cache_keys() -> Iterator[str]:
    """Each test counts (throttles, login failures) under a cache key prefix of its own, as
    with a fresh in-process cache, and deletes its keys afterwards: never a FLUSHDB, which
    would empty a Redis database other processes use."""
    prefix = f"test-{os.getpid()}-{next(_cache_prefixes)}"
    with override_settings(
        CACHES={"default": {**settings.CACHES["default"], "KEY_PREFIX": prefix}}
    ):
        yield prefix
    delete_cache_keys(prefix)


def delete_cache_keys(prefix: str) -> int:
    """Delete the cache keys under `prefix` (Django's `prefix:version:key`); how many."""
    client = redis.Redis.from_url(settings.CACHE_REDIS_URL, socket_timeout=2)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        return client.delete(*keys) if keys else 0
    except redis.ConnectionError:
        return 0  # a test that stopped Redis: its keys expire on their own
    finally:
        client.close()


@pytest.fixture
def clean_broker(settings: object) -> Iterator[str]:
    """A Redis of the test's own (a private redis-server on a Unix socket, started empty):
    for the test, its workers and this process's Celery producer (tests/celery_broker.py) it
    is the grading broker and the live streams' store. So a test sees no message or stream
    of another, and never empties or deletes anything on a Redis others use (CI's REDIS_URL
    is shared)."""
    workdir = short_private_dir("hk-redis-")
    server = RedisServer(workdir, unix_socket=workdir / "redis.sock")
    server.start()
    try:
        with celery_broker_switched(server.url(), settings):
            yield server.url()
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def make_user(username: str, **extra: object) -> object:
    return get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password=PASSWORD, **extra
    )


@pytest.fixture
def password() -> str:
    """The password every fixture user has."""
    return PASSWORD


@pytest.fixture
def organizer(db: None) -> object:
    user = make_user("organizer", is_staff=True)
    group, _ = Group.objects.get_or_create(name=settings.ORGANIZERS_GROUP)
    user.groups.add(group)
    return user


@pytest.fixture
def member_a(db: None) -> object:
    """alice, creator and only member of team_a ("Team A")."""
    user = make_user("alice")
    team_create(user=user, name="Team A")
    return user


@pytest.fixture
def member_b(db: None) -> object:
    """bob, creator and only member of team_b ("Team B")."""
    user = make_user("bob")
    team_create(user=user, name="Team B")
    return user


@pytest.fixture
def outsider(db: None) -> object:
    return make_user("olga")


@pytest.fixture
def team_a(member_a: object) -> Team:
    return Team.objects.get(memberships__user=member_a)


@pytest.fixture
def team_b(member_b: object) -> Team:
    return Team.objects.get(memberships__user=member_b)


def _logged_in(user: object) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def organizer_client(organizer: object) -> Client:
    return _logged_in(organizer)


@pytest.fixture
def client_a(member_a: object, team_a: Team) -> Client:
    return _logged_in(member_a)


@pytest.fixture
def client_b(member_b: object, team_b: Team) -> Client:
    return _logged_in(member_b)


@pytest.fixture
def outsider_client(outsider: object) -> Client:
    return _logged_in(outsider)
