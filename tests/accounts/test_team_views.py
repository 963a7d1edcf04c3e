"""The team pages: each bad input shows a specific form error and changes nothing;
each action is tried by anonymous, member, other team and organizer."""

from __future__ import annotations

import pytest
from django.urls import reverse
from hackathon.accounts.models import Membership, Team
from hackathon.accounts.selectors import user_team
from hackathon.accounts.services import team_join

from tests.conftest import make_user

pytestmark = pytest.mark.django_db
HTML_NAME = '<script>alert("x")</script><b>Bold</b>'


def snapshot() -> tuple:
    teams = tuple(
        Team.objects.order_by("pk").values_list("pk", "name", "invite_code", "created_by")
    )
    return teams, tuple(Membership.objects.order_by("pk").values_list("user", "team"))


def form_error(response, form: str, field: str) -> str:
    return " ".join(response.context[form].errors[field])


def test_the_team_page_offers_create_and_join_to_a_user_without_a_team(outsider_client) -> None:
    response = outsider_client.get(reverse("team"))
    assert response.status_code == 200
    assert b'name="name"' in response.content and b'name="code"' in response.content
    assert b'<label for="id_name">Team name</label>' in response.content
    assert b'<label for="id_code">Invite code</label>' in response.content


def test_creating_a_team_through_the_page(outsider_client, outsider) -> None:
    response = outsider_client.post(reverse("team_create"), {"name": "Descent Club"})
    assert response.status_code == 302
    assert user_team(outsider).name == "Descent Club"
    page = outsider_client.get(reverse("team"))
    assert page.context["is_creator"]
    assert page.context["team"].invite_code.encode() in page.content


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Enter a team name."),
        ("   ", "Enter a team name."),
        ("z" * 200, "at most 60 characters"),
        ("TEAM a", "already exists"),
    ],
)
def test_bad_team_names_get_a_form_error_and_change_nothing(
    outsider_client, team_a, name, message
) -> None:
    before = snapshot()
    response = outsider_client.post(reverse("team_create"), {"name": name})
    assert response.status_code == 400
    assert message in form_error(response, "create_form", "name")
    assert snapshot() == before


def test_creating_a_team_while_in_one_gets_a_form_error(client_a) -> None:
    before = snapshot()
    response = client_a.post(reverse("team_create"), {"name": "Second"})
    assert response.status_code == 400
    assert "already in the team “Team A”" in response.context["errors"][0]
    assert snapshot() == before


def test_joining_with_the_code_through_the_page(outsider_client, outsider, team_a) -> None:
    response = outsider_client.post(reverse("team_join"), {"code": team_a.invite_code})
    assert response.status_code == 302
    assert user_team(outsider) == team_a


def test_joining_through_the_invite_link_asks_then_joins(outsider_client, outsider, team_a) -> None:
    url = reverse("team_join_link", args=[team_a.invite_code])
    page = outsider_client.get(url)
    assert page.status_code == 200 and b"Team A" in page.content
    assert user_team(outsider) is None  # a GET never joins
    assert outsider_client.post(url, {"code": team_a.invite_code}).status_code == 302
    assert user_team(outsider) == team_a


def test_an_anonymous_visitor_following_an_invite_link_logs_in_first(client, team_a) -> None:
    url = reverse("team_join_link", args=[team_a.invite_code])
    response = client.get(url)
    assert response.status_code == 302 and url in response.url


@pytest.mark.parametrize(
    ("setup", "code", "message"),
    [
        ("none", "not-a-code", "not valid"),
        ("none", "", "Enter an invite code."),
        ("regenerated", None, "not valid"),
        ("full", None, "is full"),
    ],
)
def test_bad_joins_get_a_form_error_and_change_nothing(
    outsider_client, team_a, member_a, settings, setup, code, message
) -> None:
    old_code = team_a.invite_code
    if setup == "regenerated":
        member_a_client = outsider_client.__class__()
        member_a_client.force_login(member_a)
        member_a_client.post(reverse("team_regenerate_code"))
        code = old_code
    if setup == "full":
        settings.TEAM_MAX_SIZE = 1
        code = old_code
    before = snapshot()
    response = outsider_client.post(reverse("team_join"), {"code": code})
    assert response.status_code == 400
    assert message in form_error(response, "join_form", "code")
    assert snapshot() == before


def test_joining_while_in_a_team_gets_a_form_error_on_the_invite_page(client_b, team_a) -> None:
    before = snapshot()
    url = reverse("team_join_link", args=[team_a.invite_code])
    assert b"already in" in client_b.get(url).content
    response = client_b.post(url, {"code": team_a.invite_code})
    assert response.status_code == 400
    assert "already in the team “Team B”" in form_error(response, "form", "code")
    assert snapshot() == before


