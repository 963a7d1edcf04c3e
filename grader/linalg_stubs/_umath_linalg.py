"""numpy.linalg's C module, as the sandbox holds it under a gradient-descent-only rule.

The real extension (LAPACK's solvers and decompositions behind numpy.linalg) is not in the
sandbox at all: this file takes its place, so no route (an attribute, gc, frames, re-importing
the extension) reaches a closed-form solver. What the rule allows is computed here with numpy:
`det` and `slogdet`, by LU factorisation with partial pivoting (and counted, see
`determinants`). Everything else refuses, naming the numpy function the solution called.
"""

from __future__ import annotations

import sys
import types

import numpy as np

_ilp64 = False

# The C module's gufuncs, by the public function that uses them.
_PUBLIC = {
    "inv": "inv", "solve": "solve", "solve1": "solve", "lstsq": "lstsq",
    "qr_r_raw": "qr", "qr_reduced": "qr", "qr_complete": "qr",
    "eig": "eig", "eigvals": "eigvals", "eigh_lo": "eigh", "eigh_up": "eigh",
    "eigvalsh_lo": "eigvalsh", "eigvalsh_up": "eigvalsh",
    "svd": "svd", "svd_f": "svd", "svd_s": "svd", "svd_n": "svd",
    "cholesky_lo": "cholesky", "cholesky_up": "cholesky",
}  # fmt: skip
# Where the outermost numpy frame lives: the name the solution called it by.
_NAMESPACES = (
    ("/numpy/linalg/", "numpy.linalg"),
    ("/numpy/polynomial/", "numpy.polynomial"),
    ("/numpy/lib/_polynomial_impl.py", "numpy"),
)


def _called_name(default: str) -> str:
    frame: types.FrameType | None = sys._getframe(2)
    called = None
    while frame is not None:
        filename = frame.f_code.co_filename
        namespace = next((ns for part, ns in _NAMESPACES if part in filename), None)
        if namespace is None:
            if "/numpy/" in filename:
                frame = frame.f_back
                continue
            break
        qualname = frame.f_code.co_qualname
        owner = frame.f_locals.get("cls")  # a classmethod of numpy.polynomial's base class
        if qualname.startswith("ABCPolyBase.") and isinstance(owner, type):
            qualname = f"{owner.__name__}.{qualname.partition('.')[2]}"
        called = f"{namespace}.{qualname}"
        frame = frame.f_back
    return called or default


def refuse(name: str) -> None:
    """Raise the rule's refusal for a closed-form function (the harness reports it)."""
    message = (
        f"{name} is not available: this challenge's gradient-descent-only rule refuses numpy's "
        "closed-form solvers and decompositions (solve, lstsq, inv, pinv, qr, svd, eig*, "
        "cholesky, tensorsolve, polyfit, numpy.polynomial fitting); train the model by "
        "gradient descent (products, det and norm stay available; the matrix norms that need "
        "every singular value, ord=-2 and 'nuc', do not)"
    )
    try:
        from grader_harness import RuleViolation, record_rule_violation
    except ImportError:  # run outside the sandbox's harness
        raise RuntimeError(message) from None
    record_rule_violation(message)
    raise RuleViolation(message)


def _spectral_norm(a: np.ndarray) -> np.ndarray:
    """The largest singular value of each matrix in `a` (shape (..., m, n)), by power
    iteration on the smaller Gram matrix: what `norm(A, 2)` needs (a step size's Lipschitz
    bound), with no decomposition and no solver."""
    a = np.asarray(a)
    out = np.empty(a.shape[:-2], dtype=np.result_type(a.dtype, np.float64))
    for index in np.ndindex(*a.shape[:-2]):
        m = a[index]
        gram = m.T.conj() @ m if m.shape[0] >= m.shape[1] else m @ m.T.conj()
        if gram.size == 0 or not np.any(gram):
            out[index] = 0.0
            continue
        v = np.random.default_rng(0).standard_normal(gram.shape[0])
        value = 0.0
        for _ in range(100_000):
            w = gram @ v
            size = np.linalg.norm(w)
            if size == 0.0:
                break
            v = w / size
            new = float(np.real(v.conj() @ gram @ v))
            if abs(new - value) <= 1e-15 * max(abs(new), 1e-300):
                value = new
                break
            value = new
        out[index] = np.sqrt(max(value, 0.0))
    return out


def _norm_ord() -> object:
    """The `ord` of the numpy.linalg.norm call that asked for singular values, if any."""
    frame: types.FrameType | None = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_name == "norm" and "/numpy/linalg/" in frame.f_code.co_filename:
            return frame.f_locals.get("ord")
        frame = frame.f_back
    return None


def __getattr__(name: str) -> object:
    if name.startswith("__"):
        raise AttributeError(name)
    public = _PUBLIC.get(name, name)
    if name in ("svd", "svd_n"):  # the gufuncs that give singular values only

        def singular_values(a: object, *args: object, **kwargs: object) -> np.ndarray:
            # norm(A, 2) takes the largest singular value: computed without a decomposition.
            # Every other use (ord=-2, "nuc", cond, matrix_rank, svd itself) is refused.
            if _norm_ord() == 2:
                return _spectral_norm(np.asarray(a))[..., None]
            refuse(_called_name(f"numpy.linalg.{public}"))
            raise AssertionError("unreachable")

        return singular_values

    def refused(*args: object, **kwargs: object) -> None:
        refuse(_called_name(f"numpy.linalg.{public}"))

    return refused


def _lu_logdet(m: np.ndarray) -> tuple[object, float]:
    """(sign, log|det|) of one square matrix by LU with partial pivoting."""
    a = m.copy()
    n = a.shape[0]
    sign = a.dtype.type(1)
    logdet = 0.0
    for k in range(n):
        p = k + int(np.argmax(np.abs(a[k:, k])))
        pivot = a[p, k]
        if pivot == 0:
            return a.dtype.type(0), -np.inf
        if p != k:
            a[[k, p]] = a[[p, k]]
            sign = -sign
        magnitude = abs(pivot)
        sign = sign * (pivot / magnitude)
        logdet += float(np.log(magnitude))
        if k + 1 < n:
            factors = a[k + 1 :, k] / pivot
            a[k + 1 :, k:] -= np.outer(factors, a[k, k:])
    return sign, logdet


# Determinants computed, by matrix size: the harness reports them for the organizers'
# review (Cramer's rule solves an n x n system with n + 1 determinants). Counted inside
# the solution's process, so a solution can reset it: a hint, never a measurement.
determinants: dict[int, int] = {}


def slogdet(a: object, signature: str | None = None, **kwargs: object) -> tuple:
    dtype = np.complex128 if signature and signature.startswith("D") else np.float64
    arr = np.asarray(a, dtype=dtype)
    batch, n = arr.shape[:-2], arr.shape[-1]
    determinants[n] = determinants.get(n, 0) + int(np.prod(batch, dtype=np.int64))
    signs = np.empty(batch, dtype=dtype)
    logs = np.empty(batch, dtype=np.float64)
    flat = arr.reshape(-1, n, n)
    for i, (sign, logdet) in enumerate(_lu_logdet(m) for m in flat):
        signs.flat[i], logs.flat[i] = sign, logdet
    return signs, logs


def det(a: object, signature: str | None = None, **kwargs: object) -> object:
    signs, logs = slogdet(a, signature)
    return signs * np.exp(logs)
