"""Optimizer-track workloads: a model, its loss and gradient, and the instances it is run on.

Everything here runs on the trusted side only (the grading worker, or `hackathon evaluate`):
the participant's optimizer never sees the rows, the labels or the model, only a flat vector
of parameters (split into named arrays), the gradient of the training loss on the mini-batch
drawn here, and that loss.

A workload is challenge data (`[workload]` in challenge.toml): a model (linear, logistic,
softmax or a small MLP with a smooth activation), a loss with optional L1/L2 terms, an
initialisation, a budget in examples, and how the challenge is ranked. An *instance* is one
draw of it: which pool rows train, which validate, label noise, the initial parameters and
the mini-batch order, all from one seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from grader.feature_rotation import FeatureRotation

MODELS = ("linear", "logistic", "softmax", "mlp")
ACTIVATIONS = ("tanh", "softplus", "sigmoid")
INITS = ("zeros", "normal", "glorot")
SCORINGS = ("loss_at_budget", "budget_to_target")
MAX_PARAMETERS = 1_000_000
MAX_BUDGET = 10**10
DEFAULT_MIN_BATCH_SIZE = 16


class WorkloadError(ValueError):
    """A workload field that cannot work. `key` is its name in challenge.toml's `[workload]`
    table (and in the stored workload, the starter kit's challenge.json and the API)."""

    def __init__(self, key: str, expected: str, *, value: Any = ..., missing: bool = False) -> None:
        self.key = key
        if missing:
            self.message = f"missing; expected {expected}"
        elif value is _UNKNOWN:
            self.message = f"unknown field; expected only {expected}"
        else:
            got = "" if value is ... else f", got {value!r}"
            self.message = f"expected {expected}{got}"
        super().__init__(f"workload.{key}: {self.message}")


_UNKNOWN = object()


@dataclass(frozen=True)
class Workload:
    """The `[workload]` table of an optimizer challenge. Every field is checked when the
    workload is made (`__post_init__`), whichever route it came by: a bundle's TOML, the
    authoring form, the stored challenge, the starter kit's challenge.json; a bad one raises
    `WorkloadError` naming its key."""

    model: str
    budget: int  # examples processed: a full-batch step costs n_train, a mini-batch its size
    scoring: str = "loss_at_budget"
    hidden: tuple[int, ...] = ()  # MLP hidden layer widths
    activation: str = "tanh"
    l1: float = 0.0
    l2: float = 0.0
    init: str = "normal"
    init_scale: float = 1.0
    train_rows: int = 0  # rows per instance drawn from the training pool (0: all that remain)
    validation_rows: int = 200
    label_noise: float = 0.0  # classification: share of labels flipped; regression: noise sd/y sd
    standardize: bool = True  # scale features on each instance's training rows
    # Each instance sees the features through its own secret random rotation (after
    # standardisation): parameters fitted offline on the starter kit's pool, which every team
    # has, are then of no use on a hidden instance (grader/feature_rotation.py).
    rotate: bool = True
    target: float | None = None  # budget_to_target: the validation loss to reach
    # budget_to_target: examples added to the budget when never reached (a table without it,
    # TOML or JSON: the budget, see `from_dict`).
    penalty: int = 0
    validate_every: int = 0  # examples between the platform's validation points (0: n_train)
    validation_cost: int = 0  # examples a validation asked for by the optimizer costs (0: rows)
    # The smallest batch the driver computes a gradient on: a smaller request is raised to it
    # (capped at the training rows), so no gradient of one example (which gives the row away
    # for a linear model at zero weights) is ever returned.
    min_batch_size: int = DEFAULT_MIN_BATCH_SIZE
    instances: int = 6  # graded per submission: half public part, half private part
    public_instances: int = 2  # shipped in the starter kit for `hackathon evaluate`

    def __post_init__(self) -> None:
        _check_workload(self)
        # One form for every route: numbers as floats, whole numbers as ints, the penalty set.
        for key in _NUMBERS:
            if getattr(self, key) is not None:
                object.__setattr__(self, key, float(getattr(self, key)))
        for key in _INTEGERS:
            object.__setattr__(self, key, int(getattr(self, key)))
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Workload:
        """A workload from its table (TOML, JSON): unknown keys and wrong types are refused
        with a `WorkloadError` naming the key."""
        if not isinstance(data, Mapping):
            raise WorkloadError("model", "a table of workload fields", value=data)
        names = [f.name for f in fields(cls)]
        for key in data:
            if key not in names:
                raise WorkloadError(str(key), ", ".join(names), value=_UNKNOWN)
        for key in ("model", "budget"):
            if key not in data:
                raise WorkloadError(key, _EXPECTED[key], missing=True)
        values = dict(data)
        values.setdefault("penalty", values["budget"])
        hidden = values.get("hidden", ())
        if not isinstance(hidden, list | tuple):
            raise WorkloadError("hidden", "a list of layer widths such as [32, 16]", value=hidden)
        values["hidden"] = tuple(hidden)
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["hidden"] = list(self.hidden)
        return out

    @property
    def regularised(self) -> bool:
        return bool(self.l1 or self.l2)


# What each field expects, as error messages say it.
_EXPECTED = {
    "model": f"one of {', '.join(MODELS)}",
    "budget": f"a whole number between 1 and {MAX_BUDGET}",
    "scoring": f"one of {', '.join(SCORINGS)}",
    "hidden": "at most 4 whole numbers between 1 and 1024",
    "activation": f"one of {', '.join(ACTIVATIONS)}",
    "init": f"one of {', '.join(INITS)}",
}
# Whole-number fields: (low, high).
_INTEGERS: dict[str, tuple[int, int]] = {
    "budget": (1, MAX_BUDGET),
    "train_rows": (0, 10_000_000),
    "validation_rows": (5, 1_000_000),
    "penalty": (0, MAX_BUDGET),
    "validate_every": (0, MAX_BUDGET),
    "validation_cost": (0, MAX_BUDGET),
    "min_batch_size": (2, 1_000_000),
    "instances": (2, 50),
    "public_instances": (1, 20),
}
# Number fields: (low, high).
_NUMBERS: dict[str, tuple[float, float]] = {
    "l1": (0.0, 100.0),
    "l2": (0.0, 100.0),
    "init_scale": (0.0, 1000.0),
    "label_noise": (0.0, 0.5),
    "target": (-1e12, 1e12),
}


def _is_integer(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool | np.bool_)
        and math.isfinite(float(value))
    )


