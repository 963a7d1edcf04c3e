"""Hidden data reaches workers as hash-verified files cached from database blobs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from hackathon.challenges import datasets
from hackathon.challenges.data import npy_load


def test_dataset_paths_are_npy_files_named_and_verified_by_hash(
    make_challenge: object, tmp_path: Path
) -> None:
    challenge = make_challenge()
    paths = datasets.challenge_dataset_paths(challenge, tmp_path / "cache")
    assert set(paths) == {"train_X", "train_y", "test_X", "test_y", "public_mask"}
    for key, path in paths.items():
        sha = getattr(challenge, f"{key}_id")
        assert path.name == f"{sha}.npy" and hashlib.sha256(path.read_bytes()).hexdigest() == sha
    assert np.array_equal(
        np.load(paths["test_y"], allow_pickle=False), npy_load(bytes(challenge.test_y.data))
    )


def test_a_corrupted_cache_file_is_fetched_again_from_the_database(
    make_challenge: object, tmp_path: Path
) -> None:
    challenge = make_challenge()
    paths = datasets.challenge_dataset_paths(challenge, tmp_path)
    paths["test_y"].write_bytes(b"tampered")
    again = datasets.challenge_dataset_paths(challenge, tmp_path)
    assert hashlib.sha256(again["test_y"].read_bytes()).hexdigest() == challenge.test_y_id


def test_a_symlink_planted_in_the_cache_is_replaced(make_challenge: object, tmp_path: Path) -> None:
    challenge = make_challenge()
    target = tmp_path / "elsewhere.npy"
    target.write_bytes(bytes(challenge.test_y.data))
    (tmp_path / f"{challenge.test_y_id}.npy").symlink_to(target)
    path = datasets.challenge_dataset_paths(challenge, tmp_path)["test_y"]
    assert not path.is_symlink()


def test_the_grader_scores_a_solution_on_the_cached_hidden_data(
    make_challenge: object, tmp_path: Path
) -> None:
    import grader
    from grader.contract import GradingJob, Limits

    challenge = make_challenge()
    paths = datasets.challenge_dataset_paths(challenge, tmp_path)
    job = GradingJob(
        source=challenge.baseline_code,
        task=challenge.task,
        metric=challenge.metric,
        extra_metrics=tuple(challenge.extra_metrics),
        allowed_imports=tuple(challenge.allowed_imports),
        seed=challenge.seed,
        limits=Limits(time_s=60, memory_mb=challenge.memory_mb),
        **paths,
    )
    result = grader.grade(job)
    assert result.verdict == "scored", result.message
    # The baseline of the test bundle predicts the training mean: recompute its RMSE here.
    train_y = np.load(paths["train_y"], allow_pickle=False)
    test_y = np.load(paths["test_y"], allow_pickle=False)
    public = np.load(paths["public_mask"], allow_pickle=False)
    expected = float(np.sqrt(np.mean((test_y[public] - train_y.mean()) ** 2)))
    assert result.public_score == pytest.approx(expected, rel=1e-9)
