"""The integrity check: flags raised for a copied solution (renamed variables, reordered
functions), an embedded table, a perfect or implausible score, a missing loss curve and a
rule violation; none for the starter or two honest solutions."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hackathon.integrity.models import CodeFingerprint, FlagKind, IntegrityFlag
from hackathon.integrity.services import integrity_check_submission, integrity_sweep
from hackathon.submissions.models import State, Submission

from tests.leaderboard.conftest import make_challenge, make_team

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = Path(__file__).parent / "solutions"
STARTER = (ROOT / "challenges/diabetes-gd/starter/solution.py").read_text()
HONEST_MINIBATCH = (SOLUTIONS / "honest_minibatch.py").read_text()
HONEST_ADAM = (SOLUTIONS / "honest_adam.py").read_text()
COPIED = (SOLUTIONS / "copied_minibatch.py").read_text()

EMBEDDED_TABLE = (
    "import numpy as np\n\nANSWERS = {\n"
    + "".join(f"    {i}: {151.0 + (i * 37) % 200 / 3:.3f},\n" for i in range(400))
    + "}\n\n\nclass Model:\n    def fit(self, X, y):\n        self.loss_curve_ = [1.0, 0.5, 0.2]\n"
    "        return self\n\n    def predict(self, X):\n"
    "        return np.array([ANSWERS.get(int(abs(r[0]) * 1e6) % 400, 150.0) for r in X])\n"
)
ENCODED_BLOB = (
    'import base64\nimport numpy as np\n\nTABLE = "'
    + "QUJD" * 1500
    + '"\n\n\nclass Model:\n    def fit(self, X, y):\n        self.loss_curve_ = [1.0, 0.5]\n'
    "        return self\n\n    def predict(self, X):\n        return np.zeros(len(X))\n"
)


# A curve as training records one (full-precision values, uneven steps).
RECORDED_CURVE = [3124.0871, 2987.4412, 2950.2318, 2941.7759]


def regression_challenge(**fields: object):
    defaults = {
        "metric": "rmse",
        "task": "regression",
        "starter_code": STARTER,
        "gradient_descent_only": True,
        "min_loss_curve_points": 3,
    }
    return make_challenge(**{**defaults, **fields})


def graded(
    challenge,
    team,
    code: str,
    *,
    public: float | None = 55.0,
    private: float | None = 56.0,
    verdict: str = "scored",
    curve: list[float] | None = None,
    message: str = "",
) -> Submission:
    return Submission.objects.create(
        challenge=challenge,
        team=team,
        code=code,
        code_sha256=hashlib.sha256(code.encode()).hexdigest(),
        state=State.FINISHED,
        verdict=verdict,
        message=message,
        public_score=public,
        private_score=private,
        loss_curve=RECORDED_CURVE if curve is None else curve,
    )


def kinds(submission: Submission) -> set[str]:
    integrity_check_submission(submission_id=submission.pk)
    return set(IntegrityFlag.objects.filter(submission=submission).values_list("kind", flat=True))


def test_a_copied_solution_with_renamed_variables_and_reordered_functions_is_flagged() -> None:
    challenge = regression_challenge()
    original = graded(challenge, make_team("Originals"), HONEST_MINIBATCH)
    assert kinds(original) == set()
    copy = graded(challenge, make_team("Copycats"), COPIED)
    assert kinds(copy) == {FlagKind.SIMILAR_CODE}
    flag = IntegrityFlag.objects.get(submission=copy)
    assert flag.other_submission_id == original.pk
    assert flag.score >= 0.8
    assert f"#{original.pk}" in flag.detail
    # Once per pair: checking the original again does not flag it back.
    assert kinds(original) == set()


def test_the_starter_and_two_honest_solutions_are_not_flagged() -> None:
    challenge = regression_challenge()
    teams = [make_team(name) for name in ("Starter A", "Starter B", "Minibatch", "Adam")]
    tweaked = STARTER.replace("0.01", "0.1").replace("100", "500")
    subs = [
        graded(challenge, teams[0], STARTER),
        graded(challenge, teams[1], tweaked),
        graded(challenge, teams[2], HONEST_MINIBATCH),
        graded(challenge, teams[3], HONEST_ADAM),
    ]
    for sub in subs:
        assert kinds(sub) == set(), sub.team.name
    assert CodeFingerprint.objects.filter(challenge=challenge).count() == 4


def test_the_same_team_resubmitting_its_code_is_not_similar_to_anyone() -> None:
    challenge = regression_challenge()
    team = make_team("Iterators")
    graded(challenge, team, HONEST_MINIBATCH)
    again = graded(challenge, team, HONEST_MINIBATCH.replace("0.05", "0.07"))
    assert kinds(again) == set()


@pytest.mark.parametrize("code", [EMBEDDED_TABLE, ENCODED_BLOB], ids=["table", "blob"])
def test_embedded_data_is_flagged(code: str) -> None:
    challenge = regression_challenge()
    sub = graded(challenge, make_team("Lookup"), code)
    assert kinds(sub) == {FlagKind.EMBEDDED_DATA}
    detail = IntegrityFlag.objects.get(submission=sub).detail
    assert "807 numeric literals" in detail or "6000 bytes" in detail, detail


def test_a_perfect_score_is_flagged_for_error_and_accuracy_metrics() -> None:
    rmse = regression_challenge()
    sub = graded(rmse, make_team("Zero"), HONEST_ADAM, public=0.0, private=0.0)
    assert kinds(sub) == {FlagKind.IMPLAUSIBLE_SCORE}
    assert "perfect public score" in IntegrityFlag.objects.get(submission=sub).detail.lower()
    accuracy = make_challenge(metric="accuracy", starter_code=STARTER)
    sub = graded(accuracy, make_team("Oracle"), HONEST_ADAM, public=0.97, private=1.0)
    assert kinds(sub) == {FlagKind.IMPLAUSIBLE_SCORE}
    assert "perfect private score" in IntegrityFlag.objects.get(submission=sub).detail


def test_a_score_beyond_the_declared_plausible_bound_is_flagged() -> None:
    challenge = regression_challenge(best_plausible=40.0)
    fine = graded(challenge, make_team("Good"), HONEST_ADAM, public=44.0, private=45.0)
    assert kinds(fine) == set()
    lucky = graded(challenge, make_team("Lucky"), HONEST_MINIBATCH, public=12.5, private=50.0)
    assert kinds(lucky) == {FlagKind.IMPLAUSIBLE_SCORE}
    assert "better than the plausible 40" in IntegrityFlag.objects.get(submission=lucky).detail


def test_no_loss_curve_on_a_gradient_descent_only_challenge_is_flagged() -> None:
    strict = regression_challenge()
    sub = graded(strict, make_team("Curveless"), HONEST_ADAM, curve=[])
    assert kinds(sub) == {FlagKind.NO_LOSS_CURVE}
    relaxed = regression_challenge(gradient_descent_only=False)
    assert kinds(graded(relaxed, make_team("Free"), HONEST_ADAM, curve=[])) == set()


def test_a_rule_violation_verdict_is_flagged_with_its_message() -> None:
    challenge = regression_challenge()
    sub = graded(
        challenge,
        make_team("Solvers"),
        HONEST_ADAM,
        public=None,
        private=None,
        verdict="rule_violation",
        message="numpy.linalg.lstsq is a closed-form solver",
    )
    assert kinds(sub) == {FlagKind.RULE_VIOLATION}
    assert "numpy.linalg.lstsq" in IntegrityFlag.objects.get(submission=sub).detail


def test_a_recheck_keeps_a_dismissed_flag_and_drops_one_that_no_longer_applies(
    organizer,
) -> None:
    from hackathon.integrity.services import integrity_flag_dismiss

    challenge = regression_challenge()
    sub = graded(challenge, make_team("Zero"), EMBEDDED_TABLE, public=0.0)
    assert kinds(sub) == {FlagKind.EMBEDDED_DATA, FlagKind.IMPLAUSIBLE_SCORE}
    embedded = IntegrityFlag.objects.get(submission=sub, kind=FlagKind.EMBEDDED_DATA)
    integrity_flag_dismiss(flag=embedded, actor=organizer)
    # Rejudged: the score is no longer perfect.
    Submission.objects.filter(pk=sub.pk).update(public_score=50.0, private_score=51.0)
    assert kinds(sub) == {FlagKind.EMBEDDED_DATA}
    embedded.refresh_from_db()
    assert embedded.dismissed_at is not None


def test_the_sweep_checks_what_no_message_asked_for() -> None:
    challenge = regression_challenge()
    sub = graded(challenge, make_team("Lost message"), EMBEDDED_TABLE)
    queued = Submission.objects.create(
        challenge=challenge, team=make_team("Waiting"), code="x", code_sha256="0" * 64
    )
    assert integrity_sweep() == 1
    assert IntegrityFlag.objects.filter(submission=sub, kind=FlagKind.EMBEDDED_DATA).exists()
    assert not CodeFingerprint.objects.filter(submission=queued).exists()
    assert integrity_sweep() == 0
