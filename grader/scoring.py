"""Trusted-side validation of predictions and scoring on the hidden labels (scikit-learn).

Validation messages are meant for participants: they say exactly what is wrong
("expected shape (143,), got (142, 3)", "NaN in 12 rows", "label 7 outside 0..2",
"labels must be whole numbers, got 0.73").
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

PROBA_TOLERANCE = 1e-3
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 20240601
_BOOTSTRAP_CHUNK_ELEMENTS = 2_000_000
_BOOTSTRAP_TOTAL_ELEMENTS = 50_000_000


@dataclass(frozen=True)
class Metric:
    name: str
    greater_is_better: bool
    needs_proba: bool
    tasks: tuple[str, ...]


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("rmse", False, False, ("regression",)),
        Metric("mae", False, False, ("regression",)),
        Metric("r2", True, False, ("regression",)),
        Metric("accuracy", True, False, ("binary", "multiclass")),
        Metric("f1_macro", True, False, ("binary", "multiclass")),
        Metric("log_loss", False, True, ("binary", "multiclass")),
        Metric("roc_auc", True, True, ("binary", "multiclass")),
    )
}
TASKS = ("regression", "binary", "multiclass")


class InvalidPredictions(ValueError):
    """The participant's output cannot be scored; the message says why.

    `value`: the offending number, when one is (a fractional label).
    """

    def __init__(self, message: str, *, value: float | None = None) -> None:
        super().__init__(message)
        self.value = value


def metric_greater_is_better(name: str) -> bool:
    return METRICS[name].greater_is_better


def _rows(mask: np.ndarray, limit: int = 5) -> str:
    rows = np.flatnonzero(mask)
    shown = ", ".join(str(int(r)) for r in rows[:limit])
    more = f" (and {rows.size - limit} more)" if rows.size > limit else ""
    return f"{shown}{more}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _check_numeric(arr: np.ndarray, what: str) -> None:
    if arr.dtype.kind not in "biuf":
        raise InvalidPredictions(f"{what} must be numbers, got dtype {arr.dtype}")


def _check_finite(arr: np.ndarray) -> None:
    if arr.dtype.kind != "f":
        return
    per_row = arr.reshape(arr.shape[0], -1)
    nan_rows = np.isnan(per_row).any(axis=1)
    if nan_rows.any():
        raise InvalidPredictions(
            f"NaN in {_plural(int(nan_rows.sum()), 'row')} (rows {_rows(nan_rows)})"
        )
    inf_rows = np.isinf(per_row).any(axis=1)
    if inf_rows.any():
        raise InvalidPredictions(
            f"infinity in {_plural(int(inf_rows.sum()), 'row')} (rows {_rows(inf_rows)})"
        )


def _shape_text(shape: Sequence[int] | None) -> str:
    if shape is None:
        return "something that is not an array"
    return str(tuple(int(s) for s in shape))


def validate_predictions(
    arr: np.ndarray | None,
    *,
    task: str,
    n_rows: int,
    n_classes: int | None,
    shape: Sequence[int] | None = None,
) -> np.ndarray:
    """Values (regression) or int64 labels (classification), shape (n_rows,)."""
    if arr is None:
        raise InvalidPredictions(f"expected shape ({n_rows},), got {_shape_text(shape)}")
    _check_numeric(arr, "predictions")
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.shape != (n_rows,):
        raise InvalidPredictions(f"expected shape ({n_rows},), got {_shape_text(arr.shape)}")
    _check_finite(arr)
    if task == "regression":
        return arr.astype(np.float64)
    if arr.dtype.kind == "f":
        fractional = arr != np.round(arr)
        if fractional.any():
            value = arr[np.argmax(fractional)]
            raise InvalidPredictions(
                f"labels must be whole numbers, got {value:.6g}", value=float(value)
            )
    labels = arr.astype(np.int64)
    k = n_classes or 2
    outside = (labels < 0) | (labels >= k)
    if outside.any():
        raise InvalidPredictions(f"label {labels[np.argmax(outside)]} outside 0..{k - 1}")
    return labels


def validate_proba(
    arr: np.ndarray | None, *, n_rows: int, n_classes: int, shape: Sequence[int] | None = None
) -> np.ndarray:
    """(n_rows, n_classes) probabilities; for two classes (n_rows,) means P(class 1)."""
    expected = f"({n_rows}, {n_classes})"
    if arr is None:
        raise InvalidPredictions(
            f"predict_proba: expected shape {expected}, got {_shape_text(shape)}"
        )
    _check_numeric(arr, "probabilities")
    arr = arr.astype(np.float64)
    if n_classes == 2 and arr.ndim == 1 and arr.shape == (n_rows,):
        _check_finite(arr)
        bad = (arr < -PROBA_TOLERANCE) | (arr > 1 + PROBA_TOLERANCE)
        if bad.any():
            raise InvalidPredictions(f"probabilities must be within 0..1: rows {_rows(bad)}")
        p1 = np.clip(arr, 0.0, 1.0)
        return np.column_stack([1.0 - p1, p1])
    if arr.shape != (n_rows, n_classes):
        raise InvalidPredictions(
            f"predict_proba: expected shape {expected}, got {_shape_text(arr.shape)}"
        )
    _check_finite(arr)
    bad = (arr < -PROBA_TOLERANCE).any(axis=1) | (np.abs(arr.sum(axis=1) - 1.0) > PROBA_TOLERANCE)
    if bad.any():
        raise InvalidPredictions(
            "probability rows must be non-negative and sum to 1: "
            f"{_plural(int(bad.sum()), 'row')} do not (rows {_rows(bad)})"
        )
    # Rows within the tolerance are scored as the distribution they stand for: renormalised,
    # so inflating every cell (sums of 1 + 1e-3) cannot buy a better log loss.
    clipped = np.clip(arr, 0.0, None)
    return clipped / clipped.sum(axis=1, keepdims=True)


def _rmse(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.sqrt(np.average((y - pred) ** 2, axis=0)))


def _mae(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.average(np.abs(pred - y), axis=0))


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    y = y.astype(np.float64)
    numerator = float(((y - pred) ** 2).sum(axis=0, dtype=np.float64))
    denominator = float(((y - np.average(y, axis=0)) ** 2).sum(axis=0, dtype=np.float64))
    if denominator == 0.0:  # scikit-learn's force_finite: a constant target
        return 1.0 if numerator == 0.0 else 0.0
    return 1.0 - numerator / denominator


def _accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.average(y == pred))


_NUMPY_METRICS = {"rmse": _rmse, "mae": _mae, "r2": _r2, "accuracy": _accuracy}


def compute_metric(
    name: str, y_true: np.ndarray, y_pred: np.ndarray | None, proba: np.ndarray | None,
    n_classes: int | None,
) -> float:  # fmt: skip
    """One metric, by scikit-learn's own definitions (they are the reference).

    The four plain ones are computed here with numpy, as scikit-learn computes them, so
    that a grader process starts without importing scikit-learn (about 0.6 s, most of a
    cold start); tests/grader/test_scoring_numpy.py holds them equal to scikit-learn's.
    """
    if name in _NUMPY_METRICS:
        return _NUMPY_METRICS[name](np.asarray(y_true), np.asarray(y_pred))
    # scikit-learn only for the metrics that need it: a heavy import on a cold path.
    from sklearn import metrics as skm

    labels = list(range(n_classes)) if n_classes else None
    if name == "rmse":
        return float(np.sqrt(skm.mean_squared_error(y_true, y_pred)))
    if name == "mae":
        return float(skm.mean_absolute_error(y_true, y_pred))
    if name == "r2":
        return float(skm.r2_score(y_true, y_pred))
    if name == "accuracy":
        return float(skm.accuracy_score(y_true, y_pred))
    if name == "f1_macro":
        return float(skm.f1_score(y_true, y_pred, average="macro", labels=labels, zero_division=0))
    if name == "log_loss":
        return float(skm.log_loss(y_true, proba, labels=labels))
    if name == "roc_auc":
        if proba.shape[1] == 2:  # type: ignore[union-attr]
            return float(skm.roc_auc_score(y_true, proba[:, 1]))  # type: ignore[index]
        return float(skm.roc_auc_score(y_true, proba, multi_class="ovr", labels=labels))
    raise KeyError(name)


# -- bootstrap ---------------------------------------------------------------------------


def _resample_stat(
    name: str, y: np.ndarray, pred: np.ndarray | None, proba: np.ndarray | None, counts: np.ndarray,
    n_classes: int | None,
) -> np.ndarray:  # fmt: skip
    """The metric for each resample, given per-row multiplicities `counts` (B x n)."""
    # Every resample draws as many rows as there are: each row of `counts` sums to that.
    n = np.full(counts.shape[0], float(counts.shape[1]))
    if name in ("rmse", "mae"):
        err = (y - pred) ** 2 if name == "rmse" else np.abs(y - pred)
        mean = counts @ err / n
        return np.sqrt(mean) if name == "rmse" else mean
    if name == "r2":
        sse = counts @ ((y - pred) ** 2)
        mean_y = counts @ y / n
        sst = counts @ (y**2) - n * mean_y**2
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1.0 - sse / sst
    if name == "accuracy":
        return counts @ (y == pred).astype(np.float64) / n
    if name == "f1_macro":
        scores = []
        for c in range(n_classes or 2):
            tp = counts @ ((y == c) & (pred == c)).astype(np.float64)
            fp = counts @ ((y != c) & (pred == c)).astype(np.float64)
            fn = counts @ ((y == c) & (pred != c)).astype(np.float64)
            denom = 2 * tp + fp + fn
            with np.errstate(divide="ignore", invalid="ignore"):
                scores.append(np.where(denom > 0, 2 * tp / denom, 0.0))
        return np.mean(scores, axis=0)
    if name == "log_loss":
        eps = np.finfo(np.float64).eps
        p = np.clip(proba[np.arange(y.size), y], eps, 1.0)  # type: ignore[index]
        return counts @ (-np.log(p)) / n
    if name == "roc_auc":
        classes = [1] if proba.shape[1] == 2 else range(proba.shape[1])  # type: ignore[union-attr]
        aucs = [_weighted_auc((y == c), proba[:, c], counts) for c in classes]  # type: ignore[index]
        return np.mean(aucs, axis=0)
    raise KeyError(name)


def _weighted_auc(positive: np.ndarray, score: np.ndarray, counts: np.ndarray) -> np.ndarray:
    order = np.argsort(score, kind="mergesort")
    s, pos = score[order], positive[order]
    w = counts[:, order].astype(np.float64)
    wpos, wneg = w * pos, w * ~pos
    # Group ties: a tie between a positive and a negative counts one half.
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    gpos = np.add.reduceat(wpos, starts, axis=1)
    gneg = np.add.reduceat(wneg, starts, axis=1)
    neg_below = np.cumsum(gneg, axis=1) - gneg
    num = (gpos * (neg_below + 0.5 * gneg)).sum(axis=1)
    den = gpos.sum(axis=1) * gneg.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return num / den


def _resample_chunks(n: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Per-row multiplicities of each resample (rows drawn with replacement), in chunks of
    at most _BOOTSTRAP_CHUNK_ELEMENTS: (b x n) integer arrays."""
    rng = np.random.default_rng(seed)
    chunk = max(1, _BOOTSTRAP_CHUNK_ELEMENTS // n)
    done = 0
    while done < resamples:
        b = min(chunk, resamples - done)
        idx = rng.integers(0, n, size=(b, n))
        flat = (idx + (np.arange(b) * n)[:, None]).ravel()
        yield np.bincount(flat, minlength=b * n).reshape(b, n)
        done += b


# The resamples depend only on the number of rows, their count and the seed: the same for
# every submission of a challenge. Drawing them is most of an interval's cost (120 ms of CPU
# at 5,000 public rows, against 10 ms for the statistics), so a worker keeps the latest
# few, as small integers (1 byte a count), up to _PLAN_CACHE_ELEMENTS counts each.
_PLAN_CACHE_ELEMENTS = 10_000_000
_PLAN_CACHE_SIZE = 2
_plans: OrderedDict[tuple[int, int, int], list[np.ndarray]] = OrderedDict()
_plans_lock = threading.Lock()


def _resample_plan(n: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """`_resample_chunks` as float64, drawn once per (n, resamples, seed) when small enough."""
    key = (n, resamples, seed)
    with _plans_lock:
        plan = _plans.get(key)
        if plan is not None:
            _plans.move_to_end(key)
    if plan is None and n * resamples <= _PLAN_CACHE_ELEMENTS:
        plan = []
        for counts in _resample_chunks(n, resamples, seed):
            top = int(counts.max(initial=0))
            plan.append(counts.astype(np.uint8 if top <= 255 else np.uint16))
        with _plans_lock:
            _plans[key] = plan
            while len(_plans) > _PLAN_CACHE_SIZE:
                _plans.popitem(last=False)
    chunks = plan if plan is not None else _resample_chunks(n, resamples, seed)
    for counts in chunks:
        yield counts.astype(np.float64)


def bootstrap_ci(
    name: str, y: np.ndarray, pred: np.ndarray | None, proba: np.ndarray | None,
    n_classes: int | None, *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float] | None:  # fmt: skip
    """Percentile 95% interval of the metric over rows resampled with replacement."""
    n = y.size
    if n < 2:
        return None
    # Bound the work on very large public parts (at least 100 resamples).
    resamples = int(min(resamples, max(100, _BOOTSTRAP_TOTAL_ELEMENTS // n)))
    stats = [
        _resample_stat(name, y, pred, proba, counts, n_classes)
        for counts in _resample_plan(n, resamples, seed)
    ]
    values = np.concatenate(stats)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


@dataclass
class Scores:
    public: float
    private: float | None
    public_ci: tuple[float, float] | None
    extra: dict[str, float]


def score(
    *, metric: str, extra_metrics: tuple[str, ...], y_true: np.ndarray, public_mask: np.ndarray,
    predictions: np.ndarray | None, proba: np.ndarray | None, n_classes: int | None,
) -> Scores:  # fmt: skip
    """Main metric on the public and private parts, extra metrics and a CI on the public part.

    Extra metrics are computed on the public part only (they are shown on the public board).
    """
    pub = public_mask
    priv = ~public_mask

    def part(mask: np.ndarray, name: str) -> float:
        return compute_metric(
            name,
            y_true[mask],
            None if predictions is None else predictions[mask],
            None if proba is None else proba[mask],
            n_classes,
        )

    public = part(pub, metric)
    private = part(priv, metric) if priv.any() else None
    extra = {name: part(pub, name) for name in extra_metrics}
    ci = bootstrap_ci(
        metric,
        y_true[pub],
        None if predictions is None else predictions[pub],
        None if proba is None else proba[pub],
        n_classes,
    )
    return Scores(public, private, ci, extra)
