"""The optimizer track's driver against the real runner in the real sandbox.

Verdicts (wrong shapes, NaN, stop at step 0), the budget counted outside the participant's
process, determinism, and an optimizer that hunts its own process for the training data.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from grader.contract import DEFAULT_ALLOWED_IMPORTS, Limits, Verdict
from grader.optimizer_track import OptimizerJob, grade_optimizer
from grader.workloads import Workload

SGD = """
class Optimizer:
    batch_size = 16

    def step(self, params, grad, loss):
        return [p - 0.1 * g for p, g in zip(params, grad)]
"""

ADAM = """
import numpy as np

class Optimizer:
    batch_size = 16

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


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("optimizer-pool")
    rng = np.random.RandomState(3)
    # A marker value no computation produces: the snooping test looks for it.
    X = rng.normal(size=(700, 6))
    X[:, 0] = 123456.789 + np.arange(700)
    y = (X[:, 1] - X[:, 2] + 0.3 * rng.normal(size=700) > 0).astype(np.int64)
    paths = {}
    for name, arr in (
        ("train_X", X[:500]), ("train_y", y[:500]), ("test_X", X[500:]), ("test_y", y[500:]),
        ("public_mask", np.arange(200) % 2 == 0),
    ):  # fmt: skip
        paths[name] = root / f"{name}.npy"
        np.save(paths[name], arr)
    return paths


def job(pool: dict[str, Path], source: str, **workload: object) -> OptimizerJob:
    settings = {"model": "logistic", "budget": 3000, "validation_rows": 100, **workload}
    return OptimizerJob(
        source=source,
        task="binary",
        n_classes=2,
        workload=Workload(**settings),  # type: ignore[arg-type]
        seeds=(11, 12, 13, 14),
        public_count=2,
        limits=Limits(time_s=60),
        allowed_imports=(*DEFAULT_ALLOWED_IMPORTS, "gc", "sys", "os", "inspect"),
        **pool,
    )


def test_sgd_scores_every_instance_with_trusted_curves(pool: dict[str, Path]) -> None:
    events: list[dict] = []
    result = grade_optimizer(job(pool, SGD), progress=events.append)
    assert result.verdict is Verdict.SCORED, result.message
    assert len(result.instances) == 4
    assert [i["part"] for i in result.instances] == ["public", "public", "private", "private"]
    for inst in result.instances:
        # 187 batches of 16; the 8 examples left would be a batch below the minimum (16).
        assert inst["examples"] == 2992
        assert inst["steps"] == 3000 // 16
        assert inst["train"]["examples"][-1] == 2992
        assert inst["validation"][0][0] == 0
    public = [i["score"] for i in result.instances if i["part"] == "public"]
    private = [i["score"] for i in result.instances if i["part"] == "private"]
    assert result.public_score == pytest.approx(np.mean(public))
    assert result.private_score == pytest.approx(np.mean(private))
    assert result.public_ci is not None
    assert result.public_ci[0] <= result.public_score <= result.public_ci[1]
    done = [e for e in events if e["done"]]
    assert [e["instance"] for e in done] == [0, 1, 2, 3]
    # Curves, steps and examples go out for public instances only.
    assert done[0]["loss_curve"] and done[0]["examples"] == 2992
    assert not {"loss_curve", "steps", "examples", "validation"} & set(done[3])


def test_adam_beats_sgd_and_regrading_gives_the_same_score(pool: dict[str, Path]) -> None:
    adam = grade_optimizer(job(pool, ADAM))
    again = grade_optimizer(job(pool, ADAM))
    sgd = grade_optimizer(job(pool, SGD, budget=300))
    assert adam.verdict is Verdict.SCORED, adam.message
    assert adam.public_score == again.public_score
    assert adam.private_score == again.private_score
    assert adam.public_score < sgd.public_score


