"""Submissions: create, list the own team's, detail, choose finals."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from grader.notebook import is_notebook
from hackathon.accounts.selectors import is_organizer, user_team
from hackathon.api.errors import ApiError
from hackathon.api.schema import error_responses
from hackathon.api.serializers import (
    FinalSelectionSerializer,
    ShareSerializer,
    SubmissionCreateSerializer,
    SubmissionDetailSerializer,
    SubmissionPageSerializer,
    SubmissionSerializer,
)
from hackathon.api.throttles import SubmitRateThrottle
from hackathon.api.views.challenges import get_challenge
from hackathon.leaderboard.selectors import viewer_may_see_private
from hackathon.leaderboard.sharing import solution_share
from hackathon.submissions.models import Submission
from hackathon.submissions.selectors import (
    submission_visible_to,
    submissions_for_team,
    submissions_for_user,
)
from hackathon.submissions.services import (
    submission_create,
    submission_set_final,
    upload_refusal_record,
)


def private_visibility(request: Request, submissions: Any) -> dict[int, bool]:
    """challenge id -> may this viewer see private scores (THE leaderboard rule)."""
    seen: dict[int, bool] = {}
    for submission in submissions:
        if submission.challenge_id not in seen:
            seen[submission.challenge_id] = bool(
                viewer_may_see_private(challenge=submission.challenge, viewer=request.user)
            )
    return seen


def get_submission(request: Request, pk: int) -> Submission:
    submission = (
        Submission.objects.select_related("challenge", "team", "user").filter(pk=pk).first()
    )
    if submission is None:
        raise ApiError(f"Submission #{pk} does not exist.", code="not_found", status_code=404)
    if not submission_visible_to(submission, request.user):
        raise ApiError(
            f"Submission #{pk} belongs to another team.", code="not_your_team", status_code=403
        )
    return submission


def _team_of(request: Request) -> Any:
    return user_team(request.user)


def _user_team_or_403(request: Request) -> Any:
    team = _team_of(request)
    if team is None:
        raise ApiError(
            "You are not in a team: create or join one first.", code="not_in_team", status_code=403
        )
    return team


class SubmissionPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def _flat(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [m for value in detail.values() for m in _flat(value)]
    if isinstance(detail, list | tuple):
        return [m for value in detail for m in _flat(value)]
    return [str(detail)]


class UploadRefused(ApiError):
    """An upload refused before `submission_create` saw it, with the room view's reason."""

    def __init__(self, message: str, *, reason: str, **options: Any) -> None:
        super().__init__(message, **options)
        self.reason = reason


def _read_code(request: Request) -> tuple[str, str]:
    serializer = SubmissionCreateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    upload = serializer.validated_data.get("file")
    code = serializer.validated_data.get("code")
    if upload is None and code is None:
        raise UploadRefused(
            "Send the solution as a `file` upload or as `code`.",
            reason="empty",
            code="invalid",
            fields={"file": ["Required (or give `code`)."]},
        )
    limit = settings.SUBMISSION_MAX_BYTES
    if upload is not None:
        if is_notebook(upload.name or ""):
            limit = settings.NOTEBOOK_MAX_BYTES
        if upload.size > limit:
            raise UploadRefused(
                f"{upload.name} is {upload.size} bytes; the limit is {limit} bytes.",
                reason="too_large",
                code="too_large",
                status_code=413,
            )
        raw = upload.read()
        filename = upload.name or "solution.py"
    else:
        raw = code.encode("utf-8", errors="surrogatepass")
        filename = "solution.py"
        if len(raw) > limit:
            raise UploadRefused(
                f"The code is {len(raw)} bytes; the limit is {limit} bytes.",
                reason="too_large",
                code="too_large",
                status_code=413,
            )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UploadRefused(
            "The solution is not UTF-8 text.",
            reason="not_text",
            code="invalid",
            fields={"file": ["Not UTF-8."]},
        ) from None
    if "\x00" in text:
        raise UploadRefused(
            "The solution contains NUL bytes.",
            reason="not_text",
            code="invalid",
            fields={"file": ["Not text."]},
        )
    return text, filename


