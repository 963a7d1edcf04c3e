"""The optimizer track's side inside the sandbox: drives the participant's `Optimizer`.

Shipped into the sandbox next to the harness (as `grader_optimizer`) and started by the same
boot line. Untrusted like everything in that process: it only relays what the trusted driver
(grader/optimizer_track.py) sends and what the optimizer returns, and the driver checks every
byte it gets back (size, finiteness, budget). What it sees: the parameter shapes, the budget
and the number of training rows, then per step the parameters, the gradient and the loss.
No row of data, no label and no model code ever enters this process.

Protocol on two pipes (little-endian, float64 arrays as raw bytes, no pickles):
- driver -> here, once: INIT_HEADER (length) then JSON {shapes, budget, n_train, ...};
  then per step STEP_HEADER (kind, step, examples used, loss, validation loss or NaN)
  followed by the parameters and the gradient (2 * n float64); kind END ends the run.
- here -> driver: REPLY_HEADER (flags, batch size) before the first step and after each
  step, followed after a step by the new parameters (n float64) unless the STOP flag is set.
- errors (an exception in the optimizer, a wrong shape) go on the harness's result stream
  as harness "E" frames; "R" tells the driver the runner is up (its clock starts there).
"""

from __future__ import annotations

import json
import linecache
import os
import struct
import sys
import time
import traceback
import types
from typing import Any

INIT_HEADER = struct.Struct("<I")
STEP_HEADER = struct.Struct("<BIQdd")  # kind, step, examples used, loss, validation loss
REPLY_HEADER = struct.Struct("<Bq")  # flags, batch size (0: full batch)
KIND_STEP = 1
KIND_END = 2
FLAG_VALIDATE = 1
FLAG_STOP = 2
FLAG_FIRST = 4  # the reply before the first step: a batch size, no parameters
RUNNER_MODULE = "grader_optimizer"


def _read_exact(fd: int, n: int) -> bytes:
    chunks = []
    while n:
        chunk = os.read(fd, n)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks) if len(chunks) != 1 else chunks[0]


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class Info:
    """What `Optimizer.start(info)` is told about the run (read-only figures)."""

    def __init__(self, data: dict) -> None:
        self.budget = int(data["budget"])
        self.n_train = int(data["n_train"])
        self.validation_cost = int(data["validation_cost"])
        self.min_batch_size = int(data["min_batch_size"])
        self.names = [name for name, _ in data["shapes"]]
        self.shapes = {name: tuple(shape) for name, shape in data["shapes"]}
        self.n_parameters = int(data["n_parameters"])

    def __repr__(self) -> str:
        return (
            f"Info(budget={self.budget}, n_train={self.n_train}, "
            f"validation_cost={self.validation_cost}, min_batch_size={self.min_batch_size}, "
            f"shapes={self.shapes})"
        )


class StepError(Exception):
    """The optimizer's answer cannot be sent: the message names the step and the parameter."""


def _batch_size(optimizer: object, n_train: int) -> int:
    value = getattr(optimizer, "batch_size", None)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            import numpy as np

            if isinstance(value, np.integer):
                return int(value)
        except ImportError:  # pragma: no cover - numpy is always in the sandbox
            pass
        raise StepError(f"batch_size must be a whole number, got {value!r}")
    if value < 1:
        raise StepError(f"batch_size must be at least 1 (or None for the full batch), got {value}")
    return min(value, n_train)


def _pack(
    np: types.ModuleType,
    returned: object,
    names: list[str],
    shapes: dict[str, tuple[int, ...]],
    out: list[Any],
    step: int,
) -> None:
    """Copy the optimizer's returned parameters into `out` (views of the reply buffer)."""
    if isinstance(returned, dict):
        missing = [n for n in names if n not in returned]
        if missing:
            raise StepError(f"step {step}: the returned parameters lack {', '.join(missing)}")
        extra = [str(k) for k in returned if k not in shapes]
        if extra:
            raise StepError(f"step {step}: unknown parameter {extra[0]!r} returned")
        values = [returned[n] for n in names]
    elif isinstance(returned, list | tuple):
        if len(returned) != len(names):
            raise StepError(
                f"step {step}: {len(returned)} arrays returned, expected {len(names)} "
                f"({', '.join(names)})"
            )
        values = list(returned)
    else:
        raise StepError(
            f"step {step}: step() must return the parameters (a list or a dict of arrays), "
            f"or None to stop; got {type(returned).__name__}"
        )
    ndarray, float64 = np.ndarray, np.float64
    for name, value, target in zip(names, values, out, strict=True):
        if type(value) is ndarray and value.dtype == float64 and value.shape == target.shape:
            target[...] = value  # the usual case, checked in one line
            continue
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise StepError(f"step {step}: parameter {name} is not numbers ({exc})") from None
        if arr.shape != shapes[name]:
            raise StepError(
                f"step {step}: parameter {name} has shape {arr.shape}, expected {shapes[name]}"
            )
        target[...] = arr


