"""Organizer endpoints: challenge bundles, rejudging, disqualification, export."""

from __future__ import annotations

import csv
import json
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hackathon.api.errors import ApiError
from hackathon.api.permissions import IsOrganizer
from hackathon.api.schema import error_responses
from hackathon.api.serializers import (
    BundleUploadSerializer,
    ChallengeDetailSerializer,
    CountSerializer,
    DisqualifySerializer,
    SubmissionDetailSerializer,
)
from hackathon.api.views.challenges import get_challenge
from hackathon.api.views.submissions import get_submission
from hackathon.challenges.archive import read_bundle_zip
from hackathon.challenges.errors import ChallengeDataError
from hackathon.challenges.models import Challenge
from hackathon.challenges.schema import SpecInvalid
from hackathon.challenges.services import ResplitRefused
from hackathon.integrity.selectors import flags_by_submission
from hackathon.organizing.services import challenge_load_bundle, challenge_queue_baseline
from hackathon.submissions.models import Submission
from hackathon.submissions.services import (
    challenge_rejudge_all,
    submission_disqualify,
    submission_rejudge,
)


class ChallengeBundleView(APIView):
    """Create or update a challenge from a bundle zip (the same loader as `load_challenges`)."""

    permission_classes = [IsOrganizer]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="challenges_upsert_bundle",
        request={"multipart/form-data": BundleUploadSerializer},
        responses={
            200: ChallengeDetailSerializer,
            201: ChallengeDetailSerializer,
            **error_responses(400, 403, 409, 413),
        },
    )
    def post(self, request: Request) -> Response:
        data = BundleUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["bundle"]
        if upload.size > settings.BUNDLE_MAX_BYTES:
            raise ApiError(
                f"The bundle is {upload.size} bytes; the limit is {settings.BUNDLE_MAX_BYTES}.",
                code="too_large",
                status_code=413,
            )
        name = upload.name or "bundle.zip"
        try:
            files = read_bundle_zip(upload.read(), name=name, max_bytes=settings.BUNDLE_MAX_BYTES)
            outcome = challenge_load_bundle(
                files=files,
                origin=name,
                allow_resplit=data.validated_data["allow_resplit"],
                actor=request.user,
            )
        except ResplitRefused as exc:
            raise ApiError(str(exc), code="resplit_refused", status_code=409) from None
        except ChallengeDataError as exc:
            fields: dict[str, list[str]] = {}
            for each in exc.errors if isinstance(exc, SpecInvalid) else [exc]:
                fields.setdefault(each.field or "bundle", []).append(each.detail)
            raise ApiError(str(exc), code="invalid_bundle", fields=fields) from None
        # Graded like every route that loads a bundle (load_challenges, the upload page).
        challenge_queue_baseline(challenge=outcome.challenge, actor=request.user)
        challenge = Challenge.objects.get(pk=outcome.challenge.pk)
        return Response(
            ChallengeDetailSerializer(challenge, context={"request": request}).data,
            status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK,
        )


class ChallengeRejudgeView(APIView):
    permission_classes = [IsOrganizer]

    @extend_schema(
        operation_id="challenges_rejudge_all",
        request=None,
        responses={202: CountSerializer, **error_responses(403, 404)},
    )
    def post(self, request: Request, slug: str) -> Response:
        challenge = get_challenge(request, slug)
        batch = challenge_rejudge_all(challenge=challenge, actor=request.user)
        return Response({"count": batch.total}, status=status.HTTP_202_ACCEPTED)


