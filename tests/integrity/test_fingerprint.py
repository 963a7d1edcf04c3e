"""The copy check's canonical form: the disguises of a copy (reordered functions, dead code,
another loop form, renamed attributes, rewritten operations) leave its fingerprint as it was,
so a disguised copy is flagged; stored fingerprints of an older normalisation are computed
again by the sweep before they are compared."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hackathon.integrity import fingerprint as fp
from hackathon.integrity.models import CodeFingerprint, FlagKind, IntegrityFlag
from hackathon.integrity.services import integrity_check_submission, integrity_sweep

from tests.integrity.test_flags import HONEST_MINIBATCH, STARTER, graded, kinds
from tests.integrity.test_flags import regression_challenge as challenge_with_starter
from tests.leaderboard.conftest import make_team

SOLUTIONS = Path(__file__).parent / "solutions"
DISGUISED = (SOLUTIONS / "disguised_minibatch.py").read_text()

PROGRAM = """import numpy as np


def scale(X):
    return (X - X.mean(axis=0)) / X.std(axis=0)


class Model:
    def fit(self, X, y):
        Z = scale(X)
        self.w = np.zeros(Z.shape[1])
        for _ in range(self.epochs):
            error = Z @ self.w - y
            self.w -= self.lr * Z.T @ error / len(y)
        return self

    def predict(self, X):
        return scale(X) @ self.w
"""

DISGUISED_PROGRAM = '''"""Entirely our own."""
import numpy as np


class Model:
    def predict(self, data):
        return np.dot(normalise(data), self.state.weights)

    def fit(self, data, target):
        spare = data.sum()
        A = normalise(data)
        if False:
            A = A * 2
        self.state.weights = np.zeros(A.shape[1])
        i = 0
        while i < self.n_epochs:
            pass
            residual = np.dot(A, self.state.weights) - target
            self.state.weights = self.state.weights - np.dot(A.T * self.step, residual) / len(target)
            i += 1
        return self


def normalise(values):
    return (values - values.mean(axis=0)) / values.std(axis=0)
'''


def values(source: str) -> list[str]:
    return [value for value, _, _ in fp.normalized_tokens(source)]


def test_a_disguise_leaves_the_canonical_tokens_of_a_program_as_they_were() -> None:
    """Renamed names and attributes (through an extra object), reordered functions and
    methods, a docstring, a dead store, `if False:`, `pass`, a counted `while` for the
    `for` loop, `np.dot` for `@`, `x -= y` written out and operands swapped."""
    assert values(DISGUISED_PROGRAM) == values(PROGRAM)


def test_library_names_stay_and_the_authors_attributes_do_not() -> None:
    assert values("y = np.tanh(x)") != values("y = np.log1p(x)")
    assert values("y = model.weights") == values("y = cfg.lr") == values("y = self.a.b")


def test_the_lines_of_a_fingerprint_are_those_of_the_original_source() -> None:
    print_ = fp.fingerprint(DISGUISED_PROGRAM)
    lines = DISGUISED_PROGRAM.splitlines()
    assert print_.size > 5
    covered = {n for numbers in print_.lines.values() for n in numbers}
    assert covered <= set(range(1, len(lines) + 1))
    # Every statement that survives is covered; the dead code and the docstring are not.
    dead = {i for i, line in enumerate(lines, 1) if "spare" in line or "Entirely" in line}
    dead |= {i for i, line in enumerate(lines, 1) if "pass" in line or "False" in line}
    dead |= {i for i, line in enumerate(lines, 1) if "A = A * 2" in line}
    assert covered & dead == set()
    assert {i for i, line in enumerate(lines, 1) if "residual =" in line} <= covered


@pytest.mark.django_db
def test_a_disguised_copy_is_flagged_and_the_honest_solutions_are_not() -> None:
    challenge = challenge_with_starter()
    original = graded(challenge, make_team("Originals"), HONEST_MINIBATCH)
    assert kinds(original) == set()
    copy = graded(challenge, make_team("Disguisers"), DISGUISED)
    assert kinds(copy) == {FlagKind.SIMILAR_CODE}
    flag = IntegrityFlag.objects.get(submission=copy)
    assert flag.other_submission_id == original.pk and flag.score >= 0.6
    for name, code in (
        ("Starter", STARTER),
        ("Adam", (SOLUTIONS / "honest_adam.py").read_text()),
        ("Conjugate", (SOLUTIONS / "conjugate_gradient.py").read_text()),
    ):
        assert kinds(graded(challenge, make_team(name), code)) == set(), name


@pytest.mark.django_db
def test_fingerprints_of_an_older_normalisation_are_computed_again_before_comparing() -> None:
    challenge = challenge_with_starter()
    original = graded(challenge, make_team("Originals"), HONEST_MINIBATCH)
    integrity_check_submission(submission_id=original.pk)
    # As an earlier version stored it: not comparable, so not compared.
    stale = fp.fingerprint(HONEST_MINIBATCH.replace("loss", "cost"))
    CodeFingerprint.objects.filter(submission=original).update(
        version=fp.VERSION - 1, hashes=fp.to_bytes(stale.hashes[:3])
    )
    copy = graded(challenge, make_team("Disguisers"), DISGUISED)
    assert kinds(copy) == set()
    assert integrity_sweep() == 1  # the stale one, checked again at the current version
    row = CodeFingerprint.objects.get(submission=original)
    assert row.version == fp.VERSION
    assert bytes(row.hashes) == fp.to_bytes(fp.fingerprint(HONEST_MINIBATCH).hashes)
    # Checked again, the original is compared with the copy: the pair is flagged (once).
    pair = IntegrityFlag.objects.get(kind=FlagKind.SIMILAR_CODE)
    assert {pair.submission_id, pair.other_submission_id} == {original.pk, copy.pk}


def test_every_process_computes_the_same_fingerprint() -> None:
    """Stored fingerprints from any worker are compared: nothing in the canonical form may
    depend on the process (string hashing, whether "_" is bound in builtins)."""
    script = (
        "import sys; from hackathon.integrity import fingerprint as fp; "
        "print(fp.to_bytes(fp.fingerprint(sys.stdin.read()).hashes).hex())"
    )
    outputs = set()
    for seed, interactive in (("1", ""), ("2", "import builtins; builtins._ = 1; ")):
        done = subprocess.run(  # noqa: S603 - this interpreter, our own script
            [sys.executable, "-c", interactive + script],
            input=PROGRAM,  # with a loop over `_`
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
        )
        outputs.add(done.stdout.strip())
    assert outputs == {fp.to_bytes(fp.fingerprint(PROGRAM).hashes).hex()}
