"""Every non-terminal state has a way out: the periodic sweeper.

- running on a worker that is gone (no heartbeat for WORKER_HEARTBEAT_TIMEOUT_S), or past
  its time limit plus GRADING_STALE_MARGIN_S on a worker that is no longer on it (or past
  twice that, whatever the worker says): queued again, or after GRADING_MAX_ATTEMPTS ended
  as an internal error (refunded). The claim token changes, so a late result of the old
  attempt is dropped.
- queued for more than GRADING_QUEUED_GRACE_S (or past its `retry_not_before`, after a
  platform fault) with no live message for it in Redis: the message is sent again. Not
  live: none at all (the broker lost it: restarted without persistence, a failed send), or
  only one delivered to a worker more than GRADING_UNACKED_STALE_S ago that still has not
  claimed it (that worker is gone: killed before it started the task, or its countdown
  long passed). The claim makes an extra message harmless. Past CELERY_VISIBILITY_TIMEOUT
  (300 s) Redis itself hands any unacknowledged message out again.

Who sweeps: beat sends the job every SWEEPER_INTERVAL_S to the default queue's worker, and
every grading worker also runs it in a thread on the same interval; `sweep_if_due` lets one
of them through per interval, under a Redis lock (one sweep at a time). Without beat or the
default worker, the grading workers keep recovery going by themselves. With the defaults
(heartbeat every 5 s, silent for 20 s = gone, a sweep every 10 s) a dead worker's work is
back in the queue within 30 s.
"""

from __future__ import annotations

import ast
import base64
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hackathon.submissions import hooks, scheduling
from hackathon.submissions.grading import (
    INTERNAL_ERROR_MESSAGE,
    publish_finished,
    submission_end_after_deaths,
)
from hackathon.submissions.models import State, Submission, Verdict, WorkerHeartbeat
from hackathon.submissions.schedule import SWEEPER_INTERVAL_S
from hackathon.submissions.scheduling import heartbeat_timeout_s

logger = logging.getLogger(__name__)

KOMBU_PRIORITY_SEP = "\x06\x16"
SWEEP_DUE_KEY = "hackathon:sweep:due"  # set for one interval by whoever sweeps
SWEEP_LOCK_KEY = "hackathon:sweep:running"
SWEEP_LOCK_TIMEOUT_S = 300  # a sweeper that died holding the lock frees it by then


@dataclass
class SweepReport:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    resent: list[int] = field(default_factory=list)


def release_claim(sub: Submission, *, reason: str, report: SweepReport, died: bool) -> None:
    """Take a running submission back from its (dead) attempt, by its claim token.

    `died`: its grading process is gone (its worker stopped or restarted): one more death,
    and at GRADING_MAX_WORKER_DEATHS it ends as a refunded internal error that says so."""
    if died and sub.worker_deaths + 1 >= settings.GRADING_MAX_WORKER_DEATHS:
        outcome = submission_end_after_deaths(submission=sub, token=sub.claim_token, detail=reason)
        if outcome != "claim lost":
            report.failed.append(sub.pk)
        return
    detail = f"attempt {sub.attempts} on {sub.worker or '?'}: {reason}"
    deaths = sub.worker_deaths + 1 if died else sub.worker_deaths
    with transaction.atomic():
        claimed = Submission.objects.filter(
            pk=sub.pk, state=State.RUNNING, claim_token=sub.claim_token
        )
        if sub.attempts >= settings.GRADING_MAX_ATTEMPTS:
            if claimed.update(
                state=State.FINISHED,
                verdict=Verdict.INTERNAL_ERROR,
                message=INTERNAL_ERROR_MESSAGE,
                finished_at=timezone.now(),
                counts_toward_quota=False,
                last_error=detail,
                worker_deaths=deaths,
            ):
                stored = Submission.objects.select_related("challenge").get(pk=sub.pk)
                hooks.result_changed(submission=stored)
                transaction.on_commit(lambda: publish_finished(stored))
                report.failed.append(sub.pk)
            return
        if claimed.update(
            state=State.QUEUED,
            queued_at=timezone.now(),
            claim_token="",
            worker="",
            started_at=None,
            last_error=detail,
            worker_deaths=deaths,
        ):
            sub.state = State.QUEUED
            scheduling.enqueue_on_commit(sub)
            report.requeued.append(sub.pk)


def requeue_stale_submissions(
    *, now: datetime | None = None, report: SweepReport | None = None
) -> SweepReport:
    report = report or SweepReport()
    now = now or timezone.now()
    heartbeat_cutoff = now - timedelta(seconds=heartbeat_timeout_s())
    workers = {w.name: w for w in WorkerHeartbeat.objects.all()}
    margin = float(settings.GRADING_STALE_MARGIN_S)
    running = Submission.objects.filter(state=State.RUNNING).select_related("challenge")
    for sub in running:
        worker = workers.get(sub.worker)
        elapsed = (now - sub.started_at).total_seconds() if sub.started_at else float("inf")
        allowed = float(sub.challenge.time_limit_s) + margin
        died = worker is None or worker.last_seen < heartbeat_cutoff
        if worker is None or died:
            reason = f"worker {sub.worker or '?'} stopped sending heartbeats"
        elif elapsed > allowed and worker.current_submission_id != sub.pk:
            reason = f"still running after {elapsed:.0f} s and its worker has moved on"
        elif elapsed > 2 * allowed:
            reason = f"still running after {elapsed:.0f} s (limit {sub.challenge.time_limit_s:g} s)"
        else:
            continue
        logger.warning("sweeper: submission %s %s", sub.pk, reason)
        release_claim(sub, reason=reason, report=report, died=died)
    return report


