"""The optimizer track's side inside the sandbox: drives the participant's `Optimizer`.

Shipped into the sandbox next to the harness (as `grader_optimizer`) and started by the same
boot line. Untrusted like everything in that process: it only relays what the trusted driver
(grader/optimizer_track.py) sends and what the optimizer returns, and the driver checks every
byte it gets back (turn, size, finiteness, budget). What it sees: the parameter shapes, the
budget and the number of training rows (in its start-up configuration), then per step the
parameters, the gradient and the loss. No row of data, no label and no model code ever enters
this process.

The step channel (`Channel`, the same code on both sides): one memory file (a memfd the driver
creates, its size sealed) that both processes read and write with pread/pwrite, never map
(the sandbox has no mmap module, and what the driver reads is a copy by construction), and
one pipe each way that carries only wake-up bytes. Layout (`layout(n)`; little-endian, float64
arrays as raw bytes, no pickles, no lengths: both sides derive every size from the parameter
count):
- at 0 the command: STEP_HEADER (kind, step, examples used, loss, validation loss or NaN),
  the parameters and the gradient (2 * n float64), then the driver's turn byte (its message
  count modulo 256); kind END ends the run.
- at `reply_at` (the next 64-byte line) the reply: REPLY_HEADER (flags, batch size), the new
  parameters (n float64, absent when the STOP flag is set), then this side's turn byte. The
  first reply (FLAG_FIRST) carries only the batch size, before the first step.
A message and its turn byte go in one write, the turn byte last and as its own piece: x86
keeps a write's separate stores in order (a string copy's stores may be reordered only among
themselves), so a side that sees the new turn byte then reads the whole message. Then one
wake-up byte goes on the pipe. The waiting side reads the turn byte in a short, bounded spin
(at most SPIN_S, giving the core away at every look) and then blocks on its pipe: while both
sides answer within microseconds a step costs no sleep and no wake-up, and an idle side
stops spending CPU after SPIN_S.

Whose CPU the spin is: the driver's spin runs in the grading worker and is never the
participant's. This side's spin (waiting while the driver computes the next gradient) runs in
the sandbox and counts to its CPU; it is at most SPIN_S per step, and the time limit is wall
clock from the runner's start (the CPU rlimit is a backstop seconds above it), so the spin
never turns a run that fits into one that does not. Under a CPU quota below one core the
runner does not spin (the driver says so in its configuration): spinning would spend the
quota and get the sandbox throttled.
Errors (an exception in the optimizer, a wrong shape) go on the harness's result stream as
harness "E" frames; "R" tells the driver the runner is up (its clock starts there).
"""

from __future__ import annotations

import json
import linecache
import operator
import os
import struct
import sys
import time
import traceback
import types
from typing import Any

STEP_HEADER = struct.Struct("<BIQdd3x")  # kind, step, examples used, loss, validation loss
REPLY_HEADER = struct.Struct("<Bq7x")  # flags, batch size (0: full batch)
KIND_STEP = 1
KIND_END = 2
FLAG_VALIDATE = 1
FLAG_STOP = 2
FLAG_FIRST = 4  # the reply before the first step: a batch size, no parameters
RUNNER_MODULE = "grader_optimizer"
LINE = 64
TURNS = tuple(bytes([i]) for i in range(256))  # one byte: a read never sees half a write
# The spin before blocking: at most SPIN_S per wait; after a wait that had to block, only
# SPIN_SHORT_S, with a full spin again every SPIN_PROBE_EVERY waits (or after one that
# succeeded), so a side whose peer is slow spends almost nothing on waiting.
SPIN_S = 100e-6
SPIN_SHORT_S = 10e-6
SPIN_PROBE_EVERY = 16
# Where a turn byte seen in a spin proves the message before it is there: processors that
# keep stores in order (x86's total store order). Elsewhere every wait reads the pipe first.
SPIN_MACHINES = ("x86_64", "amd64", "i386", "i686")
SPINS = os.uname().machine.lower() in SPIN_MACHINES
WAKE_READ = 65536


