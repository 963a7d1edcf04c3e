"""Whether a reported loss curve is borne out: plain Python, no Django.

`loss_curve_` is what the solution says about its training; the platform cannot watch the
training itself. What it can do (trusted side, grader/training_loss.py) is measure the loss
of the model the solution hands back on its training rows, and look at the curve's numbers:

- the curve must end near that loss, in one of the units a loss curve is commonly written
  in (mean squared error, half of it, its root, mean absolute error, the squared error over
  the target's variance for standardised targets; log loss in nats or bits): within a
  factor of `MATCH_FACTOR` of one of them, at its last or its lowest point;
- a curve whose successive ratios or differences are all the same to 1e-9 (np.geomspace,
  np.linspace, c * r**k) was computed from a formula, not from training;
- a curve whose every value has at most three significant digits ([5, 4, 3, 2, 1]) was typed
  in (or rounded so much that it no longer shows training).

A closed form that writes a plausible curve ending at the true loss passes these: the
organizers' review reads the code too (direct_solve.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

MATCH_FACTOR = 1.5
REGULAR_TOLERANCE = 1e-9
TYPED_DIGITS = 3
MIN_POINTS = 3  # fewer points say nothing about the shape


def _finite(curve: Sequence[float | None]) -> list[float]:
    return [float(v) for v in curve if v is not None and math.isfinite(v)]


def loss_forms(training_loss: Mapping[str, float], task: str) -> dict[str, float]:
    """The measured loss in the units a loss curve is commonly written in."""
    if task == "regression":
        mse, mae = training_loss.get("mse"), training_loss.get("mae")
        if mse is None or mae is None:
            return {}
        forms = {"MSE": mse, "MSE / 2": mse / 2, "RMSE": math.sqrt(mse), "MAE": mae}
        variance = training_loss.get("target_variance") or 0.0
        if variance > 0:
            forms |= {"MSE / Var(y)": mse / variance, "MSE / (2 Var(y))": mse / (2 * variance)}
        return forms
    log_loss = training_loss.get("log_loss")
    if log_loss is None:
        return {}
    return {"log loss": log_loss, "log loss in bits": log_loss / math.log(2)}


def _close(value: float, target: float) -> bool:
    if target <= 0:
        return abs(value) <= 1e-9
    return target / MATCH_FACTOR <= value <= target * MATCH_FACTOR


def _short(value: float) -> str:
    return f"{value:.4g}"


def mismatch(curve: Sequence[float | None], training_loss: Mapping, task: str) -> str | None:
    """Why the curve does not end at the measured loss of the final model, or None."""
    points = _finite(curve)
    forms = loss_forms(training_loss, task)
    if not points or not forms:
        return None
    last, lowest = points[-1], min(points)
    if any(_close(last, v) or _close(lowest, v) for v in forms.values()):
        return None
    measured = ", ".join(f"{name} {_short(v)}" for name, v in forms.items())
    rows = training_loss.get("rows")
    return (
        f"the curve ends at {_short(last)} (lowest {_short(lowest)}), but the model it came "
        f"with has, measured by the platform on {rows} training rows: {measured}; no form "
        f"is within a factor {MATCH_FACTOR:g} of the curve"
    )


def _all_equal(values: list[float]) -> bool:
    scale = max(abs(v) for v in values)
    return scale > 0 and max(values) - min(values) <= REGULAR_TOLERANCE * scale


def formula_shape(curve: Sequence[float | None]) -> str | None:
    """Why the curve looks computed from a formula rather than recorded, or None."""
    points = _finite(curve)
    if len(points) < MIN_POINTS or len(set(points)) == 1:
        return None
    steps = [b - a for a, b in zip(points, points[1:], strict=False)]
    if _all_equal(steps):
        return f"its {len(points)} values fall by exactly the same step (a straight line)"
    if all(v != 0 for v in points):
        ratios = [b / a for a, b in zip(points, points[1:], strict=False)]
        if _all_equal(ratios):
            return (
                f"its {len(points)} values fall by exactly the same ratio {ratios[0]:.6g} "
                "(a geometric sequence)"
            )
    if all(v == float(f"{v:.{TYPED_DIGITS}g}") for v in points):
        shown = ", ".join(_short(v) for v in points[:6]) + (", ..." if len(points) > 6 else "")
        return (
            f"every one of its {len(points)} values has at most {TYPED_DIGITS} significant "
            f"digits ({shown}): typed in, or rounded"
        )
    return None


def curve_reasons(curve: Sequence[float | None], training_loss: Mapping, task: str) -> list[str]:
    """Every reason the curve is not borne out (empty: nothing found)."""
    return [r for r in (formula_shape(curve), mismatch(curve, training_loss, task)) if r]
