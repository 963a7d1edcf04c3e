"""Personal API tokens: created on the profile page, shown once, stored hashed, revocable."""

from __future__ import annotations

import hashlib

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from hackathon.accounts.models import ApiToken
from hackathon.accounts.services import (
    MAX_ACTIVE_TOKENS,
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
)

pytestmark = pytest.mark.django_db


def test_a_token_authenticates_its_user_and_only_its_hash_is_stored(member_a) -> None:
    token, raw = api_token_create(user=member_a, name="laptop")
    assert raw.startswith("hk_") and len(raw) > 40
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    assert api_token_authenticate(raw) == member_a
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize("raw", ["", "hk_wrong", "Bearer x", "hk_" + "a" * 500])
def test_unknown_keys_authenticate_nobody(member_a, raw) -> None:
    api_token_create(user=member_a, name="laptop")
    assert api_token_authenticate(raw) is None


def test_a_revoked_token_no_longer_authenticates(member_a) -> None:
    token, raw = api_token_create(user=member_a, name="laptop")
    api_token_revoke(user=member_a, token_id=token.pk)
    assert api_token_authenticate(raw) is None


def test_a_deactivated_users_token_no_longer_authenticates(member_a) -> None:
    _token, raw = api_token_create(user=member_a, name="laptop")
    member_a.is_active = False
    member_a.save()
    assert api_token_authenticate(raw) is None


def test_nobody_revokes_another_users_token(member_a, member_b) -> None:
    token, raw = api_token_create(user=member_a, name="laptop")
    with pytest.raises(ValidationError):
        api_token_revoke(user=member_b, token_id=token.pk)
    assert api_token_authenticate(raw) == member_a


@pytest.mark.parametrize(("name", "code"), [("  ", "blank"), ("n" * 101, "too_long")])
def test_bad_token_names_are_refused(member_a, name, code) -> None:
    with pytest.raises(ValidationError) as caught:
        api_token_create(user=member_a, name=name)
    assert caught.value.code == code
    assert not ApiToken.objects.exists()


def test_the_number_of_active_tokens_is_capped(member_a) -> None:
    for n in range(MAX_ACTIVE_TOKENS):
        api_token_create(user=member_a, name=f"t{n}")
    with pytest.raises(ValidationError) as caught:
        api_token_create(user=member_a, name="one more")
    assert caught.value.code == "too_many"


def test_the_profile_page_shows_a_new_key_once(client_a, member_a) -> None:
    response = client_a.post(reverse("api_token_create"), {"name": "laptop"})
    assert response.status_code == 200
    raw = response.context["new_key"]
    assert raw.encode() in response.content
    assert "no-store" in response["Cache-Control"]
    assert api_token_authenticate(raw) == member_a
    again = client_a.get(reverse("profile"))
    assert raw.encode() not in again.content
    assert b"laptop" in again.content


def test_a_blank_token_name_gets_a_form_error_on_the_profile_page(client_a) -> None:
    response = client_a.post(reverse("api_token_create"), {"name": ""})
    assert response.status_code == 400
    assert "Give the token a name" in " ".join(response.context["token_form"].errors["name"])
    assert not ApiToken.objects.exists()


def test_revoking_through_the_profile_page(client_a, member_a) -> None:
    token, raw = api_token_create(user=member_a, name="laptop")
    assert client_a.post(reverse("api_token_revoke", args=[token.pk])).status_code == 302
    assert api_token_authenticate(raw) is None


def test_another_user_cannot_revoke_through_the_page(client_b, member_a) -> None:
    token, raw = api_token_create(user=member_a, name="laptop")
    response = client_b.post(reverse("api_token_revoke", args=[token.pk]))
    assert response.status_code == 404
    assert api_token_authenticate(raw) == member_a


def test_the_profile_lists_only_the_users_own_tokens(
    client_a, client_b, member_a, member_b
) -> None:
    api_token_create(user=member_a, name="alice-laptop")
    api_token_create(user=member_b, name="bob-laptop")
    page = client_a.get(reverse("profile")).content
    assert b"alice-laptop" in page and b"bob-laptop" not in page
