"""An extra metric that needs labels does not sink a submission ranked on probabilities."""

from __future__ import annotations

import grader
from grader.contract import Verdict

PROBA_AS_LABELS = """
import numpy as np

class Model:
    def fit(self, X, y):
        self.w = np.linalg.lstsq(np.c_[X, np.ones(len(X))], y * 2.0 - 1.0, rcond=None)[0]
        return self

    def predict_proba(self, X):
        p1 = 1.0 / (1.0 + np.exp(-4.0 * (np.c_[X, np.ones(len(X))] @ self.w)))
        p1 = np.clip(p1, 0.0001, 0.9999)
        return np.column_stack([1.0 - p1, p1])

    def predict(self, X):
        return self.predict_proba(X)[:, 1]  # probabilities, not labels
"""


def test_ranked_log_loss_is_scored_and_accuracy_left_out_with_a_diagnostic(make_job) -> None:
    job = make_job(PROBA_AS_LABELS, task="binary", metric="log_loss", extra_metrics=("accuracy",))
    result = grader.grade(job)
    assert result.verdict is Verdict.SCORED, result.message
    assert result.public_score is not None and result.private_score is not None
    assert "accuracy" not in (result.extra_scores or {})
    finding = next(d for d in result.diagnostics if d["code"] == "extra_metric_skipped")
    detail = finding["detail"]
    assert "predict() must return class labels for accuracy (it returned values like 0." in detail


def test_ranked_accuracy_on_probabilities_is_invalid_and_names_predict(make_job) -> None:
    job = make_job(PROBA_AS_LABELS, task="binary", metric="accuracy", extra_metrics=("log_loss",))
    result = grader.grade(job)
    assert result.verdict is Verdict.INVALID_PREDICTIONS
    assert result.message.startswith("predict(): labels must be whole numbers, got 0.")
