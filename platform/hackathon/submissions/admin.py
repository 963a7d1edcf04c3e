"""Admin views of submissions and workers: read-mostly; actions go through the services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from hackathon.submissions.errors import SubmissionRejected
from hackathon.submissions.models import (
    RejudgeBatch,
    Submission,
    UploadRefusal,
    WorkerHeartbeat,
)
from hackathon.submissions.services import submission_rejudge


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = (
        "id", "challenge", "team", "state", "verdict", "public_score", "attempts", "worker",
        "created_at", "disqualified",
    )  # fmt: skip
    list_filter = ("state", "verdict", "challenge", "disqualified", "is_baseline", "sandbox_level")
    search_fields = ("id", "team__name", "user__username", "code_sha256", "worker")
    date_hierarchy = "created_at"
    list_select_related = ("challenge", "team")
    readonly_fields = [f.name for f in Submission._meta.fields]
    actions = ["rejudge"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # submissions come in through the quota-checked service only

    @admin.action(description="Rejudge the selected finished submissions")
    def rejudge(self, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        done = 0
        for submission in queryset:
            try:
                submission_rejudge(submission=submission, actor=request.user)
                done += 1
            except SubmissionRejected as exc:
                self.message_user(request, f"#{submission.pk}: {exc.message}", messages.WARNING)
        self.message_user(request, f"{done} submissions queued for grading again.")


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "hostname",
        "pid",
        "sandbox_level",
        "accepts_work",
        "last_seen",
        "queues",
    )
    readonly_fields = [f.name for f in WorkerHeartbeat._meta.fields]


@admin.register(RejudgeBatch)
class RejudgeBatchAdmin(admin.ModelAdmin):
    list_display = ("id", "challenge", "actor", "total", "created_at")
    readonly_fields = ("challenge", "actor", "total", "created_at")


@admin.register(UploadRefusal)
class UploadRefusalAdmin(admin.ModelAdmin):
    list_display = ("id", "challenge", "team", "user", "reason", "created_at")
    list_filter = ("reason", "challenge")
    readonly_fields = [f.name for f in UploadRefusal._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
