"""The built-in model challenges' starters and baselines declare their hyperparameters in
`hyperparameters_`, in the names the platform reads, so the debrief's learning-rate,
batch-size and optimizer plots have points from the first submission; the declaration is
metadata: graded in the sandbox, the classic challenges' starters and baselines still score
exactly the figures their descriptions publish, and the grader keeps what they declare."""

from __future__ import annotations

import io
import json
import math
import re
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hackathon.challenges import downloads
from hackathon.challenges.bundle import load_bundle_dir, read_bundle_dir
from hackathon.challenges.data import build_split
from hackathon.challenges.hyperparameters import (
    BATCH_SIZE,
    HYPERPARAMETERS,
    LEARNING_RATE,
    OPTIMIZER,
    declared_value,
)
from hackathon.challenges.starters import default_starter
from hackathon.organizing.services import challenge_load_bundle

from grader import protocol
from grader.harness import declared_hyperparameters
from tests.challenges.conftest import BUILTIN, ROOT
from tests.challenges.test_lookup_in_the_sandbox import _grade

MODEL_BUNDLES = sorted(
    path.parent.name
    for path in BUILTIN.glob("*/challenge.toml")
    if load_bundle_dir(path.parent).track == "model"
)
SOLUTIONS = [(slug, which) for slug in MODEL_BUNDLES for which in ("starter", "baseline")]


def _trained(code: str, task: str, rows: int = 120) -> object:
    """The solution's Model fitted in this process on a small dataset of the task's kind."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(rows, 8)) * 4 + 8
    score = X @ rng.normal(size=8)
    if task == "regression":
        y = score + rng.normal(size=rows)
    elif task == "binary":
        y = (score > np.median(score)).astype(np.int64)
    else:
        y = np.digitize(score, np.quantile(score, np.linspace(0, 1, 11)[1:-1])).astype(np.int64)
    module = types.ModuleType("solution")
    exec(compile(code, "solution.py", "exec"), module.__dict__)  # noqa: S102 - the bundle's own
    model = module.Model()
    model.fit(X, y)
    return model


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_the_starter_of_a_challenge_authored_without_one_declares_them(task: str) -> None:
    model = _trained(default_starter(task), task)
    kept, problem = protocol.hyperparameters(declared_hyperparameters(model))
    assert problem is None, problem
    assert declared_value(kept, OPTIMIZER) == "gd" and declared_value(kept, BATCH_SIZE) == 120
    assert declared_value(kept, LEARNING_RATE) == model.learning_rate > 0
    assert kept["epochs"] == model.epochs and len(model.loss_curve_) == model.epochs


def test_the_built_in_model_challenges_are_the_eight_expected() -> None:
    assert len(MODEL_BUNDLES) == 8, MODEL_BUNDLES


@pytest.mark.parametrize(("slug", "which"), SOLUTIONS)
def test_each_built_in_starter_and_baseline_declares_what_the_debrief_plots(
    slug: str, which: str
) -> None:
    spec = load_bundle_dir(BUILTIN / slug)
    model = _trained(getattr(spec, f"{which}_code"), spec.task)
    # The grader's own path: the harness reads it, the trusted side validates it.
    kept, problem = protocol.hyperparameters(declared_hyperparameters(model))
    assert problem is None, (slug, which, problem)

    rate = declared_value(kept, LEARNING_RATE)
    batch = declared_value(kept, BATCH_SIZE)
    optimizer = declared_value(kept, OPTIMIZER)
    assert isinstance(rate, float) and math.isfinite(rate) and rate > 0, kept
    assert isinstance(batch, int) and batch > 0, kept
    assert optimizer in {"gd", "sgd", "adam"}, kept
    # True to the training: the learning rate is the one the model steps with, full-batch
    # descent declares every row, and the number of passes is there.
    assert rate in {getattr(model, "learning_rate", None), getattr(model, "eta0", None)}, kept
    if optimizer == "gd":
        assert batch == 120, kept
    else:
        assert batch == getattr(model, "batch_size", 1), kept
    assert kept.get("epochs", kept.get("max_epochs")) in {
        getattr(model, "epochs", None),
        getattr(model, "max_epochs", None),
    }, kept
    # Every name is one the contract documents.
    assert set(kept) <= {h.name for h in HYPERPARAMETERS}, kept


def test_the_bundles_readme_documents_every_name() -> None:
    readme = (ROOT / "challenges" / "README.md").read_text()
    for h in HYPERPARAMETERS:
        assert f"`{h.name}`" in readme, h.name
        for alias in h.aliases:
            assert f"`{alias}`" in readme, alias


@pytest.mark.django_db
def test_the_starter_kit_documents_every_name_and_its_starter_declares_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    files = read_bundle_dir(BUILTIN / "diabetes-gd-classic")
    challenge = challenge_load_bundle(files=files, origin="test").challenge
    with zipfile.ZipFile(io.BytesIO(downloads.starter_kit_zip(challenge))) as kit:
        readme = kit.read("diabetes-gd-classic/README.md").decode()
        solution = kit.read("diabetes-gd-classic/solution.py").decode()
        notebook = kit.read("diabetes-gd-classic/solution.ipynb").decode()
    assert "### Hyperparameters (optional)" in readme and "self.hyperparameters_" in readme
    for h in HYPERPARAMETERS:
        assert f"- `{h.name}`: {h.meaning}" in readme, h.name
    assert "self.hyperparameters_ = {" in solution
    assert "self.hyperparameters_ = {" in "".join(json.loads(notebook)["cells"][1]["source"])
    # A kit built before the README said so is not served again once it does.
    monkeypatch.setattr(downloads, "hyperparameters_markdown", lambda: "### Changed\n")
    with zipfile.ZipFile(io.BytesIO(downloads.starter_kit_zip(challenge))) as kit:
        assert "### Changed" in kit.read("diabetes-gd-classic/README.md").decode()


def _published(description: str, which: str) -> tuple[str, str]:
    """The public and private figures of the description's `which` row, as printed."""
    row = next(line for line in description.splitlines() if line.startswith(f"| {which} ("))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    return cells[1], cells[2]


