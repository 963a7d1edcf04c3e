"""Gradient-descent diagnostics read from a loss curve (one value per epoch).

Each finding is a dict {"code", "title", "detail"}, shown with the verdict.
"""

from __future__ import annotations

import math

DIVERGENCE_FACTOR = 100.0  # the loss grew by two orders of magnitude
STEEP_TAIL_DROP = 0.05  # still falling by 5% over the last tenth of training
OSCILLATION_SIGN_CHANGES = 0.5  # at least half of the late steps reverse direction
OSCILLATION_AMPLITUDE = 0.05  # and the swings are at least 5% of the loss (not SGD noise)
MIN_POINTS = 5


def _finding(code: str, title: str, detail: str) -> dict[str, str]:
    return {"code": code, "title": title, "detail": detail}


def diagnose(curve: list[float]) -> list[dict[str, str]]:
    """Diverged, not converged, oscillating: what the loss curve says about training."""
    if not curve:
        return []
    for epoch, value in enumerate(curve):
        if not math.isfinite(value):
            return [
                _finding(
                    "diverged",
                    "Training diverged",
                    f"The loss became {value} at epoch {epoch}. Lower the learning rate or "
                    "scale the features (standardize each column).",
                )
            ]
    first = curve[0]
    peak = max(curve)
    base = max(abs(first), 1e-12)
    if peak > base * DIVERGENCE_FACTOR and curve[-1] > base * DIVERGENCE_FACTOR**0.5:
        return [
            _finding(
                "diverged",
                "Training diverged",
                f"The loss grew from {first:.4g} to {peak:.4g}. Lower the learning rate or "
                "scale the features (standardize each column).",
            )
        ]
    if len(curve) < MIN_POINTS:
        return []
    findings = []
    tail = max(1, len(curve) // 10)
    before, last = curve[-1 - tail], curve[-1]
    drop = (before - last) / max(abs(before), 1e-12)
    if drop > STEEP_TAIL_DROP:
        findings.append(
            _finding(
                "not_converged",
                "Not converged",
                f"The loss was still falling by {drop:.0%} over the last {tail} epochs. "
                "Train for more epochs or raise the learning rate.",
            )
        )
    half = curve[len(curve) // 2 :]
    steps = [b - a for a, b in zip(half, half[1:], strict=False)]
    nonzero = [s for s in steps if s != 0]
    if len(nonzero) >= 4:
        changes = sum(1 for a, b in zip(nonzero, nonzero[1:], strict=False) if (a > 0) != (b > 0))
        swing = sum(abs(s) for s in nonzero) / len(nonzero)
        level = max(sum(abs(v) for v in half) / len(half), 1e-12)
        if changes / (len(nonzero) - 1) >= OSCILLATION_SIGN_CHANGES and swing / level >= (
            OSCILLATION_AMPLITUDE
        ):
            findings.append(
                _finding(
                    "oscillating",
                    "Loss oscillates",
                    f"The loss goes up and down in {changes} of the last {len(nonzero)} "
                    "epochs. Lower the learning rate (or use a larger batch).",
                )
            )
    return findings
