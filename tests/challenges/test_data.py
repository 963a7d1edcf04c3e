"""Data building and the hidden split: CSV and NPZ validation, determinism, stratification."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from hackathon.challenges.bundle import parse_bundle
from hackathon.challenges.data import (
    build_dataset,
    build_split,
    make_split,
    parse_csv,
    parse_npz,
    sha256,
    split_hash,
)
from hackathon.challenges.errors import ChallengeDataError
from hackathon.challenges.spec import DataSource

from .conftest import ROOT, bundle_files, regression_csv


def _csv_error(text: str, *, target: str = "y", task: str = "regression", **kw: object) -> str:
    with pytest.raises(ChallengeDataError) as info:
        parse_csv(text.encode(), target=target, task=task, file="up.csv", **kw)
    return str(info.value)


def test_a_csv_parses_to_float_features_and_the_named_target() -> None:
    ds = parse_csv(b"a,y,b\n1,2,3\n4,5,6\n", target="y", task="regression", file="f.csv")
    assert ds.X.tolist() == [[1.0, 3.0], [4.0, 6.0]] and ds.y.tolist() == [2.0, 5.0]
    assert ds.feature_names == ["a", "b"] and ds.target_name == "y"


def test_a_ragged_csv_is_refused_with_the_line() -> None:
    assert (
        _csv_error("a,b,y\n1,2,3\n4,5\n")
        == "up.csv: line 3: expected 3 cells like the header, got 2"
    )


def test_a_malformed_csv_is_refused() -> None:
    assert "malformed CSV" in _csv_error('a,b,y\n1,"2\n')


def test_a_non_numeric_cell_is_refused_with_line_and_column() -> None:
    assert (
        _csv_error("a,b,y\n1,2,3\n4,five,6\n")
        == "up.csv: line 3, column 'b': expected a number, got 'five'"
    )


@pytest.mark.parametrize("cell", ["nan", "NaN", "inf", "-inf", "1e999"])
def test_nan_and_infinity_are_refused(cell: str) -> None:
    assert "expected a finite number" in _csv_error(f"a,b,y\n1,2,3\n4,{cell},6\n")


def test_a_missing_target_column_is_refused_listing_the_columns() -> None:
    message = _csv_error("a,b,c\n1,2,3\n", target="label")
    assert message == "up.csv: target: target column 'label' not found; columns are a, b, c"


def test_a_file_over_the_size_limit_is_refused() -> None:
    assert "over the limit of 10 bytes" in _csv_error("a,b,y\n1,2,3\n", max_bytes=10)


def test_binary_data_in_a_csv_is_refused() -> None:
    assert "NUL byte" in _csv_error("a,y\n1,\x002\n")


def test_classification_labels_must_be_whole_numbers_and_are_mapped_to_0_to_k_minus_1() -> None:
    ds = parse_csv(b"a,y\n1,5\n2,7\n3,5\n", target="y", task="binary", file="f.csv")
    assert ds.y.tolist() == [0, 1, 0] and ds.y.dtype == np.int64 and ds.n_classes == 2
    assert "whole-number class labels" in _csv_error("a,y\n1,0.5\n2,1\n", task="binary")
    assert "exactly 2 classes" in _csv_error("a,y\n1,0\n2,1\n3,2\n", task="binary")
    assert "at least 3 classes" in _csv_error("a,y\n1,0\n2,1\n", task="multiclass")


def test_too_few_rows_for_the_split_are_refused() -> None:
    ds = parse_csv(regression_csv(n=20), target="y", task="regression", file="f.csv")
    with pytest.raises(ChallengeDataError) as info:
        make_split(ds, test_fraction=0.3, public_fraction=0.5, seed=1)
    assert (
        "too few rows for the split: 20 rows give 14 training, 3 public and 3 private rows"
        in str(info.value)
    )


def test_an_npz_with_x_and_y_loads_and_one_with_pickles_is_refused() -> None:
    buffer = io.BytesIO()
    np.savez(buffer, X=np.ones((30, 2)), y=np.arange(30.0))
    ds = parse_npz(buffer.getvalue(), task="regression", file="d.npz")
    assert ds.X.shape == (30, 2)
    buffer = io.BytesIO()
    np.savez(buffer, X=np.array([{"a": 1}] * 3, dtype=object), y=np.zeros(3))
    with pytest.raises(ChallengeDataError, match="without pickles"):
        parse_npz(buffer.getvalue(), task="regression", file="d.npz")
    buffer = io.BytesIO()
    np.savez(buffer, features=np.ones((3, 2)))
    with pytest.raises(ChallengeDataError, match="expected arrays named X and y, found features"):
        parse_npz(buffer.getvalue(), task="regression", file="d.npz")


def test_the_split_holds_out_the_fraction_and_marks_the_public_share() -> None:
    spec = parse_bundle(bundle_files(), origin="b")
    _, split = build_split(spec)
    assert (len(split.train_y), len(split.test_y), split.n_public) == (140, 60, 30)
    all_y = np.concatenate([split.train_y, split.test_y])
    assert len(np.unique(all_y)) == 200  # every row in exactly one part


def test_a_classification_split_is_stratified_by_class() -> None:
    ds = build_dataset(DataSource(kind="sklearn", name="load_breast_cancer"), "binary", {})
    split = make_split(ds, test_fraction=0.3, public_fraction=0.5, seed=42)
    overall = ds.y.mean()
    assert abs(split.train_y.mean() - overall) < 0.01 and abs(split.test_y.mean() - overall) < 0.01
    assert abs(split.test_y[split.public_mask].mean() - overall) < 0.03


def test_a_different_seed_gives_a_different_split() -> None:
    a = build_split(parse_bundle(bundle_files(seed=1), origin="b"))[1]
    b = build_split(parse_bundle(bundle_files(seed=2), origin="b"))[1]
    assert not np.array_equal(a.test_y, b.test_y)


def test_rescaling_spreads_feature_scales_over_orders_of_magnitude() -> None:
    source = DataSource(
        kind="generator",
        name="make_regression",
        params={"n_samples": 500, "n_features": 20},
        rescale_log10=(-3.0, 3.0),
    )
    ds = build_dataset(source, "regression", {}, data_key=b"k" * 32)
    spread = ds.X.std(axis=0)
    assert spread.max() / spread.min() > 1e4


SUBPROCESS = """
import sys
sys.path[:0] = [{platform!r}, {root!r}]
from hackathon.challenges.bundle import load_bundle_dir
from hackathon.challenges.data import build_split, sha256, split_hash
for bundle in {bundles!r}:
    _, split = build_split(load_bundle_dir(bundle), secret={secret!r})
    print(split_hash({{k: sha256(v) for k, v in split.blobs().items()}}))
