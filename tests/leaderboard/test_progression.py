"""Score progression data: the best public score over time of the top ten and the
baseline, under THE visibility rule (nothing after the freeze until the reveal)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from hackathon.leaderboard.services import leaderboard_freeze, leaderboard_reveal

from tests.leaderboard.conftest import make_challenge, make_team, scored

pytestmark = pytest.mark.django_db


def _scores(data: dict) -> dict[str, list[float]]:
    out = {s["name"]: [p["score"] for p in s["points"]] for s in data["series"]}
    out["baseline"] = [p["score"] for p in data["baseline"]]
    return out


def test_progression_keeps_improvements_only_and_hides_the_frozen_part_until_reveal(
    organizer, organizer_client, client_a, client, team_a
) -> None:
    now = timezone.now()
    challenge = make_challenge(end_at=now + timedelta(minutes=5))
    bo = make_team("Bo")
    scored(challenge, team_a, 0.60, at=now - timedelta(hours=3))
    scored(challenge, team_a, 0.55, at=now - timedelta(hours=2))  # worse: no point
    scored(challenge, team_a, 0.70, at=now - timedelta(hours=1))
    scored(challenge, bo, 0.65, at=now - timedelta(hours=2))
    scored(challenge, None, 0.50, at=now - timedelta(hours=4), is_baseline=True)
    leaderboard_freeze(challenge=challenge, actor=organizer)
    scored(challenge, bo, 0.90)  # after the freeze
    url = reverse("leaderboard:progression", args=[challenge.slug])

    before = {"Team A": [0.6, 0.7], "Bo": [0.65], "baseline": [0.5]}
    for viewer in (client_a, client):
        data = viewer.get(url).json()
        assert data["frozen"] is True and data["cutoff"] is not None
        assert _scores(data) == before
        assert [s["name"] for s in data["series"]] == ["Team A", "Bo"]  # the frozen board
    whole = organizer_client.get(url).json()
    assert whole["frozen"] is False
    assert _scores(whole) == {**before, "Bo": [0.65, 0.9]}

    challenge.refresh_from_db()
    leaderboard_reveal(challenge=challenge, actor=organizer, close_submissions=True)
    after = client.get(url).json()
    assert _scores(after) == {**before, "Bo": [0.65, 0.9]}
    assert [s["name"] for s in after["series"]] == ["Bo", "Team A"]
