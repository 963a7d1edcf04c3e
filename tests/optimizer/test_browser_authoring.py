"""An optimizer challenge authored in the browser: the form offers the track's fields (from
the schema every bundle is read by), refuses bad ones under their inputs leaving nothing
behind, and what it publishes is graded by a real worker through the sandbox."""

from __future__ import annotations

import math
import re

import pytest
from django.test import Client
from hackathon.challenges.models import Challenge, DataBlob
from hackathon.leaderboard.models import TeamScore
from hackathon.submissions.models import State, Submission, Verdict

from tests.submissions.conftest import requires_grader, wait_for

SGD = """\
class Optimizer:
    batch_size = 32

    def step(self, params, grad, loss):
        return [p - 0.05 * g for p, g in zip(params, grad)]
"""


def optimizer_form(**overrides: object) -> dict:
    data = {
        "slug": "authored-regression",
        "title": "Authored least squares",
        "summary": "Write the optimizer",
        "description_md": "# Least squares\n\nMomentum helps.",
        "task": "regression",
        "track": "optimizer",
        "data_source": "generator",
        "generator": "make_regression",
        "generator_params": "n_samples = 500\nn_features = 4\nnoise = 5.0",
        "workload_model": "linear",
        "workload_budget": "3000",
        "workload_scoring": "loss_at_budget",
        "workload_train_rows": "200",
        "workload_validation_rows": "50",
        "workload_instances": "2",
        "workload_public_instances": "1",
        "workload_min_batch_size": "8",
        "workload_standardize": "on",
        "test_fraction": "0.3",
        "public_fraction": "0.5",
        "seed": "42",
        "time_limit_s": "30",
        "memory_mb": "256",
        "daily_quota": "5",
        "inflight_cap": "2",
        "max_final": "2",
        "published": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def errors_by_input(html: str) -> dict[str, list[str]]:
    """The error messages shown under each input of the authoring page, by input name."""
    found: dict[str, list[str]] = {}
    for block in re.findall(r'<p class="field has-error".*?</p>', html, re.S):
        name = re.search(r'name="([^"]+)"', block).group(1)
        messages = re.findall(r'<span class="error" role="alert">(.*?)</span>', block, re.S)
        found[name] = [m.replace("&#x27;", "'") for m in messages]
    return found


def test_the_form_offers_the_optimizer_track_and_stores_its_workload(
    organizer_client: Client,
) -> None:
    page = organizer_client.get("/challenges/manage/new/").content.decode()
    assert 'name="track"' in page and '<option value="optimizer"' in page
    for name in ("workload_model", "workload_budget", "workload_target", "workload_penalty",
                 "workload_instances", "workload_min_batch_size"):  # fmt: skip
        assert f'name="{name}"' in page
    assert '<option value="budget_to_target">budget to target</option>' in page
    assert 'data-show-field="track" data-show-for="optimizer"' in page

    form = optimizer_form(
        workload_scoring="budget_to_target",
        workload_target="30.5",
        workload_penalty="",
        slug="to-target",
    )
    assert organizer_client.post("/challenges/manage/new/", form).status_code == 302
    challenge = Challenge.objects.get(slug="to-target")
    assert (challenge.track, challenge.metric, challenge.extra_metrics) == (
        "optimizer",
        "budget_to_target",
        [],
    )
    workload = challenge.workload
    assert (workload["model"], workload["budget"], workload["target"]) == ("linear", 3000, 30.5)
    assert workload["penalty"] == 3000  # empty: the budget, as in a bundle
    assert (workload["instances"], workload["min_batch_size"], workload["standardize"]) == (
        2,
        8,
        True,
    )
    assert not challenge.gradient_descent_only  # a model-track rule: not in the document
    assert "class Optimizer" in challenge.starter_code  # the generic starter of the track
    edit = organizer_client.get("/challenges/manage/to-target/edit/").content.decode()
    assert 'name="workload_target" value="30.5"' in edit
    assert 'name="workload_budget" value="3000"' in edit
    assert '<option value="optimizer" selected>' in edit


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"workload_model": "logistic"},
            {"workload_model": ["workload.model: expected a model for a regression task (logistic fits binary)"]},
        ),
        (
            {"workload_scoring": "budget_to_target", "workload_budget": "0", "workload_min_batch_size": "1"},
            {
                "workload_target": ["workload.target: expected the validation loss to reach (scoring budget_to_target)"],
                "workload_budget": ["workload.budget: expected a whole number between 1 and 10000000000, got 0"],
                "workload_min_batch_size": ["workload.min_batch_size: expected a whole number between 2 and 1000000, got 1"],
            },
        ),
        (
            {"workload_min_batch_size": "201", "workload_hidden": "32", "memory_mb": "8"},
            {
                "workload_min_batch_size": ["workload.min_batch_size: expected at most the training rows (train_rows = 200), got 201"],
                "workload_hidden": ["workload.hidden: expected no hidden layers (only an mlp has them), got [32]"],
                "memory_mb": ["limits.memory_mb: expected a whole number between 64 and 16384, got 8"],
            },
        ),
        (
            {"workload_model": "mlp", "workload_hidden": "", "workload_activation": "relu", "generator_params": "n_samples = [1"},
            {"generator_params": [re.compile(r"^expected TOML lines such as n_samples = 2000 \(")]},
        ),
        (
            {"workload_model": "mlp", "workload_hidden": "", "workload_activation": "relu"},
            {
                "workload_hidden": ["workload.hidden: expected at least one hidden layer width for an mlp, such as [32]"],
                "workload_activation": ["workload.activation: expected one of tanh, softplus, sigmoid, got 'relu'"],
            },
        ),
    ],
)  # fmt: skip
def test_bad_optimizer_inputs_are_refused_each_under_its_input_and_nothing_is_made(
    organizer_client: Client, overrides: dict, expected: dict
) -> None:
    response = organizer_client.post("/challenges/manage/new/", optimizer_form(**overrides))
    assert response.status_code == 400
    shown = errors_by_input(response.content.decode())
    assert shown.keys() == expected.keys()
    for name, messages in expected.items():
        assert len(shown[name]) == len(messages), (name, shown[name])
        for message, got in zip(messages, shown[name], strict=True):
            assert message.match(got) if isinstance(message, re.Pattern) else got == message
    assert not Challenge.objects.exists() and not DataBlob.objects.exists()


