"""The trusted side of the command/answer protocol with the participant's process.

The participant's process (grader/harness.py, inside the sandbox) is untrusted as a whole: the
solution can write any bytes to any fd it holds. So `Conversation` believes nothing it is told
about time or memory, accepts an answer only in the phase that asked for it and only with the
nonce of the command it answers (a fresh random one per command: nothing written before the
command was sent can pass for its answer), and validates every value before it is kept. The
wall and CPU time of each phase are read here, from trusted clocks, when the command is sent
and when its answer arrives.

Pure: no processes, no fds; `grader.supervisor` feeds it bytes and sends what it returns.
"""

from __future__ import annotations

import enum
import json
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from grader.harness import FP_KINDS, FRAME_HEADER, HYPERPARAMETERS_MAX_KEYS, MAX_CURVE_POINTS

JSON_FRAME_MAX = 4 * 1024 * 1024
JSON_MAX_DEPTH = 8
HYPERPARAMETER_KEY_MAX = 64
HYPERPARAMETER_TEXT_MAX = 64
FRAME_NAMES = {
    b"R": "ready",
    b"T": "end",
    b"D": "done",
    b"P": "progress",
    b"E": "error",
    b"A": "array",
}
ARRAY_NAMES = ("predictions", "proba")
# Predictions for training rows, sent with the report: the trusted side measures the final
# model's training loss from them (grader/training_loss.py).
TRAINING_ARRAY_NAMES = ("train_predictions", "train_proba")


def _a(kind: bytes) -> str:
    name = FRAME_NAMES[kind]
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


class Phase(enum.StrEnum):
    """Where the conversation is; each phase but the last two waits for one answer."""

    STARTING = "starting"  # waiting for "ready" (interpreter, numpy, data loaded)
    LOADING = "loading"  # solution.py executed, Model() built
    FITTING = "fitting"
    PREDICTING = "predicting"
    REPORTING = "reporting"  # loss_curve_, hyperparameters_, floating-point counts
    FINISHED = "finished"  # every answer in: the process is told to exit
    FAILED = "failed"  # the solution failed (an error answer) or broke the protocol


NEXT_PHASE = {
    Phase.STARTING: Phase.LOADING,
    Phase.LOADING: Phase.FITTING,
    Phase.FITTING: Phase.PREDICTING,
    Phase.PREDICTING: Phase.REPORTING,
    Phase.REPORTING: Phase.FINISHED,
}
COMMANDS = {
    Phase.LOADING: "load",
    Phase.FITTING: "fit",
    Phase.PREDICTING: "predict",
    Phase.REPORTING: "report",
}


class ProtocolError(Exception):
    """The answer stream broke the protocol (the message says how)."""


@dataclass(frozen=True)
class Measured:
    """Wall and CPU seconds of one phase, read by trusted code."""

    wall: float
    cpu: float | None


