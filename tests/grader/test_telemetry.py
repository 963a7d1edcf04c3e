"""Training telemetry measured or validated by the trusted side (real sandbox): floating-point
events during fit, divergence explained, declared hyperparameters, the loss-curve rule, the
trusted fit/predict timings."""

from __future__ import annotations

import grader
from grader.contract import Verdict

GD = """
import numpy as np

class Model:
    def __init__(self, lr=LR, epochs=EPOCHS):
        self.lr, self.epochs = lr, epochs

    def fit(self, X, y):
        X = X * SCALE
        self.w, self.b = np.zeros(X.shape[1]), 0.0
        CURVE_INIT
        self.hyperparameters_ = HYPERPARAMETERS
        for _ in range(self.epochs):
            err = X @ self.w + self.b - y
            CURVE_APPEND
            self.w = self.w - self.lr * X.T @ err / len(y)
            self.b = self.b - self.lr * err.mean()
        return self

    def predict(self, X):
        return (X * SCALE) @ self.w + self.b
"""


def gd(
    *, lr: str = "0.1", epochs: int = 50, scale: float = 1.0, curve: bool = True,
    hyperparameters: str = '{"learning_rate": self.lr, "epochs": self.epochs, "opt": "batch"}',
) -> str:  # fmt: skip
    return (
        GD.replace("LR", lr)
        .replace("EPOCHS", str(epochs))
        .replace("SCALE", str(scale))
        .replace("HYPERPARAMETERS", hyperparameters)
        .replace("CURVE_INIT", "self.loss_curve_ = []" if curve else "pass")
        .replace(
            "CURVE_APPEND", "self.loss_curve_.append(float(np.mean(err ** 2)))" if curve else "pass"
        )
    )


def test_an_honest_run_has_trusted_timings_no_fp_events_and_its_hyperparameters(make_job):
    result = grader.grade(make_job(gd()))
    assert result.verdict is Verdict.SCORED, result.message
    assert result.fit_seconds is not None and result.predict_seconds is not None
    assert result.cpu_seconds is not None and result.cpu_seconds >= 0
    assert len(result.loss_curve) == 50
    assert result.fp_events == {"overflow": 0, "invalid": 0, "divide": 0, "first_epoch": None}
    assert result.hyperparameters == {"learning_rate": 0.1, "epochs": 50, "opt": "batch"}


def test_overflow_during_fit_is_counted_with_its_epoch_and_explained(make_job):
    result = grader.grade(make_job(gd(lr="10.0", epochs=200, scale=1000.0)))
    assert result.verdict is Verdict.INVALID_PREDICTIONS
    assert result.fp_events["overflow"] > 0
    first = result.fp_events["first_epoch"]
    assert first is not None and 0 < first < len(result.loss_curve)
    assert all(v == v and abs(v) != float("inf") for v in result.loss_curve[:first])
    assert "Training diverged" in result.message
    assert "learning rate" in result.message and "not scaled" in result.message


def test_divergence_is_explained_even_without_a_loss_curve(make_job):
    result = grader.grade(make_job(gd(lr="10.0", epochs=200, scale=1000.0, curve=False)))
    assert result.verdict is Verdict.INVALID_PREDICTIONS
    assert result.loss_curve == []
    assert result.fp_events["overflow"] > 0 and result.fp_events["first_epoch"] is None
    assert "Training diverged: numpy reported floating-point overflow" in result.message
    assert "learning rate" in result.message and "not scaled" in result.message
    assert [d["code"] for d in result.diagnostics] == ["diverged"]


def test_a_time_limit_with_a_loss_nan_from_the_start_says_so(make_job):
    result = grader.grade(make_job(gd(lr="float('nan')", epochs=10**9), time_s=1.5))
    assert result.verdict is Verdict.TIME_LIMIT
    assert "from epoch 1 on, until the time limit" in result.message
    assert result.diagnostics[0]["code"] == "diverged_from_start"


def test_declared_hyperparameters_that_break_the_contract_are_left_out_saying_why(make_job):
    for declared, why in (
        ('{"layers": [1, 2]}', "must be a finite number"),
        ('{"lr": float("inf")}', "is not a finite number"),
        ('{"k" * 65: 1}', "keys must be names"),
        ('{f"p{i}": i for i in range(33)}', "more than 32 keys"),
        ('{"note": "x" * 65}', "string of at most 64"),
    ):
        result = grader.grade(make_job(gd(epochs=3, hyperparameters=declared)))
        assert result.verdict is Verdict.SCORED, result.message
        assert result.hyperparameters == {}
        notes = [d["detail"] for d in result.diagnostics if d["code"] == "hyperparameters_ignored"]
        assert notes and why in notes[0], (declared, result.diagnostics)


def test_too_short_a_loss_curve_is_a_rule_violation_naming_the_rule(make_job):
    short = grader.grade(
        make_job(gd(epochs=3), gradient_descent_only=True, min_loss_curve_points=5)
    )
    assert short.verdict is Verdict.RULE_VIOLATION
    assert "at least 5 finite loss values" in short.message and "kept 3" in short.message
    assert "gradient-descent-only" in short.message
    missing = grader.grade(make_job(gd(curve=False), min_loss_curve_points=5))
    assert missing.verdict is Verdict.RULE_VIOLATION
    assert "no loss_curve_" in missing.message
    enough = grader.grade(make_job(gd(epochs=5), min_loss_curve_points=5))
    assert enough.verdict is Verdict.SCORED, enough.message
