"""The optimizer track's step channel: a shared memory file and wake-up pipes, hostile side.

The channel class between two real processes (turns, wake-ups, an idle side's CPU, messages
intact across pages), then the real driver against the real runner in the real sandbox with
a solution that writes on the channel itself: out of turn, twice, a flood of wake-ups, huge
batch sizes, random bytes at any time, a channel it tries to shrink or grow, and a step that
never returns.
"""

from __future__ import annotations

import dataclasses
import math
import os
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from grader.contract import DEFAULT_ALLOWED_IMPORTS, Limits, Verdict
from grader.grading import get_sandbox
from grader.optimizer_runner import SPIN_S, Channel, ChannelError, Layout
from grader.optimizer_track import InstanceRun, OptimizerJob, grade_optimizer, run_instance
from grader.sandbox import Sandbox
from grader.workloads import Workload, make_instance

# --- the channel between two processes --------------------------------------------------


class Pair:
    """A channel file and both sides' pipes, as the driver and the runner hold them."""

    def __init__(self, n: int = 1) -> None:
        self.at = Layout(n)
        self.fd = os.memfd_create("channel-test")
        os.ftruncate(self.fd, self.at.size)
        self.cmd_r, self.cmd_w = os.pipe()
        self.reply_r, self.reply_w = os.pipe()
        os.set_blocking(self.cmd_w, False)
        os.set_blocking(self.reply_w, False)

    def driver(self, *, spin: bool = True) -> Channel:
        return Channel(
            self.fd, self.reply_r, self.cmd_w, post_at=0, wait_turn=self.at.reply_turn, spin=spin
        )

    def runner(self, *, spin: bool = True) -> Channel:
        return Channel(
            self.fd, self.cmd_r, self.reply_w, post_at=self.at.reply_at,
            wait_turn=self.at.cmd_turn, spin=spin,
        )  # fmt: skip


def test_a_turn_byte_that_is_neither_the_last_nor_the_next_is_refused() -> None:
    pair = Pair()
    driver = pair.driver()
    os.pwrite(pair.fd, bytes([7]), pair.at.reply_turn)  # reply 1 is due: turn byte 1
    os.write(pair.reply_w, b"\0")
    with pytest.raises(ChannelError, match="turn byte 7 on the step channel where 1 was due"):
        driver.wait()


def test_a_second_answer_is_refused() -> None:
    pair = Pair()
    driver, runner = pair.driver(), pair.runner()
    runner.post([], turn_at=pair.at.reply_turn)
    assert driver.wait()
    runner.post([], turn_at=pair.at.reply_turn)
    runner.post([], turn_at=pair.at.reply_turn)  # two answers where one is due
    with pytest.raises(ChannelError, match="turn byte 3 .* where 2 was due"):
        driver.wait()


@pytest.mark.parametrize("spin", [True, False])
def test_more_wake_ups_than_messages_are_refused(spin: bool) -> None:
    pair = Pair()
    driver = pair.driver(spin=spin)
    os.write(pair.reply_w, b"\0" * 3)  # three wake-ups, no message
    with pytest.raises(ChannelError, match="3 wake-ups for 1 messages"):
        driver.wait()


@pytest.mark.parametrize("spin", [True, False])
def test_a_wait_ends_when_the_other_side_is_gone(spin: bool) -> None:
    pair = Pair()
    driver = pair.driver(spin=spin)
    os.close(pair.reply_w)
    assert driver.wait() is False


def _child(run: object) -> int:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            run()  # type: ignore[operator]
            code = 0
        finally:
            os._exit(code)
    return pid


def _exited_ok(pid: int) -> bool:
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


@pytest.mark.parametrize("spin", [True, False])
def test_a_side_waiting_for_a_slow_peer_stops_spending_cpu(spin: bool) -> None:
    # The child waits 0.4 s for the first command, then 0.2 s for each of the next three; its
    # CPU in those waits is at most a few spins (SPIN_S each), not the wall time.
    pair = Pair()
    report_r, report_w = os.pipe()

    def wait_for_slow_driver() -> None:
        runner = pair.runner(spin=spin)
        cpu0 = time.process_time()
        for _ in range(4):
            assert runner.wait()
        os.write(report_w, struct.pack("<d", time.process_time() - cpu0))

    pid = _child(wait_for_slow_driver)
    driver = pair.driver(spin=spin)
    for pause in (0.4, 0.2, 0.2, 0.2):
        time.sleep(pause)
        driver.post([bytes(pair.at.cmd_size)])
    (cpu,) = struct.unpack("<d", os.read(report_r, 8))
    assert _exited_ok(pid)
    assert cpu < 0.05, f"the waiting side used {cpu:.3f} s of CPU in 1 s of waiting"
    assert 4 * SPIN_S < 0.05  # the bound above leaves room for every spin


