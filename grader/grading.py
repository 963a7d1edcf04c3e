"""`grade(job)`: sandbox run, then validation and scoring on the trusted side."""

from __future__ import annotations

import functools
import io
import math
import os
import re
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numpy.lib import format as npy_format

from grader import protocol, scoring, training_loss
from grader.contract import (
    SOLUTION_MAX_BYTES,
    GradingJob,
    GradingResult,
    Limits,
    SandboxLevel,
    Verdict,
)
from grader.diagnostics import diagnose
from grader.errors import ConfigError, InternalError
from grader.protocol import Phase
from grader.runtime import DENIED_MODULES
from grader.sandbox import Sandbox, SandboxConfig
from grader.supervisor import OUTPUT_HARD_FACTOR, SandboxRun

_sandbox: Sandbox | None = None
_sandbox_lock = threading.Lock()


def get_sandbox() -> Sandbox:
    """The process-wide sandbox (runtime built once, configuration from the environment)."""
    global _sandbox
    with _sandbox_lock:
        if _sandbox is None:
            _sandbox = Sandbox(SandboxConfig.from_env())
        return _sandbox


def prewarm() -> None:
    """Do once per worker process what every grade needs: the sandbox and its runtime.

    Not scikit-learn: only some metrics need it (scoring.compute_metric imports it then),
    and its import would cost every new worker and every `hackathon evaluate` 0.6 s."""
    get_sandbox()


def _load_trusted(path: Path, what: str) -> np.ndarray:
    """A trusted array (hidden labels, the public mask), read-only; a worker grades the same
    challenge over and over, so the latest few are kept, by path and file identity."""
    try:
        st = os.stat(path)
        return _load_kept(str(path), st.st_ino, st.st_size, st.st_mtime_ns)
    except (OSError, ValueError) as exc:
        raise InternalError(f"cannot read {what} from {path}: {exc}") from exc


@functools.lru_cache(maxsize=8)
def _load_kept(path: str, inode: int, size: int, mtime_ns: int) -> np.ndarray:
    array = np.load(path, allow_pickle=False)
    array.flags.writeable = False
    return array


def _open_data(path: Path) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise InternalError(f"cannot open {path}: {exc}") from exc


