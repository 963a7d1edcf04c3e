"""Organizer actions: freeze, unfreeze, reveal, disqualify and requalify a team."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from hackathon.challenges.models import Challenge
from hackathon.leaderboard.models import TeamDisqualification, TeamScore
from hackathon.leaderboard.selectors import leaderboard_view, viewer_visibility

from tests.leaderboard.conftest import make_challenge, scored

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("action", ["freeze", "unfreeze", "reveal"])
def test_only_organizers_may_change_the_phase(challenge, client, client_a, action) -> None:
    url = f"/leaderboard/{challenge.slug}/actions/{action}/"
    assert client_a.post(url).status_code == 403
    assert client.post(url).status_code == 403
    challenge.refresh_from_db()
    assert (challenge.freeze_at, challenge.unfrozen_at, challenge.revealed_at) == (None, None, None)


def test_phase_actions_refuse_get(challenge, organizer_client) -> None:
    assert organizer_client.get(f"/leaderboard/{challenge.slug}/actions/freeze/").status_code == 405


def test_freeze_then_unfreeze_then_reveal(challenge, organizer_client, member_b, team_a) -> None:
    scored(challenge, team_a, 0.7, at=timezone.now() - timedelta(minutes=1))
    base = f"/leaderboard/{challenge.slug}/actions"
    assert organizer_client.post(f"{base}/freeze/").status_code == 302
    challenge.refresh_from_db()
    assert challenge.is_frozen
    later = scored(challenge, team_a, 0.9)
    assert later.created_at >= challenge.freeze_at
    board = leaderboard_view(challenge=challenge, viewer=member_b)
    assert board.frozen and board.rows[0].score == 0.7

    organizer_client.post(f"{base}/unfreeze/")
    challenge.refresh_from_db()
    assert not challenge.is_frozen
    assert leaderboard_view(challenge=challenge, viewer=member_b).rows[0].score == 0.9
    assert not viewer_visibility(challenge=challenge, viewer=member_b).may_see_private

    organizer_client.post(f"{base}/reveal/", {"close_submissions": "1"})
    challenge.refresh_from_db()
    assert challenge.revealed_at is not None
    assert challenge.has_ended and not challenge.is_open
    assert viewer_visibility(challenge=challenge, viewer=member_b).may_see_private


def test_revealing_while_submissions_are_open_is_refused_and_changes_nothing(
    challenge, organizer_client, client_a, team_a
) -> None:
    scored(challenge, team_a, 0.7, private=0.31337)
    response = organizer_client.post(f"/leaderboard/{challenge.slug}/actions/reveal/", follow=True)
    assert "Submissions are still open" in response.content.decode()
    challenge.refresh_from_db()
    assert challenge.revealed_at is None and challenge.is_open
    # Nothing private reached the team by any channel.
    assert client_a.get(f"/leaderboard/{challenge.slug}/private/").status_code == 403
    assert client_a.get(f"/leaderboard/{challenge.slug}/data.json?kind=private").status_code == 403
    assert "0.31337" not in client_a.get("/api/v1/submissions/").content.decode()


def test_the_reveal_page_says_that_it_closes_open_submissions(challenge, organizer_client) -> None:
    page = organizer_client.get(f"/leaderboard/{challenge.slug}/").content.decode()
    assert "revealing closes them now" in page
    assert 'name="close_submissions"' in page
    Challenge.objects.filter(pk=challenge.pk).update(end_at=timezone.now())
    page = organizer_client.get(f"/leaderboard/{challenge.slug}/").content.decode()
    assert 'name="close_submissions"' not in page


def test_a_reveal_later_reopened_shows_no_private_score_while_open(
    challenge, organizer_client, member_a, team_a
) -> None:
    scored(challenge, team_a, 0.7, private=0.2)
    organizer_client.post(
        f"/leaderboard/{challenge.slug}/actions/reveal/", {"close_submissions": "1"}
    )
    assert viewer_visibility(
        challenge=Challenge.objects.get(pk=challenge.pk), viewer=member_a
    ).may_see_private
    # The organizer moves the end later again: submissions reopen, the private board hides.
    Challenge.objects.filter(pk=challenge.pk).update(end_at=timezone.now() + timedelta(hours=1))
    reopened = Challenge.objects.get(pk=challenge.pk)
    assert reopened.is_open
    assert not viewer_visibility(challenge=reopened, viewer=member_a).may_see_private


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/phish", "//evil.example/x", "http://evil.example", "/\\evil.example"],
)
def test_a_phase_action_never_redirects_off_the_site(challenge, organizer_client, target) -> None:
    response = organizer_client.post(
        f"/leaderboard/{challenge.slug}/actions/freeze/", {"next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/leaderboard/{challenge.slug}/"


def test_a_phase_action_follows_a_next_path_on_the_site(challenge, organizer_client) -> None:
    response = organizer_client.post(
        f"/leaderboard/{challenge.slug}/actions/freeze/", {"next": "/dashboard/?x=1"}
    )
    assert response["Location"] == "/dashboard/?x=1"


def test_unfreezing_a_board_that_is_not_frozen_says_so(challenge, organizer_client) -> None:
    response = organizer_client.post(
        f"/leaderboard/{challenge.slug}/actions/unfreeze/", follow=True
    )
    assert "The leaderboard is not frozen." in response.content.decode()


def test_revealing_twice_is_refused_and_keeps_the_first_time(challenge, organizer_client) -> None:
    url = f"/leaderboard/{challenge.slug}/actions/reveal/"
    Challenge.objects.filter(pk=challenge.pk).update(end_at=timezone.now())
    organizer_client.post(url)
    first = Challenge.objects.get(pk=challenge.pk).revealed_at
    response = organizer_client.post(url, follow=True)
    assert "already revealed" in response.content.decode()
    assert Challenge.objects.get(pk=challenge.pk).revealed_at == first


def test_a_disqualified_team_leaves_the_boards_and_sees_the_reason(
    challenge, organizer_client, client_a, member_b, team_a, team_b
) -> None:
    scored(challenge, team_a, 0.9)
    scored(challenge, team_b, 0.8)
    url = f"/leaderboard/{challenge.slug}/teams/{team_a.pk}/disqualify/"
    assert organizer_client.post(url, {"reason": "Used the test labels"}).status_code == 302
    assert [r.name for r in leaderboard_view(challenge=challenge, viewer=member_b).rows] == [
        "Team B"
    ]
    page = client_a.get(f"/leaderboard/{challenge.slug}/").content.decode()
    assert "Your team is disqualified from this challenge: Used the test labels" in page
    # A later result of the team does not bring it back.
    scored(challenge, team_a, 0.99)
    assert not TeamScore.objects.filter(challenge=challenge, team=team_a).exists()

    organizer_client.post(f"/leaderboard/{challenge.slug}/teams/{team_a.pk}/requalify/")
    names = [r.name for r in leaderboard_view(challenge=challenge, viewer=member_b).rows]
    assert names == ["Team A", "Team B"]


def test_the_board_picks_the_team_to_disqualify_by_name(
    challenge, organizer_client, team_a, team_b
) -> None:
    scored(challenge, team_a, 0.9)
    scored(challenge, team_b, 0.8)
    page = organizer_client.get(f"/leaderboard/{challenge.slug}/").content.decode()
    form = page.split('class="lb-dq-form"', 1)[1].split("</form>", 1)[0]
    assert f'<option value="{team_a.pk}">Team A</option>' in form
    assert f'<option value="{team_b.pk}">Team B</option>' in form
    assert 'type="number"' not in form
    url = f"/leaderboard/{challenge.slug}/disqualify/"
    response = organizer_client.post(url, {"team": str(team_b.pk), "reason": "copied"}, follow=True)
    assert "Team B is disqualified" in response.content.decode()
    assert list(TeamDisqualification.objects.values_list("team__name", flat=True)) == ["Team B"]
    page = organizer_client.get(f"/leaderboard/{challenge.slug}/").content.decode()
    form = page.split('class="lb-dq-form"', 1)[1].split("</form>", 1)[0]
    assert "Team B</option>" not in form  # already disqualified: requalify instead
    response = organizer_client.post(url, {"team": "", "reason": "x"}, follow=True)
    assert "Choose the team to disqualify." in response.content.decode()


def test_disqualifying_without_a_reason_is_refused_and_changes_nothing(
    challenge, organizer_client, team_a
) -> None:
    scored(challenge, team_a, 0.9)
    url = f"/leaderboard/{challenge.slug}/teams/{team_a.pk}/disqualify/"
    response = organizer_client.post(url, {"reason": "   "}, follow=True)
    assert "A reason is required: the team sees it." in response.content.decode()
    assert not TeamDisqualification.objects.exists()
    assert TeamScore.objects.filter(challenge=challenge, team=team_a).exists()


def test_participants_cannot_disqualify(challenge, client_b, team_a) -> None:
    url = f"/leaderboard/{challenge.slug}/teams/{team_a.pk}/disqualify/"
    assert client_b.post(url, {"reason": "they beat us"}).status_code == 403
    assert not TeamDisqualification.objects.exists()


def test_jump_to_my_team_redirects_to_its_page(challenge, client_a, team_a) -> None:
    from tests.leaderboard.conftest import make_team

    for i in range(60):
        scored(challenge, make_team(f"T{i:02}"), 0.99 - i / 1000)
    scored(challenge, team_a, 0.5)
    response = client_a.get(f"/leaderboard/{challenge.slug}/?jump=me")
    assert response.status_code == 302
    assert response["Location"].endswith(f"?page=2#team-{team_a.pk}")


def test_an_unpublished_challenge_has_no_public_leaderboard(client, organizer_client) -> None:
    hidden = make_challenge(is_published=False)
    assert client.get(f"/leaderboard/{hidden.slug}/").status_code == 404
    assert organizer_client.get(f"/leaderboard/{hidden.slug}/").status_code == 200


def test_team_names_cannot_inject_spreadsheet_formulas(challenge, client) -> None:
    from tests.leaderboard.conftest import make_team

    scored(challenge, make_team("=HYPERLINK(1)"), 0.5)
    body = client.get(f"/leaderboard/{challenge.slug}/export/public.csv").content.decode()
    assert "'=HYPERLINK(1)" in body


def test_pages_render_for_every_role(challenge, client, client_a, organizer_client, team_a) -> None:
    scored(challenge, team_a, 0.5)
    now = timezone.now()
    Challenge.objects.filter(pk=challenge.pk).update(end_at=now, revealed_at=now)
    for c in (client, client_a, organizer_client):
        for path in ("", "private/", "shakeup/", "projector/"):
            assert c.get(f"/leaderboard/{challenge.slug}/{path}").status_code == 200, path


def test_the_csv_export_holds_every_team_of_the_board_in_rank_order(challenge, client) -> None:
    import csv
    import io

    from tests.leaderboard.conftest import make_team

    for i in range(120):
        scored(challenge, make_team(f"C{i:03}"), 0.9 - i / 1000)
    scored(challenge, None, 0.85, is_baseline=True)
    body = client.get(f"/leaderboard/{challenge.slug}/export/public.csv").content.decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 121
    assert [r["rank"] for r in rows if r["rank"]] == [str(i) for i in range(1, 121)]
    assert [r["team"] for r in rows[:3]] == ["C000", "C001", "C002"]
    baseline = next(i for i, r in enumerate(rows) if r["baseline"] == "yes")
    assert rows[baseline - 1]["team"] == "C050" and rows[baseline + 1]["team"] == "C051"
