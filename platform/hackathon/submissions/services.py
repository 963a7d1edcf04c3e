"""Writes about submissions: submitting (with quotas), final selection, rejudge, disqualify.

Grading itself (claim, run, store) is in grading.py; the sweeper in sweeper.py. Every change
to a result is reported to the leaderboard through `hooks` (the leaderboard app sits above
this one and registers itself there).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from grader import notebook
from grader.contract import DEFAULT_ALLOWED_IMPORTS
from grader.notebook import is_notebook
from grader.precheck import precheck
from grader.scoring import METRICS
from hackathon import live
from hackathon.accounts.models import Team
from hackathon.accounts.selectors import is_organizer, user_team
from hackathon.challenges.models import Challenge
from hackathon.submissions import hooks, scheduling
from hackathon.submissions.errors import (
    ActionRefused,
    ChallengeClosed,
    NotInTeam,
    PrecheckFailed,
    QuotaExceeded,
    SubmissionRejected,
    SubmissionTooLarge,
)
from hackathon.submissions.models import (
    PlatformEvent,
    RejudgeBatch,
    State,
    Submission,
    UploadRefusal,
    Verdict,
)

IN_FLIGHT_STATES = (State.QUEUED, State.RUNNING)


def allowed_imports_for(challenge: Challenge) -> tuple[str, ...]:
    return tuple(challenge.allowed_imports) or DEFAULT_ALLOWED_IMPORTS


def _proba_metric(challenge: Challenge) -> str | None:
    """The first of the challenge's metrics (ranked or extra) that scores probabilities:
    a Model must then have predict_proba."""
    metrics = (challenge.metric, *(challenge.extra_metrics or ()))
    return next((m for m in metrics if m in METRICS and METRICS[m].needs_proba), None)


@dataclass(frozen=True)
class QuotaUsage:
    """A team's use of its quotas on one challenge (what the submit page shows)."""

    daily_used: int
    daily_limit: int  # 0 = no daily limit
    total_used: int
    total_limit: int | None
    in_flight: int
    in_flight_cap: int  # 0 = no cap
    next_daily_slot_at: datetime

    @property
    def daily_left(self) -> int | None:
        return max(0, self.daily_limit - self.daily_used) if self.daily_limit else None

    @property
    def total_left(self) -> int | None:
        return max(0, self.total_limit - self.total_used) if self.total_limit is not None else None


def quota_usage(*, team: Team, challenge: Challenge, now: datetime | None = None) -> QuotaUsage:
    now = now or timezone.now()
    day_start = _utc_midnight(now)
    counts = Submission.objects.filter(team=team, challenge=challenge).aggregate(
        daily=Count("pk", filter=Q(counts_toward_quota=True, created_at__gte=day_start)),
        total=Count("pk", filter=Q(counts_toward_quota=True)),
        in_flight=Count("pk", filter=Q(state__in=IN_FLIGHT_STATES)),
    )
    return QuotaUsage(
        daily_used=counts["daily"],
        daily_limit=challenge.daily_quota,
        total_used=counts["total"],
        total_limit=challenge.total_quota,
        in_flight=counts["in_flight"],
        in_flight_cap=challenge.inflight_cap,
        next_daily_slot_at=day_start + timedelta(days=1),
    )


def _utc_midnight(now: datetime) -> datetime:
    utc_now = now.astimezone(timezone.get_fixed_timezone(0))
    return utc_now.replace(hour=0, minute=0, second=0, microsecond=0)


def _in_flight_retry_after(*, team: Team, challenge: Challenge, now: datetime) -> int:
    """A plausible wait until one of the team's in-flight submissions finishes."""
    waits = []
    for sub in Submission.objects.filter(
        team=team, challenge=challenge, state__in=IN_FLIGHT_STATES
    ):
        if sub.state == State.RUNNING and sub.started_at:
            elapsed = (now - sub.started_at).total_seconds()
            waits.append(max(1.0, challenge.time_limit_s - elapsed))
        else:
            waits.append(challenge.time_limit_s)
    return max(1, math.ceil(min(waits, default=challenge.time_limit_s)))


