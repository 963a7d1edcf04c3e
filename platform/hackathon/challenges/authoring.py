"""Turning the organizer's authoring form into a `ChallengeSpec`, validated by the rules a
bundle is validated by (`bundle.RANGES`, `check_slug`, `check_times`, `check_spec`)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import tomli_w

from hackathon.challenges import data as data_module
from hackathon.challenges.bundle import (
    DEFAULT_MIN_LOSS_CURVE_POINTS,
    ChallengeSpec,
    DataSource,
    check_metric_fits_task,
    check_slug,
    check_spec,
    check_times,
)
from hackathon.challenges.errors import ChallengeDataError
from hackathon.challenges.precision import DEFAULT_DISPLAY_PRECISION
from hackathon.challenges.services import build_spec_split
from hackathon.challenges.starters import default_starter

FORM = "form"


def _upload_name(name: str, kind: str) -> str:
    """A safe file name for the bundle, from the name the browser sent."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", PurePosixPath(name.replace("\\", "/")).name).strip(".-")
    return stem if stem.lower().endswith(f".{kind}") else f"{stem or 'data'}.{kind}"


def spec_from_form(
    cleaned: dict[str, Any],
    *,
    upload: bytes | None,
    existing: ChallengeSpec | None,
    upload_name: str = "",
) -> ChallengeSpec:
    """A spec from the form's cleaned data; raises `ChallengeDataError` naming the field."""
    slug = existing.slug if existing else cleaned["slug"]
    check_slug(slug, file=FORM)
    task = cleaned["task"]
    check_metric_fits_task(cleaned["metric"], task, file=FORM)
    for name in cleaned["extra_metrics"]:
        check_metric_fits_task(name, task, file=FORM, field="extra_metrics")

    kind = cleaned["data_source"]
    data_files: dict[str, bytes] = {}
    if kind == "keep":
        if existing is None:
            raise ChallengeDataError(
                FORM, "expected a data source for a new challenge", field="data_source"
            )
        source = existing.data
        data_files = dict(existing.data_files)
    elif kind in ("csv", "npz"):
        if upload is None:
            raise ChallengeDataError(FORM, f"expected a {kind.upper()} file", field="data_file")
        file_name = f"data/{_upload_name(upload_name, kind)}"
        data_files = {file_name: upload}
        source = DataSource(
            kind=kind, file=file_name, target=(cleaned.get("target_column") or "").strip()
        )
    else:
        name = cleaned["generator"]
        wanted = data_module.GENERATORS if kind == "generator" else data_module.SKLEARN_LOADERS
        if name not in wanted:
            raise ChallengeDataError(
                FORM, f"expected one of {', '.join(sorted(wanted))}", field="generator"
            )
        try:
            params = tomllib.loads(cleaned.get("generator_params") or "")
        except tomllib.TOMLDecodeError as exc:
            raise ChallengeDataError(
                FORM,
                f"expected TOML lines such as n_samples = 2000 ({exc})",
                field="generator_params",
            ) from None
        data_module.check_params(name, params, file=FORM, field="generator_params", kind=kind)
        source = DataSource(kind=kind, name=name, params=params)

    start, end, freeze = cleaned.get("start_at"), cleaned.get("end_at"), cleaned.get("freeze_at")
    check_times(start, end, freeze, file=FORM, end_field="end_at", freeze_field="freeze_at")
    spec = ChallengeSpec(
        slug=slug,
        title=cleaned["title"].strip(),
        summary=(cleaned.get("summary") or "").strip(),
        task=task,
        metric=cleaned["metric"],
        extra_metrics=tuple(
            dict.fromkeys(m for m in cleaned["extra_metrics"] if m != cleaned["metric"])
        ),
        data=source,
        test_fraction=cleaned["test_fraction"],
        public_fraction=cleaned["public_fraction"],
        seed=cleaned["seed"],
        time_limit_s=cleaned["time_limit_s"],
        memory_mb=cleaned["memory_mb"],
        daily_quota=cleaned["daily_quota"],
        total_quota=cleaned.get("total_quota"),
        inflight_cap=cleaned["inflight_cap"],
        max_final=cleaned["max_final"],
        display_precision=cleaned.get("display_precision") or DEFAULT_DISPLAY_PRECISION,
        best_plausible=cleaned.get("best_plausible"),
        allowed_imports=tuple(dict.fromkeys(cleaned["allowed_imports"])),
        gradient_descent_only=bool(cleaned.get("gradient_descent_only")),
        min_loss_curve_points=cleaned.get("min_loss_curve_points") or DEFAULT_MIN_LOSS_CURVE_POINTS,
        start_at=start,
        end_at=end,
        freeze_at=freeze,
        published=bool(cleaned.get("published")),
        description_md=cleaned.get("description_md") or "",
        starter_code=(cleaned.get("starter_code") or "").strip() + "\n"
        if (cleaned.get("starter_code") or "").strip()
        else default_starter(task),
        baseline_code=cleaned.get("baseline_code") or "",
        data_files=data_files,
    )
    return check_spec(spec, file=FORM)


