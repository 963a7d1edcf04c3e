"""Which submissions count on a leaderboard and in which order (Kaggle's rules).

Shared by the incremental update, the full rebuild and the read side, so that all three
rank the same way: best score first in the metric's direction, ties to the earlier
submission, then the lower id (a total order, stable across pages).
"""

from __future__ import annotations

from django.db.models import F, OrderBy, Q, QuerySet

from hackathon.challenges.models import Challenge
from hackathon.submissions.models import State, Submission


def scored_submissions(challenge: Challenge) -> QuerySet[Submission]:
    """Team submissions that hold a public score and are not disqualified."""
    return Submission.objects.filter(
        challenge=challenge,
        state=State.FINISHED,
        disqualified=False,
        is_baseline=False,
        team__isnull=False,
        public_score__isnull=False,
    )


def baseline_submissions(challenge: Challenge) -> QuerySet[Submission]:
    """The organizers' baseline solutions: shown on the boards, never ranked."""
    return Submission.objects.filter(
        challenge=challenge,
        state=State.FINISHED,
        disqualified=False,
        is_baseline=True,
        public_score__isnull=False,
    )


def best_first(
    score: str, at: str, *, higher_is_better: bool, tiebreak: str = "id"
) -> list[OrderBy]:
    """ORDER BY for "best score first, earlier wins ties".

    Callers filter out rows without a score; the default NULLS placement is kept so that
    PostgreSQL can walk the (score DESC, time, team) and (score, time, team) indexes.
    """
    by_score = F(score).desc() if higher_is_better else F(score).asc()
    return [by_score, F(at).asc(), F(tiebreak).asc()]


def ranked_above(
    score: str,
    at: str,
    tiebreak: str,
    *,
    value: float,
    when: object,
    key: int,
    higher_is_better: bool,
) -> Q:
    """Rows strictly ahead of (value, when, key) in `best_first` order."""
    better = f"{score}__gt" if higher_is_better else f"{score}__lt"
    return (
        Q(**{better: value})
        | Q(**{score: value, f"{at}__lt": when})
        | Q(**{score: value, at: when, f"{tiebreak}__lt": key})
    )
