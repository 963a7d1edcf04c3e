"""The lookup attack as a real submission: a solution that embeds the public diabetes dataset
and answers each hidden row with its nearest public row's label, graded by the real sandbox on
the competition-grade diabetes-gd, scores worse than the organizers' baseline graded the same
way; on the classic challenge (public labels) the same file scores perfectly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sklearn.datasets
from hackathon.challenges.bundle import load_bundle_dir
from hackathon.challenges.data import build_split

import grader
from grader.contract import GradingJob, Limits, Verdict
from tests.challenges.conftest import BUILTIN
from tests.challenges.lookup import lookup_source

pytestmark = pytest.mark.slow


def _grade(spec, split, source: str, tmp: Path) -> object:  # noqa: ANN001
    tmp.mkdir(exist_ok=True)
    paths = {}
    for key in split.KEYS:
        paths[key] = tmp / f"{key}.npy"
        np.save(paths[key], getattr(split, key), allow_pickle=False)
    job = GradingJob(
        source=source,
        task=spec.task,
        metric=spec.metric,
        extra_metrics=spec.extra_metrics,
        allowed_imports=spec.allowed_imports,
        seed=spec.seed,
        limits=Limits(time_s=spec.time_limit_s, memory_mb=spec.memory_mb),
        gradient_descent_only=spec.gradient_descent_only,
        min_loss_curve_points=spec.min_loss_curve_points,
        **paths,
    )
    result = grader.grade(job)
    assert result.verdict == Verdict.SCORED, (result.message, result.stderr[-2000:])
    return result


def test_a_lookup_of_the_public_dataset_scores_worse_than_the_baseline_in_the_sandbox(
    tmp_path: Path,
) -> None:
    public = sklearn.datasets.load_diabetes(scaled=False)
    lookup = lookup_source(public.data, public.target, None)
    spec = load_bundle_dir(BUILTIN / "diabetes-gd")
    _, split = build_split(spec, secret=b"a sandbox test installation")
    baseline = _grade(spec, split, spec.baseline_code, tmp_path / "baseline")
    attack = _grade(spec, split, lookup, tmp_path / "lookup")
    assert attack.public_score > baseline.public_score  # RMSE: lower is better
    assert attack.private_score > baseline.private_score

    classic = load_bundle_dir(BUILTIN / "diabetes-gd-classic")
    _, classic_split = build_split(classic)
    perfect = _grade(classic, classic_split, lookup, tmp_path / "classic")
    assert perfect.public_score == 0.0 and perfect.private_score == 0.0
