"""Representations of the API's resources. Reads only: writes go through the apps' services."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from hackathon.challenges.models import Challenge
from hackathon.challenges.optimizer import kit_seeds, visible_instances, workload_shown
from hackathon.challenges.rules import gradient_descent_rule, public_labels_note
from hackathon.submissions.models import Submission, Verdict
from hackathon.submissions.selectors import published_scores, submission_queue_position


def _absolute(request: Any, path: str) -> str:
    return request.build_absolute_uri(path) if request is not None else path


class ChallengeLimitsSerializer(serializers.Serializer):
    time_limit_s = serializers.FloatField()
    memory_mb = serializers.IntegerField()
    daily_quota = serializers.IntegerField()
    total_quota = serializers.IntegerField(allow_null=True)
    inflight_cap = serializers.IntegerField()
    max_final = serializers.IntegerField()
    max_file_bytes = serializers.IntegerField()


class ChallengeLinksSerializer(serializers.Serializer):
    self = serializers.URLField()
    training_csv = serializers.URLField()
    training_npz = serializers.URLField()
    training_csv_gz = serializers.URLField()
    starter_kit = serializers.URLField()
    leaderboard = serializers.URLField()
    submissions = serializers.URLField()
    page = serializers.URLField()


class ChallengeSerializer(serializers.ModelSerializer):
    direction = serializers.SerializerMethodField()
    is_open = serializers.BooleanField(read_only=True)
    is_frozen = serializers.BooleanField(read_only=True)
    has_ended = serializers.BooleanField(read_only=True)
    links = serializers.SerializerMethodField()

    class Meta:
        model = Challenge
        fields = [
            "slug",
            "title",
            "summary",
            "task",
            "track",
            "metric",
            "display_precision",
            "direction",
            "extra_metrics",
            "n_classes",
            "n_features",
            "feature_names",
            "target_name",
            "n_train",
            "n_test",
            "start_at",
            "end_at",
            "freeze_at",
            "revealed_at",
            "is_open",
            "is_frozen",
            "has_ended",
            "gradient_descent_only",
            "public_labels",
            "links",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=["maximize", "minimize"]))
    def get_direction(self, challenge: Challenge) -> str:
        return "maximize" if challenge.higher_is_better else "minimize"

    @extend_schema_field(ChallengeLinksSerializer)
    def get_links(self, challenge: Challenge) -> dict[str, str]:
        request = self.context.get("request")
        slug = challenge.slug

        def api(name: str) -> str:
            return _absolute(request, reverse(f"api:{name}", kwargs={"slug": slug}))

        page = reverse("challenges:detail", kwargs={"slug": slug})
        return {
            "self": api("challenge-detail"),
            "training_csv": api("challenge-training-csv"),
            "training_npz": api("challenge-training-npz"),
            "training_csv_gz": api("challenge-training-csv-gz"),
            "starter_kit": api("challenge-starter-kit"),
            "leaderboard": api("challenge-leaderboard"),
            "submissions": api("challenge-submissions"),
            "page": _absolute(request, page),
        }


class ChallengeDetailSerializer(ChallengeSerializer):
    description_md = serializers.CharField(read_only=True, help_text="The rules, in Markdown.")
    allowed_imports = serializers.ListField(child=serializers.CharField(), read_only=True)
    rules = serializers.SerializerMethodField(
        help_text="The rules beyond imports and limits, as sentences: the gradient-descent-only "
        "rule when on, and the note of a classic challenge whose labels are public."
    )
    limits = serializers.SerializerMethodField()
    workload = serializers.SerializerMethodField(
        help_text="Optimizer track: the model, loss, budget, minimum batch and scoring "
        "({} otherwise)."
    )
    public_seeds = serializers.SerializerMethodField(
        help_text="Optimizer track: seeds of the public instances (the starter kit's)."
    )

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_rules(self, challenge: Challenge) -> list[str]:
        return [
            text
            for text in (gradient_descent_rule(challenge), public_labels_note(challenge))
            if text
        ]

    class Meta(ChallengeSerializer.Meta):
        fields = [
            *ChallengeSerializer.Meta.fields,
            "description_md",
            "allowed_imports",
            "min_loss_curve_points",
            "rules",
            "workload",
            "public_seeds",
            "limits",
            "test_fraction",
            "public_fraction",
            "training_data_version",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_workload(self, challenge: Challenge) -> dict[str, Any]:
        return workload_shown(challenge)

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_public_seeds(self, challenge: Challenge) -> list[int]:
        if not challenge.is_optimizer_track:
            return []

        return list(kit_seeds(challenge))

    @extend_schema_field(ChallengeLimitsSerializer)
    def get_limits(self, challenge: Challenge) -> dict[str, Any]:
        from django.conf import settings

        return {
            "time_limit_s": challenge.time_limit_s,
            "memory_mb": challenge.memory_mb,
            "daily_quota": challenge.daily_quota,
            "total_quota": challenge.total_quota,
            "inflight_cap": challenge.inflight_cap,
            "max_final": challenge.max_final,
            "max_file_bytes": settings.SUBMISSION_MAX_BYTES,
        }


class DiagnosticSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    detail = serializers.CharField(allow_blank=True)


class SubmissionSerializer(serializers.ModelSerializer):
    challenge = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    verdict = serializers.ChoiceField(
        choices=Verdict.choices,
        allow_blank=True,
        read_only=True,
        help_text="Empty until the submission is finished.",
    )
    team = serializers.SerializerMethodField()
    user = serializers.SerializerMethodField()
    verdict_label = serializers.SerializerMethodField()
    public_score = serializers.SerializerMethodField(
        help_text="At the challenge's display precision (significant digits)."
    )
    public_ci_low = serializers.SerializerMethodField()
    public_ci_high = serializers.SerializerMethodField()
    private_score = serializers.SerializerMethodField(
        help_text="Null until the private leaderboard is visible to you; at display precision."
    )
    url = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = [
            "id",
            "url",
            "challenge",
            "team",
            "user",
            "state",
            "verdict",
            "verdict_label",
            "message",
            "public_score",
            "public_ci_low",
            "public_ci_high",
            "private_score",
            "created_at",
            "started_at",
            "finished_at",
            "fit_seconds",
            "predict_seconds",
            "peak_memory_mb",
            "cpu_seconds",
            "hyperparameters",
            "is_final",
            "disqualified",
            "disqualified_reason",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_team(self, submission: Submission) -> str | None:
        return submission.team.name if submission.team_id else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_user(self, submission: Submission) -> str | None:
        return submission.user.get_username() if submission.user_id else None

    @extend_schema_field(serializers.CharField())
    def get_verdict_label(self, submission: Submission) -> str:
        return submission.get_verdict_display() if submission.verdict else ""

    def _published(self, submission: Submission) -> dict[str, Any]:
        # THE publishing rule (display precision); private only where the viewer may.
        cache = self.context.setdefault("_published", {})
        if submission.pk not in cache:
            may_see = self.context.get("private_visible", {})
            cache[submission.pk] = published_scores(
                submission, with_private=bool(may_see.get(submission.challenge_id))
            )
        return cache[submission.pk]

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_public_score(self, submission: Submission) -> float | None:
        return self._published(submission)["public_score"]

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_public_ci_low(self, submission: Submission) -> float | None:
        return self._published(submission)["public_ci_low"]

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_public_ci_high(self, submission: Submission) -> float | None:
        return self._published(submission)["public_ci_high"]

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_private_score(self, submission: Submission) -> float | None:
        return self._published(submission).get("private_score")

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, submission: Submission) -> str:
        path = reverse("api:submission-detail", kwargs={"pk": submission.pk})
        return _absolute(self.context.get("request"), path)


class SubmissionDetailSerializer(SubmissionSerializer):
    instances = serializers.SerializerMethodField(
        help_text=(
            "Optimizer track: the platform's measurements per instance (score, examples, "
            "steps, how it ended, training and validation curves, diagnostics); private "
            "instances only once the private board is visible to you."
        )
    )
    queue_position = serializers.SerializerMethodField(
        help_text="1 = next to be graded; null unless queued."
    )
    diagnostics = DiagnosticSerializer(many=True, read_only=True)
    loss_curve = serializers.ListField(child=serializers.FloatField(), read_only=True)
    extra_scores = serializers.SerializerMethodField(
        help_text="Extra public metrics, at display precision."
    )

    class Meta(SubmissionSerializer.Meta):
        fields = [
            *SubmissionSerializer.Meta.fields,
            "queue_position",
            "queued_at",
            "attempts",
            "extra_scores",
            "stdout",
            "stderr",
            "loss_curve",
            "diagnostics",
            "instances",
            "sandbox_level",
            "code_sha256",
            "code",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(child=serializers.FloatField(allow_null=True)))
    def get_extra_scores(self, submission: Submission) -> dict[str, float | None]:
        return self._published(submission)["extra_scores"]

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_instances(self, submission: Submission) -> list[dict]:
        may_see = self.context.get("private_visible", {})
        return visible_instances(
            submission.instances, show_private=bool(may_see.get(submission.challenge_id))
        )

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_queue_position(self, submission: Submission) -> int | None:
        return submission_queue_position(submission)


class StrictTextField(serializers.CharField):
    """A CharField that refuses numbers, booleans and lists instead of turning them into text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_text", kind=type(data).__name__)
        return super().to_internal_value(data)

    default_error_messages = {"not_text": "Must be a string (the source code), not {kind}."}


