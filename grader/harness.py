"""The participant's process: runs INSIDE the sandbox, loads solution.py and answers commands.

Standalone on purpose: it imports only the standard library at module level (numpy inside
`main`), because the sandbox runtime holds nothing of this project but this one file.

Everything in this process is untrusted, this file included: the solution can call any of its
functions, read its memory and write to any of its fds. So it measures nothing and decides
nothing. The trusted grader outside the sandbox drives it over two pipes and believes only
what it measures itself (times, CPU, memory) or validates (predictions, loss curve, declared
hyperparameters, floating-point counts):

- commands arrive on ``command_fd``: frame ``C`` with JSON ``{"cmd": "load"|"fit"|"predict"|"report",
  "nonce": str}``; a fresh random nonce per command, so an answer written before its command
  was sent can never be taken for it;
- answers go to ``result_fd``, each carrying the nonce of the command it answers: ``R`` ready
  (once, before any participant code runs), ``D`` done, ``P`` progress (new points of
  ``loss_curve_`` and the floating-point counts so far, during fit), ``A`` an array (JSON
  header line, then ``np.save`` bytes), ``E`` error (``{"kind", "message"}``).

A frame is one kind byte, a 4-byte big-endian length, the payload.
"""

from __future__ import annotations

import builtins
import json
import linecache
import os
import struct
import sys
import threading
import traceback
import types
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:  # the sandbox's runtime holds only what the harness imports
    from importlib.abc import Loader
    from importlib.machinery import ModuleSpec

SOLUTION_FILENAME = "solution.py"
SOLUTION_MODULE = "solution"
FRAME_HEADER = struct.Struct(">cI")
MAX_CURVE_POINTS = 100_000
PROGRESS_INTERVAL_S = 0.25
COMMAND_MAX_BYTES = 4096
FP_KINDS = ("overflow", "invalid", "divide")

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


def _error(kind: str, message: str) -> None:
    """An error message without a command (for an entry module that runs its own channel)."""
    send_json(b"E", {"kind": kind, "message": message})