class SubmissionRejudgeView(APIView):
    permission_classes = [IsOrganizer]

    @extend_schema(
        operation_id="submissions_rejudge",
        request=None,
        responses={202: SubmissionDetailSerializer, **error_responses(403, 404, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        submission = get_submission(request, pk)
        submission_rejudge(submission=submission, actor=request.user)
        submission.refresh_from_db()
        context = {"request": request, "private_visible": {submission.challenge_id: True}}
        return Response(
            SubmissionDetailSerializer(submission, context=context).data,
            status=status.HTTP_202_ACCEPTED,
        )


class SubmissionDisqualifyView(APIView):
    permission_classes = [IsOrganizer]

    @extend_schema(
        operation_id="submissions_disqualify",
        request=DisqualifySerializer,
        responses={200: SubmissionDetailSerializer, **error_responses(400, 403, 404)},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = DisqualifySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        submission = get_submission(request, pk)
        submission_disqualify(
            submission=submission, actor=request.user, reason=data.validated_data["reason"]
        )
        submission.refresh_from_db()
        context = {"request": request, "private_visible": {submission.challenge_id: True}}
        return Response(SubmissionDetailSerializer(submission, context=context).data)


class ExportFlagSerializer(serializers.Serializer):
    kind = serializers.CharField()
    detail = serializers.CharField()
    score = serializers.FloatField(allow_null=True)
    other_submission = serializers.IntegerField(allow_null=True)
    dismissed = serializers.BooleanField()


class ExportRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    team = serializers.CharField(allow_null=True)
    user = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    state = serializers.CharField()
    verdict = serializers.CharField()
    public_score = serializers.FloatField(allow_null=True)
    private_score = serializers.FloatField(allow_null=True)
    extra_scores = serializers.DictField(child=serializers.FloatField())
    fit_seconds = serializers.FloatField(allow_null=True)
    predict_seconds = serializers.FloatField(allow_null=True)
    peak_memory_mb = serializers.FloatField(allow_null=True)
    cpu_seconds = serializers.FloatField(allow_null=True, help_text="Measured by the platform.")
    fp_events = serializers.DictField(help_text="numpy floating-point events during fit.")
    hyperparameters = serializers.DictField(help_text="What the solution declared.")
    is_final = serializers.BooleanField()
    is_baseline = serializers.BooleanField()
    disqualified = serializers.BooleanField()
    disqualified_reason = serializers.CharField(allow_blank=True)
    code_sha256 = serializers.CharField()
    integrity_flags = serializers.ListField(
        child=ExportFlagSerializer(), help_text="The integrity review's flags (never acted on)."
    )


class ExportSerializer(serializers.Serializer):
    challenge = serializers.CharField()
    metric = serializers.CharField()
    direction = serializers.CharField()
    split_hash = serializers.CharField(allow_blank=True)
    submissions = ExportRowSerializer(many=True)


class ChallengeExportView(APIView):
    permission_classes = [IsOrganizer]

    @extend_schema(
        operation_id="challenges_export",
        responses={200: ExportSerializer, **error_responses(403, 404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        challenge = get_challenge(request, slug)
        rows = []
        flags = flags_by_submission(challenge=challenge)
        submissions = (
            Submission.objects.filter(challenge=challenge)
            .select_related("team", "user")
            .order_by("created_at", "id")
        )
        for s in submissions:
            rows.append(
                {
                    "id": s.pk,
                    "team": s.team.name if s.team_id else None,
                    "user": s.user.get_username() if s.user_id else None,
                    "created_at": s.created_at,
                    "finished_at": s.finished_at,
                    "state": s.state,
                    "verdict": s.verdict,
                    "public_score": s.public_score,
                    "private_score": s.private_score,
                    "extra_scores": s.extra_scores or {},
                    "fit_seconds": s.fit_seconds,
                    "predict_seconds": s.predict_seconds,
                    "peak_memory_mb": s.peak_memory_mb,
                    "cpu_seconds": s.cpu_seconds,
                    "fp_events": s.fp_events or {},
                    "hyperparameters": s.hyperparameters or {},
                    "is_final": s.is_final,
                    "is_baseline": s.is_baseline,
                    "disqualified": s.disqualified,
                    "disqualified_reason": s.disqualified_reason,
                    "code_sha256": s.code_sha256,
                    "integrity_flags": flags.get(s.pk, []),
                }
            )
        if request.query_params.get("as") == "csv":
            return _export_csv(challenge.slug, rows)
        return Response(
            ExportSerializer(
                {
                    "challenge": challenge.slug,
                    "metric": challenge.metric,
                    "direction": "maximize" if challenge.higher_is_better else "minimize",
                    "split_hash": challenge.split_hash,
                    "submissions": rows,
                }
            ).data
        )


EXPORT_CSV_COLUMNS = (
    "id", "team", "user", "created_at", "finished_at", "state", "verdict", "public_score",
    "private_score", "fit_seconds", "predict_seconds", "cpu_seconds", "peak_memory_mb",
    "is_final", "is_baseline", "disqualified", "code_sha256",
)  # fmt: skip


def _export_csv(slug: str, rows: list[dict[str, Any]]) -> HttpResponse:
    """The export as CSV (`?as=csv`): one row per submission; extra scores, hyperparameters,
    floating-point events and flags as JSON cells. Full precision: organizers only."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slug}-submissions.csv"'
    writer = csv.writer(response)
    json_columns = ("extra_scores", "hyperparameters", "fp_events", "integrity_flags")
    writer.writerow([*EXPORT_CSV_COLUMNS, *json_columns])
    for row in rows:
        cells = ["" if row[c] is None else row[c] for c in EXPORT_CSV_COLUMNS]
        cells = [_csv_cell(c) for c in cells]
        cells += [json.dumps(row[c], sort_keys=True, default=str) for c in json_columns]
        writer.writerow(cells)
    return response


def _csv_cell(value: object) -> object:
    """Text a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value.isoformat() if hasattr(value, "isoformat") else value