@pytest.mark.slow
@requires_grader
def test_an_optimizer_challenge_authored_in_the_browser_is_graded_through_the_sandbox(
    start_worker, organizer_client: Client, client_a: Client, team_a: object
) -> None:
    worker = start_worker("grader-authored")
    assert organizer_client.post("/challenges/manage/new/", optimizer_form()).status_code == 302
    challenge = Challenge.objects.get(slug="authored-regression")
    assert challenge.is_published and challenge.is_open
    page = client_a.get(f"/challenges/{challenge.slug}/").content.decode()
    assert "class Optimizer" in page and "def step(self, params, grad, loss)" in page

    response = client_a.post(f"/submissions/new/{challenge.slug}/", {"code": SGD})
    assert response.status_code == 302
    sub = Submission.objects.get(challenge=challenge, team=team_a)

    def finished() -> Submission | None:
        found = Submission.objects.get(pk=sub.pk)
        return found if found.state == State.FINISHED else None

    done = wait_for(finished, what=f"grading of #{sub.pk}\n{worker.log()}")
    assert done.verdict == Verdict.SCORED, (done.message, done.stderr)
    assert done.sandbox_level in ("strong", "standard")
    assert [i["part"] for i in done.instances] == ["public", "private"]
    public = done.instances[0]
    # Measured by the trusted driver: the budget spent exactly, in batches of 32.
    assert public["examples"] == 3000 and math.isfinite(public["score"])
    assert done.public_score == pytest.approx(public["score"], rel=1e-9)
    board = TeamScore.objects.get(challenge=challenge, team=team_a)
    assert (board.entries, board.best_submission_id) == (1, sub.pk)
