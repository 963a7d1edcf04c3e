"""How much grading adds to the bare cost of starting Python with numpy.

    .venv/bin/python benchmarks/grading_overhead.py [--runs 21]

Prints a table: median wall time of grading a trivial solution through the sandbox and
scoring (grader.grade), against the floor (a bare subprocess `python -c "import numpy"`),
measured interleaved in the same run; grade() without cgroups (the sampling watchdog instead)
where the machine has them, to show what the per-run cgroup costs; and the static pre-check on
a normal and on a pathological file. Target: grade <= 1.3 x floor.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

import grader
from grader.contract import DEFAULT_ALLOWED_IMPORTS, GradingJob
from grader.grading import get_sandbox
from grader.precheck import precheck
from grader.sandbox import Sandbox

TRIVIAL = """
import numpy as np

class Model:
    def fit(self, X, y):
        self.mean = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean)
"""


def _time(fn) -> float:  # noqa: ANN001
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        rng = np.random.default_rng(0)
        X = rng.normal(size=(200, 4))
        y = X @ rng.normal(size=4)
        for name, arr in (
            ("train_X", X[:143]), ("train_y", y[:143]), ("test_X", X[143:]),
            ("test_y", y[143:]), ("public_mask", np.arange(57) % 2 == 0),
        ):  # fmt: skip
            np.save(d / f"{name}.npy", arr)
        job = GradingJob(
            source=TRIVIAL, task="regression", metric="rmse",
            train_X=d / "train_X.npy", train_y=d / "train_y.npy", test_X=d / "test_X.npy",
            test_y=d / "test_y.npy", public_mask=d / "public_mask.npy",
        )  # fmt: skip

        t_warm = _time(grader.prewarm)
        sandbox = get_sandbox()

        def floor() -> None:
            subprocess.run([sys.executable, "-c", "import numpy"], check=True)

        numpy_parent = str(Path(np.__file__).resolve().parents[1])
        strict_code = f"import sys; sys.path.append({numpy_parent!r}); import numpy"

        def strict_floor() -> None:
            # The interpreter flags the sandbox itself uses: no site, isolated mode.
            subprocess.run([sys.executable, "-I", "-S", "-c", strict_code], check=True)  # noqa: S603 - this interpreter on a fixed script

        def grade(on: Sandbox | None = None) -> None:
            result = grader.grade(job, sandbox=on)
            if result.verdict != "scored":
                raise SystemExit(f"the reference solution did not score: {result.message}")

        watchdog = Sandbox(replace(sandbox.config, cgroup="off")) if sandbox.cgroups else None
        grade()  # the first run pays for page cache and lazy imports
        floors, stricts, grades, watched = [], [], [], []
        for _ in range(args.runs):
            floors.append(_time(floor))
            stricts.append(_time(strict_floor))
            grades.append(_time(grade))
            if watchdog is not None:
                watched.append(_time(lambda: grade(watchdog)))

    ok = "\n".join(
        ["import numpy as np", "", "class Model:"]
        + [f"    def m{i}(self, X):\n        return X * {i}" for i in range(2000)]
        + [
            "    def fit(self, X, y):\n        return self",
            "    def predict(self, X):\n        return X",
        ]
    )
    nasty = "1+" * 400_000 + "1"
    pre_ok = [_time(lambda: precheck(ok, DEFAULT_ALLOWED_IMPORTS)) for _ in range(5)]
    pre_nasty = [_time(lambda: precheck(nasty, DEFAULT_ALLOWED_IMPORTS)) for _ in range(3)]

    f, g = statistics.median(floors), statistics.median(grades)
    print(f"sandbox level: {sandbox.level.value}; bwrap: {sandbox.config.bwrap}; runs: {args.runs}")
    memory = sandbox.cgroups.describe() if sandbox.cgroups else "sampling watchdog"
    print(
        f"resource control: {memory}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"one-time prewarm (runtime + scikit-learn import): {t_warm * 1000:.0f} ms")
    print()
    print(f"| {'measure':<56} | {'median ms':>9} | {'min ms':>7} |")
    print(f"|{'-' * 58}|{'-' * 11}|{'-' * 9}|")
    rows = [
        ('floor: subprocess `python -c "import numpy"`', floors),
        ("strict floor: same with `python -I -S` (sandbox's flags)", stricts),
        ("grade(): sandbox + harness + trivial fit + scoring", grades),
        *([("grade() without cgroups (the watchdog samples instead)", watched)] if watched else []),
        (f"precheck: {len(ok) // 1024} KiB file with 2000 methods", pre_ok),
        (f"precheck: pathological {len(nasty) // 1024} KiB expression", pre_nasty),
    ]
    for label, values in rows:
        print(
            f"| {label:<56} | {statistics.median(values) * 1000:>9.1f} | "
            f"{min(values) * 1000:>7.1f} |"
        )
    print()
    strict = statistics.median(stricts)
    print(f"ratio grade / floor: {g / f:.2f}x (target <= 1.30x); overhead {(g - f) * 1000:+.1f} ms")
    print(f"ratio grade / strict floor: {g / strict:.2f}x; overhead {(g - strict) * 1000:+.1f} ms")


if __name__ == "__main__":
    main()
