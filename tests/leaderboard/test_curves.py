"""The public leader's trusted curves against the baseline's (/leaderboard/<slug>/curves.json)
under THE visibility rule: the frozen board's leader while frozen, public instances only
until the private board is visible, nothing from after the freeze; a model-track challenge
has none."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hackathon.challenges.models import Challenge
from hackathon.leaderboard.services import leaderboard_freeze, leaderboard_reveal
from hackathon.submissions.models import Submission

from tests.leaderboard.conftest import make_challenge, make_team, scored

pytestmark = pytest.mark.django_db

PRIVATE_MARK = 777.25  # a loss only the private instances hold


def _instance(index: int, part: str, level: float, steps: int = 50) -> dict:
    """A stored instance run as the driver records it: losses falling from 10x `level`."""
    examples = [32 * (s + 1) for s in range(steps)]
    loss = [level * (1 + 9 * 0.9**s) for s in range(steps)]
    if part == "private":
        loss = [PRIVATE_MARK] * steps
    return {
        "index": index, "part": part, "n_train": 600, "budget": 32 * steps, "steps": steps,
        "examples": examples[-1], "ended": "budget", "score": level, "test_loss": level,
        "reached_at": None, "seconds": 0.1,
        "train": {"step": list(range(1, steps + 1)), "examples": examples, "loss": loss},
        "validation": [[0, 10 * level, False], [640, 2 * level, False], [1600, level, True]]
        if part == "public" else [[0, PRIVATE_MARK, False]],
        "diagnostics": [],
    }  # fmt: skip


def _optimizer_challenge(**fields: object) -> Challenge:
    workload = {"model": "mlp", "hidden": [8], "budget": 1600, "scoring": "loss_at_budget"}
    return make_challenge(
        track="optimizer", metric="loss_at_budget", task="binary", workload=workload, **fields
    )


def _run(challenge: Challenge, team, level: float, **kw: object) -> Submission:  # noqa: ANN001
    sub = scored(challenge, team, level, **kw)
    Submission.objects.filter(pk=sub.pk).update(
        instances=[_instance(0, "public", level), _instance(1, "public", 2 * level),
                   _instance(2, "private", level)]
    )  # fmt: skip
    return sub


def _get(client: Client, challenge: Challenge) -> dict:
    response = client.get(reverse("leaderboard:curves", args=[challenge.slug]))
    assert response.status_code == 200
    return response.json()


def test_the_leader_and_the_baseline_are_drawn_from_their_trusted_public_runs(
    client: Client, team_a
) -> None:  # noqa: ANN001
    challenge = _optimizer_challenge()
    _run(challenge, team_a, 0.2)
    _run(challenge, make_team("Bo"), 0.3)
    _run(challenge, None, 0.4, is_baseline=True)
    _run(challenge, None, 0.35, is_baseline=True)  # the better baseline
    data = _get(client, challenge)
    assert data["available"] is True and data["frozen"] is False
    assert data["leader"]["name"] == "Team A" and data["leader"]["score"] == 0.2
    assert data["baseline"]["name"] == "Baseline" and data["baseline"]["score"] == 0.35
    leader = data["leader"]["instances"]
    assert [(i["index"], i["part"]) for i in leader] == [(0, "public"), (1, "public")]
    stored = _instance(0, "public", 0.2)
    assert leader[0]["train"]["examples"] == stored["train"]["examples"]
    assert leader[0]["train"]["loss"] == stored["train"]["loss"]
    assert leader[0]["validation"] == [[e, v] for e, v, _ in stored["validation"]]
    # The mean of the two public instances, point by point (losses held between steps).
    mean = data["leader"]["mean"]
    assert mean["instances"] == 2 and mean["examples"][-1] == 32 * 50
    first, second = _instance(0, "public", 0.2), _instance(1, "public", 0.4)
    assert mean["train"][-1] == pytest.approx(
        (first["train"]["loss"][-1] + second["train"]["loss"][-1]) / 2
    )
    assert mean["validation"][0] == pytest.approx((10 * 0.2 + 10 * 0.4) / 2)
    assert mean["validation"][-1] == pytest.approx((0.2 + 0.4) / 2)
    assert str(PRIVATE_MARK) not in json.dumps(data)


def test_while_frozen_visitors_see_the_frozen_leader_and_no_private_instance_until_the_reveal(
    organizer, organizer_client: Client, client: Client, client_a: Client, team_a
) -> None:  # noqa: ANN001
    now = timezone.now()
    challenge = _optimizer_challenge(end_at=now + timedelta(minutes=5))
    bo = make_team("Bo")
    _run(challenge, team_a, 0.3, at=now - timedelta(hours=2))
    _run(challenge, None, 0.5, is_baseline=True, at=now - timedelta(hours=3))
    leaderboard_freeze(challenge=challenge, actor=organizer)
    _run(challenge, bo, 0.1)  # after the freeze: leads the live board only
    _run(challenge, team_a, 0.25)  # Team A's better run after the freeze: not drawn either
    _run(challenge, None, 0.05, is_baseline=True)  # a baseline submitted after the freeze

    for viewer in (client, client_a):
        data = _get(viewer, challenge)
        assert data["frozen"] is True
        assert data["leader"]["name"] == "Team A" and data["leader"]["score"] == 0.3
        assert data["leader"]["instances"][0]["score"] == 0.3  # the run from before it
        assert data["baseline"]["score"] == 0.5
        assert {i["part"] for i in data["leader"]["instances"]} == {"public"}
        assert str(PRIVATE_MARK) not in json.dumps(data)
    whole = _get(organizer_client, challenge)
    assert whole["frozen"] is False
    assert whole["leader"]["name"] == "Bo" and whole["baseline"]["score"] == 0.05
    assert [i["part"] for i in whole["leader"]["instances"]] == ["public", "public", "private"]

    challenge.refresh_from_db()
    leaderboard_reveal(challenge=challenge, actor=organizer, close_submissions=True)
    after = _get(client, challenge)
    assert after["frozen"] is False and after["leader"]["name"] == "Bo"
    assert [i["part"] for i in after["leader"]["instances"]] == ["public", "public", "private"]
    # The mean covers every instance the viewer sees.
    assert after["leader"]["mean"]["instances"] == 3


def test_a_model_challenge_has_no_curves_and_its_board_no_chart(client: Client, team_a) -> None:  # noqa: ANN001
    model = make_challenge()
    scored(model, team_a, 0.8)
    assert _get(client, model) == {"available": False}
    page = client.get(reverse("leaderboard:public", args=[model.slug])).content.decode()
    assert 'id="lb-curves"' not in page and "curves.js" not in page
    optimizer = _optimizer_challenge()
    page = client.get(reverse("leaderboard:public", args=[optimizer.slug])).content.decode()
    assert 'id="lb-curves"' in page and "leaderboard/curves.js" in page
    private = client.get(reverse("leaderboard:private", args=[optimizer.slug])).content.decode()
    assert 'id="lb-curves"' not in private


def test_an_empty_board_has_no_runs(client: Client) -> None:
    data = _get(client, _optimizer_challenge())
    assert data["available"] is True and data["leader"] is None and data["baseline"] is None


def test_an_unpublished_challenge_is_not_served(client: Client) -> None:
    hidden = _optimizer_challenge(is_published=False)
    response = client.get(reverse("leaderboard:curves", args=[hidden.slug]))
    assert response.status_code == 404
