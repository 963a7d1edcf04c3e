"""The gradient-descent-only rule inside the real sandbox: numpy's closed-form solvers and
decompositions are not there, by any route; what the rule allows still works."""

from __future__ import annotations

import numpy as np
import pytest

import grader
from grader.contract import DEFAULT_ALLOWED_IMPORTS, Verdict
from grader.sandbox import Sandbox, SandboxConfig

from .conftest import LINEAR

REACH = (*DEFAULT_ALLOWED_IMPORTS, "gc", "sys", "importlib", "os")


def fitting(body: str) -> str:
    """LINEAR with its lstsq replaced by `body` (and a zero model)."""
    lines = "".join(f"        {line}\n" for line in body.strip("\n").splitlines())
    return LINEAR.replace(
        "        A = np.c_[X, np.ones(len(X))]\n"
        "        self.w = np.linalg.lstsq(A, y, rcond=None)[0]\n",
        lines + "        self.w = np.zeros(X.shape[1] + 1)\n",
        1,
    )


CLOSED_FORMS = {
    "lstsq": ("np.linalg.lstsq(X, y, rcond=None)", "numpy.linalg.lstsq"),
    "solve-by-getattr": ("getattr(np.linalg, 'so' + 'lve')(X.T @ X, X.T @ y)", "numpy.linalg.solve"),
    "pinv": ("np.linalg.pinv(X)", "numpy.linalg.pinv"),
    "inv": ("np.linalg.inv(X.T @ X)", "numpy.linalg.inv"),
    "qr": ("np.linalg.qr(X)", "numpy.linalg.qr"),
    "svd": ("np.linalg.svd(X)", "numpy.linalg.svd"),
    "eigh": ("np.linalg.eigh(X.T @ X)", "numpy.linalg.eigh"),
    "cholesky": ("np.linalg.cholesky(X.T @ X)", "numpy.linalg.cholesky"),
    "tensorsolve": ("np.linalg.tensorsolve(X.T @ X, X.T @ y)", "numpy.linalg.tensorsolve"),
    "polyfit": ("np.polyfit(X[:, 0], y, 1)", "numpy.polyfit"),
    "polynomial": ("np.polynomial.Polynomial.fit(X[:, 0], y, 2)", "numpy.polynomial.Polynomial.fit"),
    "caught": ("try:\n    np.linalg.inv(X.T @ X)\nexcept Exception:\n    pass", "numpy.linalg.inv"),
    "lapack-lite": (
        "import importlib\nimportlib.import_module('numpy.linalg.lapack_lite').dgelsd",
        "numpy.linalg.lapack_lite.dgelsd",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("body", "named"), CLOSED_FORMS.values(), ids=CLOSED_FORMS.keys())
def test_a_closed_form_is_a_rule_violation_naming_the_function(make_job, body, named) -> None:
    job = make_job(fitting(body), allowed=REACH, gradient_descent_only=True)
    result = grader.grade(job)
    assert result.verdict is Verdict.RULE_VIOLATION, (result.message, result.stderr)
    assert result.message.startswith(f"{named} is not available"), result.message
    assert "gradient-descent-only rule" in result.message


def test_no_route_reaches_the_lapack_modules(make_job) -> None:
    body = """
import gc, os, sys, importlib.util
found = [o for o in gc.get_objects() if type(o).__name__ == 'ufunc' and 'lstsq' in repr(o)]
print('UFUNCS', found)
linalg = os.path.dirname(np.linalg.__file__)
print('FILES', sorted(f for f in os.listdir(linalg) if not f.startswith('__')))
print('ORIGIN', importlib.util.find_spec('numpy.linalg._umath_linalg').origin)
del sys.modules['numpy.linalg._umath_linalg']
again = importlib.import_module('numpy.linalg._umath_linalg')
print('AGAIN', again.__file__, hasattr(again.lstsq, 'ntypes'))
"""
    result = grader.grade(make_job(fitting(body), allowed=REACH, gradient_descent_only=True))
    assert result.verdict is Verdict.SCORED, result.message
    assert "UFUNCS []" in result.stdout
    assert "FILES ['_linalg.py', '_umath_linalg.py', 'lapack_lite.py']" in result.stdout
    assert "ORIGIN /opt/site/numpy/linalg/_umath_linalg.py" in result.stdout
    assert "AGAIN /opt/site/numpy/linalg/_umath_linalg.py False" in result.stdout


def test_products_norms_and_determinants_still_work(make_job) -> None:
    rng = np.random.default_rng(3)
    m = rng.normal(size=(4, 4))
    stack = rng.normal(size=(3, 5, 5))
    body = f"""
m = np.array({m.tolist()!r})
stack = np.array({stack.tolist()!r})
print('DET', repr(float(np.linalg.det(m))))
print('STACK', [repr(float(v)) for v in np.linalg.det(stack)])
sign, logdet = np.linalg.slogdet(m)
print('SLOGDET', repr(float(sign)), repr(float(logdet)))
print('NORM', repr(float(np.linalg.norm(m))), repr(float(np.linalg.norm(m[0], 1))))
print('SPECTRAL', repr(float(np.linalg.norm(m, 2))), repr(float(np.linalg.norm(stack[0][:, :3], 2))))
print('PRODUCT', repr(float((m @ m.T).sum())), repr(float(np.linalg.multi_dot([m, m, m]).sum())))
"""
    result = grader.grade(make_job(fitting(body), gradient_descent_only=True))
    assert result.verdict is Verdict.SCORED, result.message
    out = {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in result.stdout.splitlines()}
    assert float(out["DET"]) == pytest.approx(np.linalg.det(m), rel=1e-9)
    stack_dets = [float(v.strip("'")) for v in out["STACK"].strip("[]").split(", ")]
    assert stack_dets == pytest.approx(list(np.linalg.det(stack)), rel=1e-9)
    sign, logdet = (float(v) for v in out["SLOGDET"].split())
    assert (sign, logdet) == pytest.approx(tuple(np.linalg.slogdet(m)), rel=1e-9)
    norms = [float(v) for v in out["NORM"].split()]
    assert norms == pytest.approx([np.linalg.norm(m), np.linalg.norm(m[0], 1)])
    # The spectral norm (a step size's bound) is computed without a decomposition ...
    spectral = [float(v) for v in out["SPECTRAL"].split()]
    assert spectral == pytest.approx(
        [np.linalg.norm(m, 2), np.linalg.norm(stack[0][:, :3], 2)], rel=1e-9
    )
    products = [float(v) for v in out["PRODUCT"].split()]
    assert products == pytest.approx([(m @ m.T).sum(), (m @ m @ m).sum()])


def test_norms_that_need_every_singular_value_are_refused(make_job) -> None:
    body = "np.linalg.norm(np.eye(3) * 2.0, 'nuc')\n"
    result = grader.grade(make_job(fitting(body), gradient_descent_only=True))
    assert result.verdict is Verdict.RULE_VIOLATION
    assert result.message.startswith("numpy.linalg.norm is not available")
    assert "ord=-2 and 'nuc'" in result.message


def test_without_the_rule_a_closed_form_scores(make_job) -> None:
    result = grader.grade(make_job(LINEAR))
    assert result.verdict is Verdict.SCORED, result.message
    assert result.public_score is not None and result.public_score < 0.2


def test_the_rule_holds_without_bwrap_too(make_job, tmp_path) -> None:
    """The participant CLI's degraded level (no mounts): a numpy copy without LAPACK."""
    sandbox = Sandbox(SandboxConfig(state_dir=tmp_path, bwrap=None, allow_degraded=True))
    job = make_job(fitting(CLOSED_FORMS["lstsq"][0]), gradient_descent_only=True)
    result = grader.grade(job, sandbox=sandbox)
    assert result.verdict is Verdict.RULE_VIOLATION, (result.message, result.stderr)
    assert result.message.startswith("numpy.linalg.lstsq is not available")
    assert grader.grade(make_job(LINEAR), sandbox=sandbox).verdict is Verdict.SCORED
