"""Reads about submissions: visibility, queue position, lists, the organizer dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from hackathon.accounts.models import Team
from hackathon.accounts.selectors import is_organizer, user_team
from hackathon.challenges.models import Challenge
from hackathon.challenges.precision import score_round, score_text
from hackathon.submissions.models import (
    PlatformEvent,
    RejudgeBatch,
    State,
    Submission,
    Verdict,
    WorkerHeartbeat,
)
from hackathon.submissions.scheduling import heartbeat_timeout_s


def submission_visible_to(submission: Submission, user: User | AnonymousUser) -> bool:
    """Its own team's members and organizers; nobody else (not even its scores)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if is_organizer(user):
        return True
    if submission.team_id is None:
        return False
    team = user_team(user)
    return team is not None and team.pk == submission.team_id


def published_scores(submission: Submission, *, with_private: bool) -> dict[str, Any]:
    """The submission's scores as participants may read them, at its challenge's display
    precision (THE rule, `challenges.precision`): public score, its interval, the extra
    metrics, and the private score only when `with_private` (the visibility rule said so).
    Full-precision values stay in the database and organizer exports."""
    digits = submission.challenge.display_precision
    published: dict[str, Any] = {
        "public_score": score_round(submission.public_score, digits),
        "public_score_text": score_text(submission.public_score, digits),
        "public_ci_low": score_round(submission.public_ci_low, digits),
        "public_ci_high": score_round(submission.public_ci_high, digits),
        "extra_scores": {
            str(name): score_round(value, digits)
            for name, value in (submission.extra_scores or {}).items()
        },
    }
    if with_private:
        published["private_score"] = score_round(submission.private_score, digits)
        published["private_score_text"] = score_text(submission.private_score, digits)
    return published


def submission_queue_position(submission: Submission) -> int | None:
    """1 for the next submission its queue will hand out; None unless queued.

    The broker serves each queue by priority, then in order: the same order here."""
    if submission.state != State.QUEUED:
        return None
    queued_at = submission.queued_at or submission.created_at
    ahead = Submission.objects.filter(state=State.QUEUED, queue=submission.queue).filter(
        Q(priority__lt=submission.priority)
        | Q(priority=submission.priority, queued_at__lt=queued_at)
        | Q(priority=submission.priority, queued_at=queued_at, pk__lt=submission.pk)
    )
    return ahead.count() + 1


def submissions_for_team(*, team: Team, challenge: Challenge | None = None) -> QuerySet[Submission]:
    qs = Submission.objects.filter(team=team).select_related("challenge")
    if challenge is not None:
        qs = qs.filter(challenge=challenge)
    return qs.order_by("-created_at")


def submissions_for_user(*, user: User, challenge: Challenge | None = None) -> QuerySet[Submission]:
    """The list page: a member sees the team's; an organizer with no team the baselines."""
    team = user_team(user)
    if team is not None:
        return submissions_for_team(team=team, challenge=challenge)
    qs = Submission.objects.filter(user=user, is_baseline=True).select_related("challenge")
    if challenge is not None:
        qs = qs.filter(challenge=challenge)
    return qs.order_by("-created_at")


def rejudge_progress(batch: RejudgeBatch) -> dict:
    counts = batch.submissions.aggregate(
        finished=Count("pk", filter=Q(state=State.FINISHED)),
        running=Count("pk", filter=Q(state=State.RUNNING)),
    )
    total = batch.total or 0
    done = counts["finished"]
    return {
        "total": total,
        "finished": done,
        "running": counts["running"],
        "percent": round(100 * done / total) if total else 100,
    }


@dataclass(frozen=True)
class WorkerRow:
    worker: WorkerHeartbeat
    online: bool
    seconds_since_seen: float


@dataclass(frozen=True)
class Dashboard:
    queued: int
    queued_by_queue: dict[str, int]
    running: list[Submission]
    workers: list[WorkerRow]
    refusing: list[WorkerRow]
    declining: list[WorkerRow]
    online_accepting: int
    graded_last_hour: int
    throughput_per_minute: float
    finished_by_verdict: list[tuple[str, str, int]]
    internal_errors: list[Submission]
    rejudges: list[tuple[RejudgeBatch, dict]]
    oldest_queued_at: datetime | None
    events: list[PlatformEvent]


def organizer_dashboard(*, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    hour_ago = now - timedelta(hours=1)
    queued = Submission.objects.filter(state=State.QUEUED)
    by_queue = dict(
        queued.values_list("queue")
        .annotate(n=Count("pk"))
        .order_by("queue")
        .values_list("queue", "n")
    )
    cutoff = now - timedelta(seconds=heartbeat_timeout_s())
    rows = [
        WorkerRow(w, w.last_seen >= cutoff, (now - w.last_seen).total_seconds())
        for w in WorkerHeartbeat.objects.select_related("current_submission")
    ]
    finished_hour = Submission.objects.filter(state=State.FINISHED, finished_at__gte=hour_ago)
    graded = finished_hour.count()
    verdicts = (
        finished_hour.exclude(verdict=Verdict.SCORED)
        .values_list("verdict")
        .annotate(n=Count("pk"))
        .order_by("-n")
    )
    oldest = queued.order_by("queued_at").values_list("queued_at", flat=True).first()
    return Dashboard(
        queued=sum(by_queue.values()),
        queued_by_queue=by_queue,
        running=list(
            Submission.objects.filter(state=State.RUNNING)
            .select_related("challenge", "team")
            .order_by("started_at")
        ),
        workers=rows,
        refusing=[r for r in rows if r.online and not r.worker.accepts_work],
        declining=[r for r in rows if r.online and r.worker.accepts_work and r.worker.declining],
        online_accepting=sum(1 for r in rows if r.online and r.worker.accepts_work),
        graded_last_hour=graded,
        throughput_per_minute=round(graded / 60, 2),
        finished_by_verdict=[(v, Verdict(v).label if v else "?", n) for v, n in verdicts],
        internal_errors=list(
            Submission.objects.filter(verdict=Verdict.INTERNAL_ERROR)
            .select_related("challenge", "team")
            .order_by("-finished_at")[:20]
        ),
        rejudges=[
            (b, rejudge_progress(b))
            for b in RejudgeBatch.objects.select_related("challenge").order_by("-created_at")[:5]
        ],
        oldest_queued_at=oldest,
        events=list(PlatformEvent.objects.filter(created_at__gte=now - timedelta(days=1))[:10]),
    )
