"""The lookup attack on a challenge, as the fairness tests and benchmarks/challenges_reference.py
define it, and an in-process run of a bundle's own solutions for comparison.

The lookup answers each hidden row with the label of its nearest row in a public source (the
scikit-learn dataset a challenge was fitted to, or a generated dataset regenerated from the
repository's files with a guessed seed), by Euclidean distance on features standardised with
the source's own means and deviations. Where a metric needs probabilities it gives that label
0.95 and shares the rest among the other classes (a hard 0/1 answer would only score worse).
"""

from __future__ import annotations

import random
import types
from typing import Any

import numpy as np

from grader.scoring import compute_metric

CONFIDENCE = 0.95
PROBA_METRICS = frozenset({"log_loss", "roc_auc"})


def nearest_labels(X_public: np.ndarray, y_public: np.ndarray, X: np.ndarray) -> np.ndarray:
    """The label of the nearest public row for each row of X (in chunks: bounded memory)."""
    mean, std = X_public.mean(axis=0), X_public.std(axis=0) + 1e-12
    Z = (X_public - mean) / std
    norms = (Z**2).sum(axis=1)
    out = np.empty(len(X), dtype=y_public.dtype)
    for start in range(0, len(X), 512):
        Q = (X[start : start + 512] - mean) / std
        distance = norms[None, :] - 2 * Q @ Z.T
        out[start : start + 512] = y_public[distance.argmin(axis=1)]
    return out


def lookup_proba(labels: np.ndarray, n_classes: int) -> np.ndarray:
    proba = np.full((len(labels), n_classes), (1 - CONFIDENCE) / (n_classes - 1))
    proba[np.arange(len(labels)), labels.astype(np.int64)] = CONFIDENCE
    return proba


def lookup_source(X_public: np.ndarray, y_public: np.ndarray, n_classes: int | None) -> str:
    """A solution.py that embeds the public rows and answers with the lookup (for the sandbox).
    It keeps a three-point loss_curve_, so a loss-curve requirement does not stop it."""
    proba = ""
    if n_classes:
        proba = f"""
    def predict_proba(self, X):
        labels = self.predict(X).astype(np.int64)
        proba = np.full((len(X), {n_classes}), {(1 - CONFIDENCE) / (n_classes - 1)!r})
        proba[np.arange(len(X)), labels] = {CONFIDENCE!r}
        return proba
"""
    return f"""import numpy as np

PUBLIC_X = {X_public.tolist()!r}
PUBLIC_Y = {y_public.tolist()!r}


class Model:
    def fit(self, X, y):
        self.loss_curve_ = [3.0, 2.0, 1.0]
        self.X = np.array(PUBLIC_X)
        self.y = np.array(PUBLIC_Y)
        self.mean = self.X.mean(axis=0)
        self.std = self.X.std(axis=0) + 1e-12
        self.Z = (self.X - self.mean) / self.std
        return self

    def predict(self, X):
        Q = (X - self.mean) / self.std
        distance = (self.Z ** 2).sum(axis=1)[None, :] - 2 * Q @ self.Z.T
        return self.y[distance.argmin(axis=1)]
{proba}"""


def run_solution(code: str, split: Any, *, seed: int = 42) -> tuple[np.ndarray, np.ndarray | None]:
    """Train a solution in this process on the split's training rows; (predict, predict_proba)."""
    module = types.ModuleType("solution")
    exec(compile(code, "solution.py", "exec"), module.__dict__)  # noqa: S102 - the bundle's own
    random.seed(seed)
    np.random.seed(seed)
    model = module.Model()
    model.fit(split.train_X.copy(), split.train_y.copy())
    pred = np.asarray(model.predict(split.test_X.copy()))
    proba = model.predict_proba(split.test_X.copy()) if hasattr(model, "predict_proba") else None
    return pred, None if proba is None else np.asarray(proba)


def score(
    metric: str, split: Any, pred: np.ndarray, proba: np.ndarray | None, n_classes: int | None
) -> dict[str, float]:
    """The metric on the public and private parts of the hidden rows."""
    mask = split.public_mask
    return {
        part: compute_metric(
            metric,
            split.test_y[rows],
            pred[rows],
            None if proba is None else proba[rows],
            n_classes,
        )
        for part, rows in (("public", mask), ("private", ~mask))
    }


def lookup_scores(
    metric: str, split: Any, X_public: np.ndarray, y_public: np.ndarray, n_classes: int | None
) -> dict[str, float]:
    labels = nearest_labels(X_public, y_public, split.test_X)
    proba = lookup_proba(labels, n_classes) if n_classes and metric in PROBA_METRICS else None
    return score(metric, split, labels, proba, n_classes)