@pytest.mark.parametrize(
    ("body", "verdict", "fragment"),
    [
        ("return [params[0][:3], params[1]]", Verdict.INVALID_STEP,
         "step 0: parameter w has shape (3,), expected (6,)"),
        ("return [p * float('nan') for p in params]", Verdict.INVALID_STEP,
         "step 0: parameter w[0] is nan"),
        ("return None", Verdict.INVALID_STEP, "stopped before its first step"),
        ("return {'w': params[0]}", Verdict.INVALID_STEP, "lack b"),
        ("return 3", Verdict.INVALID_STEP, "must return the parameters"),
        ("raise ValueError('no idea')", Verdict.RUNTIME_ERROR, "ValueError: no idea"),
        ("while True: pass", Verdict.TIME_LIMIT, "time limit"),
    ],
)  # fmt: skip
def test_bad_steps_get_a_verdict_naming_step_and_parameter(
    pool: dict[str, Path], body: str, verdict: Verdict, fragment: str
) -> None:
    source = f"class Optimizer:\n    def step(self, params, grad, loss):\n        {body}\n"
    limits = {"limits": Limits(time_s=3)} if verdict is Verdict.TIME_LIMIT else {}
    j = job(pool, source)
    if limits:
        j = OptimizerJob(**{**j.__dict__, **limits})
    result = grade_optimizer(j)
    assert result.verdict is verdict
    assert fragment in result.message
    assert result.message.startswith("instance 1")
    assert result.public_score is None


def test_a_nan_later_names_the_step(pool: dict[str, Path]) -> None:
    source = """
class Optimizer:
    n = 0
    def step(self, params, grad, loss):
        self.n += 1
        if self.n == 7:
            params[1] = params[1] + float("inf")
        return params
"""
    result = grade_optimizer(job(pool, source))
    assert result.verdict is Verdict.INVALID_STEP
    assert "instance 1, step 6: parameter b is inf" in result.message


def test_budget_cannot_be_exceeded_or_reset_from_inside(pool: dict[str, Path]) -> None:
    # Asks for huge batches, rewrites what it is told, and tries to keep going forever.
    source = """
class Optimizer:
    batch_size = 10**12

    def start(self, info):
        info.budget = 10**9

    def step(self, params, grad, loss):
        self.examples_used = 0
        self.batch_size = 10**12
        return [p - 0.1 * g for p, g in zip(params, grad)]
"""
    result = grade_optimizer(job(pool, source, budget=1000))
    assert result.verdict is Verdict.SCORED, result.message
    for inst in result.instances:
        assert inst["examples"] == 1000
        n_train = inst["n_train"]
        assert inst["steps"] == math.ceil(1000 / n_train)
        assert inst["train"]["examples"] == [
            min(n_train * (i + 1), 1000) for i in range(inst["steps"])
        ]


def test_validation_requests_cost_budget(pool: dict[str, Path]) -> None:
    source = """
class Optimizer:
    batch_size = 50
    seen = []

    def step(self, params, grad, loss):
        self.validate = True
        return [p - 0.1 * g for p, g in zip(params, grad)]
"""
    result = grade_optimizer(job(pool, source, budget=1000, validation_rows=100))
    inst = result.instances[0]
    asked = [v for v in inst["validation"] if v[2]]
    assert asked and all(v[1] is not None for v in asked)
    # Each step costs 50 and each validation 100: 1000 examples buy 6 steps and 6 checks
    # (the seventh check no longer fits and is not served).
    assert inst["examples"] <= 1000
    assert inst["steps"] * 50 + len(asked) * 100 == inst["examples"]


def test_stopping_early_is_diagnosed(pool: dict[str, Path]) -> None:
    source = """
class Optimizer:
    batch_size = 20
    n = 0
    def step(self, params, grad, loss):
        self.n += 1
        return None if self.n > 5 else [p - 0.1 * g for p, g in zip(params, grad)]
"""
    result = grade_optimizer(job(pool, source))
    assert result.verdict is Verdict.SCORED
    inst = result.instances[0]
    assert inst["ended"] == "stopped" and inst["steps"] == 5
    assert "stopped_early" in [d["code"] for d in inst["diagnostics"]]


