"""Semi-synthetic data: a fresh dataset per installation, sampled from a model fitted to a
public one, so the task keeps its character while a lookup of the public rows earns nothing.

The way Kaggle's Playground Series does it, in three parts (plain numpy, scipy and
scikit-learn on the trusted side; no Django):

- Features: a Gaussian copula per class (one for regression). Each column keeps its own
  marginal (the empirical quantile function of the real column: interpolated for continuous
  columns and rounded to the column's own decimal resolution, exact values for columns with
  few distinct whole values such as pixels 0..16 or sex 1/2); the columns' dependence is the
  correlation of their normal scores, shrunk a little towards independence. Class sizes follow
  the real proportions.
- Labels: a linear model (ridge regression, or a multinomial logistic regression on
  standardised features) fitted to a bootstrap resample of the real rows, its coefficients
  then turned by a random angle (norm kept), so the label model is this installation's own:
  a model trained on the public dataset is no shortcut to it.
- Matched noise: regression adds residuals resampled from the model's out-of-fold residuals
  on the real data; classification draws each label from the model's probabilities at a
  temperature chosen so that their mean entropy equals the model's out-of-fold log loss on
  the real data. The best achievable score is therefore what the real data allows, and no
  predictor can beat the label model on its own draws (a lookup of the real rows included).

Everything is drawn from one `RandomState` the caller seeds (from the installation secret).
"""

from __future__ import annotations

import numpy as np

_SHRINK = 0.1  # correlation shrinkage towards the identity (keeps it positive definite)
_DISCRETE_MAX_VALUES = 20  # a whole-valued column with at most this many values stays exact
_MAX_DECIMALS = 6
_CV_FOLDS = 5
# How far each installation's label model is turned from the one fitted to the public data.
PERTURBATION = 0.5


def sample(
    X: np.ndarray,
    y: np.ndarray,
    *,
    n_classes: int | None,
    n_samples: int,
    rng: np.random.RandomState,
) -> tuple[np.ndarray, np.ndarray]:
    """`n_samples` new rows like (X, y): features, then labels from the fitted label model."""
    columns = [_Column(X[:, j]) for j in range(X.shape[1])]
    if n_classes is None:
        groups = [np.arange(len(X))]
        counts = [n_samples]
    else:
        groups = [np.flatnonzero(y == c) for c in range(n_classes)]
        counts = list(rng.multinomial(n_samples, [len(g) / len(y) for g in groups]))
    parts = [
        _copula_sample(X[idx], columns, count, rng)
        for idx, count in zip(groups, counts, strict=True)
        if count
    ]
    Xs = np.concatenate(parts)
    Xs = Xs[rng.permutation(len(Xs))]
    if n_classes is None:
        ys = _regression_labels(X, y, Xs, rng)
    else:
        ys = _class_labels(X, y, Xs, n_classes, rng)
    return Xs, ys


class _Column:
    """How a real column's values look: exact whole values, or continuous at a resolution."""

    def __init__(self, values: np.ndarray) -> None:
        self.decimals = _decimals(values)
        distinct = np.unique(values)
        self.discrete = self.decimals == 0 and len(distinct) <= _DISCRETE_MAX_VALUES

    def from_uniform(self, sorted_values: np.ndarray, u: np.ndarray) -> np.ndarray:
        n = len(sorted_values)
        if self.discrete:
            return sorted_values[np.minimum((u * n).astype(np.int64), n - 1)]
        # Interpolated empirical quantile: new values between the real ones.
        positions = np.clip(u * n - 0.5, 0, n - 1)
        low = np.floor(positions).astype(np.int64)
        high = np.minimum(low + 1, n - 1)
        frac = positions - low
        values = sorted_values[low] * (1 - frac) + sorted_values[high] * frac
        return np.round(values, self.decimals)


def _decimals(values: np.ndarray) -> int:
    """The fewest decimals that write every value of the column exactly (at most 6)."""
    scale = np.maximum(np.abs(values), 1.0)
    for k in range(_MAX_DECIMALS + 1):
        if np.all(np.abs(np.round(values, k) - values) <= 1e-9 * scale):
            return k
    return _MAX_DECIMALS


def _copula_sample(
    X: np.ndarray, columns: list[_Column], count: int, rng: np.random.RandomState
) -> np.ndarray:
    # scipy.special on use: importing it costs ~0.35 s, which every `hackathon evaluate`
    # (it reads the split code in data.py) would otherwise pay for data it never generates.
    from scipy.special import ndtr, ndtri

    n, d = X.shape
    ranks = X.argsort(axis=0, kind="stable").argsort(axis=0, kind="stable")
    scores = ndtri((ranks + 0.5) / n)
    varies = X.std(axis=0) > 0
    corr = np.eye(d)
    if varies.sum() > 1:
        corr[np.ix_(varies, varies)] = np.corrcoef(scores[:, varies], rowvar=False)
    corr = (1 - _SHRINK) * corr + _SHRINK * np.eye(d)
    z = rng.standard_normal((count, d)) @ np.linalg.cholesky(corr).T
    u = ndtr(z)
    ordered = np.sort(X, axis=0)
    return np.column_stack(
        [columns[j].from_uniform(ordered[:, j], u[:, j]) for j in range(d)]
    ).astype(np.float64)