def _check_job(job: GradingJob) -> None:
    if job.task not in scoring.TASKS:
        raise InternalError(f"unknown task {job.task!r}")
    for name in (job.metric, *job.extra_metrics):
        metric = scoring.METRICS.get(name)
        if metric is None:
            raise InternalError(f"unknown metric {name!r}")
        if job.task not in metric.tasks:
            raise InternalError(f"metric {name} does not apply to a {job.task} task")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(text: str | None) -> str:
    """`text` as valid UTF-8: lone surrogates (untrusted text can hold them) become U+FFFD."""
    text = text or ""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def _number(value: object) -> float | None:
    """A finite float from an untrusted JSON value, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _parse_array(
    name: str, header: dict, body: bytes
) -> tuple[np.ndarray | None, list | None, str | None]:
    """(array or None, shape from the header, dtype when no array came) of an array answer."""
    shape = header.get("shape")
    if not (isinstance(shape, list) and all(isinstance(n, int) for n in shape)):
        shape = None
    if not body:
        return None, shape, str(header.get("dtype"))
    return _npy(body), shape, None


def _npy(body: bytes) -> np.ndarray:
    """The array of untrusted .npy bytes. Its header's shape and type must account for exactly
    the bytes that follow (np.load would first allocate whatever the header declares: a
    forged 2**40-element header is a MemoryError in this process)."""
    stream = io.BytesIO(body)
    try:
        version = npy_format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(stream)
        else:
            shape, fortran, dtype = npy_format.read_array_header_2_0(stream)
    except (ValueError, OSError, EOFError, TypeError) as exc:
        raise scoring.InvalidPredictions(f"the predictions could not be read: {exc}") from exc
    count = math.prod(shape)
    held = len(body) - stream.tell()
    if dtype.hasobject or dtype.itemsize == 0 or count * dtype.itemsize != held:
        raise scoring.InvalidPredictions(
            f"the predictions could not be read: the array's header declares shape {shape} "
            f"of {dtype}, and {held} bytes of data follow it"
        )
    if dtype.subdtype is not None or dtype.fields is not None:
        raise scoring.InvalidPredictions(f"predictions must be numbers, got dtype {dtype}")
    try:
        arr = np.frombuffer(body, dtype=dtype, count=count, offset=stream.tell())
        return arr.reshape(shape, order="F" if fortran else "C").copy()
    except (ValueError, TypeError) as exc:
        raise scoring.InvalidPredictions(f"the predictions could not be read: {exc}") from exc


def _verdict_from_run(run: SandboxRun, limits: Limits) -> tuple[Verdict, str] | None:
    """A verdict decided by how the run ended (None: go on and score)."""
    if run.output_exceeded:
        hard = max(limits.output_bytes * OUTPUT_HARD_FACTOR, 1024 * 1024)
        return Verdict.OUTPUT_LIMIT, (
            f"the solution wrote more than {hard // 1024} KiB to {run.output_exceeded} "
            f"(the first {limits.output_bytes // 1024} KiB are kept)"
        )
    if run.memory_exceeded_kb is not None and run.memory_control == "cgroup":
        return Verdict.MEMORY_LIMIT, (
            f"the sandbox's processes and files reached the {limits.memory_mb} MiB memory limit "
            f"together (peak {run.memory_exceeded_kb / 1024:.0f} MiB, as the kernel counted it: "
            "memory, shared memory and files in /tmp and /work); the kernel stopped it"
        )
    if run.memory_exceeded_kb is not None:
        return Verdict.MEMORY_LIMIT, (
            f"the sandbox's processes and files used {run.memory_exceeded_kb / 1024:.0f} MiB "
            f"together, over the {limits.memory_mb} MiB memory limit"
        )
    if run.timed_out:
        return Verdict.TIME_LIMIT, (
            f"loading solution.py, fit and predict took longer than {limits.time_s:g} s"
        )
    if run.error is not None:
        message = run.error["message"]
        verdict = {
            "syntax": Verdict.SYNTAX_ERROR,
            "forbidden_import": Verdict.FORBIDDEN_IMPORT,
            "memory": Verdict.MEMORY_LIMIT,
            "rule": Verdict.RULE_VIOLATION,
            "contract": Verdict.RUNTIME_ERROR,
            "step": Verdict.INVALID_STEP,
        }.get(run.error["kind"], Verdict.RUNTIME_ERROR)
        if verdict is Verdict.MEMORY_LIMIT:
            message = (
                f"the solution needed more than the {limits.memory_mb} MiB memory limit\n\n"
                + message
            )
        return verdict, message
    if run.protocol_error:
        return Verdict.INVALID_PREDICTIONS, run.protocol_error
    status = run.exit_status
    if run.phase is not Phase.FINISHED:
        if status is not None and (status < 0 or status > 128):
            number = -status if status < 0 else status - 128
            if number in (signal.SIGXCPU, signal.SIGKILL) and run.run_seconds >= limits.time_s:
                return Verdict.TIME_LIMIT, f"fit and predict used more than {limits.time_s:g} s"
            if number == signal.SIGXCPU:
                return Verdict.TIME_LIMIT, "the solution used up its CPU time"
            return Verdict.RUNTIME_ERROR, (
                f"the solution's process was killed by {_signal_name(number)}"
                + ("\n\n" + run.stderr[-2000:] if run.stderr else "")
            )
        return Verdict.RUNTIME_ERROR, (
            f"the solution exited (status {status}) before returning its predictions"
        )
    return None


def grade(
    job: GradingJob,
    *,
    progress: Callable[[list[float]], None] | None = None,
    sandbox: Sandbox | None = None,
) -> GradingResult:
    """Run `job.source` in the sandbox and score its predictions on the hidden labels.

    Never raises for participant faults (they are verdicts); raises InternalError for platform
    faults. `progress(loss_curve)` is called from this thread while the solution trains.
    `sandbox` defaults to the process-wide one configured from the environment.
    """
    started = time.monotonic()
    _check_job(job)
    sandbox = sandbox or get_sandbox()
    source = job.source.encode("utf-8", errors="surrogatepass")
    if len(source) > SOLUTION_MAX_BYTES:
        return GradingResult(
            Verdict.SYNTAX_ERROR,
            f"solution.py is {len(source)} bytes; the limit is {SOLUTION_MAX_BYTES}",
            sandbox_level=sandbox.level.value,
        )
    hidden = _hidden_labels(job)
    run = _run_solution(job, sandbox, source, hidden, progress)
    result = _judge(run, job, sandbox, hidden)
    result.wall_seconds = time.monotonic() - started
    return result


class _Hidden(NamedTuple):
    """The hidden labels and what follows from them (read on the trusted side only)."""

    y_true: np.ndarray
    public_mask: np.ndarray
    n_rows: int
    n_classes: int | None


def _hidden_labels(job: GradingJob) -> _Hidden:
    y_true = _load_trusted(job.test_y, "the hidden labels")
    public_mask = _load_trusted(job.public_mask, "the public mask").astype(bool)
    if public_mask.shape != y_true.shape[:1]:
        raise InternalError("public_mask and test_y have different numbers of rows")
    n_classes = None
    if job.task != "regression":
        y_true = y_true.astype(np.int64)
        n_classes = job.n_classes or (
            2
            if job.task == "binary"
            else int(max(y_true.max(), _load_trusted(job.train_y, "the training labels").max())) + 1
        )
    return _Hidden(y_true, public_mask, int(y_true.shape[0]), n_classes)


def _run_solution(
    job: GradingJob,
    sandbox: Sandbox,
    source: bytes,
    hidden: _Hidden,
    progress: Callable[[list[float]], None] | None,
) -> SandboxRun:
    """The run of the solution in the sandbox: the data and the solution handed over as file
    descriptors (closed here afterwards), the harness told what to ask for."""
    names = (job.metric, *job.extra_metrics)
    needs_proba = any(scoring.METRICS[m].needs_proba for m in names)
    needs_labels = any(not scoring.METRICS[m].needs_proba for m in names)
    train_rows = _training_rows(job)
    array_cap = max(hidden.n_rows, train_rows) * max(hidden.n_classes or 1, 2) * 8 + 4096
    fds: dict[str, int] = {}
    try:
        for key, path in (
            ("train_X_fd", job.train_X),
            ("train_y_fd", job.train_y),
            ("test_X_fd", job.test_X),
        ):
            fds[key] = _open_data(path)
        source_fd = os.memfd_create("solution.py", os.MFD_CLOEXEC)
        fds["source_fd"] = source_fd
        os.write(source_fd, source)
        os.lseek(source_fd, 0, os.SEEK_SET)
        harness_config = {
            "task": job.task,
            "metric": job.metric,
            "n_classes": hidden.n_classes,
            "seed": job.seed,
            "allowed_imports": list(job.allowed_imports),
            "absent_modules": sorted(DENIED_MODULES - set(sandbox.config.runtime_extras)),
            "gradient_descent_only": job.gradient_descent_only,
            "needs_proba": needs_proba,
            "needs_labels": needs_labels,
            "training_rows": train_rows,
        }
        return sandbox.run(harness_config, fds, job.limits, array_cap=array_cap, progress=progress)
    finally:
        for fd in fds.values():
            os.close(fd)


def _judge(run: SandboxRun, job: GradingJob, sandbox: Sandbox, hidden: _Hidden) -> GradingResult:
    """The result of a run: its measured figures, then the verdict (a limit, a rule, or the
    predictions scored on the hidden labels). A run the platform broke raises InternalError."""
    result = _measured_result(run, job)
    result.sandbox_level = sandbox.level.value
    if run.report and _training_rows(job):
        result.training_loss = _training_loss(run, job, hidden.n_classes)
    if not run.ready:
        raise InternalError(
            "the sandbox failed before the solution started "
            f"(exit status {run.exit_status}): {run.stderr[-2000:].strip()}"
        )
    if (
        run.exit_status is not None
        and run.exit_status < 0
        and not run.stopped
        and run.memory_exceeded_kb is None
        and sandbox.level is not SandboxLevel.DEGRADED
    ):
        # bwrap itself (outside the solution's reach) died of a signal nobody here sent: the
        # host or another program killed it. Not the team's verdict: retried elsewhere.
        raise InternalError(
            f"the sandbox was killed from outside by {_signal_name(-run.exit_status)} "
            "while the solution ran (not by a limit of the run)"
        )
    ended = _verdict_from_run(run, job.limits) or _rule_verdict(result, job)
    if ended is not None:
        result.verdict, result.message = ended
    else:
        try:
            _score_into(result, run, job, *hidden)
        except scoring.InvalidPredictions as exc:
            result.verdict, result.message = Verdict.INVALID_PREDICTIONS, str(exc)
    _explain_divergence(result)
    # Text from the sandbox may hold lone surrogates (JSON "\\udcff"): valid UTF-8 from here on.
    result.message = valid_text(result.message)
    result.stdout = valid_text(result.stdout)
    result.stderr = valid_text(result.stderr)
    return result


def _measured_result(run: SandboxRun, job: GradingJob) -> GradingResult:
    """The figures of a run: measured by trusted code, or answered and validated here."""
    load = run.measured.get(Phase.LOADING)
    fit = run.measured.get(Phase.FITTING)
    predict = run.measured.get(Phase.PREDICTING)
    # Training time counts from solution.py's first line: work done while the module loads or
    # Model() is built (training at import time) is training too, not a free 0 s fit.
    fit_wall = None if fit is None else fit.wall + (load.wall if load is not None else 0.0)
    result = GradingResult(
        Verdict.SCORED,
        stdout=run.stdout,
        stderr=run.stderr,
        peak_memory_mb=None if run.peak_memory_kb is None else run.peak_memory_kb / 1024,
        fit_seconds=fit_wall,
        predict_seconds=None if predict is None else predict.wall,
    )
    cpu = [m.cpu for m in (load, fit, predict) if m is not None]
    if cpu and all(c is not None for c in cpu):
        result.cpu_seconds = sum(cpu)  # type: ignore[arg-type]
    report = run.report
    curve = protocol.floats(report.get("loss_curve")) if report else None
    result.loss_curve = list(run.live_curve if curve is None else curve)
    events = report.get("fp_events") if report else run.live_fp
    result.fp_events = protocol.fp_events(events, curve_points=len(result.loss_curve))
    result.determinants = protocol.determinants(report.get("determinants")) if report else {}
    result.diagnostics = diagnose(result.loss_curve)
    if report:
        declared, problem = protocol.hyperparameters(report.get("hyperparameters"))
        result.hyperparameters = declared
        if problem:
            result.diagnostics.append(
                {
                    "code": "hyperparameters_ignored",
                    "title": "hyperparameters_ not shown",
                    "detail": f"{problem}; it is left out of the results.",
                }
            )
    return result


def _training_rows(job: GradingJob) -> int:
    """Training rows the model predicts with its report, from which its training loss is
    measured: on a challenge that asks for a loss curve (grader/training_loss.py)."""
    if job.min_loss_curve_points <= 0:
        return 0
    rows = int(_load_trusted(job.train_y, "the training labels").shape[0])
    return training_loss.training_rows(rows, curve_required=True)


def _training_loss(run: SandboxRun, job: GradingJob, n_classes: int | None) -> dict:
    """The final model's loss on the first training rows, from the predictions it sent with
    its report."""
    rows = _training_rows(job)
    arrays: dict[str, np.ndarray | None] = {}
    for name in protocol.TRAINING_ARRAY_NAMES:
        if name in run.arrays:
            header, body = run.arrays[name]
            try:
                arrays[name] = _parse_array(name, header, body)[0]
            except scoring.InvalidPredictions as exc:
                return {"rows": rows, "unavailable": str(exc)[:200]}
    train_y = _load_trusted(job.train_y, "the training labels")
    return training_loss.measure(
        task=job.task, n_classes=n_classes, y_train=train_y, arrays=arrays, rows=rows
    )


def _rule_verdict(result: GradingResult, job: GradingJob) -> tuple[Verdict, str] | None:
    """The challenge's loss-curve rule, checked on the validated curve."""
    needed = job.min_loss_curve_points
    if needed <= 0:
        return None
    finite = sum(1 for v in result.loss_curve if math.isfinite(v))
    if finite >= needed:
        return None
    rule = " (its gradient-descent-only rule)" if job.gradient_descent_only else ""
    return Verdict.RULE_VIOLATION, (
        f"this challenge requires loss_curve_ with at least {needed} finite loss values{rule}, "
        f"one per epoch or step; the model kept {finite}"
        + ("" if result.loss_curve else " (no loss_curve_ attribute after fit)")
    )


