"""Whether this worker's disks can hold a grading run, checked before it claims one.

A run writes the challenge's data into the dataset cache (DATASET_CACHE_DIR; once per
challenge, only the blobs not cached yet) and the sandbox's state (GRADER_STATE_DIR:
runtime, harness, leases). A worker that cannot hold a run passes it on (another worker
takes it) and says why on the dashboard, instead of failing it: a full disk is the
worker's problem, not the submission's, and it costs no attempt.

Needed in the cache: the uncached blobs' sizes plus GRADING_DISK_MARGIN_MB; in the state
dir: GRADING_MIN_FREE_SCRATCH_MB.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

from hackathon.challenges.data import Split
from hackathon.challenges.models import Challenge, DataBlob

MB = 1024 * 1024


def free_bytes(path: Path) -> int | None:
    """Free bytes (for an unprivileged writer) on the file system of `path` or of its
    nearest existing parent; None when nothing on the way can be inspected."""
    for candidate in (path, *path.parents):
        try:
            stats = os.statvfs(candidate)
        except OSError:
            continue
        return stats.f_bavail * stats.f_frsize
    return None


def _state_dir() -> Path:
    configured = os.environ.get("GRADER_STATE_DIR")
    if configured:
        return Path(configured)
    if os.geteuid() == 0:
        return Path("/var/lib/hackathon-sandbox")
    cache = os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))
    return Path(cache) / "hackathon-sandbox"


def _mb(count: int) -> str:
    return f"{count / MB:.1f} MB"


def disk_shortfall(challenge: Challenge, *, cache_dir: Path | None = None) -> str:
    """Why this worker cannot hold a run of `challenge` now ("" when it can)."""
    cache_dir = Path(cache_dir or settings.DATASET_CACHE_DIR)
    shas = [getattr(challenge, f"{key}_id") for key in Split.KEYS]
    # The file's presence is enough here: the fetch verifies its hash before use.
    missing = [sha for sha in shas if sha and not (cache_dir / f"{sha}.npy").is_file()]
    needed = int(float(settings.GRADING_DISK_MARGIN_MB) * MB)
    if missing:
        sizes = DataBlob.objects.filter(sha256__in=missing).values_list("size", flat=True)
        needed += sum(sizes)
    free = free_bytes(cache_dir)
    if missing and free is not None and free < needed:
        return (
            f"the dataset cache {cache_dir} has {_mb(free)} free; {challenge.slug} needs "
            f"{_mb(needed)} (its data plus GRADING_DISK_MARGIN_MB)"
        )
    state_dir = _state_dir()
    scratch_needed = int(float(settings.GRADING_MIN_FREE_SCRATCH_MB) * MB)
    free = free_bytes(state_dir)
    if free is not None and free < scratch_needed:
        return (
            f"the sandbox state dir {state_dir} has {_mb(free)} free, below "
            f"GRADING_MIN_FREE_SCRATCH_MB ({_mb(scratch_needed)})"
        )
    return ""
