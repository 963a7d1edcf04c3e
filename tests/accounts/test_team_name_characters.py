"""Team names with control or invisible formatting characters, or nothing visible, are refused
with a specific error by the service, the team page and the API."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from hackathon.accounts.models import ApiToken, Team
from hackathon.accounts.services import api_token_create, team_create, team_name_clean

pytestmark = pytest.mark.django_db

HIDDEN = [
    ("Evil\x1b[31mTeam", "U+001B"),  # Cc: an ANSI escape
    ("Zero\u200bWidth", "U+200B"),  # Cf: zero-width space
    ("Right\u202eto left", "U+202E"),  # Cf: bidi override
    ("Line\u2028Break", "U+2028"),  # Zl
    ("Para\u2029Break", "U+2029"),  # Zp
    ("Tab\tInside", "U+0009"),  # Cc
]


@pytest.mark.parametrize(("name", "code_point"), HIDDEN)
def test_the_service_refuses_control_and_format_characters_naming_them(
    outsider: object, name: str, code_point: str
) -> None:
    with pytest.raises(ValidationError) as info:
        team_create(user=outsider, name=name)
    assert info.value.code == "invisible_characters"
    assert code_point in info.value.messages[0]
    assert not Team.objects.exists()


@pytest.mark.parametrize("name", ["\u200b\u200b", "\u3164", "\u2800 \u2800"])
def test_a_name_without_a_visible_character_is_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        team_name_clean(name)


def test_ordinary_names_with_accents_emoji_and_a_trailing_newline_are_accepted() -> None:
    assert team_name_clean("Équipe 🚀  ß\n") == "Équipe 🚀 ß"


def test_the_team_page_shows_the_specific_error(outsider_client: Client) -> None:
    response = outsider_client.post(reverse("team_create"), {"name": "Zero\u200bWidth"})
    assert response.status_code == 400
    assert "invisible formatting characters" in response.content.decode()
    assert not Team.objects.exists()


def test_the_api_answers_400_with_the_specific_error(outsider: object) -> None:
    _, key = api_token_create(user=outsider, name="cli")
    client = Client(headers={"Authorization": f"Bearer {key}"})
    response = client.post(
        "/api/v1/teams/", {"name": "Evil\x1b[2JTeam"}, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert "control or invisible formatting characters" in response.content.decode()
    assert not Team.objects.exists()
    assert ApiToken.objects.count() == 1
