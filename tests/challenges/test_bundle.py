"""Parsing bundles: the eleven built-ins, and every error naming file, field and expectation."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hackathon.challenges.bundle import load_bundle_dir, parse_bundle, spec_files
from hackathon.challenges.errors import ChallengeDataError

from .conftest import BUILTIN, bundle_files

BUILTIN_SLUGS = sorted(p.name for p in BUILTIN.iterdir() if (p / "challenge.toml").exists())


def test_there_are_eleven_builtin_bundles_each_with_starter_and_baseline() -> None:
    # Five competition-grade and three classic model challenges, three optimizer-track ones.
    assert len(BUILTIN_SLUGS) == 11
    tracks = {"model": 0, "optimizer": 0}
    for slug in BUILTIN_SLUGS:
        spec = load_bundle_dir(BUILTIN / slug)
        assert spec.slug == slug
        tracks[spec.track] += 1
        if spec.track == "optimizer":
            assert "class Optimizer" in spec.starter_code
            assert "class Optimizer" in spec.baseline_code
        else:
            assert "class Model" in spec.starter_code and "loss_curve_" in spec.starter_code
            assert "class Model" in spec.baseline_code
        assert "## Reference figures (measured)" in spec.description_md
    assert tracks == {"model": 8, "optimizer": 3}


def test_builtin_metrics_and_limits_are_what_the_challenges_teach() -> None:
    specs = {s: load_bundle_dir(BUILTIN / s) for s in BUILTIN_SLUGS}
    assert specs["diabetes-gd"].data.params == {"scaled": False}
    assert specs["breast-cancer-sgd"].metric == "log_loss"
    assert "accuracy" in specs["breast-cancer-sgd"].extra_metrics
    assert specs["digits-softmax"].metric == "log_loss"
    big = specs["large-scale-regression"]
    assert big.data.params["n_samples"] >= 200_000 and big.data.params["n_features"] == 100
    assert big.memory_mb >= 1024


def test_a_valid_bundle_parses_to_its_spec() -> None:
    spec = parse_bundle(bundle_files(), origin="b")
    assert (spec.slug, spec.task, spec.metric, spec.extra_metrics) == (
        "tiny",
        "regression",
        "rmse",
        ("mae",),
    )
    assert spec.daily_quota == 7 and spec.time_limit_s == 5.0
    assert "numpy" in spec.allowed_imports
    assert spec.data_files.keys() == {"data/train.csv"}


def test_a_spec_written_back_as_a_bundle_parses_to_the_same_spec() -> None:
    spec = parse_bundle(bundle_files(), origin="b")
    assert parse_bundle(spec_files(spec), origin="b") == spec


@pytest.mark.parametrize("slug", BUILTIN_SLUGS)
def test_every_builtin_written_back_parses_to_the_same_spec(slug: str) -> None:
    spec = load_bundle_dir(BUILTIN / slug)
    assert parse_bundle(spec_files(spec), origin="b") == spec


def test_texts_with_quotes_backslashes_and_control_characters_survive_the_round_trip() -> None:
    awkward = 'Say "hi" \\ C:\\path\ttab\x01bell\x7f and \u00e9t\u00e9 \U0001f600 true False'
    spec = replace(parse_bundle(bundle_files(), origin="b"), title=awkward, summary="a\nb\rc")
    assert parse_bundle(spec_files(spec), origin="b") == spec


def _error(files: dict[str, bytes]) -> str:
    with pytest.raises(ChallengeDataError) as info:
        parse_bundle(files, origin="b")
    return str(info.value)


def _toml(replace: str, by: str) -> dict[str, bytes]:
    files = bundle_files()
    text = files["challenge.toml"].decode()
    assert replace in text
    files["challenge.toml"] = text.replace(replace, by).encode()
    return files


def test_a_missing_field_is_named_with_what_was_expected() -> None:
    message = _error(_toml('task = "regression"\n', ""))
    assert (
        message == "b/challenge.toml: task: missing; expected one of regression, binary, multiclass"
    )


def test_a_mistyped_field_is_named_with_what_was_expected_and_what_came() -> None:
    message = _error(_toml("time_s = 5", 'time_s = "five"'))
    assert (
        message
        == "b/challenge.toml: limits.time_s: expected a number between 1 and 3600, got 'five'"
    )


def test_every_bad_key_is_named_at_once() -> None:
    from hackathon.challenges.schema import SpecInvalid

    files = _toml("time_s = 5\nmemory_mb = 256", 'time_s = 0\nmemory_mb = "lots"\nwall_s = 3')
    with pytest.raises(SpecInvalid) as info:
        parse_bundle(files, origin="b")
    assert [(e.field, e.detail) for e in info.value.errors] == [
        ("limits.time_s", "expected a number between 1 and 3600, got 0"),
        ("limits.memory_mb", "expected a whole number between 64 and 16384, got 'lots'"),
        ("limits.wall_s", info.value.errors[2].detail),
    ]
    assert info.value.errors[2].detail.startswith("unknown field; expected only daily_submissions")
    assert str(info.value).splitlines()[0] == (
        "b/challenge.toml: limits.time_s: expected a number between 1 and 3600, got 0"
    )


def test_a_boolean_is_not_accepted_as_a_number() -> None:
    assert "limits.memory_mb: expected a whole number" in _error(
        _toml("memory_mb = 256", "memory_mb = true")
    )


def test_an_unknown_field_is_refused_by_name() -> None:
    assert "limits.time_limit: unknown field" in _error(_toml("time_s = 5", "time_limit = 5"))


@pytest.mark.parametrize(
    ("task", "metric", "needle"),
    [
        ("binary", "rmse", "metric 'rmse' does not fit task 'binary'"),
        ("multiclass", "roc_auc", "roc_auc is for binary tasks only"),
        ("regression", "log_loss", "metric 'log_loss' does not fit task 'regression'"),
        ("regression", "accuracy", "metric 'accuracy' does not fit task 'regression'"),
    ],
)
def test_a_metric_that_does_not_fit_the_task_is_refused(
    task: str, metric: str, needle: str
) -> None:
    message = _error(bundle_files(task=task, metric=metric, extra="[]"))
    assert "b/challenge.toml: metric:" in message and needle in message


def test_an_extra_metric_that_does_not_fit_the_task_is_refused() -> None:
    assert "extra_metrics[0]" in _error(bundle_files(extra='["accuracy"]'))


def test_an_unknown_metric_lists_the_known_ones() -> None:
    assert "expected one of rmse, mae, r2" in _error(bundle_files(metric="mse", extra="[]"))


def test_invalid_toml_names_the_file() -> None:
    files = bundle_files(toml="slug = \n")
    assert _error(files).startswith("b/challenge.toml: expected valid TOML")


def test_missing_description_or_starter_is_refused() -> None:
    for name in ("description.md", "starter/solution.py"):
        files = bundle_files()
        del files[name]
        assert _error(files) == f"b/{name}: missing; every bundle needs this file"


def test_a_data_file_named_but_absent_is_refused() -> None:
    files = bundle_files()
    del files["data/train.csv"]
    assert _error(files) == "b/data/train.csv: missing; expected the data file named in data.file"


def test_an_unknown_generator_parameter_is_refused_by_name() -> None:
    toml = (
        bundle_files()["challenge.toml"]
        .decode()
        .replace(
            'source = "csv"\nfile = "data/train.csv"\ntarget = "y"',
            'source = "generator"\nname = "make_moons"\nparams = { n_samples = 300, wiggle = 2 }',
        )
    )
    message = _error(bundle_files(toml=toml))
    assert "data.params.wiggle" in message and "make_moons takes no parameter 'wiggle'" in message


def test_a_dataset_that_is_not_bundled_with_scikit_learn_is_refused() -> None:
    toml = (
        bundle_files()["challenge.toml"]
        .decode()
        .replace(
            'source = "csv"\nfile = "data/train.csv"\ntarget = "y"',
            'source = "sklearn"\nname = "fetch_openml"',
        )
    )
    assert "data.name: expected one of load_breast_cancer" in _error(bundle_files(toml=toml))


def test_a_reserved_or_malformed_slug_is_refused() -> None:
    assert "slug: expected a slug other than" in _error(bundle_files(slug="manage"))
    assert "slug: expected lowercase letters" in _error(bundle_files(slug="Bad_Slug"))


def test_times_must_be_ordered() -> None:
    files = _toml(
        "daily_submissions = 7\n",
        "daily_submissions = 7\n\n[times]\nstart = 2026-03-02T09:00:00Z\nend = 2026-03-01T09:00:00Z\n",
    )
    assert "times.end: expected the end after the start" in _error(files)


def test_the_scoring_table_sets_display_precision_and_the_plausible_bound() -> None:
    assert parse_bundle(bundle_files(), origin="b").display_precision == 5
    files = _toml("[limits]", "[scoring]\ndisplay_precision = 3\nbest_plausible = 40.5\n\n[limits]")
    spec = parse_bundle(files, origin="b")
    assert (spec.display_precision, spec.best_plausible) == (3, 40.5)
    assert parse_bundle(spec_files(spec), origin="b") == spec
    bad = _error(_toml("[limits]", "[scoring]\ndisplay_precision = 0\n\n[limits]"))
    assert "scoring.display_precision" in bad and "between 1 and 12" in bad
