"""Driver overhead per optimizer step: everything but computing the gradient.

    .venv/bin/python benchmarks/optimizer_step.py [--steps 10000] [--runs 5]

Runs the optimizer track's real driver (grader/optimizer_track.py) against the real runner in
the sandbox (bubblewrap, same as grading), with a plain-SGD optimizer, on a linear regression
of 99 features + a bias (100 parameters) with mini-batches of 32. Per step it measures the
whole step loop, and subtracts what the driver spends computing the loss and gradient: what
is left is the hand-off over the step channel (params, grad and loss out as raw float64
bytes in a shared memory file, new params back), the runner turning bytes into arrays and
back and calling `step()`, and the checks on the trusted side (turn, finiteness, budget,
curve). Also a 963-parameter MLP for scale.

Columns: the wall-clock overhead per step (median and best run); the driver's own work (the
step loop without the gradient and without waiting for the reply); the runner's own work (its
loop from the command read to the reply written, `step()` included, as the runner reports
it); what is left, the hand-offs (noticing the other side's turn byte, or waking up); the
share of waits that went past the spin to the pipe on each side; and the CPU time per step of
the driver's thread (gradient included) and of the runner's loop, spins and sleeps included
(what the spin costs: on an idle machine about the other side's time). Two floors: a bare pipe
round trip of 1,664 bytes between two processes (two sleeps and wake-ups), and the step
channel's own round trip (a turn byte each way, spin then block; no payload, no numpy)
between two processes. Target: at most 50 us per step for 100 parameters, goal 20 us.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from grader.contract import Limits
from grader.grading import get_sandbox
from grader.optimizer_runner import Channel, Layout
from grader.optimizer_track import InstanceRun, OptimizerJob, run_instance
from grader.workloads import Workload, make_instance

SGD = """
class Optimizer:
    batch_size = 32

    def step(self, params, grad, loss):
        return [p - 0.01 * g for p, g in zip(params, grad)]
"""

# Returns the very arrays it was given, changed in place: the runner's own cost alone.
IN_PLACE = """
class Optimizer:
    batch_size = 32

    def step(self, params, grad, loss):
        for p, g in zip(params, grad):
            p -= 0.01 * g
        return params
"""


def pipe_floor(rounds: int, size: int) -> float:
    """Median-free mean round trip (us) of `size` bytes out and back between two processes."""
    a_r, a_w = os.pipe()
    b_r, b_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(a_w)
        os.close(b_r)
        while True:
            data = os.read(a_r, size)
            if not data:
                os._exit(0)
            os.write(b_w, data)
    os.close(a_r)
    os.close(b_w)
    payload = b"x" * size
    t0 = time.perf_counter()
    for _ in range(rounds):
        os.write(a_w, payload)
        got = 0
        while got < size:
            got += len(os.read(b_r, size - got))
    elapsed = time.perf_counter() - t0
    os.close(a_w)
    os.waitpid(pid, 0)
    os.close(b_r)
    return elapsed / rounds * 1e6


def channel_floor(rounds: int) -> tuple[float, float]:
    """Mean round trip (us) over the step channel between two processes, and the share of
    the parent's waits that went to the pipe."""
    at = Layout(1)
    fd = os.memfd_create("channel-floor")
    os.ftruncate(fd, at.size)
    a_r, a_w = os.pipe()
    b_r, b_w = os.pipe()
    os.set_blocking(a_w, False)
    os.set_blocking(b_w, False)
    pid = os.fork()
    if pid == 0:
        os.close(a_w)
        os.close(b_r)
        side = Channel(fd, a_r, b_w, post_at=at.reply_at, wait_turn=at.cmd_turn)
        while side.wait():
            side.post([], turn_at=at.reply_turn)
        os._exit(0)
    os.close(a_r)
    os.close(b_w)
    side = Channel(fd, b_r, a_w, post_at=0, wait_turn=at.reply_turn)
    t0 = time.perf_counter()
    for _ in range(rounds):
        side.post([], turn_at=at.cmd_turn)
        side.wait()
    elapsed = time.perf_counter() - t0
    os.close(a_w)
    os.waitpid(pid, 0)
    os.close(b_r)
    os.close(fd)
    return elapsed / rounds * 1e6, side.blocked / rounds


