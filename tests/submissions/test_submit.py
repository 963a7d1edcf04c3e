"""submission_create: who may submit, when, what, and how many (quotas)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from hackathon.submissions import scheduling
from hackathon.submissions.errors import (
    ChallengeClosed,
    NotInTeam,
    PrecheckFailed,
    QuotaExceeded,
    SubmissionTooLarge,
)
from hackathon.submissions.models import State, Submission, Verdict
from hackathon.submissions.services import quota_usage, submission_create

from tests.submissions.conftest import LINEAR_SOLUTION

pytestmark = pytest.mark.django_db


def test_member_submission_is_queued_for_its_team(make_challenge, member_a, team_a) -> None:
    challenge = make_challenge()
    sub = submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    assert sub.state == State.QUEUED
    assert sub.team == team_a
    assert sub.queue == "grading"
    assert sub.priority == 0
    assert sub.counts_toward_quota
    assert len(sub.code_sha256) == 64


def test_grading_message_is_sent_only_after_commit(
    make_challenge, member_a, team_a, clean_broker, django_capture_on_commit_callbacks
) -> None:
    from hackathon.submissions.sweeper import pending_message_submission_ids

    challenge = make_challenge()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sub = submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
        assert sub.pk not in pending_message_submission_ids()
    assert sub.pk not in pending_message_submission_ids()
    for callback in callbacks:
        callback()
    assert sub.pk in pending_message_submission_ids()


def test_user_without_team_is_refused(make_challenge, outsider) -> None:
    with pytest.raises(NotInTeam) as exc:
        submission_create(challenge=make_challenge(), user=outsider, code=LINEAR_SOLUTION)
    assert exc.value.http_status == 403
    assert Submission.objects.count() == 0


def test_closed_challenge_refuses_members_but_not_organizers(
    make_challenge, member_a, team_a, organizer
) -> None:
    ended = make_challenge(end_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(ChallengeClosed, match="ended"):
        submission_create(challenge=ended, user=member_a, code=LINEAR_SOLUTION)
    future = make_challenge(start_at=timezone.now() + timedelta(hours=2))
    with pytest.raises(ChallengeClosed, match="opens at"):
        submission_create(challenge=future, user=member_a, code=LINEAR_SOLUTION)
    baseline = submission_create(challenge=ended, user=organizer, code=LINEAR_SOLUTION)
    assert baseline.is_baseline and baseline.team is None


def test_precheck_rejection_names_the_problem_and_uses_no_quota(
    make_challenge, member_a, team_a
) -> None:
    challenge = make_challenge(daily_quota=1)
    with pytest.raises(PrecheckFailed) as exc:
        submission_create(challenge=challenge, user=member_a, code="class Model(:\n  pass\n")
    assert exc.value.http_status == 400
    assert "line 1" in exc.value.message.lower()
    assert Submission.objects.count() == 0
    submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)


def test_forbidden_import_is_refused_at_upload(make_challenge, member_a, team_a) -> None:
    code = "import socket\n" + LINEAR_SOLUTION
    with pytest.raises(PrecheckFailed, match="socket"):
        submission_create(challenge=make_challenge(), user=member_a, code=code)


def test_oversized_file_is_refused(make_challenge, member_a, team_a, settings) -> None:
    settings.SUBMISSION_MAX_BYTES = 1000
    code = LINEAR_SOLUTION + "#" * 1000
    with pytest.raises(SubmissionTooLarge, match="limit is 1,000 bytes") as exc:
        submission_create(challenge=make_challenge(), user=member_a, code=code)
    assert exc.value.http_status == 413


def test_in_flight_cap_says_when_to_retry(make_challenge, member_a, team_a) -> None:
    challenge = make_challenge(inflight_cap=2, daily_quota=10, time_limit_s=7)
    first = submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    second = submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    assert (first.priority, second.priority) == (0, 3)  # the team's second waits behind others
    with pytest.raises(QuotaExceeded) as exc:
        submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    assert exc.value.limit == "in_flight"
    assert exc.value.http_status == 429
    assert exc.value.retry_after == 7
    Submission.objects.filter(pk=first.pk).update(state=State.FINISHED, verdict=Verdict.SCORED)
    submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)


def test_daily_quota_counts_participant_errors_and_refunds_internal_errors(
    make_challenge, member_a, team_a
) -> None:
    challenge = make_challenge(inflight_cap=0, daily_quota=2)
    a = submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    b = submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    Submission.objects.filter(pk=a.pk).update(state=State.FINISHED, verdict=Verdict.RUNTIME_ERROR)
    Submission.objects.filter(pk=b.pk).update(
        state=State.FINISHED, verdict=Verdict.INTERNAL_ERROR, counts_toward_quota=False
    )
    submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    with pytest.raises(QuotaExceeded) as exc:
        submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    assert exc.value.limit == "daily"
    assert 0 < exc.value.retry_after <= 24 * 3600
    assert "UTC" in exc.value.message


def test_yesterdays_submissions_do_not_count_today(make_challenge, member_a, team_a) -> None:
    challenge = make_challenge(inflight_cap=0, daily_quota=1)
    old = submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    Submission.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))
    submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    usage = quota_usage(team=team_a, challenge=challenge)
    assert (usage.daily_used, usage.total_used) == (1, 2)


def test_total_quota_is_final(make_challenge, member_a, team_a) -> None:
    challenge = make_challenge(inflight_cap=0, total_quota=1)
    submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    with pytest.raises(QuotaExceeded) as exc:
        submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    assert exc.value.limit == "total"
    assert exc.value.retry_after is None


def test_quotas_are_per_team(make_challenge, member_a, team_a, member_b, team_b) -> None:
    challenge = make_challenge(inflight_cap=1)
    submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    submission_create(challenge=challenge, user=member_b, code=LINEAR_SOLUTION)


def test_long_challenges_grade_on_their_own_queue(make_challenge, member_a, team_a) -> None:
    challenge = make_challenge(time_limit_s=600)
    sub = submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    assert sub.queue == scheduling.QUEUE_LONG