@dataclass
class Conversation:
    """The protocol's state machine: `feed` answer bytes in, get command bytes to send out."""

    array_cap: int
    clock: Callable[[], float]
    cpu_clock: Callable[[], float | None] = lambda: None
    phase: Phase = Phase.STARTING
    nonce: str = ""
    error: dict | None = None  # {"kind", "message"} of the solution's error answer
    arrays: dict[str, tuple[dict, bytes]] = field(default_factory=dict)
    report: dict = field(default_factory=dict)
    live_curve: list[float] = field(default_factory=list)  # from progress answers
    live_fp: dict = field(default_factory=dict)
    measured: dict[Phase, Measured] = field(default_factory=dict)
    _buffer: bytearray = field(default_factory=bytearray)
    _sent_at: tuple[float, float | None] = (0.0, None)

    @property
    def ready(self) -> bool:
        return self.phase is not Phase.STARTING

    def feed(self, data: bytes) -> list[bytes]:
        """Take answer bytes; return the command frames to send now. Raises ProtocolError."""
        if self.phase in (Phase.FINISHED, Phase.FAILED):
            return []  # the process is on its way out: what it still writes is not read
        self._buffer += data
        commands: list[bytes] = []
        while len(self._buffer) >= FRAME_HEADER.size:
            kind, length = FRAME_HEADER.unpack_from(self._buffer)
            if kind not in FRAME_NAMES:
                raise ProtocolError(f"unknown message {kind!r} on the result stream")
            cap = self.array_cap + JSON_FRAME_MAX if kind == b"A" else JSON_FRAME_MAX
            if length > cap:
                raise ProtocolError(
                    f"a {length}-byte message on the result stream exceeds {cap} bytes"
                )
            if len(self._buffer) < FRAME_HEADER.size + length:
                break
            payload = bytes(self._buffer[FRAME_HEADER.size : FRAME_HEADER.size + length])
            del self._buffer[: FRAME_HEADER.size + length]
            command = self._take(kind, payload)
            if command is not None:
                commands.append(command)
            if self.phase in (Phase.FINISHED, Phase.FAILED):
                break
        return commands

    @property
    def incomplete(self) -> bool:
        """Bytes of an unfinished message are waiting (the stream ended mid-message)."""
        return bool(self._buffer) and self.phase not in (Phase.FINISHED, Phase.FAILED)

    # -- one message ----------------------------------------------------------------------

    def _take(self, kind: bytes, payload: bytes) -> bytes | None:
        if kind == b"T":  # the end message of entry modules with their own channel only
            raise ProtocolError(f"unknown message {kind!r} on the result stream")
        try:
            header, body = _decode(kind, payload)
        except Exception as exc:  # noqa: BLE001 - whatever forged bytes raise is their fault
            raise ProtocolError(
                f"a malformed {FRAME_NAMES[kind]} message on the result stream "
                f"({type(exc).__name__ if not isinstance(exc, ValueError) else exc})"
            ) from None
        if kind == b"R":
            if self.phase is not Phase.STARTING:
                raise ProtocolError("a second ready message on the result stream")
            return self._advance()
        if self.phase is Phase.STARTING:
            raise ProtocolError(f"{_a(kind)} message on the result stream before ready")
        if header.get("nonce") != self.nonce:
            raise ProtocolError(
                f"{_a(kind)} message on the result stream that answers no command "
                "(the solution's process wrote it, not in reply to the grader)"
            )
        if kind == b"E":
            self.error = {
                "kind": str(header.get("kind", "")),
                "message": str(header.get("message", "")),
            }
            self._measure()
            self.phase = Phase.FAILED
            return None
        if kind == b"P":
            if self.phase is not Phase.FITTING:
                raise ProtocolError("a progress message on the result stream outside fit")
            self._take_progress(header)
            return None
        if kind == b"A":
            if self.phase not in (Phase.PREDICTING, Phase.REPORTING):
                raise ProtocolError("an array message on the result stream outside predict")
            name = header.get("name")
            allowed = ARRAY_NAMES if self.phase is Phase.PREDICTING else TRAINING_ARRAY_NAMES
            if name not in allowed or name in self.arrays:
                raise ProtocolError(f"an unexpected array {str(name)[:40]!r} on the result stream")
            self.arrays[name] = (header, body)
            return None
        # b"D": the current command is done.
        if self.phase is Phase.REPORTING:
            self.report = header
        return self._advance()

    def _take_progress(self, header: dict) -> None:
        start, values = header["start"], floats(header["values"]) or []
        if start == len(self.live_curve) and len(self.live_curve) < MAX_CURVE_POINTS:
            self.live_curve.extend(values[: MAX_CURVE_POINTS - len(self.live_curve)])
        fp = fp_events(header.get("fp"), curve_points=None)
        if fp:
            self.live_fp = fp

    def _measure(self) -> None:
        if self.phase in COMMANDS:
            wall0, cpu0 = self._sent_at
            cpu1 = self.cpu_clock()
            cpu = None if cpu0 is None or cpu1 is None else max(0.0, cpu1 - cpu0)
            self.measured[self.phase] = Measured(max(0.0, self.clock() - wall0), cpu)

    def _advance(self) -> bytes | None:
        self._measure()
        self.phase = NEXT_PHASE[self.phase]
        if self.phase is Phase.FINISHED:
            return None
        self.nonce = secrets.token_hex(16)
        command = json.dumps({"cmd": COMMANDS[self.phase], "nonce": self.nonce}).encode()
        self._sent_at = (self.clock(), self.cpu_clock())
        return FRAME_HEADER.pack(b"C", len(command)) + command

    def fail(self) -> None:
        """The stream is broken or the run was stopped: no further answer is read."""
        self.phase = Phase.FAILED


class ResultStream(Conversation):
    """For an entry module that runs its own command channel (the optimizer track's runner,
    whose driver measures and checks every step outside): on the result pipe only "ready",
    then one error ("E") or one end ("T") message, untrusted and validated for form."""

    def _take(self, kind: bytes, payload: bytes) -> bytes | None:
        try:
            return self._take_checked(kind, payload)
        except ProtocolError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever forged bytes raise is their fault
            raise ProtocolError(
                f"a malformed {FRAME_NAMES[kind]} message on the result stream "
                f"({type(exc).__name__})"
            ) from None

    def _take_checked(self, kind: bytes, payload: bytes) -> bytes | None:
        if kind == b"T":
            data = bounded_json(payload)
            # Kept as the runner's own (untrusted) report: only the benchmark reads it.
            self.report = data if isinstance(data, dict) else {}
            self.phase = Phase.FINISHED
            return None
        if kind == b"E":
            data = bounded_json(payload)
            if not isinstance(data, dict):
                raise ProtocolError("a malformed error message on the result stream")
            self.error = {
                "kind": str(data.get("kind", "")),
                "message": str(data.get("message", "")),
            }
            self.phase = Phase.FAILED
            return None
        if kind == b"R" and self.phase is Phase.STARTING:
            self.phase = Phase.LOADING
            return None
        raise ProtocolError(f"{_a(kind)} message on the result stream out of turn")


