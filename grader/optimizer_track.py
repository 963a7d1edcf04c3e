"""The optimizer track's trusted driver: `grade_optimizer(job)`.

The participant writes `class Optimizer` with `step(params, grad, loss)`; the platform owns the
data, the model and the gradient. For each instance of the workload this process draws the
data (grader/workloads.py), starts the participant's runner in the sandbox
(grader/optimizer_runner.py, same bubblewrap and limits as the model track, watched by the
supervisor in a thread), and then drives it step by step over the step channel (a sealed
shared memory file and two wake-up pipes, see the runner's docstring): it draws the
mini-batch, computes the loss and gradient, sends (params, grad, loss) as raw float64 bytes,
copies the reply out of the shared file and only then checks it (its turn, flags and
finiteness), and counts the budget in examples. Nothing the sandbox writes is a size or an
offset the driver follows. Everything shown about the run (curves, examples, steps, scores,
diagnostics) is computed here; nothing the optimizer says about itself is believed.

A grading runs several instances from seeds the team does not know (the platform derives them
from its secret); the first `public_count` form the public part, the rest the private part,
and each part's score is the mean over its instances, with a bootstrap interval over the
public ones.
"""

from __future__ import annotations

import fcntl
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader import runtime as rt
from grader.contract import (
    DEFAULT_ALLOWED_IMPORTS,
    SOLUTION_MAX_BYTES,
    GradingResult,
    Limits,
    Verdict,
)
from grader.diagnostics import diagnose
from grader.errors import InternalError
from grader.grading import _verdict_from_run, get_sandbox, valid_text
from grader.optimizer_runner import (
    FLAG_FIRST,
    FLAG_STOP,
    FLAG_VALIDATE,
    KIND_END,
    KIND_STEP,
    REPLY_HEADER,
    STEP_HEADER,
    Channel,
    ChannelError,
    Layout,
)
from grader.sandbox import Sandbox, SandboxRun
from grader.workloads import BatchStream, Instance, Workload, make_instance

PROGRESS_INTERVAL_S = 0.5
CURVE_POINTS_STORED = 2000  # per instance: the training curve is downsampled to this
CURVE_POINTS_LIVE = 300
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20240601
MIN_INSTANCE_TIME_S = 0.5
PLATEAU_IMPROVEMENT = 1e-3  # the second half of the run improved the best loss by < 0.1%
STOPPED_EARLY_SHARE = 0.9  # stopped with more than 10% of the budget left

Progress = Callable[[dict], None]


@dataclass(frozen=True)
class OptimizerJob:
    """Everything needed to grade one optimizer. The rows never enter the sandbox."""

    source: str
    task: str
    workload: Workload
    train_X: Path  # the training pool: every instance draws its training and validation rows
    train_y: Path
    seeds: tuple[int, ...]  # one per instance; the first `public_count` are the public part
    public_count: int
    # Hidden rows (the platform): public instances are tested on the public part, private ones
    # on the private part. None (the starter kit's public instances): rows the pool leaves.
    test_X: Path | None = None
    test_y: Path | None = None
    public_mask: Path | None = None
    n_classes: int | None = None
    allowed_imports: tuple[str, ...] = DEFAULT_ALLOWED_IMPORTS
    seed: int = 42  # numpy's and random's seed inside the sandbox
    limits: Limits = field(default_factory=Limits)


