"""Where the time of one grading goes, against the sandbox's floor, warm and cold.

    .venv/bin/python benchmarks/grading_path.py [--runs 30]

Warm: this process is a warmed-up grading worker (sandbox built, one grade done) on
PostgreSQL (BENCH_DATABASE_URL, default .../bench_path, made afresh) and a private Redis.
It grades --runs trivial submissions one after the other through the platform's own
`submission_grade` (claim, data fetch from the cache, `grader.grade`, store with the
leaderboard update, live events) and times each stage by wrapping the functions that do
it. Floor: the sandbox's own Python start with `import numpy` (`python -I -S`, the flags the
sandbox uses), timed as a subprocess interleaved with the runs, twice: in this process's
environment (as this benchmark always measured it), and in the sandbox's, whose
OPENBLAS_NUM_THREADS=1 (and the other thread counts) spare numpy's import the start of a
thread per core, so that floor is lower and the ratio to it stricter. Target: the whole
path at most 1.3x the floor.

Cold: a new process that imports the grader and grades one submission (what a new worker
and every `hackathon evaluate` do), its wall time minus the floor's. Target: at most 0.3 s.
The project's modules are compiled first (`python -m compileall`), as an installed worker
has them: pip compiles what it installs, and the Docker image compiles grader/ and
platform/; `--no-compile` measures whatever bytecode is there (none at all under
PYTHONDONTWRITEBYTECODE, where every start compiles the grader again).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_path")

from _stack import TRIVIAL_SOLUTION, Stack, machine, print_table  # noqa: E402

COLD = """
import sys, tempfile, time
from pathlib import Path
import numpy as np
import grader
from grader.contract import GradingJob
d = Path(tempfile.mkdtemp())
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 4)); y = X @ rng.normal(size=4)
for name, arr in (("train_X", X[:143]), ("train_y", y[:143]), ("test_X", X[143:]),
                  ("test_y", y[143:]), ("public_mask", np.arange(57) % 2 == 0)):
    np.save(d / f"{name}.npy", arr)
job = GradingJob(source=sys.stdin.read(), task="regression", metric="rmse",
                 train_X=d / "train_X.npy", train_y=d / "train_y.npy", test_X=d / "test_X.npy",
                 test_y=d / "test_y.npy", public_mask=d / "public_mask.npy")
result = grader.grade(job)
assert result.verdict.value == "scored", result.message
"""


def floor_s(*, sandbox_env: bool = False) -> float:
    import numpy as np

    from grader.sandbox import ENV_ALLOW

    parent = str(Path(np.__file__).resolve().parents[1])
    code = f"import sys; sys.path.append({parent!r}); import numpy"
    env = None
    if sandbox_env:
        threads = {k: v for k, v in ENV_ALLOW.items() if k.endswith("_NUM_THREADS")}
        env = {**os.environ, **threads}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-I", "-S", "-c", code], check=True, env=env)  # noqa: S603
    return time.perf_counter() - t0


def cold_s() -> float:
    t0 = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", COLD], input=TRIVIAL_SOLUTION, text=True, check=True
    )
    return time.perf_counter() - t0


class Stages:
    """Wraps the functions of the grading path and adds up the time spent in each."""

    def __init__(self) -> None:
        self.spent: dict[str, list[float]] = defaultdict(list)
        self._current: dict[str, float] = defaultdict(float)

    def wrap(self, module: object, name: str, stage: str) -> None:
        original = getattr(module, name)

        def timed(*args: object, **kwargs: object) -> object:
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self._current[stage] += time.perf_counter() - t0

        setattr(module, name, timed)

    def close_run(self) -> None:
        for stage, seconds in self._current.items():
            self.spent[stage].append(seconds)
        self._current.clear()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--cold-runs", type=int, default=7)
    parser.add_argument(
        "--no-compile", action="store_true", help="do not compile the project's modules first"
    )
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    if not args.no_compile:
        subprocess.run(  # noqa: S603 - our own interpreter on our own sources
            [
                sys.executable,
                "-m",
                "compileall",
                "-q",
                str(root / "grader"),
                str(root / "platform"),
            ],
            check=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""},
        )

    with Stack() as stack:
        from hackathon import live
        from hackathon.submissions import grading
        from hackathon.submissions.services import submission_create

        import grader

        challenge = stack.make_challenge("path-bench", n_train=143, n_test=57)
        teams = stack.make_teams(4)
        grader.prewarm()
        stages = Stages()
        stages.wrap(grading, "submission_claim", "claim")
        stages.wrap(grading, "challenge_dataset_paths", "data fetch (cached)")
        stages.wrap(grader, "grade", "grader.grade (sandbox, harness, scoring)")
        stages.wrap(grading, "submission_store_result", "store (result, board row, events)")
        stages.wrap(live, "publish", "of which live events (all, also before)")

        def one(i: int) -> float:
            user, _ = teams[i % len(teams)]
            sub = submission_create(challenge=challenge, user=user, code=TRIVIAL_SOLUTION)
            t0 = time.perf_counter()
            outcome = grading.submission_grade(submission_id=sub.pk, worker="bench")
            total = time.perf_counter() - t0
            if not outcome.startswith("finished"):
                raise RuntimeError(outcome)
            return total

        one(0)  # warm-up: data cache, first sandbox
        stages.close_run()
        stages.spent.clear()
        totals, floors, sandbox_floors = [], [], []
        for i in range(args.runs):
            floors.append(floor_s())
            sandbox_floors.append(floor_s(sandbox_env=True))
            totals.append(one(i + 1))
            stages.close_run()
        cold, cold_floors = [], []
        for _ in range(args.cold_runs):
            cold_floors.append(floor_s())
            cold.append(cold_s())

    floor = statistics.median(floors)
    sandbox_floor = statistics.median(sandbox_floors)
    total = statistics.median(totals)
    rows = [
        ["floor: sandbox Python + import numpy (subprocess, -I -S)", f"{floor * 1000:.1f}"],
        ["the same in the sandbox's environment (1 BLAS thread)", f"{sandbox_floor * 1000:.1f}"],
    ]
    accounted = 0.0
    for stage, values in stages.spent.items():
        median = statistics.median(values)
        if not stage.startswith("of which"):
            accounted += median
        rows.append([stage, f"{median * 1000:.1f}"])
    rows.append(
        ["rest of submission_grade (checks, heartbeat row)", f"{(total - accounted) * 1000:.1f}"]
    )
    rows.append(["whole path per submission (submission_grade)", f"{total * 1000:.1f}"])
    rows.append(["ratio to the floor (target at most 1.3)", f"{total / floor:.2f}x"])
    rows.append(
        ["ratio to the floor in the sandbox's environment", f"{total / sandbox_floor:.2f}x"]
    )
    print_table(
        f"Warm worker, trivial submission, median of {args.runs}; {machine()}; "
        f"load average {os.getloadavg()[0]:.2f}",
        ["stage", "median ms"],
        rows,
    )
    cold_floor = statistics.median(cold_floors)
    cold_total = statistics.median(cold)
    compiled = "not compiled first" if args.no_compile else "project modules compiled"
    print_table(
        f"Cold grader (new process: import + one grade), median of {args.cold_runs}; "
        f"{compiled}; load average {os.getloadavg()[0]:.2f}",
        ["measure", "median s"],
        [
            ["floor (as above)", f"{cold_floor:.3f}"],
            ["new process: import grader, grade once", f"{cold_total:.3f}"],
            ["above the floor (target at most 0.3 s)", f"{cold_total - cold_floor:.3f}"],
        ],
    )


if __name__ == "__main__":
    main()
