"""A challenge spec: what a bundle, the authoring form and a stored challenge describe.

The dataclasses and the names a spec chooses from; `schema.py` reads and checks them.
Plain Python (no Django).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from grader.contract import DEFAULT_ALLOWED_IMPORTS
from hackathon.challenges.precision import DEFAULT_DISPLAY_PRECISION

TASKS = ("regression", "binary", "multiclass")
TRACKS = ("model", "optimizer")  # teams write a Model (fit/predict), or an Optimizer (step)
# What each optimizer-track model fits: linear regression, logistic regression, ...
MODEL_TASKS = {
    "linear": ("regression",),
    "logistic": ("binary",),
    "softmax": ("binary", "multiclass"),
    "mlp": ("regression", "binary", "multiclass"),
}
METRICS_FOR_TASK: dict[str, tuple[str, ...]] = {
    "regression": ("rmse", "mae", "r2"),
    "binary": ("log_loss", "accuracy", "f1_macro", "roc_auc"),
    "multiclass": ("log_loss", "accuracy", "f1_macro"),
}
ALL_METRICS = ("rmse", "mae", "r2", "accuracy", "f1_macro", "log_loss", "roc_auc")
HIGHER_IS_BETTER = frozenset({"r2", "accuracy", "f1_macro", "roc_auc"})
DATA_KINDS = ("sklearn", "semisynthetic", "generator", "csv", "npz")
# `[data] seed = "installation"` (the default): drawn from the installation's secret.
INSTALLATION_SEED = "installation"
DEFAULT_MIN_LOSS_CURVE_POINTS = 3


def metric_direction(metric: str) -> str:
    return "higher is better" if metric in HIGHER_IS_BETTER else "lower is better"


@dataclass(frozen=True)
class DataSource:
    kind: str  # sklearn | semisynthetic | generator | csv | npz
    name: str = ""  # load_* or make_* for sklearn / semisynthetic / generator
    params: dict[str, Any] = field(default_factory=dict)
    file: str = ""  # csv / npz: path inside the bundle
    target: str = ""  # csv: the target column
    rescale_log10: tuple[float, float] | None = None  # multiply feature j by 10**U(lo, hi)
    # The seed of generated data: None draws it from the installation's secret (nobody can
    # regenerate the hidden labels); a pinned seed is public and must say so.
    seed: int | None = None
    seed_is_public: bool = False

    @property
    def labels_are_public(self) -> bool:
        """Whether anyone can know the hidden labels without the platform: a dataset that
        ships with scikit-learn (a "classic"), or data generated from a seed in the bundle."""
        return self.kind == "sklearn" or self.seed is not None

    @property
    def uses_installation_seed(self) -> bool:
        return self.seed is None and (
            self.kind in ("semisynthetic", "generator") or self.rescale_log10 is not None
        )

    def as_dict(self) -> dict[str, Any]:
        """As a challenge stores it (`Challenge.source`)."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.name:
            out["name"] = self.name
        if self.params:
            out["params"] = dict(self.params)
        if self.file:
            out["file"] = self.file
        if self.target:
            out["target"] = self.target
        if self.rescale_log10 is not None:
            out["rescale_log10"] = list(self.rescale_log10)
        if self.seed is not None:
            out["seed"] = self.seed
            out["seed_is_public"] = True
        return out

    def as_toml(self) -> dict[str, Any]:
        """As challenge.toml's `[data]` table says it."""
        out = self.as_dict()
        return {"source": out.pop("kind"), **out}


@dataclass(frozen=True)
class ChallengeSpec:
    slug: str
    title: str
    summary: str
    task: str
    metric: str
    extra_metrics: tuple[str, ...]
    data: DataSource
    test_fraction: float = 0.3
    public_fraction: float = 0.5
    seed: int = 42
    time_limit_s: float = 10.0
    memory_mb: int = 256
    daily_quota: int = 10
    total_quota: int | None = None
    inflight_cap: int = 2
    max_final: int = 2
    display_precision: int = DEFAULT_DISPLAY_PRECISION
    best_plausible: float | None = None
    allowed_imports: tuple[str, ...] = DEFAULT_ALLOWED_IMPORTS
    # [rules]: numpy's closed-form solvers refused, and a loss_curve_ of at least this many
    # points required (grader.contract.CLOSED_FORM_FUNCTIONS).
    gradient_descent_only: bool = False
    min_loss_curve_points: int = DEFAULT_MIN_LOSS_CURVE_POINTS
    start_at: dt.datetime | None = None
    end_at: dt.datetime | None = None
    freeze_at: dt.datetime | None = None
    published: bool = True
    description_md: str = ""
    starter_code: str = ""
    baseline_code: str = ""
    data_files: Mapping[str, bytes] = field(default_factory=dict)
    track: str = "model"
    workload: Mapping[str, Any] = field(default_factory=dict)  # optimizer track only