SNOOP = """
import gc, sys, os

MARK = 123456.789

def holds_marker(obj):
    try:
        import numpy as np
        if isinstance(obj, np.ndarray) and obj.dtype.kind == "f" and obj.size:
            return bool(((obj >= MARK) & (obj < MARK + 1000)).any())
    except Exception:
        return False
    return False

def hunt():
    import numpy as np
    global MARK_BYTES
    MARK_BYTES = np.float64(MARK).tobytes()
    found = []
    for obj in gc.get_objects():
        if holds_marker(obj):
            found.append("gc")
    frame = sys._getframe()
    while frame is not None:
        for value in list(frame.f_locals.values()) + list(frame.f_globals.values()):
            if holds_marker(value):
                found.append("frame " + frame.f_code.co_name)
        frame = frame.f_back
    for name, module in list(sys.modules.items()):
        for value in list(getattr(module, "__dict__", {}).values()):
            if holds_marker(value):
                found.append("module " + name)
    for top in ("/work", "/tmp", "/opt", "/proc/self/fd"):
        for root, dirs, files in os.walk(top):
            for f in files:
                try:
                    with open(os.path.join(root, f), "rb") as fh:
                        data = fh.read(1 << 20)
                except OSError:
                    continue
                if b"123456.789" in data or MARK_BYTES in data:
                    found.append("file " + os.path.join(root, f))
    return found

class Optimizer:
    batch_size = 50
    def step(self, params, grad, loss):
        print("FOUND", hunt())
        return [p - 0.01 * g for p, g in zip(params, grad)]
"""


def test_an_optimizer_searching_its_own_process_finds_no_training_data(
    pool: dict[str, Path],
) -> None:
    # The marker column is in every training row (feature 0 is about 123456.789 before
    # standardisation); the driver has it, the participant's process must not.
    result = grade_optimizer(job(pool, SNOOP, budget=100))
    assert result.verdict is Verdict.SCORED, result.message
    lines = [line for line in result.stdout.splitlines() if line.startswith("FOUND")]
    assert lines and all(line == "FOUND []" for line in lines), lines[:3]


@pytest.fixture(scope="module")
def regression_pool(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("optimizer-regression")
    rng = np.random.RandomState(4)
    X = rng.normal(size=(400, 5))
    y = X @ rng.normal(size=5) + 0.1 * rng.normal(size=400)
    paths = {"train_X": root / "X.npy", "train_y": root / "y.npy"}
    np.save(paths["train_X"], X)
    np.save(paths["train_y"], y)
    return paths


def _regression_job(paths: dict[str, Path], source: str, budget: int) -> OptimizerJob:
    return OptimizerJob(
        source=source,
        task="regression",
        workload=Workload(model="linear", budget=budget, validation_rows=100, init="zeros"),
        seeds=(5, 6),
        public_count=2,
        limits=Limits(time_s=60),
        **paths,
    )


def test_a_diverging_run_and_a_plateau_are_diagnosed(regression_pool: dict[str, Path]) -> None:
    diverging = """
class Optimizer:
    batch_size = None
    def step(self, params, grad, loss):
        return [p - 3.0 * g for p, g in zip(params, grad)]
"""
    result = grade_optimizer(_regression_job(regression_pool, diverging, budget=200 * 12))
    codes = [d["code"] for d in result.instances[0]["diagnostics"]]
    assert "diverged" in codes, (result.verdict, result.message, codes)
    # Three good steps, then the same parameters back for the rest of the budget.
    stuck = """
class Optimizer:
    batch_size = None
    n = 0
    def step(self, params, grad, loss):
        self.n += 1
        return [p - 0.3 * g for p, g in zip(params, grad)] if self.n <= 3 else params
"""
    result = grade_optimizer(_regression_job(regression_pool, stuck, budget=200 * 20))
    assert result.verdict is Verdict.SCORED
    codes = [d["code"] for d in result.instances[0]["diagnostics"]]
    assert "plateaued" in codes, codes


def test_nothing_shown_beside_the_public_score_depends_on_private_instances(
    pool: dict[str, Path],
) -> None:
    source = """
class Optimizer:
    batch_size = 16
    n = 0
    def step(self, params, grad, loss):
        self.n += 1
        return [p - 0.1 * g for p, g in zip(params, grad)]
"""
    # Budget to target: each run stops when it reaches the target, so its examples are its score.
    settings = {"scoring": "budget_to_target", "target": 0.5, "validate_every": 16}
    result = grade_optimizer(job(pool, source, **settings))
    assert result.verdict is Verdict.SCORED, result.message
    public = [i for i in result.instances if i["part"] == "public"]
    every = [i["examples"] for i in result.instances]
    assert np.mean(every) != np.mean([i["examples"] for i in public])  # the check can fail
    assert result.extra_scores["examples_mean"] == np.mean([i["examples"] for i in public])
    assert result.extra_scores["steps_mean"] == np.mean([i["steps"] for i in public])
    assert all(d["title"].startswith(("Instance 1", "Instance 2")) for d in result.diagnostics)