def _folds(n: int) -> list[np.ndarray]:
    # Fixed folds (not from the installation's stream): the noise level is a property of
    # the public data, the same everywhere.
    order = np.random.RandomState(0).permutation(n)
    return [order[k::_CV_FOLDS] for k in range(_CV_FOLDS)]


def _regression_labels(
    X: np.ndarray, y: np.ndarray, Xs: np.ndarray, rng: np.random.RandomState
) -> np.ndarray:
    # scikit-learn loads in about a second: only when a challenge's data is built.
    from sklearn.linear_model import Ridge

    residuals = np.empty(len(y))
    for test in _folds(len(y)):
        train = np.setdiff1d(np.arange(len(y)), test)
        mean, scale = _standardiser(X[train])
        fitted = Ridge(alpha=1.0).fit((X[train] - mean) / scale, y[train])
        residuals[test] = y[test] - fitted.predict((X[test] - mean) / scale)
    boot = rng.randint(0, len(y), len(y))
    mean, scale = _standardiser(X[boot])
    fitted = Ridge(alpha=1.0).fit((X[boot] - mean) / scale, y[boot])
    weights = _perturbed(fitted.coef_[None, :], rng)[0]
    ys = (Xs - mean) / scale @ weights + fitted.intercept_
    ys += residuals[rng.randint(0, len(residuals), len(Xs))]
    return np.round(ys, _decimals(y))


def _standardiser(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scale = X.std(axis=0)
    return X.mean(axis=0), np.where(scale > 0, scale, 1.0)


def _perturbed(weights: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """Each row of `weights` turned by a random angle (noise of PERTURBATION times its size,
    norm kept): the label model is this installation's own, not the public data's, so a model
    trained on the public dataset is no shortcut, while the signal strength stays the same."""
    out = np.empty_like(weights)
    for i, row in enumerate(weights):
        size = np.sqrt(np.mean(row**2))
        moved = row + rng.normal(scale=PERTURBATION * size, size=row.shape)
        out[i] = moved * (np.linalg.norm(row) / max(np.linalg.norm(moved), 1e-300))
    return out


def _class_labels(
    X: np.ndarray, y: np.ndarray, Xs: np.ndarray, n_classes: int, rng: np.random.RandomState
) -> np.ndarray:
    # scikit-learn loads in about a second: only when a challenge's data is built.
    from sklearn.linear_model import LogisticRegression

    losses = []
    for test in _folds(len(y)):
        train = np.setdiff1d(np.arange(len(y)), test)
        mean, scale = _standardiser(X[train])
        fitted = LogisticRegression(C=1.0, max_iter=2000).fit((X[train] - mean) / scale, y[train])
        proba = fitted.predict_proba((X[test] - mean) / scale)
        losses.append(-np.log(np.clip(proba[np.arange(len(test)), y[test]], 1e-15, 1)))
    target_entropy = float(np.mean(np.concatenate(losses)))
    boot = rng.randint(0, len(y), len(y))
    while len(np.unique(y[boot])) < n_classes:  # every class in the resample
        boot = rng.randint(0, len(y), len(y))
    mean, scale = _standardiser(X[boot])
    fitted = LogisticRegression(C=1.0, max_iter=2000).fit((X[boot] - mean) / scale, y[boot])
    weights = _perturbed(fitted.coef_, rng)
    logits = (Xs - mean) / scale @ weights.T + fitted.intercept_
    if n_classes == 2:
        logits = np.column_stack([np.zeros(len(Xs)), logits[:, 0]])
    temperature = _temperature_for_entropy(logits, target_entropy)
    proba = _softmax(logits / temperature)
    cumulative = proba.cumsum(axis=1)
    draws = rng.uniform(size=(len(Xs), 1))
    labels = (draws > cumulative).sum(axis=1)
    return np.minimum(labels, n_classes - 1).astype(np.float64)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def _mean_entropy(logits: np.ndarray, temperature: float) -> float:
    p = _softmax(logits / temperature)
    return float(-np.mean(np.sum(p * np.log(np.clip(p, 1e-300, 1)), axis=1)))


def _temperature_for_entropy(logits: np.ndarray, target: float) -> float:
    """The temperature at which the labels' mean entropy is `target` (bisection in log T)."""
    low, high = -6.0, 6.0  # log temperature; entropy grows with the temperature
    for _ in range(60):
        mid = (low + high) / 2
        if _mean_entropy(logits, float(np.exp(mid))) < target:
            low = mid
        else:
            high = mid
    return float(np.exp((low + high) / 2))