@dataclass
class InstanceRun:
    """What the trusted driver measured on one instance."""

    index: int
    part: str  # "public" | "private"
    n_train: int
    budget: int
    steps: int = 0
    examples: int = 0
    ended: str = ""  # budget | stopped | target | failed
    train_loss: list[float] = field(default_factory=list)  # one per step (batch objective)
    train_examples: list[int] = field(default_factory=list)  # examples used after each step
    validation: list[tuple[int, float, bool]] = field(
        default_factory=list
    )  # (examples, loss, asked)
    reached_at: int | None = None
    score: float | None = None
    final_test_loss: float | None = None
    gradient_seconds: float = 0.0  # computing losses and gradients (the driver's own work)
    step_seconds: float = 0.0  # the step loop, from the first gradient to the end
    step_cpu_seconds: float = 0.0  # CPU time of this thread in the step loop (benchmark)
    wait_seconds: float = 0.0  # waiting for the replies (benchmark)
    blocked_waits: int = 0  # waits for a reply that went past the spin to the pipe (benchmark)
    loop_seconds: float = 0.0  # the whole instance, sandbox start included
    failure: tuple[Verdict, str] | None = None
    failure_message: str | None = None  # a private instance's failure, kept for the reveal

    def as_dict(self, *, points: int = CURVE_POINTS_STORED) -> dict:
        picked = _pick(len(self.train_loss), points)
        return {
            "index": self.index,
            "part": self.part,
            "n_train": self.n_train,
            "budget": self.budget,
            "steps": self.steps,
            "examples": self.examples,
            "ended": self.ended,
            "score": self.score,
            "test_loss": self.final_test_loss,
            "reached_at": self.reached_at,
            "seconds": round(self.loop_seconds, 4),
            "train": {
                "step": [i + 1 for i in picked],
                "examples": [self.train_examples[i] for i in picked],
                "loss": [_json_number(self.train_loss[i]) for i in picked],
            },
            "validation": [[e, _json_number(v), a] for e, v, a in self.validation],
            "diagnostics": optimizer_diagnostics(self),
            **({"failure": self.failure_message} if self.failure_message else {}),
        }


def _pick(n: int, points: int) -> list[int]:
    if n <= points:
        return list(range(n))
    step = n / points
    return sorted({int(i * step) for i in range(points - 1)} | {n - 1})


def _json_number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


# --- the step loop ----------------------------------------------------------------------

SEALS = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL
STEP_FLAGS = FLAG_VALIDATE | FLAG_STOP  # what a reply to a step may carry