def _at_printed_precision(value: float, printed: str) -> float:
    return round(value, len(printed.split(".")[1]))


@pytest.mark.slow
@pytest.mark.parametrize(
    "slug", ["diabetes-gd-classic", "breast-cancer-sgd-classic", "digits-softmax-classic"]
)
def test_classic_starters_and_baselines_score_their_published_figures_and_keep_their_declaration(
    slug: str, tmp_path: Path
) -> None:
    """Classic challenges' data is the scikit-learn dataset with a pinned split: the same on
    every installation, so their descriptions' figures are exact."""
    spec = load_bundle_dir(BUILTIN / slug)
    _, split = build_split(spec)
    for which in ("starter", "baseline"):
        code = getattr(spec, f"{which}_code")
        assert re.search(r"^\s+self\.hyperparameters_ = \{", code, re.M), which
        result = _grade(spec, split, code, tmp_path / which)
        public, private = _published(spec.description_md, which)
        assert _at_printed_precision(result.public_score, public) == float(public), (which, result)
        assert _at_printed_precision(result.private_score, private) == float(private), which
        assert not [d for d in result.diagnostics if d["code"] == "hyperparameters_ignored"]
        # What the grader kept is what the solution declares trained on the same rows.
        module = types.ModuleType("solution")
        exec(compile(code, "solution.py", "exec"), module.__dict__)  # noqa: S102 - the bundle's own
        model = module.Model().fit(split.train_X.copy(), split.train_y.copy())
        assert result.hyperparameters == declared_hyperparameters(model), which
        assert declared_value(result.hyperparameters, LEARNING_RATE) > 0, which