def _check_quota(*, team: Team, challenge: Challenge, now: datetime) -> int:
    """Raise QuotaExceeded naming the first limit hit; return the team's in-flight count.
    Call with the team row locked."""
    usage = quota_usage(team=team, challenge=challenge, now=now)
    if usage.total_limit is not None and usage.total_used >= usage.total_limit:
        raise QuotaExceeded(
            f"Your team has used all {usage.total_limit} submissions allowed on this challenge.",
            limit="total",
            retry_after=None,
        )
    if usage.daily_limit and usage.daily_used >= usage.daily_limit:
        wait = max(1, math.ceil((usage.next_daily_slot_at - now).total_seconds()))
        raise QuotaExceeded(
            f"Your team has used its {usage.daily_limit} submissions for today (UTC); "
            f"the next one opens at {usage.next_daily_slot_at:%Y-%m-%d %H:%M} UTC, "
            f"in {_human_duration(wait)}.",
            limit="daily",
            retry_after=wait,
        )
    if usage.in_flight_cap and usage.in_flight >= usage.in_flight_cap:
        wait = _in_flight_retry_after(team=team, challenge=challenge, now=now)
        raise QuotaExceeded(
            f"Your team already has {usage.in_flight} submissions waiting or being graded "
            f"(at most {usage.in_flight_cap} at once); try again when one finishes, "
            f"in about {_human_duration(wait)}.",
            limit="in_flight",
            retry_after=wait,
        )
    return usage.in_flight


def _human_duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds // 3600} h {round(seconds % 3600 / 60)} min"


def notebook_solution(text: str, *, filename: str, challenge: Challenge) -> str:
    """The solution a notebook's code cells make, with what was left out listed on top."""
    try:
        converted = notebook.convert(text, allowed_imports_for(challenge))
    except notebook.NotebookError as exc:
        raise PrecheckFailed(
            f"{filename}: {exc}.", verdict="syntax_error", reason="notebook"
        ) from None
    header = [f"# Converted from the notebook {filename}: its code cells, in order."]
    header += [f"# - {note}" for note in converted.notes]
    return "\n".join(header) + "\n\n" + converted.source


def _require_open(challenge: Challenge) -> None:
    if challenge.is_open:
        return
    if challenge.has_ended:
        raise ChallengeClosed(f"{challenge.title} ended at {challenge.end_at:%Y-%m-%d %H:%M} UTC.")
    if challenge.start_at and timezone.now() < challenge.start_at:
        raise ChallengeClosed(
            f"{challenge.title} opens at {challenge.start_at:%Y-%m-%d %H:%M} UTC."
        )
    raise ChallengeClosed(f"{challenge.title} is not open for submissions.")


def _prechecked_code(code: object, *, filename: str, challenge: Challenge) -> str:
    """The solution's source (a notebook's code cells), refused with a PrecheckFailed or
    SubmissionTooLarge unless it is text within the size limit that passes the pre-check."""
    if not isinstance(code, str):
        raise PrecheckFailed(
            f"{filename} must be UTF-8 text.", verdict="syntax_error", reason="not_text"
        )
    if is_notebook(filename):
        code = notebook_solution(code, filename=filename, challenge=challenge)
    size = len(code.encode("utf-8", errors="surrogatepass"))
    if size > settings.SUBMISSION_MAX_BYTES:
        raise SubmissionTooLarge(
            f"{filename} is {size:,} bytes; the limit is {settings.SUBMISSION_MAX_BYTES:,} bytes."
        )
    if not code.strip():
        raise PrecheckFailed(f"{filename} is empty.", verdict="syntax_error", reason="empty")
    checked = precheck(
        code,
        allowed_imports_for(challenge),
        proba_metric=_proba_metric(challenge),
        task=challenge.task,
        gradient_descent_only=challenge.gradient_descent_only,
        track=challenge.track,
    )
    if not checked.ok:
        raise PrecheckFailed(
            checked.message or f"{filename} did not pass the pre-check.",
            verdict=str(checked.verdict or ""),
            reason=checked.reason,
        )
    return code


def submission_create(
    *, challenge: Challenge, user: User, code: str, filename: str = "solution.py"
) -> Submission:
    """Accept a solution for grading, or raise a SubmissionRejected subclass saying why.

    Order of checks: who (team member or organizer), when (challenge open), size, static
    pre-check (answers at once, uses no quota), then the quotas, enforced under a lock on
    the team row so that concurrent submissions cannot overshoot them. The grading message
    is sent after the row is committed. A team's refused upload is recorded for the room
    view (`upload_refusal_record`), outside the refused transaction.
    """
    try:
        return _submission_create(challenge=challenge, user=user, code=code, filename=filename)
    except SubmissionRejected as exc:
        upload_refusal_record(
            challenge=challenge, user=user, reason=exc.reason, message=exc.message
        )
        raise


