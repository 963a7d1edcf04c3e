"""The import rule holds by every route (real sandbox): whether an import is the participant's
is decided by where the executing code came from, not by the globals it runs with; what the
rule cannot stop inside the interpreter is not in the sandbox's Python at all."""

from __future__ import annotations

import pytest

import grader
from grader.contract import DEFAULT_ALLOWED_IMPORTS, Verdict
from grader.runtime import DENIED_MODULES

from .conftest import LINEAR

# The internals each route reaches for are allowed: only the target is the rule's to refuse.
# urllib.parse is in every run's sandbox (numpy's DataSource uses it) but not loaded before the
# solution runs, and no challenge here allows it: the guard is what stops these routes. (A
# module outside the list that numpy does not use is not even there: see DISARMED below.)
REACH = (*DEFAULT_ALLOWED_IMPORTS, "sys", "gc", "importlib", "pickle", "types", "os")


def with_fit_lines(body: str) -> str:
    lines = "".join(f"        {line}\n" for line in body.strip("\n").splitlines())
    return LINEAR.replace("        return self\n", lines + "        return self\n", 1)


ROUTES = {
    "exec-with-numpy-globals": "exec('import urllib.parse', np.load.__globals__)",
    "eval-with-numpy-globals": "eval('__import__(\"urllib.parse\")', np.load.__globals__)",
    "compile-with-numpy-filename": (
        "import types\n"
        "code = compile('import urllib.parse', np.load.__code__.co_filename, 'exec')\n"
        "types.FunctionType(code, np.load.__globals__)()"
    ),
    "code-replace-filename": (
        "def f():\n    import urllib.parse\n"
        "f.__code__ = f.__code__.replace(co_filename=np.load.__code__.co_filename)\nf()"
    ),
    "library-builtins-import": (
        "np.load.__globals__['__builtins__']['__import__']('urllib.parse')"
    ),
    "gcd-import": "import sys\nsys.modules['_frozen_importlib']._gcd_import('urllib.parse')",
    "importlib-internals": (
        "import sys\nutil = sys.modules['importlib.util']\nspec = util.find_spec('urllib.parse')\n"
        "spec.loader.exec_module(util.module_from_spec(spec))"
    ),
    "real-import-from-gc": (
        "import gc\n"
        "guard = next(o for o in gc.get_objects() if type(o).__name__ == 'ImportGuard')\n"
        "import builtins as b\nguard._real_import('urllib.parse')"
    ),
    "real-import-from-frames": (
        "import sys\nsys._getframe(1).f_locals['self'].guard._real_import('urllib.parse')"
    ),
    "pickle-find-class": "import pickle\npickle.loads(b'curllib.parse\\nurlparse\\n.')",
    "exec-the-module-source": (
        "import os\npath = os.path.dirname(os.__file__) + '/urllib/parse.py'\n"
        "exec(compile(open(path).read(), path, 'exec'), {'__name__': 'urllib.parse'})"
    ),
}


@pytest.mark.parametrize("body", ROUTES.values(), ids=ROUTES.keys())
def test_no_route_imports_a_module_outside_the_list(make_job, body) -> None:
    allowed = (*REACH, "builtins") if "builtins" in body else REACH
    result = grader.grade(make_job(with_fit_lines(body), allowed=allowed))
    assert result.verdict is Verdict.FORBIDDEN_IMPORT, (result.message, result.stderr)
    assert "import of 'urllib' is not allowed" in result.message


def test_the_same_routes_work_for_an_allowed_module(make_job) -> None:
    body = ROUTES["exec-with-numpy-globals"] + "\n" + ROUTES["gcd-import"]
    result = grader.grade(make_job(with_fit_lines(body), allowed=(*REACH, "urllib")))
    assert result.verdict is Verdict.SCORED, result.message


def test_what_the_rule_cannot_stop_in_the_interpreter_is_not_in_the_sandbox(make_job) -> None:
    body = """
import os, sys
lib = os.path.dirname(os.__file__)
names = set(os.listdir(lib)) | set(os.listdir(lib + '/lib-dynload'))
present = sorted(n for n in names if n.split('.')[0] in DENIED)
print('PRESENT', present)
for name in ('socket', 'ctypes', '_ctypes', 'subprocess', '_posixsubprocess', 'multiprocessing'):
    try:
        sys.modules['_frozen_importlib']._gcd_import(name)
        print('IMPORTED', name)
    except ImportError as exc:
        print('absent', name)
""".replace("DENIED", repr(sorted(DENIED_MODULES)))
    result = grader.grade(make_job(with_fit_lines(body), allowed=(*REACH, *DENIED_MODULES)))
    assert result.verdict is Verdict.SCORED, result.message
    assert "PRESENT []" in result.stdout
    assert "IMPORTED" not in result.stdout and result.stdout.count("absent") == 6


