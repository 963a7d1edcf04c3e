"""Sandbox uids are leased host-wide: installations with overlapping uid ranges share them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.errors import ConfigError
from grader.slots import check_uid_range, lease_dir, slot_lease, uid_processes

from .conftest import LINEAR

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="sandbox uids are leased only as root")

SLEEPY = LINEAR.replace("        return self\n", "        time.sleep(6)\n        return self\n", 1)
GRADE_ONE = """
import json, sys, time
from pathlib import Path
import grader
from grader.contract import GradingJob, Limits

paths = json.loads(sys.argv[1])
job = GradingJob(
    source=Path(sys.argv[2]).read_text(), task="regression", metric="rmse",
    limits=Limits(time_s=30.0), allowed_imports=("numpy", "math", "time"),
    **{k: Path(v) for k, v in paths.items()},
)
started = time.monotonic()
result = grader.grade(job)
print(json.dumps({"verdict": result.verdict.value, "message": result.message,
                  "stdout": result.stdout, "seconds": time.monotonic() - started}))
"""


def _installation(tmp_path: Path, name: str, datasets: dict, solution: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "GRADER_UID_BASE": "64100",
        "GRADER_SLOTS": "1",
        "GRADER_STATE_DIR": str(tmp_path / name),
    }
    paths = {k: str(v) for k, v in datasets["regression"].items()}
    return subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-c", GRADE_ONE, json.dumps(paths), str(solution)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def state_root() -> Iterator[Path]:
    """A directory the sandbox uids can traverse (pytest's own tmp is private to root)."""
    root = Path(tempfile.mkdtemp(prefix="hackathon-two-installations-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_two_installations_with_one_uid_range_both_score(state_root: Path, datasets) -> None:
    """The second installation waits for the uid instead of killing the first one's run."""
    tmp_path = state_root
    solution = tmp_path / "solution.py"
    solution.write_text("import time\n" + SLEEPY)
    first = _installation(tmp_path, "first", datasets, solution)
    time.sleep(3.0)
    second = _installation(tmp_path, "second", datasets, solution)
    outcomes = []
    for proc in (first, second):
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-3000:]
        outcomes.append(json.loads(out.strip().splitlines()[-1]))
    assert [o["verdict"] for o in outcomes] == ["scored", "scored"], outcomes


def test_a_uid_with_processes_outside_any_lease_is_skipped_never_killed() -> None:
    uid = 64150
    squatter = subprocess.Popen(  # noqa: S603 - fixed argv
        ["/bin/sleep", "60"], user=uid, group=uid, extra_groups=[]
    )
    try:
        with slot_lease(count=2, uid_base=uid) as slot:
            assert slot.uid == uid + 1
        assert squatter.poll() is None, "a process of a uid the platform did not hold was killed"
        assert uid_processes(uid) == [squatter.pid]
        with pytest.raises(ConfigError, match=r"GRADER_UID_BASE=64150 GRADER_SLOTS=1: .*64150"):
            check_uid_range(uid_base=uid, count=1)
    finally:
        squatter.kill()
        squatter.wait()


def test_a_uid_range_that_names_an_account_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"GRADER_UID_BASE=65534 .*'nobody'"):
        check_uid_range(uid_base=65534, count=1)


def test_leases_live_outside_the_state_dir(tmp_path: Path) -> None:
    with slot_lease(count=1, uid_base=64160) as slot:
        assert (lease_dir() / f"uid-{slot.uid}.lock").exists()
        assert not list(tmp_path.iterdir())
