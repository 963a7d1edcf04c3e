"""The harness: runs INSIDE the sandbox, loads solution.py, trains it and sends predictions back.

Standalone on purpose: it imports only the standard library at module level (numpy inside
`main`), because the sandbox runtime holds nothing of this project but this one file.

Everything goes back to the trusted side over one pipe (`result_fd`) as frames:
one kind byte, a 4-byte big-endian length, the payload. Kinds:

- ``R`` ready (data loaded; the participant's clock starts now), JSON ``{}``
- ``P`` progress: JSON ``{"start": i, "values": [...]}``, new points of ``loss_curve_``
- ``E`` error: JSON ``{"kind": "runtime"|"memory"|"syntax"|"forbidden_import"|"contract",
  "message": str}``
- ``A`` array: JSON header ``{"name", "shape", "dtype"}``, a newline, then ``np.save`` bytes
  (no bytes when the array is not what was asked for: the header is enough to say why)
- ``T`` done: JSON ``{"fit_seconds", "predict_seconds", "maxrss_kb", "loss_curve"}``

The import guard is a fairness rule (the namespaces and seccomp are the security boundary).
"""

from __future__ import annotations

import builtins
import json
import linecache
import os
import struct
import sys
import threading
import time
import traceback
import types
from collections.abc import Mapping, Sequence
from typing import Any

SOLUTION_FILENAME = "solution.py"
SOLUTION_MODULE = "solution"
FRAME_HEADER = struct.Struct(">cI")
MAX_CURVE_POINTS = 100_000
PROGRESS_INTERVAL_S = 0.25

_write = os.write
_lock = threading.Lock()
_result_fd = -1
_main_pid = -1


def send(kind: bytes, payload: bytes) -> None:
    # A process the solution forked that returns into the harness must not report anything.
    if os.getpid() != _main_pid:
        os._exit(0)
    with _lock:
        data = FRAME_HEADER.pack(kind, len(payload)) + payload
        view = memoryview(data)
        while view:
            written = _write(_result_fd, view)
            view = view[written:]


def send_json(kind: bytes, obj: object) -> None:
    send(kind, json.dumps(obj).encode())


class ForbiddenImport(ImportError):
    pass


# Helper modules the interpreter's C code imports on behalf of an allowed module (for example
# time.strptime imports _strptime): they reach the guard from the solution's frame.
IMPLICIT_IMPORTS = frozenset({"_strptime"})


class ImportGuard:
    """Refuses imports made by the participant's code outside the allowed modules.

    The solution receives filtered views of what it imports: a module object holding a copy of
    the module's namespace (attribute access keeps full speed) without the attributes that are
    modules outside the allowed list, so `random._os`, `warnings.sys` or
    `np.ctypeslib.ctypes` raise AttributeError; allowed submodules come as views too (made on
    first access, memoized). This is a rule for fairness, not a security boundary: library
    functions keep their real globals, and code determined to reach a forbidden module can
    (through `__globals__`, for one). The sandbox's namespaces are the security boundary.
    """

    def __init__(self, allowed: list[str]) -> None:
        self.allowed = sorted(set(allowed))
        self.violation: str | None = None
        self._real_import = builtins.__import__
        self._views: dict[str, types.ModuleType] = {}

    def _may_see(self, owner: types.ModuleType, attr: str, value: types.ModuleType) -> bool:
        top = str(getattr(value, "__name__", "")).partition(".")[0]
        if top in self.allowed or top in IMPLICIT_IMPORTS:
            return True
        # `os.path` is posixpath: importable as os.path, so visible if os is allowed.
        alias = f"{owner.__name__}.{attr}"
        return alias.partition(".")[0] in self.allowed and sys.modules.get(alias) is value

    def view(self, module: object) -> object:
        """The filtered view of `module` given to the solution (anything else: as it is)."""
        if not isinstance(module, types.ModuleType):
            return module
        return self.module_view(module)

    def module_view(self, module: types.ModuleType) -> types.ModuleType:
        """The filtered view of `module`: its submodules only through `_may_see`."""
        key = f"{module.__name__}@{id(module)}"
        view = self._views.get(key)
        if view is not None:
            return view
        view = types.ModuleType(module.__name__)
        self._views[key] = view
        namespace = {
            k: v for k, v in module.__dict__.items() if not isinstance(v, types.ModuleType)
        }
        guard = self

        def __getattr__(name: str) -> object:  # noqa: N807 - the module-level hook (PEP 562)
            value = getattr(module, name)  # the module's own lazy attributes too
            if not isinstance(value, types.ModuleType):
                return value
            if not guard._may_see(module, name, value):
                raise AttributeError(
                    f"module {module.__name__!r} has no attribute {name!r} available here "
                    f"(the module {value.__name__} is not allowed in this challenge; "
                    f"allowed modules: {', '.join(guard.allowed)})",
                    name=name,
                    obj=view,
                )
            sub = guard.view(value)
            setattr(view, name, sub)  # next time a plain dict lookup
            return sub

        namespace["__getattr__"] = __getattr__
        view.__dict__.update(namespace)
        return view

    def _from_participant(self, frame: object) -> bool:
        # Library code runs with the globals of a module registered in sys.modules; the
        # solution's code, and anything it execs with a dict of its own, does not.
        f_globals = frame.f_globals  # type: ignore[attr-defined]
        name = f_globals.get("__name__")
        if name == SOLUTION_MODULE or not isinstance(name, str):
            return True
        module = sys.modules.get(name)
        return module is None or getattr(module, "__dict__", None) is not f_globals

    def check(self, name: str, level: int) -> None:
        if level:
            message = (
                "relative imports are not available (solution.py is a single file); "
                f"allowed modules: {', '.join(self.allowed)}"
            )
            self.violation = self.violation or message
            raise ForbiddenImport(message)
        top = str(name).partition(".")[0]
        if top not in self.allowed and top not in IMPLICIT_IMPORTS:
            message = (
                f"import of '{top}' is not allowed in this challenge; "
                f"allowed modules: {', '.join(self.allowed)}"
            )
            self.violation = self.violation or message
            raise ForbiddenImport(message, name=top)

    def guarded_import(
        self,
        name: str,
        globals: Mapping[str, object] | None = None,  # noqa: A002 - __import__'s signature
        locals: Mapping[str, object] | None = None,  # noqa: A002
        fromlist: Sequence[str] | None = (),
        level: int = 0,
    ) -> types.ModuleType:
        if self._from_participant(sys._getframe(1)):
            self.check(name, level)
            return self.module_view(self._real_import(name, globals, locals, fromlist, level))
        return self._real_import(name, globals, locals, fromlist, level)

    def install(self) -> None:
        import importlib

        real_import_module = importlib.import_module

        def import_module(name: str, package: str | None = None) -> types.ModuleType:
            if self._from_participant(sys._getframe(1)):
                self.check(name, 1 if str(name).startswith(".") else 0)
                return self.module_view(real_import_module(name, package))
            return real_import_module(name, package)

        importlib.import_module = import_module
        builtins.__import__ = self.guarded_import


