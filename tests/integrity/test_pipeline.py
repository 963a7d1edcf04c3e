"""The check runs off the request path: a real grading worker stores the result, sends the
integrity check by name to the default queue, and a worker consuming that queue flags it."""

from __future__ import annotations

import pytest
from hackathon.integrity.models import CodeFingerprint, FlagKind, IntegrityFlag
from hackathon.submissions.models import State, Submission, Verdict
from hackathon.submissions.services import submission_create

from tests.integrity.test_flags import EMBEDDED_TABLE
from tests.submissions.conftest import requires_grader, wait_for

pytestmark = [pytest.mark.slow, requires_grader]


def test_a_graded_submission_is_checked_by_the_default_queue_worker(
    start_worker, make_challenge, member_a, team_a
) -> None:
    worker = start_worker("grader-and-default", queues="grading,grading-long,default")
    challenge = make_challenge()
    sub = submission_create(challenge=challenge, user=member_a, code=EMBEDDED_TABLE)

    def finished() -> Submission | None:
        found = Submission.objects.get(pk=sub.pk)
        return found if found.state == State.FINISHED else None

    done = wait_for(finished, what=f"grading of #{sub.pk}\n{worker.log()}")
    assert done.verdict == Verdict.SCORED, (done.message, done.stderr)
    flag = wait_for(
        lambda: IntegrityFlag.objects.filter(submission=sub).first(),
        what=f"integrity check of #{sub.pk}\n{worker.log()}",
    )
    assert flag.kind == FlagKind.EMBEDDED_DATA and "807 numeric literals" in flag.detail
    assert CodeFingerprint.objects.filter(submission=sub, team=team_a).exists()
    # Flagged, never acted on: the submission stays on the board.
    assert not Submission.objects.get(pk=sub.pk).disqualified