# -- decoding and validation of untrusted values ------------------------------------------


def _decode(kind: bytes, payload: bytes) -> tuple[dict, bytes]:
    if kind == b"R":
        return {}, b""
    # A frames: a JSON header line, then the .npy bytes; the others are JSON.
    head, _, body = payload.partition(b"\n") if kind == b"A" else (payload, b"", b"")
    data = bounded_json(head)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    if kind == b"D" and "loss_curve" in data and floats(data["loss_curve"]) is None:
        raise ValueError("the loss curve is not a list of numbers")
    if kind == b"P":
        start = data.get("start")
        if isinstance(start, bool) or not isinstance(start, int):
            raise ValueError("no start index")
        if floats(data.get("values")) is None:
            raise ValueError("the loss values are not a list of numbers")
    return data, body


def bounded_json(raw: bytes) -> object:
    """JSON of at most JSON_MAX_DEPTH levels (the harness sends 2); raises ValueError."""
    # Brackets bound the depth from above (some may sit inside strings): only a deep-looking
    # payload pays for the exact check, and no payload reaches the parser's recursion limit.
    if raw.count(b"[") + raw.count(b"{") > JSON_MAX_DEPTH and _depth(raw) > JSON_MAX_DEPTH:
        raise ValueError(f"nested deeper than {JSON_MAX_DEPTH} levels")
    return json.loads(raw)


def _depth(raw: bytes) -> int:
    deepest = depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > JSON_MAX_DEPTH:
                    return deepest
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def floats(value: object) -> list[float] | None:
    """A list of floats (NaN and infinities allowed: a diverged curve), else None."""
    if not isinstance(value, list):
        return None
    out = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | float):
            return None
        try:
            out.append(float(item))
        except OverflowError:
            return None
    return out


def _count(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return min(value, 2**53)


def fp_events(value: object, *, curve_points: int | None) -> dict:
    """Floating-point counts as reported, validated: {} when they are not well formed.

    `first_epoch` is kept only when it indexes the loss curve (`curve_points` long; None: the
    curve is not known yet, any count is kept).
    """
    if not isinstance(value, dict):
        return {}
    counts = {kind: _count(value.get(kind)) for kind in FP_KINDS}
    if any(n is None for n in counts.values()):
        return {}
    first = value.get("first_epoch")
    first = _count(first)
    if first is not None and curve_points is not None and first >= max(curve_points, 1):
        first = None
    if not any(counts.values()):
        first = None
    return {**counts, "first_epoch": first}


MAX_DETERMINANT_SIZES = 64


def determinants(value: object) -> dict[int, int]:
    """{matrix size: count} of determinants as reported, validated: {} when not well formed."""
    if not isinstance(value, dict) or len(value) > MAX_DETERMINANT_SIZES:
        return {}
    out: dict[int, int] = {}
    for size, count in value.items():
        if not isinstance(size, str) or not size.isdigit() or len(size) > 9:
            return {}
        counted = _count(count)
        if counted is None:
            return {}
        if counted:
            out[int(size)] = counted
    return out


def hyperparameters(value: object) -> tuple[dict, str | None]:
    """`hyperparameters_` validated: ({} , why) when it is not what the contract allows."""
    if value is None:
        return {}, None
    if not isinstance(value, dict):
        return {}, "hyperparameters_ must be a dict"
    if len(value) > HYPERPARAMETERS_MAX_KEYS:
        return {}, f"hyperparameters_ has more than {HYPERPARAMETERS_MAX_KEYS} keys"
    out: dict[str, bool | int | float | str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key or len(key) > HYPERPARAMETER_KEY_MAX:
            return (
                {},
                f"hyperparameters_ keys must be names of 1-{HYPERPARAMETER_KEY_MAX} characters",
            )
        if isinstance(item, bool):
            out[key] = item
        elif isinstance(item, int | float):
            number = float(item) if isinstance(item, float) else item
            if isinstance(number, float) and not math.isfinite(number):
                return {}, f"hyperparameters_[{key!r}] is not a finite number"
            if isinstance(number, int) and abs(number) > 2**53:
                return {}, f"hyperparameters_[{key!r}] is too large"
            out[key] = number
        elif isinstance(item, str) and len(item) <= HYPERPARAMETER_TEXT_MAX:
            out[key] = item
        else:
            return {}, (
                f"hyperparameters_[{key!r}] must be a finite number, a bool or a string of at "
                f"most {HYPERPARAMETER_TEXT_MAX} characters"
            )
    return out, None
