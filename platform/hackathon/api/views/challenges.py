"""Challenges: list, detail, downloads and leaderboards (readable without an account)."""

from __future__ import annotations

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
from hackathon.challenges.downloads import download_response
from hackathon.challenges.models import Challenge
from hackathon.challenges.selectors import challenge_get_for, challenge_list_for
from hackathon.leaderboard.selectors import (
    leaderboard_view,
    score_progression,
    viewer_may_see_private,
)


def get_challenge(request: Request, slug: str) -> Challenge:
    """The challenge if the user may see it; 404 otherwise (drafts stay invisible)."""
    return challenge_get_for(slug=slug, user=request.user)


class ChallengeListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="challenges_list",
        responses={200: ChallengeSerializer(many=True), **error_responses()},
    )
    def get(self, request: Request) -> Response:
        challenges = challenge_list_for(request.user)
        return Response(
            ChallengeSerializer(challenges, many=True, context={"request": request}).data
        )


class ChallengeDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="challenges_retrieve",
        responses={200: ChallengeDetailSerializer, **error_responses(404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        challenge = get_challenge(request, slug)
        return Response(ChallengeDetailSerializer(challenge, context={"request": request}).data)


def download_view(
    kind: str, *, operation_id: str, content_type: str, kind_type: object, description: str
) -> type[APIView]:
    """The API view of one of a challenge's downloads (readable without an account; Range)."""

    class DownloadView(APIView):
        permission_classes = [AllowAny]

        @extend_schema(
            operation_id=operation_id,
            responses={
                (200, content_type): OpenApiResponse(kind_type, description=description),
                **error_responses(404),
            },
        )
        def get(self, request: Request, slug: str) -> HttpResponse:
            return _download(request, slug, kind)

    DownloadView.__name__ = DownloadView.__qualname__ = f"Download_{operation_id}"
    return DownloadView


TrainingCsvView = download_view(
    "train.csv",
    operation_id="challenges_training_csv",
    content_type="text/csv",
    kind_type=OpenApiTypes.STR,
    description="Public training data",
)
TrainingNpzView = download_view(
    "train.npz",
    operation_id="challenges_training_npz",
    content_type="application/octet-stream",
    kind_type=OpenApiTypes.BINARY,
    description="Public training data as a compressed .npz (arrays X, y, feature_names), "
    "exactly as the grader gives it to fit",
)
TrainingCsvGzView = download_view(
    "train.csv.gz",
    operation_id="challenges_training_csv_gz",
    content_type="application/gzip",
    kind_type=OpenApiTypes.BINARY,
    description="Public training data as gzipped CSV",
)
StarterKitView = download_view(
    "starter-kit.zip",
    operation_id="challenges_starter_kit",
    content_type="application/zip",
    kind_type=OpenApiTypes.BINARY,
    description="Starter kit: data, starter solution, README",
)


def _download(request: Request, slug: str, kind: str) -> HttpResponse:
    """The challenges app's cached file (built once per data and texts version), with Range."""
    return download_response(request, get_challenge(request, slug), kind)


class LeaderboardRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True, help_text="Null for unranked baseline rows.")
    team_id = serializers.IntegerField(allow_null=True)
    team = serializers.CharField()
    score = serializers.FloatField(
        allow_null=True, help_text="At the challenge's display precision; equal scores tie."
    )
    score_text = serializers.CharField(help_text="The score as the pages show it.")
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)
    entries = serializers.IntegerField(allow_null=True)
    last_submission_at = serializers.DateTimeField(allow_null=True)
    is_baseline = serializers.BooleanField()
    is_own = serializers.BooleanField(help_text="The viewer's team.")
    statistically_tied = serializers.BooleanField(
        help_text="The confidence interval overlaps the team ranked above."
    )
    from_finals = serializers.BooleanField()


class OwnStandingSerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True)
    page = serializers.IntegerField(allow_null=True)
    live_score = serializers.FloatField(allow_null=True)
    live_entries = serializers.IntegerField(allow_null=True)
    disqualified_reason = serializers.CharField(allow_null=True)


class LeaderboardSerializer(serializers.Serializer):
    challenge = serializers.CharField()
    kind = serializers.ChoiceField(choices=["public", "private"])
    metric = serializers.CharField()
    direction = serializers.ChoiceField(choices=["maximize", "minimize"])
    higher_is_better = serializers.BooleanField()
    frozen = serializers.BooleanField(help_text="Rows are the board as at the freeze.")
    frozen_at = serializers.DateTimeField(allow_null=True)
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    num_pages = serializers.IntegerField()
    total_teams = serializers.IntegerField()
    rows = LeaderboardRowSerializer(many=True)
    own = OwnStandingSerializer(allow_null=True, help_text="The viewer's team (members only).")


class LeaderboardView(APIView):
    """A leaderboard page; the private board only when the visibility rule allows it."""

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
        challenge = get_challenge(request, slug)
        kind = request.query_params.get("kind", "public")
        if kind not in ("public", "private"):
            raise ApiError(
                "kind must be 'public' or 'private'.",
                code="invalid",
                fields={"kind": ["Expected public or private."]},
            )
        page = _positive_int(request, "page", 1, 10**6)
        page_size = _positive_int(request, "page_size", 50, 200)
        if kind == "private" and not viewer_may_see_private(
            challenge=challenge, viewer=request.user
        ):
            raise ApiError(
                "The private leaderboard is not revealed yet.",
                code="private_hidden",
                status_code=403,
            )
        board = leaderboard_view(
            challenge=challenge, viewer=request.user, kind=kind, page=page, page_size=page_size
        ).as_dict()
        board["direction"] = "maximize" if board["higher_is_better"] else "minimize"
        return Response(LeaderboardSerializer(board).data)


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


class ProgressionPointSerializer(serializers.Serializer):
    at = serializers.DateTimeField(help_text="When the submission holding this best was made.")
    score = serializers.FloatField(help_text="At the challenge's display precision.")


class ProgressionSeriesSerializer(serializers.Serializer):
    team_id = serializers.IntegerField()
    name = serializers.CharField()
    points = ProgressionPointSerializer(many=True)


class ProgressionSerializer(serializers.Serializer):
    higher_is_better = serializers.BooleanField()
    frozen = serializers.BooleanField(help_text="Drawn as at the freeze for this viewer.")
    cutoff = serializers.DateTimeField(
        allow_null=True, help_text="Nothing submitted from this time on is drawn."
    )
    series = ProgressionSeriesSerializer(many=True, help_text="The top ten, best first.")
    baseline = ProgressionPointSerializer(many=True)


class ProgressionView(APIView):
    """The best public score over time of the public board's top ten and the baselines,
    under the same visibility rule as the board (nothing from the freeze on while frozen)."""

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="challenges_progression",
        responses={200: ProgressionSerializer, **error_responses(404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        challenge = get_challenge(request, slug)
        data = score_progression(challenge=challenge, viewer=request.user)
        return Response(ProgressionSerializer(data).data)