DIVERGED_CAUSES = (
    "The two usual causes: a learning rate that is too high, or features that are not "
    "scaled (standardize each column: subtract its mean, divide by its standard deviation)."
)


EARLY_EPOCHS = 3  # "from the start": the loss was NaN or infinite from one of the first epochs


def _non_finite_from(curve: list[float]) -> int | None:
    """The epoch from which every loss value is NaN or infinite, if it is one of the first."""
    first = next((i for i, v in enumerate(curve[:EARLY_EPOCHS]) if not math.isfinite(v)), None)
    if first is None or any(math.isfinite(v) for v in curve[first:]):
        return None
    return first


def _explain_divergence(result: GradingResult) -> None:
    """Say that training diverged when the trusted evidence shows it.

    NaN or infinite predictions after numpy reported overflow during fit; or a time-limit run
    whose loss was NaN or infinite from its first point.
    """
    events = result.fp_events
    overflow = bool(events.get("overflow") or events.get("invalid"))
    epoch = events.get("first_epoch")
    where = f" from epoch {epoch}" if epoch is not None else ""
    curve = result.loss_curve
    diverged = any(d.get("code") == "diverged" for d in result.diagnostics)
    if (
        result.verdict is Verdict.INVALID_PREDICTIONS
        and overflow
        and (
            result.message.startswith(("predict(): NaN", "predict(): infinity", "NaN", "infinity"))
            or "NaN in" in result.message
            or "infinity in" in result.message
        )
    ):
        kinds = ", ".join(k for k in ("overflow", "invalid", "divide") if events.get(k))
        result.message += (
            f"\n\nTraining diverged: numpy reported floating-point {kinds} during fit{where}. "
            + DIVERGED_CAUSES
        )
        if not diverged:
            result.diagnostics.append(
                {
                    "code": "diverged",
                    "title": "Training diverged",
                    "detail": f"numpy reported floating-point {kinds} during fit{where} and the "
                    "predictions are not finite. " + DIVERGED_CAUSES,
                }
            )
    elif result.verdict is Verdict.TIME_LIMIT and (start := _non_finite_from(curve)) is not None:
        value = curve[start]
        result.message += (
            f"\n\nThe loss was {value} from epoch {start} on, until the time limit: training "
            "diverged at the start and the remaining time went into NaN arithmetic. "
            + DIVERGED_CAUSES
        )
        result.diagnostics = [d for d in result.diagnostics if d.get("code") != "diverged"]
        result.diagnostics.insert(
            0,
            {
                "code": "diverged_from_start",
                "title": "Loss NaN from the start",
                "detail": f"The loss was {value} from epoch {start} until the time limit. "
                + DIVERGED_CAUSES,
            },
        )


