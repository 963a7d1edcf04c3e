"""A closed form cannot win a gradient-descent-only built-in unseen.

Each way a team could solve the normal equations on the competition-grade diabetes-gd (which
numpy's refused solvers do not cover) is a solution file in `solutions/`, submitted and graded
through the real sandbox with the platform's own grading function: it ends in the rule
verdict, or it scores and the organizers' review page shows it flagged with its reason (and
its lines). The starter, the baseline and an honest Adam solution are graded the same way and
raise no flag; conjugate gradient, an iterative first-order method, is allowed and not flagged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hackathon.accounts.services import team_create
from hackathon.challenges.bundle import load_bundle_dir
from hackathon.challenges.data import build_split
from hackathon.challenges.precision import score_text
from hackathon.integrity.curves import curve_reasons
from hackathon.integrity.direct_solve import direct_solves
from hackathon.integrity.models import FlagKind, IntegrityFlag
from hackathon.integrity.services import integrity_check_submission
from hackathon.organizing.services import challenge_load_bundle
from hackathon.submissions.grading import submission_grade
from hackathon.submissions.models import State, Submission, Verdict
from hackathon.submissions.services import submission_create

import grader
from grader.contract import GradingJob, Limits
from tests.conftest import make_user
from tests.submissions.conftest import requires_grader

pytestmark = [pytest.mark.slow, requires_grader]

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = Path(__file__).parent / "solutions"
BUNDLE = ROOT / "challenges" / "diabetes-gd"

# file -> (verdict, flag kinds raised, words the review page shows for it)
CHEATS = {
    "cramer_det.py": (
        Verdict.SCORED,
        {FlagKind.DIRECT_SOLVE, FlagKind.CURVE_NOT_BORNE_OUT},
        [
            "Cramer&#x27;s rule (line 17, a determinant in a loop",
            "12 determinants of 11x11",
            "geometric sequence",
        ],
    ),
    "gauss_jordan.py": (
        Verdict.SCORED,
        {FlagKind.DIRECT_SOLVE, FlagKind.CURVE_NOT_BORNE_OUT},
        [
            "elimination (line 14, a row operation",
            "a division by the pivot",
            "the curve ends at 1 ",
            "straight line",
        ],
    ),
    "cholesky_by_hand.py": (
        Verdict.SCORED,
        {FlagKind.DIRECT_SOLVE},
        ["a triangular solve or factorisation (line 17, a division by a diagonal element"],
    ),
    "hidden_cramer.py": (
        Verdict.SCORED,
        {FlagKind.DIRECT_SOLVE, FlagKind.CODE_FROM_TEXT, FlagKind.CURVE_NOT_BORNE_OUT},
        ["exec on line 6", "12 determinants of 11x11", "at most 3 significant digits"],
    ),
    "newton_schulz.py": (
        Verdict.SCORED,
        {FlagKind.DIRECT_SOLVE, FlagKind.CURVE_NOT_BORNE_OUT},
        ["an inverse by iteration (line 15", "no form is within a factor 1.5"],
    ),
    "lstsq_by_getattr.py": (
        Verdict.RULE_VIOLATION,
        {FlagKind.RULE_VIOLATION},
        ["numpy.linalg.lstsq is not available"],
    ),
}
HONEST = {
    "starter": (BUNDLE / "starter" / "solution.py").read_text(),
    "baseline": (BUNDLE / "baseline" / "solution.py").read_text(),
    "honest_adam.py": (SOLUTIONS / "honest_adam.py").read_text(),
    "conjugate_gradient.py": (SOLUTIONS / "conjugate_gradient.py").read_text(),
}


@pytest.fixture
def diabetes(db: None, settings, tmp_path: Path):  # noqa: ANN001, ANN201
    settings.CHALLENGE_DATA_SECRET = "an installation's secret for the direct-solve test"
    settings.DATASET_CACHE_DIR = str(tmp_path / "datasets")
    settings.CHALLENGE_DOWNLOADS_DIR = tmp_path / "downloads"
    settings.MEDIA_ROOT = tmp_path / "media"
    files = {
        str(path.relative_to(BUNDLE)): path.read_bytes()
        for path in BUNDLE.rglob("*")
        if path.is_file()
    }
    challenge = challenge_load_bundle(files=files, origin="test").challenge
    assert challenge.gradient_descent_only and not challenge.public_labels
    return challenge


def _graded(challenge, name: str, code: str) -> Submission:  # noqa: ANN001
    user = make_user(f"user-{name.removesuffix('.py')}")
    team_create(user=user, name=f"Team {name.removesuffix('.py')}")
    submission = submission_create(challenge=challenge, user=user, code=code)
    submission_grade(submission_id=submission.pk, worker="direct-solve-test")
    graded = Submission.objects.get(pk=submission.pk)
    assert graded.state == State.FINISHED, (graded.message, graded.last_error)
    integrity_check_submission(submission_id=graded.pk)
    return graded


def test_every_closed_form_ends_in_the_rule_verdict_or_is_flagged_with_its_reason(
    diabetes, organizer_client
) -> None:  # noqa: ANN001
    graded = {name: _graded(diabetes, name, (SOLUTIONS / name).read_text()) for name in CHEATS}
    honest = {name: _graded(diabetes, name, code) for name, code in HONEST.items()}

    page = organizer_client.get(f"/review/{diabetes.slug}/").content.decode()
    for name, (verdict, kinds, words) in CHEATS.items():
        sub = graded[name]
        assert sub.verdict == verdict, (name, sub.message)
        raised = set(
            IntegrityFlag.objects.filter(submission=sub).values_list("kind", flat=True)
        ) - {FlagKind.SIMILAR_CODE}  # two of them solve alike: a fair flag, not the subject
        assert raised == kinds, name
        row = page[page.index(f'data-testid="flagged-{sub.pk}"') :]
        row = row[: row.index("</tr>")]
        for word in words:
            assert word in row, (name, word)
        if FlagKind.DIRECT_SOLVE in kinds and name != "hidden_cramer.py":
            flag = IntegrityFlag.objects.get(submission=sub, kind=FlagKind.DIRECT_SOLVE)
            assert f'data-testid="flag-lines-{flag.pk}"' in row  # the lines, shown
    # The scored closed forms do reach the baseline's score: only the review stands between
    # them and the board, which is why each one must be flagged.
    baseline = honest["baseline"].public_score
    for name, sub in graded.items():
        if sub.verdict == Verdict.SCORED:
            assert sub.public_score <= baseline * 1.0001, name

    for name, sub in honest.items():
        assert sub.verdict == Verdict.SCORED, (name, sub.message)
        assert sub.training_loss.get("mse"), name  # measured, and the curve agreed with it
        assert not IntegrityFlag.objects.filter(submission=sub).exists(), (
            name,
            list(IntegrityFlag.objects.filter(submission=sub).values_list("detail", flat=True)),
        )
        assert f'data-testid="flagged-{sub.pk}"' not in page
    # The submission page sets what the platform measured beside the curve the code reported.
    baseline = honest["baseline"]
    detail = organizer_client.get(f"/submissions/{baseline.pk}/").content.decode()
    mse = score_text(baseline.training_loss["mse"], diabetes.display_precision)
    assert f"mean squared error {mse}" in detail.split('data-testid="measured-training-loss"')[1]


GD_ONLY_BUILTINS = [
    path.parent.name
    for path in sorted((ROOT / "challenges").glob("*/challenge.toml"))
    if "gradient_descent_only = true" in path.read_text() and "-classic" not in str(path)
]


@pytest.mark.parametrize("slug", GD_ONLY_BUILTINS)
def test_no_built_in_starter_or_baseline_looks_like_a_direct_solve_or_a_made_up_curve(
    slug: str, tmp_path: Path
) -> None:
    """Every team starts from the starter: on every gradient-descent-only built-in, it and
    the baseline, graded in the sandbox, have a curve borne out by the measured training loss
    and no direct-solve pattern."""
    spec = load_bundle_dir(ROOT / "challenges" / slug)
    _, split = build_split(spec, secret=b"an installation's secret for the review test")
    paths = {}
    for key in split.KEYS:
        paths[key] = tmp_path / f"{key}.npy"
        np.save(paths[key], getattr(split, key), allow_pickle=False)
    for name, code in (("starter", spec.starter_code), ("baseline", spec.baseline_code)):
        result = grader.grade(
            GradingJob(
                source=code,
                task=spec.task,
                metric=spec.metric,
                extra_metrics=spec.extra_metrics,
                allowed_imports=spec.allowed_imports,
                seed=spec.seed,
                limits=Limits(time_s=spec.time_limit_s, memory_mb=spec.memory_mb),
                gradient_descent_only=True,
                min_loss_curve_points=spec.min_loss_curve_points,
                **paths,
            )
        )
        assert result.verdict == Verdict.SCORED, (name, result.message)
        measured = result.training_loss
        assert measured.get("mse") or measured.get("log_loss"), (name, measured)
        assert curve_reasons(result.loss_curve, measured, spec.task) == [], name
        assert direct_solves(code) == [], name
