"""A probe runtime for tests: ctypes mounted into the real sandbox, for calls `os` cannot make.

The sandbox's own runtime need not hold ctypes; these tests bring the host's copy (the same
interpreter build) on a read-only mount at /opt/probe. Everything else is the real sandbox:
the same bwrap command line, seccomp filter, uid, cgroup and limits.
"""

from __future__ import annotations

import shutil
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from grader.contract import Limits
from grader.grading import get_sandbox
from grader.sandbox import Sandbox

PROBE_MOUNT = "/opt/probe"
PROBE_IMPORTS = f"import os, sys\nsys.path.insert(0, {PROBE_MOUNT!r})"


class ProbeSandbox(Sandbox):
    """The process's sandbox with one more read-only mount: the probe runtime."""

    def __init__(self, base: Sandbox, probe_dir: Path) -> None:
        self.__dict__.update(base.__dict__)
        self.probe_dir = probe_dir

    def _bwrap_args(self, limits: Limits, seccomp_fd: int | None, info_fd: int) -> list[str]:
        args = super()._bwrap_args(limits, seccomp_fd, info_fd)
        first_remount = args.index("--remount-ro")
        args[first_remount:first_remount] = ["--ro-bind", str(self.probe_dir), PROBE_MOUNT]
        return args


_kernel_sandboxes: list[Sandbox] = []


def kernel_sandbox() -> Sandbox:
    """The process's sandbox with socket, select and mmap back in its Python: the platform's
    holds none (runtime.DENIED_MODULES), and these tests call the kernel through them."""
    if not _kernel_sandboxes:
        extras = ("socket", "selectors", "select", "mmap")
        _kernel_sandboxes.append(Sandbox(replace(get_sandbox().config, runtime_extras=extras)))
    return _kernel_sandboxes[0]


@contextmanager
def probe_sandbox(_tmp_path: Path) -> Iterator[tuple[Sandbox, str]]:
    """(sandbox, import lines for the solution) with ctypes importable inside."""
    root = Path(tempfile.mkdtemp(prefix="hackathon-probe-"))
    try:
        root.chmod(0o755)  # pytest's own tmp is private to root: sandbox uids cannot enter it
        stdlib = Path(sysconfig.get_paths()["stdlib"])
        shutil.copytree(stdlib / "ctypes", root / "ctypes", ignore=shutil.ignore_patterns("test"))
        # Imported here: only to find the extension's file, when a probe sandbox is built.
        import _ctypes

        shutil.copy2(_ctypes.__file__, root / Path(_ctypes.__file__).name)
        for path in root.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        # The extension must match the sandbox's interpreter (a copy of this one).
        assert (
            get_sandbox().runtime.python_name
            == f"python{sys.version_info[0]}.{sys.version_info[1]}"
        )
        yield ProbeSandbox(kernel_sandbox(), root), PROBE_IMPORTS
    finally:
        shutil.rmtree(root, ignore_errors=True)