def _score_into(
    result: GradingResult, run: SandboxRun, job: GradingJob, y_true: np.ndarray,
    public_mask: np.ndarray, n_rows: int, n_classes: int | None,
) -> None:  # fmt: skip
    arrays: dict[str, tuple[np.ndarray | None, list | None]] = {}
    for name, (header, body) in run.arrays.items():
        if name not in protocol.ARRAY_NAMES:
            continue  # the training rows' predictions: measured apart (_training_loss)
        arr, shape, bad_dtype = _parse_array(name, header, body)
        if bad_dtype is not None and shape is not None and arr is None:
            size = int(np.prod(shape)) if shape else 1
            if size <= n_rows * max(n_classes or 1, 2):
                raise scoring.InvalidPredictions(f"{name} must be numbers, got dtype {bad_dtype}")
        arrays[name] = (arr, shape)
    names = (job.metric, *job.extra_metrics)
    extra_metrics = job.extra_metrics
    predictions = proba = None
    if any(not scoring.METRICS[m].needs_proba for m in names):
        arr, shape = arrays.get("predictions", (None, None))
        try:
            predictions = scoring.validate_predictions(
                arr, task=job.task, n_rows=n_rows, n_classes=n_classes, shape=shape
            )
        except scoring.InvalidPredictions as exc:
            if not scoring.METRICS[job.metric].needs_proba:
                raise scoring.InvalidPredictions(f"predict(): {exc}") from exc
            # Only extra metrics need labels: the ranked one is scored, they are left out.
            skipped = [m for m in extra_metrics if not scoring.METRICS[m].needs_proba]
            extra_metrics = tuple(m for m in extra_metrics if m not in skipped)
            result.diagnostics = [*result.diagnostics, _labels_finding(skipped, exc)]
    if any(scoring.METRICS[m].needs_proba for m in names):
        arr, shape = arrays.get("proba", (None, None))
        proba = scoring.validate_proba(arr, n_rows=n_rows, n_classes=n_classes or 2, shape=shape)
    try:
        scores = scoring.score(
            metric=job.metric,
            extra_metrics=extra_metrics,
            y_true=y_true,
            public_mask=public_mask,
            predictions=predictions,
            proba=proba,
            n_classes=n_classes,
        )
    except ValueError as exc:
        raise InternalError(f"scoring failed on the hidden labels: {exc}") from exc
    result.public_score = scores.public
    result.private_score = scores.private
    result.public_ci = scores.public_ci
    result.extra_scores = scores.extra


