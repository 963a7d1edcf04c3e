"""The hard-coding attack's homework: fit a workload's model to the starter kit's training pool
offline (as any team can: the kit ships the pool) and paste the parameters into
`solutions/hardcoded.py`. Shared by the tests and `benchmarks/optimizer_challenges.py`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from grader.workloads import Workload, make_instance

SOLUTIONS = Path(__file__).resolve().parent / "solutions"


def offline_parameters(
    workload: Workload, *, task: str, n_classes: int | None, pool_X: np.ndarray,
    pool_y: np.ndarray, steps: int = 3000,
) -> list[float]:  # fmt: skip
    """The model's parameters fitted to the whole pool, in the pool's own coordinates (least
    squares solved exactly; otherwise full-batch Adam on the platform's own loss)."""
    X = np.asarray(pool_X, dtype=np.float64)
    if workload.standardize:
        std = X.std(axis=0)
        std[std == 0] = 1.0
        X = (X - X.mean(axis=0)) / std
    if workload.model == "linear":
        A = np.c_[X, np.ones(len(X))]
        return [float(v) for v in np.linalg.lstsq(A, pool_y, rcond=None)[0]]
    # The platform's model and loss, without an instance's rotation.
    plain = Workload.from_dict({**workload.as_dict(), "rotate": False})
    model = make_instance(
        plain, task=task, n_classes=n_classes, pool_X=pool_X, pool_y=pool_y, seed=12345
    ).model
    theta = model.init(np.random.RandomState(0))
    m, v, g = np.zeros_like(theta), np.zeros_like(theta), np.empty_like(theta)
    for t in range(1, steps + 1):
        model.loss_grad(theta, X, pool_y, g)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        theta -= 0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return [float(t) for t in theta]


def hardcoded_source(theta: list[float], name: str = "hardcoded") -> str:
    """solutions/<name>.py (hardcoded, hardcoded_aligned) with THETA filled in."""
    source = (SOLUTIONS / f"{name}.py").read_text()
    assert "THETA = None" in source
    return source.replace("THETA = None", f"THETA = {[round(t, 8) for t in theta]!r}", 1)
