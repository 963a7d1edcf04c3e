"""Challenges: list, detail, downloads and leaderboards (readable without an account)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hackathon.api.errors import ApiError
from hackathon.api.schema import error_responses
from hackathon.api.serializers import ChallengeDetailSerializer, ChallengeSerializer
from hackathon.challenges.models import Challenge


def get_challenge(request: Request, slug: str) -> Challenge:
    """The challenge if the user may see it; 404 otherwise (drafts stay invisible)."""
    from hackathon.challenges.selectors import challenge_get_for

    return challenge_get_for(slug=slug, user=request.user)


class ChallengeListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="challenges_list",
        responses={200: ChallengeSerializer(many=True), **error_responses()},
    )
    def get(self, request: Request) -> Response:
        from hackathon.challenges.selectors import challenge_list_for

        challenges = challenge_list_for(request.user)
        return Response(ChallengeSerializer(challenges, many=True, context={"request": request}).data)


class ChallengeDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="challenges_retrieve",
        responses={200: ChallengeDetailSerializer, **error_responses(404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        challenge = get_challenge(request, slug)
        return Response(ChallengeDetailSerializer(challenge, context={"request": request}).data)


class TrainingCsvView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="challenges_training_csv",
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="Public training data"),
            **error_responses(404),
        },
    )
    def get(self, request: Request, slug: str) -> HttpResponse:
        from hackathon.challenges.downloads import training_csv

        challenge = get_challenge(request, slug)
        response = HttpResponse(training_csv(challenge), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{challenge.slug}-train.csv"'
        return response


class StarterKitView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="challenges_starter_kit",
        responses={
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY, description="Starter kit: data, starter solution, README"
            ),
            **error_responses(404),
        },
    )
    def get(self, request: Request, slug: str) -> HttpResponse:
        from hackathon.challenges.downloads import starter_kit_zip

        challenge = get_challenge(request, slug)
        response = HttpResponse(starter_kit_zip(challenge), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{challenge.slug}-starter-kit.zip"'
        return response


class LeaderboardRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True)
    team = serializers.CharField()
    score = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True, required=False)
    ci_high = serializers.FloatField(allow_null=True, required=False)
    entries = serializers.IntegerField(allow_null=True, required=False)
    submission_id = serializers.IntegerField(allow_null=True, required=False)
    submitted_at = serializers.DateTimeField(allow_null=True, required=False)
    is_viewer = serializers.BooleanField(required=False)


class LeaderboardSerializer(serializers.Serializer):
    challenge = serializers.CharField()
    kind = serializers.ChoiceField(choices=["public", "private"])
    metric = serializers.CharField()
    direction = serializers.ChoiceField(choices=["maximize", "minimize"])
    is_frozen = serializers.BooleanField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    total = serializers.IntegerField()
    rows = LeaderboardRowSerializer(many=True)


_ROW_FIELDS = (
    "rank",
    "team",
    "score",
    "ci_low",
    "ci_high",
    "entries",
    "submission_id",
    "submitted_at",
    "is_viewer",
)


def _row_dict(row: Any) -> dict[str, Any]:
    """A leaderboard row (dataclass, dict or object) as the API's row shape."""
    if isinstance(row, dict):
        get = row.get
    else:

        def get(name: str, default: Any = None) -> Any:
            return getattr(row, name, default)

    data = {name: get(name) for name in _ROW_FIELDS}
    team = data["team"]
    if team is not None and not isinstance(team, str):
        data["team"] = getattr(team, "name", str(team))
    if data["team"] is None:
        data["team"] = get("team_name", "")
    if data["score"] is None:
        data["score"] = get("public_score") if get("private_score") is None else get("private_score")
    data["is_viewer"] = bool(data["is_viewer"] or get("is_own") or get("is_mine"))
    return data


class LeaderboardView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="challenges_leaderboard",
        parameters=[
            OpenApiParameter("kind", str, enum=["public", "private"], required=False),
            OpenApiParameter("page", int, required=False),
            OpenApiParameter("page_size", int, required=False),
        ],
        responses={200: LeaderboardSerializer, **error_responses(400, 403, 404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        from hackathon.leaderboard.selectors import leaderboard_view, viewer_may_see_private

        challenge = get_challenge(request, slug)
        kind = request.query_params.get("kind", "public")
        if kind not in ("public", "private"):
            raise ApiError(
                "kind must be 'public' or 'private'.", code="invalid", fields={"kind": ["Invalid."]}
            )
        page = _positive_int(request, "page", 1, 10**6)
        page_size = _positive_int(request, "page_size", 50, 200)
        viewer = request.user
        if kind == "private" and not viewer_may_see_private(challenge=challenge, viewer=viewer):
            raise ApiError(
                "The private leaderboard is not revealed yet.",
                code="private_hidden",
                status_code=403,
            )
        board = leaderboard_view(
            challenge=challenge, viewer=viewer, kind=kind, page=page, page_size=page_size
        )
        rows = [_row_dict(r) for r in getattr(board, "rows", [])]
        total = getattr(board, "total", None)
        if total is None:
            total = getattr(board, "total_rows", None) or getattr(board, "count", None) or len(rows)
        return Response(
            LeaderboardSerializer(
                {
                    "challenge": challenge.slug,
                    "kind": kind,
                    "metric": challenge.metric,
                    "direction": "maximize" if challenge.higher_is_better else "minimize",
                    "is_frozen": challenge.is_frozen,
                    "page": page,
                    "page_size": page_size,
                    "total": int(total),
                    "rows": rows,
                }
            ).data
        )


def _positive_int(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= maximum:
        raise ApiError(
            f"{name} must be an integer from 1 to {maximum}.",
            code="invalid",
            fields={name: [f"An integer from 1 to {maximum}."]},
        )
    return value