"""


def test_the_same_bundles_give_the_same_splits_in_a_fresh_process() -> None:
    """Given the installation secret, the data is deterministic (semi-synthetic and generated)."""
    from hackathon.challenges.bundle import load_bundle_dir

    bundles = [
        str(ROOT / "challenges" / slug) for slug in ("diabetes-gd", "nonlinear-classification")
    ]
    secret = b"one installation's secret"
    code = SUBPROCESS.format(
        platform=str(ROOT / "platform"), root=str(ROOT), bundles=bundles, secret=secret
    )
    # A fresh interpreter with another hash seed and no inherited environment.
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "12345"},
        timeout=300,
    )
    there = proc.stdout.split()
    here = []
    for bundle in bundles:
        _, split = build_split(load_bundle_dir(bundle), secret=secret)
        here.append(split_hash({k: sha256(v) for k, v in split.blobs().items()}))
    assert there == here and len(set(here)) == 2 and all(len(h) == 64 for h in here)


def test_a_generator_asked_for_too_many_cells_is_refused_before_generating() -> None:
    from hackathon.challenges.data import check_params

    with pytest.raises(ChallengeDataError, match="expected at most 50000000 cells"):
        check_params(
            "make_regression",
            {"n_samples": 1_000_000, "n_features": 1000},
            file="f",
            field="data.params",
        )
    check_params(
        "make_regression", {"n_samples": 200_000, "n_features": 100}, file="f", field="data.params"
    )
