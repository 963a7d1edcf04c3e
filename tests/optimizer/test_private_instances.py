"""A private instance tells the team nothing through what the submission shows.

The optimizer's process on a private instance sees that instance's losses and the examples it
has used (its score, when the challenge is ranked by budget to target). An optimizer that
recognises the private instances (by their initial parameters) prints what it sees there,
holds memory, takes time and fails with a message of its choosing: none of it may reach the
output, the peak memory, the time or the verdict's message before the private board is shown.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grader.contract import DEFAULT_ALLOWED_IMPORTS, Limits, Verdict
from grader.optimizer_track import OptimizerJob, grade_optimizer
from grader.workloads import Workload, make_instance

SEEDS = (21, 22, 23, 24)
PUBLIC = 2
WORKLOAD = Workload(
    model="logistic", budget=1600, validation_rows=100, scoring="budget_to_target", target=0.45,
    validate_every=16,
)  # fmt: skip

SPY = """
import time

PRIVATE = {fingerprints}


class Optimizer:
    batch_size = 16
    private = None

    def step(self, params, grad, loss):
        if self.private is None:
            self.private = round(float(sum(p.sum() for p in params)), 6) in PRIVATE
            if self.private:
                self.ballast = bytearray(160 * 1024 * 1024)
                self.ballast[::4096] = b"x" * len(self.ballast[::4096])
                time.sleep(1.5)
        if self.private:
            print("PRIVATE-SEEN", self.examples_used, loss)
            if {fail} and self.examples_used >= 32:
                raise RuntimeError(f"PRIVATE-SECRET {{self.examples_used}} {{loss:.6f}}")
        return [p - 0.5 * g for p, g in zip(params, grad)]
"""


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("optimizer-private")
    rng = np.random.RandomState(5)
    X = rng.normal(size=(700, 6))
    y = (X[:, 1] - X[:, 2] + 0.3 * rng.normal(size=700) > 0).astype(np.int64)
    paths = {}
    for name, arr in (
        ("train_X", X[:500]), ("train_y", y[:500]), ("test_X", X[500:]), ("test_y", y[500:]),
        ("public_mask", np.arange(200) % 2 == 0),
    ):  # fmt: skip
        paths[name] = root / f"{name}.npy"
        np.save(paths[name], arr)
    return paths


def _spy(pool: dict[str, Path], *, fail: bool) -> str:
    """SPY, told the initial parameters of the private instances (the platform's driver draws
    them from the seed exactly so)."""
    pool_X, pool_y = np.load(pool["train_X"]), np.load(pool["train_y"])
    fingerprints = {
        round(float(make_instance(
            WORKLOAD, task="binary", n_classes=2, pool_X=pool_X, pool_y=pool_y, seed=seed
        ).theta0.sum()), 6)
        for seed in SEEDS[PUBLIC:]
    }  # fmt: skip
    return SPY.format(fingerprints=sorted(fingerprints), fail=fail)


def _grade(pool: dict[str, Path], source: str) -> object:
    return grade_optimizer(
        OptimizerJob(
            source=source, task="binary", n_classes=2, workload=WORKLOAD, seeds=SEEDS,
            public_count=PUBLIC, allowed_imports=(*DEFAULT_ALLOWED_IMPORTS,),
            limits=Limits(time_s=60, memory_mb=512), **pool,
        )
    )  # fmt: skip


def test_output_memory_and_time_of_private_instances_are_not_shown(pool) -> None:
    result = _grade(pool, _spy(pool, fail=False))
    assert result.verdict is Verdict.SCORED, result.message
    private = [i for i in result.instances if i["part"] == "private"]
    assert len(private) == 2 and all(i["ended"] == "target" for i in private)
    # The spy did run on the private instances (each held its ballast and slept there) ...
    assert all(i["seconds"] >= 1.5 for i in private), private
    # ... and nothing of it shows: no line it printed there, no memory, no time.
    assert "PRIVATE-SEEN" not in result.stdout + result.stderr
    assert result.peak_memory_mb is not None and result.peak_memory_mb < 100
    public_seconds = sum(i["seconds"] for i in result.instances if i["part"] == "public")
    assert result.fit_seconds == pytest.approx(public_seconds, abs=0.01)


def test_a_failure_on_a_private_instance_says_only_its_kind(pool) -> None:
    result = _grade(pool, _spy(pool, fail=True))
    assert result.verdict is Verdict.RUNTIME_ERROR
    assert result.message.startswith("instance 3 (a private instance): the optimizer failed")
    assert "PRIVATE-SECRET" not in result.message and "step" not in result.message
    assert "PRIVATE-SEEN" not in result.stdout + result.stderr
    # What it said is kept with the instance, shown with the private board.
    failed = next(i for i in result.instances if i["index"] == 2)
    assert "PRIVATE-SECRET 32" in failed["failure"]
