"""Built-in data that no public source reveals: the installation's secret seed (made once,
kept, 0600), data that differs between installations and not within one, pinned seeds that
must say they are public, and lookups of every public source that do not beat the baseline."""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hackathon.challenges import installation
from hackathon.challenges.bundle import load_bundle_dir, parse_bundle, spec_files
from hackathon.challenges.data import build_dataset, build_split
from hackathon.challenges.errors import ChallengeDataError
from hackathon.challenges.models import Challenge
from hackathon.cli.up import ensure_challenge_data_secret
from hackathon.envconf import CHALLENGE_DATA_SECRET_FILE
from hackathon.organizing.services import challenge_load_bundle

from tests.challenges.conftest import BUILTIN, bundle_files
from tests.challenges.lookup import lookup_scores, run_solution, score

SECRET_A = b"installation A's challenge-data secret"
SECRET_B = b"installation B's challenge-data secret"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_secret_is_made_once_kept_and_private(tmp_path: Path, settings) -> None:  # noqa: ANN001
    settings.CHALLENGE_DATA_SECRET = ""
    settings.CHALLENGE_DATA_SECRET_PATH = tmp_path / "var" / CHALLENGE_DATA_SECRET_FILE
    first = installation.challenge_data_secret()
    path = settings.CHALLENGE_DATA_SECRET_PATH
    assert _mode(path) == 0o600 and len(first) >= 50
    assert installation.challenge_data_secret() == first
    assert path.read_bytes().strip() == first

    # hackathon up makes it at start, once, next to the secret key.
    var = tmp_path / "embedded"
    var.mkdir()
    ensure_challenge_data_secret(var)
    made = (var / CHALLENGE_DATA_SECRET_FILE).read_text()
    ensure_challenge_data_secret(var)
    assert (var / CHALLENGE_DATA_SECRET_FILE).read_text() == made
    assert _mode(var / CHALLENGE_DATA_SECRET_FILE) == 0o600
    assert made.strip() != first.decode()  # another installation, another secret


