"""The public leader's training curves against the baseline's, on an optimizer challenge.

`leader_curves` feeds `/leaderboard/<slug>/curves.json`, drawn under the public board by
static/leaderboard/curves.js. The runs are the ones the public board shows as this viewer sees
it (THE visibility rule, through `leaderboard_view`): while the board is frozen for them, the
frozen leader's best submission from before the freeze and a baseline submitted before it;
otherwise the live leader's and the best baseline's. Of their instances, only those this
viewer may see (`visible_instances`: public ones; private ones once the private board is
visible to them). Every figure is what the trusted driver measured and stored with the
submission: nothing a solution says about itself.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from hackathon.challenges.models import Challenge
from hackathon.challenges.optimizer import visible_instances
from hackathon.leaderboard.models import BaselineScore, TeamScore
from hackathon.leaderboard.scoring import best_first
from hackathon.leaderboard.selectors import leaderboard_view
from hackathon.leaderboard.visibility import Viewer
from hackathon.submissions.models import Submission

CURVE_POINTS = 200  # per instance and curve: enough for a chart a page wide
MEAN_POINTS = 100


def leader_curves(*, challenge: Challenge, viewer: Viewer) -> dict[str, Any]:
    """The curves of the public board's leader and of the best baseline (see the module
    docstring); `available` is false on a model-track challenge."""
    if not challenge.is_optimizer_track:
        return {"available": False}
    board = leaderboard_view(challenge=challenge, viewer=viewer, kind="public", page_size=1)
    show_private = board.visibility.may_see_private
    leader = next((r for r in board.rows if not r.is_baseline and r.team_id is not None), None)
    column = "frozen_submission_id" if board.frozen else "best_submission_id"
    runs: dict[str, Any] = {"leader": None, "baseline": None}
    if leader is not None and leader.team_id is not None:
        sub_id = (
            TeamScore.objects.filter(challenge=challenge, team_id=leader.team_id)
            .values_list(column, flat=True)
            .first()
        )
        runs["leader"] = _run(sub_id, leader.name, leader.score, show_private)
    baselines = BaselineScore.objects.filter(challenge=challenge)
    if board.frozen and challenge.freeze_at is not None:
        baselines = baselines.filter(submitted_at__lt=challenge.freeze_at)
    best = (
        baselines.order_by(
            *best_first("public_score", "submitted_at", higher_is_better=challenge.higher_is_better)
        )
        .values("submission_id", "public_score")
        .first()
    )
    if best is not None:
        runs["baseline"] = _run(
            best["submission_id"], "Baseline", best["public_score"], show_private
        )
    workload = challenge.workload or {}
    scoring = workload.get("scoring")
    return {
        "available": True,
        "frozen": board.frozen,
        "scoring": scoring,
        "target": workload.get("target") if scoring == "budget_to_target" else None,
        "higher_is_better": challenge.higher_is_better,
        **runs,
    }


def _run(
    submission_id: int | None, name: str, score: float | None, show_private: bool
) -> dict[str, Any] | None:
    if submission_id is None:
        return None
    stored = Submission.objects.filter(pk=submission_id).values_list("instances", flat=True).first()
    instances = [_instance(i) for i in visible_instances(stored, show_private=show_private)]
    return {"name": name, "score": score, "instances": instances, "mean": _mean(instances)}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _pick(n: int, points: int) -> list[int]:
    if n <= points:
        return list(range(n))
    return sorted({round(i * (n - 1) / (points - 1)) for i in range(points)})


def _instance(stored: dict[str, Any]) -> dict[str, Any]:
    train = stored.get("train") or {}
    examples, losses = list(train.get("examples") or []), list(train.get("loss") or [])
    picked = _pick(min(len(examples), len(losses)), CURVE_POINTS)
    return {
        "index": stored.get("index"),
        "part": stored.get("part"),
        "score": _number(stored.get("score")),
        "examples": stored.get("examples"),
        "ended": stored.get("ended"),
        "train": {
            "examples": [examples[i] for i in picked],
            "loss": [_number(losses[i]) for i in picked],
        },
        "validation": [
            [point[0], _number(point[1])] for point in stored.get("validation") or [] if point
        ],
    }


def _held(xs: list[float], ys: list[float | None], grid: np.ndarray) -> np.ndarray:
    """The last value measured at or before each grid point (NaN before the first)."""
    values = np.array([np.nan if y is None else y for y in ys], dtype=float)
    at = np.searchsorted(np.asarray(xs, dtype=float), grid, side="right") - 1
    out = np.full(len(grid), np.nan)
    out[at >= 0] = values[at[at >= 0]]
    return out


def _mean(instances: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The mean over instances on a common grid of examples, up to where the shortest run
    ended (past it a mean would mix runs that stopped with runs that went on)."""
    runs = [i for i in instances if i["train"]["examples"]]
    if not runs:
        return None
    end = min(i["train"]["examples"][-1] for i in runs)
    grid = np.linspace(0.0, float(end), MEAN_POINTS)
    train = np.array([_held(i["train"]["examples"], i["train"]["loss"], grid) for i in runs])
    validation = np.array(
        [
            _held([p[0] for p in i["validation"]], [p[1] for p in i["validation"]], grid)
            for i in runs
        ]
    )

    def mean(rows: np.ndarray) -> list[float | None]:
        # A point is the mean of every run's value there, or none when a run has none.
        return [float(column.mean()) if np.isfinite(column).all() else None for column in rows.T]

    return {
        "instances": len(runs),
        "examples": [int(round(e)) for e in grid],
        "train": mean(train),
        "validation": mean(validation),
    }