@pytest.mark.parametrize("spin", [True, False])
def test_messages_across_pages_arrive_whole_and_in_order(spin: bool) -> None:
    # 20,000 parameters: each message spans many pages. The runner checks that every value of
    # each command is the command's number and answers with its parameters negated.
    n, rounds = 20_000, 300
    pair = Pair(n)
    at = pair.at

    def serve() -> None:
        runner = pair.runner(spin=spin)
        flat = np.empty(2 * n)
        head = bytearray(32)
        for k in range(1, rounds + 1):
            assert runner.wait()
            os.preadv(pair.fd, [head, flat.data], 0)
            assert (flat == k).all(), f"command {k} arrived torn"
            runner.post([bytes(16), (-flat[:n]).data])

    pid = _child(serve)
    driver = pair.driver(spin=spin)
    out = np.empty(2 * n)
    back = np.empty(n)
    head = bytearray(16)
    for k in range(1, rounds + 1):
        out[:] = k
        driver.post([bytes(32), out.data])
        assert driver.wait()
        os.preadv(pair.fd, [head, back.data], at.reply_at)
        assert (back == -k).all(), f"reply {k} arrived torn"
    assert _exited_ok(pid)


# --- a hostile solution in the real sandbox ------------------------------------------------

# What a solution can reach of the channel: its configuration and the runner's own module.
REACH = """
import json, os, random, sys, threading, time

CONFIG = json.loads(sys.argv[1])
RUNNER = sys.modules["grader_optimizer"]
FD = CONFIG["channel_fd"]
AT = RUNNER.Layout(CONFIG["init"]["n_parameters"])

def wake(count):
    os.write(CONFIG["reply_fd"], b"\\0" * count)

def sgd(params, grad):
    return [p - 0.1 * g for p, g in zip(params, grad)]
"""


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("channel-pool")
    rng = np.random.RandomState(5)
    X = rng.normal(size=(400, 5))
    y = X @ rng.normal(size=5) + 0.1 * rng.normal(size=400)
    paths = {"train_X": root / "X.npy", "train_y": root / "y.npy"}
    np.save(paths["train_X"], X)
    np.save(paths["train_y"], y)
    return paths


def job(
    pool: dict[str, Path], source: str, *, time_s: float = 30, budget: int = 3000
) -> OptimizerJob:
    return OptimizerJob(
        source=REACH + source,
        task="regression",
        workload=Workload(model="linear", budget=budget, validation_rows=100),
        seeds=(21, 22),
        public_count=1,
        limits=Limits(time_s=time_s),
        allowed_imports=(*DEFAULT_ALLOWED_IMPORTS, "os", "sys", "json", "threading", "time"),
        **pool,
    )


def test_an_answer_out_of_turn_is_refused_naming_the_step(pool: dict[str, Path]) -> None:
    # At its third step the solution moves the runner's turn byte on by two (two answers)
    # and rings twice, then waits long enough for the driver to look before the runner
    # answers. (An answer forged and overwritten before the driver looks is an answer like
    # any other: the driver checks what it copies, whoever wrote it.)
    source = """
class Optimizer:
    batch_size = 16
    n = 0

    def step(self, params, grad, loss):
        self.n += 1
        if self.n == 3:
            turn = os.pread(FD, 1, AT.reply_turn)[0]
            os.pwrite(FD, bytes([(turn + 2) % 256]), AT.reply_turn)
            wake(2)
            time.sleep(0.2)
        return sgd(params, grad)
"""
    result = grade_optimizer(job(pool, source))
    assert result.verdict is Verdict.INVALID_STEP, result.message
    assert result.message.startswith(
        "instance 1, step 2: the optimizer's process wrote to the platform's step channel out "
        "of turn"
    ), result.message
    assert result.public_score is None


def test_a_flood_of_wake_ups_is_refused(pool: dict[str, Path]) -> None:
    # 100 wake-ups, then a pause long enough for the driver to stop spinning and read them.
    source = """
class Optimizer:
    batch_size = 16
    n = 0

    def step(self, params, grad, loss):
        self.n += 1
        if self.n == 4:
            wake(100)
            time.sleep(0.2)
        return sgd(params, grad)
"""
    result = grade_optimizer(job(pool, source))
    assert result.verdict is Verdict.INVALID_STEP, result.message
    assert result.message.startswith("instance 1, step 3: "), result.message
    # The first reply and three steps rang four times, the solution a hundred more, while
    # the driver waited for its fifth message.
    assert result.message.endswith("(104 wake-ups for 5 messages on the step channel)")


