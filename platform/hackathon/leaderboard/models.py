"""Per-team leaderboard state, kept up to date as submissions are scored.

`TeamScore` is derived data: `leaderboard_record_result` refreshes one team's row inside
the grading transaction, `leaderboard_rebuild` recomputes a whole challenge. Leaderboards
are read from it with a few indexed queries, never by looping over submissions.
"""

from django.conf import settings
from django.db import models


class TeamScore(models.Model):
    challenge = models.ForeignKey(
        "challenges.Challenge", on_delete=models.CASCADE, related_name="team_scores"
    )
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="scores")

    # Live public board: the best public score (ties to the earlier submission).
    entries = models.PositiveIntegerField(default=0)
    last_submission_at = models.DateTimeField(null=True, blank=True)
    best_submission = models.ForeignKey(
        "submissions.Submission", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    best_score = models.FloatField(null=True, blank=True)
    best_ci_low = models.FloatField(null=True, blank=True)
    best_ci_high = models.FloatField(null=True, blank=True)
    best_at = models.DateTimeField(null=True, blank=True)

    # The same, counting only submissions created before the challenge's freeze time.
    frozen_entries = models.PositiveIntegerField(default=0)
    frozen_last_submission_at = models.DateTimeField(null=True, blank=True)
    frozen_submission = models.ForeignKey(
        "submissions.Submission", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    frozen_score = models.FloatField(null=True, blank=True)
    frozen_ci_low = models.FloatField(null=True, blank=True)
    frozen_ci_high = models.FloatField(null=True, blank=True)
    frozen_at = models.DateTimeField(null=True, blank=True)

    # Private board: best private score among selected finals, else the best public
    # submission's private score.
    private_submission = models.ForeignKey(
        "submissions.Submission", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    private_score = models.FloatField(null=True, blank=True)
    private_at = models.DateTimeField(null=True, blank=True)
    private_from_finals = models.BooleanField(default=False)

    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["challenge", "team"], name="teamscore_one_per_team")
        ]
        # Both score directions: a metric is either higher- or lower-is-better, and ties
        # always go to the earlier submission (ascending time).
        indexes = [
            models.Index(
                fields=["challenge", "best_score", "best_at", "team"], name="ts_best_asc2"
            ),
            models.Index(
                fields=["challenge", "-best_score", "best_at", "team"], name="ts_best_desc2"
            ),
            models.Index(
                fields=["challenge", "frozen_score", "frozen_at", "team"], name="ts_frozen_asc2"
            ),
            models.Index(
                fields=["challenge", "-frozen_score", "frozen_at", "team"], name="ts_frozen_desc2"
            ),
            models.Index(
                fields=["challenge", "private_score", "private_at", "team"], name="ts_priv_asc2"
            ),
            models.Index(
                fields=["challenge", "-private_score", "private_at", "team"], name="ts_priv_desc2"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team_id} on {self.challenge_id}: {self.best_score}"


class TeamDisqualification(models.Model):
    """A team removed from one challenge's leaderboards; the team sees the reason."""

    challenge = models.ForeignKey(
        "challenges.Challenge", on_delete=models.CASCADE, related_name="team_disqualifications"
    )
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, related_name="disqualifications"
    )
    reason = models.CharField(max_length=300)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["challenge", "team"], name="team_dq_one_per_challenge")
        ]

    def __str__(self) -> str:
        return f"{self.team_id} disqualified from {self.challenge_id}"


class BaselineScore(models.Model):
    """An organizer's baseline solution as it appears on the boards: marked, unranked.

    Kept here (like TeamScore) so that reading a board never scans the submissions table.
    """

    challenge = models.ForeignKey(
        "challenges.Challenge", on_delete=models.CASCADE, related_name="baseline_scores"
    )
    submission = models.OneToOneField(
        "submissions.Submission", on_delete=models.CASCADE, related_name="+"
    )
    public_score = models.FloatField()
    private_score = models.FloatField(null=True, blank=True)
    ci_low = models.FloatField(null=True, blank=True)
    ci_high = models.FloatField(null=True, blank=True)
    submitted_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["challenge", "public_score"], name="baseline_by_score")]

    def __str__(self) -> str:
        return f"baseline {self.submission_id} on {self.challenge_id}: {self.public_score}"


class ChatWebhook(models.Model):
    """An outgoing chat webhook of a challenge (Slack- or Discord-compatible). The URL is a
    secret: it is shown to nobody but the admin, masked (`masked_url`)."""

    class Kind(models.TextChoices):
        SLACK = "slack", 'Slack-compatible ({"text": ...})'
        DISCORD = "discord", 'Discord-compatible ({"content": ...})'

    challenge = models.ForeignKey(
        "challenges.Challenge", on_delete=models.CASCADE, related_name="chat_webhooks"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SLACK)
    url = models.URLField(max_length=1000)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["challenge_id", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} webhook {self.masked_url}"

    @property
    def masked_url(self) -> str:
        scheme, _, rest = self.url.partition("://")
        host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
        return f"{scheme}://{host}/…"


class WebhookDelivery(models.Model):
    """One message to one webhook; `key` names the event so that announcing it twice
    (a periodic job that runs again, two beats) sends it once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    webhook = models.ForeignKey(ChatWebhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=20)
    key = models.CharField(max_length=100)
    text = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["webhook", "key"], name="webhook_delivery_once")
        ]

    def __str__(self) -> str:
        return f"{self.event} ({self.key}): {self.status}"


class SharedSolution(models.Model):
    """A team's consent to share its final solution on the challenge's debrief.

    Opt-in, one per team and challenge, made only after the challenge ended
    (`sharing.solution_share`, the one route every page and API view goes through); shown
    only to viewers who may see the debrief (THE visibility rule). What it shows is read when
    it is shown: the team's final submission on the private board at that moment, so a
    rejudge, a disqualification or a changed selection that moves the final moves what the
    debrief shows with it, and a disqualified submission's code is never shown
    (`sharing.shared_solutions`). `final_when_shared` records which submission was the final
    when the team shared (for the record and the admin), never what is shown."""

    challenge = models.ForeignKey(
        "challenges.Challenge", on_delete=models.CASCADE, related_name="shared_solutions"
    )
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="+")
    final_when_shared = models.ForeignKey(
        "submissions.Submission", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    shared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    shared_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["challenge_id", "shared_at"]
        constraints = [
            models.UniqueConstraint(fields=["challenge", "team"], name="shared_solution_per_team")
        ]

    def __str__(self) -> str:
        return f"team {self.team_id} shares its final solution of challenge {self.challenge_id}"