class ChallengeSubmissionsView(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_throttles(self) -> list[Any]:
        throttles = super().get_throttles()
        if self.request.method == "POST":
            throttles.append(SubmitRateThrottle())
        return throttles

    @extend_schema(
        operation_id="challenges_submissions_list",
        parameters=[
            OpenApiParameter("page", int, required=False),
            OpenApiParameter("page_size", int, required=False),
        ],
        responses={200: SubmissionPageSerializer, **error_responses(400, 403, 404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        challenge = get_challenge(request, slug)
        return _team_submissions_page(request, self, challenge=challenge)

    @extend_schema(
        operation_id="challenges_submissions_create",
        request={
            "multipart/form-data": SubmissionCreateSerializer,
            "application/json": SubmissionCreateSerializer,
        },
        responses={
            201: SubmissionDetailSerializer,
            **error_responses(400, 403, 404, 409, 413),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        challenge = get_challenge(request, slug)
        try:
            code, filename = _read_code(request)
        except UploadRefused as exc:
            upload_refusal_record(
                challenge=challenge, user=request.user, reason=exc.reason, message=exc.message
            )
            raise
        except ValidationError as exc:  # the serializer's: a malformed field
            message = "; ".join(str(m) for m in _flat(exc.detail))
            upload_refusal_record(
                challenge=challenge, user=request.user, reason="invalid_upload", message=message
            )
            raise
        submission = submission_create(
            challenge=challenge, user=request.user, code=code, filename=filename
        )
        submission = Submission.objects.select_related("challenge", "team", "user").get(
            pk=submission.pk
        )
        context = {
            "request": request,
            "private_visible": private_visibility(request, [submission]),
        }
        return Response(
            SubmissionDetailSerializer(submission, context=context).data,
            status=status.HTTP_201_CREATED,
        )


def _team_submissions_page(request: Request, view: APIView, *, challenge: Any) -> Response:
    if is_organizer(request.user) and _team_of(request) is None:
        # Organizers submit baselines without a team: their own list is theirs.
        queryset: QuerySet[Submission] = submissions_for_user(
            user=request.user, challenge=challenge
        )
    else:
        team = _user_team_or_403(request)
        queryset = submissions_for_team(team=team, challenge=challenge)
    queryset = queryset.select_related("challenge", "team", "user").order_by("-created_at", "-id")
    paginator = SubmissionPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    context = {"request": request, "private_visible": private_visibility(request, page)}
    data = SubmissionSerializer(page, many=True, context=context).data
    return paginator.get_paginated_response(data)


class SubmissionListView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="submissions_list",
        parameters=[
            OpenApiParameter("challenge", str, required=False, description="A challenge slug."),
            OpenApiParameter("page", int, required=False),
            OpenApiParameter("page_size", int, required=False),
        ],
        responses={200: SubmissionPageSerializer, **error_responses(400, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        slug = request.query_params.get("challenge")
        challenge = get_challenge(request, slug) if slug else None
        return _team_submissions_page(request, self, challenge=challenge)


class SubmissionDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="submissions_retrieve",
        responses={200: SubmissionDetailSerializer, **error_responses(403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        submission = get_submission(request, pk)
        context = {
            "request": request,
            "private_visible": private_visibility(request, [submission]),
        }
        return Response(SubmissionDetailSerializer(submission, context=context).data)


class SubmissionFinalView(APIView):
    """Select (POST) or unselect (DELETE) a submission as one of the team's finals."""

    permission_classes = [IsAuthenticated]

    def _set(self, request: Request, pk: int, selected: bool) -> Response:
        submission = get_submission(request, pk)
        submission_set_final(submission=submission, user=request.user, selected=selected)
        submission.refresh_from_db()
        return Response(FinalSelectionSerializer({"is_final": submission.is_final}).data)

    @extend_schema(
        operation_id="submissions_select_final",
        request=None,
        responses={200: FinalSelectionSerializer, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        return self._set(request, pk, True)

    @extend_schema(
        operation_id="submissions_unselect_final",
        request=None,
        responses={200: FinalSelectionSerializer, **error_responses(400, 403, 404, 409)},
    )
    def delete(self, request: Request, pk: int) -> Response:
        return self._set(request, pk, False)


class SubmissionShareView(APIView):
    """Share (POST, from the team's final submission) or stop sharing (DELETE, from any of
    the team's submissions of the challenge) the team's final solution on the debrief: only
    after the challenge has ended (409 before), by the one rule of the pages. The debrief
    shows the team's final submission as the private board has it when it is shown."""

    permission_classes = [IsAuthenticated]

    def _set(self, request: Request, pk: int, shared: bool) -> Response:
        submission = get_submission(request, pk)
        done = solution_share(submission=submission, user=request.user, shared=shared)
        body = {"shared": done is not None, "shared_at": done.shared_at if done else None}
        return Response(ShareSerializer(body).data)

    @extend_schema(
        operation_id="submissions_share",
        request=None,
        responses={200: ShareSerializer, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        return self._set(request, pk, True)

    @extend_schema(
        operation_id="submissions_unshare",
        request=None,
        responses={200: ShareSerializer, **error_responses(400, 403, 404, 409)},
    )
    def delete(self, request: Request, pk: int) -> Response:
        return self._set(request, pk, False)
