"""The solution sees filtered views of the modules it imports (real sandbox): module attributes
that are forbidden modules are not a way around the import rule."""

from __future__ import annotations

import pytest

import grader
from grader.contract import DEFAULT_ALLOWED_IMPORTS, Verdict

from .conftest import LINEAR


def with_fit_lines(*lines: str) -> str:
    body = "".join(f"        {line}\n" for line in lines)
    return LINEAR.replace("        return self\n", body + "        return self\n", 1)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (("import random", "random._os.getpid()"), "the module os is not allowed"),
        (("import warnings", "warnings.sys.modules"), "the module sys is not allowed"),
        (("np.ctypeslib.ctypes.CDLL",), "'NoneType' object has no attribute 'CDLL'"),
        (("from random import _os",), "cannot import name '_os'"),
    ],
    ids=["random._os", "warnings.sys", "np.ctypeslib.ctypes", "from-import"],
)
def test_module_attributes_that_are_forbidden_modules_are_not_reachable(
    make_job, lines, expected
) -> None:
    allowed = (*DEFAULT_ALLOWED_IMPORTS, "warnings")
    result = grader.grade(make_job(with_fit_lines(*lines), allowed=allowed))
    assert result.verdict is Verdict.RUNTIME_ERROR, result.message
    assert expected in result.message


def test_numpy_and_allowed_submodules_work_through_the_views(make_job) -> None:
    source = with_fit_lines(
        "import numpy.random as npr",
        "from numpy.linalg import norm",
        "np.random.seed(0)",
        "assert np.random.rand() == npr.rand() or True",
        "assert norm(np.ones(4)) == np.linalg.norm(np.ones(4)) == 2.0",
        "assert isinstance(np.ones(2), np.ndarray) and np.float64 is np.dtype('f8').type",
        "import os",
        "print(os.path.join('a', 'b'), np.random is np.random)",
    )
    allowed = (*DEFAULT_ALLOWED_IMPORTS, "os")
    result = grader.grade(make_job(source, allowed=allowed))
    assert result.verdict is Verdict.SCORED, result.message
    assert result.stdout.strip() == "a/b True"
