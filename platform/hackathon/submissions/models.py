"""Submissions and the grading workers that run them.

A submission moves queued -> running -> finished (with a verdict). The row is the source
of truth; the Celery message is only a hint that it needs grading.
"""

from django.conf import settings
from django.db import models

from grader.contract import Verdict as GraderVerdict


class State(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"


# Stored values are the grader's verdict values ("scored", "time_limit", ...).
Verdict = models.TextChoices("Verdict", [(v.name, (v.value, v.label)) for v in GraderVerdict])


class Submission(models.Model):
    challenge = models.ForeignKey(
        "challenges.Challenge", on_delete=models.CASCADE, related_name="submissions"
    )
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="submissions"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    code = models.TextField()
    code_sha256 = models.CharField(max_length=64)
    is_baseline = models.BooleanField(default=False)

    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    verdict = models.CharField(max_length=30, choices=Verdict.choices, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    # Bumped on each claim: a result is written only by the attempt that holds the claim.
    claim_token = models.CharField(max_length=32, blank=True)
    worker_pid = models.PositiveIntegerField(null=True, blank=True)  # the grading process
    # Where and how urgently the grading message was sent (see scheduling.py): the queue by
    # the challenge's time limit, the priority by the team's in-flight count (0 = first).
    queue = models.CharField(max_length=30, default="grading")
    priority = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)  # internal errors, for organizers only
    # Workers on which an attempt ended in a platform fault: the retry goes elsewhere if it can.
    failed_on = models.JSONField(default=list, blank=True)
    # After a platform fault: not graded again before this time (the sweeper sends it then),
    # and since when its attempts keep failing (it ends as an internal error only once
    # GRADING_RETRY_DEADLINE_S has passed since then).
    retry_not_before = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    # Attempts whose grading process died under it (killed, out of memory, its worker gone):
    # at GRADING_MAX_WORKER_DEATHS the submission ends as a refunded internal error.
    worker_deaths = models.PositiveSmallIntegerField(default=0)

    public_score = models.FloatField(null=True, blank=True)
    private_score = models.FloatField(null=True, blank=True)
    public_ci_low = models.FloatField(null=True, blank=True)
    public_ci_high = models.FloatField(null=True, blank=True)
    extra_scores = models.JSONField(default=dict, blank=True)
    fit_seconds = models.FloatField(null=True, blank=True)
    predict_seconds = models.FloatField(null=True, blank=True)
    peak_memory_mb = models.FloatField(null=True, blank=True)
    # Measured by the trusted side: CPU seconds of the whole sandbox; numpy floating-point
    # events during fit ({"overflow": n, "invalid": n, "divide": n, "first_epoch": i}).
    cpu_seconds = models.FloatField(null=True, blank=True)
    fp_events = models.JSONField(default=dict, blank=True)
    # What the solution declares in hyperparameters_ (validated by the grader), for the
    # submission page, the exports and the debrief.
    hyperparameters = models.JSONField(default=dict, blank=True)
    stdout = models.TextField(blank=True)
    stderr = models.TextField(blank=True)
    loss_curve = models.JSONField(default=list, blank=True)
    # The final model's loss on training rows, measured by the grader from its predictions
    # on a challenge that asks for a loss curve ({"rows", "mse", "rmse", "mae", "target_variance"}
    # or {"rows", "log_loss"}, or {"rows", "unavailable"}): set beside the reported curve in
    # the integrity review. {} when not measured.
    training_loss = models.JSONField(default=dict, blank=True)
    # Determinants the gradient-descent-only rule's numpy computed, {"size": count}: counted
    # inside the sandbox, so a hint for the integrity review, never shown as a measurement.
    determinants = models.JSONField(default=dict, blank=True)
    diagnostics = models.JSONField(default=list, blank=True)
    # Optimizer track: one dict per instance run (score, examples, steps, curves, findings),
    # measured by the trusted driver; private instances are shown only with the private board.
    instances = models.JSONField(default=list, blank=True)
    sandbox_level = models.CharField(max_length=20, blank=True)

    counts_toward_quota = models.BooleanField(default=True)
    is_final = models.BooleanField(default=False)
    disqualified = models.BooleanField(default=False)
    disqualified_reason = models.CharField(max_length=300, blank=True)
    rejudge_batch = models.ForeignKey(
        "RejudgeBatch", on_delete=models.SET_NULL, null=True, blank=True, related_name="submissions"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "created_at"]),
            models.Index(fields=["team", "challenge", "created_at"]),
            models.Index(fields=["challenge", "state"]),
            # The organizer dashboard: results of the last hour, latest internal errors.
            models.Index(fields=["finished_at"]),
            models.Index(fields=["verdict", "finished_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.challenge_id} {self.state}"


class RefusalReason(models.TextChoices):
    """Why an upload was refused before it became a submission, as the room view says it."""

    SYNTAX_ERROR = "syntax_error", "syntax error at upload"
    UNPARSABLE = "unparsable", "too deep or large to parse at upload"
    NOT_TEXT = "not_text", "not UTF-8 text"
    TOO_LARGE = "too_large", "file too large"
    EMPTY = "empty", "nothing uploaded (an empty file, no file or code)"
    INVALID_UPLOAD = "invalid_upload", "malformed upload (a file and code, a bad field)"
    NOTEBOOK = "notebook", "notebook that could not be read"
    FORBIDDEN_IMPORT = "forbidden_import", "forbidden import at upload"
    CLOSED_FORM = "closed_form", "closed-form solver at upload (gradient descent only)"
    NO_MODEL_CLASS = "no_model_class", "no Model class at upload"
    MISSING_METHODS = "missing_methods", "class without fit/predict (or step) at upload"
    MISSING_PREDICT_PROBA = "missing_predict_proba", "missing predict_proba at upload"
    QUOTA_DAILY = "quota_daily", "daily quota reached"
    QUOTA_TOTAL = "quota_total", "total quota reached"
    QUOTA_IN_FLIGHT = "quota_in_flight", "too many submissions in flight"
    CHALLENGE_CLOSED = "challenge_closed", "challenge not open"
    NOT_IN_TEAM = "not_in_team", "not in a team"


class UploadRefusal(models.Model):
    """An upload refused before it became a submission (the pre-check, a quota, the file
    itself): what the room view counts ("3 teams: missing predict_proba at upload"). No
    code is kept, only the message the uploader was shown; it never counts toward a quota."""

    challenge = models.ForeignKey(
        "challenges.Challenge", on_delete=models.CASCADE, related_name="upload_refusals"
    )
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=40, choices=RefusalReason.choices)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["challenge", "created_at"], name="refusal_by_time")]

    def __str__(self) -> str:
        return f"{self.challenge_id} {self.reason} at {self.created_at:%H:%M:%S}"