@pytest.mark.parametrize("batch", [2**63 - 1, -(2**63)])
def test_huge_batch_sizes_written_past_the_runner_cost_the_whole_training_set(
    pool: dict[str, Path], batch: int
) -> None:
    # The solution replaces the runner's batch-size check: the largest and the smallest
    # 64-bit numbers reach the channel. The driver serves full batches and counts the budget.
    source = f"""
RUNNER._batch_size = lambda optimizer, n_train: {batch}

class Optimizer:
    def step(self, params, grad, loss):
        return sgd(params, grad)
"""
    result = grade_optimizer(job(pool, source, budget=1000))
    assert result.verdict is Verdict.SCORED, result.message
    for inst in result.instances:
        n_train = inst["n_train"]
        assert inst["examples"] == 1000
        assert inst["steps"] == math.ceil(1000 / n_train)
        assert inst["train"]["examples"] == [
            min(n_train * (i + 1), 1000) for i in range(inst["steps"])
        ]


def test_the_channel_can_neither_shrink_nor_grow_from_inside(pool: dict[str, Path]) -> None:
    source = """
def attempt(call):
    try:
        call()
        return "done"
    except OSError as exc:
        return type(exc).__name__

print("SEALS", [
    attempt(lambda: os.ftruncate(FD, 0)),
    attempt(lambda: os.ftruncate(FD, AT.size + 4096)),
    attempt(lambda: os.pwrite(FD, bytes(1 << 20), AT.size)),
])

class Optimizer:
    batch_size = 16

    def step(self, params, grad, loss):
        return sgd(params, grad)
"""
    result = grade_optimizer(job(pool, source))
    assert result.verdict is Verdict.SCORED, result.message
    lines = [line for line in result.stdout.splitlines() if line.startswith("SEALS")]
    assert lines and all(
        line == "SEALS ['PermissionError', 'PermissionError', 'PermissionError']" for line in lines
    ), lines


def test_random_bytes_on_the_replies_are_refused(pool: dict[str, Path]) -> None:
    # A thread writes random bytes over the reply (flags, batch size, parameters, turn byte)
    # without pause: whatever the driver copies, it refuses before believing it.
    source = """
def scribble():
    rng = random.Random(1)
    while True:
        at = rng.randrange(AT.reply_at, AT.size)
        os.pwrite(FD, rng.randbytes(rng.randint(1, AT.size - at)), at)

class Optimizer:
    batch_size = 16

    def __init__(self):
        threading.Thread(target=scribble, daemon=True).start()

    def step(self, params, grad, loss):
        return sgd(params, grad)
"""
    result = grade_optimizer(job(pool, source, budget=10**6))
    assert result.verdict is Verdict.INVALID_STEP, result.message
    assert result.message.startswith("instance 1, step "), result.message
    assert result.public_score is None and result.private_score is None


def test_random_bytes_anywhere_on_the_channel_end_the_run_with_a_verdict(
    pool: dict[str, Path],
) -> None:
    # Over the whole channel, commands included: the runner may misread its commands or
    # wait for a turn that was overwritten; the driver still ends the run with a verdict
    # against the solution within the time limit, never with a score or a platform fault.
    source = """
def scribble():
    rng = random.Random(2)
    while True:
        at = rng.randrange(AT.size)
        os.pwrite(FD, rng.randbytes(rng.randint(1, AT.size - at)), at)

class Optimizer:
    batch_size = 16

    def __init__(self):
        threading.Thread(target=scribble, daemon=True).start()

    def step(self, params, grad, loss):
        return sgd(params, grad)
"""
    started = time.monotonic()
    result = grade_optimizer(job(pool, source, time_s=3, budget=10**6))
    assert time.monotonic() - started < 30
    assert result.verdict in (Verdict.INVALID_STEP, Verdict.RUNTIME_ERROR, Verdict.TIME_LIMIT)
    assert result.message.startswith("instance 1"), result.message
    assert result.public_score is None and result.private_score is None