def participant_traceback(exc: BaseException) -> str:
    """The traceback from the participant's first frame on: no harness frames."""
    harness_file = __file__

    def trim(te: traceback.TracebackException) -> None:
        frames = list(te.stack)
        for i, frame in enumerate(frames):
            if frame.filename == SOLUTION_FILENAME:
                frames = frames[i:]
                break
        else:
            frames = []
        frames = [f for f in frames if f.filename != harness_file]
        te.stack = traceback.StackSummary.from_list(frames)
        if te.__cause__ is not None:
            trim(te.__cause__)
        if te.__context__ is not None:
            trim(te.__context__)

    te = traceback.TracebackException.from_exception(exc)
    trim(te)
    return "".join(te.format())


def _float_list(values: object, start: int, limit: int) -> list[float]:
    """Points start..limit of a loss curve, skipping the ones that are not numbers.

    Only a list, tuple or numpy array is read: an iterator (maybe endless) is never consumed.
    """
    ndarray = getattr(sys.modules.get("numpy"), "ndarray", None)
    if not isinstance(values, (list, tuple) + ((ndarray,) if ndarray else ())):
        raise TypeError("loss_curve_ must be a list, a tuple or a numpy array")
    out = []
    for v in values[start:limit]:
        try:
            out.append(float(v))
        except (TypeError, ValueError, OverflowError):
            continue
    return out


class ProgressReporter(threading.Thread):
    def __init__(self, model: object) -> None:
        super().__init__(daemon=True, name="progress")
        self.model = model
        self.read = 0  # points of loss_curve_ read so far
        self.sent = 0  # numbers sent (points that are not numbers are skipped)
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(PROGRESS_INTERVAL_S):
            self.flush()

    def flush(self) -> None:
        try:
            curve = getattr(self.model, "loss_curve_", None)
            if curve is None or len(curve) <= self.read or self.read >= MAX_CURVE_POINTS:
                return
            end = min(len(curve), MAX_CURVE_POINTS)
            values = _float_list(curve, self.read, end)
            send_json(b"P", {"start": self.sent, "values": values})
            self.read = end
            self.sent += len(values)
        except Exception:  # noqa: BLE001 - a strange loss_curve_ only costs the live view
            return


def send_array(np: types.ModuleType, name: str, value: object, expected_size: int) -> None:
    try:
        arr = np.asarray(value)
    except Exception as exc:  # noqa: BLE001
        header: dict[str, object] = {
            "name": name,
            "shape": None,
            "dtype": f"unconvertible ({type(exc).__name__})",
        }
        send(b"A", json.dumps(header).encode() + b"\n")
        return
    header = {"name": name, "shape": list(arr.shape), "dtype": str(arr.dtype)}
    if arr.dtype.kind not in "biuf" or arr.size > expected_size:
        send(b"A", json.dumps(header).encode() + b"\n")
        return
    import io

    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    send(b"A", json.dumps(header).encode() + b"\n" + buf.getvalue())


