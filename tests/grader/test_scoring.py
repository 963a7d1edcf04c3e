"""Validation messages, metrics and the bootstrap interval (trusted side, no sandbox)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from grader import scoring
from grader.scoring import InvalidPredictions, validate_predictions, validate_proba


def test_shape_mismatch_names_both_shapes() -> None:
    with pytest.raises(InvalidPredictions, match=r"expected shape \(143,\), got \(142, 3\)"):
        validate_predictions(np.zeros((142, 3)), task="regression", n_rows=143, n_classes=None)


def test_nan_rows_are_counted_and_named() -> None:
    arr = np.zeros(143)
    arr[[3, 9]] = np.nan
    with pytest.raises(InvalidPredictions, match=r"NaN in 2 rows \(rows 3, 9\)"):
        validate_predictions(arr, task="regression", n_rows=143, n_classes=None)


def test_infinity_is_refused() -> None:
    arr = np.zeros(5)
    arr[1] = np.inf
    with pytest.raises(InvalidPredictions, match="infinity in 1 row"):
        validate_predictions(arr, task="regression", n_rows=5, n_classes=None)


def test_labels_outside_the_classes_and_fractional_labels_are_refused() -> None:
    with pytest.raises(InvalidPredictions, match=r"label 7 outside 0\.\.2"):
        validate_predictions(np.array([0, 7, 1]), task="multiclass", n_rows=3, n_classes=3)
    with pytest.raises(InvalidPredictions, match="labels must be whole numbers, got 0.73"):
        validate_predictions(np.array([0, 0.73, 1]), task="multiclass", n_rows=3, n_classes=3)


def test_column_vector_and_whole_floats_mean_what_they_say() -> None:
    labels = validate_predictions(
        np.array([[0.0], [2.0], [1.0]]), task="multiclass", n_rows=3, n_classes=3
    )
    assert labels.dtype == np.int64 and labels.tolist() == [0, 2, 1]


def test_probability_rows_must_be_non_negative_and_sum_to_one() -> None:
    good = np.array([[0.2, 0.8], [0.5, 0.5], [1.0, 0.0]])
    assert validate_proba(good, n_rows=3, n_classes=2).shape == (3, 2)
    bad = np.array([[0.2, 0.8], [0.6, 0.6], [-0.5, 1.5]])
    with pytest.raises(InvalidPredictions, match=r"2 rows do not \(rows 1, 2\)"):
        validate_proba(bad, n_rows=3, n_classes=2)


def test_binary_probabilities_may_be_one_column_of_positive_class() -> None:
    proba = validate_proba(np.array([0.1, 0.9]), n_rows=2, n_classes=2)
    assert proba == pytest.approx(np.array([[0.9, 0.1], [0.1, 0.9]]))
    with pytest.raises(InvalidPredictions, match="within 0..1"):
        validate_proba(np.array([0.1, 1.9]), n_rows=2, n_classes=2)


@pytest.mark.parametrize(
    "name", ["rmse", "mae", "r2", "accuracy", "f1_macro", "log_loss", "roc_auc"]
)
def test_bootstrap_statistic_with_every_row_once_equals_scikit_learn(name: str) -> None:
    rng = np.random.default_rng(1)
    n, k = 200, 3
    metric = scoring.METRICS[name]
    if "regression" in metric.tasks:
        y = rng.normal(size=n)
        pred = y + rng.normal(scale=0.5, size=n)
        proba = None
    else:
        y = rng.integers(0, k, size=n)
        logits = rng.normal(size=(n, k)) + 2 * np.eye(k)[y]
        proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        pred = proba.argmax(axis=1)
    ones = np.ones((1, n))
    ours = scoring._resample_stat(name, y, pred, proba, ones, k)[0]
    reference = scoring.compute_metric(name, y, pred, proba, k)
    assert ours == pytest.approx(reference, rel=1e-9)


def test_bootstrap_interval_brackets_the_score_and_is_reproducible() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, size=300)
    score = np.clip(y * 0.6 + rng.normal(scale=0.4, size=300), 0, 1)
    proba = np.column_stack([1 - score, score])
    point = skm.roc_auc_score(y, score)
    low, high = scoring.bootstrap_ci("roc_auc", y, None, proba, 2)
    assert low < point < high
    assert scoring.bootstrap_ci("roc_auc", y, None, proba, 2) == (low, high)


def test_a_kept_resample_plan_gives_the_interval_drawn_afresh(monkeypatch) -> None:
    rng = np.random.default_rng(3)
    y = rng.normal(size=700)
    pred = y + rng.normal(scale=0.3, size=700)
    monkeypatch.setattr(scoring, "_plans", type(scoring._plans)())
    monkeypatch.setattr(scoring, "_PLAN_CACHE_ELEMENTS", 0)  # drawn every time
    fresh = scoring.bootstrap_ci("rmse", y, pred, None, None)
    assert not scoring._plans
    monkeypatch.setattr(scoring, "_PLAN_CACHE_ELEMENTS", 10_000_000)
    first = scoring.bootstrap_ci("rmse", y, pred, None, None)  # drawn, then kept
    [plan] = scoring._plans.values()
    assert all(chunk.dtype == np.uint8 for chunk in plan)
    kept = scoring.bootstrap_ci("rmse", y, pred, None, None)  # from the kept plan
    assert fresh == first == kept
    other = scoring.bootstrap_ci("rmse", y, pred, None, None, seed=1)
    assert other != kept and len(scoring._plans) == 2


def test_scores_are_split_into_public_and_private_parts() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0])
    pred = np.array([1.0, 2.0, 0.0, 0.0])
    public = np.array([True, True, False, False])
    scores = scoring.score(
        metric="mae", extra_metrics=("rmse",), y_true=y, public_mask=public,
        predictions=pred, proba=None, n_classes=None,
    )  # fmt: skip
    assert scores.public == 0.0
    assert scores.private == 3.5
    assert scores.extra == {"rmse": 0.0}


def test_probability_rows_inflated_within_the_tolerance_score_like_the_normalised_ones() -> None:
    rng = np.random.default_rng(3)
    raw = rng.random((200, 4)) + 0.01
    proba = raw / raw.sum(axis=1, keepdims=True)
    y = rng.integers(0, 4, size=200)
    mask = np.arange(200) % 2 == 0
    inflated = proba + 0.0002  # every row sums to 1.0008: within the 1e-3 tolerance
    inflated[0] = [0.5004, 0.5004, 0.0, -0.0004]  # a slightly negative cell is clipped first

    def scored(arr: np.ndarray) -> tuple[float, float]:
        scores = scoring.score(
            metric="log_loss", extra_metrics=(), y_true=y, public_mask=mask,
            predictions=None, proba=validate_proba(arr, n_rows=200, n_classes=4), n_classes=4,
        )  # fmt: skip
        return scores.public, scores.private

    normalised = inflated.clip(0.0, None)
    normalised /= normalised.sum(axis=1, keepdims=True)
    assert scored(inflated) == pytest.approx(scored(normalised), rel=1e-12)
    np.testing.assert_allclose(validate_proba(inflated, n_rows=200, n_classes=4).sum(axis=1), 1.0)
