"""Challenges and scored submissions for leaderboard tests (and the grading pipeline's real
worker, `start_worker`, for the webhook deliveries)."""

from __future__ import annotations

import hashlib
import itertools
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from hackathon.accounts.models import Team
from hackathon.challenges.models import Challenge
from hackathon.leaderboard.services import leaderboard_record_result
from hackathon.submissions.models import State, Submission

from tests.submissions.conftest import start_worker  # noqa: F401 - a fixture, used by name

_slugs = itertools.count(1)


def make_challenge(**fields: object) -> Challenge:
    n = next(_slugs)
    now = timezone.now()
    defaults = {
        "slug": f"lb-challenge-{n}",
        "title": f"Leaderboard challenge {n}",
        "task": "binary",
        "metric": "accuracy",
        "is_published": True,
        "start_at": now - timedelta(days=2),
        "end_at": now + timedelta(days=2),
    }
    defaults.update(fields)
    return Challenge.objects.create(**defaults)


def make_team(name: str) -> Team:
    return Team.objects.create(
        name=name, invite_code=hashlib.sha256(name.encode()).hexdigest()[:20]
    )


def scored(
    challenge: Challenge,
    team: Team | None,
    public: float | None,
    *,
    private: float | None = None,
    at: datetime | None = None,
    ci: tuple[float, float] | None = None,
    is_final: bool = False,
    is_baseline: bool = False,
    disqualified: bool = False,
    record: bool = True,
) -> Submission:
    """A finished submission with these scores, created at `at`, recorded on the board."""
    code = f"# {team} {public} {at}"
    sub = Submission.objects.create(
        challenge=challenge,
        team=team,
        code=code,
        code_sha256=hashlib.sha256(code.encode()).hexdigest(),
        state=State.FINISHED,
        verdict="scored" if public is not None else "runtime_error",
        public_score=public,
        private_score=private if private is not None else public,
        public_ci_low=ci[0] if ci else None,
        public_ci_high=ci[1] if ci else None,
        is_final=is_final,
        is_baseline=is_baseline,
        disqualified=disqualified,
    )
    if at is not None:
        Submission.objects.filter(pk=sub.pk).update(created_at=at)
        sub.refresh_from_db()
    if record:
        leaderboard_record_result(submission=sub)
    return sub


@pytest.fixture
def challenge(db: None) -> Challenge:
    return make_challenge()