def measure(source: str, workload: Workload, n_features: int, steps: int) -> dict:
    rng = np.random.RandomState(0)
    rows = 2000
    X = rng.normal(size=(rows, n_features))
    task = "regression" if workload.model == "linear" else "multiclass"
    if task == "regression":
        y = X @ rng.normal(size=n_features) + 0.1 * rng.normal(size=rows)
    else:
        y = rng.randint(0, 3, size=rows)
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "X.npy", X)
        np.save(Path(tmp) / "y.npy", y)
        job = OptimizerJob(
            source=source, task=task, workload=workload, train_X=Path(tmp) / "X.npy",
            train_y=Path(tmp) / "y.npy", seeds=(1,), public_count=1,
            n_classes=None if task == "regression" else 3, limits=Limits(time_s=120),
        )  # fmt: skip
        inst = make_instance(
            workload, task=task, n_classes=job.n_classes, pool_X=X, pool_y=y, seed=1
        )
        run = InstanceRun(index=0, part="public", n_train=inst.n_train, budget=workload.budget)
        sb = run_instance(get_sandbox(), job, inst, run, job.limits)
    if run.ended != "budget" or run.steps < steps - 1:
        raise SystemExit(f"the run did not complete: {run.ended}, {sb.stderr[-500:]}")
    per_step = run.step_seconds / run.steps * 1e6
    gradient = run.gradient_seconds / run.steps * 1e6
    driver = (run.step_seconds - run.gradient_seconds - run.wait_seconds) / run.steps * 1e6
    runner = float(sb.report.get("runner_seconds") or 0.0) / run.steps * 1e6
    return {
        "params": inst.model.size,
        "steps": run.steps,
        "per_step": per_step,
        "gradient": gradient,
        "overhead": per_step - gradient,
        "driver": driver,
        # The runner's own figure (its process is untrusted; here it runs our plain SGD).
        "runner": runner,
        "handoffs": per_step - gradient - driver - runner,
        "driver_slept": run.blocked_waits / run.steps,
        "runner_slept": float(sb.report.get("blocked_waits") or 0) / run.steps,
        # CPU time per step, waits (spins, sleeps) included: the driver's thread (gradient
        # included) and the runner's step loop.
        "driver_cpu": run.step_cpu_seconds / run.steps * 1e6,
        "runner_cpu": float(sb.report.get("loop_cpu_seconds") or 0.0) / run.steps * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sandbox = get_sandbox()
    budget = 32 * args.steps
    cases = [
        ("linear, 100 params, SGD (new arrays)", SGD, Workload(model="linear", budget=budget, validation_rows=200), 99),
        ("linear, 100 params, SGD (in place)", IN_PLACE, Workload(model="linear", budget=budget, validation_rows=200), 99),
        ("MLP 20-40-3, 963 params, SGD", SGD, Workload(model="mlp", hidden=(40,), budget=budget, validation_rows=200), 20),
    ]  # fmt: skip
    print(f"sandbox level: {sandbox.level.value}; {args.steps} steps per run, {args.runs} runs")
    print(f"Python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} CPUs")
    print()
    print(f"load average (1 min) at the start: {os.getloadavg()[0]:.1f}")
    print(
        "| case | params | per step us | gradient us | overhead us (wall) | overhead min"
        " | driver work us | runner work us | hand-offs us | waits that slept (driver / runner)"
        " | CPU us (driver thread / runner) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")

    def med(results: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in results)

    for name, source, workload, features in cases:
        results = [measure(source, workload, features, args.steps) for _ in range(args.runs)]
        print(
            f"| {name} | {results[0]['params']:,} | {med(results, 'per_step'):.1f} | "
            f"{med(results, 'gradient'):.1f} | {med(results, 'overhead'):.1f} | "
            f"{min(r['overhead'] for r in results):.1f} | {med(results, 'driver'):.1f} | "
            f"{med(results, 'runner'):.1f} | {med(results, 'handoffs'):.1f} | "
            f"{med(results, 'driver_slept'):.0%} / {med(results, 'runner_slept'):.0%} | "
            f"{med(results, 'driver_cpu'):.0f} / {med(results, 'runner_cpu'):.0f} |"
        )
    floor = statistics.median(pipe_floor(args.steps, 1664) for _ in range(args.runs))
    print(
        "| floor: bare pipe round trip of 1,664 bytes between two processes | - | - | - | "
        f"{floor:.1f} | - | - | - | - | 100% / 100% | - |"
    )
    channel = [channel_floor(args.steps) for _ in range(args.runs)]
    print(
        "| floor: the step channel's round trip between two processes, no payload | - | - | "
        f"- | {statistics.median(c[0] for c in channel):.1f} | "
        f"{min(c[0] for c in channel):.1f} | - | - | - | "
        f"{statistics.median(c[1] for c in channel):.0%} / - | - |"
    )
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
