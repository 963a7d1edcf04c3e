"""Tokens, the caller and teams over the API; the one error shape."""

from __future__ import annotations

import io
import re

import pytest
from django.test import Client
from hackathon.accounts.models import ApiToken, Membership
from hackathon.accounts.services import api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db


def token_client(user: object, *, scheme: str = "Token") -> Client:
    _, key = api_token_create(user=user, name="test")
    return Client(HTTP_AUTHORIZATION=f"{scheme} {key}")


def test_a_token_authenticates_its_user_and_stamps_last_used(member_a: object) -> None:
    token, key = api_token_create(user=member_a, name="laptop")
    response = Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/me/")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "alice"
    assert body["team"]["name"] == "Team A"
    assert body["is_organizer"] is False
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_bearer_token_is_accepted_too(member_a: object) -> None:
    assert token_client(member_a, scheme="Bearer").get("/api/v1/me/").status_code == 200


def test_a_revoked_token_is_refused_with_401_in_the_error_shape(member_a: object) -> None:
    token, key = api_token_create(user=member_a, name="old")
    api_token_revoke(user=member_a, token_id=token.pk)
    response = Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    body = response.json()
    assert body["code"] == "authentication_failed"
    assert "revoked" in body["message"]
    assert body["fields"] == {}


def test_anonymous_requests_to_private_endpoints_get_401(client: Client) -> None:
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_malformed_authorization_header_gets_401(client: Client) -> None:
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION="Token two parts")
    assert response.status_code == 401


def test_session_login_works_for_the_browser(client_a: Client) -> None:
    assert client_a.get("/api/v1/me/").json()["username"] == "alice"


def test_password_login_creates_a_token_that_works(member_a: object, password: str) -> None:
    response = Client().post(
        "/api/v1/auth/token/",
        {"username": "alice", "password": password, "name": "cli"},
        content_type="application/json",
    )
    assert response.status_code == 201
    key = response.json()["key"]
    assert ApiToken.objects.get(user=member_a, name="cli").key_hash != key
    me = Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/me/")
    assert me.json()["username"] == "alice"


def test_a_wrong_password_creates_no_token(member_a: object) -> None:
    response = Client().post(
        "/api/v1/auth/token/",
        {"username": "alice", "password": "nope"},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert response.json()["message"] == "Wrong username or password."
    assert not ApiToken.objects.filter(user=member_a).exists()


def test_tokens_are_listed_without_keys_and_revoked_by_their_owner_only(
    member_a: object, member_b: object
) -> None:
    mine, _ = api_token_create(user=member_a, name="laptop")
    client_a = token_client(member_a)
    listed = client_a.get("/api/v1/tokens/").json()
    assert {t["name"] for t in listed} == {"laptop", "test"}
    assert all("key" not in t for t in listed)
    assert token_client(member_b).delete(f"/api/v1/tokens/{mine.pk}/").status_code == 404
    assert client_a.delete(f"/api/v1/tokens/{mine.pk}/").status_code == 204
    mine.refresh_from_db()
    assert mine.revoked_at is not None


def test_a_user_creates_a_team_and_another_joins_it_with_the_code(outsider: object) -> None:
    from tests.conftest import make_user

    creator = token_client(outsider)
    response = creator.post(
        "/api/v1/teams/", {"name": "Gradients"}, content_type="application/json"
    )
    assert response.status_code == 201
    team = response.json()
    assert team["members"] == ["olga"]
    joiner = token_client(make_user("zoe"))
    joined = joiner.post(
        "/api/v1/teams/join/", {"code": team["invite_code"]}, content_type="application/json"
    )
    assert joined.status_code == 200
    assert joined.json()["members"] == ["olga", "zoe"]
    assert joiner.get("/api/v1/teams/me/").json()["name"] == "Gradients"


def test_a_wrong_invite_code_is_a_400_and_changes_nothing(outsider: object) -> None:
    response = token_client(outsider).post(
        "/api/v1/teams/join/", {"code": "nope"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "invite code is not valid" in response.json()["message"]
    assert not Membership.objects.filter(user=outsider).exists()


def test_a_missing_team_name_names_the_field(outsider: object) -> None:
    response = token_client(outsider).post("/api/v1/teams/", {}, content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "name" in body["fields"]


def test_teams_me_is_404_for_a_user_in_no_team(outsider: object) -> None:
    response = token_client(outsider).get("/api/v1/teams/me/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_in_team"


def test_the_schema_and_the_docs_are_served_without_any_cdn(client: Client) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    assert "/api/v1/challenges/{slug}/submissions/" in schema.json()["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower()
    assert "https://" not in html
    bundle = re.search(r'src="([^"]*swagger-ui-bundle\.js)"', html)
    assert bundle, html
    assert client.get(bundle.group(1)).status_code == 200


def test_the_submit_endpoint_has_a_per_user_rate_limit_with_retry_after(
    member_a: object, settings: object
) -> None:
    settings.API_THROTTLE_SUBMIT = "2/minute"
    client_a = token_client(member_a)
    path = "/api/v1/challenges/no-such-challenge/submissions/"
    assert [client_a.post(path, {}).status_code for _ in range(2)] == [404, 404]
    limited = client_a.post(path, {})
    assert limited.status_code == 429
    assert limited.json()["quota"] == "rate"
    assert 1 <= int(limited["Retry-After"]) <= 60
    # Per user: someone else is not slowed down by alice.
    from tests.conftest import make_user

    client_b = token_client(make_user("zed"))
    assert client_b.post(path, {}).status_code == 404


def test_the_schema_validates_against_openapi_3_with_no_generator_warning() -> None:
    from django.core.management import call_command

    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    assert "openapi: 3" in out.getvalue()
