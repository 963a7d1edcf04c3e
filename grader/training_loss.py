"""The final model's loss on training rows, measured by trusted code.

On a challenge that asks for `loss_curve_` (the gradient-descent-only rule), the harness sends
the model's predictions for the first `TRAINING_ROWS` training rows with its report. From them
and the training labels, read here outside the sandbox, this module computes the losses a
loss curve is commonly written in. The organizers' review sets the curve the solution reports
beside them: a curve that does not end near the loss of the model it came with was not the
training of that model. A measurement for the review, never a verdict.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from grader import scoring

TRAINING_ROWS = 5000  # enough for a loss within a few percent; predicted in milliseconds


def training_rows(n_train: int, *, curve_required: bool) -> int:
    """How many training rows the model predicts for the measurement (0: none)."""
    return min(int(n_train), TRAINING_ROWS) if curve_required else 0


def measure(
    *,
    task: str,
    n_classes: int | None,
    y_train: np.ndarray,
    arrays: Mapping[str, np.ndarray | None],
    rows: int,
) -> dict:
    """{"rows", and "mse", "rmse", "mae", "target_variance" (regression) or "log_loss"
    (classification)}, or {"rows", "unavailable": why} when the predictions are missing or
    not valid for these rows."""
    y = np.asarray(y_train)[:rows]
    try:
        if task == "regression":
            pred = arrays.get("train_predictions")
            if pred is None:
                return {"rows": rows, "unavailable": "predict() gave nothing for training rows"}
            values = scoring.validate_predictions(
                pred, task=task, n_rows=rows, n_classes=None, shape=getattr(pred, "shape", None)
            )
            error = values - y.astype(np.float64)
            mse = float(np.mean(error**2))
            return {
                "rows": rows,
                "mse": mse,
                "rmse": float(np.sqrt(mse)),
                "mae": float(np.mean(np.abs(error))),
                "target_variance": float(np.var(y.astype(np.float64))),
            }
        proba = arrays.get("train_proba")
        if proba is None:
            return {"rows": rows, "unavailable": "no predict_proba() for training rows"}
        k = n_classes or 2
        p = scoring.validate_proba(proba, n_rows=rows, n_classes=k, shape=proba.shape)
        labels = y.astype(np.int64)
        eps = np.finfo(np.float64).eps
        picked = np.clip(p[np.arange(rows), labels], eps, 1.0)
        return {"rows": rows, "log_loss": float(np.mean(-np.log(picked)))}
    except scoring.InvalidPredictions as exc:
        return {"rows": rows, "unavailable": str(exc)[:200]}
