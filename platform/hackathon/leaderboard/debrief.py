"""The debrief of a challenge (reads only): what worked, once the final standings are out.

Who sees it is THE visibility rule (`viewer_visibility`): the debrief is made of the private
board and the shake-up, so it is shown to whoever may see them, participants once
submissions are closed (and after the reveal when the board was frozen), organizers at any
time, as a preview marked as such.

What it shows, and where each figure comes from (principle: nothing a solution claims is
shown as the platform's measurement):
- the distribution of the teams' scores on the private board (at display precision);
- scores against hyperparameters. Model challenges: what each solution *declared* in
  `hyperparameters_` (learning rate, batch size, optimizer kind, under the names
  `challenges.hyperparameters` reads), labelled as declared.
  Optimizer track: what the platform measured itself (steps, mean batch size per step);
  it cannot see which update rule an optimizer implements, so no kind plot there;
- the top five teams' loss curves with the baseline's: on the optimizer track the
  platform's own measurement (training loss of the first public instance); on model
  challenges each solution's `loss_curve_`, labelled as reported by the solution;
- the shake-up (public rank against private rank, who moved);
- the solutions their teams chose to share (`sharing.shared_solutions`): each team's
  final submission as the private board has it now.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import F

from hackathon.challenges.hyperparameters import (
    BATCH_SIZE,
    LEARNING_RATE,
    OPTIMIZER,
    declared_value,
)
from hackathon.challenges.models import Challenge
from hackathon.challenges.precision import score_text
from hackathon.leaderboard.models import BaselineScore, TeamDisqualification, TeamScore
from hackathon.leaderboard.scoring import baseline_submissions, board_score, scored_submissions
from hackathon.leaderboard.selectors import shakeup_view
from hackathon.leaderboard.sharing import shared_solutions
from hackathon.leaderboard.visibility import Viewer, viewer_visibility
from hackathon.submissions.models import Submission

HIDDEN_MESSAGE = (
    "The debrief is shown once the private leaderboard is: after the end, and after the "
    "organizers' reveal when the leaderboard was frozen."
)
TOP_CURVES = 5
MAX_POINTS = 3000  # submissions plotted per scatter (the latest); the count says so
CURVE_POINTS = 400
HISTOGRAM_MAX_BINS = 20
SLOPE_TEAMS = 15
SHAKEUP_TEAMS = 500
MOVERS = 3
MAX_KINDS = 10


def _positive(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and number > 0 else None


def _kind(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().lower()[:32]


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _thin(xs: list[Any], ys: list[Any], points: int = CURVE_POINTS) -> tuple[list, list]:
    if len(ys) <= points:
        return xs, ys
    step = len(ys) / points
    picked = sorted({int(i * step) for i in range(points - 1)} | {len(ys) - 1})
    return [xs[i] for i in picked], [ys[i] for i in picked]


def robust_range(values: list[float]) -> tuple[float, float] | None:
    """The range a chart's value axis shows: every value, unless a few lie far outside the
    rest (a diverged run's 1e87 would flatten every other point): then the quartiles'
    range widened by three interquartile ranges; points outside are drawn at the edge."""
    finite = sorted(v for v in values if math.isfinite(v))
    if not finite:
        return None
    low, high = finite[0], finite[-1]
    if len(finite) >= 4:
        q1, q3 = finite[len(finite) // 4], finite[(3 * len(finite)) // 4]
        spread = q3 - q1
        if spread > 0:
            low, high = max(low, q1 - 3 * spread), min(high, q3 + 3 * spread)
    return low, high


def histogram(values: list[float], bins: int | None = None) -> dict[str, Any]:
    """Equal-width bins over the robust range (about the square root of the count, at most
    HISTOGRAM_MAX_BINS); values outside it are counted apart."""
    span = robust_range(values)
    if span is None:
        return {"edges": [], "counts": [], "below": 0, "above": 0}
    low, high = span
    n = bins or max(1, min(HISTOGRAM_MAX_BINS, math.ceil(math.sqrt(len(values)))))
    if high == low:
        return {"edges": [low, high], "counts": [len(values)], "below": 0, "above": 0}
    width = (high - low) / n
    counts = [0] * n
    below = above = 0
    for v in values:
        if v < low:
            below += 1
        elif v > high:
            above += 1
        else:
            counts[min(n - 1, int((v - low) / width))] += 1
    return {
        "edges": [low + i * width for i in range(n)] + [high],
        "counts": counts,
        "below": below,
        "above": above,
    }


def debrief_view(*, challenge: Challenge, viewer: Viewer) -> dict[str, Any]:
    """Everything the debrief page draws, as this viewer may see it (see the module
    docstring); PermissionDenied while THE visibility rule hides the private board."""
    visibility = viewer_visibility(challenge=challenge, viewer=viewer)
    if not visibility.may_see_private:
        raise PermissionDenied(HIDDEN_MESSAGE)
    everyone = viewer_visibility(challenge=challenge, viewer=None).may_see_private
    team_scores = _private_board(challenge)
    points = _submission_points(challenge)
    optimizer = challenge.is_optimizer_track
    return {
        "challenge": challenge.slug,
        "metric": challenge.get_metric_display(),
        "higher_is_better": challenge.higher_is_better,
        "track": challenge.track,
        "preview": not everyone,  # an organizer sees what participants do not yet
        "teams": len(team_scores),
        "distribution": _distribution(challenge, team_scores),
        "scatters": _scatters(points, optimizer=optimizer),
        "kinds": None if optimizer else _kinds(points),
        "curves": _curves(challenge, team_scores[:TOP_CURVES]),
        "shakeup": _shakeup(challenge, viewer),
        "shared": [
            {
                "submission": shared.submission.pk,
                "team": shared.share.team.name,
                "rank": _rank_of(team_scores, shared.share.team_id),
                "score_text": score_text(
                    board_score(challenge, shared.submission.private_score),
                    challenge.display_precision,
                ),
                "hyperparameters": shared.submission.hyperparameters,
                "shared_at": shared.share.shared_at.isoformat(),
            }
            for shared in shared_solutions(challenge=challenge)
        ],
    }


def _private_board(challenge: Challenge) -> list[dict[str, Any]]:
    """The private board, best first, with each team's rank (ties share it)."""
    order = F("private_score").desc() if challenge.higher_is_better else F("private_score").asc()
    rows: list[dict[str, Any]] = [
        dict(row)
        for row in TeamScore.objects.filter(challenge=challenge, private_score__isnull=False)
        .order_by(order, "private_at", "team_id")
        .values("team_id", "team__name", "private_score", "private_submission_id")
    ]
    rank, previous = 0, None
    for position, row in enumerate(rows, start=1):
        if row["private_score"] != previous:
            rank, previous = position, row["private_score"]
        row["rank"] = rank
    return rows


def _rank_of(rows: list[dict[str, Any]], team_id: int) -> int | None:
    return next((row["rank"] for row in rows if row["team_id"] == team_id), None)


def _distribution(challenge: Challenge, team_scores: list[dict[str, Any]]) -> dict[str, Any]:
    scores = [row["private_score"] for row in team_scores]
    baselines = [
        score
        for score in BaselineScore.objects.filter(
            challenge=challenge, private_score__isnull=False
        ).values_list("private_score", flat=True)
        if score is not None and math.isfinite(score)
    ]
    return {**histogram(scores), "baselines": baselines, "count": len(scores)}


def _submission_points(challenge: Challenge) -> list[dict[str, Any]]:
    """The latest scored team submissions (at most MAX_POINTS), at their private score."""
    disqualified = TeamDisqualification.objects.filter(challenge=challenge).values("team_id")
    rows = (
        scored_submissions(challenge)
        .exclude(team_id__in=disqualified)
        .filter(private_score__isnull=False)
        .order_by("-created_at", "-pk")
        .values("pk", "private_score", "hyperparameters", "extra_scores")[:MAX_POINTS]
    )
    points = []
    for row in rows:
        score = _finite(board_score(challenge, row["private_score"]))
        if score is not None:
            points.append({**row, "score": score})
    return points


def _scatter(key: str, label: str, source: str, xs: list[tuple[float, float]]) -> dict:
    span = robust_range([y for _, y in xs])
    return {
        "key": key,
        "label": label,
        "source": source,
        "log_x": True,
        "points": [[x, y] for x, y in xs],
        "y_range": list(span) if span else None,
    }


def _scatters(points: list[dict[str, Any]], *, optimizer: bool) -> list[dict[str, Any]]:
    if optimizer:
        measured = "measured by the platform (mean over the public instances)"
        steps, batches = [], []
        for p in points:
            extra = p["extra_scores"] or {}
            n_steps, n_examples = (
                _positive(extra.get("steps_mean")),
                _positive(extra.get("examples_mean")),
            )
            if n_steps is not None:
                steps.append((n_steps, p["score"]))
                if n_examples is not None:
                    batches.append((n_examples / n_steps, p["score"]))
        return [
            _scatter("steps", "Steps", measured, steps),
            _scatter("batch_size", "Batch size (examples per step)", measured, batches),
        ]
    declared_by = "declared by each solution in hyperparameters_ (not measured)"
    rates, batches = [], []
    for p in points:
        rate = _positive(declared_value(p["hyperparameters"], LEARNING_RATE))
        batch = _positive(declared_value(p["hyperparameters"], BATCH_SIZE))
        if rate is not None:
            rates.append((rate, p["score"]))
        if batch is not None:
            batches.append((batch, p["score"]))
    return [
        _scatter("learning_rate", "Learning rate", declared_by, rates),
        _scatter("batch_size", "Batch size", declared_by, batches),
    ]


def _kinds(points: list[dict[str, Any]]) -> dict[str, Any]:
    by_kind: dict[str, list[float]] = defaultdict(list)
    for p in points:
        kind = _kind(declared_value(p["hyperparameters"], OPTIMIZER))
        if kind is not None:
            by_kind[kind].append(p["score"])
    ordered = sorted(by_kind.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    if len(ordered) > MAX_KINDS:
        rest = [s for _, scores in ordered[MAX_KINDS - 1 :] for s in scores]
        ordered = [*ordered[: MAX_KINDS - 1], ("other", rest)]
    every = [s for _, scores in ordered for s in scores]
    span = robust_range(every)
    return {
        "source": "declared by each solution in hyperparameters_ (not measured)",
        "kinds": [
            {"kind": kind, "count": len(scores), "scores": scores, "median": _median(scores)}
            for kind, scores in ordered
        ],
        "y_range": list(span) if span else None,
    }


def _median(values: list[float]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _curve_of(sub: dict[str, Any], *, optimizer: bool) -> tuple[list, list] | None:
    if optimizer:
        public = [i for i in sub["instances"] or [] if i.get("part") == "public"]
        if not public:
            return None
        train = public[0].get("train") or {}
        xs, ys = list(train.get("examples") or []), list(train.get("loss") or [])
        if not ys or len(xs) != len(ys):
            return None
        return _thin(xs, ys)
    curve = [
        v if isinstance(v, int | float) and math.isfinite(v) else None
        for v in sub["loss_curve"] or []
    ]
    if not any(v is not None for v in curve):
        return None
    return _thin(list(range(1, len(curve) + 1)), curve)


def _curves(challenge: Challenge, top: list[dict[str, Any]]) -> dict[str, Any]:
    optimizer = challenge.is_optimizer_track
    ids = [row["private_submission_id"] for row in top if row["private_submission_id"]]
    subs: dict[int, dict[str, Any]] = {
        s["pk"]: dict(s)
        for s in Submission.objects.filter(pk__in=ids).values("pk", "loss_curve", "instances")
    }
    series = []
    for row in top:
        sub = subs.get(row["private_submission_id"])
        curve = _curve_of(sub, optimizer=optimizer) if sub else None
        if curve is not None:
            series.append(
                {"label": f"{row['rank']}. {row['team__name']}", "x": curve[0], "y": curve[1]}
            )
    baseline = None
    order = "-private_score" if challenge.higher_is_better else "private_score"
    for base in (
        baseline_submissions(challenge)
        .filter(private_score__isnull=False)
        .order_by(order, "pk")
        .values("pk", "loss_curve", "instances")[:5]
    ):
        curve = _curve_of(dict(base), optimizer=optimizer)
        if curve is not None:
            baseline = {"label": "baseline", "x": curve[0], "y": curve[1]}
            break
    if optimizer:
        source = "measured by the platform: training loss on the first public instance"
        x_label = "examples"
    else:
        source = "reported by each solution (loss_curve_), not measured by the platform"
        x_label = "epoch"
    return {
        "trusted": optimizer,
        "source": source,
        "x_label": x_label,
        "series": series,
        "baseline": baseline,
    }


def _shakeup(challenge: Challenge, viewer: Viewer) -> dict[str, Any]:
    view = shakeup_view(challenge=challenge, viewer=viewer, page_size=SHAKEUP_TEAMS)
    rows = [row.as_dict() for row in view.rows]
    movers = sorted((r for r in rows if r["move"]), key=lambda r: -abs(r["move"]))
    return {
        "total": view.total_teams,
        "rows": rows[:SLOPE_TEAMS],
        "up": sorted((r for r in rows if r["move"] > 0), key=lambda r: -r["move"])[:MOVERS],
        "down": sorted((r for r in rows if r["move"] < 0), key=lambda r: r["move"])[:MOVERS],
        "moved": len(movers),
    }
