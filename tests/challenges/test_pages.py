"""Participant pages: the list, the challenge page, drafts, and the public downloads."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import zipfile

import nbformat
import numpy as np
from django.test import Client
from django.utils import timezone
from hackathon.challenges.data import npy_load
from hackathon.challenges.downloads import starter_kit_zip, training_csv
from hackathon.challenges.models import Challenge
from hackathon.challenges.selectors import challenge_get_for, challenge_list_for


def test_the_list_groups_open_upcoming_and_finished_challenges(
    client: Client, make_challenge: object
) -> None:
    now = timezone.now()
    make_challenge(slug="open-one", title="Open one")
    upcoming = make_challenge(slug="soon", title="Coming soon")
    Challenge.objects.filter(pk=upcoming.pk).update(start_at=now + dt.timedelta(days=1))
    past = make_challenge(slug="past", title="Long gone")
    Challenge.objects.filter(pk=past.pk).update(
        start_at=now - dt.timedelta(days=3), end_at=now - dt.timedelta(days=1)
    )
    html = client.get("/challenges/").content.decode()
    open_at, upcoming_at, finished_at = (
        html.index("<h2>Open</h2>"),
        html.index("<h2>Upcoming</h2>"),
        html.index("<h2>Finished</h2>"),
    )
    assert (
        open_at
        < html.index("Open one")
        < upcoming_at
        < html.index("Coming soon")
        < finished_at
        < html.index("Long gone")
    )
    assert "data-countdown" in html


def test_a_draft_is_visible_to_organizers_only(
    client: Client,
    client_a: Client,
    organizer_client: Client,
    make_challenge: object,
    organizer: object,
    member_a: object,
) -> None:
    draft = make_challenge(slug="draft")
    Challenge.objects.filter(pk=draft.pk).update(is_published=False)
    assert client.get("/challenges/draft/").status_code == 404
    assert client_a.get("/challenges/draft/").status_code == 404
    assert client_a.get("/challenges/draft/train.csv").status_code == 404
    assert organizer_client.get("/challenges/draft/").status_code == 200
    assert "draft" not in client_a.get("/challenges/").content.decode()
    assert list(challenge_list_for(organizer)) and not list(challenge_list_for(member_a))
    assert challenge_get_for(slug="draft", user=organizer).pk == draft.pk


def test_the_challenge_page_shows_metric_limits_quota_rule_times_contract_and_links(
    client_a: Client, make_challenge: object
) -> None:
    challenge = make_challenge(slug="page", title="The page")
    end = timezone.now() + dt.timedelta(hours=5)
    Challenge.objects.filter(pk=challenge.pk).update(end_at=end, total_quota=50)
    html = client_a.get("/challenges/page/").content.decode()
    assert "<strong>RMSE</strong> (lower is better)" in html
    assert "5 s for training and prediction" in html and "256 MB" in html
    assert "7 per team per day (UTC), 50 in total" in html
    assert "uses no quota" in html and "refunded" in html
    assert (
        f'data-countdown="{end.isoformat(timespec="microseconds")}' in html
        or "data-countdown=" in html
    )
    assert (
        "class Model:" in html and "def predict_proba(self, X):" in html and "loss_curve_" in html
    )
    assert 'href="/leaderboard/page/"' in html and 'href="/submissions/new/page/"' in html
    assert (
        'href="/challenges/page/starter-kit.zip"' in html
        and 'href="/challenges/page/train.csv"' in html
    )
    assert 'href="/challenges/page/train.npz"' in html
    assert "challenges/countdown.js" in html
    # After the end: no Submit button, and the page says submissions are closed.
    Challenge.objects.filter(pk=challenge.pk).update(end_at=timezone.now())
    ended = client_a.get("/challenges/page/").content.decode()
    assert 'href="/submissions/new/page/"' not in ended and "Submissions closed" in ended
    # Rendered Markdown; its headings sit under the page's own <h1>, the challenge title.
    assert "<h2>Tiny</h2>" in html and "<strong>y</strong>" in html
    assert html.count("<h1") == 1


def test_a_description_cannot_bring_in_a_script(client: Client, make_challenge: object) -> None:
    evil = 'Hi <script>alert(1)</script> <img src=x onerror="alert(2)"> [x](javascript:alert(3))'
    make_challenge(slug="evil", description=evil)
    html = client.get("/challenges/evil/").content.decode()
    section = html[html.index('<section class="description">') :]
    section = section[: section.index("</section>")]
    assert "<script" not in section and "onerror" not in section and "javascript:" not in section


def test_the_public_csv_holds_exactly_the_training_rows(
    client: Client, make_challenge: object
) -> None:
    challenge = make_challenge(slug="csvs")
    response = client.get("/challenges/csvs/train.csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["f0", "f1", "f2", "y"]
    table = np.array(rows[1:], dtype=float)
    train_X, train_y = (
        npy_load(bytes(challenge.train_X.data)),
        npy_load(bytes(challenge.train_y.data)),
    )
    assert np.array_equal(table[:, :-1], train_X) and np.array_equal(table[:, -1], train_y)
    test_y = npy_load(bytes(challenge.test_y.data))
    assert not set(table[:, -1].tolist()) & set(test_y.tolist())
    assert body.encode() == training_csv(challenge)


def test_the_starter_kit_has_training_data_starter_readme_and_manifest(
    client: Client, make_challenge: object
) -> None:
    challenge = make_challenge(slug="kit")
    response = client.get("/challenges/kit/starter-kit.zip")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = sorted(archive.namelist())
    assert names == [
        f"kit/{n}"
        for n in (
            "README.md",
            "challenge.json",
            "solution.ipynb",
            "solution.py",
            "train.csv.gz",
            "train.npz",
        )
    ]
    readme = archive.read("kit/README.md").decode()
    assert "hackathon evaluate solution.py --data train.npz" in readme
    assert "hackathon evaluate solution.py --challenge kit" in readme and "class Model:" in readme
    assert archive.read("kit/solution.py").decode() == challenge.starter_code
    with np.load(io.BytesIO(archive.read("kit/train.npz")), allow_pickle=False) as npz:
        X, y = npz["X"], npz["y"]
    assert X.shape == (challenge.n_train, 3)
    assert np.array_equal(X, npy_load(bytes(challenge.train_X.data)))
    assert np.array_equal(y, npy_load(bytes(challenge.train_y.data)))
    csv_text = gzip.decompress(archive.read("kit/train.csv.gz"))
    assert csv_text == training_csv(challenge)
    notebook = nbformat.reads(archive.read("kit/solution.ipynb").decode(), as_version=4)
    assert challenge.starter_code.strip() in [c.source for c in notebook.cells]
    manifest = json.loads(archive.read("kit/challenge.json"))
    assert (
        manifest["metric"] == "rmse"
        and manifest["task"] == "regression"
        and "numpy" in manifest["allowed_imports"]
    )
    assert "test" not in json.dumps(manifest).replace("test_fraction", "")
    assert starter_kit_zip(challenge) == starter_kit_zip(challenge)


def test_a_team_member_sees_the_team_quota_usage_and_a_visitor_does_not(
    client: Client, client_a: Client, make_challenge: object, team_a: object
) -> None:
    from hackathon.submissions.models import Submission

    challenge = make_challenge(slug="quota")
    for _ in range(3):
        Submission.objects.create(
            challenge=challenge,
            team=team_a,
            code="x",
            code_sha256="0" * 64,
            state="finished",
            verdict="runtime_error",
        )
    assert "3 of 7 used today" in client_a.get("/challenges/quota/").content.decode()
    assert "used today" not in client.get("/challenges/quota/").content.decode()
