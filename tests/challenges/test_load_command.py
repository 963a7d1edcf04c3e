"""`manage.py load_challenges`: idempotent loads, updates, and the resplit guard."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from hackathon.challenges.models import Challenge, DataBlob
from hackathon.challenges.services import ResplitRefused
from hackathon.organizing.services import challenge_load_bundle
from hackathon.submissions.models import Submission

from .conftest import BUILTIN, bundle_files


def _write(folder: Path, files: dict[str, bytes]) -> Path:
    for name, body in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(body)
    return folder


def _load(path: Path, *args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("load_challenges", str(path), *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_the_builtin_challenges_load_and_reload_unchanged() -> None:
    first = _load(BUILTIN, "--skip-downloads")
    # Five competition-grade and three classic model challenges, three optimizer-track ones.
    assert first.count("created") == 11
    assert (
        Challenge.objects.count() == 11
        and Challenge.objects.filter(is_published=True).count() == 11
    )
    assert Challenge.objects.filter(track="optimizer").count() == 3
    classic = set(Challenge.objects.filter(public_labels=True).values_list("slug", flat=True))
    assert classic == {"diabetes-gd-classic", "breast-cancer-sgd-classic", "digits-softmax-classic"}
    assert Challenge.objects.filter(gradient_descent_only=True, track="model").count() == 8
    big = Challenge.objects.get(slug="large-scale-regression")
    assert (big.n_train, big.n_test, big.n_features) == (140_000, 60_000, 100)
    blobs = DataBlob.objects.count()
    hashes = dict(Challenge.objects.values_list("slug", "split_hash"))
    assert _load(BUILTIN, "--skip-downloads").count("unchanged") == 11
    assert DataBlob.objects.count() == blobs
    assert dict(Challenge.objects.values_list("slug", "split_hash")) == hashes


def test_a_changed_text_or_limit_updates_without_resplitting(db: None, tmp_path: Path) -> None:
    bundle = _write(tmp_path / "tiny", bundle_files())
    assert "tiny: created" in _load(bundle)
    before = Challenge.objects.get(slug="tiny")
    _write(bundle, bundle_files(title="Tiny, renamed", description="New *text*"))
    toml = (bundle / "challenge.toml").read_text().replace("time_s = 5", "time_s = 9")
    (bundle / "challenge.toml").write_text(toml)
    assert "tiny: updated" in _load(bundle)
    after = Challenge.objects.get(slug="tiny")
    assert (after.title, after.description_md, after.time_limit_s) == (
        "Tiny, renamed",
        "New *text*",
        9.0,
    )
    assert after.split_hash == before.split_hash and after.test_y_id == before.test_y_id


def test_the_split_hash_is_recorded_from_the_blob_hashes(make_challenge: object) -> None:
    challenge = make_challenge()
    for key in ("train_X", "train_y", "test_X", "test_y", "public_mask"):
        blob = getattr(challenge, key)
        assert hashlib.sha256(bytes(blob.data)).hexdigest() == blob.sha256
    assert len(challenge.split_hash) == 64


def _scored(challenge: Challenge, team: object) -> Submission:
    return Submission.objects.create(
        challenge=challenge,
        team=team,
        code="x",
        code_sha256="0" * 64,
        state="finished",
        verdict="scored",
        public_score=1.0,
        private_score=1.0,
    )


def test_a_resplit_under_scored_submissions_is_refused_and_changes_nothing(
    make_challenge: object, team_a: object, tmp_path: Path
) -> None:
    challenge = make_challenge()
    _scored(challenge, team_a)
    bundle = _write(tmp_path / "tiny", bundle_files(seed=7, title="Changed"))
    with pytest.raises(CommandError):
        _load(bundle)
    same = Challenge.objects.get(pk=challenge.pk)
    assert (same.split_hash, same.title, same.test_y_id) == (
        challenge.split_hash,
        "Tiny",
        challenge.test_y_id,
    )
    with pytest.raises(ResplitRefused, match="--allow-resplit"):
        challenge_load_bundle(files=bundle_files(seed=7), origin="b")


def test_allow_resplit_changes_the_split_and_rejudges_the_submissions(
    make_challenge: object, team_a: object, organizer: object, tmp_path: Path
) -> None:
    challenge = make_challenge()
    submission = _scored(challenge, team_a)
    bundle = _write(tmp_path / "tiny", bundle_files(seed=7))
    out = _load(bundle, "--allow-resplit")
    assert "tiny: resplit, submissions rejudged" in out
    fresh = Challenge.objects.get(pk=challenge.pk)
    assert fresh.split_hash != challenge.split_hash
    submission.refresh_from_db()
    assert submission.state == "queued"


def test_a_resplit_without_scored_submissions_needs_no_flag(
    make_challenge: object, tmp_path: Path
) -> None:
    challenge = make_challenge()
    out = _load(_write(tmp_path / "tiny", bundle_files(seed=9)))
    assert "tiny: resplit" in out
    assert Challenge.objects.get(pk=challenge.pk).split_hash != challenge.split_hash


def test_a_broken_bundle_fails_the_command_naming_file_and_field(db: None, tmp_path: Path) -> None:
    files = bundle_files()
    files["challenge.toml"] = files["challenge.toml"].replace(
        b'metric = "rmse"', b'metric = "accuracy"'
    )
    bundle = _write(tmp_path / "broken", files)
    from io import StringIO

    err = StringIO()
    with pytest.raises(CommandError, match="1 bundle"):
        call_command("load_challenges", str(bundle), stderr=err, stdout=StringIO())
    assert (
        "challenge.toml: metric: metric 'accuracy' does not fit task 'regression'" in err.getvalue()
    )
    assert not Challenge.objects.exists() and not DataBlob.objects.exists()


def test_loading_prepares_the_downloads_unless_told_not_to(
    db: None, tmp_path: Path, settings: object
) -> None:
    bundle = _write(tmp_path / "tiny", bundle_files())
    _load(bundle, "--skip-downloads")
    downloads = Path(settings.CHALLENGE_DOWNLOADS_DIR)
    assert not downloads.exists() or not any(downloads.iterdir())
    _load(bundle, "--force")
    names = sorted(p.name.rsplit("-", 1)[-1] for p in (downloads / "tiny").iterdir())
    assert names == ["kit.zip", "train.csv.gz", "train.npz"]
    before = {p.name for p in (downloads / "tiny").iterdir()}
    # A new version replaces the old files instead of piling up.
    _write(bundle, bundle_files(seed=3))
    _load(bundle)
    after = {p.name for p in (downloads / "tiny").iterdir()}
    assert len(after) == 3 and not after & before


def test_loading_submits_the_baseline_once_for_grading(
    db: None, organizer: object, tmp_path: Path
) -> None:
    bundle = _write(tmp_path / "tiny", bundle_files())
    out = _load(bundle, "--skip-downloads")
    baseline = Submission.objects.get(challenge__slug="tiny", is_baseline=True)
    assert f"baseline queued for grading (#{baseline.pk})" in out
    assert (
        baseline.code == bundle_files()["baseline/solution.py"].decode()
        and baseline.state == "queued"
    )
    assert baseline.team_id is None
    _load(bundle, "--skip-downloads", "--force")
    assert Submission.objects.filter(challenge__slug="tiny", is_baseline=True).count() == 1


def test_without_an_organizer_the_baseline_waits_and_says_why(db: None, tmp_path: Path) -> None:
    out = _load(_write(tmp_path / "tiny", bundle_files()), "--skip-downloads")
    assert "baseline not submitted: no organizer account yet to submit it" in out
    assert not Submission.objects.exists()


def test_a_baseline_skipped_for_want_of_an_organizer_is_submitted_on_the_next_load(
    db: None, tmp_path: Path, django_user_model: object
) -> None:
    bundle = _write(tmp_path / "tiny", bundle_files())
    _load(bundle, "--skip-downloads")
    assert not Submission.objects.exists()
    django_user_model.objects.create_superuser(username="root", password="x" * 12)
    out = _load(bundle, "--skip-downloads")
    assert "tiny: unchanged" in out and "baseline queued for grading" in out
    assert Submission.objects.filter(is_baseline=True).count() == 1


def test_a_reload_does_not_undo_edits_made_in_the_browser_unless_forced(
    organizer_client: object, tmp_path: Path
) -> None:
    bundle = _write(tmp_path / "tiny", bundle_files())
    _load(bundle, "--skip-downloads", "--no-baselines")
    challenge = Challenge.objects.get(slug="tiny")
    form = {
        "title": "Edited online",
        "task": "regression",
        "metric": "rmse",
        "data_source": "keep",
        "test_fraction": "0.3",
        "public_fraction": "0.5",
        "seed": "42",
        "time_limit_s": "5",
        "memory_mb": "256",
        "daily_quota": "7",
        "inflight_cap": "2",
        "max_final": "2",
        "allowed_imports": "numpy",
    }
    assert organizer_client.post("/challenges/manage/tiny/edit/", form).status_code == 302
    _write(bundle, bundle_files(title="From the bundle"))
    out = _load(bundle, "--skip-downloads", "--no-baselines")
    assert "tiny: unchanged (edited in the browser since it was loaded" in out
    assert Challenge.objects.get(pk=challenge.pk).title == "Edited online"
    _load(bundle, "--skip-downloads", "--no-baselines", "--force")
    assert Challenge.objects.get(pk=challenge.pk).title == "From the bundle"