def initial_from_spec(spec: ChallengeSpec) -> dict[str, Any]:
    params = tomli_w.dumps(dict(spec.data.params)).strip()
    return {
        "slug": spec.slug,
        "title": spec.title,
        "summary": spec.summary,
        "description_md": spec.description_md,
        "task": spec.task,
        "metric": spec.metric,
        "extra_metrics": ", ".join(spec.extra_metrics),
        "data_source": "keep",
        "target_column": spec.data.target,
        "generator": spec.data.name,
        "generator_params": params,
        "test_fraction": spec.test_fraction,
        "public_fraction": spec.public_fraction,
        "seed": spec.seed,
        "time_limit_s": spec.time_limit_s,
        "memory_mb": spec.memory_mb,
        "daily_quota": spec.daily_quota,
        "total_quota": spec.total_quota,
        "inflight_cap": spec.inflight_cap,
        "max_final": spec.max_final,
        "display_precision": spec.display_precision,
        "best_plausible": spec.best_plausible,
        "allowed_imports": ", ".join(spec.allowed_imports),
        "gradient_descent_only": spec.gradient_descent_only,
        "min_loss_curve_points": spec.min_loss_curve_points,
        "start_at": spec.start_at,
        "end_at": spec.end_at,
        "freeze_at": spec.freeze_at,
        "starter_code": spec.starter_code,
        "baseline_code": spec.baseline_code,
        "published": spec.published,
    }


@dataclass
class Preview:
    n_rows: int
    n_train: int
    n_public: int
    n_private: int
    n_features: int
    feature_names: list[str]
    target_name: str
    sample: list[list[str]]  # training rows: features then target, as short numbers
    class_counts: dict[int, int] | None


def preview_spec(spec: ChallengeSpec, *, rows: int = 10) -> Preview:
    """Split sizes and a sample of training rows, computed without storing anything."""
    dataset, split = build_spec_split(spec, origin="")
    sample = [
        [*x, t]
        for x, t in zip(split.train_X[:rows].tolist(), split.train_y[:rows].tolist(), strict=True)
    ]
    counts = None
    if dataset.n_classes:
        counts = {
            int(c): int(n)
            for c, n in zip(*np.unique(split.train_y, return_counts=True), strict=True)
        }
    return Preview(
        n_rows=len(dataset.y),
        n_train=len(split.train_y),
        n_public=split.n_public,
        n_private=len(split.test_y) - split.n_public,
        n_features=dataset.X.shape[1],
        feature_names=dataset.feature_names,
        target_name=dataset.target_name,
        sample=sample,
        class_counts=counts,
    )


def preview_challenge(challenge: Any, *, rows: int = 10) -> Preview:
    """The same preview for a stored challenge, read from its training blobs only."""
    X = data_module.npy_load(bytes(challenge.train_X.data))
    y = data_module.npy_load(bytes(challenge.train_y.data))
    n_public = int(data_module.npy_load(bytes(challenge.public_mask.data)).sum())
    counts = None
    if challenge.n_classes:
        counts = {int(c): int(n) for c, n in zip(*np.unique(y, return_counts=True), strict=True)}
    return Preview(
        n_rows=challenge.n_train + challenge.n_test,
        n_train=challenge.n_train,
        n_public=n_public,
        n_private=challenge.n_test - n_public,
        n_features=challenge.n_features,
        feature_names=list(challenge.feature_names),
        target_name=challenge.target_name,
        sample=_sample(X[:rows], y[:rows]),
        class_counts=counts,
    )


def _sample(X: np.ndarray, y: np.ndarray) -> list[list[str]]:
    return [[f"{v:.6g}" for v in [*x, t]] for x, t in zip(X.tolist(), y.tolist(), strict=True)]
