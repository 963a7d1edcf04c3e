"""Submitting through the API: each refusal has its own status, code and message, and
changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import nbformat
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.utils import timezone
from hackathon.challenges.bundle import read_bundle_dir
from hackathon.organizing.services import challenge_load_bundle
from hackathon.submissions.models import Submission

from tests.api.conftest import BUNDLE

pytestmark = pytest.mark.django_db

GOOD = "import numpy as np\n\nclass Model:\n    def fit(self, X, y):\n        return self\n\n    def predict(self, X):\n        return np.zeros(len(X))\n"


def submit(client: Client, slug: str, **data: Any) -> Any:
    return client.post(f"/api/v1/challenges/{slug}/submissions/", data)


def test_a_multipart_upload_creates_a_queued_submission(
    as_role: Callable[[str], Client], challenge: Any, team_a: Any
) -> None:
    upload = SimpleUploadedFile("solution.py", GOOD.encode())
    response = submit(as_role("member"), challenge.slug, file=upload)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "queued"
    assert body["queue_position"] == 1
    assert body["team"] == "Team A"
    assert Submission.objects.get(pk=body["id"]).code == GOOD


def test_neither_file_nor_code_is_a_400_naming_the_field(
    as_role: Callable[[str], Client], challenge: Any
) -> None:
    response = submit(as_role("member"), challenge.slug)
    assert response.status_code == 400
    assert "file" in response.json()["fields"]
    assert not Submission.objects.exists()


def test_a_syntax_error_is_refused_at_once_without_using_quota(
    as_role: Callable[[str], Client], challenge: Any
) -> None:
    response = submit(as_role("member"), challenge.slug, code="class Model(:\n")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "precheck_failed"
    assert body["verdict"] == "syntax_error"
    assert not Submission.objects.exists()


def test_a_non_utf8_file_is_a_400(as_role: Callable[[str], Client], challenge: Any) -> None:
    upload = SimpleUploadedFile("solution.py", b"\xff\xfe\x00bad")
    response = submit(as_role("member"), challenge.slug, file=upload)
    assert response.status_code == 400
    assert "UTF-8" in response.json()["message"]


@override_settings(SUBMISSION_MAX_BYTES=100)
def test_a_file_over_the_size_limit_is_a_413(
    as_role: Callable[[str], Client], challenge: Any
) -> None:
    upload = SimpleUploadedFile("solution.py", b"#" * 101)
    response = submit(as_role("member"), challenge.slug, file=upload)
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert "101 bytes" in response.json()["message"]
    assert not Submission.objects.exists()


def test_a_closed_challenge_is_a_409(as_role: Callable[[str], Client], challenge: Any) -> None:
    challenge.end_at = timezone.now() - dt.timedelta(minutes=1)
    challenge.save(update_fields=["end_at"])
    response = submit(as_role("member"), challenge.slug, code=GOOD)
    assert response.status_code == 409
    assert response.json()["code"] == "challenge_closed"
    assert "ended" in response.json()["message"]


def test_a_user_in_no_team_gets_a_403(outsider_client: Client, challenge: Any) -> None:
    response = submit(outsider_client, challenge.slug, code=GOOD)
    assert response.status_code == 403
    assert response.json()["code"] == "not_in_team"


def test_the_daily_quota_is_a_429_with_retry_after_and_which_quota(
    as_role: Callable[[str], Client], challenge: Any
) -> None:
    challenge.daily_quota = 1
    challenge.inflight_cap = 5
    challenge.save(update_fields=["daily_quota", "inflight_cap"])
    client = as_role("member")
    assert submit(client, challenge.slug, code=GOOD).status_code == 201
    response = submit(client, challenge.slug, code=GOOD)
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "quota_exceeded"
    assert body["quota"] == "daily"
    assert 0 < body["retry_after"] <= 24 * 3600
    assert response["Retry-After"] == str(body["retry_after"])
    assert Submission.objects.count() == 1


def test_the_in_flight_cap_names_its_quota(
    as_role: Callable[[str], Client], challenge: Any
) -> None:
    challenge.inflight_cap = 1
    challenge.save(update_fields=["inflight_cap"])
    client = as_role("member")
    assert submit(client, challenge.slug, code=GOOD).status_code == 201
    response = submit(client, challenge.slug, code=GOOD)
    assert response.status_code == 429
    assert response.json()["quota"] == "in_flight"
    assert int(response["Retry-After"]) >= 1


def test_an_unknown_challenge_is_a_404(as_role: Callable[[str], Client], challenge: Any) -> None:
    response = submit(as_role("member"), "no-such-challenge", code=GOOD)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_selecting_an_unscored_submission_is_refused(
    as_role: Callable[[str], Client], challenge: Any
) -> None:
    client = as_role("member")
    created = submit(client, challenge.slug, code=GOOD).json()
    response = client.post(f"/api/v1/submissions/{created['id']}/final/")
    assert response.status_code == 400
    assert "Only scored submissions" in response.json()["message"]
    assert not Submission.objects.get(pk=created["id"]).is_final


def test_a_broken_bundle_is_a_400_that_names_the_problem(
    as_role: Callable[[str], Client], db: None
) -> None:
    upload = SimpleUploadedFile("bundle.zip", b"not a zip")
    response = as_role("organizer").post("/api/v1/challenges/bundle/", {"bundle": upload})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_bundle"
    assert "zip" in response.json()["message"]


def test_the_export_has_both_scores_for_organizers(
    as_role: Callable[[str], Client], challenge: Any, submission_a: Any
) -> None:
    body = as_role("organizer").get(f"/api/v1/challenges/{challenge.slug}/export/").json()
    assert body["submissions"][0]["private_score"] == 57.25
    assert body["submissions"][0]["team"] == "Team A"


def test_both_a_file_and_code_is_a_400_saying_to_send_one(
    as_role: Callable[[str], Client], challenge: Any
) -> None:
    upload = SimpleUploadedFile("solution.py", GOOD.encode())
    response = submit(as_role("member"), challenge.slug, file=upload, code=GOOD)
    assert response.status_code == 400, response.content
    fields = response.json()["fields"]
    assert "one of" in " ".join(fields["code"])
    assert not Submission.objects.exists()


def test_non_string_json_code_is_a_400_not_coerced_to_text(
    as_role: Callable[[str], Client], challenge: Any
) -> None:
    response = as_role("member").post(
        f"/api/v1/challenges/{challenge.slug}/submissions/",
        {"code": 5},
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert "code" in response.json()["fields"]
    assert not Submission.objects.exists()


LABELS_ONLY = (
    "import numpy as np\n\nclass Model:\n    def fit(self, X, y):\n        return self\n\n"
    "    def predict(self, X):\n        return np.zeros(len(X), dtype=int)\n"
)


def test_a_label_only_classifier_on_a_log_loss_challenge_is_refused_with_the_fix(
    as_role: Callable[[str], Client], team_a: Any
) -> None:
    bundle = BUNDLE.parent / "breast-cancer-sgd"
    challenge = challenge_load_bundle(
        files=dict(read_bundle_dir(bundle)), origin=str(bundle)
    ).challenge
    challenge.daily_quota = 1
    challenge.save(update_fields=["daily_quota"])
    client = as_role("member")
    for _ in range(3):  # refused uploads use no quota: the same answer every time
        response = submit(client, challenge.slug, code=LABELS_ONLY)
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "precheck_failed"
        assert "predict_proba" in body["message"]
        assert "log_loss" in body["message"]
    assert not Submission.objects.exists()
    with_proba = LABELS_ONLY + (
        "\n    def predict_proba(self, X):\n        return np.full((len(X), 2), 0.5)\n"
    )
    assert submit(client, challenge.slug, code=with_proba).status_code == 201


def _notebook(*cells: str) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# notes")]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    return nbformat.writes(nb).encode()


def test_a_notebook_upload_becomes_its_code_cells(
    as_role: Callable[[str], Client], challenge: Any
) -> None:
    data = _notebook(
        "%matplotlib inline\nimport numpy as np", GOOD.split("\n", 1)[1], "Model().fit"
    )
    upload = SimpleUploadedFile("experiments.ipynb", data)
    response = submit(as_role("member"), challenge.slug, file=upload)
    assert response.status_code == 201, response.content
    code = Submission.objects.get(pk=response.json()["id"]).code
    assert code.startswith("# Converted from the notebook experiments.ipynb")
    assert "class Model:" in code and "%matplotlib" not in code


def test_a_broken_notebook_is_a_400_that_uses_no_quota(
    as_role: Callable[[str], Client], challenge: Any
) -> None:
    for data, message in (
        (b'{"cells": [', "not valid JSON"),
        (_notebook("import numpy as np"), "class named Model"),
    ):
        upload = SimpleUploadedFile("broken.ipynb", data)
        response = submit(as_role("member"), challenge.slug, file=upload)
        assert response.status_code == 400
        assert message in response.json()["message"]
    assert not Submission.objects.exists()
