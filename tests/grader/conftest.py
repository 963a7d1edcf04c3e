"""Small datasets and a job builder for grader tests (real sandbox, no mocks)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from grader import cgroups
from grader.contract import DEFAULT_ALLOWED_IMPORTS, GradingJob, Limits
from grader.grading import get_sandbox
from grader.sandbox import Sandbox
from grader.supervisor import processes_in_namespace

from . import probes

N_TRAIN, N_TEST = 120, 60

# Hostile tests allow these so that the sandbox, not the import guard, is what stops them.
HOSTILE_IMPORTS = (
    *DEFAULT_ALLOWED_IMPORTS,
    "os", "sys", "socket", "subprocess", "signal", "ctypes", "errno", "glob", "pathlib",
    "resource", "threading", "importlib", "pickle", "io", "struct", "json", "gc",
)  # fmt: skip

LINEAR = """
import numpy as np

class Model:
    def fit(self, X, y):
        A = np.c_[X, np.ones(len(X))]
        self.w = np.linalg.lstsq(A, y, rcond=None)[0]
        return self

    def predict(self, X):
        return np.c_[X, np.ones(len(X))] @ self.w
"""


def _write(directory: Path, **arrays: np.ndarray) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, arr in arrays.items():
        paths[name] = directory / f"{name}.npy"
        np.save(paths[name], arr)
    return paths


@pytest.fixture(scope="session")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    root = tmp_path_factory.mktemp("grader-data")
    rng = np.random.default_rng(7)
    X = rng.normal(size=(N_TRAIN + N_TEST, 3))
    public = np.arange(N_TEST) % 2 == 0
    y_reg = X @ np.array([2.0, -1.0, 0.5]) + 0.1 * rng.normal(size=len(X))
    y_bin = (X[:, 0] + 0.3 * rng.normal(size=len(X)) > 0).astype(np.int64)
    y_multi = np.digitize(X[:, 0], [-0.5, 0.5]).astype(np.int64)
    out = {}
    for task, y in (("regression", y_reg), ("binary", y_bin), ("multiclass", y_multi)):
        out[task] = _write(
            root / task,
            train_X=X[:N_TRAIN], train_y=y[:N_TRAIN], test_X=X[N_TRAIN:], test_y=y[N_TRAIN:],
            public_mask=public,
        )  # fmt: skip
    return out


@pytest.fixture(scope="session")
def make_job(datasets: dict[str, dict[str, Path]]) -> Callable[..., GradingJob]:
    def build(
        source: str,
        *,
        task: str = "regression",
        metric: str | None = None,
        time_s: float = 10.0,
        memory_mb: int = 256,
        allowed: tuple[str, ...] = DEFAULT_ALLOWED_IMPORTS,
        **kwargs: object,
    ) -> GradingJob:
        paths = datasets[task]
        default_metric = {"regression": "rmse", "binary": "accuracy", "multiclass": "accuracy"}
        limit_args = {k: kwargs.pop(k) for k in list(kwargs) if k in Limits.__dataclass_fields__}
        return GradingJob(
            source=source,
            task=task,
            metric=metric or default_metric[task],
            n_classes={"regression": None, "binary": 2, "multiclass": 3}[task],
            allowed_imports=allowed,
            limits=Limits(time_s=time_s, memory_mb=memory_mb, **limit_args),
            **paths,
            **kwargs,
        )

    return build


@pytest.fixture(scope="session")
def kernel_sandbox() -> Sandbox:
    """A sandbox whose Python also holds socket, select and mmap: for tests of the kernel's
    boundary (namespaces, seccomp, cgroups), which call the kernel through them."""
    return probes.kernel_sandbox()


@pytest.fixture(autouse=True)
def no_process_left_behind() -> object:
    """Every grader test ends with no live process in the pid namespace of any of its runs,
    and no cgroup of its runs left.

    (Namespaces, not uids alone: other test sessions on this machine may reuse a released
    slot. Nor namespaces alone: once ours is freed, the kernel may give its inode number to
    another session's sandbox; a leftover of ours also carries a uid this process ran.)
    """
    sandboxes = [get_sandbox(), *probes._kernel_sandboxes]
    for sandbox in sandboxes:
        sandbox.recent_namespaces = []
    yield
    namespaces = [ns for sandbox in sandboxes for ns in sandbox.recent_namespaces]
    uids = {uid for sandbox in sandboxes for uid in sandbox.used_uids}
    leftovers = {ns: [p for p in processes_in_namespace(ns) if _ours(p, uids)] for ns in namespaces}
    assert {ns: pids for ns, pids in leftovers.items() if pids} == {}
    assert run_cgroups_left() == []


def _ours(pid: int, uids: set[int]) -> bool:
    if not uids:
        return True  # no slot uids: the namespace is all there is to tell
    try:
        return os.stat(f"/proc/{pid}").st_uid in uids
    except OSError:
        return False  # gone meanwhile


def run_cgroups_left() -> list[str]:
    """Run cgroups this process created that still exist (each run removes its own)."""
    sandbox = get_sandbox()
    if sandbox.cgroups is None:
        return []
    mine = f"{cgroups.PREFIX}{os.getpid()}-"
    return sorted(
        str(entry)
        for parent in set(sandbox.cgroups.parents.values())
        for entry in parent.iterdir()
        if entry.name.startswith(mine)
    )
