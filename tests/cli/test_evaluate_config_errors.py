"""A grader setting that cannot work: `hackathon evaluate` says which, and the fix, in one line.

Each case runs the real console script in a fresh process (the sandbox is configured once per
process, from the environment).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SOLUTION = """
import numpy as np

class Model:
    def fit(self, X, y):
        self.mean = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean)
"""

CASES = {
    "missing bwrap": (
        {"GRADER_BWRAP": "/nonexistent/bwrap"},
        "GRADER_BWRAP=/nonexistent/bwrap names no file: unset it",
    ),
    "unwritable state dir": (
        {"GRADER_STATE_DIR": "/proc/hackathon-state"},
        "GRADER_STATE_DIR=/proc/hackathon-state is not writable",
    ),
    "uid range in use": (
        {"GRADER_UID_BASE": "65534", "GRADER_SLOTS": "1"},
        "GRADER_UID_BASE=65534 GRADER_SLOTS=1: uid 65534 belongs to the user 'nobody'",
    ),
    "cgroup required but not writable": (
        {"GRADER_CGROUP": "required", "GRADER_CGROUP_PARENT": "/hackathon-missing-parent"},
        "GRADER_CGROUP=required but no writable memory cgroup",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_grader_setting_is_one_line_naming_it_and_the_fix(case: str, tmp_path: Path) -> None:
    env_changes, expected = CASES[case]
    if "GRADER_UID_BASE" in env_changes and os.geteuid() != 0:
        pytest.skip("sandbox uids are leased only as root")
    (tmp_path / "solution.py").write_text(SOLUTION)
    rows = "\n".join(f"{i},{i % 3},{2 * i + 1}" for i in range(400))
    (tmp_path / "train.csv").write_text("a,b,y\n" + rows + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_")}
    env.update(env_changes, XDG_CONFIG_HOME=str(tmp_path / "config"))
    done = subprocess.run(  # noqa: S603 - the project's own console script
        [str(Path(sys.executable).parent / "hackathon"), "evaluate", "solution.py",
         "--data", "train.csv"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert expected in lines[0], lines[0]
