"""Ranking by Kaggle's rules, from the per-team table, incremental and rebuilt alike."""

from __future__ import annotations

import math
import random
from datetime import timedelta

import pytest
from django.utils import timezone
from hackathon.leaderboard.models import TeamScore
from hackathon.leaderboard.selectors import leaderboard_view, shakeup_view
from hackathon.leaderboard.services import leaderboard_rebuild, leaderboard_record_result
from hackathon.submissions.models import Submission

from tests.leaderboard.conftest import make_challenge, make_team, scored

pytestmark = pytest.mark.django_db


def names(view) -> list[str]:
    return [row.name for row in view.rows]


def test_teams_are_ranked_by_their_best_public_score_when_higher_is_better(organizer) -> None:
    challenge = make_challenge(metric="accuracy")
    a, b, c = make_team("A"), make_team("B"), make_team("C")
    scored(challenge, a, 0.70)
    scored(challenge, a, 0.90)
    scored(challenge, a, 0.80)
    scored(challenge, b, 0.85)
    scored(challenge, c, 0.60)
    view = leaderboard_view(challenge=challenge, viewer=organizer)
    assert names(view) == ["A", "B", "C"]
    assert [row.rank for row in view.rows] == [1, 2, 3]
    assert [row.score for row in view.rows] == [0.90, 0.85, 0.60]
    assert view.rows[0].entries == 3


def test_teams_are_ranked_by_their_lowest_error_when_lower_is_better(organizer) -> None:
    challenge = make_challenge(metric="rmse", task="regression")
    a, b = make_team("A"), make_team("B")
    scored(challenge, a, 3.0)
    scored(challenge, a, 2.0)
    scored(challenge, b, 2.5)
    view = leaderboard_view(challenge=challenge, viewer=organizer)
    assert names(view) == ["A", "B"]
    assert view.rows[0].score == 2.0


def test_a_tie_goes_to_the_team_that_reached_the_score_first(organizer) -> None:
    challenge = make_challenge()
    now = timezone.now()
    early, late = make_team("Late starter"), make_team("Early bird")
    scored(challenge, early, 0.8, at=now - timedelta(hours=1))
    scored(challenge, late, 0.8, at=now - timedelta(hours=3))
    # A later submission with the same best score does not move the team's time.
    scored(challenge, late, 0.8, at=now - timedelta(minutes=5))
    view = leaderboard_view(challenge=challenge, viewer=organizer)
    assert names(view) == ["Early bird", "Late starter"]


def test_failed_and_disqualified_submissions_do_not_count(organizer) -> None:
    challenge = make_challenge()
    a = make_team("A")
    scored(challenge, a, 0.5)
    scored(challenge, a, None)  # runtime error: no score
    scored(challenge, a, 0.99, disqualified=True)
    view = leaderboard_view(challenge=challenge, viewer=organizer)
    assert view.rows[0].score == 0.5
    assert view.rows[0].entries == 1


def test_baseline_rows_are_shown_at_their_score_and_not_ranked(organizer) -> None:
    challenge = make_challenge()
    a, b = make_team("A"), make_team("B")
    scored(challenge, a, 0.9)
    scored(challenge, b, 0.6)
    scored(challenge, None, 0.7, is_baseline=True)
    view = leaderboard_view(challenge=challenge, viewer=organizer)
    assert names(view) == ["A", "Baseline", "B"]
    assert [row.rank for row in view.rows] == [1, None, 2]
    assert view.rows[1].is_baseline
    assert view.total_teams == 2


def test_a_baseline_lands_on_the_page_where_its_score_falls(organizer) -> None:
    challenge = make_challenge()
    for i in range(5):
        scored(challenge, make_team(f"T{i}"), 0.9 - i * 0.1)  # 0.9 .. 0.5
    scored(challenge, None, 0.65, is_baseline=True)
    page1 = leaderboard_view(challenge=challenge, viewer=organizer, page=1, page_size=2)
    page2 = leaderboard_view(challenge=challenge, viewer=organizer, page=2, page_size=2)
    page3 = leaderboard_view(challenge=challenge, viewer=organizer, page=3, page_size=2)
    assert names(page1) == ["T0", "T1"]
    assert names(page2) == ["T2", "Baseline", "T3"]
    assert [row.rank for row in page2.rows] == [3, None, 4]
    assert names(page3) == ["T4"]


