"""Rejudge and disqualify move the leaderboard; final selection feeds the private board."""

from __future__ import annotations

import pytest
from hackathon.leaderboard.models import TeamScore
from hackathon.submissions.errors import ActionRefused
from hackathon.submissions.grading import submission_claim, submission_store_result
from hackathon.submissions.models import State, Submission
from hackathon.submissions.services import (
    challenge_rejudge_all,
    submission_create,
    submission_disqualify,
    submission_rejudge,
    submission_set_final,
)

from grader.contract import GradingResult
from grader.contract import Verdict as GV
from tests.submissions.conftest import LINEAR_SOLUTION

pytestmark = pytest.mark.django_db


def _graded(challenge, user, score: float) -> Submission:
    sub = submission_create(challenge=challenge, user=user, code=LINEAR_SOLUTION)
    claimed, token = submission_claim(submission_id=sub.pk, worker="w")
    submission_store_result(
        submission=claimed,
        token=token,
        result=GradingResult(verdict=GV.SCORED, public_score=score, private_score=score),
    )
    return Submission.objects.get(pk=sub.pk)


def test_disqualified_submission_leaves_the_leaderboard(
    make_challenge, member_a, team_a, organizer
) -> None:
    challenge = make_challenge(inflight_cap=0)
    good = _graded(challenge, member_a, 0.5)
    best = _graded(challenge, member_a, 0.1)  # rmse: lower is better
    assert TeamScore.objects.get(team=team_a).best_submission_id == best.pk
    with pytest.raises(ActionRefused):
        submission_disqualify(submission=best, actor=member_a, reason="cheating")
    with pytest.raises(ActionRefused, match="reason"):
        submission_disqualify(submission=best, actor=organizer, reason="  ")
    submission_disqualify(submission=best, actor=organizer, reason="labels hard-coded")
    assert TeamScore.objects.get(team=team_a).best_submission_id == good.pk


def test_rejudge_takes_the_score_off_until_graded_again(
    make_challenge, member_a, team_a, organizer
) -> None:
    challenge = make_challenge()
    sub = _graded(challenge, member_a, 0.3)
    submission_rejudge(submission=sub, actor=organizer)
    assert not TeamScore.objects.filter(team=team_a, best_score__isnull=False).exists()
    with pytest.raises(ActionRefused, match="still being graded"):
        submission_rejudge(submission=sub, actor=organizer)
    claimed, token = submission_claim(submission_id=sub.pk, worker="w")
    submission_store_result(
        submission=claimed,
        token=token,
        result=GradingResult(verdict=GV.SCORED, public_score=0.2, private_score=0.2),
    )
    assert TeamScore.objects.get(team=team_a).best_score == 0.2


def test_rejudge_all_requeues_every_finished_submission(
    make_challenge, member_a, team_a, member_b, team_b, organizer
) -> None:
    challenge = make_challenge()
    a = _graded(challenge, member_a, 0.3)
    b = _graded(challenge, member_b, 0.4)
    waiting = submission_create(challenge=challenge, user=member_b, code=LINEAR_SOLUTION)
    batch = challenge_rejudge_all(challenge=challenge, actor=organizer)
    assert batch.total == 2
    states = dict(Submission.objects.values_list("pk", "state"))
    assert states == {a.pk: State.QUEUED, b.pk: State.QUEUED, waiting.pk: State.QUEUED}
    assert set(batch.submissions.values_list("pk", flat=True)) == {a.pk, b.pk}
    assert TeamScore.objects.filter(best_score__isnull=False).count() == 0


def test_final_selection_feeds_the_private_leaderboard(make_challenge, member_a, team_a) -> None:
    challenge = make_challenge(inflight_cap=0)
    chosen = _graded(challenge, member_a, 0.9)
    _graded(challenge, member_a, 0.1)
    submission_set_final(submission=chosen, user=member_a, selected=True)
    score = TeamScore.objects.get(team=team_a)
    assert (score.private_submission_id, score.private_from_finals) == (chosen.pk, True)
    submission_set_final(submission=chosen, user=member_a, selected=False)
    assert TeamScore.objects.get(team=team_a).private_from_finals is False
