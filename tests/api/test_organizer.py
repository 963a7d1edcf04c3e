"""Organizer endpoints do what they say: bundles create then update, rejudge re-queues,
disqualify hides the score with a reason the team reads, export lists every submission."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from hackathon.challenges.archive import write_zip
from hackathon.challenges.bundle import read_bundle_dir
from hackathon.challenges.models import Challenge
from hackathon.submissions.models import Submission

from tests.api.conftest import BUNDLE

pytestmark = pytest.mark.django_db


def bundle_upload(slug: str, title: str) -> io.BytesIO:
    files = dict(read_bundle_dir(BUNDLE))
    toml = files["challenge.toml"].decode()
    toml = toml.replace('slug = "diabetes-gd"', f'slug = "{slug}"')
    files["challenge.toml"] = re.sub(
        r"^title = .*$", f'title = "{title}"', toml, flags=re.M
    ).encode()
    upload = io.BytesIO(write_zip(files, prefix=f"{slug}/"))
    upload.name = f"{slug}.zip"
    return upload


def test_a_bundle_creates_a_challenge_then_updates_it(as_role: Callable[[str], Client]) -> None:
    client = as_role("organizer")
    created = client.post(
        "/api/v1/challenges/bundle/", {"bundle": bundle_upload("api-made", "First")}
    )
    assert created.status_code == 201, created.content
    assert created.json()["title"] == "First"
    assert Challenge.objects.get(slug="api-made").n_train > 0
    updated = client.post(
        "/api/v1/challenges/bundle/", {"bundle": bundle_upload("api-made", "Second")}
    )
    assert updated.status_code == 200, updated.content
    assert Challenge.objects.get(slug="api-made").title == "Second"
    assert Challenge.objects.filter(slug="api-made").count() == 1
    # Its baseline is queued for grading as by load_challenges, once per version of its code.
    baselines = Submission.objects.filter(challenge__slug="api-made", is_baseline=True)
    assert baselines.count() == 1 and baselines.get().state == "queued"


def test_a_bundle_with_bad_keys_names_each_of_them_and_makes_nothing(
    as_role: Callable[[str], Client],
) -> None:
    files = dict(read_bundle_dir(BUNDLE))
    toml = files["challenge.toml"].decode()
    toml = toml.replace("memory_mb = 256", 'memory_mb = "lots"').replace(
        "time_s = 10", "time_s = 0"
    )
    files["challenge.toml"] = (toml + "colour = 3\n").encode()
    upload = io.BytesIO(write_zip(files, prefix="bad/"))
    upload.name = "bad.zip"
    response = as_role("organizer").post("/api/v1/challenges/bundle/", {"bundle": upload})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_bundle"
    assert body["fields"] == {
        "limits.time_s": ["expected a number between 1 and 3600, got 0"],
        "limits.memory_mb": ["expected a whole number between 64 and 16384, got 'lots'"],
        "rules.colour": [body["fields"]["rules.colour"][0]],
    }
    assert body["fields"]["rules.colour"][0].startswith("unknown field; expected only ")
    assert "bad.zip/challenge.toml: limits.time_s: expected a number" in body["message"]
    assert not Challenge.objects.exists()


def test_rejudge_requeues_a_finished_submission_and_drops_its_scores(
    as_role: Callable[[str], Client], submission_a: Submission
) -> None:
    response = as_role("organizer").post(f"/api/v1/submissions/{submission_a.pk}/rejudge/")
    assert response.status_code == 202
    submission_a.refresh_from_db()
    assert submission_a.state == "queued"
    assert submission_a.public_score is None


def test_rejudge_all_counts_the_finished_submissions(
    as_role: Callable[[str], Client], challenge: Any, submission_a: Submission
) -> None:
    response = as_role("organizer").post(f"/api/v1/challenges/{challenge.slug}/rejudge/")
    assert response.status_code == 202
    assert response.json() == {"count": 1}


def test_disqualify_needs_a_reason_and_the_team_sees_it(
    as_role: Callable[[str], Client], submission_a: Submission
) -> None:
    path = f"/api/v1/submissions/{submission_a.pk}/disqualify/"
    assert as_role("organizer").post(path, {}, content_type="application/json").status_code == 400
    response = as_role("organizer").post(
        path, {"reason": "Read the hidden labels."}, content_type="application/json"
    )
    assert response.status_code == 200
    seen = as_role("member").get(f"/api/v1/submissions/{submission_a.pk}/").json()
    assert seen["disqualified"] is True
    assert seen["disqualified_reason"] == "Read the hidden labels."