def test_teams_whose_interval_overlaps_the_one_above_are_statistically_tied(organizer) -> None:
    challenge = make_challenge()
    scored(challenge, make_team("A"), 0.90, ci=(0.88, 0.92))
    scored(challenge, make_team("B"), 0.89, ci=(0.87, 0.91))  # overlaps A
    scored(challenge, make_team("C"), 0.80, ci=(0.78, 0.82))  # clear of B
    scored(challenge, make_team("D"), 0.79, ci=(0.77, 0.81))  # overlaps C
    rows = leaderboard_view(challenge=challenge, viewer=organizer).rows
    assert [row.statistically_tied for row in rows] == [False, True, False, True]
    # The first row of a later page is compared with the last row of the page before.
    page2 = leaderboard_view(challenge=challenge, viewer=organizer, page=2, page_size=3)
    assert [row.name for row in page2.rows] == ["D"]
    assert page2.rows[0].statistically_tied


def test_private_score_is_the_best_among_selected_finals(organizer) -> None:
    challenge = make_challenge()
    a = make_team("A")
    scored(challenge, a, 0.95, private=0.70)  # best public, not selected
    scored(challenge, a, 0.80, private=0.85, is_final=True)
    scored(challenge, a, 0.82, private=0.83, is_final=True)
    row = leaderboard_view(challenge=challenge, viewer=organizer, kind="private").rows[0]
    assert row.score == 0.85
    assert row.from_finals


def test_without_finals_the_private_score_is_that_of_the_best_public_submission(organizer) -> None:
    challenge = make_challenge()
    a = make_team("A")
    scored(challenge, a, 0.95, private=0.70)
    scored(challenge, a, 0.80, private=0.90)
    row = leaderboard_view(challenge=challenge, viewer=organizer, kind="private").rows[0]
    assert row.score == 0.70
    assert not row.from_finals


def test_selecting_a_final_later_moves_the_private_score_once_recorded(organizer) -> None:
    challenge = make_challenge()
    a = make_team("A")
    scored(challenge, a, 0.95, private=0.70)
    later = scored(challenge, a, 0.80, private=0.90)
    Submission.objects.filter(pk=later.pk).update(is_final=True)
    leaderboard_record_result(submission=later)
    assert (
        leaderboard_view(challenge=challenge, viewer=organizer, kind="private").rows[0].score
        == 0.90
    )


def test_recording_the_same_result_twice_changes_nothing(organizer) -> None:
    challenge = make_challenge()
    a = make_team("A")
    sub = scored(challenge, a, 0.7)
    before = TeamScore.objects.values().get(challenge=challenge, team=a)
    leaderboard_record_result(submission=sub)
    after = TeamScore.objects.values().get(challenge=challenge, team=a)
    before.pop("updated_at"), after.pop("updated_at")
    assert before == after
    assert after["entries"] == 1


def test_disqualifying_a_submission_and_rebuilding_removes_its_score(organizer) -> None:
    challenge = make_challenge()
    a = make_team("A")
    scored(challenge, a, 0.6)
    cheat = scored(challenge, a, 0.99)
    Submission.objects.filter(pk=cheat.pk).update(disqualified=True, disqualified_reason="leak")
    leaderboard_rebuild(challenge=challenge)
    row = leaderboard_view(challenge=challenge, viewer=organizer).rows[0]
    assert (row.score, row.entries) == (0.6, 1)


def test_rebuild_gives_the_same_table_as_incremental_updates(organizer) -> None:
    rng = random.Random(7)
    challenge = make_challenge(freeze_at=timezone.now() - timedelta(hours=5))
    now = timezone.now()
    teams = [make_team(f"R{i}") for i in range(12)]
    for _ in range(120):
        scored(
            challenge,
            rng.choice(teams),
            round(rng.uniform(0.5, 0.9), 2),  # rounded: plenty of exact ties
            private=round(rng.uniform(0.5, 0.9), 2),
            ci=(0.4, 0.95),
            at=now - timedelta(minutes=rng.randint(0, 600)),
            is_final=rng.random() < 0.05,
        )
    columns = [
        f.attname for f in TeamScore._meta.concrete_fields if f.name not in ("id", "updated_at")
    ]
    incremental = sorted(TeamScore.objects.filter(challenge=challenge).values_list(*columns))
    assert leaderboard_rebuild(challenge=challenge) == len(incremental)
    rebuilt = sorted(TeamScore.objects.filter(challenge=challenge).values_list(*columns))
    assert rebuilt == incremental