class Layout:
    """Offsets in the channel for `n` parameters (both sides compute the same)."""

    def __init__(self, n: int) -> None:
        self.cmd_size = STEP_HEADER.size + 16 * n
        self.cmd_turn = self.cmd_size
        self.reply_at = (self.cmd_turn + LINE) // LINE * LINE
        self.reply_size = REPLY_HEADER.size + 8 * n
        self.reply_turn = self.reply_at + self.reply_size
        self.size = self.reply_turn + 1


class ChannelError(Exception):
    """The other side (or something in this process) wrote to the channel out of turn."""


class Channel:
    """One side of the step channel: publish this side's messages, wait for the other's.

    `posted` and `received` count messages; a turn byte must hold the last turn or the next
    one, and the wake-up bytes read can never outnumber the messages the other side sent:
    anything else is ChannelError. The caller reads the other side's messages itself.
    """

    def __init__(
        self, fd: int, wake_r: int, wake_w: int, *, post_at: int, wait_turn: int,
        spin: bool = SPINS,
    ) -> None:  # fmt: skip
        self.fd, self.wake_r, self.wake_w = fd, wake_r, wake_w
        self.post_at, self.wait_turn = post_at, wait_turn
        self.posted = self.received = self.wakeups = 0
        self.spin_s = self.budget = SPIN_S if spin else 0.0
        self.misses = 0
        self.blocked = 0  # waits that went to the pipe (the benchmark reads it)

    def post(self, parts: list[Any], turn_at: int | None = None) -> int:
        """Publish a message: `parts` (the whole message, from `post_at` on) and then its turn
        byte in one write, then a wake-up byte. With `turn_at`, `parts` were written already
        and only the turn byte is written there. Returns the bytes written."""
        turn = TURNS[(self.posted + 1) & 255]
        if turn_at is None:
            parts.append(turn)
            written = os.pwritev(self.fd, parts, self.post_at)
        else:
            written = os.pwrite(self.fd, turn, turn_at)
        self.posted += 1
        try:
            os.write(self.wake_w, b"\0")
        except BlockingIOError:
            pass  # the pipe is full of wake-ups: the other side reads them and looks
        return written

    def wait(self) -> bool:
        """Wait for the other side's next message: True once it is there, False when the other
        side is gone (its pipe ended). Raises ChannelError (see the class)."""
        self.received += 1
        want, last = TURNS[self.received & 255], TURNS[(self.received - 1) & 255]
        fd, at, pread = self.fd, self.wait_turn, os.pread
        if self.spin_s:
            got = pread(fd, 1, at)
            if got == last:
                perf, pause = time.perf_counter, os.sched_yield
                end = perf() + self.budget
                while got == last and perf() < end:
                    pause()
                    got = pread(fd, 1, at)
            if got != last:
                self.misses, self.budget = 0, self.spin_s
                return self._arrived(got, want)
            self.misses += 1
            full = self.misses % SPIN_PROBE_EVERY == 0
            self.budget = self.spin_s if full else min(self.spin_s, SPIN_SHORT_S)
        self.blocked += 1
        while True:
            woken = os.read(self.wake_r, WAKE_READ)
            if not woken:
                return False
            self.wakeups += len(woken)
            if self.wakeups > self.received:
                raise ChannelError(
                    f"{self.wakeups} wake-ups for {self.received} messages on the step channel"
                )
            got = pread(fd, 1, at)
            if got != last:
                return self._arrived(got, want)

    @staticmethod
    def _arrived(got: bytes, want: bytes) -> bool:
        if got != want:
            seen = got[0] if got else "nothing"
            raise ChannelError(f"turn byte {seen} on the step channel where {want[0]} was due")
        return True


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
    shapes: list[tuple[int, ...]],
    step: int,
) -> list[Any]:
    """The optimizer's returned parameters as float64 arrays of the right shapes, in order."""
    if isinstance(returned, dict):
        missing = [n for n in names if n not in returned]
        if missing:
            raise StepError(f"step {step}: the returned parameters lack {', '.join(missing)}")
        extra = [str(k) for k in returned if k not in names]
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
    arrays = []
    for name, value, shape in zip(names, values, shapes, strict=True):
        if type(value) is ndarray and value.dtype == float64 and value.shape == shape:
            arrays.append(value)  # contiguity: the write refuses a view that is not
            continue
        try:
            arr = np.asarray(value, dtype=float64)
        except (TypeError, ValueError) as exc:
            raise StepError(f"step {step}: parameter {name} is not numbers ({exc})") from None
        if arr.shape != shape:
            raise StepError(
                f"step {step}: parameter {name} has shape {arr.shape}, expected {shape}"
            )
        arrays.append(np.ascontiguousarray(arr))
    return arrays


