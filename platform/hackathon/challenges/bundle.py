"""The challenge bundle: `challenges/<slug>/` with challenge.toml, description.md,
starter/solution.py, baseline/solution.py and optional data files.

Plain Python (no Django) so the participant CLI can read bundles too. A bundle is first
read into memory as `{relative path: bytes}` (from a folder or, safely, from a zip: see
`archive.py`), then parsed; nothing touches the database or the disk while parsing.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from grader import workloads as wl
from grader.contract import DEFAULT_ALLOWED_IMPORTS
from hackathon.challenges import data as data_module
from hackathon.challenges.errors import BundleError
from hackathon.challenges.precision import (
    DEFAULT_DISPLAY_PRECISION,
    MAX_DISPLAY_PRECISION,
    MIN_DISPLAY_PRECISION,
)

TOML = "challenge.toml"
DESCRIPTION = "description.md"
STARTER = "starter/solution.py"
BASELINE = "baseline/solution.py"

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

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")
MODULE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")
# Slugs that would collide with the organizer pages under /challenges/.
RESERVED_SLUGS = frozenset({"manage", "new", "upload"})

# THE rules of a challenge spec's fields, whichever route it came by: the bundle parser
# (TOML files, zip uploads through the page and the API) and the authoring form read the
# ranges and defaults below, and call the checks after them; `check_spec` runs every rule
# on a finished spec, so a route cannot skip one. Errors name file, field and expectation.
RANGES: dict[str, tuple[float, float]] = {
    "test_fraction": (0.05, 0.9),
    "public_fraction": (0.05, 0.95),
    "seed": (0, 2**32 - 1),
    "time_limit_s": (1, 3600),
    "memory_mb": (64, 16384),
    "daily_quota": (1, 10000),
    "total_quota": (1, 100000),
    "inflight_cap": (1, 100),
    "max_final": (1, 100),
    "display_precision": (MIN_DISPLAY_PRECISION, MAX_DISPLAY_PRECISION),
    "min_loss_curve_points": (1, 1000),
}
DEFAULTS: dict[str, Any] = {
    "test_fraction": 0.3,
    "public_fraction": 0.5,
    "seed": 42,
    "time_limit_s": 10.0,
    "memory_mb": 256,
    "daily_quota": 10,
    "inflight_cap": 2,
    "max_final": 2,
    "display_precision": DEFAULT_DISPLAY_PRECISION,
    "min_loss_curve_points": DEFAULT_MIN_LOSS_CURVE_POINTS,
}


def check_slug(slug: str, *, file: str, field: str = "slug") -> None:
    if not SLUG_RE.match(slug):
        raise BundleError(
            file,
            f"expected lowercase letters, digits and dashes (at most 60), got {slug!r}",
            field=field,
        )
    if slug in RESERVED_SLUGS:
        raise BundleError(
            file,
            f"expected a slug other than {', '.join(sorted(RESERVED_SLUGS))}, got {slug!r}",
            field=field,
        )


def check_times(
    start: dt.datetime | None,
    end: dt.datetime | None,
    freeze: dt.datetime | None,
    *,
    file: str,
    end_field: str = "times.end",
    freeze_field: str = "times.freeze",
) -> None:
    if start and end and end <= start:
        raise BundleError(file, "expected the end after the start", field=end_field)
    if freeze and ((start and freeze < start) or (end and freeze > end)):
        raise BundleError(file, "expected the freeze between start and end", field=freeze_field)


def check_module_names(names: list[Any] | tuple[Any, ...], *, file: str, field: str) -> None:
    for i, name in enumerate(names):
        if not isinstance(name, str) or not MODULE_RE.match(name):
            raise BundleError(
                file, f"expected a module name such as numpy, got {name!r}", field=f"{field}[{i}]"
            )


def check_spec(spec: ChallengeSpec, *, file: str) -> ChallengeSpec:
    """Every rule on a finished spec (the routes check as they read; this is the last word)."""
    check_slug(spec.slug, file=file)
    if not spec.title.strip():
        raise BundleError(file, "expected a non-empty title", field="title")
    for name, (low, high) in RANGES.items():
        value = getattr(spec, name)
        if value is not None and not (low <= value <= high):
            raise BundleError(file, f"expected a number between {low} and {high}", field=name)
    if spec.track != "optimizer":
        check_metric_fits_task(spec.metric, spec.task, file=file)
        for name in spec.extra_metrics:
            check_metric_fits_task(name, spec.task, file=file, field="extra_metrics")
    check_module_names(spec.allowed_imports, file=file, field="imports.allowed")
    check_times(spec.start_at, spec.end_at, spec.freeze_at, file=file)
    return spec


BUNDLE_MAX_FILE_BYTES = 200 * 1024 * 1024


def metric_direction(metric: str) -> str:
    return "higher is better" if metric in HIGHER_IS_BETTER else "lower is better"


def _parse_workload(table: _Table, task: str) -> dict[str, Any]:
    """The `[workload]` table of an optimizer challenge, as `grader.workloads.Workload` fields."""
    model = table.text("model")
    if model not in wl.MODELS:
        raise table.fail("model", f"one of {', '.join(wl.MODELS)}", model)
    if task not in MODEL_TASKS[model]:
        raise table.fail(
            "model", f"a model for a {task} task ({model} fits {', '.join(MODEL_TASKS[model])})"
        )
    budget = table.integer("budget", low=1, high=wl.MAX_BUDGET)
    scoring = table.text("scoring")
    if scoring not in wl.SCORINGS:
        raise table.fail("scoring", f"one of {', '.join(wl.SCORINGS)}", scoring)
    hidden = table.get("hidden", list, "a list of layer widths such as [32, 16]", [])
    if model == "mlp" and not hidden:
        raise table.fail("hidden", "at least one hidden layer width for an mlp, such as [32]")
    if model != "mlp" and hidden:
        raise table.fail("hidden", "no hidden layers (only an mlp has them)", hidden)
    if len(hidden) > 4 or not all(
        isinstance(h, int) and not isinstance(h, bool) and 1 <= h <= 1024 for h in hidden
    ):
        raise table.fail("hidden", "at most 4 whole numbers between 1 and 1024", hidden)
    activation = table.text("activation", "tanh")
    if activation not in wl.ACTIVATIONS:
        raise table.fail("activation", f"one of {', '.join(wl.ACTIVATIONS)}", activation)
    init = table.text("init", "normal")
    if init not in wl.INITS:
        raise table.fail("init", f"one of {', '.join(wl.INITS)}", init)
    target = table.number("target", None, low=-1e12, high=1e12)
    if scoring == "budget_to_target" and target is None:
        raise table.fail("target", "the validation loss to reach (scoring budget_to_target)")
    instances = table.integer("instances", 6, low=2, high=50)
    values = {
        "model": model,
        "budget": budget,
        "scoring": scoring,
        "hidden": tuple(hidden),
        "activation": activation,
        "l1": table.number("l1", 0.0, low=0, high=100),
        "l2": table.number("l2", 0.0, low=0, high=100),
        "init": init,
        "init_scale": table.number("init_scale", 1.0, low=0, high=1000),
        "train_rows": table.integer("train_rows", 0, low=0, high=10_000_000),
        "validation_rows": table.integer("validation_rows", 200, low=5, high=1_000_000),
        "label_noise": table.number("label_noise", 0.0, low=0, high=0.5),
        "standardize": table.get("standardize", bool, "true or false", True),
        "target": target,
        "penalty": table.integer("penalty", budget, low=0, high=wl.MAX_BUDGET),
        "validate_every": table.integer("validate_every", 0, low=0, high=wl.MAX_BUDGET),
        "validation_cost": table.integer("validation_cost", 0, low=0, high=wl.MAX_BUDGET),
        "instances": instances,
        "public_instances": table.integer("public_instances", 2, low=1, high=20),
    }
    values["min_batch_size"] = _min_batch_size(table, budget, values["train_rows"])
    table.reject_unknown()
    return wl.Workload(**values).as_dict()


def _min_batch_size(table: _Table, budget: int, train_rows: int) -> int:
    """The smallest batch the driver computes a gradient on: at least 2 (the gradient of one
    example gives the row away), at most the training rows and the budget."""
    value = table.integer("min_batch_size", wl.DEFAULT_MIN_BATCH_SIZE, low=2, high=1_000_000)
    if train_rows and value > train_rows:
        raise table.fail(
            "min_batch_size", f"at most the training rows (train_rows = {train_rows})", value
        )
    if value > budget:
        raise table.fail("min_batch_size", f"at most the budget ({budget} examples)", value)
    return value


def check_metric_fits_task(
    metric: str, task: str, *, file: str = TOML, field: str = "metric"
) -> None:
    """Refuse a metric that cannot be computed for the task (rmse on labels, roc_auc on 3 classes)."""
    if metric not in ALL_METRICS:
        raise BundleError(
            file, f"expected one of {', '.join(ALL_METRICS)}, got {metric!r}", field=field
        )
    allowed = METRICS_FOR_TASK[task]
    if metric not in allowed:
        extra = " (roc_auc is for binary tasks only)" if metric == "roc_auc" else ""
        raise BundleError(
            file,
            f"metric {metric!r} does not fit task {task!r}: expected one of "
            f"{', '.join(allowed)}{extra}",
            field=field,
        )


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


# --- reading a folder ------------------------------------------------------------------


def read_bundle_dir(
    path: Path, *, max_total_bytes: int = BUNDLE_MAX_FILE_BYTES
) -> dict[str, bytes]:
    """Every regular file of a bundle folder, by relative POSIX path. Symlinks are refused."""
    path = Path(path)
    if not (path / TOML).is_file():
        raise BundleError(str(path / TOML), "expected a challenge.toml in the bundle folder")
    files: dict[str, bytes] = {}
    total = 0
    for item in sorted(path.rglob("*")):
        rel = item.relative_to(path).as_posix()
        if "__pycache__" in rel.split("/") or any(p.startswith(".") for p in rel.split("/")):
            continue
        if item.is_symlink():
            raise BundleError(str(item), "symbolic links are not allowed in a bundle")
        if not item.is_file():
            continue
        total += item.stat().st_size
        if total > max_total_bytes:
            raise BundleError(str(path), f"bundle larger than {max_total_bytes} bytes")
        files[rel] = item.read_bytes()
    return files


def load_bundle_dir(path: Path) -> ChallengeSpec:
    path = Path(path)
    return parse_bundle(read_bundle_dir(path), origin=str(path))


def find_bundles(root: Path) -> list[Path]:
    """`root` itself when it is a bundle, else its direct sub-folders that hold a challenge.toml."""
    root = Path(root)
    if (root / TOML).is_file():
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / TOML).is_file())


# --- parsing ----------------------------------------------------------------------------


class _Table:
    """Typed access to one TOML table; every error names the file and the dotted field."""

    def __init__(self, data: dict[str, Any], file: str, prefix: str = "") -> None:
        self.data = data
        self.file = file
        self.prefix = prefix
        self.used: set[str] = set()

    def name(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def fail(self, key: str, expected: str, value: Any = None) -> BundleError:
        got = f", got {value!r}" if value is not None else ""
        return BundleError(self.file, f"expected {expected}{got}", field=self.name(key))

    def get(
        self, key: str, kind: type | tuple[type, ...], expected: str, default: Any = ...
    ) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is ...:
                raise BundleError(self.file, f"missing; expected {expected}", field=self.name(key))
            return default
        value = self.data[key]
        # bool is an int in Python; a TOML `true` is never a number here.
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.fail(key, expected, value)
        if not isinstance(value, kind):
            raise self.fail(key, expected, value)
        return value

    def text(self, key: str, default: Any = ..., *, max_length: int = 300) -> str:
        value = self.get(key, str, "a string", default)
        if isinstance(value, str) and len(value) > max_length:
            raise self.fail(key, f"a string of at most {max_length} characters")
        return value

    def number(
        self, key: str, default: Any = ..., low: float = -1e300, high: float = 1e300
    ) -> float:
        value = self.get(key, (int, float), f"a number between {low} and {high}", default)
        if value is not None and not (low <= float(value) <= high):
            raise self.fail(key, f"a number between {low} and {high}", value)
        return float(value) if value is not None else value

    def integer(self, key: str, default: Any = ..., low: int = 0, high: int = 2**63) -> int:
        value = self.get(key, int, f"a whole number between {low} and {high}", default)
        if value is not None and not (low <= value <= high):
            raise self.fail(key, f"a whole number between {low} and {high}", value)
        return value

    def table(self, key: str, required: bool = False) -> _Table:
        value = self.get(key, dict, "a table", ... if required else {})
        return _Table(value, self.file, f"{self.name(key)}.")

    def when(self, key: str) -> dt.datetime | None:
        self.used.add(key)
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        raise self.fail(key, "a date-time such as 2026-03-01T09:00:00Z", value)

    def reject_unknown(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise BundleError(
                self.file,
                f"unknown field; expected only {', '.join(sorted(self.used))}",
                field=self.name(unknown[0]),
            )


def _decode(files: Mapping[str, bytes], name: str, origin: str) -> str:
    try:
        return files[name].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(
            f"{origin}/{name}", f"expected UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None


def _range(name: str) -> tuple[Any, float, float]:
    """(default, low, high) of a number field, for `_Table.number`."""
    low, high = RANGES[name]
    return DEFAULTS.get(name), low, high


def _int_range(name: str) -> tuple[Any, int, int]:
    low, high = RANGES[name]
    return DEFAULTS.get(name), int(low), int(high)


def parse_bundle(files: Mapping[str, bytes], *, origin: str = "bundle") -> ChallengeSpec:
    """Parse and validate a bundle held in memory. Raises `BundleError` naming file and field."""
    toml_name = f"{origin}/{TOML}"
    if TOML not in files:
        raise BundleError(
            toml_name, "missing; expected the bundle's challenge.toml at its top level"
        )
    try:
        doc = tomllib.loads(_decode(files, TOML, origin))
    except tomllib.TOMLDecodeError as exc:
        raise BundleError(toml_name, f"expected valid TOML ({exc})") from None
    for required in (DESCRIPTION, STARTER):
        if required not in files:
            raise BundleError(f"{origin}/{required}", "missing; every bundle needs this file")

    top = _Table(doc, toml_name)
    slug = top.text("slug", max_length=60)
    check_slug(slug, file=toml_name)
    title = top.text("title", max_length=120)
    if not title.strip():
        raise top.fail("title", "a non-empty title")
    summary = top.text("summary", "", max_length=300)
    task = top.text("task")
    if task not in TASKS:
        raise top.fail("task", f"one of {', '.join(TASKS)}", task)
    track = top.text("track", "model")
    if track not in TRACKS:
        raise top.fail("track", f"one of {', '.join(TRACKS)}", track)
    workload: dict[str, Any] = {}
    if track == "optimizer":
        # Ranked by the workload's scoring; the metric, if given, must say the same.
        workload = _parse_workload(top.table("workload", required=True), task)
        metric = top.text("metric", workload["scoring"])
        if metric != workload["scoring"]:
            raise top.fail("metric", f"{workload['scoring']!r} (workload.scoring)", metric)
        extra = top.get("extra_metrics", list, "no extra metrics (optimizer track)", [])
        if extra:
            raise top.fail("extra_metrics", "no extra metrics on the optimizer track", extra)
    else:
        metric = top.text("metric")
        check_metric_fits_task(metric, task, file=toml_name)
        extra = top.get("extra_metrics", list, "a list of metric names", [])
        for i, name in enumerate(extra):
            if not isinstance(name, str):
                raise top.fail(f"extra_metrics[{i}]", "a metric name", name)
            check_metric_fits_task(name, task, file=toml_name, field=f"extra_metrics[{i}]")
    published = top.get("published", bool, "true or false", True)

    data = _parse_data(top.table("data", required=True), files, origin)

    split = top.table("split")
    test_fraction = split.number("test_fraction", *_range("test_fraction"))
    public_fraction = split.number("public_fraction", *_range("public_fraction"))
    seed = split.integer("seed", *_int_range("seed"))
    split.reject_unknown()

    limits = top.table("limits")
    time_limit_s = limits.number("time_s", *_range("time_limit_s"))
    memory_mb = limits.integer("memory_mb", *_int_range("memory_mb"))
    daily_quota = limits.integer("daily_submissions", *_int_range("daily_quota"))
    total_quota = limits.integer("total_submissions", *_int_range("total_quota"))
    inflight_cap = limits.integer("in_flight", *_int_range("inflight_cap"))
    max_final = limits.integer("final_selections", *_int_range("max_final"))
    limits.reject_unknown()

    scoring = top.table("scoring")
    display_precision = scoring.integer("display_precision", *_int_range("display_precision"))
    best_plausible = scoring.number("best_plausible", None, low=-1e300, high=1e300)
    scoring.reject_unknown()

    imports_table = top.table("imports")
    allowed = imports_table.get("allowed", list, "a list of module names", None)
    if allowed is None:
        allowed_imports = DEFAULT_ALLOWED_IMPORTS
    else:
        check_module_names(allowed, file=toml_name, field="imports.allowed")
        allowed_imports = tuple(dict.fromkeys(allowed))
    imports_table.reject_unknown()

    rules = top.table("rules")
    gradient_descent_only = rules.get("gradient_descent_only", bool, "true or false", False)
    min_loss_curve_points = rules.integer(
        "min_loss_curve_points", *_int_range("min_loss_curve_points")
    )
    rules.reject_unknown()

    times = top.table("times")
    start_at, end_at, freeze_at = times.when("start"), times.when("end"), times.when("freeze")
    times.reject_unknown()
    check_times(start_at, end_at, freeze_at, file=toml_name)
    top.reject_unknown()

    return check_spec(
        ChallengeSpec(
            slug=slug,
            title=title.strip(),
            summary=summary.strip(),
            task=task,
            metric=metric,
            extra_metrics=tuple(dict.fromkeys(m for m in extra if m != metric)),
            data=data,
            test_fraction=test_fraction,
            public_fraction=public_fraction,
            seed=seed,
            time_limit_s=time_limit_s,
            memory_mb=memory_mb,
            daily_quota=daily_quota,
            total_quota=total_quota,
            inflight_cap=inflight_cap,
            max_final=max_final,
            display_precision=display_precision,
            best_plausible=best_plausible,
            allowed_imports=allowed_imports,
            gradient_descent_only=gradient_descent_only,
            min_loss_curve_points=min_loss_curve_points,
            start_at=start_at,
            end_at=end_at,
            freeze_at=freeze_at,
            published=published,
            description_md=_decode(files, DESCRIPTION, origin),
            starter_code=_decode(files, STARTER, origin),
            baseline_code=_decode(files, BASELINE, origin) if BASELINE in files else "",
            data_files={data.file: files[data.file]} if data.file else {},
            track=track,
            workload=workload,
        ),
        file=toml_name,
    )


def _parse_data(table: _Table, files: Mapping[str, bytes], origin: str) -> DataSource:
    kind = table.text("source")
    if kind not in DATA_KINDS:
        raise table.fail("source", f"one of {', '.join(DATA_KINDS)}", kind)
    rescale = table.get("rescale_log10", list, "[low, high] exponents of ten", None)
    if rescale is not None:
        if len(rescale) != 2 or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in rescale
        ):
            raise table.fail("rescale_log10", "[low, high] exponents of ten", rescale)
        if not (-8 <= rescale[0] <= rescale[1] <= 8):
            raise table.fail("rescale_log10", "-8 <= low <= high <= 8", rescale)
        rescale = (float(rescale[0]), float(rescale[1]))
    if kind in ("sklearn", "semisynthetic", "generator"):
        name = table.text("name")
        known = data_module.GENERATORS if kind == "generator" else data_module.SKLEARN_LOADERS
        if name not in known:
            raise table.fail("name", f"one of {', '.join(sorted(known))}", name)
        params = table.get("params", dict, "a table of parameters", {})
        data_module.check_params(
            name, params, file=table.file, field=table.name("params"), kind=kind
        )
        seed, seed_is_public = _parse_seed(table)
        table.reject_unknown()
        return DataSource(
            kind=kind,
            name=name,
            params=params,
            rescale_log10=rescale,
            seed=seed,
            seed_is_public=seed_is_public,
        )
    file = table.text("file")
    if file not in files:
        raise BundleError(f"{origin}/{file}", "missing; expected the data file named in data.file")
    target = table.text("target", "" if kind == "npz" else ...)
    if kind == "csv" and not target.strip():
        raise table.fail("target", "the name of the target column")
    seed, seed_is_public = _parse_seed(table) if rescale is not None else (None, False)
    table.reject_unknown()
    return DataSource(
        kind=kind,
        file=file,
        target=target,
        rescale_log10=rescale,
        seed=seed,
        seed_is_public=seed_is_public,
    )


def _parse_seed(table: _Table) -> tuple[int | None, bool]:
    """`seed = "installation"` (the default) or a pinned whole number, which is public: anyone
    with the bundle regenerates the hidden labels, so it needs `seed_is_public = true`."""
    seed = table.get(
        "seed", (int, str), f'"{INSTALLATION_SEED}" or a whole number', INSTALLATION_SEED
    )
    marked = table.get("seed_is_public", bool, "true or false", False)
    if isinstance(seed, str):
        if seed != INSTALLATION_SEED:
            raise table.fail("seed", f'"{INSTALLATION_SEED}" or a whole number', seed)
        return None, False
    if not (0 <= seed <= 2**32 - 1):
        raise table.fail("seed", f"a whole number between 0 and {2**32 - 1}", seed)
    if not marked:
        raise BundleError(
            table.file,
            f"a pinned seed ({seed}) is public: anyone with this bundle can regenerate the "
            "hidden labels. Remove it to draw the data from the installation's secret seed, "
            "or add seed_is_public = true for a practice or development challenge",
            field=table.name("seed"),
        )
    return seed, True


# --- writing ------------------------------------------------------------------------------


def _toml_time(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(microsecond=0)


def spec_to_toml(spec: ChallengeSpec) -> str:
    """The challenge.toml text of a spec (written by tomli-w); `parse_bundle` reads it back
    to the same spec."""
    source = spec.data.as_dict()
    document: dict[str, Any] = {
        "slug": spec.slug,
        "title": spec.title,
        "summary": spec.summary,
        "task": spec.task,
        "track": spec.track,
        "metric": spec.metric,
        "extra_metrics": list(spec.extra_metrics),
        "published": spec.published,
        "data": {"source": source.pop("kind"), **source},
        "split": {
            "test_fraction": spec.test_fraction,
            "public_fraction": spec.public_fraction,
            "seed": spec.seed,
        },
        "limits": {
            "time_s": spec.time_limit_s,
            "memory_mb": spec.memory_mb,
            "daily_submissions": spec.daily_quota,
        },
    }
    if spec.total_quota is not None:
        document["limits"]["total_submissions"] = spec.total_quota
    document["limits"]["in_flight"] = spec.inflight_cap
    document["limits"]["final_selections"] = spec.max_final
    document["scoring"] = {"display_precision": spec.display_precision}
    if spec.best_plausible is not None:
        document["scoring"]["best_plausible"] = spec.best_plausible
    document["imports"] = {"allowed": list(spec.allowed_imports)}
    document["rules"] = {
        "gradient_descent_only": spec.gradient_descent_only,
        "min_loss_curve_points": spec.min_loss_curve_points,
    }
    if spec.track == "optimizer":
        document["workload"] = {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in spec.workload.items()
            if v is not None
        }
    times = {"start": spec.start_at, "end": spec.end_at, "freeze": spec.freeze_at}
    if any(times.values()):
        document["times"] = {k: _toml_time(v) for k, v in times.items() if v is not None}
    return tomli_w.dumps(document)


def spec_files(spec: ChallengeSpec) -> dict[str, bytes]:
    """The files of a bundle for `spec`, ready to be zipped."""
    files = {TOML: spec_to_toml(spec).encode(), DESCRIPTION: spec.description_md.encode()}
    files[STARTER] = spec.starter_code.encode()
    if spec.baseline_code:
        files[BASELINE] = spec.baseline_code.encode()
    files.update(spec.data_files)
    return files