@pytest.mark.parametrize(
    ("metric", "digits", "freeze"),
    [("rmse", 5, False), ("rmse", 1, True), ("r2", 3, True), ("accuracy", 6, False)],
)
def test_the_rebuild_picks_each_teams_entry_from_scores_at_rounding_edges(
    metric: str, digits: int, freeze: bool
) -> None:
    """The rebuild narrows each team's rows in SQL to those near its best raw score: every
    row that rounds like the best, at any magnitude and sign, must survive that filter."""
    rng = random.Random(digits)
    now = timezone.now()
    challenge = make_challenge(
        metric=metric,
        display_precision=digits,
        freeze_at=now - timedelta(hours=3) if freeze else None,
    )
    for i in range(14):
        team = make_team(f"Edge {metric} {digits} {i}")
        scale = rng.choice([1e-6, 0.01, 1.0, 9.99, 10.0, 1234.5, 1e9])
        sign = -1.0 if metric == "r2" and i % 3 == 0 else 1.0
        centre = sign * scale * rng.uniform(1, 9.99)
        unit = 10.0 ** (math.floor(math.log10(abs(centre))) - digits + 1)
        edge = (round(centre / unit) + 0.5) * unit  # a rounding boundary near the centre
        values = [edge + rng.choice([-1, 1]) * rng.uniform(0, 1.2) * unit for _ in range(6)]
        values.append(0.0 if i == 13 else edge)  # on the boundary; one team at zero
        if i % 2:
            # The widest tie relative to the score: the first bucket above a power of ten
            # (1.0001 at 5 digits: [1.00005, 1.00015)), the team's best raw score at one
            # end and, one minute earlier, a score at the other end, which is its entry.
            low = 10.0 ** math.floor(math.log10(scale))
            width = low * 10.0 ** (1 - digits)
            ends = [sign * (low + 0.5001 * width), sign * (low + 1.4999 * width)]
            best = max(ends) if challenge.higher_is_better else min(ends)
            worse = [v * (0.5 if challenge.higher_is_better == (v > 0) else 2) for v in ends]
            values = [best, *(v for v in ends if v != best), *worse]
        for k, value in enumerate(values):
            scored(
                challenge,
                team,
                value,
                private=value * rng.uniform(0.99, 1.01),
                at=now - timedelta(minutes=k if k < 2 else rng.randint(0, 360)),
                is_final=rng.random() < 0.1,
            )
    columns = [
        f.attname for f in TeamScore._meta.concrete_fields if f.name not in ("id", "updated_at")
    ]
    incremental = sorted(TeamScore.objects.filter(challenge=challenge).values_list(*columns))
    assert leaderboard_rebuild(challenge=challenge) == 14
    rebuilt = sorted(TeamScore.objects.filter(challenge=challenge).values_list(*columns))
    assert rebuilt == incremental


def test_jump_to_my_team_finds_its_rank_and_page(member_a, team_a) -> None:
    challenge = make_challenge()
    for i in range(30):
        scored(challenge, make_team(f"T{i:02}"), 0.9 - i * 0.01)
    scored(challenge, team_a, 0.805)  # between T09 (0.81) and T10 (0.80): rank 11
    view = leaderboard_view(challenge=challenge, viewer=member_a, page=1, page_size=5)
    assert (view.own.rank, view.own.page) == (11, 3)
    page3 = leaderboard_view(challenge=challenge, viewer=member_a, page=3, page_size=5)
    assert page3.rows[0].name == "Team A" and page3.rows[0].is_own and page3.rows[0].rank == 11


def test_a_page_past_the_end_shows_the_last_page(organizer) -> None:
    challenge = make_challenge()
    for i in range(3):
        scored(challenge, make_team(f"T{i}"), 0.5 + i / 10)
    view = leaderboard_view(challenge=challenge, viewer=organizer, page=99, page_size=2)
    assert view.page == 2 and view.num_pages == 2 and len(view.rows) == 1


def test_an_unknown_board_kind_is_refused(organizer) -> None:
    with pytest.raises(ValueError, match="Unknown leaderboard 'secret'"):
        leaderboard_view(challenge=make_challenge(), viewer=organizer, kind="secret")


def test_reading_a_board_takes_the_same_few_queries_at_any_size(
    organizer, django_assert_max_num_queries
) -> None:
    challenge = make_challenge()
    for i in range(60):
        scored(challenge, make_team(f"Q{i}"), i / 100, ci=(i / 100 - 0.01, i / 100 + 0.01))
    scored(challenge, None, 0.305, is_baseline=True)
    with django_assert_max_num_queries(12):
        view = leaderboard_view(challenge=challenge, viewer=organizer, page=2, page_size=50)
    assert len(view.rows) == 10


def test_shakeup_shows_public_rank_private_rank_and_the_move(organizer) -> None:
    challenge = make_challenge()
    scored(challenge, make_team("Overfit"), 0.95, private=0.60)
    scored(challenge, make_team("Steady"), 0.90, private=0.89)
    scored(challenge, make_team("Middle"), 0.80, private=0.70)
    view = shakeup_view(challenge=challenge, viewer=organizer)
    moves = {row.name: (row.public_rank, row.private_rank, row.move) for row in view.rows}
    assert moves == {"Steady": (2, 1, 1), "Middle": (3, 2, 1), "Overfit": (1, 3, -2)}
    assert [row.name for row in view.rows] == ["Steady", "Middle", "Overfit"]
