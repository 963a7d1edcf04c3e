"""What the platform noticed about graded submissions, for the organizers' review.

Layered above submissions (beside the leaderboard): it reads submissions and challenges,
and nothing below imports it; grading sends its check task by name after a result is
stored (see `hackathon.submissions.scheduling.send_integrity_check`).

A flag is never acted on automatically: an organizer dismisses it or disqualifies the
submission. Flags are recomputed when a submission is graded again; a dismissed flag
stays dismissed.
"""

from django.conf import settings
from django.db import models


class FlagKind(models.TextChoices):
    EMBEDDED_DATA = "embedded_data", "Embedded data"
    IMPLAUSIBLE_SCORE = "implausible_score", "Implausible score"
    SIMILAR_CODE = "similar_code", "Code nearly identical to another team's"
    NO_LOSS_CURVE = "no_loss_curve", "No loss curve"
    RULE_VIOLATION = "rule_violation", "Rule violation"
    DIRECT_SOLVE = "direct_solve", "Direct solve suspected"
    CURVE_NOT_BORNE_OUT = "curve_not_borne_out", "Loss curve not borne out"
    CODE_FROM_TEXT = "code_from_text", "Code run from text"


class CodeFingerprint(models.Model):
    """A checked submission's winnowed code fingerprint (also: "this one was checked")."""

    submission = models.OneToOneField(
        "submissions.Submission", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    challenge = models.ForeignKey(
        "challenges.Challenge", on_delete=models.CASCADE, related_name="+"
    )
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    hashes = models.BinaryField()  # sorted unique little-endian uint64 (fingerprint.py)
    size = models.PositiveIntegerField(default=0)
    # fingerprint.VERSION when computed: fingerprints of another normalisation are not
    # compared, and the integrity sweep checks their submissions again.
    version = models.PositiveSmallIntegerField(default=1)
    checked_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["challenge", "team"], name="fingerprint_by_team")]

    def __str__(self) -> str:
        return f"fingerprint of {self.submission_id} ({self.size})"


class IntegrityFlag(models.Model):
    submission = models.ForeignKey(
        "submissions.Submission", on_delete=models.CASCADE, related_name="integrity_flags"
    )
    challenge = models.ForeignKey(
        "challenges.Challenge", on_delete=models.CASCADE, related_name="integrity_flags"
    )
    kind = models.CharField(max_length=30, choices=FlagKind.choices)
    detail = models.CharField(max_length=500)
    score = models.FloatField(null=True, blank=True)  # how strong (similarity, count, ...)
    lines = models.JSONField(default=list, blank=True)  # source lines that show it
    other_submission = models.ForeignKey(
        "submissions.Submission",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "kind", "other_submission"],
                condition=models.Q(other_submission__isnull=False),
                name="integrity_pair_flag_once",
            ),
            models.UniqueConstraint(
                fields=["submission", "kind"],
                condition=models.Q(other_submission__isnull=True),
                name="integrity_flag_once",
            ),
        ]
        indexes = [models.Index(fields=["challenge", "dismissed_at"], name="flags_to_review")]

    def __str__(self) -> str:
        return f"{self.kind} on {self.submission_id}"