def _labels_finding(metrics: list[str], exc: scoring.InvalidPredictions) -> dict[str, str]:
    names = " and ".join(metrics)
    why = (
        f"it returned values like {exc.value:.6g}"
        if isinstance(exc.value, float)
        else f"its predictions were refused: {exc}"
    )
    return {
        "code": "extra_metric_skipped",
        "title": f"{names.capitalize()} not computed",
        "detail": f"predict() must return class labels for {names} ({why}).",
    }


SELFTEST_SOLUTION = """
import numpy as np

class Model:
    def fit(self, X, y):
        status = open("/proc/self/status").read()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        print("SECCOMP=" + fields.get("Seccomp", "?").strip())
        print("UID=" + fields.get("Uid", "?").split()[0])
        print("NONEWPRIVS=" + fields.get("NoNewPrivs", "?").strip())
        try:
            lines = open("/proc/self/net/dev").read().splitlines()[2:]
            print("NETDEVS=" + ",".join(sorted(l.split(":")[0].strip() for l in lines)))
        except OSError:
            print("NETDEVS=?")
        self.mean = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean)
"""


def selftest() -> tuple[SandboxLevel, str]:
    """Run a real sandbox once and report the level it reached, with a reason.

    With GRADER_INSECURE_NO_SANDBOX=1, a bwrap that cannot start (a container without the
    options it needs) makes this process grade without it from now on, reported as degraded.
    """
    global _sandbox
    try:
        sandbox = get_sandbox()
    except ConfigError as exc:
        return SandboxLevel.DEGRADED, f"configuration error: {exc}"
    except InternalError as exc:
        return SandboxLevel.DEGRADED, f"no sandbox: {exc}"
    level, detail = _selftest_with(sandbox)
    if level is SandboxLevel.DEGRADED and sandbox.config.bwrap and sandbox.config.allow_degraded:
        fallback = Sandbox(replace(sandbox.config, bwrap=None))
        with _sandbox_lock:
            _sandbox = fallback
        level, fallback_detail = _selftest_with(fallback)
        detail = f"{detail}; now grading without bwrap: {fallback_detail}"
    return level, detail


