"""Sign up, log in and out, change and reset the password through the pages."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db
User = get_user_model()
NEW_PASSWORD = "an0ther-Long-passphrase"


def test_signing_up_logs_the_new_user_in_and_leads_to_the_team_page(client) -> None:
    response = client.post(
        reverse("signup"),
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302 and response.url == reverse("team")
    assert client.get(reverse("profile")).context["user"].username == "newbie"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"username": "alice"}, "username", "already exists"),
        ({"email": "ALICE@example.com"}, "email", "already exists"),
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"password2": "different-Passw0rd"}, "password2", "didn’t match"),
        ({"password1": "123", "password2": "123"}, "password2", "too short"),
        ({"username": "<b>x</b>"}, "username", "valid username"),
    ],
)
def test_bad_sign_up_input_gets_a_specific_error_and_creates_nobody(
    client, member_a, data, field, message
) -> None:
    form = {
        "username": "newbie",
        "email": "newbie@example.com",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        **data,
    }
    before = User.objects.count()
    response = client.post(reverse("signup"), form)
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors.get(field, []))
    assert message in errors
    assert User.objects.count() == before


def test_logging_in_and_out(client, member_a, password) -> None:
    response = client.post(reverse("login"), {"username": "alice", "password": password})
    assert response.status_code == 302
    assert client.get(reverse("profile")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("profile")).status_code == 302


def test_a_wrong_password_does_not_log_in(client, member_a) -> None:
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert client.get(reverse("profile")).status_code == 302


def test_changing_the_password(client_a, member_a, password) -> None:
    response = client_a.post(
        reverse("password_change"),
        {"old_password": password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    member_a.refresh_from_db()
    assert member_a.check_password(NEW_PASSWORD)


def test_changing_the_password_with_a_wrong_old_one_changes_nothing(
    client_a, member_a, password
) -> None:
    response = client_a.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors
    member_a.refresh_from_db()
    assert member_a.check_password(password)


def test_resetting_the_password_by_email(client, member_a) -> None:
    response = client.post(reverse("password_reset"), {"email": "alice@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", message.body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"]
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    member_a.refresh_from_db()
    assert member_a.check_password(NEW_PASSWORD)
    # The link works once.
    assert not client.get(link, follow=True).context["validlink"]


def test_a_reset_for_an_unknown_address_sends_nothing_and_reveals_nothing(client, member_a) -> None:
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302 and response.url == reverse("password_reset_done")
    assert mail.outbox == []


@pytest.mark.parametrize(
    "name", ["login", "signup", "password_reset", "password_reset_done", "password_reset_complete"]
)
def test_public_account_pages_render_for_anonymous_visitors(client, name) -> None:
    assert client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", ["password_change", "password_change_done", "profile", "team"])
def test_private_account_pages_send_anonymous_visitors_to_log_in(client, name) -> None:
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
