"""The organizers' room view: what the room is struggling with, right now (reads only).

Everything here is computed from submissions the platform graded (verdicts, the trusted
diagnostics read from measured loss curves, queue timestamps), never from what a
solution claims. Baselines are left out: they are the organizers' own runs.

Upload refusals (a file refused before it became a submission: the pre-check, a quota,
the file itself) are recorded by every route (`submissions.services.upload_refusal_record`)
and counted here by reason, by team, over the last hour; their lines link to the list of
those refusals (organizers only).

Live: every stored result's hint on the challenge's organizers channel carries its verdict
and diagnostic codes (`leaderboard_record_result`), and `submission_create` sends a `room`
event there for each queued submission, as does each recorded refusal; the page refetches
its body on either.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from hackathon.accounts.models import Team
from hackathon.challenges.models import Challenge
from hackathon.submissions.models import (
    RefusalReason,
    State,
    Submission,
    UploadRefusal,
    Verdict,
)

WINDOWS_MIN = (10, 30, 60)
IDLE_MIN = 30  # a team with no submission for this long is listed as idle
RATE_MIN = 10  # submissions per minute are averaged over this many minutes
MAX_LINKS = 50  # submissions linked per line; the count is always exact


def _ids(ids: list[int]) -> list[int]:
    return sorted(ids, reverse=True)[:MAX_LINKS]


def room_snapshot(*, challenge: Challenge, now: datetime | None = None) -> dict[str, Any]:
    """Verdict mix per window, diagnostics and upload refusals by team, idle teams, rate and
    queue wait."""
    now = now or timezone.now()
    horizon = now - timedelta(minutes=max(WINDOWS_MIN))
    submissions = Submission.objects.filter(
        challenge=challenge, is_baseline=False, team__isnull=False
    )
    finished = list(
        submissions.filter(state=State.FINISHED, finished_at__gte=horizon).values(
            "pk", "team_id", "verdict", "diagnostics", "finished_at"
        )
    )
    teams = _room_teams(submissions)
    no_score, idle = _teams_behind(submissions, teams, now=now)
    return {
        "challenge": challenge.pk,
        "at": now.isoformat(),
        "windows": [_verdict_window(finished, now=now, minutes=m) for m in WINDOWS_MIN],
        "diagnostics": _diagnostics(finished),
        "refusals": _refusals(challenge, horizon=horizon),
        "refusals_minutes": max(WINDOWS_MIN),
        "teams_total": len(teams),
        "no_score": no_score,
        "idle": idle,
        "idle_minutes": IDLE_MIN,
        "rate": _rate(submissions, now=now),
        "queue": _queue(submissions, now=now, horizon=horizon),
    }


def _verdict_window(
    finished: Sequence[Mapping[str, Any]], *, now: datetime, minutes: int
) -> dict[str, Any]:
    """The verdicts of the results of the last `minutes`, most frequent first."""
    since = now - timedelta(minutes=minutes)
    rows = [r for r in finished if r["finished_at"] and r["finished_at"] >= since]
    by_verdict: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        by_verdict[row["verdict"] or Verdict.INTERNAL_ERROR].append(row["pk"])
    return {
        "minutes": minutes,
        "total": len(rows),
        "verdicts": [
            {
                "verdict": verdict,
                "label": Verdict(verdict).label,
                "count": len(ids),
                "submissions": _ids(ids),
            }
            for verdict, ids in sorted(by_verdict.items(), key=lambda kv: -len(kv[1]))
        ],
    }


def _diagnostics(finished: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The teams whose graded runs in the last hour carried each finding, most teams first."""
    diag_teams: dict[str, set[int]] = defaultdict(set)
    diag_subs: dict[str, list[int]] = defaultdict(list)
    titles: dict[str, str] = {}
    for row in finished:
        for finding in row["diagnostics"] or []:
            code = str(finding.get("code", ""))
            if not code:
                continue
            titles.setdefault(code, str(finding.get("title") or code))
            diag_teams[code].add(row["team_id"])
            if row["pk"] not in diag_subs[code]:
                diag_subs[code].append(row["pk"])
    return [
        {
            "code": code,
            "title": titles[code],
            "teams": len(team_ids),
            "submissions": _ids(diag_subs[code]),
        }
        for code, team_ids in sorted(diag_teams.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]


def _refusals(challenge: Challenge, *, horizon: datetime) -> list[dict[str, Any]]:
    """Refused at upload since `horizon`: by reason, the teams (or team-less people) it
    happened to, most teams first."""
    refused_by: dict[str, set[str]] = defaultdict(set)
    refused_count: Counter[str] = Counter()
    for reason, team_id, user_id in UploadRefusal.objects.filter(
        challenge=challenge, created_at__gte=horizon
    ).values_list("reason", "team_id", "user_id"):
        refused_by[reason].add(f"team:{team_id}" if team_id else f"user:{user_id}")
        refused_count[reason] += 1
    labels = dict(RefusalReason.choices)
    return [
        {
            "reason": reason,
            "label": labels.get(reason, reason),
            "teams": len(who),
            "uploads": refused_count[reason],
        }
        for reason, who in sorted(refused_by.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]


def _room_teams(submissions: QuerySet[Submission]) -> list[Team]:
    """Teams are platform-wide, not per challenge: every team with a member, or with a
    submission to this challenge."""
    return list(
        Team.objects.filter(Q(memberships__isnull=False) | Q(pk__in=submissions.values("team_id")))
        .distinct()
        .order_by("name")
    )


def _teams_behind(
    submissions: QuerySet[Submission], teams: list[Team], *, now: datetime
) -> tuple[list[dict], list[dict]]:
    """The teams with no scored submission yet, and those with none for IDLE_MIN minutes."""
    scored_team_ids = set(
        submissions.filter(verdict=Verdict.SCORED)
        .order_by()
        .values_list("team_id", flat=True)
        .distinct()
    )
    # Each team's latest submission: its time per team (GROUP BY), then the rows at those
    # times; never one row per submission of the challenge.
    last_at: dict[int, datetime] = dict(
        submissions.order_by()
        .values("team_id")
        .annotate(last=Max("created_at"))
        .values_list("team_id", "last")
    )
    last_pk: dict[int, int] = {}
    for pk, team_id, created_at in (
        submissions.filter(created_at__in=set(last_at.values()))
        .order_by("pk")
        .values_list("pk", "team_id", "created_at")
    ):
        if last_at.get(team_id) == created_at:
            last_pk[team_id] = pk
    idle_since = now - timedelta(minutes=IDLE_MIN)
    no_score, idle = [], []
    for team in teams:
        entry = {"id": team.pk, "name": team.name, "last_submission": last_pk.get(team.pk)}
        if team.pk not in scored_team_ids:
            no_score.append(entry)
        if team.pk not in last_at or last_at[team.pk] < idle_since:
            idle.append(entry)
    return no_score, idle


def _rate(submissions: QuerySet[Submission], *, now: datetime) -> dict[str, Any]:
    """Submissions per minute over RATE_MIN, and a bar per minute of the last hour."""
    recent = submissions.filter(created_at__gte=now - timedelta(minutes=RATE_MIN)).count()
    per_minute = Counter(
        int((now - created).total_seconds() // 60)
        for created in submissions.filter(
            created_at__gte=now - timedelta(minutes=max(WINDOWS_MIN))
        ).values_list("created_at", flat=True)
    )
    series = [per_minute.get(m, 0) for m in reversed(range(max(WINDOWS_MIN)))]
    peak = max(series) or 1
    return {
        "minutes": RATE_MIN,
        "per_minute": round(recent / RATE_MIN, 2),
        "series": series,
        "bars": [
            {
                "x": x,
                "count": n,
                "height": round(10 * n / peak, 2),
                "y": round(10 - 10 * n / peak, 2),
            }
            for x, n in enumerate(series)
        ],
    }


def _queue(
    submissions: QuerySet[Submission], *, now: datetime, horizon: datetime
) -> dict[str, Any]:
    """What waits now, and how long the runs started in the last hour waited."""
    started = submissions.filter(started_at__gte=horizon).values_list(
        "created_at", "queued_at", "started_at"
    )
    waits = sorted(
        max(0.0, (begun - (queued or created)).total_seconds())
        for created, queued, begun in started
        if begun is not None  # the filter says so; the type does not
    )
    waiting = list(
        submissions.filter(state=State.QUEUED).values_list("pk", "created_at", "queued_at")
    )
    oldest = max(
        ((now - (queued or created)).total_seconds() for _, created, queued in waiting),
        default=None,
    )
    return {
        "waiting": len(waiting),
        "waiting_submissions": _ids([pk for pk, _, _ in waiting]),
        "oldest_wait_s": None if oldest is None else round(oldest, 1),
        "started_last_hour": len(waits),
        "median_wait_s": round(waits[len(waits) // 2], 1) if waits else None,
        "max_wait_s": round(waits[-1], 1) if waits else None,
    }


REFUSALS_LISTED = 200


def room_refusals(
    *, challenge: Challenge, reason: str = "", minutes: int | None = None
) -> list[UploadRefusal]:
    """The latest upload refusals of the challenge (of one reason, within `minutes`)."""
    refusals = UploadRefusal.objects.filter(challenge=challenge)
    if reason:
        refusals = refusals.filter(reason=reason)
    if minutes:
        refusals = refusals.filter(created_at__gte=timezone.now() - timedelta(minutes=minutes))
    return list(
        refusals.select_related("team", "user").order_by("-created_at", "-pk")[:REFUSALS_LISTED]
    )