def _check_workload(w: Workload) -> None:
    """Every rule on a workload's fields (see `Workload`); raises `WorkloadError`."""
    for key, choices in (
        ("model", MODELS), ("scoring", SCORINGS), ("activation", ACTIVATIONS), ("init", INITS),
    ):  # fmt: skip
        value = getattr(w, key)
        if value not in choices:
            raise WorkloadError(key, _EXPECTED[key], value=value)
    for key, (low, high) in _INTEGERS.items():
        value = getattr(w, key)
        if not _is_integer(value) or not low <= value <= high:
            raise WorkloadError(key, f"a whole number between {low} and {high}", value=value)
    for key, (bottom, top) in _NUMBERS.items():
        number = getattr(w, key)
        if key == "target" and number is None:
            continue
        if not _is_number(number) or not bottom <= float(number) <= top:
            raise WorkloadError(key, f"a number between {bottom:g} and {top:g}", value=number)
    for key in ("standardize", "rotate"):
        if not isinstance(getattr(w, key), bool):
            raise WorkloadError(key, "true or false", value=getattr(w, key))
    if len(w.hidden) > 4 or not all(_is_integer(h) and 1 <= h <= 1024 for h in w.hidden):
        raise WorkloadError("hidden", _EXPECTED["hidden"], value=list(w.hidden))
    if w.model == "mlp" and not w.hidden:
        raise WorkloadError("hidden", "at least one hidden layer width for an mlp, such as [32]")
    if w.model != "mlp" and w.hidden:
        raise WorkloadError(
            "hidden", "no hidden layers (only an mlp has them)", value=list(w.hidden)
        )
    if w.scoring == "budget_to_target" and w.target is None:
        raise WorkloadError("target", "the validation loss to reach (scoring budget_to_target)")
    if w.train_rows and w.min_batch_size > w.train_rows:
        raise WorkloadError(
            "min_batch_size",
            f"at most the training rows (train_rows = {w.train_rows})",
            value=w.min_batch_size,
        )
    if w.min_batch_size > w.budget:
        raise WorkloadError(
            "min_batch_size", f"at most the budget ({w.budget} examples)", value=w.min_batch_size
        )


