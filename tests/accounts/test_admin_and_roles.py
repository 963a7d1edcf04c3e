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


def test_the_organizer_query_and_the_predicate_agree() -> None:
    from hackathon.accounts.selectors import organizer_accounts

    grouped = make_user("grouped")
    grouped.groups.add(Group.objects.get(name=settings.ORGANIZERS_GROUP))
    users = [
        grouped,
        make_user("staffer", is_staff=True),
        make_user("root", is_superuser=True),
        make_user("gone", is_staff=True, is_active=False),
        make_user("player"),
    ]
    chosen = set(organizer_accounts())
    assert {u for u in users if is_organizer(u)} == chosen
    assert {u.username for u in chosen} == {"grouped", "staffer", "root"}


def test_the_organizer_rule_is_written_once() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "platform" / "hackathon"
    rule = re.compile(r"def \w*is_organizer\b|groups__name|groups\.filter\(name")
    places = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "migrations" not in path.parts and rule.search(path.read_text())
    )
    assert places == ["accounts/selectors.py"]
