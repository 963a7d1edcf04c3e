"""Live push through a real uvicorn process and real Redis."""

from __future__ import annotations

import http.client
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone
from hackathon import live
from hackathon.leaderboard.services import leaderboard_record_result

from tests.leaderboard.conftest import make_challenge, scored
from tests.leaderboard.servers import SSEClient, cookie_header, uvicorn_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _path(*topics: str) -> str:
    return "/leaderboard/live/?" + "&".join(f"topic={quote(t)}" for t in topics)


def test_a_published_event_reaches_an_sse_client_over_uvicorn_and_idle_streams_heartbeat() -> None:
    challenge = make_challenge()
    topic = live.challenge_topic(challenge.pk)
    with uvicorn_server(LIVE_HEARTBEAT_SECONDS="0.2") as host:
        client = SSEClient(host, _path(topic))
        assert client.status == 200
        assert client.response.getheader("Content-Type").startswith("text/event-stream")
        live.publish(topic, "leaderboard", {"challenge": challenge.pk, "n": 1})
        event = client.next_event()
        while client.comments.count("heartbeat") < 2:
            line = client.response.readline().decode().strip()
            if line.startswith(":"):
                client.comments.append(line[1:].strip())
        client.close()
    assert event == {
        "topic": topic,
        "event": "leaderboard",
        "data": {"challenge": challenge.pk, "n": 1},
    }


def test_a_reconnecting_client_resumes_from_last_event_id_without_missing_events() -> None:
    challenge = make_challenge()
    topic = live.challenge_topic(challenge.pk)
    with uvicorn_server() as host:
        first = SSEClient(host, _path(topic))
        live.publish(topic, "leaderboard", {"n": 1})
        assert first.next_event()["data"] == {"n": 1}
        resume_from = first.last_event_id
        first.close()
        # Published while the browser is away.
        live.publish(topic, "leaderboard", {"n": 2})
        live.publish(topic, "leaderboard", {"n": 3})
        again = SSEClient(host, _path(topic), headers={"Last-Event-ID": resume_from})
        missed = [again.next_event()["data"], again.next_event()["data"]]
        live.publish(topic, "leaderboard", {"n": 4})
        after = again.next_event()["data"]
        again.close()
    assert missed == [{"n": 2}, {"n": 3}]
    assert after == {"n": 4}


def test_submission_topics_are_only_for_its_team_and_organizers(
    client_a, client_b, organizer_client, team_a
) -> None:
    challenge = make_challenge()
    submission = scored(challenge, team_a, 0.5)
    topic = live.submission_topic(submission.pk)
    with uvicorn_server() as host:
        anonymous = SSEClient(host, _path(topic))
        other_team = SSEClient(host, _path(topic), headers=cookie_header(client_b))
        assert (anonymous.status, other_team.status) == (403, 403)
        own = SSEClient(host, _path(topic), headers=cookie_header(client_a))
        organizer = SSEClient(host, _path(topic), headers=cookie_header(organizer_client))
        assert (own.status, organizer.status) == (200, 200)
        live.publish(topic, "state", {"state": "running"})
        assert own.next_event()["data"] == {"state": "running"}
        assert organizer.next_event()["data"] == {"state": "running"}
        bad = SSEClient(host, _path("secrets:1"))
        assert bad.status == 400
        for c in (anonymous, other_team, own, organizer, bad):
            c.close()


def test_while_frozen_a_late_result_reaches_its_team_and_organizers_but_not_others(
    client_a, client_b, organizer_client, team_a
) -> None:
    now = timezone.now()
    challenge = make_challenge(freeze_at=now - timedelta(hours=1))
    topic = live.challenge_topic(challenge.pk)
    hidden = scored(challenge, team_a, 0.9, at=now - timedelta(minutes=5), record=False)
    visible = scored(challenge, team_a, 0.8, at=now - timedelta(hours=2), record=False)
    with uvicorn_server() as host:
        other = SSEClient(host, _path(topic), headers=cookie_header(client_b))
        own = SSEClient(host, _path(topic), headers=cookie_header(client_a))
        organizer = SSEClient(host, _path(topic), headers=cookie_header(organizer_client))
        leaderboard_record_result(submission=hidden)  # autocommit: hints go out at once
        leaderboard_record_result(submission=visible)
        own_events = [own.next_event(), own.next_event(), own.next_event()]
        organizer_events = [organizer.next_event(), organizer.next_event()]
        other_first = other.next_event()
        for c in (other, own, organizer):
            c.close()
    # The other team hears only of the result made before the freeze, with no details.
    assert other_first == {
        "topic": topic,
        "event": "leaderboard",
        "data": {"challenge": challenge.pk},
    }
    assert {e["data"].get("submission") for e in own_events} == {hidden.pk, visible.pk, None}
    assert [e["data"]["submission"] for e in organizer_events] == [hidden.pk, visible.pk]


def test_publishing_without_redis_logs_instead_of_failing(settings, caplog) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    assert live.publish("challenge:1", "leaderboard", {}) is None
    assert "live publish to challenge:1 failed" in caplog.text


def test_open_streams_do_not_hold_database_connections() -> None:
    # More streams than the web process's PostgreSQL pool has connections (asgi.py):
    # each must give its connection back once authorized, or the later ones would wait.
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the connection pool is PostgreSQL's")
    challenge = make_challenge()
    topic = live.challenge_topic(challenge.pk)
    with uvicorn_server() as host:
        clients = [SSEClient(host, _path(topic), timeout=60) for _ in range(30)]
        assert {c.status for c in clients} == {200}
        live.publish(topic, "leaderboard", {"n": 1})
        received = [c.next_event()["data"] for c in clients]
        for c in clients:
            c.close()
    assert received == [{"n": 1}] * 30


def test_without_redis_a_stream_ends_at_once_and_tells_the_browser_to_retry() -> None:
    challenge = make_challenge()
    with uvicorn_server(REDIS_URL="redis://127.0.0.1:1/0") as host:
        conn = http.client.HTTPConnection(host, timeout=30)
        conn.request("GET", _path(live.challenge_topic(challenge.pk)))
        response = conn.getresponse()
        body = response.read().decode()
        conn.close()
    assert response.status == 200
    assert "retry: " in body and "live updates unavailable" in body


def test_an_open_stream_keeps_delivering_after_redis_restarts_and_loses_its_data(
    tmp_path, settings
) -> None:
    from hackathon import embedded_redis

    challenge = make_challenge()
    topic = live.challenge_topic(challenge.pk)
    socket_path = tmp_path / "redis.sock"
    redis_server = embedded_redis.start(tmp_path / "redis", socket_path=socket_path)
    try:
        settings.REDIS_URL = redis_server.url
        with uvicorn_server(REDIS_URL=redis_server.url) as host:
            client = SSEClient(host, _path(topic), timeout=60)
            live.publish(topic, "leaderboard", {"n": 1})
            assert client.next_event()["data"] == {"n": 1}

            redis_server.stop()  # data lost: nothing is saved
            redis_server = embedded_redis.start(tmp_path / "redis", socket_path=socket_path)
            live._sync_clients.clear()
            # Published as soon as Redis is back, maybe before the web process resubscribed:
            # the stream replays it from Redis after its subscription comes back.
            live.publish(topic, "leaderboard", {"n": 2})
            assert client.next_event()["data"] == {"n": 2}
            live.publish(topic, "leaderboard", {"n": 3})
            assert client.next_event()["data"] == {"n": 3}
            client.close()
    finally:
        redis_server.stop()