def _load(np: types.ModuleType, fd: int) -> Any:
    with os.fdopen(fd, "rb") as f:
        return np.load(f, allow_pickle=False)


def _maxrss_kb() -> int:
    import resource

    # The harness, or the largest process the solution forked and waited for.
    return int(
        max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        )
    )


def _error(kind: str, message: str) -> None:
    send_json(b"E", {"kind": kind, "message": message, "maxrss_kb": _maxrss_kb()})


def _classify(exc: BaseException, guard: ImportGuard) -> str:
    if isinstance(exc, ForbiddenImport) or guard.violation:
        return "forbidden_import"
    if isinstance(exc, MemoryError):
        return "memory"
    return "runtime"


def main() -> None:
    global _result_fd, _main_pid
    config = json.loads(sys.argv[1])
    _result_fd = config["result_fd"]
    _main_pid = os.getpid()
    import numpy as np

    # The contract: X is float64, y float64 (regression) or int64 labels (classification).
    train_X = _load(np, config["train_X_fd"]).astype(np.float64, copy=False)
    train_y = _load(np, config["train_y_fd"])
    test_X = _load(np, config["test_X_fd"]).astype(np.float64, copy=False)
    with os.fdopen(config["source_fd"], "rb") as f:
        source = f.read().decode("utf-8", errors="replace")
    train_y = train_y.astype(np.float64 if config["task"] == "regression" else np.int64, copy=False)
    n_test = int(test_X.shape[0])
    n_classes = int(config.get("n_classes") or 0)
    send_json(b"R", {})

    import random

    guard = ImportGuard(config["allowed_imports"])
    linecache.cache[SOLUTION_FILENAME] = (
        len(source),
        None,
        source.splitlines(keepends=True),
        SOLUTION_FILENAME,
    )
    random.seed(config["seed"])
    np.random.seed(config["seed"])
    try:
        code = compile(source, SOLUTION_FILENAME, "exec")
    except (SyntaxError, ValueError) as exc:
        _error("syntax", "".join(traceback.format_exception_only(exc)).strip())
        return
    module = type(sys)(SOLUTION_MODULE)
    module.__file__ = SOLUTION_FILENAME
    sys.modules[SOLUTION_MODULE] = module
    guard.install()

    reporter = None
    stage = "loading solution.py"
    try:
        exec(code, module.__dict__)  # noqa: S102 - this is the sandbox's purpose
        model_class = module.__dict__.get("Model")
        if not isinstance(model_class, type):
            _error("contract", "solution.py must define a class named Model")
            return
        stage = "Model()"
        model = model_class()
        reporter = ProgressReporter(model)
        reporter.start()
        stage = "fit"
        t0 = time.perf_counter()
        model.fit(train_X, train_y)
        fit_seconds = time.perf_counter() - t0
        reporter.halt.set()
        stage = "predict"
        t0 = time.perf_counter()
        predictions = proba = None
        if config["needs_labels"]:
            predictions = model.predict(test_X)
        if config["needs_proba"]:
            if not callable(getattr(model, "predict_proba", None)):
                _error(
                    "contract",
                    f"the metric {config['metric']} needs Model.predict_proba(X), "
                    "which solution.py does not define",
                )
                return
            proba = model.predict_proba(test_X)
        predict_seconds = time.perf_counter() - t0
    except BaseException as exc:  # noqa: BLE001 - every participant failure is reported
        if reporter is not None:
            reporter.halt.set()
        kind = _classify(exc, guard)
        if kind == "forbidden_import":
            _error(kind, guard.violation or str(exc))
        else:
            message = participant_traceback(exc) or f"{type(exc).__name__} in {stage}"
            if stage == "Model()" and isinstance(exc, TypeError) and "argument" in str(exc):
                message += (
                    "\nModel() is built without arguments: give every __init__ parameter a default"
                )
            _error(kind, message)
        return
    if guard.violation:
        _error("forbidden_import", guard.violation)
        return
    try:
        if predictions is not None:
            send_array(np, "predictions", predictions, n_test)
        if proba is not None:
            send_array(np, "proba", proba, n_test * max(n_classes, 2))
        curve_values = getattr(model, "loss_curve_", None)
        try:
            curve = (
                _float_list(curve_values, 0, MAX_CURVE_POINTS) if curve_values is not None else []
            )
        except Exception:  # noqa: BLE001
            curve = []
        usage = _maxrss_kb()
        send_json(
            b"T",
            {
                "fit_seconds": fit_seconds,
                "predict_seconds": predict_seconds,
                "maxrss_kb": usage,
                "loss_curve": curve,
            },
        )
    except MemoryError:
        _error("memory", "MemoryError while sending the predictions")


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
