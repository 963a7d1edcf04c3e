"""The workload's minimum batch, enforced by the trusted driver in the real sandbox.

The gradient of one example gives the example away (for a linear model at zero weights the
row is grad_W / grad_b and its label follows from the loss): an optimizer asking for
`batch_size = 1` could rebuild the training rows and solve least squares by hand. The driver
raises every smaller request to `min_batch_size`, so no single example's gradient is returned.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hackathon.challenges.bundle import load_bundle_dir
from hackathon.challenges.data import build_split

from grader.contract import Limits, Verdict
from grader.optimizer_track import OptimizerJob, grade_optimizer
from grader.workloads import Workload, make_instance

ROOT = Path(__file__).resolve().parents[2]
VALLEY = ROOT / "challenges" / "valley-momentum"

# Asks for one example per step at W = 0, b = 0, takes each gradient for a row
# (x = grad_w / grad_b, y from the residual and the loss), solves least squares on 1,000 of
# them (the valley has 201 parameters) and jumps there; prints the first rows it believes
# it recovered.
RECONSTRUCT = """
import numpy as np

class Optimizer:
    batch_size = 1
    validate = False

    def __init__(self):
        self.Xs, self.ys, self.done = [], [], False

    def step(self, params, grad, loss):
        if self.done:
            return None
        w, b = params
        gw, gb = np.ravel(grad[0]), float(np.ravel(grad[1])[0])
        if gb != 0.0 and loss > 0:
            k = gb * gb / (2.0 * loss)
            self.Xs.append(gw / gb)
            self.ys.append(-gb / k)
        if len(self.Xs) < 1000:
            return [np.zeros_like(w), np.zeros_like(b)]
        A = np.c_[np.array(self.Xs), np.ones(len(self.ys))]
        M = np.c_[A.T @ A, A.T @ np.array(self.ys)]
        n = M.shape[0]
        for i in range(n):
            p = i + int(np.argmax(np.abs(M[i:, i])))
            M[[i, p]] = M[[p, i]]
            M[i] /= M[i, i]
            for j in range(n):
                if j != i:
                    M[j] -= M[j, i] * M[i]
        sol = M[:, -1]
        self.done = True
        self.validate = True
        print("ROWS", [[float(v) for v in x] for x in self.Xs[:5]])
        return [sol[:-1].reshape(np.shape(w)), sol[-1:].reshape(np.shape(b))]
"""

SEEDS = (11, 12, 13)


@pytest.fixture(scope="module")
def valley(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workload, Path, Path]:
    """The built-in valley's workload and training pool, as an installation builds them."""
    spec = load_bundle_dir(VALLEY)
    _, split = build_split(spec, secret=b"min-batch test installation")
    root = tmp_path_factory.mktemp("valley")
    np.save(root / "X.npy", split.train_X)
    np.save(root / "y.npy", split.train_y)
    return Workload.from_dict(spec.workload), root / "X.npy", root / "y.npy"


def _grade(
    valley: tuple[Workload, Path, Path], source: str, *, unchecked_min_batch: int | None = None,
    **change: object,
):  # fmt: skip
    workload, X, y = valley
    workload = Workload.from_dict({**workload.as_dict(), **change})
    if unchecked_min_batch is not None:
        # The driver as it was before the minimum existed: a workload the rules now refuse.
        object.__setattr__(workload, "min_batch_size", unchecked_min_batch)
    return grade_optimizer(
        OptimizerJob(
            source=source, task="regression", workload=workload,
            train_X=X, train_y=y, seeds=SEEDS, public_count=2,
            limits=Limits(time_s=60, memory_mb=256),
        )
    )  # fmt: skip


def test_single_example_gradients_no_longer_give_the_training_rows_away(
    valley: tuple[Workload, Path, Path],
) -> None:
    workload, X_path, y_path = valley
    assert workload.min_batch_size == 16  # the default the built-in relies on
    attack = _grade(valley, RECONSTRUCT)
    baseline = _grade(valley, (VALLEY / "baseline" / "solution.py").read_text())
    assert attack.verdict is Verdict.SCORED and baseline.verdict is Verdict.SCORED
    # Every batch the driver computed holds at least 16 examples, though 1 was asked for.
    for inst in attack.instances:
        used = [0, *inst["train"]["examples"]]
        assert min(b - a for a, b in zip(used, used[1:], strict=False)) >= 16
    # None of the "rows" it rebuilt is a training row of any instance.
    pool_X, pool_y = np.load(X_path), np.load(y_path)
    train = np.vstack([
        make_instance(workload, task="regression", n_classes=None, pool_X=pool_X,
                      pool_y=pool_y, seed=s).X
        for s in SEEDS
    ])  # fmt: skip
    recovered = [
        np.array(json.loads(line[5:]))
        for line in attack.stdout.splitlines()
        if line.startswith("ROWS ")
    ]
    assert recovered, attack.stdout
    for rows in recovered:
        gap = np.abs(rows[:, None, :] - train[None, :, :]).max(axis=2).min(axis=1)
        assert (gap > 1e-3).all(), gap
    # And it no longer beats the built-in baseline (examples to target: lower is better).
    assert attack.public_score > baseline.public_score
    attack_all = sum(i["score"] for i in attack.instances)
    assert attack_all > sum(i["score"] for i in baseline.instances)
    # With single-example gradients (what the driver did before) the same attack wins.
    unguarded = _grade(valley, RECONSTRUCT, unchecked_min_batch=1)
    assert unguarded.public_score * 10 < baseline.public_score


ADAM_32 = """
import numpy as np

class Optimizer:
    batch_size = 32

    def __init__(self):
        self.m = self.v = None
        self.t = 0

    def step(self, params, grad, loss):
        if self.m is None:
            self.m = [np.zeros_like(g) for g in grad]
            self.v = [np.zeros_like(g) for g in grad]
        self.t += 1
        out = []
        for p, g, m, v in zip(params, grad, self.m, self.v):
            m *= 0.9
            m += 0.1 * g
            v *= 0.999
            v += 0.001 * g * g
            mh, vh = m / (1 - 0.9**self.t), v / (1 - 0.999**self.t)
            out.append(p - 0.05 * mh / (np.sqrt(vh) + 1e-8))
        return out
"""


def test_an_optimizer_at_or_above_the_minimum_is_unaffected(
    valley: tuple[Workload, Path, Path],
) -> None:
    small = _grade(valley, ADAM_32, budget=20_000, scoring="loss_at_budget", min_batch_size=2)
    guarded = _grade(valley, ADAM_32, budget=20_000, scoring="loss_at_budget")
    assert guarded.verdict is Verdict.SCORED, guarded.message
    assert guarded.public_score == small.public_score
    assert guarded.private_score == small.private_score
    for inst in guarded.instances:
        assert inst["examples"] == 20_000 and inst["steps"] == 20_000 // 32


def test_a_remainder_below_the_minimum_is_not_spent(valley: tuple[Workload, Path, Path]) -> None:
    # 1000 = 62 batches of 16 + 8: the last 8 examples would be a batch below the minimum.
    source = """
class Optimizer:
    batch_size = 16
    def step(self, params, grad, loss):
        return [p - 1e-4 * g for p, g in zip(params, grad)]
"""
    result = _grade(valley, source, budget=1000, scoring="loss_at_budget")
    assert result.verdict is Verdict.SCORED, result.message
    for inst in result.instances:
        assert inst["steps"] == 62 and inst["examples"] == 992