def main() -> None:
    import grader_harness as h  # the harness module next to this one in the sandbox

    config = json.loads(sys.argv[1])
    h._result_fd = config["result_fd"]
    h._main_pid = os.getpid()
    cmd_fd, reply_fd = config["cmd_fd"], config["reply_fd"]
    import numpy as np

    (length,) = INIT_HEADER.unpack(_read_exact(cmd_fd, INIT_HEADER.size))
    init = json.loads(_read_exact(cmd_fd, length))
    with os.fdopen(config["source_fd"], "rb") as f:
        source = f.read().decode("utf-8", errors="replace")
    names = [name for name, _ in init["shapes"]]
    shapes = {name: tuple(shape) for name, shape in init["shapes"]}
    sizes = [int(np.prod(shapes[n], dtype=np.int64)) for n in names]
    n = sum(sizes)
    n_train = int(init["n_train"])
    h.send_json(b"R", {})

    import random

    guard = h.ImportGuard(config["allowed_imports"])
    linecache.cache[h.SOLUTION_FILENAME] = (
        len(source), None, source.splitlines(keepends=True), h.SOLUTION_FILENAME,
    )  # fmt: skip
    random.seed(config["seed"])
    np.random.seed(config["seed"])
    try:
        code = compile(source, h.SOLUTION_FILENAME, "exec")
    except (SyntaxError, ValueError) as exc:
        h._error("syntax", "".join(traceback.format_exception_only(exc)).strip())
        return
    module = type(sys)(h.SOLUTION_MODULE)
    module.__file__ = h.SOLUTION_FILENAME
    sys.modules[h.SOLUTION_MODULE] = module
    guard.install()

    # The reply buffer is reused every step; each step's input is read into fresh arrays.
    reply = bytearray(REPLY_HEADER.size + 8 * n)
    reply_params = np.frombuffer(reply, dtype=np.float64, offset=REPLY_HEADER.size)
    offsets = np.cumsum([0, *sizes]).tolist()
    layout = [(shapes[nm], lo, hi) for nm, lo, hi in zip(names, offsets[:-1], offsets[1:], strict=True)]  # fmt: skip
    out = [reply_params[lo:hi].reshape(shape) for shape, lo, hi in layout]
    header = bytearray(STEP_HEADER.size)
    header_view = memoryview(header)
    stage = "loading solution.py"
    step = 0
    optimizer_seconds = 0.0
    runner_seconds = 0.0  # this loop's own time per step (the benchmark reads it)
    try:
        exec(code, module.__dict__)  # noqa: S102 - this is the sandbox's purpose
        optimizer_class = module.__dict__.get("Optimizer")
        if not isinstance(optimizer_class, type):
            h._error("contract", "solution.py must define a class named Optimizer")
            return
        stage = "Optimizer()"
        optimizer = optimizer_class()
        start = getattr(optimizer, "start", None)
        if callable(start):
            stage = "start()"
            start(Info(init))
        stage = "batch_size"
        REPLY_HEADER.pack_into(reply, 0, FLAG_FIRST, _batch_size(optimizer, n_train))
        _write_all(reply_fd, memoryview(reply)[: REPLY_HEADER.size])
        body_size = 16 * n
        while True:
            # One readv for the header and the body (fresh arrays every step: the optimizer
            # may keep or change them as it likes).
            flat = np.empty(2 * n)
            flat_view = flat.data.cast("B")
            got = os.readv(cmd_fd, [header_view, flat_view])
            while got < STEP_HEADER.size:
                r = os.readv(cmd_fd, [header_view[got:], flat_view])
                if not r:
                    raise EOFError
                got += r
            t_in = time.perf_counter()
            kind, step, used, loss, validation = STEP_HEADER.unpack_from(header)
            if kind != KIND_STEP:
                break
            got -= STEP_HEADER.size
            while got < body_size:
                r = os.readv(cmd_fd, [flat_view[got:]])
                if not r:
                    raise EOFError
                got += r
            grad_flat = flat[n:]
            params = [flat[lo:hi].reshape(shape) for shape, lo, hi in layout]
            grads = [grad_flat[lo:hi].reshape(shape) for shape, lo, hi in layout]
            if validation == validation:  # not NaN: the loss it asked for last step
                optimizer.validation_loss = validation
            optimizer.examples_used = used
            stage = f"step {step}"
            t0 = time.perf_counter()
            returned = optimizer.step(params, grads, loss)
            optimizer_seconds += time.perf_counter() - t0
            flags = 0
            if returned is None:
                flags = FLAG_STOP
            else:
                _pack(np, returned, names, shapes, out, step)
            if getattr(optimizer, "validate", False):
                flags |= FLAG_VALIDATE
                optimizer.validate = False
            REPLY_HEADER.pack_into(reply, 0, flags, _batch_size(optimizer, n_train))
            _write_all(reply_fd, reply if not flags & FLAG_STOP else reply[: REPLY_HEADER.size])
            runner_seconds += time.perf_counter() - t_in
            if flags & FLAG_STOP:
                break
    except EOFError:
        return  # the driver ended the run
    except StepError as exc:
        message = str(exc)
        if not message.startswith("step "):
            message = f"step {step}: {message}"
        h._error("step", message)
        return
    except BaseException as exc:  # noqa: BLE001 - every participant failure is reported
        if isinstance(exc, h.ForbiddenImport) or guard.violation:
            h._error("forbidden_import", guard.violation or str(exc))
            return
        kind = "memory" if isinstance(exc, MemoryError) else "runtime"
        message = h.participant_traceback(exc) or f"{type(exc).__name__} in {stage}"
        h._error(kind, f"{stage}: {message}")
        return
    if guard.violation:
        h._error("forbidden_import", guard.violation)
        return
    h.send_json(
        b"T",
        {
            "optimizer_seconds": optimizer_seconds,
            "runner_seconds": runner_seconds,
            "maxrss_kb": h._maxrss_kb(),
        },
    )


def run() -> None:
    """Entry point: never returns; exits without running the participant's atexit hooks."""
    try:
        main()
        code = 0
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        code = 70
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001, S110
        pass
    os._exit(code)
