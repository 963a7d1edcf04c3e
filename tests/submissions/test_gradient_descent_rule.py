"""The gradient-descent-only rule through the real pipeline: a closed form is refused at upload
on a challenge with the rule (nothing stored, no quota), and scores through a real worker and
sandbox on one with the rule off; the worker's grading job carries the rule to the sandbox."""

from __future__ import annotations

import pytest
from hackathon.submissions.errors import PrecheckFailed
from hackathon.submissions.grading import build_job
from hackathon.submissions.models import State, Submission, Verdict
from hackathon.submissions.services import quota_usage, submission_create

from tests.submissions.conftest import GD_SOLUTION, LINEAR_SOLUTION, requires_grader, wait_for


def _finished(pk: int) -> Submission | None:
    sub = Submission.objects.get(pk=pk)
    return sub if sub.state == State.FINISHED else None


def test_the_grading_job_carries_the_rule(make_challenge, member_a, team_a, tmp_path) -> None:  # noqa: ANN001
    on = make_challenge(gradient_descent_only=True, min_loss_curve_points=5)
    off = make_challenge()
    paths = {
        key: tmp_path / f"{key}.npy"
        for key in ("train_X", "train_y", "test_X", "test_y", "public_mask")
    }
    job = build_job(
        submission_create(challenge=on, user=member_a, code=GD_SOLUTION.format(epochs=9)), paths
    )
    assert job.gradient_descent_only and job.min_loss_curve_points == 5
    job = build_job(submission_create(challenge=off, user=member_a, code=LINEAR_SOLUTION), paths)
    assert not job.gradient_descent_only and job.min_loss_curve_points == 0


@pytest.mark.slow
@requires_grader
def test_a_closed_form_is_refused_with_the_rule_and_scores_without_it(
    start_worker,
    make_challenge,
    member_a,
    team_a,  # noqa: ANN001
) -> None:
    ruled = make_challenge(gradient_descent_only=True)
    with pytest.raises(PrecheckFailed) as refused:
        submission_create(challenge=ruled, user=member_a, code=LINEAR_SOLUTION)
    assert refused.value.verdict == "rule_violation"
    assert "numpy.linalg.lstsq" in refused.value.message
    assert not Submission.objects.filter(challenge=ruled).exists()
    assert quota_usage(team=team_a, challenge=ruled).daily_used == 0

    worker = start_worker("grader-gd-rule")
    free = make_challenge(gradient_descent_only=False)
    sub = submission_create(challenge=free, user=member_a, code=LINEAR_SOLUTION)
    done = wait_for(lambda: _finished(sub.pk), what=f"grading of #{sub.pk}\n{worker.log()}")
    assert done.verdict == Verdict.SCORED, (done.message, done.stderr)
    assert done.public_score is not None and done.public_score < 0.5  # the exact fit