def requeue_orphans_of(*, worker: str) -> int:
    """At a worker's start: whatever its previous life left running is not running."""
    report = SweepReport()
    for sub in Submission.objects.filter(state=State.RUNNING, worker=worker).select_related(
        "challenge"
    ):
        release_claim(sub, reason="its worker restarted", report=report, died=True)
    return len(report.requeued) + len(report.failed)


def _submission_id_of(raw: bytes | str) -> int | None:
    try:
        message = json.loads(raw)
        if isinstance(message, list):  # the unacked hash holds [message, exchange, key]
            message = message[0]
        if isinstance(message, str):
            message = json.loads(message)
        headers = message.get("headers") or {}
        if headers.get("task") != scheduling.GRADE_TASK:
            return None
        body = message.get("body")
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0] if body else ast.literal_eval(headers.get("argsrepr", "()"))
        return int(args[0])
    except (ValueError, KeyError, IndexError, TypeError, SyntaxError):
        return None


def _redis() -> object:
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5)


def pending_message_submission_ids(*, now: float | None = None) -> set[int] | None:
    """Submission ids with a live grading message in Redis: waiting in a queue, or delivered
    (unacked) less than GRADING_UNACKED_STALE_S ago; None when the broker cannot be
    inspected (then nothing is re-sent)."""
    import redis

    now = time.time() if now is None else now
    stale_after = float(getattr(settings, "GRADING_UNACKED_STALE_S", 30.0))
    try:
        client = _redis()
        keys = [
            q if not p else f"{q}{KOMBU_PRIORITY_SEP}{p}"
            for q in scheduling.GRADING_QUEUES
            for p in scheduling.PRIORITY_STEPS
        ]
        found: set[int] = set()
        for key in keys:
            for raw in client.lrange(key, 0, -1):  # type: ignore[attr-defined]
                if (sid := _submission_id_of(raw)) is not None:
                    found.add(sid)
        delivered = dict(client.zrange("unacked_index", 0, -1, withscores=True))  # type: ignore[attr-defined]
        for tag, raw in client.hgetall("unacked").items():  # type: ignore[attr-defined]
            if now - float(delivered.get(tag, now)) > stale_after:
                continue  # its worker is gone or holds it past any countdown: lost
            if (sid := _submission_id_of(raw)) is not None:
                found.add(sid)
        return found
    except redis.RedisError:
        logger.warning("sweeper could not inspect the broker", exc_info=True)
        return None


def resend_lost_messages(
    *, now: datetime | None = None, report: SweepReport | None = None
) -> SweepReport:
    report = report or SweepReport()
    now = now or timezone.now()
    grace = float(getattr(settings, "GRADING_QUEUED_GRACE_S", 20.0))
    long_queued = Q(retry_not_before__isnull=True, queued_at__lt=now - timedelta(seconds=grace))
    retry_due = Q(retry_not_before__lte=now)
    waiting = list(
        Submission.objects.filter(long_queued | retry_due, state=State.QUEUED).order_by(
            "priority", "queued_at"
        )
    )
    if not waiting:
        return report
    pending = pending_message_submission_ids()
    if pending is None:
        return report
    for sub in waiting:
        if sub.pk not in pending and scheduling.send_grading_message(sub):
            report.resent.append(sub.pk)
    if report.resent:
        logger.warning("sweeper re-sent %d lost grading messages", len(report.resent))
    return report


def sweep_submissions() -> SweepReport:
    report = requeue_stale_submissions()
    return resend_lost_messages(report=report)


def sweep_if_due(*, interval_s: float | None = None) -> SweepReport | None:
    """Sweep unless someone did within the interval or is sweeping now; None if skipped.

    Beat's job and every grading worker's sweep thread call this: one sweep per interval
    across the installation, one at a time. Without Redis nothing is swept (nothing could
    be sent either); the database is left as it is, and the next sweep finds it."""
    import redis

    interval = float(interval_s if interval_s is not None else SWEEPER_INTERVAL_S)
    token = uuid.uuid4().hex
    try:
        client = _redis()
        # Due once per interval (a little less, so that a steady sweeper keeps its pace).
        if not client.set(SWEEP_DUE_KEY, token, nx=True, px=max(100, int(interval * 900))):  # type: ignore[attr-defined]
            return None
        if not client.set(SWEEP_LOCK_KEY, token, nx=True, ex=SWEEP_LOCK_TIMEOUT_S):  # type: ignore[attr-defined]
            return None
    except redis.RedisError:
        logger.warning("sweep skipped: Redis unavailable")
        return None
    try:
        return sweep_submissions()
    finally:
        try:
            # Release only our own lock (it may have expired and been taken by another).
            client.eval(  # type: ignore[attr-defined]
                "if redis.call('get', KEYS[1]) == ARGV[1] then "
                "return redis.call('del', KEYS[1]) end return 0",
                1,
                SWEEP_LOCK_KEY,
                token,
            )
        except redis.RedisError:
            pass
