"""The import rule holds by every route (real sandbox): whether an import is the participant's
is decided by where the executing code came from, not by the globals it runs with; what the
rule cannot stop inside the interpreter is not in the sandbox's Python at all."""

from __future__ import annotations

import pytest

import grader
from grader.contract import DEFAULT_ALLOWED_IMPORTS, Verdict
from grader.runtime import DENIED_MODULES

from .conftest import LINEAR

# The internals each route reaches for are allowed: only the target (csv: in the runtime,
# never imported by numpy or the harness, not allowed) is the rule's to refuse.
REACH = (*DEFAULT_ALLOWED_IMPORTS, "sys", "gc", "importlib", "pickle", "types", "os")


def with_fit_lines(body: str) -> str:
    lines = "".join(f"        {line}\n" for line in body.strip("\n").splitlines())
    return LINEAR.replace("        return self\n", lines + "        return self\n", 1)


ROUTES = {
    "exec-with-numpy-globals": "exec('import csv', np.load.__globals__)",
    "eval-with-numpy-globals": "eval('__import__(\"csv\")', np.load.__globals__)",
    "compile-with-numpy-filename": (
        "import types\n"
        "code = compile('import csv', np.load.__code__.co_filename, 'exec')\n"
        "types.FunctionType(code, np.load.__globals__)()"
    ),
    "code-replace-filename": (
        "def f():\n    import csv\n"
        "f.__code__ = f.__code__.replace(co_filename=np.load.__code__.co_filename)\nf()"
    ),
    "library-builtins-import": "np.load.__globals__['__builtins__']['__import__']('csv')",
    "gcd-import": "import sys\nsys.modules['_frozen_importlib']._gcd_import('csv')",
    "importlib-internals": (
        "import sys\nutil = sys.modules['importlib.util']\nspec = util.find_spec('csv')\n"
        "spec.loader.exec_module(util.module_from_spec(spec))"
    ),
    "real-import-from-gc": (
        "import gc\n"
        "guard = next(o for o in gc.get_objects() if type(o).__name__ == 'ImportGuard')\n"
        "import builtins as b\nguard._real_import('csv')"
    ),
    "real-import-from-frames": (
        "import sys\nsys._getframe(1).f_locals['self'].guard._real_import('_csv')"
    ),
    "pickle-find-class": "import pickle\npickle.loads(b'ccsv\\nreader\\n.')",
    "exec-the-module-source": (
        "import os\npath = os.path.dirname(os.__file__) + '/csv.py'\n"
        "exec(compile(open(path).read(), path, 'exec'), {'__name__': 'csv'})"
    ),
}


@pytest.mark.parametrize("body", ROUTES.values(), ids=ROUTES.keys())
def test_no_route_imports_a_module_outside_the_list(make_job, body) -> None:
    allowed = (*REACH, "builtins") if "builtins" in body else REACH
    result = grader.grade(make_job(with_fit_lines(body), allowed=allowed))
    assert result.verdict is Verdict.FORBIDDEN_IMPORT, (result.message, result.stderr)
    assert "csv' is not allowed" in result.message


def test_the_same_routes_work_for_an_allowed_module(make_job) -> None:
    body = ROUTES["exec-with-numpy-globals"] + "\n" + ROUTES["gcd-import"]
    result = grader.grade(make_job(with_fit_lines(body), allowed=(*REACH, "csv")))
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
