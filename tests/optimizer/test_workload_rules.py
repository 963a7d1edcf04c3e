"""A workload checks its own fields: a bad one is refused naming its key, whichever route it
came by (a bundle's TOML, a finished spec such as the authoring form builds, the stored
challenge, the starter kit's challenge.json read by `hackathon evaluate`); and each instance
sees the features in coordinates of its own (the secret rotation)."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hackathon.challenges.bundle import parse_bundle
from hackathon.challenges.errors import ChallengeDataError
from hackathon.challenges.schema import check_spec
from hackathon.cli.evaluate import EvaluationSetup
from hackathon.cli.evaluate_optimizer import optimizer_job
from hackathon.cli.remote import CliError

from grader.workloads import Workload, WorkloadError, make_instance

ROOT = Path(__file__).resolve().parents[2]
VALLEY = ROOT / "challenges" / "valley-momentum"
VALID = {"model": "linear", "budget": 10_000, "train_rows": 500}

# (field changes, the key named, a piece of the message)
BAD = [
    ({"model": "svm"}, "model", "expected one of linear, logistic, softmax, mlp, got 'svm'"),
    ({"budget": 0}, "budget", "expected a whole number between 1 and 10000000000, got 0"),
    ({"budget": 1.5}, "budget", "a whole number"),
    ({"budget": True}, "budget", "got True"),
    ({"scoring": "fastest"}, "scoring", "one of loss_at_budget, budget_to_target"),
    ({"scoring": "budget_to_target"}, "target", "the validation loss to reach"),
    ({"target": float("nan")}, "target", "a number between"),
    ({"hidden": [8]}, "hidden", "no hidden layers (only an mlp has them)"),
    ({"model": "mlp"}, "hidden", "at least one hidden layer width"),
    ({"model": "mlp", "hidden": [8, 0]}, "hidden", "at most 4 whole numbers between 1 and 1024"),
    ({"model": "mlp", "hidden": [8] * 5}, "hidden", "at most 4 whole numbers between 1 and 1024"),
    ({"model": "mlp", "hidden": "32"}, "hidden", "a list of layer widths such as [32, 16]"),
    ({"activation": "relu"}, "activation", "one of tanh, softplus, sigmoid"),
    ({"init": "he"}, "init", "one of zeros, normal, glorot"),
    ({"l1": -0.1}, "l1", "a number between 0 and 100"),
    ({"l2": float("inf")}, "l2", "a number between 0 and 100"),
    ({"l2": "0.1"}, "l2", "a number between 0 and 100"),
    ({"init_scale": 5000}, "init_scale", "a number between 0 and 1000"),
    ({"train_rows": -1}, "train_rows", "a whole number between 0 and 10000000"),
    ({"validation_rows": 4}, "validation_rows", "a whole number between 5 and 1000000"),
    ({"label_noise": 0.7}, "label_noise", "a number between 0 and 0.5"),
    ({"standardize": "yes"}, "standardize", "true or false"),
    ({"rotate": 1}, "rotate", "true or false"),
    ({"penalty": -5}, "penalty", "a whole number between 0"),
    ({"validate_every": -1}, "validate_every", "a whole number between 0"),
    ({"validation_cost": 2.5}, "validation_cost", "a whole number between 0"),
    ({"min_batch_size": 1}, "min_batch_size", "a whole number between 2 and 1000000, got 1"),
    ({"min_batch_size": 501}, "min_batch_size", "at most the training rows (train_rows = 500)"),
    ({"budget": 10, "min_batch_size": 16}, "min_batch_size", "at most the budget (10 examples)"),
    ({"instances": 1}, "instances", "a whole number between 2 and 50, got 1"),
    ({"public_instances": 0}, "public_instances", "a whole number between 1 and 20, got 0"),
    ({"momentum": 0.9}, "momentum", "unknown field; expected only "),
]
IDS = [f"{key}-{i}" for i, (_, key, _) in enumerate(BAD)]


@pytest.mark.parametrize(("change", "key", "fragment"), BAD, ids=IDS)
def test_the_workload_refuses_a_bad_field_naming_its_key(
    change: dict, key: str, fragment: str
) -> None:
    with pytest.raises(WorkloadError) as info:
        Workload.from_dict({**VALID, **change})
    assert info.value.key == key
    assert str(info.value).startswith(f"workload.{key}: ")
    assert fragment in str(info.value)
    if key != "momentum" and "hidden" not in change:
        # Made directly (as a test or the benchmark does), the same rule holds.
        with pytest.raises(WorkloadError, match=f"^workload.{key}: "):
            Workload(**{**VALID, **change})


def test_a_missing_required_field_is_named() -> None:
    with pytest.raises(WorkloadError, match=r"^workload.budget: missing; expected a whole"):
        Workload.from_dict({"model": "linear"})
    with pytest.raises(WorkloadError, match=r"^workload.model: missing; expected one of"):
        Workload.from_dict({"budget": 10})


def _valley_toml(change: dict) -> dict[str, bytes]:
    doc = tomllib.loads((VALLEY / "challenge.toml").read_text())
    workload = {**doc["workload"], **change}
    lines = [f"{k} = {_toml_value(v)}" for k, v in workload.items()]
    text = (VALLEY / "challenge.toml").read_text()
    head, _, tail = text.partition("[workload]\n")
    tail = tail[tail.index("\n[") :]
    text = head.replace("[data]\n", "[data]\nseed = 3\nseed_is_public = true\n")
    return {
        "challenge.toml": (text + "[workload]\n" + "\n".join(lines) + "\n" + tail).encode(),
        "description.md": b"# Valley\n",
        "starter/solution.py": (VALLEY / "starter" / "solution.py").read_bytes(),
    }


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


@pytest.mark.parametrize(("change", "key", "fragment"), BAD, ids=IDS)
def test_a_bundle_with_a_bad_workload_is_refused_naming_the_toml_key(
    change: dict, key: str, fragment: str
) -> None:
    change = {**change}
    if key == "min_batch_size" and "train_rows" in fragment:
        change["min_batch_size"] = 2001  # the valley trains on 2,000 rows
        fragment = "at most the training rows (train_rows = 2000)"
    if change.get("scoring") == "budget_to_target":
        change["target"] = None
    files = _valley_toml({k: v for k, v in change.items() if v is not None})
    if change.get("target", 0) is None:
        toml = files["challenge.toml"].decode()
        files["challenge.toml"] = "\n".join(
            line for line in toml.splitlines() if not line.startswith("target =")
        ).encode()
    with pytest.raises(ChallengeDataError) as info:
        parse_bundle(files, origin="b")
    message = str(info.value)
    assert f"workload.{key}" in message, message
    assert fragment.split(" (")[0].split(", got")[0] in message, message
    assert message.startswith("b/challenge.toml"), message


def test_a_finished_spec_with_a_bad_workload_is_refused_by_the_last_check() -> None:
    """The authoring form and every other route end in check_spec: a workload that skipped
    the TOML reader is still checked there."""
    spec = parse_bundle(_valley_toml({}), origin="b")
    bad = dataclasses.replace(spec, workload={**spec.workload, "min_batch_size": 1})
    with pytest.raises(ChallengeDataError, match=r"form.*workload\.min_batch_size.*got 1"):
        check_spec(bad, file="form")
    wrong_task = dataclasses.replace(spec, workload={**spec.workload, "model": "logistic"})
    with pytest.raises(ChallengeDataError, match=r"workload\.model: .*regression task"):
        check_spec(wrong_task, file="form")
    assert check_spec(spec, file="form") is spec


def test_hackathon_evaluate_names_the_bad_key_of_the_kits_workload(tmp_path: Path) -> None:
    setup = EvaluationSetup(
        data_bytes=b"", data_name="train.npz", target="y", task="regression", metric="rmse",
        extra_metrics=(), seed=42, validation_fraction=0.3, public_fraction=0.5,
        time_limit_s=10.0, memory_mb=256, allowed_imports=None, track="optimizer",
        workload={**VALID, "min_batch_size": 1}, public_seeds=(1, 2),
    )  # fmt: skip
    with pytest.raises(CliError) as info:
        optimizer_job(setup, "", tmp_path)
    assert "workload.min_batch_size: expected a whole number between 2" in str(info.value)


def test_the_stored_form_is_one_form_whatever_the_route() -> None:
    from_toml = Workload.from_dict({**VALID, "l2": 0, "target": 5})
    assert from_toml.l2 == 0.0 and isinstance(from_toml.l2, float)
    assert from_toml.target == 5.0
    assert from_toml.penalty == from_toml.budget  # the default penalty: the budget
    again = Workload.from_dict(from_toml.as_dict())
    assert again == from_toml
    np_values = Workload.from_dict({**VALID, "budget": np.int64(300), "l2": np.float64(0.5)})
    assert type(np_values.budget) is int and type(np_values.l2) is float


# --- the instances' coordinates ------------------------------------------------------------


@pytest.fixture(scope="module")
def pool() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(0)
    X = rng.normal(size=(900, 12)) * np.logspace(-1, 1, 12)
    return X, X @ rng.normal(size=12) + 0.1 * rng.normal(size=900)


def _instance(pool: tuple[np.ndarray, np.ndarray], seed: int, **change: object):  # noqa: ANN202
    workload = Workload.from_dict({**VALID, "standardize": False, **change})
    return make_instance(
        workload, task="regression", n_classes=None, pool_X=pool[0], pool_y=pool[1], seed=seed
    )


def test_each_instance_sees_the_features_in_secret_coordinates_of_its_own(
    pool: tuple[np.ndarray, np.ndarray],
) -> None:
    plain = _instance(pool, 7, rotate=False)
    first, again, other = _instance(pool, 7), _instance(pool, 7), _instance(pool, 8)
    # The rows, labels and initial parameters are the ones the plain instance draws...
    np.testing.assert_array_equal(first.y, plain.y)
    np.testing.assert_array_equal(first.theta0, plain.theta0)
    # ...seen through a rotation: every distance, hence the curvature's spectrum, is kept.
    np.testing.assert_allclose(first.X @ first.X.T, plain.X @ plain.X.T, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(
        np.linalg.eigvalsh(first.X.T @ first.X), np.linalg.eigvalsh(plain.X.T @ plain.X),
        rtol=1e-9,
    )  # fmt: skip
    assert not np.allclose(first.X, plain.X)
    np.testing.assert_array_equal(first.X, again.X)  # the same seed: the same coordinates

    # The least-squares solution in one instance's coordinates is no use in another's.
    def solve(inst):  # noqa: ANN001, ANN202
        A = np.c_[inst.X, np.ones(inst.n_train)]
        return np.linalg.lstsq(A, inst.y, rcond=None)[0]

    for inst in (plain, other):
        theta = solve(first)
        assert inst.model.data_loss(theta, inst.X_val, inst.y_val) > 10 * inst.model.data_loss(
            solve(inst), inst.X_val, inst.y_val
        )
