"""Public downloads: the training rows as CSV and the starter kit zip.

Only the training blobs are read here, never the hidden test rows. Large files are built
once per split and cached on disk (keyed by the split hash), then served as files.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from django.conf import settings

from hackathon.challenges.archive import write_zip
from hackathon.challenges.bundle import metric_direction
from hackathon.challenges.data import npy_load, training_csv_bytes
from hackathon.challenges.models import Challenge
from hackathon.challenges.rules import rules_markdown

CONTRACT = """\
import numpy as np


class Model:
    def fit(self, X, y):
        # X: float64 array (n, d); y: float64 (n,) for regression,
        #    int64 labels 0..k-1 for classification.
        # Optional: append one loss value per epoch to self.loss_curve_
        return self

    def predict(self, X):
        # (n,) values for regression, (n,) labels for classification
        ...

    def predict_proba(self, X):
        # (n, k) probabilities; needed only when the metric needs them (log_loss, roc_auc)
        ...
"""


def _training_arrays(challenge: Challenge) -> tuple:
    return npy_load(bytes(challenge.train_X.data)), npy_load(bytes(challenge.train_y.data))


def training_csv(challenge: Challenge) -> bytes:
    """The training rows (features then the target) as CSV; never a hidden row."""
    return download_file(challenge, "train.csv").read_bytes()


def _build_training_csv(challenge: Challenge) -> bytes:
    X, y = _training_arrays(challenge)
    return training_csv_bytes(X, y, list(challenge.feature_names), challenge.target_name)


def challenge_manifest(challenge: Challenge) -> dict:
    return {
        "slug": challenge.slug,
        "title": challenge.title,
        "task": challenge.task,
        "metric": challenge.metric,
        "direction": metric_direction(challenge.metric),
        "extra_metrics": list(challenge.extra_metrics),
        "n_classes": challenge.n_classes,
        "n_features": challenge.n_features,
        "feature_names": list(challenge.feature_names),
        "target_name": challenge.target_name,
        "n_train": challenge.n_train,
        "seed": challenge.seed,
        "allowed_imports": list(challenge.allowed_imports),
        "gradient_descent_only": challenge.gradient_descent_only,
        "min_loss_curve_points": challenge.min_loss_curve_points,
        "public_labels": challenge.public_labels,
        "time_limit_s": challenge.time_limit_s,
        "memory_mb": challenge.memory_mb,
    }


def starter_kit_readme(challenge: Challenge) -> str:
    proba_metrics = {"log_loss", "roc_auc"} & {challenge.metric, *challenge.extra_metrics}
    proba = (
        " and `predict_proba`. This challenge is scored on predicted probabilities"
        f" ({', '.join(sorted(proba_metrics))}): `predict_proba(X)` returns one row per"
        " sample and one probability per class, and an upload without it is refused at"
        " once (no quota used)"
        if proba_metrics
        else ""
    )
    return f"""# {challenge.title}: starter kit

Task: {challenge.get_task_display()}. Ranked by **{challenge.get_metric_display()}**
({metric_direction(challenge.metric)}). Limits: {challenge.time_limit_s:g} s and
{challenge.memory_mb} MB for training and prediction together.

## Files
- `solution.py`: the starter solution (gradient descent); edit it and submit it.
- `train.csv`: the {challenge.n_train} training rows; the last column, `{challenge.target_name}`, is the target.
- `train_X.npy`, `train_y.npy`: the same rows as NumPy arrays (much faster to load).
- `challenge.json`: task, metric, allowed imports and limits, for the local evaluator.

## The submission contract
One UTF-8 file `solution.py` (at most 1 MiB) defining a class `Model`, built without
arguments, with `fit`, `predict`{proba}:

```python
{CONTRACT}```

Allowed imports: {", ".join(challenge.allowed_imports)}.
{rules_markdown(challenge)}The hidden test rows are never sent to your code's training step; your predictions
on them are scored on a public part (live leaderboard) and a private part (final ranking).

## Evaluate locally
With the platform's command-line tool installed (`pip install` of this project):

```
hackathon evaluate solution.py --data train.csv
hackathon evaluate solution.py --challenge {challenge.slug}
```

`--data` holds out part of `train.csv` and scores your model on it with the challenge's
metric (using `challenge.json` next to it); `--challenge` fetches the same settings
from the platform. Both run your code the way the grader does.
"""


def starter_kit_zip(challenge: Challenge) -> bytes:
    """Training data (CSV and .npy), the starter solution, README and challenge.json."""
    return download_file(challenge, "starter-kit.zip").read_bytes()


def _build_starter_kit(challenge: Challenge) -> bytes:
    files = {
        "README.md": starter_kit_readme(challenge).encode(),
        "solution.py": challenge.starter_code.encode(),
        "train.csv": training_csv(challenge),
        "train_X.npy": bytes(challenge.train_X.data),
        "train_y.npy": bytes(challenge.train_y.data),
        "challenge.json": json.dumps(challenge_manifest(challenge), indent=2).encode(),
    }
    return write_zip(files, prefix=f"{challenge.slug}/")


def _cache_dir() -> Path:
    return Path(getattr(settings, "CHALLENGE_DOWNLOADS_DIR", settings.VAR_DIR / "downloads"))


def download_file(challenge: Challenge, kind: str) -> Path:
    """A cached file for `kind` in ("train.csv", "starter-kit.zip"), built on first use.

    One folder per challenge; a new version (new split, starter or limits) replaces the
    old file of the same kind, so the cache does not grow with every reload."""
    builders = {"train.csv": _build_training_csv, "starter-kit.zip": _build_starter_kit}
    folder = _cache_dir() / challenge.slug
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{challenge.split_hash[:16]}-{hash_texts(challenge)}-{kind}"
    if not path.is_file():
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".dl-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(builders[kind](challenge))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        for old in folder.glob(f"*-{kind}"):
            if old != path:
                old.unlink(missing_ok=True)
    return path


def hash_texts(challenge: Challenge) -> str:
    """Changes when what the kit says changes (starter, limits, imports)."""
    import hashlib

    manifest = json.dumps(challenge_manifest(challenge), sort_keys=True)
    return hashlib.sha256((manifest + challenge.starter_code).encode()).hexdigest()[:12]
