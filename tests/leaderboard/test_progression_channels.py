"""The score progression respects the freeze in every channel that carries it: the page's
JSON (/leaderboard/<slug>/progression.json, which the board's chart draws), the projector's
(the same JSON `?as=public`, even when an organizer's browser shows it), the API
(/api/v1/challenges/<slug>/progression/), and the live stream (a result made after the
freeze sends the public channel nothing, so no chart is told to redraw with it; what it
fetches still ends at the freeze). There is no progression CSV: the board's CSV export has
its own freeze test."""

from __future__ import annotations

import http.client
import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from hackathon import live
from hackathon.leaderboard.services import leaderboard_freeze, leaderboard_reveal
from rest_framework.test import APIClient

from tests.leaderboard.conftest import make_challenge, make_team, scored
from tests.leaderboard.servers import SSEClient, cookie_header, uvicorn_server


def _scores(data: dict) -> dict[str, list[float]]:
    out = {s["name"]: [p["score"] for p in s["points"]] for s in data["series"]}
    out["baseline"] = [p["score"] for p in data["baseline"]]
    return out


BEFORE = {"Team A": [0.6, 0.7], "Bo": [0.65], "baseline": [0.5]}
WHOLE = {**BEFORE, "Bo": [0.65, 0.9]}


def _race(organizer: object, team_a: object):  # noqa: ANN202 - (challenge, Bo)
    now = timezone.now()
    challenge = make_challenge(end_at=now + timedelta(minutes=5))
    bo = make_team("Bo")
    scored(challenge, team_a, 0.60, at=now - timedelta(hours=3))
    scored(challenge, team_a, 0.70, at=now - timedelta(hours=1))
    scored(challenge, bo, 0.65, at=now - timedelta(hours=2))
    scored(challenge, None, 0.50, at=now - timedelta(hours=4), is_baseline=True)
    leaderboard_freeze(challenge=challenge, actor=organizer)
    return challenge, bo


def _api(user: object | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.mark.django_db
def test_every_channel_ends_at_the_freeze_until_the_reveal(
    organizer, organizer_client, client_a, client, member_a, team_a
) -> None:
    challenge, bo = _race(organizer, team_a)
    scored(challenge, bo, 0.90)  # after the freeze
    page = reverse("leaderboard:progression", args=[challenge.slug])
    api = f"/api/v1/challenges/{challenge.slug}/progression/"

    frozen_views = {
        "page, member": client_a.get(page).json(),
        "page, visitor": client.get(page).json(),
        "projector, opened by an organizer": organizer_client.get(page, {"as": "public"}).json(),
        "API, member": _api(member_a).get(api).json(),
        "API, visitor": _api(None).get(api).json(),
    }
    for channel, data in frozen_views.items():
        assert data["frozen"] is True and data["cutoff"], channel
        assert _scores(data) == BEFORE, channel
        assert all(p["at"] < data["cutoff"] for s in data["series"] for p in s["points"]), channel
    # Organizers see the whole race in their own view, by both routes.
    assert _scores(organizer_client.get(page).json()) == WHOLE
    assert _scores(_api(organizer).get(api).json()) == WHOLE

    challenge.refresh_from_db()
    leaderboard_reveal(challenge=challenge, actor=organizer, close_submissions=True)
    for data in (
        client.get(page).json(),
        organizer_client.get(page, {"as": "public"}).json(),
        _api(None).get(api).json(),
    ):
        assert data["frozen"] is False and _scores(data) == WHOLE


@pytest.mark.django_db
def test_the_projector_draws_the_progression_from_the_public_view(organizer_client) -> None:
    challenge = make_challenge()
    html = organizer_client.get(reverse("leaderboard:projector", args=[challenge.slug]))
    page = html.content.decode()
    url = reverse("leaderboard:progression", args=[challenge.slug])
    assert f'data-url="{url}?as=public"' in page
    assert 'data-testid="projector-progression"' in page and "leaderboard/progression.js" in page


@pytest.mark.django_db(transaction=True)
def test_a_result_after_the_freeze_reaches_no_public_stream_and_no_public_chart(
    organizer, organizer_client, team_a
) -> None:
    challenge, bo = _race(organizer, team_a)
    topic = live.challenge_topic(challenge.pk)
    path = f"/leaderboard/live/?topic={topic}"
    with uvicorn_server() as host:
        visitor = SSEClient(host, path)
        watcher = SSEClient(host, path, headers=cookie_header(organizer_client))
        assert (visitor.status, watcher.status) == (200, 200)
        late = scored(challenge, bo, 0.90)  # after the freeze
        heard = watcher.next_event()  # the organizers' hint for it
        live.publish(topic, "sentinel", {})
        seen = visitor.next_event()
        visitor.close()
        watcher.close()
        # What a visitor's chart fetches (over HTTP, from the live server) still ends there.
        conn = http.client.HTTPConnection(host, timeout=20)
        conn.request("GET", reverse("leaderboard:progression", args=[challenge.slug]))
        fetched = json.loads(conn.getresponse().read())
        conn.close()
    assert heard["topic"] == live.challenge_topic(challenge.pk, "organizers")
    assert heard["data"]["submission"] == late.pk
    assert seen["event"] == "sentinel"  # nothing about the late result came first
    assert fetched["frozen"] is True and _scores(fetched) == BEFORE
