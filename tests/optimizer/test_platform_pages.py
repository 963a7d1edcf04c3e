"""The optimizer track's schema, upload pre-check, pages and API (Django test client)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hackathon.challenges.archive import write_zip
from hackathon.challenges.bundle import load_bundle_dir, parse_bundle, spec_files
from hackathon.challenges.errors import ChallengeDataError
from hackathon.challenges.models import Challenge
from hackathon.challenges.optimizer import hidden_seeds, kit_seeds, optimizer_job
from hackathon.organizing.services import challenge_load_bundle
from hackathon.submissions.errors import PrecheckFailed
from hackathon.submissions.models import State, Submission
from hackathon.submissions.services import submission_create

ROOT = Path(__file__).resolve().parents[2]
VALLEY = ROOT / "challenges" / "valley-momentum"


def _files(toml_edit: tuple[str, str] | None = None) -> dict[str, bytes]:
    files = {
        "challenge.toml": (VALLEY / "challenge.toml").read_bytes(),
        "description.md": b"# Valley\n",
        "starter/solution.py": (VALLEY / "starter" / "solution.py").read_bytes(),
        "baseline/solution.py": (VALLEY / "baseline" / "solution.py").read_bytes(),
    }
    text = (
        files["challenge.toml"]
        .decode()
        .replace("[data]\n", "[data]\nseed = 3\nseed_is_public = true\n")
    )
    if toml_edit:
        assert toml_edit[0] in text
        text = text.replace(*toml_edit)
    files["challenge.toml"] = text.encode()
    return files


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('model = "linear"', 'model = "svm"'),
         "workload.model: expected one of linear, logistic, softmax, mlp, got 'svm'"),
        (('model = "linear"', 'model = "logistic"'),
         "workload.model: expected a model for a regression task (logistic fits binary)"),
        (("target = 60000.0\n", ""),
         "workload.target: expected the validation loss to reach (scoring budget_to_target)"),
        (("budget = 1000000", "budget = 0"),
         "workload.budget: expected a whole number between 1 and 10000000000, got 0"),
        (('init = "zeros"', 'init = "zeros"\nhidden = [8]'),
         "workload.hidden: expected no hidden layers (only an mlp has them), got [8]"),
        (('init = "zeros"', 'init = "zeros"\nmomentum = 0.9'), "workload.momentum: unknown field"),
        (('init = "zeros"', 'init = "zeros"\nmin_batch_size = 1'),
         "workload.min_batch_size: expected a whole number between 2 and 1000000, got 1"),
        (('init = "zeros"', 'init = "zeros"\nmin_batch_size = 2001'),
         "workload.min_batch_size: expected at most the training rows (train_rows = 2000), got 2001"),
        (("budget = 1000000", "budget = 10"),
         "workload.min_batch_size: expected at most the budget (10 examples), got 16"),
        (('track = "optimizer"', 'track = "optimizer"\nmetric = "rmse"'),
         "metric: expected 'budget_to_target' (workload.scoring), got 'rmse'"),
    ],
)  # fmt: skip
def test_a_bad_workload_is_refused_naming_the_field(edit: tuple[str, str], message: str) -> None:
    with pytest.raises(ChallengeDataError) as info:
        parse_bundle(_files(edit), origin="b")
    assert message in str(info.value)


def test_the_workload_round_trips_through_challenge_toml() -> None:
    spec = parse_bundle(_files(), origin="b")
    assert spec.track == "optimizer" and spec.metric == "budget_to_target"
    assert spec.workload["penalty"] == 1_000_000 and spec.workload["standardize"] is False
    assert spec.workload["rotate"] is True
    again = parse_bundle(spec_files(spec), origin="b")
    assert again.workload == spec.workload and again.track == "optimizer"
    assert load_bundle_dir(VALLEY).track == "optimizer"


@pytest.fixture
def challenge(db: None) -> object:
    return challenge_load_bundle(files=_files(), origin="test").challenge


def test_hidden_seeds_are_secret_stable_and_apart_from_the_kit(
    challenge: object, settings: object
) -> None:
    first = hidden_seeds(challenge)
    assert len(first) == 6 and len(set(first)) == 6
    assert hidden_seeds(challenge) == first
    assert not set(first) & set(kit_seeds(challenge))
    settings.SECRET_KEY = "another installation"
    assert hidden_seeds(challenge) != first
    paths = {
        k: Path(f"/x/{k}.npy") for k in ("train_X", "train_y", "test_X", "test_y", "public_mask")
    }
    job = optimizer_job(challenge, source="", paths=paths)
    assert job.public_count == 3 and job.test_y is not None
    kit = optimizer_job(challenge, source="", paths=paths, public_kit=True)
    assert kit.test_y is None and kit.seeds == kit_seeds(challenge)


def test_the_upload_precheck_wants_class_optimizer_with_step(
    challenge: object, member_a: object, team_a: object
) -> None:
    model = "class Model:\n    def fit(self, X, y): pass\n    def predict(self, X): pass\n"
    with pytest.raises(PrecheckFailed, match="must define a class named Optimizer"):
        submission_create(challenge=challenge, user=member_a, code=model)
    with pytest.raises(PrecheckFailed, match="class Optimizer must define step"):
        submission_create(challenge=challenge, user=member_a, code="class Optimizer:\n    pass\n")
    assert not Submission.objects.exists()
    ok = submission_create(
        challenge=challenge, user=member_a, code=(VALLEY / "starter" / "solution.py").read_text()
    )
    assert ok.state == State.QUEUED


def test_the_challenge_page_states_the_optimizer_contract(
    challenge: object, client_a: Client
) -> None:
    page = client_a.get(f"/challenges/{challenge.slug}/").content.decode()
    assert "optimizer-track" in page and "class Optimizer" in page
    assert "def step(self, params, grad, loss)" in page
    assert "penalty of <strong>1000000</strong>" in page
    api = client_a.get(f"/api/v1/challenges/{challenge.slug}/").json()
    assert api["track"] == "optimizer" and api["workload"]["budget"] == 1_000_000
    assert api["public_seeds"] == list(kit_seeds(challenge))
    # The minimum batch, also for a challenge stored before the field existed (its default).
    for stored in (challenge.workload["min_batch_size"], None):
        if stored is None:
            challenge.workload.pop("min_batch_size")
            challenge.save(update_fields=["workload"])
        page = client_a.get(f"/challenges/{challenge.slug}/").content.decode()
        assert "below the minimum batch of <strong>16</strong> examples is raised" in page
        api = client_a.get(f"/api/v1/challenges/{challenge.slug}/").json()
        assert api["workload"]["min_batch_size"] == 16
    assert "quasi-Newton, finite-difference curvature" in page


def test_private_instances_are_shown_only_with_the_private_board(
    challenge: object, member_a: object, team_a: object, client_a: Client
) -> None:
    sub = submission_create(
        challenge=challenge, user=member_a, code=(VALLEY / "starter" / "solution.py").read_text()
    )
    runs = [
        {"index": i, "part": part, "score": 10.0 + i, "steps": 3, "examples": 2400,
         "budget": 1000000, "ended": "budget", "train": {"step": [1], "examples": [800], "loss": [1.0]},
         "validation": [[0, 2.0, False]], "diagnostics": []}
        for i, part in enumerate(["public", "private"])
    ]  # fmt: skip
    Submission.objects.filter(pk=sub.pk).update(
        state=State.FINISHED,
        verdict="scored",
        public_score=10.0,
        private_score=11.0,
        instances=runs,
    )
    status = client_a.get(f"/submissions/{sub.pk}/status.json").json()
    assert [i["part"] for i in status["instances"]] == ["public"]
    api = client_a.get(f"/api/v1/submissions/{sub.pk}/").json()
    assert [i["part"] for i in api["instances"]] == ["public"]
    page = client_a.get(f"/submissions/{sub.pk}/").content.decode()
    assert "Instance 1 (public)" in page and "Instance 2 (private)" not in page
    assert json.dumps(11.0) not in json.dumps(status)


def test_an_organizer_publishes_an_optimizer_challenge_from_the_browser(
    organizer_client: Client,
) -> None:
    """The bundle zip uploaded on the organizer page, then downloaded back: the workload
    survives both ways."""
    upload = SimpleUploadedFile("valley.zip", write_zip(_files(), prefix="valley-momentum/"))
    response = organizer_client.post("/challenges/manage/upload/", {"bundle": upload})
    assert response.status_code == 302
    challenge = Challenge.objects.get(slug="valley-momentum")
    assert challenge.track == "optimizer" and challenge.workload["target"] == 60000.0
    downloaded = organizer_client.get("/challenges/manage/valley-momentum/bundle.zip")
    archive = zipfile.ZipFile(io.BytesIO(downloaded.content))
    toml = archive.read("valley-momentum/challenge.toml").decode()
    assert 'track = "optimizer"' in toml and "[workload]" in toml and "target = 60000.0" in toml
