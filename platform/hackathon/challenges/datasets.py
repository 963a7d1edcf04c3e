"""Hidden data for grading workers: blobs fetched from the database by content hash into
a local cache, verified by hash, so a worker on another machine needs no shared disk."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from hackathon.challenges.data import Split
from hackathon.challenges.models import Challenge, DataBlob

# (path, size, mtime_ns) of cache files already verified by this process.
_verified: set[tuple[str, int, int]] = set()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _cached_ok(path: Path, sha: str) -> bool:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return False
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key in _verified:
        return True
    if path.is_symlink() or not path.is_file() or _file_sha256(path) != sha:
        return False
    _verified.add(key)
    return True


def blob_path(sha: str, cache_dir: Path) -> Path:
    """The local file of blob `sha`, fetched from the database when missing or corrupt."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"{sha}.npy"
    if _cached_ok(path, sha):
        return path
    data = bytes(DataBlob.objects.values_list("data", flat=True).get(sha256=sha))
    if hashlib.sha256(data).hexdigest() != sha:
        raise RuntimeError(f"blob {sha} in the database does not match its hash")
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".blob-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)  # atomic: concurrent workers never see half a file
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def challenge_dataset_paths(challenge: Challenge, cache_dir: Path) -> dict[str, Path]:
    """Local `.npy` paths of train_X, train_y, test_X, test_y and public_mask."""
    paths = {}
    for key in Split.KEYS:
        sha = getattr(challenge, f"{key}_id")
        if not sha:
            raise RuntimeError(f"challenge {challenge.slug} has no {key} data yet")
        paths[key] = blob_path(sha, cache_dir)
    return paths