@dataclass
class Instance:
    """One draw of a workload: data, initial parameters and mini-batch order (trusted side)."""

    seed: int
    model: Model
    X: np.ndarray  # training rows (after standardisation)
    y: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    theta0: np.ndarray
    batch_rng: np.random.RandomState = field(repr=False)

    @property
    def n_train(self) -> int:
        return int(self.X.shape[0])


class Model:
    """A flat parameter vector, its named views, and the loss with its gradient."""

    def __init__(self, workload: Workload, n_features: int, n_outputs: int, task: str) -> None:
        self.workload = workload
        self.task = task
        self.kind = workload.model
        self.k = n_outputs
        shapes: list[tuple[str, tuple[int, ...]]]
        if self.kind in ("linear", "logistic"):
            shapes = [("w", (n_features,)), ("b", ())]
        elif self.kind == "softmax":
            shapes = [("W", (n_features, n_outputs)), ("b", (n_outputs,))]
        else:
            widths = [n_features, *workload.hidden, n_outputs]
            shapes = []
            for i, (a, b) in enumerate(zip(widths, widths[1:], strict=False), start=1):
                shapes += [(f"W{i}", (a, b)), (f"b{i}", (b,))]
        self.shapes = shapes
        self.sizes = [math.prod(s) for _, s in shapes]
        self.offsets = np.cumsum([0, *self.sizes]).tolist()
        self.size = int(self.offsets[-1])
        # Which entries are weights (regularised) and which are biases (never).
        self.weight_mask = np.zeros(self.size, dtype=bool)
        for (name, _), lo, hi in zip(shapes, self.offsets, self.offsets[1:], strict=False):
            if not name.startswith("b"):
                self.weight_mask[lo:hi] = True

    def views(self, theta: np.ndarray) -> list[np.ndarray]:
        return [
            theta[lo:hi].reshape(shape)
            for (_, shape), lo, hi in zip(self.shapes, self.offsets, self.offsets[1:], strict=False)
        ]

    def locate(self, index: int) -> str:
        """`W1[3, 2]`: the parameter and position of a flat index."""
        for (name, shape), lo, hi in zip(self.shapes, self.offsets, self.offsets[1:], strict=False):
            if lo <= index < hi:
                if not shape:
                    return name
                pos = np.unravel_index(index - lo, shape)
                return f"{name}[{', '.join(str(int(p)) for p in pos)}]"
        return f"entry {index}"

    def init(self, rng: np.random.RandomState) -> np.ndarray:
        w = self.workload
        theta = np.zeros(self.size)
        if w.init == "zeros":
            return theta
        for (name, shape), lo, hi in zip(self.shapes, self.offsets, self.offsets[1:], strict=False):
            if name.startswith("b"):
                continue
            scale = w.init_scale
            if w.init == "glorot":
                fan_in, fan_out = (shape[0], shape[1]) if len(shape) == 2 else (shape[0], 1)
                scale *= math.sqrt(2.0 / (fan_in + fan_out))
            theta[lo:hi] = rng.normal(0.0, scale, size=hi - lo)
        return theta

    # -- forward and backward -----------------------------------------------------------

    def _activation(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(a, da/dz) of the smooth activation."""
        act = self.workload.activation
        if act == "tanh":
            a = np.tanh(z)
            return a, 1.0 - a * a
        s = 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))
        if act == "sigmoid":
            return s, s * (1.0 - s)
        return np.logaddexp(0.0, z), s  # softplus

    def _output_loss(self, out: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Mean data loss of the model's outputs and its gradient with respect to them."""
        n = out.shape[0]
        if self.task == "regression":
            err = out.reshape(n) - y
            return float(err @ err / n), (2.0 / n) * err.reshape(out.shape)
        if out.ndim == 1:  # logistic: one logit per row, labels 0/1
            loss = float(np.mean(np.logaddexp(0.0, out) - y * out))
            p = 1.0 / (1.0 + np.exp(-np.clip(out, -500, 500)))
            return loss, (p - y) / n
        shifted = out - out.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(shifted).sum(axis=1))
        rows = np.arange(n)
        loss = float(np.mean(log_norm - shifted[rows, y]))
        p = np.exp(shifted - log_norm[:, None])
        p[rows, y] -= 1.0
        return loss, p / n

    def data_loss(self, theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
        """The unregularised mean loss on rows X, y (what validation and test report)."""
        return self._forward_backward(theta, X, y, need_grad=False)[0]

    def loss_grad(self, theta: np.ndarray, X: np.ndarray, y: np.ndarray, out: np.ndarray) -> float:
        """The training objective on a batch (data loss + L1/L2 on weights); its gradient is
        written into `out` (the driver's command buffer: no copy on the way out)."""
        loss, grad = self._forward_backward(theta, X, y, need_grad=True, grad_out=out)
        if grad is None:
            raise RuntimeError("the backward pass returned no gradient")
        w = self.workload
        if w.l2 or w.l1:
            weights = theta[self.weight_mask]
            if w.l2:
                loss += 0.5 * w.l2 * float(weights @ weights)
                grad[self.weight_mask] += w.l2 * weights
            if w.l1:
                loss += w.l1 * float(np.abs(weights).sum())
                grad[self.weight_mask] += w.l1 * np.sign(weights)
        return loss

    def _forward_backward(
        self, theta: np.ndarray, X: np.ndarray, y: np.ndarray, *, need_grad: bool,
        grad_out: np.ndarray | None = None,
    ) -> tuple[float, np.ndarray | None]:  # fmt: skip
        params = self.views(theta)
        if self.kind != "mlp":
            W, b = params
            out = X @ W + b
            loss, d_out = self._output_loss(out, y)
            if not need_grad:
                return loss, None
            grad = np.empty(self.size) if grad_out is None else grad_out
            gW, gb = self.views(grad)
            gW[...] = X.T @ d_out
            gb[...] = d_out.sum(axis=0)
            return loss, grad
        activations = [X]
        derivatives = []
        h = X
        layers = len(params) // 2
        for i in range(layers):
            z = h @ params[2 * i] + params[2 * i + 1]
            if i < layers - 1:
                h, dh = self._activation(z)
                activations.append(h)
                derivatives.append(dh)
            else:
                h = z
        out = h[:, 0] if self.task == "regression" else h
        loss, d_out = self._output_loss(out, y)
        if not need_grad:
            return loss, None
        grad = np.empty(self.size) if grad_out is None else grad_out
        grads = self.views(grad)
        delta = d_out.reshape(h.shape)
        for i in range(layers - 1, -1, -1):
            grads[2 * i][...] = activations[i].T @ delta
            grads[2 * i + 1][...] = delta.sum(axis=0)
            if i:
                delta = (delta @ params[2 * i].T) * derivatives[i - 1]
        return loss, grad


def n_outputs(workload: Workload, task: str, n_classes: int | None) -> int:
    if workload.model in ("linear", "logistic"):
        return 1
    if task == "regression":
        return 1
    return int(n_classes or 2)


def make_instance(
    workload: Workload,
    *,
    task: str,
    n_classes: int | None,
    pool_X: np.ndarray,
    pool_y: np.ndarray,
    seed: int,
    test_X: np.ndarray | None = None,
    test_y: np.ndarray | None = None,
) -> Instance:
    """Draw instance `seed`: validation and training rows from the pool, label noise, the
    initial parameters and the mini-batch stream. Without test rows (a public instance in the
    starter kit) the test rows are the pool rows this instance does not use."""
    rs = np.random.RandomState(seed % 2**32)
    order = rs.permutation(len(pool_y))
    n_val = min(workload.validation_rows, len(order) // 3)
    val_idx = order[:n_val]
    rest = order[n_val:]
    if test_X is None:
        n_test = min(n_val, len(rest) // 2)
        test_idx, rest = rest[:n_test], rest[n_test:]
        test_X, test_y = pool_X[test_idx], pool_y[test_idx]
    n_train = min(workload.train_rows or len(rest), len(rest))
    train_idx = rest[:n_train]
    X, y = pool_X[train_idx].astype(np.float64), pool_y[train_idx].copy()
    X_val, y_val = pool_X[val_idx].astype(np.float64), pool_y[val_idx]
    X_test = np.asarray(test_X, dtype=np.float64)
    if workload.label_noise:
        if task == "regression":
            y = y + rs.normal(0.0, workload.label_noise * (float(y.std()) or 1.0), size=y.shape)
        else:
            k = int(n_classes or 2)
            flip = rs.random_sample(len(y)) < workload.label_noise
            y[flip] = (y[flip] + rs.randint(1, k, size=int(flip.sum()))) % k
    if workload.standardize:
        mean, std = X.mean(axis=0), X.std(axis=0)
        std[std == 0] = 1.0
        X, X_val, X_test = (X - mean) / std, (X_val - mean) / std, (X_test - mean) / std
    if workload.rotate:
        rotation = FeatureRotation.draw(d=X.shape[1], seed=seed)
        X, X_val, X_test = rotation.apply(X), rotation.apply(X_val), rotation.apply(X_test)
    dtype = np.float64 if task == "regression" else np.int64
    y, y_val, y_test = (np.asarray(a, dtype=dtype) for a in (y, y_val, test_y))
    model = Model(workload, X.shape[1], n_outputs(workload, task, n_classes), task)
    theta0 = model.init(rs)
    return Instance(
        seed=seed,
        model=model,
        X=np.ascontiguousarray(X),
        y=y,
        X_val=np.ascontiguousarray(X_val),
        y_val=y_val,
        X_test=np.ascontiguousarray(X_test),
        y_test=y_test,
        theta0=theta0,
        batch_rng=np.random.RandomState((seed + 1) % 2**32),
    )


class BatchStream:
    """Mini-batches without replacement within an epoch (reshuffled each epoch)."""

    def __init__(self, n: int, rng: np.random.RandomState) -> None:
        self.n = n
        self.rng = rng
        self.order = rng.permutation(n)
        self.pos = 0

    def take(self, size: int) -> np.ndarray | None:
        """Row indices of the next batch; None means the whole training set, in order."""
        if size >= self.n:
            return None
        if self.pos + size > self.n:
            self.order = self.rng.permutation(self.n)
            self.pos = 0
        idx = self.order[self.pos : self.pos + size]
        self.pos += size
        return idx


def public_seeds(challenge_seed: int, count: int) -> list[int]:
    """Seeds of the public instances shipped in the starter kit (anyone may know them)."""
    return [(challenge_seed * 7919 + 104729 * (i + 1)) % 2**32 for i in range(count)]