def run_without_sandbox() -> None:
    """Grade this process's runs with no sandbox from now on (level degraded).

    Only for a participant's own code on their own machine (`hackathon evaluate` where no
    sandbox can start: macOS, Windows, a container without user namespaces); a grading worker
    never calls it, it refuses to grade below SANDBOX_MIN_LEVEL instead."""
    global _sandbox
    fallback = Sandbox(replace(SandboxConfig.from_env(), bwrap=None, allow_degraded=True))
    with _sandbox_lock:
        _sandbox = fallback


def _selftest_with(sandbox: Sandbox) -> tuple[SandboxLevel, str]:
    with tempfile.TemporaryDirectory(prefix="selftest-", dir=sandbox.config.state_dir) as tmp:
        d = Path(tmp)
        rng = np.random.default_rng(0)
        X = rng.normal(size=(20, 2))
        y = X @ np.array([1.0, -1.0])
        for name, arr in (
            ("train_X", X), ("train_y", y), ("test_X", X), ("test_y", y),
            ("public_mask", np.arange(20) % 2 == 0),
        ):  # fmt: skip
            np.save(d / f"{name}.npy", arr)
        job = GradingJob(
            source=SELFTEST_SOLUTION, task="regression", metric="rmse",
            train_X=d / "train_X.npy", train_y=d / "train_y.npy", test_X=d / "test_X.npy",
            test_y=d / "test_y.npy", public_mask=d / "public_mask.npy",
            limits=Limits(time_s=30.0),
        )  # fmt: skip
        try:
            result = grade(job, sandbox=sandbox)
        except InternalError as exc:
            return SandboxLevel.DEGRADED, f"the sandbox failed its self-test: {exc}"
    if result.verdict is not Verdict.SCORED:
        return SandboxLevel.DEGRADED, (
            f"the self-test solution ended as {result.verdict.value}: {result.message[:500]}"
        )
    facts = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    level = sandbox.level
    reasons = [f"bwrap {sandbox.config.bwrap}" if sandbox.config.bwrap else "no bwrap"]
    netdevs = facts.get("NETDEVS", "?")
    if level is not SandboxLevel.DEGRADED and netdevs not in ("lo", "?", ""):
        return SandboxLevel.DEGRADED, (
            f"the sandbox sees network interfaces {netdevs}: no network isolation"
        )
    if level is SandboxLevel.STRONG:
        uid = facts.get("UID", "?")
        if facts.get("SECCOMP") != "2":
            level, why = SandboxLevel.STANDARD, "seccomp filter not active inside"
        elif uid in ("0", "?"):
            level, why = SandboxLevel.STANDARD, f"sandbox runs as uid {uid}"
        else:
            why = f"unprivileged uid per slot (from {sandbox.config.uid_base}), seccomp deny-list"
        reasons.append(why)
    elif level is SandboxLevel.STANDARD:
        seccomp = "seccomp deny-list" if facts.get("SECCOMP") == "2" else "no seccomp"
        if sandbox.per_slot_uid:
            reasons.append(
                f"unprivileged uid per slot, {seccomp}, but no memory cgroup (strong needs one)"
            )
        else:
            reasons.append(f"not root: runs as the worker's own uid, rlimits, {seccomp}")
    else:
        reasons.append("GRADER_INSECURE_NO_SANDBOX=1: NOT a security boundary")
    if level is not SandboxLevel.DEGRADED:
        reasons.append(sandbox.scratch_detail)
    if sandbox.cgroups is not None:
        reasons.append(f"memory, pids and CPU limited by {sandbox.cgroups_detail}")
    else:
        reasons.append(
            "memory by the sampling watchdog (processes, shared memory, tmpfs), no cgroup: "
            + sandbox.cgroups_detail
        )
    reasons.append(f"self-test graded in {result.wall_seconds or 0:.2f} s")
    return level, "; ".join(reasons)
