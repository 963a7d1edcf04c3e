"""The upload pre-check under a gradient-descent-only rule: every route to a closed-form
solver the code shows is refused naming the function; allowed linear algebra and the same
code without the rule pass; the child-process path (large files) judges alike."""

from __future__ import annotations

import pytest

from grader.contract import CLOSED_FORM_FUNCTIONS, DEFAULT_ALLOWED_IMPORTS, Verdict
from grader.precheck import IN_PROCESS_MAX_BYTES, precheck

MODEL = """
class Model:
    def fit(self, X, y):
        {fit}
        return self

    def predict(self, X):
        return X[:, 0]
"""


def solution(header: str, fit: str) -> str:
    return header + MODEL.format(fit=fit)


ROUTES = [
    ("import numpy as np\n", "np.linalg.lstsq(X, y, rcond=None)", "numpy.linalg.lstsq"),
    ("import numpy\n", "numpy.linalg.solve(X.T @ X, X.T @ y)", "numpy.linalg.solve"),
    ("from numpy.linalg import pinv\n", "pinv(X)", "numpy.linalg.pinv"),
    ("from numpy.linalg import inv as invert\n", "invert(X.T @ X)", "numpy.linalg.inv"),
    ("from numpy import linalg as la\n", "la.qr(X)", "numpy.linalg.qr"),
    ("import numpy.linalg as L\n", "L.svd(X)", "numpy.linalg.svd"),
    ("from numpy.linalg import *\n", "cholesky(X.T @ X)", "numpy.linalg.cholesky"),
    ("import numpy as np\n", "getattr(np.linalg, 'eigh')(X.T @ X)", "numpy.linalg.eigh"),
    ("import numpy as np\n", "np.linalg.__dict__['eig'](X.T @ X)", "numpy.linalg.eig"),
    ("import numpy as np\nsolver = np.linalg\nfit_it = solver.tensorsolve\n", "fit_it(X, y)",
     "numpy.linalg.tensorsolve"),
    ("import numpy as np\n", "np.polyfit(X[:, 0], y, 1)", "numpy.polyfit"),
    ("from numpy.polynomial import polynomial as P\n", "P.polyfit(X[:, 0], y, 1)",
     "numpy.polynomial"),
    ("", "__import__('numpy').linalg.eigvals(X.T @ X)", "numpy.linalg.eigvals"),
]  # fmt: skip


@pytest.mark.parametrize(("header", "fit", "function"), ROUTES)
def test_each_visible_route_is_refused_naming_the_function(
    header: str, fit: str, function: str
) -> None:
    code = solution(header, fit)
    result = precheck(code, DEFAULT_ALLOWED_IMPORTS, gradient_descent_only=True)
    assert not result.ok and result.verdict == Verdict.RULE_VIOLATION
    assert function in result.message and "gradient descent only" in result.message
    assert result.message.startswith("line ")
    assert precheck(code, DEFAULT_ALLOWED_IMPORTS).ok  # the rule off: the same code passes


def test_the_routes_cover_the_whole_list() -> None:
    covered = {function for _, _, function in ROUTES}
    assert covered | {"numpy.linalg.tensorinv", "numpy.linalg.eigvalsh", "numpy.linalg.svdvals"} \
        == set(CLOSED_FORM_FUNCTIONS)  # fmt: skip


def test_products_norms_determinants_and_own_names_stay_allowed() -> None:
    code = solution(
        "import numpy as np\n\ndef solve(a, b):\n    return a - b\n",
        "self.w = np.linalg.norm(X) * np.linalg.det(X.T @ X) * solve(1, 2) + X.T @ y; "
        "lstsq = 3; self.inv = np.linalg.matrix_rank(X)",
    )
    assert precheck(code, DEFAULT_ALLOWED_IMPORTS, gradient_descent_only=True).ok


def test_a_large_file_parsed_in_the_child_process_is_judged_alike() -> None:
    code = solution("import numpy as np\n", "np.linalg.lstsq(X, y, rcond=None)")
    code += "# padding\n" * (IN_PROCESS_MAX_BYTES // 10 + 10)
    result = precheck(code, DEFAULT_ALLOWED_IMPORTS, gradient_descent_only=True)
    assert result.verdict == Verdict.RULE_VIOLATION and "numpy.linalg.lstsq" in result.message
    assert precheck(code, DEFAULT_ALLOWED_IMPORTS).ok