class _Link:
    """The driver's end of the step channel (see grader/optimizer_runner.py): the memory file,
    sealed at its size so the sandbox can neither shrink nor grow it, the wake-up pipes, and
    the driver's private buffers. `theta`, the current parameters, lives in the command buffer
    and the gradient is computed into it, so a step goes out in one write; a reply comes in
    with one read into a private buffer, and only that copy is checked and believed."""

    def __init__(self, n: int) -> None:
        self.at = at = Layout(n)
        self.fd = os.memfd_create("optimizer-steps", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        self.cmd_r, self.cmd_w = os.pipe()
        self.reply_r, self.reply_w = os.pipe()
        os.ftruncate(self.fd, at.size)
        fcntl.fcntl(self.fd, fcntl.F_ADD_SEALS, SEALS)
        os.set_blocking(self.cmd_w, False)  # a full pipe of wake-ups is never waited on
        self.channel = Channel(
            self.fd, self.reply_r, self.cmd_w, post_at=0, wait_turn=at.reply_turn
        )
        self.out = bytearray(at.cmd_size)
        self.theta = np.frombuffer(self.out, np.float64, n, STEP_HEADER.size)
        self.grad = np.frombuffer(self.out, np.float64, n, STEP_HEADER.size + 8 * n)
        self.reply = bytearray(at.reply_size)
        self.reply_params = np.frombuffer(self.reply, np.float64, n, REPLY_HEADER.size)

    def sandbox_fds(self) -> dict[str, int]:
        return {"channel_fd": self.fd, "cmd_fd": self.cmd_r, "reply_fd": self.reply_w}

    def send(self, kind: int, step: int, used: int, loss: float, validation: float) -> bool:
        """Write the command (header, `theta`, `grad`) and its turn; False if the sandbox is
        gone."""
        STEP_HEADER.pack_into(self.out, 0, kind, step, used, loss, validation)
        try:
            return self.channel.post([self.out]) == self.at.cmd_size + 1
        except OSError:
            return False

    def receive(self) -> bool:
        """Wait for the next reply and copy it into `reply`; False if the sandbox is gone.
        Raises ChannelError when the sandbox wrote out of turn."""
        if not self.channel.wait():
            return False
        return os.preadv(self.fd, [self.reply], self.at.reply_at) == self.at.reply_size


def _drive(
    inst: Instance, workload: Workload, link: _Link, run: InstanceRun,
    progress: Callable[[InstanceRun, bool], None] | None,
) -> None:  # fmt: skip
    """The step loop of one instance (see the module docstring); fills `run`."""
    try:
        _steps(inst, workload, link, run, progress)
    except ChannelError as exc:
        run.ended = "failed"
        run.examples = run.train_examples[-1] if run.train_examples else 0
        step = max(len(run.train_loss) - 1, 0)  # the step whose reply was due
        run.failure = (
            Verdict.INVALID_STEP,
            f"instance {run.index + 1}, step {step}: the optimizer's process wrote to the "
            f"platform's step channel out of turn ({exc})",
        )


def _steps(
    inst: Instance, workload: Workload, link: _Link, run: InstanceRun,
    progress: Callable[[InstanceRun, bool], None] | None,
) -> None:  # fmt: skip
    """The step loop of one instance: batch, gradient, hand-off, checks, budget, curve.

    Kept as one function on purpose: it runs up to a million times per instance with a per-step
    budget of a few tens of microseconds (benchmarks/optimizer_step.py), and every call or
    attribute lookup taken out of it shows in that figure; its parts are named by comments.
    """
    model = inst.model
    n_train, budget = inst.n_train, workload.budget
    val_every = workload.validate_every or n_train
    val_cost = workload.validation_cost or len(inst.y_val)
    target = workload.target if workload.scoring == "budget_to_target" else None
    stream = BatchStream(n_train, inst.batch_rng)
    theta, grad, new = link.theta, link.grad, link.reply_params
    theta[:] = inst.theta0
    X, y, X_val, y_val = inst.X, inst.y, inst.X_val, inst.y_val
    if not link.receive():  # the first reply: the batch size before the first step
        run.ended = "failed"
        return
    flags, batch = REPLY_HEADER.unpack_from(link.reply)
    if flags != FLAG_FIRST:
        raise ChannelError(f"flags {flags:#x} in the first reply")
    first = model.data_loss(theta, X_val, y_val)
    run.validation.append((0, first, False))
    if target is not None and first <= target:
        run.reached_at, run.ended = 0, "target"
        link.send(KIND_END, 0, 0, 0.0, 0.0)
        return
    next_val = val_every
    used = step = 0
    pending = math.nan
    gradient_seconds = 0.0
    perf = time.perf_counter
    next_report = perf() + PROGRESS_INTERVAL_S
    losses, examples = run.train_loss, run.train_examples
    loss_grad, send, wait = model.loss_grad, link.send, link.channel.wait
    fd, reply, unpack, preadv = link.fd, link.reply, REPLY_HEADER.unpack_from, os.preadv
    reply_at, reply_size = link.at.reply_at, link.at.reply_size
    waited = 0.0
    norm2, isfinite = new.dot, math.isfinite
    loop_started, cpu_started = perf(), time.thread_time()
    # A batch is never smaller than the workload's minimum: a smaller request is raised to it,
    # and a remainder of the budget below it is not spent (the run ends at the budget).
    min_batch = min(workload.min_batch_size, n_train)
    while used < budget:
        size = n_train if batch <= 0 else min(max(batch, min_batch), n_train)
        size = min(size, budget - used)
        if size < min_batch:
            run.ended = "budget"
            break
        idx = stream.take(size)
        t0 = perf()
        if idx is None:
            loss = loss_grad(theta, X, y, grad)
        else:
            loss = loss_grad(theta, X[idx], y[idx], grad)
        gradient_seconds += perf() - t0
        used += size
        losses.append(loss)
        examples.append(used)
        if not send(KIND_STEP, step, used, loss, pending):
            run.ended = "failed"
            break
        t0 = perf()
        arrived = wait()
        waited += perf() - t0
        if not arrived or preadv(fd, [reply], reply_at) != reply_size:
            run.ended = "failed"
            break
        pending = math.nan
        flags, batch = unpack(reply)
        if flags & ~STEP_FLAGS:
            raise ChannelError(f"flags {flags:#x} in a reply to a step")
        if flags & FLAG_STOP:
            run.ended = "stopped"
            if step == 0:
                run.failure = (
                    Verdict.INVALID_STEP,
                    f"instance {run.index + 1}, step 0: the optimizer stopped before its first "
                    "step (step() returned None): no training happened",
                )
            break
        # One dot product is finite when every entry is (a huge but finite one that overflows
        # is checked entry by entry before anything is refused).
        if not isfinite(norm2(new)) and not np.isfinite(new).all():
            bad = int(np.flatnonzero(~np.isfinite(new))[0])
            run.failure = (
                Verdict.INVALID_STEP,
                f"instance {run.index + 1}, step {step}: parameter {model.locate(bad)} is "
                f"{new[bad]} (every parameter must be a finite number)",
            )
            run.ended = "failed"
            break
        theta[...] = new
        step += 1
        if flags & FLAG_VALIDATE:
            if budget - used >= val_cost:
                used += val_cost
                pending = model.data_loss(theta, X_val, y_val)
                run.validation.append((used, pending, True))
                if target is not None and pending <= target:
                    run.reached_at, run.ended = used, "target"
                    break
        if used >= next_val:
            value = model.data_loss(theta, X_val, y_val)
            run.validation.append((used, value, False))
            next_val = (used // val_every + 1) * val_every
            if target is not None and value <= target:
                run.reached_at, run.ended = used, "target"
                break
        if progress is not None and perf() >= next_report:
            next_report = perf() + PROGRESS_INTERVAL_S
            run.steps, run.examples = step, used
            progress(run, False)
    else:
        run.ended = "budget"
    if run.ended != "failed":
        link.send(KIND_END, 0, 0, 0.0, 0.0)
    if run.validation and run.validation[-1][0] != used and run.ended != "failed":
        run.validation.append((used, model.data_loss(theta, X_val, y_val), False))
    run.step_seconds = perf() - loop_started
    run.step_cpu_seconds = time.thread_time() - cpu_started
    run.blocked_waits = link.channel.blocked
    run.wait_seconds = waited
    run.steps, run.examples = step, used
    run.gradient_seconds = gradient_seconds
    run.final_test_loss = model.data_loss(theta, inst.X_test, inst.y_test)
    if workload.scoring == "budget_to_target":
        run.score = float(
            run.reached_at if run.reached_at is not None else budget + workload.penalty
        )
    else:
        run.score = run.final_test_loss


# --- one instance in the sandbox ----------------------------------------------------------


def _runner_spins(sandbox: Sandbox) -> bool:
    """Whether the runner may spin while it waits: not under a CPU quota below one core, where
    its spin would spend the quota and get the sandbox throttled."""
    cpus = sandbox.config.cpus
    return sandbox.cgroups is None or cpus == 0 or cpus >= 1


def run_instance(
    sandbox: Sandbox, job: OptimizerJob, inst: Instance, run: InstanceRun, limits: Limits,
    progress: Callable[[InstanceRun, bool], None] | None = None,
) -> SandboxRun:  # fmt: skip
    """Start the runner in the sandbox, drive it through `inst`, and wait for its end."""
    model, workload = inst.model, job.workload
    init = {
        "shapes": [[name, list(shape)] for name, shape in model.shapes],
        "n_parameters": model.size,
        "budget": workload.budget,
        "n_train": inst.n_train,
        "validation_cost": workload.validation_cost or len(inst.y_val),
        "min_batch_size": min(workload.min_batch_size, inst.n_train),
    }
    link = _Link(model.size)
    source_fd = os.memfd_create("solution.py", os.MFD_CLOEXEC)
    os.write(source_fd, job.source.encode("utf-8", errors="surrogatepass"))
    os.lseek(source_fd, 0, os.SEEK_SET)
    sandbox_ends = [link.cmd_r, link.reply_w, source_fd]
    outcome: dict = {}

    def supervise() -> None:
        try:
            outcome["run"] = sandbox.run(
                {
                    "seed": job.seed,
                    "allowed_imports": list(job.allowed_imports),
                    "init": init,
                    "spin": _runner_spins(sandbox),
                },
                {**link.sandbox_fds(), "source_fd": source_fd},
                limits,
                array_cap=4096,
                entry=rt.OPTIMIZER_MODULE,
            )
        except BaseException as exc:  # noqa: BLE001 - re-raised in the driver's thread
            outcome["error"] = exc
        finally:
            # The sandbox is gone: closing our copies of its ends ends the driver's waits.
            for fd in sandbox_ends:
                os.close(fd)

    watcher = threading.Thread(target=supervise, name="optimizer-sandbox", daemon=True)
    watcher.start()
    started = time.monotonic()
    try:
        _drive(inst, workload, link, run, progress)
    finally:
        run.loop_seconds = time.monotonic() - started
        os.close(link.cmd_w)  # the runner's wait ends if it is still waiting
        link.cmd_w = -1
        watcher.join()
        os.close(link.reply_r)
        os.close(link.fd)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["run"]


def _instance_verdict(
    run: InstanceRun, sb: SandboxRun, limits: Limits
) -> tuple[Verdict, str] | None:
    if not sb.ready:
        raise InternalError(
            "the sandbox failed before the optimizer started "
            f"(exit status {sb.exit_status}): {sb.stderr[-2000:].strip()}"
        )
    where = f"instance {run.index + 1}"
    if sb.timed_out:
        return Verdict.TIME_LIMIT, (
            f"{where}: the run took longer than the {limits.time_s:.3g} s left of the time limit "
            f"(at step {run.steps}, {run.examples} examples)"
        )
    if run.failure is not None and not (sb.output_exceeded or sb.memory_exceeded_kb):
        return run.failure
    ended = _verdict_from_run(sb, limits)
    if ended is not None:
        verdict, message = ended
        if verdict is Verdict.TIME_LIMIT:
            message = f"{where}: the optimizer used more than the time limit"
        return verdict, f"{where}: {message}" if not message.startswith(where) else message
    if run.ended == "failed":
        return Verdict.RUNTIME_ERROR, f"{where}: the optimizer's process ended at step {run.steps}"
    return None


# --- the whole grading --------------------------------------------------------------------

PRIVATE_OUTPUT_NOTE = "\n[the output of private instances is not shown]\n"
_PRIVATE_FAILURES = {
    Verdict.TIME_LIMIT: "the time limit was used up",
    Verdict.MEMORY_LIMIT: "the memory limit was reached",
    Verdict.OUTPUT_LIMIT: "the optimizer wrote more than the output limit",
    Verdict.INVALID_STEP: "the optimizer returned a step the platform cannot accept",
    Verdict.FORBIDDEN_IMPORT: "the solution imported a module the challenge does not allow",
}


def _private_failure(verdict: Verdict, index: int) -> str:
    """The message of a failure on a private instance: its kind only. The step, the figures
    and the text the optimizer chose would tell what it saw there (its examples: the score)."""
    what = _PRIVATE_FAILURES.get(verdict, "the optimizer failed")
    return (
        f"instance {index + 1} (a private instance): {what}. What happened there is shown with "
        "the private board; run `hackathon evaluate` on the public instances to debug."
    )


def _load(path: Path, what: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InternalError(f"cannot read {what} from {path}: {exc}") from exc


def bootstrap_mean_ci(values: list[float]) -> tuple[float, float] | None:
    """Percentile 95% interval of the mean of `values` (instance scores) resampled."""
    data = np.asarray(values, dtype=np.float64)
    if data.size < 2:
        return None
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    means = data[rng.integers(0, data.size, size=(BOOTSTRAP_RESAMPLES, data.size))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def grade_optimizer(
    job: OptimizerJob, *, progress: Progress | None = None, sandbox: Sandbox | None = None
) -> GradingResult:
    """Run the optimizer on every instance of `job` and score it on the trusted side.

    Never raises for participant faults (they are verdicts, naming the instance and the step);
    raises InternalError for platform faults. `progress(event)` gets, about twice a second, the
    current instance's live curves (public instances only: a private instance's curves would
    hint at the private score).
    """
    started = time.monotonic()
    sandbox = sandbox or get_sandbox()
    result = GradingResult(Verdict.SCORED, sandbox_level=sandbox.level.value)
    if len(job.source.encode("utf-8", errors="surrogatepass")) > SOLUTION_MAX_BYTES:
        result.verdict = Verdict.SYNTAX_ERROR
        result.message = f"solution.py is larger than {SOLUTION_MAX_BYTES} bytes"
        return result
    shown = _ShownOutput()
    runs = _run_instances(job, sandbox, result, shown, _live_reporter(progress, len(job.seeds)))
    _summarise(result, runs, shown)
    if result.verdict is Verdict.SCORED:
        _score(result, runs)
    result.wall_seconds = time.monotonic() - started
    return result


@dataclass
class _ShownOutput:
    """What the submission shows of the runs: public instances' output, memory and time."""

    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    peak_kb: int = 0


def _live_reporter(progress: Progress | None, total: int) -> Callable[[InstanceRun, bool], None]:
    def report(run: InstanceRun, done: bool) -> None:
        if progress is None:
            return
        event: dict = {
            "instance": run.index, "instances": total, "part": run.part,
            "budget": run.budget, "done": done,
        }  # fmt: skip
        if run.part == "public":
            # A private instance's progress says only that it runs: its examples at the end
            # are its score when the scoring is budget to target.
            event["steps"], event["examples"] = run.steps, run.examples
            picked = _pick(len(run.train_loss), CURVE_POINTS_LIVE)
            event["loss_curve"] = [_json_number(run.train_loss[i]) for i in picked]
            event["curve_examples"] = [run.train_examples[i] for i in picked]
            event["validation"] = [[e, _json_number(v)] for e, v, _ in run.validation]
        try:
            progress(event)
        except Exception:  # noqa: BLE001, S110 - a live view must not stop grading
            pass

    return report


def _job_data(job: OptimizerJob) -> tuple[np.ndarray, np.ndarray, tuple | None]:
    """The training pool and, when the job has them, the hidden rows, labels and public mask."""
    pool_X = _load(job.train_X, "the training pool").astype(np.float64, copy=False)
    pool_y = _load(job.train_y, "the training labels")
    hidden = None
    if job.test_X is not None and job.test_y is not None and job.public_mask is not None:
        mask = _load(job.public_mask, "the public mask").astype(bool)
        hidden = (
            _load(job.test_X, "the hidden rows"),
            _load(job.test_y, "the hidden labels"),
            mask,
        )
    return pool_X, pool_y, hidden


def _run_instances(
    job: OptimizerJob,
    sandbox: Sandbox,
    result: GradingResult,
    shown: _ShownOutput,
    report: Callable[[InstanceRun, bool], None],
) -> list[InstanceRun]:
    """Each instance in turn, in its own sandbox run, until one fails or the time is used up
    (then `result` holds the verdict)."""
    pool_X, pool_y, hidden = _job_data(job)
    total = len(job.seeds)
    runs: list[InstanceRun] = []
    used_s = 0.0
    for index, seed in enumerate(job.seeds):
        part = "public" if index < job.public_count else "private"
        test_X = test_y = None
        if hidden is not None:
            rows = hidden[2] if part == "public" else ~hidden[2]
            test_X, test_y = hidden[0][rows], hidden[1][rows]
        inst = make_instance(
            job.workload, task=job.task, n_classes=job.n_classes, pool_X=pool_X, pool_y=pool_y,
            seed=seed, test_X=test_X, test_y=test_y,
        )  # fmt: skip
        run = InstanceRun(index=index, part=part, n_train=inst.n_train, budget=job.workload.budget)
        left = job.limits.time_s - used_s
        if left < MIN_INSTANCE_TIME_S:
            result.verdict = Verdict.TIME_LIMIT
            result.message = (
                f"instance {index + 1} of {total}: the {job.limits.time_s:g} s time limit "
                "(for all instances together) was used up"
            )
            break
        limits = Limits(**{**job.limits.__dict__, "time_s": left})
        sb = run_instance(sandbox, job, inst, run, limits, report)
        used_s += sb.run_seconds
        runs.append(run)
        failed = _instance_verdict(run, sb, limits)
        # A private instance's process saw that instance's losses and examples (its score,
        # ranked by budget to target): what it prints, the memory it holds and the time it
        # takes are not shown, nor what its failure says (kept in its instance record,
        # shown with the private board).
        if part == "public":
            shown.stdout.append(sb.stdout)
            shown.stderr.append(sb.stderr)
            shown.peak_kb = max(shown.peak_kb, sb.peak_memory_kb or 0)
        elif failed is not None:
            run.failure_message = valid_text(failed[1])
            failed = failed[0], _private_failure(failed[0], run.index)
        report(run, True)
        if failed is not None:
            result.verdict, result.message = failed
            break
    return runs


def _summarise(result: GradingResult, runs: list[InstanceRun], shown: _ShownOutput) -> None:
    """Instances, output, memory, time, curve and diagnostics, from public instances only."""
    result.instances = [r.as_dict() for r in runs]
    if any(r.part == "private" for r in runs) and any(shown.stdout + shown.stderr):
        shown.stdout.append(PRIVATE_OUTPUT_NOTE)
    result.stdout = valid_text("".join(shown.stdout))
    result.stderr = valid_text("".join(shown.stderr))
    result.message = valid_text(result.message)
    result.peak_memory_mb = shown.peak_kb / 1024 if shown.peak_kb else None
    result.fit_seconds = sum(r.loop_seconds for r in runs if r.part == "public")
    result.predict_seconds = None
    first = next((r for r in runs if r.part == "public"), None)
    if first is not None:
        result.loss_curve = [first.train_loss[i] for i in _pick(len(first.train_loss), 400)]
        result.diagnostics = [
            {**d, "title": f"Instance {r.index + 1}: {d['title']}"}
            for r in runs
            if r.part == "public"
            for d in optimizer_diagnostics(r)
        ]


def _score(result: GradingResult, runs: list[InstanceRun]) -> None:
    """The mean score of the public and of the private instances, with the public CI."""
    public = [r.score for r in runs if r.part == "public" and r.score is not None]
    private = [r.score for r in runs if r.part == "private" and r.score is not None]
    if not public or any(not math.isfinite(s) for s in public + private):
        bad = next((r for r in runs if r.score is None or not math.isfinite(r.score)), None)
        result.verdict = Verdict.INVALID_STEP
        result.message = (
            f"instance {(bad.index + 1) if bad else 1}: the final parameters give a "
            "loss that is not a finite number"
        )
        return
    result.public_score = float(np.mean(public))
    result.private_score = float(np.mean(private)) if private else None
    result.public_ci = bootstrap_mean_ci(public)
    # Public instances only: a budget-to-target run stops at the target, so the private
    # instances' examples would reveal the private score.
    shown = [r for r in runs if r.part == "public"]
    result.extra_scores = {
        "examples_mean": float(np.mean([r.examples for r in shown])),
        "steps_mean": float(np.mean([r.steps for r in shown])),
    }


# --- diagnostics ----------------------------------------------------------------------------


def _finding(code: str, title: str, detail: str) -> dict[str, str]:
    return {"code": code, "title": title, "detail": detail}


def optimizer_diagnostics(run: InstanceRun) -> list[dict[str, str]]:
    """Diverged, oscillating, plateaued, stopped early: read from the trusted curves."""
    findings: list[dict[str, str]] = []
    bad = next((i for i, v in enumerate(run.train_loss) if not math.isfinite(v)), None)
    if bad is not None:
        return [
            _finding(
                "diverged",
                "Training diverged",
                f"The training loss became {run.train_loss[bad]} at step {bad}: lower the "
                "learning rate, or clip the step.",
            )
        ]
    values = [v for _, v, _ in run.validation]
    for finding in diagnose(values):
        if finding["code"] in ("diverged", "oscillating"):
            finding = dict(finding)
            finding["detail"] = finding["detail"].replace("epoch", "validation point")
            findings.append(finding)
    if run.ended == "stopped" and run.examples < STOPPED_EARLY_SHARE * run.budget:
        findings.append(
            _finding(
                "stopped_early",
                "Stopped early",
                f"The optimizer stopped after {run.examples:,} of {run.budget:,} examples "
                f"({run.steps} steps).",
            )
        )
    if len(values) >= 6 and not any(f["code"] == "diverged" for f in findings):
        half = len(values) // 2
        best_first, best_all = min(values[:half]), min(values)
        if best_first - best_all <= PLATEAU_IMPROVEMENT * max(abs(best_first), 1e-12):
            at = run.validation[values.index(best_first)][0]
            findings.append(
                _finding(
                    "plateaued",
                    "Plateaued",
                    f"The validation loss stopped improving at {best_first:.4g} after {at:,} "
                    "examples: the second half of the run bought nothing (a saddle or a too "
                    "small step; a schedule, momentum or stopping early would help).",
                )
            )
    return findings
