"""Hidden data reaches workers as hash-verified files cached from database blobs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
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
