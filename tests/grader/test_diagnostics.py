"""Loss-curve diagnostics."""

from __future__ import annotations

import math

from grader.diagnostics import diagnose


def codes(curve: list[float]) -> list[str]:
    return [d["code"] for d in diagnose(curve)]


def test_nan_loss_is_divergence_with_advice() -> None:
    findings = diagnose([1.0, 0.5, math.nan])
    assert findings[0]["code"] == "diverged"
    assert "epoch 2" in findings[0]["detail"]
    assert (
        "learning rate" in findings[0]["detail"] and "scale the features" in findings[0]["detail"]
    )


def test_loss_growing_by_orders_of_magnitude_is_divergence() -> None:
    assert codes([1.0, 3.0, 30.0, 400.0, 9000.0]) == ["diverged"]


def test_loss_still_falling_steeply_at_the_end_is_not_converged() -> None:
    assert codes([10.0 / (e + 1) for e in range(20)]) == ["not_converged"]


def test_loss_that_flattened_out_is_healthy() -> None:
    assert codes([1.0 + 9.0 * math.exp(-e) for e in range(60)]) == []


def test_loss_bouncing_up_and_down_is_oscillating() -> None:
    curve = [5.0 - 0.01 * e + (0.5 if e % 2 else -0.5) for e in range(40)]
    assert "oscillating" in codes(curve)


def test_empty_or_short_curves_say_nothing() -> None:
    assert codes([]) == []
    assert codes([1.0, 0.5]) == []


def test_small_minibatch_noise_is_not_called_oscillation() -> None:
    curve = [1.0 + 9.0 * math.exp(-e / 5) + (0.01 if e % 2 else -0.01) for e in range(80)]
    assert codes(curve) == []