def _reply_parts(np: types.ModuleType, head: bytearray, arrays: list[Any]) -> list[Any]:
    """The reply's pieces for one write, each array C-contiguous (a transposed view is refused
    by the write, so it is copied once)."""
    for i, arr in enumerate(arrays):
        if not arr.flags.c_contiguous:
            arrays[i] = np.ascontiguousarray(arr)
    return [head, *arrays]


def _views(n: int, shapes: list[tuple[int, ...]]) -> tuple[list[Any], list[Any], bool]:
    """Indexes of each parameter and its gradient in a step's flat array (a vector is a slice,
    a scalar an (i, ...) index: both views without a reshape), and whether any needs one."""
    params: list[Any] = []
    grads: list[Any] = []
    offset, reshape = 0, False
    for shape in shapes:
        size = 1
        for d in shape:
            size *= d
        if len(shape) == 0:
            params.append((offset, ...))
            grads.append((n + offset, ...))
        else:
            params.append(slice(offset, offset + size))
            grads.append(slice(n + offset, n + offset + size))
            reshape = reshape or len(shape) > 1
        offset += size
    return params, grads, reshape


def main() -> None:
    """The runner's start-up and step loop, as one function on purpose: the loop's locals are
    the fast path of every step (see _steps in grader/optimizer_track.py)."""
    import grader_harness as h  # the harness module next to this one in the sandbox

    config = json.loads(sys.argv[1])
    h._result_fd = config["result_fd"]
    h._main_pid = os.getpid()
    import numpy as np

    init = config["init"]
    fd = config["channel_fd"]
    with os.fdopen(config["source_fd"], "rb") as f:
        source = f.read().decode("utf-8", errors="replace")
    names = [name for name, _ in init["shapes"]]
    shapes = [tuple(int(d) for d in shape) for _, shape in init["shapes"]]
    n = sum(int(np.prod(shape, dtype=np.int64)) for shape in shapes)
    n_train = int(init["n_train"])
    at = Layout(n)
    os.set_blocking(config["reply_fd"], False)
    channel = Channel(
        fd, config["cmd_fd"], config["reply_fd"], post_at=at.reply_at, wait_turn=at.cmd_turn,
        spin=bool(config["spin"]) and SPINS,
    )  # fmt: skip
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

    # Each step's parameters and gradient are read into a fresh array (the optimizer may keep
    # or change them as it likes), handed out as views of it.
    count, ndarray, float64, scalar = len(shapes), np.ndarray, np.dtype(np.float64), np.float64
    param_at, grad_at, reshape = _views(n, shapes)
    # Without a reshape, one call makes all the views (itemgetter of two or more indexes).
    by_index = not reshape and count > 1
    take_params, take_grads = operator.itemgetter(*param_at), operator.itemgetter(*grad_at)
    header = bytearray(STEP_HEADER.size)
    reply_head = bytearray(REPLY_HEADER.size)
    stage = "loading solution.py"
    step = 0
    runner_seconds = 0.0  # this loop's own time per step (the benchmark reads it)
    loop_cpu = 0.0
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
        asked = getattr(optimizer, "batch_size", None)
        batch = _batch_size(optimizer, n_train)
        REPLY_HEADER.pack_into(reply_head, 0, FLAG_FIRST, batch)
        os.pwrite(fd, reply_head, at.reply_at)
        channel.post([], turn_at=at.reply_turn)
        stage = "step"
        perf, preadv, empty = time.perf_counter, os.preadv, np.empty
        loop_cpu = time.process_time()
        while True:
            if not channel.wait():
                return  # the driver ended the run
            t_in = perf()
            flat = empty(2 * n)
            preadv(fd, [header, flat], 0)  # type: ignore[list-item]  # an ndarray is a buffer
            kind, step, used, loss, validation = STEP_HEADER.unpack_from(header)
            if kind != KIND_STEP:
                if kind == KIND_END:
                    break
                raise ChannelError(f"command kind {kind} on the step channel")
            if by_index:
                params, grads = list(take_params(flat)), list(take_grads(flat))
            else:
                params = [flat[i].reshape(s) for i, s in zip(param_at, shapes, strict=True)]
                grads = [flat[i].reshape(s) for i, s in zip(grad_at, shapes, strict=True)]
            if validation == validation:  # not NaN: the loss it asked for last step
                optimizer.validation_loss = validation
            optimizer.examples_used = used
            returned = optimizer.step(params, grads, loss)
            flags = 0
            if returned is None:
                flags = FLAG_STOP
            elif type(returned) is list and len(returned) == count:
                # The usual case, checked in line: float64 arrays of the right shapes (or a
                # float64 scalar for a scalar parameter, as `b - lr * g` gives).
                arrays = returned
                for v, s in zip(returned, shapes):  # noqa: B905 - lengths checked above
                    t = type(v)
                    if not (t is ndarray and v.dtype is float64 and v.shape == s) and not (
                        t is scalar and not s
                    ):
                        arrays = _pack(np, returned, names, shapes, step)
                        break
            else:
                arrays = _pack(np, returned, names, shapes, step)
            if getattr(optimizer, "validate", False):
                flags |= FLAG_VALIDATE
                optimizer.validate = False
            value = getattr(optimizer, "batch_size", None)
            if value is not asked:
                asked, batch = value, _batch_size(optimizer, n_train)
            REPLY_HEADER.pack_into(reply_head, 0, flags, batch)
            if flags & FLAG_STOP:
                os.pwrite(fd, reply_head, at.reply_at)
                channel.post([], turn_at=at.reply_turn)
                break
            try:
                channel.post([reply_head, *arrays])
            except (BufferError, ValueError):  # an array that is not C-contiguous: refused
                channel.post(_reply_parts(np, reply_head, list(arrays)))
            runner_seconds += perf() - t_in
    except StepError as exc:
        message = str(exc)
        if not message.startswith("step "):
            message = f"step {step}: {message}"
        h._error("step", message)
        return
    except ChannelError as exc:
        h._error("step", f"step {step}: {exc} (the solution wrote to the platform's channel)")
        return
    except BaseException as exc:  # noqa: BLE001 - every participant failure is reported
        if isinstance(exc, h.ForbiddenImport) or guard.violation or guard.missing_outside_list(exc):
            h._error("forbidden_import", guard.violation or str(exc))
            return
        kind = "memory" if isinstance(exc, MemoryError) else "runtime"
        where = f"step {step}" if stage == "step" else stage
        message = h.participant_traceback(exc) or f"{type(exc).__name__} in {where}"
        h._error(kind, f"{where}: {message}")
        return
    if guard.violation:
        h._error("forbidden_import", guard.violation)
        return
    h.send_json(
        b"T",
        {
            "runner_seconds": runner_seconds,
            "blocked_waits": channel.blocked,
            "spins": bool(channel.spin_s),
            "loop_cpu_seconds": time.process_time() - loop_cpu,  # waits included (tests)
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
