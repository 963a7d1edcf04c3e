"""Which submissions count on a leaderboard and in which order (Kaggle's rules).

THE ordering rule, shared by the incremental update, the full rebuild and the read side
(pages, projector, API, CSV, live events all read what these produce):

- Scores are compared at the challenge's display precision (`challenges.precision`):
  scores equal at that precision are tied and share a rank.
- Among tied scores the earlier submission comes first, then the lower id (a total
  order, stable across pages). Within a team, its board entry is its first submission
  in this order, so a later submission equal at display precision changes nothing.

The board tables (`TeamScore`, `BaselineScore`) store scores already rounded to the
display precision (`board_score`), so the database orders them by this rule with plain
indexes; `first_in_board_order` picks a team's entry from its submissions in Python.
A rebuild first narrows each team's submissions in SQL to the few that can tie with its
best raw score (`TIE_BAND`), then applies the same function to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db.models import F, OrderBy, Q, QuerySet

from hackathon.challenges.models import Challenge
from hackathon.challenges.precision import score_round
from hackathon.submissions.models import State, Submission


def board_score(challenge: Challenge, value: float | None) -> float | None:
    """A score as the boards hold, rank and publish it: at the display precision."""
    return score_round(value, challenge.display_precision)


def tie_band(digits: int) -> float:
    """Relative half-width of a band around a score `best` that holds every score rounding
    to the same value at `digits` significant digits.

    Rounding is monotone, so the scores that round like `best` form an interval around it
    no wider than one unit of the last digit shown, 10**(1 - digits) * |R| at most, where
    R, the rounded value, is at most 2 * |best|. The band, 2.5 * 10**(1 - digits) relative
    to |best|, covers that with room for floating-point error: the SQL filter
    `|score - best| <= band * |best|` keeps every candidate for a team's first entry in
    board order (and perhaps a few more, which the exact rule then drops)."""
    return 2.5 * 10.0 ** (1 - digits)


def board_order_key(
    challenge: Challenge, value: float, at: datetime, key: int
) -> tuple[float, datetime, int]:
    """Sort key of THE rule: rounded score in the metric's direction, earlier, lower id."""
    rounded = board_score(challenge, value)
    if rounded is None:
        raise ValueError("board_order_key needs a finite score")
    return (-rounded if challenge.higher_is_better else rounded, at, key)


def first_in_board_order(
    challenge: Challenge,
    rows: Iterable[Mapping[str, Any]],
    *,
    score: str = "public_score",
    at: str = "created_at",
    key: str = "id",
) -> Mapping[str, Any] | None:
    """The row that ranks first by THE rule among `rows` (those with a finite score).

    One pass, one rounding per row: a rebuild runs it over every submission."""
    digits = challenge.display_precision
    sign = -1.0 if challenge.higher_is_better else 1.0
    first: Mapping[str, Any] | None = None
    first_key: tuple[float, Any, Any] | None = None
    for row in rows:
        rounded = score_round(row[score], digits)
        if rounded is None:
            continue
        row_key = (sign * rounded, row[at], row[key])
        if first_key is None or row_key < first_key:
            first, first_key = row, row_key
    return first


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
    """ORDER BY for "best score first, earlier wins ties", on columns that hold scores at
    display precision (the board tables).

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
    """Rows strictly ahead of (value, when, key) in `best_first` order (the position,
    not the rank: tied rows share a rank, see `strictly_better`)."""
    better = f"{score}__gt" if higher_is_better else f"{score}__lt"
    return (
        Q(**{better: value})
        | Q(**{score: value, f"{at}__lt": when})
        | Q(**{score: value, at: when, f"{tiebreak}__lt": key})
    )


def strictly_better(score: str, *, value: float, higher_is_better: bool) -> Q:
    """Rows with a better score at display precision: a row's rank is their count + 1,
    so rows tied at display precision share a rank."""
    return Q(**{f"{score}__gt" if higher_is_better else f"{score}__lt": value})
