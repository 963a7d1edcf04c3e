"""The shared fixtures and the Redis every test session talks to."""

import os

import redis
from django.conf import settings
from hackathon.accounts.selectors import is_organizer, user_team


def test_fixture_users_have_the_roles_their_names_say(
    organizer, member_a, member_b, outsider, team_a, team_b
) -> None:
    assert is_organizer(organizer)
    assert not is_organizer(member_a)
    assert user_team(member_a) == team_a
    assert user_team(member_b) == team_b
    assert team_a != team_b
    assert user_team(outsider) is None
    assert user_team(organizer) is None


def test_the_session_redis_answers_and_the_broker_follows_it() -> None:
    url = os.environ["REDIS_URL"]
    assert settings.REDIS_URL == url
    client = redis.Redis.from_url(url)
    assert client.ping()
    if url.startswith("unix://"):
        assert settings.CELERY_BROKER_URL == "redis+socket://" + url[len("unix://") :]
    else:
        assert settings.CELERY_BROKER_URL == url


def test_a_test_that_points_celery_at_another_redis_leaves_the_session_broker_working(
    tmp_path,
) -> None:
    """What the fault tests do (a private Redis, then SIGKILL) must not leave this process
    publishing to a dead broker or through a closed pool ("Acquire on closed pool")."""
    from hackathon.submissions.tasks import grade_submission
    from pytest_django.fixtures import Settings

    from tests.celery_broker import broker_conf_snapshot, celery_broker_switched
    from tests.faults.harness import RedisServer

    queue = f"probe-{os.getpid()}"
    before = broker_conf_snapshot()
    other = RedisServer(tmp_path / "redis")
    other.start()
    overrides = Settings(_is_pytest_django=True)  # what the `settings` fixture hands out
    try:
        with celery_broker_switched(other.url(), overrides):
            grade_submission.apply_async((0,), queue=queue, retry=False)
            assert redis.Redis.from_url(other.url()).llen(queue) == 1
    finally:
        other.stop()
        overrides._finalize()  # the `settings` fixture's teardown
    assert broker_conf_snapshot() == before
    assert settings.REDIS_URL == os.environ["REDIS_URL"]
    session = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        grade_submission.apply_async((0,), queue=queue, retry=False)
        assert session.llen(queue) == 1
    finally:
        session.delete(queue, f"_kombu.binding.{queue}")
