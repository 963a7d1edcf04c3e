"""What the trusted side measured (CPU time, floating-point events) and what the solution
declared (hyperparameters_) are stored with the result, shown on the submission page, in the
API, and in the organizer's JSON and CSV exports; a rejudge clears them."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hackathon.submissions.grading import submission_claim, submission_store_result
from hackathon.submissions.models import Submission
from hackathon.submissions.services import submission_create, submission_rejudge

from grader.contract import GradingResult
from grader.contract import Verdict as GV
from tests.submissions.conftest import LINEAR_SOLUTION

pytestmark = pytest.mark.django_db

DECLARED = {"learning_rate": 0.05, "batch_size": 32, "optimizer": "adam", "early_stopping": True}


@pytest.fixture
def stored(make_challenge, member_a, team_a) -> Submission:
    challenge = make_challenge()
    challenge.extra_metrics = ["r2"]
    challenge.save(update_fields=["extra_metrics"])
    submission = submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    _, token = submission_claim(submission_id=submission.pk, worker="w1")
    result = GradingResult(
        verdict=GV.SCORED,
        public_score=0.5,
        private_score=0.6,
        extra_scores={"r2": 0.912345678},
        cpu_seconds=1.25,
        fp_events={"overflow": 3, "invalid": 0, "divide": 0, "first_epoch": 7},
        hyperparameters=DECLARED,
        loss_curve=[2.0, 1.0],
        sandbox_level="strong",
    )
    submission_store_result(submission=submission, token=token, result=result)
    return Submission.objects.get(pk=submission.pk)


def test_they_are_stored_and_shown(stored: Submission, client_a) -> None:
    assert stored.cpu_seconds == 1.25 and stored.hyperparameters == DECLARED
    assert stored.fp_events["overflow"] == 3 and stored.fp_events["first_epoch"] == 7
    page = client_a.get(f"/submissions/{stored.pk}/").content.decode()
    assert "CPU time" in page and "1.250 s" in page
    assert "learning_rate" in page and "adam" in page and "hyperparameters_" in page
    assert 'data-testid="extra-r2">0.91235<' in page  # extra metrics at display precision
    api = client_a.get(f"/api/v1/submissions/{stored.pk}/").json()
    assert api["cpu_seconds"] == 1.25 and api["hyperparameters"] == DECLARED


def test_the_exports_carry_them(stored: Submission, organizer_client) -> None:
    slug = stored.challenge.slug
    body = organizer_client.get(f"/api/v1/challenges/{slug}/export/").json()
    row = next(r for r in body["submissions"] if r["id"] == stored.pk)
    assert row["hyperparameters"] == DECLARED and row["cpu_seconds"] == 1.25
    assert row["fp_events"]["overflow"] == 3
    response = organizer_client.get(f"/api/v1/challenges/{slug}/export/?as=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    mine = next(r for r in rows if r["id"] == str(stored.pk))
    assert json.loads(mine["hyperparameters"]) == DECLARED and mine["cpu_seconds"] == "1.25"


def test_participants_get_no_export(stored: Submission, client_a) -> None:
    slug = stored.challenge.slug
    assert client_a.get(f"/api/v1/challenges/{slug}/export/?as=csv").status_code == 403


def test_a_rejudge_clears_them(stored: Submission, organizer) -> None:
    submission_rejudge(submission=stored, actor=organizer)
    fresh = Submission.objects.get(pk=stored.pk)
    assert fresh.cpu_seconds is None and fresh.hyperparameters == {} and fresh.fp_events == {}