class WorkerHeartbeat(models.Model):
    """One row per grading worker process; `last_seen` is refreshed while it lives."""

    name = models.CharField(max_length=200, unique=True)
    hostname = models.CharField(max_length=200, blank=True)
    pid = models.PositiveIntegerField(default=0)
    queues = models.CharField(max_length=200, blank=True)
    sandbox_level = models.CharField(max_length=20, blank=True)
    sandbox_detail = models.TextField(blank=True)
    accepts_work = models.BooleanField(default=True)
    # Why it is passing work on right now (e.g. its dataset cache disk is too full); empty
    # when it takes everything it is sent.
    declining = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(db_index=True)
    current_submission = models.ForeignKey(
        Submission, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RejudgeBatch(models.Model):
    """An organizer's "rejudge every submission of this challenge": its progress is the
    share of its submissions finished again."""

    challenge = models.ForeignKey(
        "challenges.Challenge", on_delete=models.CASCADE, related_name="rejudge_batches"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    total = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"rejudge of {self.challenge_id} ({self.total})"


class PlatformEvent(models.Model):
    """Something organizers should know happened to the platform's processes (a child of
    `hackathon up` that exited and was restarted): shown on the dashboard."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    source = models.CharField(max_length=50)
    message = models.TextField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.created_at:%H:%M:%S} {self.source}: {self.message[:60]}"
