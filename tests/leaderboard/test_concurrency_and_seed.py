"""Results recorded at the same moment all count; the seeding command builds a usable board."""

from __future__ import annotations

import threading

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from hackathon.challenges.models import Challenge
from hackathon.leaderboard.models import TeamScore
from hackathon.leaderboard.selectors import leaderboard_view
from hackathon.leaderboard.services import leaderboard_rebuild, leaderboard_record_result
from hackathon.submissions.models import Submission

from tests.leaderboard.conftest import make_challenge, make_team, scored


@pytest.mark.django_db(transaction=True)
def test_results_of_one_team_recorded_concurrently_all_count(organizer) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks are a PostgreSQL matter (SQLite serializes whole transactions)")
    challenge = make_challenge()
    team = make_team("Racers")
    scores = [0.51, 0.58, 0.93, 0.66, 0.72, 0.61, 0.87, 0.55]
    barrier = threading.Barrier(len(scores))
    errors: list[BaseException] = []

    def grade(score: float) -> None:
        try:
            with transaction.atomic():
                # Each grading transaction stores its result, then (all at once) records it.
                sub = scored(challenge, team, score, record=False)
                barrier.wait(timeout=30)
                leaderboard_record_result(submission=sub)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=grade, args=(s,)) for s in scores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    row = TeamScore.objects.get(challenge=challenge, team=team)
    assert (row.entries, row.best_score) == (len(scores), 0.93)


@pytest.mark.django_db
def test_seed_command_fills_a_challenge_whose_board_matches_a_rebuild(organizer) -> None:
    call_command("seed_leaderboard", slug="seed-test", teams=30, submissions=600, seed=3)
    challenge = Challenge.objects.get(slug="seed-test")
    assert Submission.objects.filter(challenge=challenge).count() == 601  # and one baseline
    view = leaderboard_view(challenge=challenge, viewer=organizer, page_size=100)
    assert view.total_teams == 30
    assert sum(row.is_baseline for row in view.rows) == 1
    assert [r.rank for r in view.rows if r.rank] == list(range(1, 31))
    before = sorted(
        TeamScore.objects.filter(challenge=challenge).values_list(
            "team_id", "best_score", "entries"
        )
    )
    leaderboard_rebuild(challenge=challenge)
    after = sorted(
        TeamScore.objects.filter(challenge=challenge).values_list(
            "team_id", "best_score", "entries"
        )
    )
    assert before == after and all(entries == 20 for _, _, entries in after)


@pytest.mark.django_db
def test_seeding_a_challenge_that_has_submissions_needs_reset(organizer) -> None:
    call_command("seed_leaderboard", slug="seed-twice", teams=5, submissions=10)
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="pass --reset"):
        call_command("seed_leaderboard", slug="seed-twice", teams=5, submissions=10)
    call_command("seed_leaderboard", slug="seed-twice", teams=5, submissions=20, reset=True)
    assert Submission.objects.filter(challenge__slug="seed-twice").count() == 21
