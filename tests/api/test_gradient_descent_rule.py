"""The gradient-descent-only rule at upload and in what the platform states: a closed form the
pre-check can see is refused with a 400 naming the function and the rule, and uses no quota;
with the rule off the same code is accepted; the API, the challenge page and the starter kit
say the rule when it is on, and mark a classic challenge's labels as public."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from hackathon.challenges.bundle import read_bundle_dir
from hackathon.challenges.models import Challenge
from hackathon.organizing.services import challenge_load_bundle
from hackathon.submissions.models import Submission

pytestmark = pytest.mark.django_db

LSTSQ = """\
import numpy as np


class Model:
    def fit(self, X, y):
        X1 = np.hstack([X, np.ones((len(X), 1))])
        self.w = np.linalg.lstsq(X1, y, rcond=None)[0]
        self.loss_curve_ = [1.0, 0.5, 0.25]
        return self

    def predict(self, X):
        return np.hstack([X, np.ones((len(X), 1))]) @ self.w
"""

ALIASED_SOLVE = """\
from numpy import linalg as la
import numpy


class Model:
    def fit(self, X, y):
        solver = getattr(la, "solve")
        self.w = solver(X.T @ X, X.T @ y)
        return self

    def predict(self, X):
        return X @ self.w
"""


def _submit(client: Client, slug: str, code: str) -> Any:
    return client.post(f"/api/v1/challenges/{slug}/submissions/", {"code": code})


def _zip(client: Client, slug: str) -> zipfile.ZipFile:
    response = client.get(f"/challenges/{slug}/starter-kit.zip")
    assert response.status_code == 200
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def _classic() -> Challenge:
    folder = Path(settings.BASE_DIR) / "challenges" / "diabetes-gd-classic"
    return challenge_load_bundle(files=read_bundle_dir(folder), origin=str(folder)).challenge


@pytest.mark.parametrize(
    ("code", "function"),
    [(LSTSQ, "numpy.linalg.lstsq"), (ALIASED_SOLVE, "numpy.linalg.solve")],
)
def test_a_closed_form_is_refused_at_upload_naming_the_function_without_quota(
    as_role: Callable[[str], Client], challenge: Challenge, code: str, function: str
) -> None:
    assert challenge.gradient_descent_only  # the built-in has the rule on
    response = _submit(as_role("member"), challenge.slug, code)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "precheck_failed" and body["verdict"] == "rule_violation"
    assert function in body["message"] and "gradient descent only" in body["message"]
    assert not Submission.objects.exists()  # nothing stored, no quota used
    quota = as_role("member").get(f"/api/v1/challenges/{challenge.slug}/").json()
    assert quota["slug"] == challenge.slug


def test_the_web_form_refuses_it_with_the_same_message(
    member_a: Any, team_a: Any, challenge: Challenge
) -> None:
    client = Client()
    client.force_login(member_a)
    response = client.post(f"/submissions/new/{challenge.slug}/", {"code": LSTSQ})
    assert response.status_code in (200, 400)
    assert "numpy.linalg.lstsq" in response.content.decode()
    assert not Submission.objects.exists()


def test_with_the_rule_off_the_same_code_is_accepted(
    as_role: Callable[[str], Client], challenge: Challenge, team_a: Any
) -> None:
    Challenge.objects.filter(pk=challenge.pk).update(gradient_descent_only=False)
    response = _submit(as_role("member"), challenge.slug, LSTSQ)
    assert response.status_code == 201, response.content
    assert Submission.objects.get(pk=response.json()["id"]).code == LSTSQ


def test_norms_products_and_determinants_stay_allowed(
    as_role: Callable[[str], Client], challenge: Challenge, team_a: Any
) -> None:
    code = LSTSQ.replace(
        "np.linalg.lstsq(X1, y, rcond=None)[0]",
        "np.zeros(X1.shape[1]) * np.linalg.norm(X1) * np.linalg.det(X1.T @ X1)",
    )
    assert _submit(as_role("member"), challenge.slug, code).status_code == 201


def test_the_api_states_the_rule_and_whether_labels_are_public(
    as_role: Callable[[str], Client], challenge: Challenge
) -> None:
    client = as_role("member")
    detail = client.get(f"/api/v1/challenges/{challenge.slug}/").json()
    assert detail["gradient_descent_only"] is True and detail["min_loss_curve_points"] == 3
    assert detail["public_labels"] is False
    assert any("Gradient descent only" in rule for rule in detail["rules"])
    classic = _classic()
    listed = {c["slug"]: c for c in client.get("/api/v1/challenges/").json()}
    assert listed[classic.slug]["public_labels"] is True
    assert listed[challenge.slug]["public_labels"] is False
    rules = client.get(f"/api/v1/challenges/{classic.slug}/").json()["rules"]
    assert any("labels of this challenge are public" in rule for rule in rules)
    Challenge.objects.filter(pk=challenge.pk).update(gradient_descent_only=False)
    detail = client.get(f"/api/v1/challenges/{challenge.slug}/").json()
    assert detail["gradient_descent_only"] is False and detail["rules"] == []


def test_the_pages_and_the_starter_kit_state_the_rule_and_the_classic_badge(
    member_a: Any, challenge: Challenge
) -> None:
    client = Client()
    client.force_login(member_a)
    page = client.get(f"/challenges/{challenge.slug}/").content.decode()
    assert 'data-testid="gd-rule"' in page and "lstsq" in page.split('data-testid="gd-rule"')[1]
    assert "Classic: labels are public" not in page
    kit = _zip(client, challenge.slug)
    readme = kit.read(f"{challenge.slug}/README.md").decode()
    manifest = json.loads(kit.read(f"{challenge.slug}/challenge.json"))
    assert "Gradient descent only" in readme and "loss_curve_" in readme
    assert manifest["gradient_descent_only"] is True and manifest["min_loss_curve_points"] == 3

    classic = _classic()
    for url in (
        f"/challenges/{classic.slug}/",
        "/challenges/",
        f"/leaderboard/{classic.slug}/",
        f"/submissions/new/{classic.slug}/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Classic: labels are public, not for ranking" in response.content.decode(), url
    kit = _zip(client, classic.slug)
    assert "Classic: labels are public" in kit.read(f"{classic.slug}/README.md").decode()