def test_production_without_the_secret_refuses_and_writes_nothing(
    db: None,
    settings,  # noqa: ANN001
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    settings.CHALLENGE_DATA_SECRET = ""
    settings.CHALLENGE_DATA_SECRET_PATH = tmp_path / CHALLENGE_DATA_SECRET_FILE
    settings.TESTING = False
    settings.DEBUG = False
    monkeypatch.setenv("DATABASE_URL", "postgres://hackathon@db.invalid/hackathon")
    monkeypatch.delenv("HACKATHON_EMBEDDED", raising=False)
    with pytest.raises(ChallengeDataError, match="CHALLENGE_DATA_SECRET"):
        challenge_load_bundle(files=_files("nonlinear-classification"), origin="b")
    assert not Challenge.objects.exists()
    assert not settings.CHALLENGE_DATA_SECRET_PATH.exists()
    # Data that needs no secret (a CSV, a classic dataset) still loads.
    assert challenge_load_bundle(files=bundle_files(), origin="b").created


def _files(slug: str) -> dict[str, bytes]:
    from hackathon.challenges.bundle import read_bundle_dir

    return read_bundle_dir(BUILTIN / slug)


@pytest.mark.parametrize("slug", ["diabetes-gd", "nonlinear-classification"])
def test_two_installations_get_different_data_and_one_installation_the_same(slug: str) -> None:
    spec = load_bundle_dir(BUILTIN / slug)
    a1 = build_split(spec, secret=SECRET_A)[1]
    a2 = build_split(spec, secret=SECRET_A)[1]
    b = build_split(spec, secret=SECRET_B)[1]
    for key in a1.KEYS:
        assert np.array_equal(getattr(a1, key), getattr(a2, key)), key
    assert a1.train_X.shape == b.train_X.shape
    assert not np.array_equal(a1.train_X, b.train_X)
    assert not np.array_equal(a1.test_y, b.test_y)


def test_the_loaded_challenge_uses_the_configured_secret(db: None, settings) -> None:  # noqa: ANN001
    settings.CHALLENGE_DATA_SECRET = SECRET_A.decode()
    challenge = challenge_load_bundle(files=_files("diabetes-gd"), origin="b").challenge
    expected = build_split(load_bundle_dir(BUILTIN / "diabetes-gd"), secret=SECRET_A)[1]
    stored = np.load(__import__("io").BytesIO(bytes(challenge.test_y.data)))
    assert np.array_equal(stored, expected.test_y)
    assert not challenge.public_labels and challenge.gradient_descent_only


def test_a_pinned_seed_is_refused_unless_marked_public() -> None:
    files = _files("nonlinear-classification")
    toml = files["challenge.toml"].decode()
    pinned = toml.replace('seed = "installation"', "seed = 7", 1)
    with pytest.raises(ChallengeDataError, match="data.seed: a pinned seed .7. is public"):
        parse_bundle({**files, "challenge.toml": pinned.encode()}, origin="b")
    marked = pinned.replace("seed = 7", "seed = 7\nseed_is_public = true", 1)
    spec = parse_bundle({**files, "challenge.toml": marked.encode()}, origin="b")
    assert spec.data.seed == 7 and spec.data.labels_are_public
    assert not spec.data.uses_installation_seed
    # A public seed needs no secret, and written back it stays marked.
    assert parse_bundle(spec_files(spec), origin="b") == spec
    assert build_split(spec)[1].n_public > 0
    wrong = toml.replace('seed = "installation"', 'seed = "random"', 1)
    with pytest.raises(ChallengeDataError, match='data.seed: expected "installation" or a whole'):
        parse_bundle({**files, "challenge.toml": wrong.encode()}, origin="b")


def test_the_rules_table_is_read_validated_and_written_back() -> None:
    spec = load_bundle_dir(BUILTIN / "diabetes-gd")
    assert spec.gradient_descent_only and spec.min_loss_curve_points == 3
    assert spec.data.kind == "semisynthetic" and not spec.data.labels_are_public
    assert parse_bundle(spec_files(spec), origin="b") == spec
    files = _files("diabetes-gd")
    toml = files["challenge.toml"].decode()
    for bad, message in (
        ("gradient_descent_only = 1", "rules.gradient_descent_only: expected true or false"),
        ("min_loss_curve_points = 0", "rules.min_loss_curve_points: expected a whole number"),
        ("closed_form = false", "rules.closed_form: unknown field"),
    ):
        changed = toml.replace("gradient_descent_only = true", bad, 1)
        if bad.startswith("min_"):
            changed = toml.replace("min_loss_curve_points = 3", bad, 1)
        elif bad.startswith("closed"):
            changed = toml + "closed_form = false\n"
        with pytest.raises(ChallengeDataError, match=message):
            parse_bundle({**files, "challenge.toml": changed.encode()}, origin="b")
    off = toml.replace("gradient_descent_only = true", "gradient_descent_only = false")
    assert not parse_bundle(
        {**files, "challenge.toml": off.encode()}, origin="b"
    ).gradient_descent_only


def test_every_builtin_solution_keeps_a_loss_curve_and_uses_no_closed_form() -> None:
    from grader.precheck import precheck

    specs = [
        load_bundle_dir(p) for p in sorted(BUILTIN.iterdir()) if (p / "challenge.toml").exists()
    ]
    models = [spec for spec in specs if spec.track == "model"]
    assert len(models) == 8
    for spec in models:  # the optimizer track's participants write an optimizer, not a Model
        assert spec.gradient_descent_only, spec.slug
        for which in ("starter", "baseline"):
            code = getattr(spec, f"{which}_code")
            checked = precheck(code, spec.allowed_imports, gradient_descent_only=True)
            assert checked.ok, (spec.slug, which, checked.message)
            assert "self.loss_curve_.append(" in code, (spec.slug, which)


def _public(name: str) -> tuple[np.ndarray, np.ndarray]:
    import sklearn.datasets

    loaded = getattr(sklearn.datasets, name)(
        **({"scaled": False} if name == "load_diabetes" else {})
    )
    return loaded.data.astype(np.float64), loaded.target


def _better(metric: str, a: float, b: float) -> bool:
    return a > b if metric in {"accuracy", "r2", "f1_macro", "roc_auc"} else a < b


@pytest.mark.parametrize("slug", ["diabetes-gd", "breast-cancer-sgd", "digits-softmax"])
def test_a_lookup_of_the_public_dataset_does_not_beat_the_baseline(slug: str) -> None:
    spec = load_bundle_dir(BUILTIN / slug)
    dataset, split = build_split(spec, secret=SECRET_A)
    k = dataset.n_classes
    baseline = score(spec.metric, split, *run_solution(spec.baseline_code, split), k)
    X_public, y_public = _public(spec.data.name)
    lookup = lookup_scores(spec.metric, split, X_public, y_public, k)
    for part in ("public", "private"):
        assert not _better(spec.metric, lookup[part], baseline[part]), (part, lookup, baseline)
    # The same lookup on the classic challenge: its labels are public, the lookup is perfect.
    classic = load_bundle_dir(BUILTIN / f"{slug}-classic")
    assert classic.data.labels_are_public
    _, classic_split = build_split(classic)
    perfect = lookup_scores("accuracy" if k else "rmse", classic_split, X_public, y_public, k)
    assert perfect["public"] == (1.0 if k else 0.0)


def test_regenerating_a_generated_builtin_from_the_repository_does_not_beat_the_baseline() -> None:
    """The attacker has the bundle (generator, parameters, split) and guesses the seed the
    repository pinned before (7); benchmarks/challenges_reference.py also tries the split's."""
    spec = load_bundle_dir(BUILTIN / "nonlinear-classification")
    _, split = build_split(spec, secret=SECRET_A)
    baseline = score(spec.metric, split, *run_solution(spec.baseline_code, split), 2)
    for guess in (7,):
        regenerated = build_dataset(
            replace(spec.data, seed=guess, seed_is_public=True), "binary", {}
        )
        lookup = lookup_scores(spec.metric, split, regenerated.X, regenerated.y, 2)
        for part in ("public", "private"):
            assert lookup[part] < baseline[part] - 0.2, (guess, lookup, baseline)