def _maxrss_kb() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _read_exactly(fd: int, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def read_command(fd: int) -> dict | None:
    """The next command from the trusted side, or None when it closed the pipe."""
    head = _read_exactly(fd, FRAME_HEADER.size)
    if head is None:
        return None
    kind, length = FRAME_HEADER.unpack(head)
    if kind != b"C" or length > COMMAND_MAX_BYTES:
        return None
    body = _read_exactly(fd, length)
    return None if body is None else json.loads(body)


class ForbiddenImport(ImportError):
    pass


class RuleViolation(Exception):
    """A challenge rule refused what the solution tried (the gradient-descent-only rule)."""


_rule_violation: str | None = None


def record_rule_violation(message: str) -> None:
    """Keep the first refusal: it is the verdict even if the solution catches the error."""
    global _rule_violation
    _rule_violation = _rule_violation or message


# Helper modules the interpreter's C code imports on behalf of an allowed module (for example
# time.strptime imports _strptime, str.encode the codec's module): they reach the guard from
# the solution's frame.
IMPLICIT_IMPORTS = frozenset({"_strptime", "encodings"})


class CodeOrigin:
    """Where a code object came from: a file of the sandbox's runtime (or a frozen module of
    the interpreter), or anywhere else (the solution, or code compiled at run time by anything).

    A code object counts as the library's only if it equals (bytecode, constants, names, line)
    the code compiled from the file it names, so a filename given to compile() or
    code.replace() proves nothing. Verdicts are cached by identity (the object is kept alive,
    so its id is never reused).
    """

    def __init__(self, roots: list[str]) -> None:
        import _imp
        import importlib.util
        import marshal

        self.roots = tuple(r.rstrip("/") + "/" for r in roots if r.startswith("/"))
        self._verdicts: dict[int, tuple[types.CodeType, bool, frozenset[str]]] = {}
        self._indexes: dict[str, dict | None] = {}
        self._frozen = _imp.get_frozen_object
        self._cache_from_source = importlib.util.cache_from_source
        self._magic = importlib.util.MAGIC_NUMBER
        self._loads = marshal.loads
        self._compile = compile
        self._open = open

    def _verdict(self, code: types.CodeType) -> tuple[types.CodeType, bool, frozenset[str]]:
        hit = self._verdicts.get(id(code))
        if hit is not None and hit[0] is code:
            return hit
        genuine = self._genuine(code)
        literals = frozenset(
            [*code.co_names, *(c for c in code.co_consts if isinstance(c, str))] if genuine else ()
        )
        hit = self._verdicts[id(code)] = (code, genuine, literals)
        return hit

    def library(self, code: types.CodeType) -> bool:
        return self._verdict(code)[1]

    def _genuine(self, code: types.CodeType) -> bool:
        filename = code.co_filename
        if not isinstance(filename, str):
            return False
        if filename.startswith("<frozen ") and filename.endswith(">"):
            index = self._index(filename, frozen=filename[8:-1])
        elif filename.startswith(self.roots) and "/../" not in filename:
            index = self._index(filename)
        else:
            return False
        twins = (index or {}).get((code.co_qualname, code.co_firstlineno), ())
        return any(twin == code for twin in twins)

    def _index(self, filename: str, frozen: str | None = None) -> dict | None:
        if filename in self._indexes:
            return self._indexes[filename]
        # The import system is frozen under other names than its code's filenames say.
        frozen = {
            "importlib._bootstrap": "_frozen_importlib",
            "importlib._bootstrap_external": "_frozen_importlib_external",
        }.get(frozen or "", frozen)
        try:
            module_code = self._frozen(frozen) if frozen else self._load(filename)
        except Exception:  # noqa: BLE001 - not a module we can read: not the library's
            module_code = None
        index: dict | None = None
        if module_code is not None:
            index = {}
            stack = [module_code]
            while stack:
                code = stack.pop()
                index.setdefault((code.co_qualname, code.co_firstlineno), []).append(code)
                stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
        self._indexes[filename] = index
        return index

    def _load(self, filename: str) -> types.CodeType | None:
        if not filename.endswith(".py"):
            return None
        try:
            with self._open(self._cache_from_source(filename), "rb") as f:
                data = f.read()
            if data[:4] == self._magic:
                return self._loads(data[16:])
        except OSError:
            pass
        with self._open(filename, "rb") as f:
            return self._compile(f.read(), filename, "exec", dont_inherit=True)

    def module_name(self, filename: str) -> str | None:
        """The module a runtime file is (`json.decoder` for .../json/decoder.py)."""
        if filename.startswith("<frozen ") and filename.endswith(">"):
            return filename[8:-1]
        if not filename.startswith(self.roots) or not filename.endswith(".py"):
            return None
        # Named as the import system finds it: from the longest path entry holding it.
        entries = [e.rstrip("/") + "/" for e in sys.path if isinstance(e, str) and e]
        roots = [r for r in (*entries, *self.roots) if filename.startswith(r)]
        relative = filename[len(max(roots, key=len)) : -3]
        parts = relative.split("/")
        if parts[-1] == "__init__":
            parts.pop()
        return ".".join(parts) or None

    def participant_imports(self, frame: types.FrameType | None, name: str) -> bool:
        """Whether the import of `name` that `frame` runs is made for the participant's code.

        The first frame that is not the import system decides: the participant's code, or
        library code that spells the name (`import json`, `from . import decoder`). Library
        code importing a name it was handed (the import system itself, pickle's find_class, a
        helper that imports by name) acts for its caller, so the walk goes on outward.
        """
        last = name.rpartition(".")[2]
        while frame is not None:
            code, genuine, literals = self._verdict(frame.f_code)
            if not genuine:
                return True
            if (
                name in literals
                or last in literals
                or any(
                    literal.startswith(name + ".")
                    or (literal.endswith(".") and name.startswith(literal))
                    for literal in literals
                )
            ):
                return False
            frame = frame.f_back
        return False


class ImportGuard:
    """Refuses imports made by the participant's code outside the allowed modules.

    The solution receives filtered views of what it imports: a module object holding a copy of
    the module's namespace (attribute access keeps full speed) without the attributes that are
    modules outside the allowed list, so `random._os`, `warnings.sys` or
    `np.ctypeslib.ctypes` raise AttributeError; allowed submodules come as views too (made on
    first access, memoized).
    """

    def __init__(self, allowed: list[str], absent: list[str] = ()) -> None:  # type: ignore[assignment]
        self.allowed = sorted(set(allowed))
        self.absent = frozenset(absent)  # what the runtime never holds (runtime.DENIED_MODULES)
        self.violation: str | None = None
        self._real_import = builtins.__import__
        self._views: dict[str, types.ModuleType] = {}
        # The runtime's read-only mounts (/opt/python, /opt/site, /opt/harness, any other the
        # grader adds under /opt): never the writable /work or /tmp.
        self.origin = CodeOrigin([*sys.path, os.path.dirname(os.path.dirname(__file__))])
        self._busy = threading.local()

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

    def _from_participant(self, frame: types.FrameType) -> bool:
        # The wrappers decide by the calling code alone (what it gets back is a filtered view,
        # and a module already loaded is reachable anyway); loading a module is the audit
        # hook's to decide, by the whole chain of callers.
        return not self.origin.library(frame.f_code)

    def check(self, name: str, level: int) -> None:
        if level:
            message = (
                "relative imports are not available (solution.py is a single file); "
                f"allowed modules: {', '.join(self.allowed)}"
            )
            self.violation = self.violation or message
            raise ForbiddenImport(message)
        top = str(name).partition(".")[0]
        # A module's C accelerator goes with it (_json with json, _struct with struct).
        accelerated = top.startswith("_") and top[1:] in self.allowed
        if top not in self.allowed and top not in IMPLICIT_IMPORTS and not accelerated:
            message = (
                f"import of '{top}' is not allowed in this challenge; "
                f"allowed modules: {', '.join(self.allowed)}"
            )
            self.violation = self.violation or message
            raise ForbiddenImport(message, name=top)

    def missing_outside_list(self, exc: BaseException) -> bool:
        """Whether `exc` says a module outside the allowed list is missing: the sandbox masks
        those (runtime.BASE_MODULES aside), so an import that got past this guard ends here.
        Records the violation the guard would have."""
        name = exc.name if isinstance(exc, ModuleNotFoundError) else None
        if not isinstance(name, str) or not name or self.violation:
            return bool(self.violation) and isinstance(exc, ModuleNotFoundError)
        try:
            self.check(name, 0)
        except ForbiddenImport:
            return True
        return False

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
        # The wrappers above give the solution filtered views; this hook is the rule itself:
        # it cannot be removed, and every route that loads a module passes through it.
        sys.addaudithook(self.audit)

    def audit(self, event: str, args: tuple) -> None:
        """Refuse loading a module for the participant's code outside the allowed ones.

        "import" is raised by the interpreter's import (statements, __import__ by any name,
        extension modules); "exec" with a module's code by every loader, whoever called it
        (importlib internals, _gcd_import, exec_module). The frame that asked decides.
        """
        if event != "import" and event != "exec":
            return
        if getattr(self._busy, "on", False):
            return
        self._busy.on = True
        try:
            if event == "import":
                name = args[0]
            else:
                code = args[0]
                if not isinstance(code, types.CodeType) or code.co_name != "<module>":
                    return
                name = self.origin.module_name(code.co_filename)
            if not isinstance(name, str) or not name or name.startswith("encodings."):
                return
            if self.origin.participant_imports(sys._getframe(1), name):
                self.check(name, 0)
        finally:
            self._busy.on = False


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


def _curve_length(model: object) -> int | None:
    try:
        curve = getattr(model, "loss_curve_", None)
        return None if curve is None else int(len(curve))
    except Exception:  # noqa: BLE001 - a strange loss_curve_ has no length
        return None


class FloatingPointEvents:
    """numpy's floating-point events (overflow, invalid, divide) while the model trains.

    numpy calls `record` once per operation that raised one (np.seterr(all="call")); the first
    epoch is the length of `loss_curve_` at that moment: the index of the point being computed.
    """

    def __init__(self, model: object) -> None:
        self.model = model
        self.counts = dict.fromkeys(FP_KINDS, 0)
        self.first_epoch: int | None = None
        self.any = False

    def record(self, kind: str, flag: int) -> None:
        # numpy names them "overflow", "invalid value", "divide by zero" (and "underflow").
        for name in FP_KINDS:
            if str(kind).startswith(name[:6]):
                self.counts[name] += 1
        if not self.any:
            self.any = True
            self.first_epoch = _curve_length(self.model)

    def report(self) -> dict:
        return {**self.counts, "first_epoch": self.first_epoch}


def determinant_counts() -> dict:
    """{matrix size: determinants computed} as the gradient-descent-only rule's numpy counted
    them (its linalg stub; empty without the rule). Untrusted like everything here: for the
    organizers' review only."""
    module = sys.modules.get("numpy.linalg._umath_linalg")
    counts = getattr(module, "determinants", None)
    if not isinstance(counts, dict):
        return {}
    return {str(size): count for size, count in list(counts.items())[:64]}


class ProgressReporter(threading.Thread):
    def __init__(self, model: object, nonce: str, events: FloatingPointEvents) -> None:
        super().__init__(daemon=True, name="progress")
        self.model = model
        self.nonce = nonce
        self.events = events
        self.read = 0  # points of loss_curve_ read so far
        self.sent = 0  # numbers sent (points that are not numbers are skipped)
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(PROGRESS_INTERVAL_S):
            self.flush()

    def flush(self) -> None:
        try:
            curve = getattr(self.model, "loss_curve_", None)
            values: list[float] = []
            end = self.read
            if curve is not None and len(curve) > self.read and self.read < MAX_CURVE_POINTS:
                end = min(len(curve), MAX_CURVE_POINTS)
                values = _float_list(curve, self.read, end)
            if not values and not self.events.any:
                return
            send_json(
                b"P",
                {
                    "nonce": self.nonce,
                    "start": self.sent,
                    "values": values,
                    "fp": self.events.report(),
                },
            )
            self.read = end
            self.sent += len(values)
        except Exception:  # noqa: BLE001 - a strange loss_curve_ only costs the live view
            return


def array_frame(
    np: types.ModuleType, nonce: str, name: str, value: object, expected_size: int
) -> bytes:
    """The payload of an A frame: a JSON header line, then the array's .npy bytes (if sent)."""
    try:
        arr = np.asarray(value)
    except Exception as exc:  # noqa: BLE001
        unconvertible: dict[str, object] = {
            "nonce": nonce,
            "name": name,
            "shape": None,
            "dtype": f"unconvertible ({type(exc).__name__})",
        }
        return json.dumps(unconvertible).encode() + b"\n"
    header = {"nonce": nonce, "name": name, "shape": list(arr.shape), "dtype": str(arr.dtype)}
    if arr.dtype.kind not in "biuf" or arr.size > expected_size:
        return json.dumps(header).encode() + b"\n"
    import io

    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return json.dumps(header).encode() + b"\n" + buf.getvalue()


def _load(np: types.ModuleType, fd: int) -> Any:
    with os.fdopen(fd, "rb") as f:
        return np.load(f, allow_pickle=False)


HYPERPARAMETERS_MAX_KEYS = 32


def declared_hyperparameters(model: object) -> object:
    """`hyperparameters_` as JSON (validated on the trusted side): numpy scalars become numbers,
    a key that is not a string becomes "" and a value of another type None (both refused)."""
    declared = getattr(model, "hyperparameters_", None)
    if not isinstance(declared, dict):
        return None
    out: dict = {}
    for key, value in list(declared.items())[: HYPERPARAMETERS_MAX_KEYS + 1]:
        if hasattr(value, "item") and callable(value.item):  # numpy scalars
            try:
                value = value.item()
            except Exception:  # noqa: BLE001
                value = None
        if not isinstance(value, bool | int | float | str) or (
            isinstance(value, int) and abs(value) > 2**63
        ):
            value = None
        out[key[:200] if isinstance(key, str) else ""] = (
            value[:200] if isinstance(value, str) else value
        )
    return out


class SeedOnImport:
    """Python's `random` and numpy's global generator seeded with the challenge's seed: one
    already imported at once, the other as soon as something imports it (a meta path finder
    wraps its loader: the seed is set right after the module's code ran, before the import
    returns), so a run that never draws a random number does not import them (numpy.random
    and what it loads, hashlib and secrets among them, cost some 15 ms).

    A solution whose source names no random generator is run without them; if it reaches
    numpy.random anyway (a name built at run time), the modules numpy.random's compiled
    parts import are imported first from here, where their names are spelled, so the import
    rule counts them as the library's, as it does for numpy.random's own imports."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.pending: dict[str, Any] = {}

    def install(self) -> None:
        for name in ("random", "numpy.random"):
            module = sys.modules.get(name)
            if module is not None:
                self._seed(module)
            else:
                self.pending[name] = None
        if self.pending:
            sys.meta_path.insert(0, self)

    def _seed(self, module: types.ModuleType) -> None:
        module.seed(self.seed)

    def find_spec(
        self,
        name: str,
        path: Sequence[str] | None = None,
        target: types.ModuleType | None = None,
        /,
    ) -> ModuleSpec | None:
        if name not in self.pending:
            return None
        del self.pending[name]
        if not self.pending:
            sys.meta_path.remove(self)
        spec = None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = None if find is None or finder is self else find(name, path, target)
            if spec is not None:
                break
        if spec is None or spec.loader is None:
            return spec
        loader, seed = spec.loader, self._seed

        class Seeding:
            def create_module(self, spec: ModuleSpec) -> types.ModuleType | None:
                return loader.create_module(spec)

            def exec_module(self, module: types.ModuleType) -> None:
                module.__loader__ = loader  # the module's own
                if module.__spec__ is not None:
                    module.__spec__.loader = loader
                if module.__name__ == "numpy.random":
                    _numpy_random_dependencies()
                loader.exec_module(module)
                seed(module)

        spec.loader = cast("Loader", Seeding())
        return spec


def _numpy_random_dependencies() -> None:
    """What numpy.random's compiled modules import, imported by name from library code."""
    import base64  # noqa: F401
    import binascii  # noqa: F401
    import bisect  # noqa: F401
    import hashlib  # noqa: F401
    import hmac  # noqa: F401
    import random  # noqa: F401
    import secrets  # noqa: F401
    import zlib  # noqa: F401


class Session:
    """What the commands act on: the data, the solution, the model."""

    def __init__(self, config: dict, np: types.ModuleType, data: dict) -> None:
        self.config = config
        self.np = np
        self.data = data
        self.guard = ImportGuard(config["allowed_imports"], config.get("absent_modules", []))
        self.model: object = None
        self.events = FloatingPointEvents(None)
        self.predictions: object = None
        self.proba: object = None

    def error(self, nonce: str, kind: str, message: str) -> None:
        send_json(b"E", {"nonce": nonce, "kind": kind, "message": message})

    def failed(self, nonce: str, exc: BaseException, stage: str) -> None:
        missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
        if isinstance(exc, RuleViolation) or _rule_violation:
            self.error(nonce, "rule", _rule_violation or str(exc))
        elif str(missing).partition(".")[0] in self.guard.absent:
            top = str(missing).partition(".")[0]
            self.error(
                nonce,
                "forbidden_import",
                f"import of '{top}' is not possible: the sandbox's Python holds no {top} (nor "
                "sockets, processes, foreign functions or shared memory), whatever a challenge "
                f"allows; allowed modules: {', '.join(self.guard.allowed)}",
            )
        elif (
            isinstance(exc, ForbiddenImport)
            or self.guard.violation
            or self.guard.missing_outside_list(exc)
        ):
            self.error(nonce, "forbidden_import", self.guard.violation or str(exc))
        else:
            message = participant_traceback(exc) or f"{type(exc).__name__} in {stage}"
            if stage == "Model()" and isinstance(exc, TypeError) and "argument" in str(exc):
                message += (
                    "\nModel() is built without arguments: give every __init__ parameter a default"
                )
            self.error(nonce, "memory" if isinstance(exc, MemoryError) else "runtime", message)

    def load(self, nonce: str, source: str) -> bool:
        linecache.cache[SOLUTION_FILENAME] = (
            len(source),
            None,
            source.splitlines(keepends=True),
            SOLUTION_FILENAME,
        )
        if "rand" in source:
            # It may draw random numbers (np.random, random, default_rng, matlib.rand): its
            # generators are imported here, before the import rule applies, and seeded.
            import random  # noqa: F401

            import numpy.random  # noqa: F401
        SeedOnImport(self.config["seed"]).install()
        try:
            code = compile(source, SOLUTION_FILENAME, "exec")
        except (SyntaxError, ValueError) as exc:
            self.error(nonce, "syntax", "".join(traceback.format_exception_only(exc)).strip())
            return False
        module = type(sys)(SOLUTION_MODULE)
        module.__file__ = SOLUTION_FILENAME
        sys.modules[SOLUTION_MODULE] = module
        self.guard.install()
        stage = "loading solution.py"
        try:
            exec(code, module.__dict__)  # noqa: S102 - this is the sandbox's purpose
            model_class = module.__dict__.get("Model")
            if not isinstance(model_class, type):
                self.error(nonce, "contract", "solution.py must define a class named Model")
                return False
            stage = "Model()"
            self.model = model_class()
        except BaseException as exc:  # noqa: BLE001 - every participant failure is reported
            self.failed(nonce, exc, stage)
            return False
        return self.done(nonce)

    def done(self, nonce: str, **extra: object) -> bool:
        if _rule_violation:
            self.error(nonce, "rule", _rule_violation)
            return False
        if self.guard.violation:
            self.error(nonce, "forbidden_import", self.guard.violation)
            return False
        send_json(b"D", {"nonce": nonce, **extra})
        return True

    def fit(self, nonce: str) -> bool:
        np = self.np
        self.events = FloatingPointEvents(self.model)
        reporter = ProgressReporter(self.model, nonce, self.events)
        reporter.start()
        saved = np.seterr(all="call", under="ignore")
        saved_call = np.seterrcall(self.events.record)
        try:
            self.model.fit(self.data["train_X"], self.data["train_y"])  # type: ignore[attr-defined]
        except BaseException as exc:  # noqa: BLE001
            self._stop(reporter)
            self.failed(nonce, exc, "fit")
            return False
        finally:
            np.seterr(**saved)
            np.seterrcall(saved_call)
        self._stop(reporter)
        return self.done(nonce)

    @staticmethod
    def _stop(reporter: ProgressReporter) -> None:
        # No progress message may follow the answer: the next command has another nonce.
        reporter.halt.set()
        reporter.join()

    def predict(self, nonce: str) -> bool:
        model, test_X = self.model, self.data["test_X"]
        try:
            if self.config["needs_labels"]:
                self.predictions = model.predict(test_X)  # type: ignore[attr-defined]
            if self.config["needs_proba"]:
                if not callable(getattr(model, "predict_proba", None)):
                    self.error(
                        nonce,
                        "contract",
                        f"the metric {self.config['metric']} needs Model.predict_proba(X), "
                        "which solution.py does not define",
                    )
                    return False
                self.proba = model.predict_proba(test_X)  # type: ignore[attr-defined]
        except BaseException as exc:  # noqa: BLE001
            self.failed(nonce, exc, "predict")
            return False
        if self.guard.violation:
            return self.done(nonce)
        n_test = int(test_X.shape[0])
        n_classes = int(self.config.get("n_classes") or 0)
        try:
            if self.predictions is not None:
                send(b"A", array_frame(self.np, nonce, "predictions", self.predictions, n_test))
            if self.proba is not None:
                size = n_test * max(n_classes, 2)
                send(b"A", array_frame(self.np, nonce, "proba", self.proba, size))
        except MemoryError:
            self.error(nonce, "memory", "MemoryError while sending the predictions")
            return False
        return self.done(nonce)

    def report(self, nonce: str) -> bool:
        try:
            values = getattr(self.model, "loss_curve_", None)
            curve = _float_list(values, 0, MAX_CURVE_POINTS) if values is not None else []
        except Exception:  # noqa: BLE001
            curve = []
        try:
            declared = declared_hyperparameters(self.model)
        except Exception:  # noqa: BLE001
            declared = None
        if not self.send_training_predictions(nonce):
            return False
        return self.done(
            nonce,
            loss_curve=curve,
            hyperparameters=declared,
            fp_events=self.events.report(),
            determinants=determinant_counts(),
        )

    def send_training_predictions(self, nonce: str) -> bool:
        """The model's predictions for the first `training_rows` training rows, from which
        the trusted side measures its training loss (to set beside the loss curve it reports):
        predict() for regression, predict_proba() for classification when the model has it.
        A model that fails on them only leaves the measurement out."""
        rows = int(self.config.get("training_rows") or 0)
        if rows <= 0:
            return True
        X = self.data["train_X"][:rows]
        model = self.model
        try:
            if self.config["task"] == "regression":
                name, value = "train_predictions", model.predict(X)  # type: ignore[attr-defined]
                size = rows
            elif callable(getattr(model, "predict_proba", None)):
                name, value = "train_proba", model.predict_proba(X)  # type: ignore[attr-defined]
                size = rows * max(int(self.config.get("n_classes") or 0), 2)
            else:
                return True
            send(b"A", array_frame(self.np, nonce, name, value, size))
        except MemoryError:
            self.error(nonce, "memory", "MemoryError while predicting the training rows")
            return False
        except BaseException as exc:  # noqa: BLE001 - the measurement is left out
            if isinstance(exc, RuleViolation) or _rule_violation:
                return self.done(nonce)  # reports the rule verdict
        return True


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
    session = Session(config, np, {"train_X": train_X, "train_y": train_y, "test_X": test_X})
    send_json(b"R", {})
    while True:
        command = read_command(config["command_fd"])
        if command is None:
            return
        nonce, cmd = str(command.get("nonce")), command.get("cmd")
        if cmd == "load":
            ok = session.load(nonce, source)
        elif cmd == "fit":
            ok = session.fit(nonce)
        elif cmd == "predict":
            ok = session.predict(nonce)
        elif cmd == "report":
            ok = session.report(nonce)
        else:
            return
        if not ok:
            return


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