def _submission_create(*, challenge: Challenge, user: User, code: str, filename: str) -> Submission:
    organizer = is_organizer(user)
    team = None if organizer else user_team(user)
    if not organizer and team is None:
        raise NotInTeam("Join or create a team before submitting.")
    if not organizer:
        _require_open(challenge)
    code = _prechecked_code(code, filename=filename, challenge=challenge)

    queue = scheduling.queue_for(challenge)
    with transaction.atomic():
        now = timezone.now()
        in_flight = 0
        if team is not None:
            # The lock serializes this team's submissions (SQLite: IMMEDIATE transactions).
            Team.objects.select_for_update().filter(pk=team.pk).first()
            in_flight = _check_quota(team=team, challenge=challenge, now=now)
        submission = Submission.objects.create(
            challenge=challenge,
            team=team,
            user=user,
            code=code,
            code_sha256=hashlib.sha256(code.encode("utf-8", errors="surrogatepass")).hexdigest(),
            is_baseline=organizer,
            counts_toward_quota=team is not None,
            queued_at=now,
            queue=queue,
            priority=scheduling.priority_for(team_in_flight_before=in_flight),
        )
        scheduling.enqueue_on_commit(submission)
        transaction.on_commit(
            lambda: live.publish(
                f"submission:{submission.pk}", "state", {"id": submission.pk, "state": "queued"}
            )
        )
        # The organizers' room view counts arrivals and queue wait.
        transaction.on_commit(
            lambda: live.publish(
                live.challenge_topic(challenge.pk, "organizers"),
                "room",
                {"challenge": challenge.pk, "submission": submission.pk, "state": "queued"},
            )
        )
    return submission


def submission_set_final(*, submission: Submission, user: User, selected: bool) -> Submission:
    """Mark (or unmark) a scored submission as one of its team's final ones; at most
    challenge.max_final per team, until the challenge ends."""
    challenge = submission.challenge
    team = user_team(user)
    if submission.team_id is None or team is None or team.pk != submission.team_id:
        raise ActionRefused("Only members of the submitting team can select it.", http_status=403)
    if challenge.has_ended:
        raise ActionRefused(
            "The challenge has ended: final selections are locked.", http_status=409
        )
    with transaction.atomic():
        Team.objects.select_for_update().filter(pk=team.pk).first()
        sub = Submission.objects.select_for_update().get(pk=submission.pk)
        if selected and not sub.is_final:
            if sub.verdict != Verdict.SCORED or sub.disqualified:
                raise ActionRefused("Only scored submissions can be selected as final.")
            chosen = Submission.objects.filter(
                team=team, challenge=challenge, is_final=True
            ).count()
            if chosen >= challenge.max_final:
                raise ActionRefused(
                    f"Your team already selected {chosen} final submissions (at most "
                    f"{challenge.max_final}); unselect one first.",
                    http_status=409,
                )
        if sub.is_final != selected:
            sub.is_final = selected
            sub.save(update_fields=["is_final"])
            hooks.result_changed(submission=sub)
    return sub


def _reset_for_regrade(queryset: QuerySet[Submission], *, batch: RejudgeBatch | None = None) -> int:
    return queryset.update(
        state=State.QUEUED,
        verdict="",
        message="",
        queued_at=timezone.now(),
        started_at=None,
        finished_at=None,
        attempts=0,
        worker="",
        claim_token="",
        public_score=None,
        private_score=None,
        public_ci_low=None,
        public_ci_high=None,
        extra_scores={},
        fit_seconds=None,
        predict_seconds=None,
        peak_memory_mb=None,
        cpu_seconds=None,
        fp_events={},
        hyperparameters={},
        stdout="",
        stderr="",
        loss_curve=[],
        diagnostics=[],
        sandbox_level="",
        last_error="",
        failed_on=[],
        rejudge_batch=batch,
        priority=scheduling.PRIORITY_REJUDGE,
    )


def _require_organizer(actor: User) -> None:
    if not is_organizer(actor):
        raise ActionRefused("Only organizers can do this.", http_status=403)


