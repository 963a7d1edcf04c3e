"""One rule decides what each viewer sees; every output obeys it.

A challenge in each phase (open, frozen, frozen after the end, ended, revealed) is read
through every output (page, fragment, JSON, CSV, private page and JSON, shake-up,
private CSV, live channels) by each role (anonymous, own team, other team, organizer).
Scores are distinctive numbers so that a leak shows up in any format.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from hackathon import live
from hackathon.challenges.models import Challenge
from hackathon.leaderboard.selectors import live_channels_for

from tests.leaderboard.conftest import make_challenge, scored

pytestmark = pytest.mark.django_db

FROZEN_A = "0.61803"  # team A's best public score before the freeze
LIVE_A = "0.95123"  # team A's best public score after the freeze (hidden while frozen)
PRIVATE_A = "0.31415"  # private score of A's best public submission
PRIVATE_B = "0.27182"

ROLES = ("anonymous", "own_team", "other_team", "organizer")
# phase -> (participants see the live public board, participants see private boards)
PHASES = {
    "open": (True, False),
    "frozen": (False, False),
    "frozen_after_end": (False, False),
    "ended": (True, True),
    "revealed": (True, True),
}


def _phase_times(phase: str) -> dict:
    now = timezone.now()
    times = {"start_at": now - timedelta(days=1), "end_at": now + timedelta(days=1)}
    if phase in ("frozen", "frozen_after_end", "revealed"):
        times["freeze_at"] = now - timedelta(hours=2)
    if phase in ("ended", "frozen_after_end"):
        times["end_at"] = now - timedelta(minutes=5)
    if phase == "revealed":
        times["end_at"] = now - timedelta(minutes=5)
        times["revealed_at"] = now - timedelta(minutes=1)
    return times


@pytest.fixture
def world(team_a, team_b) -> Challenge:
    """Team A improved after the freeze; team B did not."""
    now = timezone.now()
    challenge = make_challenge()
    scored(challenge, team_a, float(FROZEN_A), private=0.5, at=now - timedelta(hours=3))
    scored(challenge, team_b, 0.70, private=float(PRIVATE_B), at=now - timedelta(hours=3))
    scored(challenge, team_a, float(LIVE_A), private=float(PRIVATE_A), at=now - timedelta(hours=1))
    return challenge


def _enter_phase(challenge: Challenge, phase: str) -> Challenge:
    Challenge.objects.filter(pk=challenge.pk).update(**_phase_times(phase))
    from hackathon.leaderboard.services import leaderboard_rebuild

    challenge.refresh_from_db()
    leaderboard_rebuild(challenge=challenge)  # the freeze time changed
    return challenge


@pytest.fixture
def clients(client, client_a, client_b, organizer_client) -> dict[str, Client]:
    return {
        "anonymous": client,
        "own_team": client_a,
        "other_team": client_b,
        "organizer": organizer_client,
    }


def _get(client: Client, url: str) -> tuple[int, str]:
    response = client.get(url)
    body = response.content.decode() if not response.streaming else ""
    return response.status_code, body


@pytest.mark.parametrize("phase", list(PHASES))
@pytest.mark.parametrize("role", ROLES)
def test_every_output_shows_each_role_what_the_rule_allows(world, clients, phase, role) -> None:
    challenge = _enter_phase(world, phase)
    client = clients[role]
    sees_live, sees_private = PHASES[phase]
    if role == "organizer":
        sees_live = sees_private = True
    slug = challenge.slug
    base = f"/leaderboard/{slug}"

    public_outputs = {
        "page": f"{base}/",
        "fragment": f"{base}/fragment/?kind=public",
        "json": f"{base}/data.json",
        "csv": f"{base}/export/public.csv",
        "api": f"/api/v1/challenges/{slug}/leaderboard/",
    }
    for output, url in public_outputs.items():
        status, body = _get(client, url)
        assert status == 200, (output, status)
        assert "Team A" in body and "Team B" in body, output
        # The team's own newer score is shown to itself (not in the export of the board).
        own_note = role == "own_team" and output != "csv"
        assert (LIVE_A in body) == (sees_live or own_note), (output, "live score")
        if not sees_live:
            assert FROZEN_A in body, (output, "frozen score")
        assert PRIVATE_A not in body and PRIVATE_B not in body, (output, "private leak")

    private_outputs = {
        "private page": f"{base}/private/",
        "private json": f"{base}/data.json?kind=private",
        "private fragment": f"{base}/fragment/?kind=private",
        "shake-up": f"{base}/shakeup/",
        "private api": f"/api/v1/challenges/{slug}/leaderboard/?kind=private",
    }
    for output, url in private_outputs.items():
        status, body = _get(client, url)
        assert status == (200 if sees_private else 403), (output, status)
        assert (PRIVATE_A in body) == sees_private, output

    status, body = _get(client, f"{base}/export/private.csv")
    assert status == (200 if role == "organizer" else 403)
    assert (PRIVATE_A in body) == (role == "organizer")


@pytest.mark.parametrize("phase", ["open", "frozen"])
def test_the_projector_feed_shows_an_organizer_what_the_public_sees(
    world, organizer_client, phase
) -> None:
    challenge = _enter_phase(world, phase)
    body = organizer_client.get(
        f"/leaderboard/{challenge.slug}/data.json?as=public"
    ).content.decode()
    assert (LIVE_A in body) == (phase == "open")


def test_live_channels_follow_the_viewer_role(
    world, organizer, member_a, member_b, team_a, team_b
) -> None:
    public = live.challenge_topic(world.pk)
    assert live_channels_for(challenge=world, viewer=None) == [public]
    assert live_channels_for(challenge=world, viewer=member_a) == [
        public,
        f"{public}:team:{team_a.pk}",
    ]
    assert live_channels_for(challenge=world, viewer=member_b) == [
        public,
        f"{public}:team:{team_b.pk}",
    ]
    assert f"{public}:organizers" in live_channels_for(challenge=world, viewer=organizer)


def _stream_payloads(topic: str) -> list[str]:
    client = live._sync_client()
    return [fields[b"p"].decode() for _, fields in client.xrange(live.STREAM_PREFIX + topic)]


def test_a_result_after_the_freeze_is_announced_to_its_team_and_organizers_only(
    django_capture_on_commit_callbacks, team_a, clean_broker
) -> None:
    now = timezone.now()
    challenge = make_challenge(freeze_at=now - timedelta(hours=1))
    public = live.challenge_topic(challenge.pk)
    team_topic = live.challenge_topic(challenge.pk, f"team:{team_a.pk}")
    organizers = live.challenge_topic(challenge.pk, "organizers")

    with django_capture_on_commit_callbacks(execute=True):
        scored(challenge, team_a, 0.9, at=now - timedelta(minutes=5))
    assert _stream_payloads(public) == []
    assert len(_stream_payloads(team_topic)) == 1
    assert len(_stream_payloads(organizers)) == 1

    with django_capture_on_commit_callbacks(execute=True):
        scored(challenge, team_a, 0.8, at=now - timedelta(hours=2))  # graded late, made before
    public_events = _stream_payloads(public)
    assert len(public_events) == 1
    assert "team" not in public_events[0] and "0.8" not in public_events[0]
