"""A worker's disks checked before it claims a run: what is missing, and why."""

from __future__ import annotations

from pathlib import Path

import pytest
from hackathon.submissions import capacity


@pytest.mark.django_db
def test_a_cache_without_room_for_the_uncached_data_is_a_shortfall(
    make_challenge, tmp_path: Path, settings, monkeypatch
) -> None:
    challenge = make_challenge()
    settings.GRADING_DISK_MARGIN_MB = 1
    settings.GRADING_MIN_FREE_SCRATCH_MB = 0
    assert capacity.disk_shortfall(challenge, cache_dir=tmp_path) == ""
    monkeypatch.setattr(capacity, "free_bytes", lambda path: 512 * 1024)
    why = capacity.disk_shortfall(challenge, cache_dir=tmp_path)
    assert "dataset cache" in why and "0.5 MB free" in why and challenge.slug in why
    # Once its data is cached, the challenge needs no more room there.
    for key in ("train_X", "train_y", "test_X", "test_y", "public_mask"):
        (tmp_path / f"{getattr(challenge, f'{key}_id')}.npy").write_bytes(b"cached")
    assert capacity.disk_shortfall(challenge, cache_dir=tmp_path) == ""


@pytest.mark.django_db
def test_a_full_sandbox_state_dir_is_a_shortfall(
    make_challenge, tmp_path: Path, settings, monkeypatch
) -> None:
    challenge = make_challenge()
    monkeypatch.setenv("GRADER_STATE_DIR", str(tmp_path / "state"))
    settings.GRADING_MIN_FREE_SCRATCH_MB = 10**9  # more than any disk has
    assert "sandbox state dir" in capacity.disk_shortfall(challenge, cache_dir=tmp_path)


def test_free_space_of_a_missing_path_is_its_parents(tmp_path: Path) -> None:
    assert capacity.free_bytes(tmp_path / "not" / "yet") == capacity.free_bytes(tmp_path)
