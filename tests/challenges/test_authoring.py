"""Organizer authoring in the browser: create from CSV/NPZ/generator, preview, publish,
bundle upload and download; every bad input refused specifically, leaving nothing behind."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hackathon.challenges.archive import write_zip
from hackathon.challenges.models import Challenge, DataBlob
from hackathon.submissions.models import Submission

from .conftest import bundle_files, csv_bytes, regression_csv


def form_data(**overrides: object) -> dict:
    data = {
        "slug": "house-prices",
        "title": "House prices",
        "summary": "Predict prices",
        "description_md": "# Prices\n\nUse *gradient descent*.",
        "task": "regression",
        "metric": "rmse",
        "extra_metrics": "mae, r2",
        "data_source": "csv",
        "target_column": "y",
        "test_fraction": "0.3",
        "public_fraction": "0.5",
        "seed": "42",
        "time_limit_s": "10",
        "memory_mb": "256",
        "daily_quota": "5",
        "inflight_cap": "2",
        "max_final": "2",
        "allowed_imports": "numpy, math",
        "starter_code": "",
        "baseline_code": "",
    }
    data.update(overrides)
    if "data_file" not in data and data["data_source"] == "csv":
        data["data_file"] = SimpleUploadedFile(
            "prices.csv", regression_csv(), content_type="text/csv"
        )
    return {k: v for k, v in data.items() if v is not None}


def nothing_left_behind(tmp_path: Path) -> None:
    assert not Challenge.objects.exists()
    assert not DataBlob.objects.exists()
    for folder in (tmp_path / "media", tmp_path / "downloads"):
        assert not folder.exists() or not any(folder.rglob("*"))


def test_an_organizer_creates_a_challenge_from_a_csv_in_the_browser(
    organizer_client: Client,
) -> None:
    response = organizer_client.post("/challenges/manage/new/", form_data())
    assert (
        response.status_code == 302 and response["Location"] == "/challenges/manage/house-prices/"
    )
    challenge = Challenge.objects.get(slug="house-prices")
    assert (challenge.n_train, challenge.n_test, challenge.metric) == (140, 60, "rmse")
    assert challenge.extra_metrics == ["mae", "r2"] and challenge.allowed_imports == [
        "numpy",
        "math",
    ]
    assert not challenge.is_published and "class Model" in challenge.starter_code
    page = organizer_client.get("/challenges/manage/house-prices/").content.decode()
    assert (
        "<strong>140</strong> training rows, <strong>30</strong> public and <strong>30</strong> private"
        in page
    )
    assert "<th>f0</th><th>f1</th><th>f2</th><th>y</th>" in page


def test_code_and_texts_typed_in_the_browser_keep_unix_line_ends(
    organizer_client: Client,
) -> None:
    # Browsers send a textarea's line ends as CRLF; the starter kit's solution.py must not.
    starter = "import numpy as np\r\n\r\nclass Model:\r\n    pass\r\n"
    response = organizer_client.post(
        "/challenges/manage/new/",
        form_data(starter_code=starter, description_md="# Prices\r\n\r\nText."),
    )
    assert response.status_code == 302
    challenge = Challenge.objects.get(slug="house-prices")
    assert challenge.starter_code == starter.replace("\r\n", "\n")
    assert "\r" not in challenge.description_md


def test_the_preview_shows_split_sizes_and_training_rows_and_saves_nothing(
    organizer_client: Client, tmp_path: Path
) -> None:
    response = organizer_client.post("/challenges/manage/new/", form_data(preview="1"))
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        "<strong>140</strong> training rows, <strong>30</strong> public and <strong>30</strong> private"
        in html
    )
    assert html.count("<tr><td>") == 10
    nothing_left_behind(tmp_path)


def test_a_challenge_from_a_generator_and_one_from_an_npz(organizer_client: Client) -> None:
    generated = form_data(
        slug="moons",
        task="binary",
        metric="log_loss",
        extra_metrics="accuracy",
        data_source="generator",
        generator="make_moons",
        generator_params="n_samples = 400\nnoise = 0.2",
        target_column="",
    )
    assert organizer_client.post("/challenges/manage/new/", generated).status_code == 302
    assert Challenge.objects.get(slug="moons").n_classes == 2
    buffer = io.BytesIO()
    np.savez(buffer, X=np.random.RandomState(0).normal(size=(100, 2)), y=np.arange(100.0))
    npz = form_data(
        slug="from-npz",
        data_source="npz",
        target_column="",
        data_file=SimpleUploadedFile("d.npz", buffer.getvalue()),
    )
    assert organizer_client.post("/challenges/manage/new/", npz).status_code == 302
    assert Challenge.objects.get(slug="from-npz").n_test == 30


def test_publish_and_unpublish(organizer_client: Client, client_a: Client) -> None:
    organizer_client.post("/challenges/manage/new/", form_data())
    assert client_a.get("/challenges/house-prices/").status_code == 404
    organizer_client.post("/challenges/manage/house-prices/publish/", {"published": "1"})
    assert client_a.get("/challenges/house-prices/").status_code == 200
    organizer_client.post("/challenges/manage/house-prices/publish/", {"published": "0"})
    assert client_a.get("/challenges/house-prices/").status_code == 404


def test_participants_and_visitors_cannot_author(
    client: Client, client_a: Client, make_challenge: object
) -> None:
    make_challenge(slug="tiny")
    for url in (
        "/challenges/manage/",
        "/challenges/manage/new/",
        "/challenges/manage/upload/",
        "/challenges/manage/tiny/",
        "/challenges/manage/tiny/edit/",
        "/challenges/manage/tiny/bundle.zip",
    ):
        assert client_a.get(url).status_code == 403
        assert client.get(url).status_code == 302
    assert client_a.post("/challenges/manage/new/", form_data(slug="nope")).status_code == 403
    assert client_a.post("/challenges/manage/tiny/publish/", {"published": "0"}).status_code == 403
    assert (
        Challenge.objects.get(slug="tiny").is_published
        and not Challenge.objects.filter(slug="nope").exists()
    )


def test_editing_texts_keeps_the_split(organizer_client: Client) -> None:
    organizer_client.post("/challenges/manage/new/", form_data())
    before = Challenge.objects.get(slug="house-prices")
    data = form_data(title="House prices II", data_source="keep", time_limit_s="20")
    assert organizer_client.post("/challenges/manage/house-prices/edit/", data).status_code == 302
    after = Challenge.objects.get(slug="house-prices")
    assert (after.title, after.time_limit_s, after.split_hash) == (
        "House prices II",
        20.0,
        before.split_hash,
    )


def test_editing_the_data_under_scored_submissions_needs_allow_resplit(
    organizer_client: Client, team_a: object
) -> None:
    organizer_client.post("/challenges/manage/new/", form_data())
    challenge = Challenge.objects.get(slug="house-prices")
    Submission.objects.create(
        challenge=challenge,
        team=team_a,
        code="x",
        code_sha256="0" * 64,
        state="finished",
        verdict="scored",
    )
    response = organizer_client.post("/challenges/manage/house-prices/edit/", form_data(seed="7"))
    assert response.status_code == 400 and "--allow-resplit" in response.content.decode()
    assert Challenge.objects.get(pk=challenge.pk).split_hash == challenge.split_hash
    response = organizer_client.post(
        "/challenges/manage/house-prices/edit/", form_data(seed="7", allow_resplit="on")
    )
    assert response.status_code == 302
    assert Challenge.objects.get(pk=challenge.pk).split_hash != challenge.split_hash


BAD_CSVS = [
    ("malformed", b'f0,f1,y\n1,"2,3\n', "malformed CSV"),
    ("ragged", b"f0,f1,y\n1,2,3\n4,5\n", "line 3: expected 3 cells like the header, got 2"),
    (
        "non-numeric",
        b"f0,f1,y\n1,2,3\n4,abc,6\n",
        "line 3, column 'f1': expected a number, got 'abc'",
    ),
    (
        "nan",
        b"f0,f1,y\n1,2,3\n4,NaN,6\n",
        "line 3, column 'f1': expected a finite number, got 'NaN'",
    ),
    (
        "inf",
        b"f0,f1,y\n1,2,3\n4,5,inf\n",
        "line 3, column 'y': expected a finite number, got 'inf'",
    ),
    (
        "no-target",
        b"f0,f1,label\n1,2,3\n",
        "target column 'y' not found; columns are f0, f1, label",
    ),
    ("too-few-rows", regression_csv(n=25), "too few rows for the split: 25 rows give 17 training"),
]


@pytest.mark.parametrize(("case", "body", "message"), BAD_CSVS, ids=[c[0] for c in BAD_CSVS])
def test_a_bad_csv_is_refused_with_a_specific_message_and_leaves_nothing(
    organizer_client: Client, tmp_path: Path, case: str, body: bytes, message: str
) -> None:
    data = form_data(data_file=SimpleUploadedFile(f"{case}.csv", body, content_type="text/csv"))
    response = organizer_client.post("/challenges/manage/new/", data)
    assert response.status_code == 400
    text = response.content.decode().replace("&#x27;", "'")
    assert message in text
    # The message names the file the organizer uploaded (or the form, for the split).
    where = "form: split: " if case == "too-few-rows" else f"data/{case}.csv: "
    assert where in text
    nothing_left_behind(tmp_path)


def test_a_file_over_the_size_limit_is_refused_and_leaves_nothing(
    organizer_client: Client, tmp_path: Path, settings: object
) -> None:
    settings.BUNDLE_MAX_BYTES = 1000
    response = organizer_client.post("/challenges/manage/new/", form_data())
    assert response.status_code == 400
    assert "over the limit of 1000 bytes" in response.content.decode()
    nothing_left_behind(tmp_path)


def test_a_metric_that_does_not_fit_the_task_is_refused_in_the_form(
    organizer_client: Client, tmp_path: Path
) -> None:
    response = organizer_client.post(
        "/challenges/manage/new/", form_data(metric="accuracy", extra_metrics="")
    )
    assert response.status_code == 400
    assert (
        "metric &#x27;accuracy&#x27; does not fit task &#x27;regression&#x27;"
        in response.content.decode()
    )
    response = organizer_client.post(
        "/challenges/manage/new/",
        form_data(
            task="multiclass",
            metric="roc_auc",
            extra_metrics="",
            data_file=SimpleUploadedFile(
                "c.csv", csv_bytes(np.arange(60.0).reshape(30, 2), np.arange(30) % 3)
            ),
        ),
    )
    assert "roc_auc is for binary tasks only" in response.content.decode()
    nothing_left_behind(tmp_path)


def test_bad_inputs_are_refused_each_under_its_input_and_leave_nothing(
    organizer_client: Client, tmp_path: Path
) -> None:
    from tests.optimizer.test_browser_authoring import errors_by_input

    data = form_data(
        slug="Bad Slug", memory_mb="8", extra_metrics="mae, accuracy", allowed_imports="numpy os;rm"
    )
    response = organizer_client.post("/challenges/manage/new/", data)
    assert response.status_code == 400
    assert errors_by_input(response.content.decode()) == {
        "slug": [
            "slug: expected lowercase letters, digits and dashes (at most 60), got 'Bad Slug'"
        ],
        "extra_metrics": [
            "extra_metrics[1]: metric 'accuracy' does not fit task 'regression': "
            "expected one of rmse, mae, r2"
        ],
        "memory_mb": ["limits.memory_mb: expected a whole number between 64 and 16384, got 8"],
        "allowed_imports": [
            "imports.allowed[1]: expected a module name such as numpy, got 'os;rm'"
        ],
    }
    nothing_left_behind(tmp_path)


def _zip_with(entries: dict[str, bytes], *, symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, body in entries.items():
            archive.writestr(name, body)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def _bad_toml(old: bytes, new: bytes) -> bytes:
    files = bundle_files()
    files["challenge.toml"] = files["challenge.toml"].replace(old, new)
    return write_zip(files)


BAD_ZIPS = [
    (
        "dot-dot",
        lambda: _zip_with({**bundle_files(), "../escape.py": b"x"}),
        "'..' in a path is not allowed",
    ),
    (
        "absolute",
        lambda: _zip_with({**bundle_files(), "/tmp/escape.py": b"x"}),
        "absolute paths are not allowed",
    ),
    (
        "symlink",
        lambda: _zip_with(bundle_files(), symlink="data/link.csv"),
        "symbolic links are not allowed",
    ),
    (
        "bomb",
        lambda: _zip_with({**bundle_files(), "data/bomb.csv": b"0" * (300 * 1024 * 1024)}),
        "unpacks to more than 209715200 bytes",
    ),
    (
        "missing-field",
        lambda: _bad_toml(b'task = "regression"\n', b""),
        "task: missing; expected one of regression, binary, multiclass",
    ),
    (
        "mistyped-field",
        lambda: _bad_toml(b"memory_mb = 256", b'memory_mb = "lots"'),
        "limits.memory_mb: expected a whole number between 64 and 16384, got 'lots'",
    ),
    (
        "metric-task",
        lambda: _bad_toml(b'metric = "rmse"', b'metric = "log_loss"'),
        "metric 'log_loss' does not fit task 'regression'",
    ),
    (
        "bad-data",
        lambda: write_zip({**bundle_files(), "data/train.csv": b"f0,y\n1,x\n"}),
        "data/train.csv: line 2, column 'y': expected a number, got 'x'",
    ),
    ("not-a-zip", lambda: b"this is no zip", "expected a zip archive"),
]


@pytest.mark.parametrize(("case", "build", "message"), BAD_ZIPS, ids=[c[0] for c in BAD_ZIPS])
def test_a_bad_bundle_zip_is_refused_with_a_specific_message_and_leaves_nothing(
    organizer_client: Client, tmp_path: Path, case: str, build: object, message: str
) -> None:
    upload = SimpleUploadedFile(f"{case}.zip", build(), content_type="application/zip")
    response = organizer_client.post("/challenges/manage/upload/", {"bundle": upload})
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    nothing_left_behind(tmp_path)


def test_a_bundle_zip_uploads_and_downloads_back_to_the_same_challenge(
    organizer_client: Client,
) -> None:
    upload = SimpleUploadedFile("tiny.zip", write_zip(bundle_files(), prefix="tiny/"))
    response = organizer_client.post("/challenges/manage/upload/", {"bundle": upload})
    assert response.status_code == 302
    challenge = Challenge.objects.get(slug="tiny")
    downloaded = organizer_client.get("/challenges/manage/tiny/bundle.zip")
    assert downloaded["Content-Disposition"] == 'attachment; filename="tiny-bundle.zip"'
    names = zipfile.ZipFile(io.BytesIO(downloaded.content)).namelist()
    assert {
        "tiny/challenge.toml",
        "tiny/description.md",
        "tiny/starter/solution.py",
        "tiny/data/train.csv",
    } <= set(names)
    split_hash = challenge.split_hash
    challenge.delete()
    again = organizer_client.post(
        "/challenges/manage/upload/", {"bundle": SimpleUploadedFile("b.zip", downloaded.content)}
    )
    assert again.status_code == 302
    assert Challenge.objects.get(slug="tiny").split_hash == split_hash


def test_an_organizer_grades_the_baseline_from_the_challenge_page(
    organizer_client: Client, client_a: Client, make_challenge: object
) -> None:
    make_challenge(slug="tiny")
    assert client_a.post("/challenges/manage/tiny/baseline/").status_code == 403
    assert not Submission.objects.exists()
    response = organizer_client.post("/challenges/manage/tiny/baseline/", follow=True)
    baseline = Submission.objects.get(challenge__slug="tiny", is_baseline=True)
    assert f"Baseline queued for grading (#{baseline.pk})" in response.content.decode()
    assert f'href="/submissions/{baseline.pk}/"' in response.content.decode()
    again = organizer_client.post("/challenges/manage/tiny/baseline/", follow=True)
    assert "already submitted" in again.content.decode()


def test_an_uploaded_bundle_applies_even_over_browser_edits(organizer_client: Client) -> None:
    organizer_client.post(
        "/challenges/manage/upload/",
        {"bundle": SimpleUploadedFile("t.zip", write_zip(bundle_files()))},
    )
    data = form_data(slug="tiny", title="Edited online", data_source="keep")
    assert organizer_client.post("/challenges/manage/tiny/edit/", data).status_code == 302
    files = bundle_files(title="Uploaded again")
    organizer_client.post(
        "/challenges/manage/upload/", {"bundle": SimpleUploadedFile("t.zip", write_zip(files))}
    )
    assert Challenge.objects.get(slug="tiny").title == "Uploaded again"


def test_a_bundle_zip_over_the_size_limit_is_refused_and_leaves_nothing(
    organizer_client: Client, tmp_path: Path, settings: object
) -> None:
    settings.BUNDLE_MAX_BYTES = 2000
    upload = SimpleUploadedFile(
        "big.zip", write_zip({**bundle_files(), "data/pad.bin": os.urandom(5000)})
    )
    response = organizer_client.post("/challenges/manage/upload/", {"bundle": upload})
    assert response.status_code == 400
    assert "over the limit of 2000 bytes" in response.content.decode()
    nothing_left_behind(tmp_path)


def test_the_form_sets_the_gradient_descent_rule_and_a_semi_synthetic_source(
    organizer_client: Client,
) -> None:
    new = organizer_client.get("/challenges/manage/new/").content.decode()
    assert (
        'name="gradient_descent_only"' in new
        and "checked" in new.split('name="gradient_descent_only"')[1].split(">")[0]
    )
    data = form_data(
        slug="iris-like",
        task="multiclass",
        metric="log_loss",
        extra_metrics="accuracy",
        data_source="semisynthetic",
        generator="load_iris",
        generator_params="n_samples = 300",
        target_column="",
        gradient_descent_only="on",
        min_loss_curve_points="5",
    )
    assert organizer_client.post("/challenges/manage/new/", data).status_code == 302
    made = Challenge.objects.get(slug="iris-like")
    assert made.gradient_descent_only and made.min_loss_curve_points == 5
    assert made.n_train + made.n_test == 300 and not made.public_labels
    assert made.source["kind"] == "semisynthetic" and "seed" not in made.source
    edit = organizer_client.get("/challenges/manage/iris-like/edit/").content.decode()
    assert 'name="min_loss_curve_points" value="5"' in edit
    off = form_data(slug="no-rule", data_source="csv")  # the box unticked: the rule is off
    assert organizer_client.post("/challenges/manage/new/", off).status_code == 302
    assert not Challenge.objects.get(slug="no-rule").gradient_descent_only


def test_a_bundle_uploaded_in_the_browser_grades_its_baseline(organizer_client: Client) -> None:
    upload = io.BytesIO(write_zip(bundle_files(slug="web-zip"), prefix="web-zip/"))
    upload.name = "web-zip.zip"
    response = organizer_client.post("/challenges/manage/upload/", {"bundle": upload}, follow=True)
    assert "Baseline queued for grading" in response.content.decode()
    baseline = Submission.objects.get(challenge__slug="web-zip", is_baseline=True)
    assert baseline.state == "queued"


def test_the_form_inputs_are_made_from_the_schema() -> None:
    from hackathon.challenges.forms import ChallengeForm
    from hackathon.challenges.schema import FIELDS, WORKLOAD_FIELDS
    from hackathon.challenges.schema_kinds import Choice, Number, Whole

    form = ChallengeForm()
    for field in (*FIELDS, *WORKLOAD_FIELDS):
        made = form.fields[field.input_name]
        assert made.initial == field.initial, field.key
        assert not made.required, field.key  # what is required is the schema's to say
        if isinstance(field.kind, Number | Whole) and field.kind.low is not None:
            bounds = (made.widget.attrs["min"], made.widget.attrs["max"])
            assert bounds == (field.kind.low, field.kind.high), field.key
        if isinstance(field.kind, Choice):
            assert [v for v, _ in made.choices if v] == list(field.kind.choices), field.key


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"time_limit_s": 7200.0}, "form: limits.time_s: expected a number between 1 and 3600, got 7200.0"),
        ({"memory_mb": 8}, "form: limits.memory_mb: expected a whole number between 64 and 16384, got 8"),
        ({"slug": "upload"}, "form: slug: expected a slug other than"),
        ({"allowed_imports": ("numpy", "os;rm")}, "form: imports.allowed[1]: expected a module name"),
    ],
)  # fmt: skip
def test_a_spec_that_skipped_the_form_checks_is_refused_by_the_shared_rules(
    change: dict, expected: str
) -> None:
    from dataclasses import replace

    from hackathon.challenges.bundle import parse_bundle
    from hackathon.challenges.errors import ChallengeDataError
    from hackathon.challenges.schema import check_spec

    spec = replace(parse_bundle(bundle_files(), origin="b"), **change)
    with pytest.raises(ChallengeDataError) as info:
        check_spec(spec, file="form")
    assert str(info.value).startswith(expected)
