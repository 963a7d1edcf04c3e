"""The debrief: hidden until the private board is visible by THE visibility rule (organizers
preview it at any time), and what it draws from: private scores, declared hyperparameters
(model challenges) or the platform's measurements (optimizer track), the top five's curves
with their source named, the shake-up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from hackathon.challenges.models import Challenge
from hackathon.leaderboard.debrief import debrief_view, histogram, robust_range
from hackathon.leaderboard.services import leaderboard_freeze, leaderboard_reveal
from hackathon.submissions.models import Submission

from tests.leaderboard.conftest import make_challenge, make_team, scored

pytestmark = pytest.mark.django_db


def _ended(challenge: Challenge) -> None:
    Challenge.objects.filter(pk=challenge.pk).update(end_at=timezone.now() - timedelta(minutes=1))
    challenge.refresh_from_db()


def _status(client: object, challenge: Challenge) -> int:
    return client.get(reverse("leaderboard:debrief", args=[challenge.slug])).status_code


def test_the_debrief_is_hidden_until_the_private_board_is_visible_and_organizers_preview_it(
    organizer, organizer_client, client_a, outsider_client, client, team_a
) -> None:
    challenge = make_challenge()
    scored(challenge, team_a, 0.8)
    participants = (client_a, outsider_client, client)

    # Open: hidden from everyone but organizers, who see a marked preview.
    assert [_status(c, challenge) for c in participants] == [403, 403, 403]
    page = organizer_client.get(reverse("leaderboard:debrief", args=[challenge.slug]))
    assert page.status_code == 200 and 'data-testid="debrief-preview"' in page.content.decode()
    hidden = client_a.get(reverse("leaderboard:debrief", args=[challenge.slug])).content.decode()
    assert "The debrief is shown once the private leaderboard is" in hidden
    assert 'id="debrief-data"' not in hidden

    # Frozen, then ended: still hidden until the reveal.
    leaderboard_freeze(challenge=challenge, actor=organizer)
    _ended(challenge)
    assert [_status(c, challenge) for c in participants] == [403, 403, 403]
    assert _status(organizer_client, challenge) == 200

    leaderboard_reveal(challenge=challenge, actor=organizer)
    assert [_status(c, challenge) for c in participants] == [200, 200, 200]
    page = organizer_client.get(reverse("leaderboard:debrief", args=[challenge.slug]))
    assert 'data-testid="debrief-preview"' not in page.content.decode()

    # An end moved later after the reveal hides it again while teams can submit.
    Challenge.objects.filter(pk=challenge.pk).update(end_at=timezone.now() + timedelta(hours=1))
    assert [_status(c, challenge) for c in participants] == [403, 403, 403]


def test_without_a_freeze_the_debrief_opens_at_the_end_and_the_board_links_it(
    client, team_a
) -> None:
    challenge = make_challenge()
    scored(challenge, team_a, 0.8)
    board = reverse("leaderboard:public", args=[challenge.slug])
    debrief = reverse("leaderboard:debrief", args=[challenge.slug])
    assert debrief not in client.get(board).content.decode()
    _ended(challenge)
    assert debrief in client.get(board).content.decode()
    assert client.get(debrief).status_code == 200


def _with_hyperparameters(sub: Submission, **values: object) -> Submission:
    Submission.objects.filter(pk=sub.pk).update(hyperparameters=values)
    return sub


def test_the_debrief_plots_declared_hyperparameters_and_names_the_curves_source(
    organizer, team_a
) -> None:
    now = timezone.now()
    challenge = make_challenge(end_at=now - timedelta(minutes=1))
    teams = [team_a, *(make_team(n) for n in ("Bo", "Cy", "Di", "Ed", "Fay"))]
    for k, team in enumerate(teams):
        public, private = 0.60 + 0.05 * k, 0.85 - 0.04 * k  # the order flips on private
        sub = scored(challenge, team, public, private=private, at=now - timedelta(hours=1))
        Submission.objects.filter(pk=sub.pk).update(loss_curve=[1.0, 0.5 - 0.01 * k, 0.3])
        _with_hyperparameters(
            sub, **{"Learning-Rate": 10.0 ** -(k + 1), "batch_size": 2**k, "optimizer": "Adam"}
        )
    sgd = scored(challenge, teams[0], 0.5, private=0.4, at=now - timedelta(hours=2))
    _with_hyperparameters(sgd, lr=0.5, optimizer="sgd", batch="full")  # batch: not a number
    scored(challenge, make_team("Gus"), 0.55, private=0.45)  # declares nothing
    base = scored(challenge, None, 0.5, private=0.5, is_baseline=True)
    Submission.objects.filter(pk=base.pk).update(loss_curve=[2.0, 1.0])

    data = debrief_view(challenge=challenge, viewer=organizer)
    assert data["preview"] is False and data["teams"] == 7
    assert data["distribution"]["count"] == 7 and sum(data["distribution"]["counts"]) == 7
    assert data["distribution"]["baselines"] == [0.5]
    rates, batches = data["scatters"]
    assert rates["key"] == "learning_rate" and "declared" in rates["source"]
    assert sorted(rates["points"]) == sorted(
        [[10.0 ** -(k + 1), round(0.85 - 0.04 * k, 5)] for k in range(6)] + [[0.5, 0.4]]
    )
    assert sorted(p[0] for p in batches["points"]) == [1, 2, 4, 8, 16, 32]
    kinds = {k["kind"]: k["count"] for k in data["kinds"]["kinds"]}
    assert kinds == {"adam": 6, "sgd": 1}

    curves = data["curves"]
    assert curves["trusted"] is False and "reported by each solution" in curves["source"]
    assert [s["label"] for s in curves["series"]] == [
        "1. Team A",
        "2. Bo",
        "3. Cy",
        "4. Di",
        "5. Ed",
    ]
    assert curves["series"][1]["y"] == [1.0, 0.49, 0.3] and curves["series"][1]["x"] == [1, 2, 3]
    assert curves["baseline"]["y"] == [2.0, 1.0]

    shake = data["shakeup"]
    assert (shake["up"][0]["team"], shake["up"][0]["move"]) == ("Team A", 5)  # 6th -> 1st
    assert (shake["down"][0]["team"], shake["down"][0]["move"]) == ("Fay", -5)
    assert shake["moved"] == 6  # Gus is last on both


def test_on_the_optimizer_track_the_debrief_uses_the_platforms_measurements_only(
    organizer, organizer_client, team_a
) -> None:
    challenge = make_challenge(
        track="optimizer", metric="rmse", end_at=timezone.now() - timedelta(minutes=1)
    )
    sub = scored(challenge, team_a, 0.3, private=0.31)
    instance = {
        "index": 0,
        "part": "public",
        "train": {"step": [1, 2, 3], "examples": [32, 64, 96], "loss": [1.0, 0.5, None]},
    }
    Submission.objects.filter(pk=sub.pk).update(
        extra_scores={"steps_mean": 100.0, "examples_mean": 3200.0},
        instances=[instance],
        hyperparameters={"lr": 0.1, "optimizer": "adam"},  # declared: not used here
        loss_curve=[9.0, 9.0, 9.0],
    )
    data = debrief_view(challenge=challenge, viewer=organizer)
    steps, batches = data["scatters"]
    assert (steps["key"], steps["points"]) == ("steps", [[100.0, 0.31]])
    assert (batches["key"], batches["points"]) == ("batch_size", [[32.0, 0.31]])
    assert "measured by the platform" in steps["source"]
    assert data["kinds"] is None
    curves = data["curves"]
    assert curves["trusted"] is True and "measured by the platform" in curves["source"]
    assert curves["series"] == [{"label": "1. Team A", "x": [32, 64, 96], "y": [1.0, 0.5, None]}]
    page = organizer_client.get(reverse("leaderboard:debrief", args=[challenge.slug]))
    assert 'data-testid="debrief-kinds-none"' in page.content.decode()


def test_a_diverged_score_does_not_flatten_the_charts() -> None:
    values = [0.5, 0.52, 0.55, 0.56, 0.6, 0.61, 1.2345e87]
    low, high = robust_range(values)
    assert low == 0.5 and high < 2
    counts = histogram(values)
    assert counts["above"] == 1 and sum(counts["counts"]) == 6
    assert histogram([]) == {"edges": [], "counts": [], "below": 0, "above": 0}
    assert histogram([0.7, 0.7])["counts"] == [2]
