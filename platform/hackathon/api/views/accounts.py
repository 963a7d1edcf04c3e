"""The caller, their team, and their API tokens."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hackathon.accounts.login_limits import login_failure_record, login_retry_after
from hackathon.accounts.models import ApiToken
from hackathon.accounts.selectors import is_organizer, user_api_tokens, user_team
from hackathon.accounts.services import api_token_create, api_token_revoke, team_create, team_join
from hackathon.api.errors import ApiError
from hackathon.api.schema import error_responses
from hackathon.api.serializers import (
    MeSerializer,
    PasswordLoginSerializer,
    TeamCreateSerializer,
    TeamJoinSerializer,
    TeamSerializer,
    TokenCreatedSerializer,
    TokenCreateSerializer,
    TokenSerializer,
)


def _team(user: Any) -> Any:
    return user_team(user)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="me_retrieve", responses={200: MeSerializer, **error_responses()})
    def get(self, request: Request) -> Response:
        return Response(
            MeSerializer(
                {
                    "username": request.user.get_username(),
                    "is_organizer": is_organizer(request.user),
                    "team": _team(request.user),
                }
            ).data
        )


class TeamMeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="teams_me", responses={200: TeamSerializer, **error_responses(404)})
    def get(self, request: Request) -> Response:
        team = _team(request.user)
        if team is None:
            raise ApiError("You are not in a team.", code="not_in_team", status_code=404)
        return Response(TeamSerializer(team).data)


class TeamCreateView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="teams_create",
        request=TeamCreateSerializer,
        responses={201: TeamSerializer, **error_responses(400)},
    )
    def post(self, request: Request) -> Response:
        data = TeamCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        team = team_create(user=request.user, name=data.validated_data["name"])
        return Response(TeamSerializer(team).data, status=status.HTTP_201_CREATED)


class TeamJoinView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="teams_join",
        request=TeamJoinSerializer,
        responses={200: TeamSerializer, **error_responses(400)},
    )
    def post(self, request: Request) -> Response:
        data = TeamJoinSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        team = team_join(user=request.user, code=data.validated_data["code"].strip())
        return Response(TeamSerializer(team).data)


def _token_data(token: ApiToken, key: str | None = None) -> dict[str, Any]:
    data = {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
    }
    if key is not None:
        data["key"] = key
        return TokenCreatedSerializer(data).data
    return TokenSerializer(data).data


class TokenListView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="tokens_list", responses={200: TokenSerializer(many=True), **error_responses()}
    )
    def get(self, request: Request) -> Response:
        return Response([_token_data(t) for t in user_api_tokens(request.user)])

    @extend_schema(
        operation_id="tokens_create",
        request=TokenCreateSerializer,
        responses={201: TokenCreatedSerializer, **error_responses(400)},
    )
    def post(self, request: Request) -> Response:
        data = TokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = api_token_create(user=request.user, name=data.validated_data["name"])
        return Response(_token_data(token, key), status=status.HTTP_201_CREATED)


class TokenRevokeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="tokens_revoke", responses={204: None, **error_responses(404)})
    def delete(self, request: Request, pk: int) -> Response:
        if not ApiToken.objects.filter(pk=pk, user=request.user, revoked_at__isnull=True).exists():
            raise ApiError(f"You have no active token #{pk}.", code="not_found", status_code=404)
        api_token_revoke(user=request.user, token_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordTokenView(APIView):
    """Trade a username and password for a new personal API token (what `hackathon login` does).
    Failed logins count against the address and the username as on the login form."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        operation_id="auth_token_create",
        request=PasswordLoginSerializer,
        responses={201: TokenCreatedSerializer, **error_responses(400)},
    )
    def post(self, request: Request) -> Response:
        data = PasswordLoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username = data.validated_data["username"]
        # REMOTE_ADDR: uvicorn sets it from a trusted proxy's X-Forwarded-For, never a client's.
        address = request._request.META.get("REMOTE_ADDR", "")
        wait = login_retry_after(address=address, username=username)
        if wait is not None:
            raise Throttled(wait=wait, detail="Too many failed logins.")
        user = authenticate(
            request._request, username=username, password=data.validated_data["password"]
        )
        if user is None or not user.is_active:
            login_failure_record(address=address, username=username)
            raise ApiError(
                "Wrong username or password.",
                code="authentication_failed",
                status_code=401,
                headers={"WWW-Authenticate": "Token"},
            )
        token, key = api_token_create(user=user, name=data.validated_data["name"])
        return Response(_token_data(token, key), status=status.HTTP_201_CREATED)