class SubmissionCreateSerializer(serializers.Serializer):
    file = serializers.FileField(
        required=False,
        help_text=(
            "solution.py, or a Jupyter notebook (.ipynb, its code cells in order), uploaded as "
            "multipart/form-data."
        ),
    )
    code = StrictTextField(
        required=False, trim_whitespace=False, help_text="The solution's source, instead of a file."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("file") is not None and attrs.get("code") is not None:
            raise serializers.ValidationError({"code": ["Send one of `file` or `code`, not both."]})
        return attrs


class FinalSelectionSerializer(serializers.Serializer):
    is_final = serializers.BooleanField()


class ShareSerializer(serializers.Serializer):
    shared = serializers.BooleanField(
        help_text="The team shares its final solution on the challenge's debrief."
    )
    shared_at = serializers.DateTimeField(allow_null=True)


class TeamSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    invite_code = serializers.CharField(help_text="Shown to the team's members only.")
    members = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()

    def to_representation(self, team: Any) -> dict[str, Any]:
        return {
            "id": team.pk,
            "name": team.name,
            "invite_code": team.invite_code,
            "members": [m.user.get_username() for m in team.memberships.select_related("user")],
            "created_at": serializers.DateTimeField().to_representation(team.created_at),
        }


class TeamCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60)


class TeamJoinSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=32)


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    is_organizer = serializers.BooleanField()
    team = TeamSerializer(allow_null=True)


class TokenSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)


class TokenCreatedSerializer(TokenSerializer):
    key = serializers.CharField(help_text="The raw key: shown once, never again.")


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, default="cli")


class PasswordLoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)
    name = serializers.CharField(max_length=100, required=False, default="cli")


class DisqualifySerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class BundleUploadSerializer(serializers.Serializer):
    bundle = serializers.FileField(
        help_text="A challenge bundle as a .zip (challenge.toml at its root)."
    )
    allow_resplit = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Let a changed bundle change the hidden split under scored submissions "
        "(they are rejudged).",
    )


class CountSerializer(serializers.Serializer):
    count = serializers.IntegerField()


class SubmissionPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SubmissionSerializer(many=True)