def test_a_step_that_never_returns_ends_at_the_time_limit_and_the_driver_sleeps(
    pool: dict[str, Path],
) -> None:
    source = """
class Optimizer:
    batch_size = 16
    n = 0

    def step(self, params, grad, loss):
        self.n += 1
        if self.n == 3:
            time.sleep(3600)
        return sgd(params, grad)
"""
    j = job(pool, source, time_s=2)
    X, y = np.load(pool["train_X"]), np.load(pool["train_y"])
    inst = make_instance(j.workload, task="regression", n_classes=None, pool_X=X, pool_y=y, seed=1)
    run = InstanceRun(index=0, part="public", n_train=inst.n_train, budget=j.workload.budget)
    sb = run_instance(get_sandbox(), j, inst, run, j.limits)
    assert sb.timed_out and run.ended == "failed" and run.steps == 2
    # The driver waited about 2 s for the third reply: a spin of SPIN_S, then asleep.
    assert run.step_seconds > 1.5
    assert run.step_cpu_seconds < 0.2, run.step_cpu_seconds
    result = grade_optimizer(j)
    assert result.verdict is Verdict.TIME_LIMIT
    assert result.message.startswith("instance 1"), result.message


def test_the_runner_sleeps_while_the_driver_computes_slow_gradients(
    tmp_path: Path,
) -> None:
    # Full batches of 2,000 rows through a 20-512-3 network: each gradient takes the driver
    # milliseconds, during which the runner spins at most SPIN_S and then sleeps, so its
    # step loop's CPU (waits included, as its process counts it) stays a small part of the
    # time it waited. The spin is the sandbox's CPU: this is what it costs a slow run.
    rng = np.random.RandomState(6)
    X = rng.normal(size=(2300, 20))
    y = rng.randint(0, 3, size=2300)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    workload = Workload(model="mlp", hidden=(512,), budget=2000 * 20, validation_rows=100)
    j = OptimizerJob(
        source="class Optimizer:\n    def step(self, params, grad, loss):\n"
        "        return [p - 0.01 * g for p, g in zip(params, grad)]\n",
        task="multiclass", n_classes=3, workload=workload, train_X=tmp_path / "X.npy",
        train_y=tmp_path / "y.npy", seeds=(1,), public_count=1, limits=Limits(time_s=60),
    )  # fmt: skip
    inst = make_instance(workload, task="multiclass", n_classes=3, pool_X=X, pool_y=y, seed=1)
    run = InstanceRun(index=0, part="public", n_train=inst.n_train, budget=workload.budget)
    sb = run_instance(get_sandbox(), j, inst, run, j.limits)
    assert run.ended == "budget" and run.steps == 20, (run.ended, sb.stderr[-500:])
    assert run.gradient_seconds > 0.1  # the driver really was slow
    loop_cpu = sb.report["loop_cpu_seconds"]
    assert loop_cpu < 0.1 * run.gradient_seconds, (loop_cpu, run.gradient_seconds)


@pytest.mark.skipif(get_sandbox().cgroups is None, reason="needs a cgroup (CPU quota)")
def test_under_a_cpu_quota_below_one_core_the_runner_does_not_spin(
    pool: dict[str, Path],
) -> None:
    # Spinning would spend the quota and get the sandbox throttled: every wait sleeps.
    quota = Sandbox(dataclasses.replace(get_sandbox().config, cpus=0.5))
    j = job(pool, "class Optimizer:\n    batch_size = 16\n    def step(self, p, g, loss):\n"
            "        return sgd(p, g)\n")  # fmt: skip
    X, y = np.load(pool["train_X"]), np.load(pool["train_y"])
    inst = make_instance(j.workload, task="regression", n_classes=None, pool_X=X, pool_y=y, seed=1)
    for sandbox, spins in ((quota, False), (get_sandbox(), True)):
        run = InstanceRun(index=0, part="public", n_train=inst.n_train, budget=j.workload.budget)
        sb = run_instance(sandbox, j, inst, run, j.limits)
        assert run.ended == "budget", sb.stderr[-500:]
        assert sb.report["spins"] is spins, sandbox.config.cpus
        if not spins:  # it waited for every step's command and for the end, asleep each time
            assert sb.report["blocked_waits"] == run.steps + 1


@pytest.mark.skipif(
    get_sandbox().level != "strong", reason="needs root and bwrap (the strong sandbox)"
)
def test_the_channel_works_under_the_strong_sandboxs_seccomp_filter(
    pool: dict[str, Path],
) -> None:
    source = """
class Optimizer:
    batch_size = 16

    def step(self, params, grad, loss):
        return sgd(params, grad)
"""
    # 500 steps: the turn bytes wrap around (they count modulo 256).
    result = grade_optimizer(job(pool, source, budget=8000))
    assert result.sandbox_level == "strong"
    assert result.verdict is Verdict.SCORED, result.message
    assert [i["steps"] for i in result.instances] == [500, 500]