def submission_rejudge(*, submission: Submission, actor: User) -> Submission:
    """Grade a finished submission again (after a grader or data fix); the leaderboard
    drops its old score at once and takes the new one when it is graded."""
    _require_organizer(actor)
    with transaction.atomic():
        changed = _reset_for_regrade(
            Submission.objects.filter(pk=submission.pk, state=State.FINISHED)
        )
        if not changed:
            raise ActionRefused("This submission is still being graded.", http_status=409)
        sub = Submission.objects.select_related("challenge").get(pk=submission.pk)
        hooks.result_changed(submission=sub)  # its old score leaves the boards
        scheduling.enqueue_on_commit(sub)
        transaction.on_commit(
            lambda: live.publish(f"submission:{sub.pk}", "state", {"id": sub.pk, "state": "queued"})
        )
    return sub


def challenge_rejudge_all(*, challenge: Challenge, actor: User) -> RejudgeBatch:
    """Grade every finished submission of a challenge again, behind live submissions
    (lowest priority). Progress: rejudge_progress(batch)."""
    _require_organizer(actor)
    with transaction.atomic():
        batch = RejudgeBatch.objects.create(challenge=challenge, actor=actor)
        finished = Submission.objects.filter(challenge=challenge, state=State.FINISHED)
        ids = list(finished.values_list("pk", flat=True))
        batch.total = _reset_for_regrade(Submission.objects.filter(pk__in=ids), batch=batch)
        batch.save(update_fields=["total"])
        hooks.results_reset(challenge=challenge)
        subs = list(Submission.objects.filter(pk__in=ids).order_by("created_at"))
        transaction.on_commit(lambda: [scheduling.send_grading_message(s) for s in subs])
    return batch


def submission_disqualify(*, submission: Submission, actor: User, reason: str) -> Submission:
    """Remove a submission from the leaderboards, with a reason its team sees."""
    _require_organizer(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ActionRefused("Give the reason the team will see.")
    if len(reason) > 300:
        raise ActionRefused("The reason must be at most 300 characters.")
    with transaction.atomic():
        Submission.objects.filter(pk=submission.pk).update(
            disqualified=True, disqualified_reason=reason, is_final=False
        )
        sub = Submission.objects.select_related("challenge").get(pk=submission.pk)
        hooks.result_changed(submission=sub)
        transaction.on_commit(
            lambda: live.publish(
                f"submission:{sub.pk}",
                "disqualified",
                {"id": sub.pk, "reason": sub.disqualified_reason},
            )
        )
    return sub


PLATFORM_EVENTS_KEPT = 500


def platform_event_record(*, source: str, message: str) -> PlatformEvent:
    """Note a platform event for the organizer dashboard; only the latest few hundred are kept."""
    event = PlatformEvent.objects.create(source=source[:50], message=message[:4000])
    old = PlatformEvent.objects.order_by("-created_at").values_list("pk", flat=True)
    stale = list(old[PLATFORM_EVENTS_KEPT : PLATFORM_EVENTS_KEPT + 100])
    if stale:
        PlatformEvent.objects.filter(pk__in=stale).delete()
    return event


REFUSAL_MESSAGE_MAX = 1000
REFUSALS_KEPT = 5000  # per challenge: the room view reads the last hour


def upload_refusal_record(
    *, challenge: Challenge, user: User | AnonymousUser, reason: str, message: str
) -> UploadRefusal | None:
    """Note that an upload by `user` was refused (every route calls this: the submit page,
    the API and so the CLI), for the organizers' room view, and tell that page live.

    Organizers' own uploads (baselines) are not the room's and are not recorded. Only the
    reason and the message the uploader was shown are kept (no code); nothing is charged.
    """
    if not user.is_authenticated or is_organizer(user):
        return None
    team = user_team(user)
    with transaction.atomic():
        refusal = UploadRefusal.objects.create(
            challenge=challenge,
            team=team,
            user=user,
            reason=reason[:40],  # a RefusalReason; an unknown one is shown as it is
            message=message[:REFUSAL_MESSAGE_MAX],
        )
        if refusal.pk % 100 == 0:  # now and then, drop what the room view no longer reads
            old = UploadRefusal.objects.filter(challenge=challenge).order_by("-created_at", "-pk")
            stale = list(old.values_list("pk", flat=True)[REFUSALS_KEPT : REFUSALS_KEPT + 500])
            UploadRefusal.objects.filter(pk__in=stale).delete()
        transaction.on_commit(
            lambda: live.publish(
                live.challenge_topic(challenge.pk, "organizers"),
                "room",
                {"challenge": challenge.pk, "refusal": refusal.reason},
            )
        )
    return refusal
