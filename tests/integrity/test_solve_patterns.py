"""The review's source patterns and curve checks alone (no sandbox): what they find in direct
solves written by hand and in made-up curves, and what they leave alone in honest training."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hackathon.integrity.curves import curve_reasons, formula_shape, mismatch
from hackathon.integrity.direct_solve import code_from_text, direct_solves

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = Path(__file__).parent / "solutions"

DIRECT = {
    "cramer_in_a_comprehension": (
        "import numpy as np\nfrom numpy.linalg import det as d\n"
        "def solve(G, b):\n"
        "    return [d(np.column_stack([b if k == j else G[:, k] for k in range(len(b))]))"
        " / d(G) for j in range(len(b))]\n",
        "cramer",
    ),
    "back_substitution": (
        "import numpy as np\n"
        "def back(U, c):\n"
        "    x = np.zeros(len(c))\n"
        "    for i in reversed(range(len(c))):\n"
        "        pivot = U[i][i]\n"
        "        x[i] = (c[i] - U[i, i + 1:] @ x[i + 1:]) / pivot\n"
        "    return x\n",
        "substitution",
    ),
    "elimination_with_a_tuple_swap": (
        "def eliminate(A):\n"
        "    n = len(A)\n"
        "    k = 0\n"
        "    while k < n:\n"
        "        A[k], A[k + 1] = A[k + 1], A[k]\n"
        "        A[k] /= A[k][k]\n"
        "        k += 1\n",
        "elimination",
    ),
    "cholesky_diagonal": (
        "import math\n"
        "def chol(S, L, n):\n"
        "    for j in range(n):\n"
        "        L[j][j] = math.sqrt(S[j][j] - sum(L[j][k] ** 2 for k in range(j)))\n",
        "cholesky",
    ),
    "newton_schulz_with_dot": (
        "import numpy as np\n"
        "def inverse(G, Z):\n"
        "    for _ in range(50):\n"
        "        Z = Z.dot(np.identity(len(G)) * 2 - np.dot(G, Z))\n"
        "    return Z\n",
        "iterative_inverse",
    ),
}


@pytest.mark.parametrize(("code", "kind"), DIRECT.values(), ids=DIRECT.keys())
def test_direct_solves_written_by_hand_are_found_with_their_lines(code: str, kind: str) -> None:
    found = direct_solves(code)
    assert kind in {s.kind for s in found}, found
    lines = code.splitlines()
    assert all(0 < s.line <= len(lines) for s in found)


HONEST_SNIPPETS = {
    "coordinate_updates": (
        "def step(w, g, lr):\n    for j in range(len(w)):\n        w[j] -= lr * g[j]\n"
    ),
    "per_row_standardising": (
        "def scale(X, s):\n    for j in range(X.shape[1]):\n        X[:, j] = X[:, j] / s[j]\n"
    ),
    "one_determinant": "import numpy as np\ndef logdet(S):\n    return np.log(np.linalg.det(S))\n",
    "layers_updated_in_a_loop": (
        "def update(Ws, grads, lr):\n"
        "    for i in range(len(Ws)):\n"
        "        Ws[i] -= lr * grads[i] / (1 + Ws[i] * 0)\n"
    ),
}


@pytest.mark.parametrize("code", HONEST_SNIPPETS.values(), ids=HONEST_SNIPPETS.keys())
def test_honest_training_code_shows_no_direct_solve(code: str) -> None:
    assert direct_solves(code) == []


def test_no_starter_baseline_or_honest_solution_shows_a_direct_solve_or_code_from_text() -> None:
    files = [
        *ROOT.glob("challenges/*/starter/solution.py"),
        *ROOT.glob("challenges/*/baseline/solution.py"),
        *SOLUTIONS.glob("honest_*.py"),
        SOLUTIONS / "conjugate_gradient.py",
    ]
    assert len(files) > 20
    for path in files:
        code = path.read_text()
        assert direct_solves(code) == [], path
        assert code_from_text(code) == [], path


def test_code_from_text_names_exec_eval_and_compile_however_reached() -> None:
    code = (
        "import builtins\nrun = exec\nrun('x = 1')\neval('2')\n"
        "getattr(builtins, 'compile')('y', 's', 'exec')\n"
    )
    assert code_from_text(code) == [(2, "exec"), (4, "eval"), (5, "compile")]


REGRESSION = {"rows": 300, "mse": 2880.0, "mae": 42.0, "target_variance": 5400.0}


def noisy_descent(final: float, points: int = 200, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    steps = np.arange(points)
    return list(final * (1 + 3 * np.exp(-steps / 30)) * (1 + 1e-3 * rng.standard_normal(points)))


def test_a_recorded_curve_ending_at_the_measured_loss_passes_in_any_common_unit() -> None:
    for final in (2880.0, 1440.0, math.sqrt(2880.0), 2880.0 / 5400.0):
        assert curve_reasons(noisy_descent(final), REGRESSION, "regression") == [], final
    assert curve_reasons(noisy_descent(0.31), {"rows": 9, "log_loss": 0.3}, "binary") == []


def test_a_curve_in_no_unit_of_the_measured_loss_is_not_borne_out() -> None:
    why = mismatch(noisy_descent(9e-12), REGRESSION, "regression")
    assert why and "MSE 2880" in why and "RMSE 53.67" in why and "300 training rows" in why
    assert mismatch(noisy_descent(0.05), {"rows": 9, "log_loss": 0.3}, "binary")
    # Nothing measured (the model had no predict_proba): nothing to compare.
    assert mismatch(noisy_descent(9.0), {"rows": 9, "unavailable": "no"}, "binary") is None


def test_curves_from_a_formula_or_typed_in_are_named() -> None:
    assert "straight line" in formula_shape([5.0, 4.0, 3.0, 2.0, 1.0])
    assert "geometric" in formula_shape(list(np.geomspace(30000.0, 3000.0, 8)))
    assert "at most 3 significant digits" in formula_shape([9000.0, 6000.0, 4000.0, 3000.0])
    assert formula_shape(noisy_descent(2880.0)) is None
    assert formula_shape([3.0, 3.0, 3.0]) is None  # flat: converged, or says nothing
    assert formula_shape([4.0, 2.0]) is None  # too short to have a shape
