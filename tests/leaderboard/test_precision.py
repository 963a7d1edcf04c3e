"""Ties and precision, one rule everywhere: scores equal at the challenge's display
precision share a rank, the earlier submission first, and every channel publishes the
same rounded values (pages, fragment, projector JSON, API, CSV, live events)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone
from hackathon.challenges.models import Challenge
from hackathon.challenges.precision import score_round, score_text
from hackathon.leaderboard.selectors import leaderboard_view, shakeup_view
from hackathon.leaderboard.services import leaderboard_rebuild
from hackathon.submissions.grading import publish_finished

from tests.leaderboard.conftest import make_challenge, make_team, scored

pytestmark = pytest.mark.django_db

# The case: 2.5e-9 apart, the later submission better at full precision.
EARLY_SCORE = 18.6083800025
LATE_SCORE = 18.60838


@pytest.fixture
def tied(team_a, team_b):
    """Team B submitted first; team A later with a score better by 2.5e-9 (RMSE)."""
    now = timezone.now()
    challenge = make_challenge(metric="rmse", task="regression", display_precision=5)
    scored(challenge, team_b, EARLY_SCORE, at=now - timedelta(hours=3), ci=(17.123456, 19.98765))
    scored(challenge, team_a, LATE_SCORE, at=now - timedelta(hours=1), ci=(17.1, 19.9))
    scored(challenge, make_team("Third"), 18.7, at=now - timedelta(hours=5))
    return challenge


def test_score_round_and_text_follow_the_significant_digits() -> None:
    assert score_round(56.976959470618425, 5) == 56.977
    assert score_text(56.976959470618425, 5) == "56.977"
    assert score_text(1.2345678e87, 5) == "1.2346e+87"
    assert score_round(1.2345678e87, 5) == 1.2346e87
    assert score_text(0.000123456789, 3) == "0.000123"
    assert score_round(float("inf"), 5) is None and score_text(None, 5) == ""


def test_scores_equal_at_display_precision_share_a_rank_with_the_earlier_first(
    tied, organizer, member_a
) -> None:
    for viewer in (organizer, member_a, None):
        rows = leaderboard_view(challenge=tied, viewer=viewer).rows
        assert [(r.name, r.rank) for r in rows] == [("Team B", 1), ("Team A", 1), ("Third", 3)]
        assert rows[0].score == rows[1].score == 18.608
    own = leaderboard_view(challenge=tied, viewer=member_a).own
    assert own.rank == 1 and own.page == 1


def test_the_rebuild_ranks_as_the_incremental_update(tied, organizer) -> None:
    before = [
        (r.name, r.rank, r.score) for r in leaderboard_view(challenge=tied, viewer=organizer).rows
    ]
    leaderboard_rebuild(challenge=tied)
    after = [
        (r.name, r.rank, r.score) for r in leaderboard_view(challenge=tied, viewer=organizer).rows
    ]
    assert before == after


def test_a_later_submission_of_a_team_equal_at_display_precision_keeps_its_earlier_time(
    team_a, team_b, organizer
) -> None:
    now = timezone.now()
    challenge = make_challenge(metric="rmse", task="regression")
    first = scored(challenge, team_a, 2.00001, at=now - timedelta(hours=4))
    scored(challenge, team_b, 2.0, at=now - timedelta(hours=3))
    # A's later 2.000001 is better at full precision, equal at 5 digits: A keeps its entry.
    scored(challenge, team_a, 2.000001, at=now - timedelta(hours=1))
    rows = leaderboard_view(challenge=challenge, viewer=organizer).rows
    assert [(r.name, r.rank) for r in rows] == [("Team A", 1), ("Team B", 1)]
    assert rows[0].submitted_at == first.created_at


def test_every_channel_shows_the_same_ranks_order_and_rounded_scores(
    tied, client, client_a, team_a
) -> None:
    slug = tied.slug
    expected = [("1", "Team B", "18.608"), ("1", "Team A", "18.608"), ("3", "Third", "18.7")]

    page = client_a.get(f"/leaderboard/{slug}/").content.decode()
    fragment = client.get(f"/leaderboard/{slug}/fragment/").content.decode()
    for html in (page, fragment):
        assert html.index("Team B") < html.index("Team A") < html.index("Third")
        assert "18.608" in html and "18.6083" not in html
        assert "[17.123, 19.988]" in html  # the interval at the same precision

    projector = client.get(f"/leaderboard/{slug}/data.json?as=public").json()
    api = client.get(f"/api/v1/challenges/{slug}/leaderboard/").json()
    for data in (projector, api):
        got = [(str(r["rank"]), r["team"], r["score_text"]) for r in data["rows"]]
        assert got == expected
        assert [r["score"] for r in data["rows"]] == [18.608, 18.608, 18.7]
        assert data["rows"][0]["ci_low"] == 17.123 and data["rows"][0]["ci_high"] == 19.988

    body = client.get(f"/leaderboard/{slug}/export/public.csv").content.decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [(r["rank"], r["team"], r["score"]) for r in rows] == expected
    assert rows[0]["ci_low"] == "17.123"

    # The submission's own channels: status JSON, API, and the live "finished" event.
    late = tied.submissions.get(team=team_a)
    status = client_a.get(f"/submissions/{late.pk}/status.json").json()
    assert status["public_score"] == 18.608 and status["public_score_text"] == "18.608"
    assert status["public_ci"] == [17.1, 19.9]
    detail = client_a.get(f"/api/v1/submissions/{late.pk}/").json()
    assert detail["public_score"] == 18.608
    detail.pop("code")  # the fixture's code is a comment holding the score
    assert "18.60838" not in json.dumps(detail) and "18.60838" not in json.dumps(status)
    publish_finished(late)
    stream = redis.Redis.from_url(settings.REDIS_URL).xrange(f"live:stream:submission:{late.pk}")
    event = json.loads(stream[-1][1][b"p"])
    assert event["data"]["public_score"] == 18.608


def test_private_and_shakeup_ranks_follow_the_same_rule(team_a, team_b, organizer) -> None:
    now = timezone.now()
    challenge = make_challenge(end_at=now - timedelta(minutes=1))
    scored(challenge, team_a, 0.9, private=0.812341, at=now - timedelta(hours=1))
    scored(challenge, team_b, 0.8, private=0.812339, at=now - timedelta(hours=2))
    rows = leaderboard_view(challenge=challenge, viewer=organizer, kind="private").rows
    assert [(r.name, r.rank, r.score) for r in rows] == [
        ("Team B", 1, 0.81234),
        ("Team A", 1, 0.81234),
    ]
    shake = shakeup_view(challenge=challenge, viewer=organizer).rows
    assert [(r.name, r.private_rank, r.public_rank) for r in shake] == [
        ("Team B", 1, 2),
        ("Team A", 1, 1),
    ]


def test_a_diverged_score_is_formatted_never_printed_in_full(team_a, client) -> None:
    challenge = make_challenge(metric="rmse", task="regression")
    scored(challenge, team_a, 1.2345678901234567e87)
    page = client.get(f"/leaderboard/{challenge.slug}/").content.decode()
    assert "1.2346e+87" in page
    body = client.get(f"/leaderboard/{challenge.slug}/export/public.csv").content.decode()
    assert "1.2346e+87" in body and "123456789" not in body


def test_the_display_precision_is_a_challenge_setting(team_a, team_b, organizer) -> None:
    now = timezone.now()
    challenge = make_challenge(display_precision=3)
    scored(challenge, team_a, 0.8124, at=now - timedelta(hours=1))
    scored(challenge, team_b, 0.8116, at=now - timedelta(hours=2))
    rows = leaderboard_view(challenge=challenge, viewer=organizer).rows
    assert [(r.name, r.rank, r.score_text) for r in rows] == [
        ("Team B", 1, "0.812"),
        ("Team A", 1, "0.812"),
    ]


def _channels(client, slug: str) -> dict[str, list[tuple[int, str, str]]]:  # noqa: ANN001
    """(rank, team, score as shown) in every channel that publishes the public board."""
    projector = client.get(f"/leaderboard/{slug}/data.json?as=public").json()["rows"]
    api = client.get(f"/api/v1/challenges/{slug}/leaderboard/").json()["rows"]
    body = client.get(f"/leaderboard/{slug}/export/public.csv").content.decode()
    csv_rows = list(csv.DictReader(io.StringIO(body)))
    return {
        "projector": [(r["rank"], r["team"], r["score_text"]) for r in projector],
        "api": [(r["rank"], r["team"], r["score_text"]) for r in api],
        "csv": [(int(r["rank"]), r["team"], r["score"]) for r in csv_rows],
    }


def _page_order(client, slug: str) -> list[str]:  # noqa: ANN001
    html = client.get(f"/leaderboard/{slug}/fragment/").content.decode()
    return sorted(("Team A", "Team B", "Third"), key=html.index)


def test_a_new_display_precision_reranks_every_channel_as_soon_as_it_is_saved(
    team_a, team_b, organizer_client, client, settings, tmp_path, django_capture_on_commit_callbacks
) -> None:
    """Edited in the authoring form and then by a bundle upload: the boards are rebuilt when
    the change commits, so no channel waits for some later rebuild to show the new ties."""
    from hackathon.organizing.services import challenge_load_bundle

    from tests.challenges.conftest import TOML, bundle_files
    from tests.challenges.test_authoring import form_data

    settings.CHALLENGE_DOWNLOADS_DIR = tmp_path / "downloads"
    settings.MEDIA_ROOT = tmp_path / "media"
    toml = TOML.format(
        slug="precise", title="Precise", task="regression", metric="rmse", extra="[]", seed=42
    )
    files = bundle_files(toml=toml + "\n[scoring]\ndisplay_precision = 5\n")
    challenge = challenge_load_bundle(files=files, origin="test").challenge
    now = timezone.now()
    scored(challenge, team_a, 0.81186, at=now - timedelta(hours=1))  # better, later
    scored(challenge, team_b, 0.81234, at=now - timedelta(hours=2))
    scored(challenge, make_team("Third"), 0.9, at=now - timedelta(hours=3))
    five = [(1, "Team A", "0.81186"), (2, "Team B", "0.81234"), (3, "Third", "0.9")]
    assert set(map(tuple, _channels(client, "precise").values())) == {tuple(five)}
    assert _page_order(client, "precise") == ["Team A", "Team B", "Third"]

    # The authoring form: 3 digits tie A and B at 0.812; B submitted first.
    edit = form_data(
        slug="precise", title="Precise", data_source="keep", display_precision="3", published="on"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = organizer_client.post("/challenges/manage/precise/edit/", edit)
    assert response.status_code == 302, response.content.decode()[:2000]
    three = [(1, "Team B", "0.812"), (1, "Team A", "0.812"), (3, "Third", "0.9")]
    assert _channels(client, "precise") == {"projector": three, "api": three, "csv": three}
    assert _page_order(client, "precise") == ["Team B", "Team A", "Third"]
    assert Challenge.objects.get(pk=challenge.pk).board_stale_since is None

    # A bundle upload back to 5 digits: the earlier order returns at once.
    with django_capture_on_commit_callbacks(execute=True):
        outcome = challenge_load_bundle(files=files, origin="test")
    assert outcome.board_rules_changed
    assert set(map(tuple, _channels(client, "precise").values())) == {tuple(five)}
    assert _page_order(client, "precise") == ["Team A", "Team B", "Third"]


def test_a_board_left_stale_by_a_failed_rebuild_is_rebuilt_by_the_periodic_job(
    team_a, team_b, organizer
) -> None:
    """The database says a board awaits its rebuild (`board_stale_since`): the job finds it."""
    from hackathon.leaderboard.services import leaderboard_rebuild_stale

    now = timezone.now()
    challenge = make_challenge(metric="rmse", task="regression", display_precision=5)
    scored(challenge, team_a, 0.81186, at=now - timedelta(hours=1))
    scored(challenge, team_b, 0.81234, at=now - timedelta(hours=2))
    # The precision changed, and the rebuild after the commit never ran.
    Challenge.objects.filter(pk=challenge.pk).update(
        display_precision=3, board_stale_since=now - timedelta(minutes=1)
    )
    challenge.refresh_from_db()
    assert [r.name for r in leaderboard_view(challenge=challenge, viewer=organizer).rows] == [
        "Team A",
        "Team B",
    ]
    assert leaderboard_rebuild_stale() == 1
    rows = leaderboard_view(challenge=challenge, viewer=organizer).rows
    assert [(r.name, r.rank) for r in rows] == [("Team B", 1), ("Team A", 1)]
    assert Challenge.objects.get(pk=challenge.pk).board_stale_since is None
    assert leaderboard_rebuild_stale() == 0
