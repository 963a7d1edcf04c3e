"""Small in-memory bundles and challenges for the challenge tests."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hackathon.organizing.services import challenge_load_bundle

ROOT = Path(__file__).resolve().parents[2]
BUILTIN = ROOT / "challenges"

STARTER = b"""import numpy as np


class Model:
    def fit(self, X, y):
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)
"""


def csv_bytes(
    X: np.ndarray, y: np.ndarray, names: list[str] | None = None, target: str = "y"
) -> bytes:
    names = names or [f"f{i}" for i in range(X.shape[1])]
    out = io.StringIO()
    out.write(",".join([*names, target]) + "\n")
    for row, t in zip(X.tolist(), y.tolist(), strict=True):
        out.write(",".join(repr(v) for v in [*row, t]) + "\n")
    return out.getvalue().encode()


def regression_csv(n: int = 200, d: int = 3, seed: int = 0) -> bytes:
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, d))
    # Distinctive target values: easy to spot if a page ever printed one.
    y = np.round(X @ np.arange(1, d + 1) * 100 + 5000 + rng.uniform(0, 1, n), 6) + 0.000123
    return csv_bytes(X, y)


TOML = """slug = "{slug}"
title = "{title}"
summary = "A small test challenge"
task = "{task}"
metric = "{metric}"
extra_metrics = {extra}

[data]
source = "csv"
file = "data/train.csv"
target = "y"

[split]
test_fraction = 0.3
public_fraction = 0.5
seed = {seed}

[limits]
time_s = 5
memory_mb = 256
daily_submissions = 7
"""


def bundle_files(
    slug: str = "tiny",
    *,
    title: str = "Tiny",
    task: str = "regression",
    metric: str = "rmse",
    extra: str = '["mae"]',
    seed: int = 42,
    data: bytes | None = None,
    description: str = "# Tiny\n\nPredict **y**.",
    toml: str | None = None,
) -> dict[str, bytes]:
    text = (
        toml
        if toml is not None
        else TOML.format(slug=slug, title=title, task=task, metric=metric, extra=extra, seed=seed)
    )
    return {
        "challenge.toml": text.encode(),
        "description.md": description.encode(),
        "starter/solution.py": STARTER,
        "baseline/solution.py": STARTER,
        "data/train.csv": data if data is not None else regression_csv(),
    }


@pytest.fixture
def make_challenge(db: None) -> Callable[..., object]:
    def make(**kwargs: object) -> object:
        return challenge_load_bundle(files=bundle_files(**kwargs), origin="test").challenge

    return make


@pytest.fixture(autouse=True)
def _downloads_in_tmp(settings: object, tmp_path: Path) -> None:
    settings.CHALLENGE_DOWNLOADS_DIR = tmp_path / "downloads"
    settings.MEDIA_ROOT = tmp_path / "media"
