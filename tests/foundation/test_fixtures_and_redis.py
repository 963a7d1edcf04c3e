"""The shared fixtures and the Redis every test session talks to."""

import os

import redis
from django.conf import settings
from hackathon.accounts.selectors import user_is_organizer, user_team


def test_fixture_users_have_the_roles_their_names_say(
    organizer, member_a, member_b, outsider, team_a, team_b
) -> None:
    assert user_is_organizer(organizer)
    assert not user_is_organizer(member_a)
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
