"""Who may open each account page: anonymous, member of team A, member of team B, organizer."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

VISITORS = ["client", "client_a", "client_b", "organizer_client"]
LOGIN = "login"
# page -> expected status for anonymous, team A member, team B member, organizer
MATRIX = {
    "home": (200, 200, 200, 200),
    "login": (200, 200, 200, 200),
    "signup": (200, 302, 302, 302),  # signed-in users go to their team page
    "password_reset": (200, 200, 200, 200),
    "password_change": (LOGIN, 200, 200, 200),
    "profile": (LOGIN, 200, 200, 200),
    "team": (LOGIN, 200, 200, 200),
    "admin:index": (LOGIN, LOGIN, LOGIN, 200),
    "admin:accounts_team_changelist": (LOGIN, LOGIN, LOGIN, 200),
    "admin:accounts_apitoken_changelist": (LOGIN, LOGIN, LOGIN, 200),
}


@pytest.mark.parametrize("page", sorted(MATRIX))
@pytest.mark.parametrize("visitor_index", range(len(VISITORS)), ids=VISITORS)
def test_each_page_answers_each_kind_of_visitor_as_intended(
    request, page, visitor_index, team_a, team_b
) -> None:
    client = request.getfixturevalue(VISITORS[visitor_index])
    expected = MATRIX[page][visitor_index]
    response = client.get(reverse(page))
    if expected == LOGIN:
        assert response.status_code == 302
        assert "login" in response.url
    else:
        assert response.status_code == expected


@pytest.mark.parametrize("visitor", ["client_a", "client_b"])
def test_an_invite_link_shows_the_team_to_any_signed_in_user(request, visitor, team_a) -> None:
    client = request.getfixturevalue(visitor)
    response = client.get(reverse("team_join_link", args=[team_a.invite_code]))
    assert response.status_code == 200
    assert b"Team A" in response.content


def test_the_organizer_may_not_join_through_someone_elses_page_without_the_code(
    organizer_client, team_a
) -> None:
    response = organizer_client.post(reverse("team_join"), {"code": "guess"})
    assert response.status_code == 400
    assert not team_a.memberships.filter(user__username="organizer").exists()
