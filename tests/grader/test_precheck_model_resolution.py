"""The upload pre-check resolves class Model as Python will (inheritance, aliases, methods
assigned after the class, decorators, definitions inside top-level blocks) and refuses, with the
fix spelled out, a Model without predict_proba on a challenge scored by probabilities."""

from __future__ import annotations

import textwrap

import pytest

from grader.contract import Verdict
from grader.precheck import IN_PROCESS_MAX_BYTES, precheck

ALLOWED = ("numpy", "math")

# Shapes taken from public from-scratch numpy implementations, adapted only by naming Model.
TRAIN_ASSIGNED_AFTER = """
import numpy as np

class Softmax:
    def __init__(self, lr=0.1, epochs=100):
        self.lr, self.epochs = lr, epochs

    def train(self, X, y):
        k = int(y.max()) + 1
        self.W = np.zeros((X.shape[1], k))
        return self

    def predict(self, X):
        return np.argmax(X @ self.W, axis=1)

Softmax.fit = Softmax.train
Model = Softmax
"""

INHERITED = """
import numpy as np

class Base:
    def fit(self, X, y):
        self.w = np.zeros(X.shape[1])
        return self

class LinearRegression(Base):
    def predict(self, X):
        return X @ self.w

class Model(LinearRegression):
    pass
"""

ALIASED_TWICE = """
import numpy as np

class LogisticRegressionGD:
    def fit(self, X, y):
        self.w = np.zeros(X.shape[1])
        return self
    def predict(self, X):
        return (X @ self.w > 0).astype(int)

Classifier = LogisticRegressionGD
Model = Classifier
"""

DECORATED_AND_GUARDED = """
import numpy as np
from dataclasses import dataclass

try:
    import math
except ImportError:
    math = None

if True:
    @dataclass
    class Model:
        lr: float = 0.1

        @staticmethod
        def _sigmoid(z):
            return 1 / (1 + np.exp(-z))

        def fit(self, X, y):
            self.w = np.zeros(X.shape[1])
            return self

        def predict(self, X):
            return (self._sigmoid(X @ self.w) > 0.5).astype(int)

        predict_proba = None  # replaced below
    setattr(Model, "predict_proba", lambda self, X: np.column_stack([1 - X[:, 0], X[:, 0]]))
"""

LABEL_ONLY = """
import numpy as np

class LogisticRegression:
    def __init__(self, learning_rate=0.01, n_iters=1000):
        self.lr, self.n_iters = learning_rate, n_iters

    def fit(self, X, y):
        n, d = X.shape
        self.weights, self.bias = np.zeros(d), 0.0
        for _ in range(self.n_iters):
            p = 1 / (1 + np.exp(-(X @ self.weights + self.bias)))
            self.weights -= self.lr * X.T @ (p - y) / n
            self.bias -= self.lr * np.mean(p - y)
        return self

    def predict(self, X):
        p = 1 / (1 + np.exp(-(X @ self.weights + self.bias)))
        return (p > 0.5).astype(int)

Model = LogisticRegression
"""


@pytest.mark.parametrize(
    "source", [TRAIN_ASSIGNED_AFTER, INHERITED, ALIASED_TWICE, DECORATED_AND_GUARDED]
)
def test_models_python_resolves_pass(source: str) -> None:
    result = precheck(source, ALLOWED + ("dataclasses",))
    assert result.ok, result.message


def test_a_model_made_at_run_time_is_left_to_the_run() -> None:
    source = "def make():\n    class M:\n        pass\n    return M\n\nModel = make()\n"
    assert precheck(source, ALLOWED).ok


def test_a_missing_method_is_still_named() -> None:
    source = (
        "class Base:\n    def predict(self, X):\n        return X\n\nclass Model(Base):\n    pass\n"
    )
    result = precheck(source, ALLOWED)
    assert not result.ok
    assert result.message == "class Model must define fit()"


def test_no_model_at_all_is_refused() -> None:
    result = precheck("class Net:\n    pass\n", ALLOWED)
    assert not result.ok
    assert "class named Model" in result.message


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_a_label_only_classifier_is_refused_on_a_probability_metric(task: str) -> None:
    result = precheck(LABEL_ONLY, ALLOWED, proba_metric="log_loss", task=task)
    assert not result.ok
    assert result.verdict is Verdict.SYNTAX_ERROR
    assert "log_loss" in result.message
    assert "def predict_proba(self, X):" in result.message
    fix = "softmax" if task == "multiclass" else "sigmoid"
    assert fix in result.message
    # The fix shown is itself valid Python inside a class body.
    body = result.message.split("to Model:\n\n", 1)[1].split("\n\n", 1)[0]
    compile("class Model:\n" + body + "\n", "fix.py", "exec")


def test_the_same_classifier_passes_where_labels_are_scored() -> None:
    assert precheck(LABEL_ONLY, ALLOWED).ok


def test_a_proba_through_an_alias_or_assignment_counts() -> None:
    source = LABEL_ONLY + "\nModel.predict_proba = lambda self, X: X\n"
    assert precheck(source, ALLOWED, proba_metric="roc_auc").ok


def test_large_files_are_judged_the_same_in_the_child() -> None:
    padding = "# " + "x" * 78 + "\n"
    big = LABEL_ONLY + padding * (IN_PROCESS_MAX_BYTES // len(padding) + 10)
    assert len(big.encode()) > IN_PROCESS_MAX_BYTES
    small = precheck(LABEL_ONLY, ALLOWED, proba_metric="log_loss")
    large = precheck(big, ALLOWED, proba_metric="log_loss")
    assert (large.ok, large.verdict, large.message) == (small.ok, small.verdict, small.message)
    assert precheck(textwrap.dedent(TRAIN_ASSIGNED_AFTER) + padding * 300, ALLOWED).ok