def test_a_denied_module_is_refused_saying_the_sandbox_has_none(make_job) -> None:
    body = "exec('import socket', np.load.__globals__)"
    result = grader.grade(make_job(with_fit_lines(body), allowed=(*REACH, "socket")))
    assert result.verdict is Verdict.FORBIDDEN_IMPORT
    assert "the sandbox's Python holds no socket" in result.message


# The guard lives in the participant's process: a solution can switch it off. What it would
# then load must not be there: a module the challenge does not allow (and numpy and the harness
# do not load) is masked in the run's sandbox.
DISARMED = {
    "guard-list-extended": "__import__.__self__.allowed.append(NAME)\nimport_(NAME)",
    "guard-check-replaced": (
        "type(__import__.__self__).check = lambda *args, **kwargs: None\nimport_(NAME)"
    ),
    "library-frame-that-spells-the-name": (
        # numpy's cov spells `array`: a callback it runs (a division by zero) imports as it.
        "import functools\n"
        "type(__import__.__self__).check = lambda *args, **kwargs: None\n"
        "np.seterrcall(functools.partial(__import__, NAME))\n"
        "try:\n"
        "    with np.errstate(all='call'):\n"
        "        np.cov(np.array([[1.0]]))\n"
        "except ImportError as exc:\n"
        "    print('MISSING', NAME, type(exc).__name__)\n"
        "import_(NAME)"
    ),
    "source-and-compiled-files-read-directly": (
        "type(__import__.__self__).check = lambda *args, **kwargs: None\n"
        "os = np.load.__globals__['os']\n"
        "ext = os.sys.modules['_frozen_importlib_external']\n"
        "lib = os.path.dirname(os.__file__)\n"
        "for path in (lib + '/' + NAME + '.py', ext.cache_from_source(lib + '/' + NAME + '.py')):\n"
        "    kind = ext.SourceFileLoader if path.endswith('.py') else ext.SourcelessFileLoader\n"
        "    try:\n"
        "        module = kind(NAME, path).load_module()\n"
        "        print('LOADED', NAME, [k for k in vars(module) if not k.startswith('_')][:3])\n"
        "    except (ImportError, OSError) as exc:\n"
        "        print('MISSING', NAME, type(exc).__name__)"
    ),
}
IMPORT_ = """
def import_(name):
    try:
        module = __import__(name)
        print('LOADED', name, [k for k in vars(module) if not k.startswith('_')][:3])
    except ImportError as exc:
        print('MISSING', name, type(exc).__name__)
"""


CASES = [
    pytest.param(body, name, id=f"{route}-{name}")
    for route, body in DISARMED.items()
    # csv: a source module (and its compiled copy); array: an extension module.
    for name in (("csv",) if route.startswith("source") else ("csv", "array"))
]


@pytest.mark.parametrize(("body", "name"), CASES)
def test_a_disarmed_guard_finds_no_module_outside_the_list(make_job, body, name) -> None:
    source = IMPORT_ + with_fit_lines(body.replace("NAME", repr(name)))
    result = grader.grade(make_job(source))
    assert result.verdict is Verdict.SCORED, (result.message, result.stderr)
    assert "MISSING" in result.stdout and "LOADED" not in result.stdout, result.stdout
    # The same solution on a challenge that allows the module loads it: the check can fail.
    allowed = grader.grade(make_job(source, allowed=(*DEFAULT_ALLOWED_IMPORTS, name)))
    assert f"LOADED {name} [" in allowed.stdout, (allowed.message, allowed.stdout)


def test_what_an_allowed_module_imports_inside_a_function_is_there(make_job) -> None:
    """collections' most_common imports heapq when it is called: heapq stays in the sandbox of
    a challenge that allows collections and not heapq (the mask spares what the base and the
    allowed modules import anywhere in their code)."""
    body = "import collections\nprint('MOST', collections.Counter('abcaa').most_common(1))"
    result = grader.grade(make_job(with_fit_lines(body), allowed=("numpy", "collections")))
    assert result.verdict is Verdict.SCORED, result.message
    assert "MOST [('a', 3)]" in result.stdout