def test_an_invalid_invite_link_says_so(outsider_client) -> None:
    response = outsider_client.get(reverse("team_join_link", args=["nope"]))
    assert response.status_code == 404
    assert b"not valid" in response.content


def test_html_in_a_team_name_is_escaped_on_every_page_that_shows_it(
    outsider_client, outsider, organizer_client
) -> None:
    outsider_client.post(reverse("team_create"), {"name": HTML_NAME})
    team = user_team(outsider)
    assert team.name == HTML_NAME
    joiner = make_user("joiner")
    joiner_client = outsider_client.__class__()
    joiner_client.force_login(joiner)
    pages = [
        outsider_client.get(reverse("team")),
        outsider_client.get(reverse("profile")),
        joiner_client.get(reverse("team_join_link", args=[team.invite_code])),
        joiner_client.post(reverse("team_create"), {"name": HTML_NAME.upper()}),  # error message
        organizer_client.get(reverse("admin:accounts_team_changelist")),
        organizer_client.get(reverse("admin:accounts_team_change", args=[team.pk])),
    ]
    for page in pages:
        html = page.content.decode().lower()
        assert "<script>alert" not in html, page.request["PATH_INFO"]
        assert "&lt;script&gt;alert" in html, page.request["PATH_INFO"]


def test_the_creator_removes_a_member_through_the_page(client_a, team_a, outsider) -> None:
    team_join(user=outsider, code=team_a.invite_code)
    response = client_a.post(reverse("team_remove_member", args=[outsider.pk]))
    assert response.status_code == 302
    assert user_team(outsider) is None


def test_a_plain_member_cannot_remove_the_creator(
    outsider_client, outsider, team_a, member_a
) -> None:
    team_join(user=outsider, code=team_a.invite_code)
    before = snapshot()
    response = outsider_client.post(reverse("team_remove_member", args=[member_a.pk]))
    assert response.status_code == 403
    assert "Only the team&#x27;s creator can remove members." in response.content.decode()
    assert snapshot() == before


def test_another_teams_creator_cannot_remove_our_members(client_b, team_a, outsider) -> None:
    team_join(user=outsider, code=team_a.invite_code)
    before = snapshot()
    response = client_b.post(reverse("team_remove_member", args=[outsider.pk]))
    assert response.status_code == 400
    assert "not a member of this team" in response.content.decode()
    assert snapshot() == before


def test_a_plain_member_cannot_regenerate_the_code(outsider_client, outsider, team_a) -> None:
    team_join(user=outsider, code=team_a.invite_code)
    before = snapshot()
    response = outsider_client.post(reverse("team_regenerate_code"))
    assert response.status_code == 403
    assert snapshot() == before


def test_regenerating_the_code_through_the_page(client_a, team_a) -> None:
    old = team_a.invite_code
    assert client_a.post(reverse("team_regenerate_code")).status_code == 302
    team_a.refresh_from_db()
    assert team_a.invite_code != old


def test_leaving_through_the_page(client_a, member_a) -> None:
    assert client_a.post(reverse("team_leave")).status_code == 302
    assert user_team(member_a) is None


@pytest.mark.parametrize("name", ["team_leave", "team_regenerate_code"])
def test_team_actions_without_a_team_are_refused(outsider_client, name) -> None:
    before = snapshot()
    response = outsider_client.post(reverse(name))
    assert response.status_code == 400
    assert "not in a team" in response.content.decode()
    assert snapshot() == before


ACTIONS = [
    ("team_create", [], {"name": "X"}),
    ("team_join", [], {"code": "x"}),
    ("team_leave", [], {}),
    ("team_regenerate_code", [], {}),
    ("team_remove_member", [1], {}),
    ("api_token_create", [], {"name": "laptop"}),
    ("api_token_revoke", [1], {}),
]


@pytest.mark.parametrize(("name", "args", "data"), ACTIONS)
def test_anonymous_visitors_cannot_act_on_teams_or_tokens(client, team_a, name, args, data) -> None:
    before = snapshot()
    response = client.post(reverse(name, args=args), data)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert snapshot() == before


@pytest.mark.parametrize(("name", "args", "data"), ACTIONS)
def test_team_and_token_actions_refuse_get(client_a, name, args, data) -> None:
    assert client_a.get(reverse(name, args=args)).status_code == 405


def test_each_user_sees_only_their_own_team(
    client_a, client_b, organizer_client, team_a, team_b
) -> None:
    page_a = client_a.get(reverse("team")).content
    page_b = client_b.get(reverse("team")).content
    assert team_a.invite_code.encode() in page_a and team_b.invite_code.encode() not in page_a
    assert team_b.invite_code.encode() in page_b and team_a.invite_code.encode() not in page_b
    page_org = organizer_client.get(reverse("team")).content
    assert team_a.invite_code.encode() not in page_org  # organizers use the admin
