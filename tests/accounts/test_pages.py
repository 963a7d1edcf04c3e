"""Site-wide pages: the home page, the layout's navigation and accessibility basics."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


class ControlAudit(HTMLParser):
    """Collects form controls and labels to check that every control is labelled."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict] = []
        self.label_for: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "label" and a.get("for"):
            self.label_for.add(a["for"])
        if tag in {"input", "select", "textarea"} and a.get("type") not in {"hidden", "submit"}:
            self.controls.append(a)

    def unlabelled(self) -> list[dict]:
        return [
            c
            for c in self.controls
            if c.get("id") not in self.label_for and not c.get("aria-label")
        ]


@pytest.mark.parametrize(
    ("who", "name"),
    [
        ("client", "home"),
        ("client", "login"),
        ("client", "signup"),
        ("client", "password_reset"),
        ("outsider_client", "team"),
        ("client_a", "team"),
        ("client_a", "profile"),
        ("client_a", "password_change"),
        ("organizer_client", "home"),
    ],
)
def test_every_form_control_has_a_label(request, who, name) -> None:
    response = request.getfixturevalue(who).get(reverse(name))
    assert response.status_code == 200
    audit = ControlAudit()
    audit.feed(response.content.decode())
    assert audit.controls or name == "home"
    assert audit.unlabelled() == []


def test_pages_load_only_assets_shipped_with_the_site(client) -> None:
    html = client.get(reverse("home")).content.decode()
    external = re.findall(r'(?:src|href)="((?:https?:)?//[^"]+)"', html)
    assert external == []
    assert "/static/hackathon/css/site.css" in html and "/static/hackathon/js/site.js" in html


def test_static_assets_are_served(client) -> None:
    for path in ["hackathon/css/site.css", "hackathon/js/site.js", "hackathon/img/favicon.svg"]:
        response = client.get(f"/static/{path}")
        assert response.status_code == 200, path


def test_anonymous_home_invites_to_sign_up(client) -> None:
    html = client.get(reverse("home")).content.decode()
    assert reverse("signup") in html and reverse("login") in html
    assert ">My team<" not in html


def test_signed_in_nav_links_to_team_and_profile_and_marks_the_current_page(client_a) -> None:
    html = client_a.get(reverse("team")).content.decode()
    assert f'href="{reverse("team")}" aria-current="page">My team<' in html
    assert f'href="{reverse("profile")}"' in html
    assert ">Challenges<" in html


def test_the_viewport_is_set_for_phones(client) -> None:
    assert (
        b'name="viewport" content="width=device-width, initial-scale=1"' in client.get("/").content
    )


def test_health_check_answers(client) -> None:
    assert client.get(reverse("healthz")).json() == {"status": "ok"}
