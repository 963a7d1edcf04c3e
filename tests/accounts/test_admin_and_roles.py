"""Organizers (staff or the "organizers" group) use the Django admin; participants cannot."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from hackathon.accounts.selectors import is_organizer

from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_a_group_organizer_without_staff_flag_uses_the_admin() -> None:
    user = make_user("grouped")
    user.groups.add(Group.objects.get(name=settings.ORGANIZERS_GROUP))
    assert is_organizer(user)
    client = Client()
    client.force_login(user)
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("admin:accounts_team_changelist")).status_code == 200


def test_a_staff_user_is_an_organizer() -> None:
    assert is_organizer(make_user("staffer", is_staff=True))


def test_the_organizer_sees_teams_in_the_admin(organizer_client, team_a, team_b) -> None:
    page = organizer_client.get(reverse("admin:accounts_team_changelist"))
    assert page.status_code == 200
    assert b"Team A" in page.content and b"Team B" in page.content


@pytest.mark.parametrize("who", ["client_a", "outsider_client"])
def test_participants_cannot_open_the_admin(request, who) -> None:
    client = request.getfixturevalue(who)
    response = client.get(reverse("admin:accounts_team_changelist"))
    assert response.status_code == 302 and "login" in response.url


def test_anonymous_visitors_cannot_open_the_admin(client) -> None:
    assert client.get(reverse("admin:index")).status_code == 302


def test_the_dashboard_link_is_shown_to_organizers_only(organizer_client, client_a, client) -> None:
    assert b">Dashboard<" in organizer_client.get(reverse("home")).content
    assert b">Dashboard<" not in client_a.get(reverse("home")).content
    assert b">Dashboard<" not in client.get(reverse("home")).content
