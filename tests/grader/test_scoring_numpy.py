"""The metrics computed with numpy equal scikit-learn's, and grading a submission scored by
one of them never imports scikit-learn (a cold grader starts without it)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from sklearn import metrics as skm

from grader.scoring import compute_metric

REFERENCE = {
    "rmse": lambda y, p: float(np.sqrt(skm.mean_squared_error(y, p))),
    "mae": lambda y, p: float(skm.mean_absolute_error(y, p)),
    "r2": lambda y, p: float(skm.r2_score(y, p)),
    "accuracy": lambda y, p: float(skm.accuracy_score(y, p)),
}


@pytest.mark.parametrize("name", ["rmse", "mae", "r2"])
@pytest.mark.parametrize("seed", range(5))
def test_regression_metrics_equal_scikit_learns(name: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 3000))
    y = rng.normal(scale=10 ** rng.uniform(-3, 6), size=n)
    pred = y + rng.normal(scale=rng.uniform(0.01, 5), size=n)
    assert compute_metric(name, y, pred, None, None) == pytest.approx(
        REFERENCE[name](y, pred), rel=1e-12, abs=1e-12
    )


@pytest.mark.parametrize("seed", range(5))
def test_accuracy_equals_scikit_learns(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, size=500)
    pred = np.where(rng.random(500) < 0.7, y, rng.integers(0, 4, size=500))
    assert compute_metric("accuracy", y, pred, None, 4) == REFERENCE["accuracy"](y, pred)


@pytest.mark.parametrize(
    ("y", "pred"),
    [
        (np.full(10, 3.0), np.full(10, 3.0)),  # constant target, perfect: 1.0
        (np.full(10, 3.0), np.arange(10.0)),  # constant target, wrong: 0.0
        (np.array([1.0, 2.0]), np.array([2.0, 1.0])),
    ],
)
def test_r2_edge_cases_follow_scikit_learn(y: np.ndarray, pred: np.ndarray) -> None:
    assert compute_metric("r2", y, pred, None, None) == REFERENCE["r2"](y, pred)


def test_a_grader_scoring_rmse_never_imports_scikit_learn() -> None:
    code = (
        "import sys, numpy as np\n"
        "import grader\n"
        "from grader.scoring import score\n"
        "y = np.arange(20.0); mask = np.arange(20) % 2 == 0\n"
        "score(metric='rmse', extra_metrics=('mae', 'r2'), y_true=y, public_mask=mask,\n"
        "      predictions=y + 1, proba=None, n_classes=None)\n"
        "print('sklearn' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
