"""Grading one submission, exactly once: claim, run the grader, store the result.

- The claim is a conditional UPDATE queued -> running that also sets a fresh claim token:
  a duplicate or redelivered message finds nothing to claim and does nothing. Its commit
  does not wait for the disk (rowsql.non_durable): a claim lost in a database crash leaves
  the submission queued, the sweeper sends it again, and the late result of the attempt
  that had it is refused by its token. The result's commit does wait.
- The result is written by a conditional UPDATE on that token, in the same transaction as
  the leaderboard change: if the sweeper re-queued the submission meanwhile (the worker
  looked dead), the old attempt's late result is dropped.
- Before claiming, the worker checks that its disks can hold the run (capacity.py); if
  not, it passes the message on (another worker takes it) and says why on the dashboard.
- A platform fault (grader.InternalError, a broken dataset cache, a database or broker
  error) puts the submission back in the queue with `retry_not_before` set by a backoff
  (GRADING_RETRY_BACKOFF_S doubling, at most GRADING_RETRY_BACKOFF_MAX_S); the sweeper
  sends its message when that time comes, on any worker. No grading message is ever sent
  with a countdown: a delayed message would sit in one worker's memory and die with it.
  It ends as an internal error (refunded, shown to organizers) only after
  GRADING_MAX_ATTEMPTS attempts and GRADING_RETRY_DEADLINE_S since its first platform
  fault, so a disk or database that comes back within that time costs the team nothing.
- A database that goes away for a while is waited for (bounded), not blamed on anyone.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

import grader
from grader.contract import DEFAULT_ALLOWED_IMPORTS, GradingJob, GradingResult, Limits
from grader.contract import Verdict as GraderVerdict
from grader.grading import valid_text
from grader.optimizer_track import grade_optimizer
from hackathon import live, rowsql
from hackathon.challenges.datasets import challenge_dataset_paths
from hackathon.challenges.optimizer import optimizer_job
from hackathon.challenges.precision import score_round
from hackathon.submissions import capacity, hooks, scheduling
from hackathon.submissions.models import State, Submission, Verdict, WorkerHeartbeat
from hackathon.submissions.scheduling import heartbeat_timeout_s, send_grading_message

logger = logging.getLogger(__name__)

T = TypeVar("T")
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)
TEXT_CAP = 64 * 1024
CURVE_POINTS_LIVE = 400
PROGRESS_MIN_INTERVAL_S = 0.5
DEFER_PAUSE_S = 0.5
DECLINE_PAUSE_S = 5.0  # nobody else can take it: pass it on less often

INTERNAL_ERROR_MESSAGE = (
    "The platform could not grade this submission (an internal error, not a fault of your "
    "code). It was not counted against your quota; the organizers can see the details."
)


def with_db_retry(fn: Callable[[], T], *, what: str, budget_s: float | None = None) -> T:
    """Run fn, waiting out a database that is briefly unreachable (restart, failover)."""
    budget = budget_s if budget_s is not None else getattr(settings, "GRADING_DB_RETRY_S", 60.0)
    deadline = time.monotonic() + budget
    delay = 0.25
    while True:
        try:
            return fn()
        except TRANSIENT_DB_ERRORS:
            if time.monotonic() + delay > deadline:
                raise
            logger.warning("database unavailable while %s; retrying in %.1f s", what, delay)
            try:
                connection.close()
            except DatabaseError:
                pass
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def clean_text(text: str | None, cap: int = TEXT_CAP) -> str:
    """What the database can store: valid UTF-8 (a lone surrogate cannot be encoded), no NUL
    (PostgreSQL refuses it), bounded length."""
    text = valid_text(text).replace("\x00", "\\0")
    return text if len(text) <= cap else text[:cap] + "\n[... truncated]"


def clean_curve(values: list | None) -> list[float | None]:
    """JSON has no NaN or infinity: a diverged point is stored as null (drawn as a gap)."""
    out: list[float | None] = []
    for value in values or []:
        try:
            number = float(value)
        except (TypeError, ValueError):
            out.append(None)
            continue
        out.append(number if math.isfinite(number) else None)
    return out


def json_safe(value: Any) -> Any:
    """A JSON value PostgreSQL accepts: no NaN or infinity, no NUL in strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return valid_text(value).replace("\x00", "\\0")
    if isinstance(value, dict):
        return {valid_text(str(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, bool | int):
        return value
    return str(value)


def _clean_number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def downsample(curve: list, points: int = CURVE_POINTS_LIVE) -> list:
    if len(curve) <= points:
        return list(curve)
    step = len(curve) / points
    picked = [curve[int(i * step)] for i in range(points - 1)]
    return picked + [curve[-1]]


# --- claim ------------------------------------------------------------------------------
def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_UNREAD: Any = object()

WORKER_DEATHS_MESSAGE = (
    "The platform could not grade this submission: its grading process died {n} times while "
    "running it (killed, for example, by the system running out of memory). It was not "
    "graded again and not counted against your quota; the organizers can see the details."
)


def queued_submission(submission_id: int) -> Submission | None:
    """The submission with its challenge if it is queued (one query, plain SQL: the ORM's
    select_related of these two wide models cost more CPU than the rest of the claim), else
    None."""
    found = rowsql.get(
        Submission, where={"id": submission_id, "state": State.QUEUED}, related=("challenge",)
    )
    return found if isinstance(found, Submission) else None


def submission_claim(
    *, submission_id: int, worker: str, queued: Submission | None = _UNREAD
) -> tuple[Submission, str] | None:
    """Take a queued submission for this attempt; None when there is nothing to take.

    `queued` is the row as `queued_submission` read it, if the caller has it: it is claimed
    with one conditional UPDATE (still queued, no attempt since it was read) and returned
    brought up to date, without reading it again.

    Also takes over a submission "running" under this same worker name whose grading
    process is dead: a pool child killed mid-grade, whose message the worker's main
    process hands out again at once (reject_on_worker_lost). That counts as one death of
    its grading process; after GRADING_MAX_WORKER_DEATHS the submission ends as a refunded
    internal error instead of taking workers down until GRADING_RETRY_DEADLINE_S.
    """
    token = uuid.uuid4().hex
    if queued is _UNREAD:
        queued = with_db_retry(lambda: queued_submission(submission_id), what="claiming")
    if queued is not None:
        now = timezone.now()
        if queued.retry_not_before is not None and queued.retry_not_before > now:
            return None  # backing off after a platform fault: the sweeper sends it later
        fields = {
            "state": State.RUNNING,
            "attempts": queued.attempts + 1,
            "claim_token": token,
            "worker": worker[:200],
            "worker_pid": os.getpid(),
            "started_at": now,
        }
        where = {"id": submission_id, "state": State.QUEUED, "attempts": queued.attempts}

        def claim() -> int:
            with rowsql.non_durable():  # lost in a database crash: queued again, see there
                return rowsql.update(Submission, where=where, values=fields)

        if with_db_retry(claim, what="claiming"):
            for name, value in fields.items():
                setattr(queued, name, value)
            return queued, token
    if with_db_retry(lambda: _take_over_orphan(submission_id, worker, token), what="claiming") != 1:
        return None
    submission = with_db_retry(
        lambda: Submission.objects.select_related("challenge").get(pk=submission_id),
        what="loading the claimed submission",
    )
    return submission, token


def _take_over_orphan(submission_id: int, worker: str, token: str) -> int:
    """Claim the submission if a dead grading process of this worker left it running."""
    orphan = (
        Submission.objects.filter(pk=submission_id, state=State.RUNNING, worker=worker[:200])
        .exclude(worker_pid=os.getpid())
        .values("claim_token", "worker_pid", "attempts", "worker_deaths")
        .first()
    )
    if orphan is None or _pid_alive(orphan["worker_pid"]):
        return 0
    deaths = orphan["worker_deaths"] + 1
    if deaths >= settings.GRADING_MAX_WORKER_DEATHS:
        stale = Submission.objects.select_related("challenge").get(pk=submission_id)
        submission_end_after_deaths(
            submission=stale,
            token=orphan["claim_token"],
            detail=f"its grading process {orphan['worker_pid']} died",
        )
        return 0
    if orphan["attempts"] >= settings.GRADING_MAX_ATTEMPTS:
        # Its last attempt died with its process: retried later, or ended (refunded).
        stale = Submission.objects.select_related("challenge").get(pk=submission_id)
        Submission.objects.filter(pk=submission_id, claim_token=orphan["claim_token"]).update(
            worker_deaths=deaths
        )
        stale.worker_deaths = deaths
        submission_fail_internal(
            submission=stale, token=orphan["claim_token"], detail="its grading process died"
        )
        return 0
    logger.warning(
        "submission %s: its grading process %s died; grading it again",
        submission_id,
        orphan["worker_pid"],
    )
    return Submission.objects.filter(
        pk=submission_id, state=State.RUNNING, claim_token=orphan["claim_token"]
    ).update(
        started_at=timezone.now(),
        state=State.RUNNING,
        attempts=F("attempts") + 1,
        worker_deaths=deaths,
        claim_token=token,
        worker=worker[:200],
        worker_pid=os.getpid(),
    )


# --- running ------------------------------------------------------------------------------
def build_job(submission: Submission, paths: dict) -> GradingJob:
    challenge = submission.challenge
    return GradingJob(
        source=submission.code,
        task=challenge.task,
        metric=challenge.metric,
        train_X=paths["train_X"],
        train_y=paths["train_y"],
        test_X=paths["test_X"],
        test_y=paths["test_y"],
        public_mask=paths["public_mask"],
        n_classes=challenge.n_classes,
        extra_metrics=tuple(challenge.extra_metrics or ()),
        allowed_imports=tuple(challenge.allowed_imports) or DEFAULT_ALLOWED_IMPORTS,
        seed=challenge.seed,
        limits=Limits(time_s=float(challenge.time_limit_s), memory_mb=int(challenge.memory_mb)),
        gradient_descent_only=challenge.gradient_descent_only,
        min_loss_curve_points=(
            challenge.min_loss_curve_points if challenge.gradient_descent_only else 0
        ),
    )


class ProgressPublisher:
    """The grader's progress callback: pushes the growing loss curve, at most twice a second."""

    def __init__(self, submission_id: int) -> None:
        self.topic = f"submission:{submission_id}"
        self.submission_id = submission_id
        self._last = 0.0
        self._lock = threading.Lock()

    def __call__(self, loss_curve: list) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last < PROGRESS_MIN_INTERVAL_S:
                return
            self._last = now
        curve = clean_curve(list(loss_curve))
        live.publish(
            self.topic,
            "progress",
            {"id": self.submission_id, "epochs": len(curve), "loss_curve": downsample(curve)},
        )


class OptimizerProgressPublisher:
    """The optimizer track's progress callback: the current instance's trusted curves (the
    driver puts curves in public instances' events only, about twice a second)."""

    def __init__(self, submission_id: int) -> None:
        self.topic = f"submission:{submission_id}"
        self.submission_id = submission_id

    def __call__(self, event: dict) -> None:
        live.publish(
            self.topic,
            "progress",
            json_safe({**event, "id": self.submission_id, "epochs": event.get("steps", 0)}),
        )


def _grade_in_sandbox(submission: Submission) -> GradingResult:
    cache_dir = settings.DATASET_CACHE_DIR
    paths = challenge_dataset_paths(submission.challenge, cache_dir)
    if submission.challenge.is_optimizer_track:
        job = optimizer_job(submission.challenge, source=submission.code, paths=paths)
        return grade_optimizer(job, progress=OptimizerProgressPublisher(submission.pk))
    job = build_job(submission, paths)
    return grader.grade(job, progress=ProgressPublisher(submission.pk))


def should_defer_to_another_worker(*, submission_id: int, worker: str) -> bool:
    """True when this worker already failed this submission with a platform fault and
    another live worker that takes its queue has not: let that one have the retry.

    Bounded: after GRADING_DEFER_MAX_S in the queue, any worker takes it (the other
    worker may be gone without its heartbeat having expired yet)."""
    queued = Submission.objects.filter(pk=submission_id, state=State.QUEUED).first()
    return queued is not None and _defer(queued, worker)


def _defer(queued: Submission, worker: str) -> bool:
    if worker not in (queued.failed_on or []):
        return False
    now = timezone.now()
    waited = (now - queued.queued_at).total_seconds() if queued.queued_at else 0.0
    if waited > float(getattr(settings, "GRADING_DEFER_MAX_S", 120.0)):
        return False
    others = WorkerHeartbeat.objects.filter(
        accepts_work=True, last_seen__gte=now - timedelta(seconds=heartbeat_timeout_s())
    ).exclude(name__in=queued.failed_on)
    return any(queued.queue in w.queues.split(",") for w in others)


def submission_grade(*, submission_id: int, worker: str, sandbox_level: str = "") -> str:
    """Grade one submission if it is still queued. Returns what happened (for logs).

    One read of the queued row (with its challenge) serves the checks before the claim
    (where to retry, the disk space) and the claim itself."""
    queued = with_db_retry(
        lambda: queued_submission(submission_id), what="reading the submission to grade"
    )
    if queued is not None:
        if with_db_retry(lambda: _defer(queued, worker), what="checking where to retry"):
            # This process is busy with this message, not polling: the re-sent message goes
            # to a worker waiting on the queue. The pause keeps a lone busy peer from a hot
            # loop.
            time.sleep(DEFER_PAUSE_S)
            send_grading_message(queued)
            return "left to another worker (this one failed it with a platform fault)"
        shortfall = with_db_retry(
            lambda: capacity.disk_shortfall(queued.challenge), what="checking the space for a run"
        )
        if shortfall:
            return _decline(submission_id=submission_id, worker=worker, why=shortfall)
    claimed = submission_claim(submission_id=submission_id, worker=worker, queued=queued)
    if claimed is None:
        return "nothing to claim"
    submission, token = claimed
    # Claimed: this worker takes work again (whichever of its processes passed work on).
    _set_current(worker, submission.pk, taking_work=True)
    live.publish(
        f"submission:{submission.pk}",
        "state",
        {
            "id": submission.pk,
            "state": State.RUNNING,
            "started_at": submission.started_at.isoformat(),
        },
    )
    try:
        try:
            result = _grade_in_sandbox(submission)
        except TRANSIENT_DB_ERRORS:
            # The dataset could not be fetched from the database: a platform fault.
            logger.warning("database error preparing submission %s", submission.pk, exc_info=True)
            return submission_fail_internal(
                submission=submission,
                token=token,
                detail="database unavailable while preparing the data",
            )
        except Exception as exc:  # noqa: BLE001 - every exception here is a platform fault
            logger.exception("internal error grading submission %s", submission.pk)
            return submission_fail_internal(
                submission=submission, token=token, detail=f"{type(exc).__name__}: {exc}"
            )
        if result.verdict == GraderVerdict.INTERNAL_ERROR:
            return submission_fail_internal(
                submission=submission, token=token, detail=result.message or "internal error"
            )
        if not result.sandbox_level:
            result.sandbox_level = sandbox_level
        try:
            return submission_store_result(submission=submission, token=token, result=result)
        except TRANSIENT_DB_ERRORS:
            raise  # the database stayed away past GRADING_DB_RETRY_S: the sweeper takes over
        except DatabaseError as exc:
            # A result the database refuses is a platform bug, never the team's fault.
            logger.exception("submission %s: result could not be stored", submission.pk)
            return submission_fail_internal(
                submission=submission, token=token, detail=f"storing the result: {exc}"
            )
    finally:
        _set_current(worker, None)


def _decline(*, submission_id: int, worker: str, why: str) -> str:
    """Pass the message on: this worker cannot hold the run; no attempt is used. The
    dashboard says why until one of the worker's processes claims a run again."""
    logger.warning("worker %s passes submission %s on: %s", worker, submission_id, why)
    try:
        WorkerHeartbeat.objects.filter(name=worker).update(declining=why[:500])
        others = (
            WorkerHeartbeat.objects.filter(
                accepts_work=True,
                declining="",
                last_seen__gte=timezone.now() - timedelta(seconds=heartbeat_timeout_s()),
            )
            .exclude(name=worker)
            .exists()
        )
    except DatabaseError:
        others = False
    # While this process waits, the message is back in the queue only after it: a worker
    # with space takes it then; alone, this one checks again every DECLINE_PAUSE_S.
    time.sleep(DEFER_PAUSE_S if others else DECLINE_PAUSE_S)
    submission = Submission.objects.filter(pk=submission_id, state=State.QUEUED).first()
    if submission is not None:
        send_grading_message(submission)
    return f"passed on: {why}"


def _set_current(worker: str, submission_id: int | None, *, taking_work: bool = False) -> None:
    """Record what the worker grades now; `taking_work` also clears its "passing work on"
    note (in the same statement): the note is the worker's, shared by its processes, so
    whichever of them claims a run clears it, not only the one that wrote it."""
    values: dict[str, Any] = {"current_submission": submission_id}
    if taking_work:
        values["declining"] = ""
    try:
        with rowsql.non_durable():  # the dashboard's view: nothing to keep through a crash
            rowsql.update(WorkerHeartbeat, where={"name": worker}, values=values)
    except DatabaseError:
        logger.warning("could not record the current submission of %s", worker)


# --- results ------------------------------------------------------------------------------
def _result_fields(result: GradingResult) -> dict:
    ci = result.public_ci or (None, None)
    return {
        "state": State.FINISHED,
        "verdict": GraderVerdict(result.verdict).value,
        "message": clean_text(result.message, 16 * 1024),
        "finished_at": timezone.now(),
        "public_score": _clean_number(result.public_score),
        "private_score": _clean_number(result.private_score),
        "public_ci_low": _clean_number(ci[0]),
        "public_ci_high": _clean_number(ci[1]),
        "extra_scores": {str(k): _clean_number(v) for k, v in (result.extra_scores or {}).items()},
        "fit_seconds": _clean_number(result.fit_seconds),
        "predict_seconds": _clean_number(result.predict_seconds),
        "peak_memory_mb": _clean_number(result.peak_memory_mb),
        "cpu_seconds": _clean_number(result.cpu_seconds),
        "fp_events": json_safe(dict(result.fp_events or {})),
        "hyperparameters": json_safe(dict(result.hyperparameters or {})),
        "stdout": clean_text(result.stdout),
        "stderr": clean_text(result.stderr),
        "loss_curve": clean_curve(result.loss_curve)[:100_000],
        "training_loss": json_safe(dict(result.training_loss or {})),
        "determinants": {str(k): int(v) for k, v in (result.determinants or {}).items()},
        "diagnostics": json_safe(list(result.diagnostics or [])),
        "instances": json_safe(list(result.instances or [])),
        "sandbox_level": str(result.sandbox_level or "")[:20],
    }


def submission_store_result(*, submission: Submission, token: str, result: GradingResult) -> str:
    """Write the result if this attempt still holds the claim, with the leaderboard change
    in the same transaction; live events go out after commit.

    `submission` is the instance the claim loaded (with its challenge): the leaderboard and
    the events read its unchanging fields and the result from it, not from a re-read row."""
    fields = _result_fields(result)
    claimed = {"id": submission.pk, "state": State.RUNNING, "claim_token": token}

    def store() -> Submission | None:
        with transaction.atomic():
            if rowsql.update(Submission, where=claimed, values=fields) != 1:
                return None
            stored = copy.copy(submission)
            for name, value in fields.items():
                setattr(stored, name, value)
            hooks.result_changed(submission=stored)
            transaction.on_commit(lambda: _after_store(stored))
            return stored

    stored = with_db_retry(store, what="storing a result")
    if stored is None:
        logger.warning("submission %s: claim lost, result of this attempt dropped", submission.pk)
        return "claim lost"
    return f"finished: {stored.verdict}"


def _after_store(submission: Submission) -> None:
    publish_finished(submission)
    scheduling.send_integrity_check(submission.pk)


def publish_finished(submission: Submission) -> None:
    # Never the private score here: the submission page shows it only after reveal.
    live.publish(
        f"submission:{submission.pk}",
        "finished",
        {
            "id": submission.pk,
            "state": submission.state,
            "verdict": submission.verdict,
            "verdict_label": Verdict(submission.verdict).label if submission.verdict else "",
            "message": submission.message[:2000],
            # At display precision, as every other channel publishes it.
            "public_score": score_round(
                submission.public_score, submission.challenge.display_precision
            ),
            "fit_seconds": submission.fit_seconds,
            "predict_seconds": submission.predict_seconds,
            "peak_memory_mb": submission.peak_memory_mb,
            "epochs": len(submission.loss_curve or []),
        },
    )


def retry_backoff_s(attempt: int) -> float:
    base = float(getattr(settings, "GRADING_RETRY_BACKOFF_S", 5.0))
    cap = float(getattr(settings, "GRADING_RETRY_BACKOFF_MAX_S", 300.0))
    return min(base * (2 ** min(max(0, attempt - 1), 30)), cap)


def _end_as_internal_error(
    submission: Submission, token: str, *, message: str, detail: str, **extra: Any
) -> int:
    """End the attempt holding `token` as a refunded internal error (never counts toward a
    quota); the leaderboard hears of it in the same transaction. 1 if it did, 0 if the
    claim was lost meanwhile."""
    with transaction.atomic():
        changed = Submission.objects.filter(
            pk=submission.pk, state=State.RUNNING, claim_token=token
        ).update(
            state=State.FINISHED,
            verdict=Verdict.INTERNAL_ERROR,
            message=message,
            finished_at=timezone.now(),
            counts_toward_quota=False,
            last_error=detail,
            retry_not_before=None,
            **extra,
        )
        if changed:
            stored = Submission.objects.select_related("challenge").get(pk=submission.pk)
            hooks.result_changed(submission=stored)
            transaction.on_commit(lambda: publish_finished(stored))
        return changed


def submission_end_after_deaths(*, submission: Submission, token: str, detail: str) -> str:
    """Its grading process died once more, the GRADING_MAX_WORKER_DEATHS-th time: a
    submission that kills the process grading it would otherwise take a worker down on
    every retry until GRADING_RETRY_DEADLINE_S. It ends now as a refunded internal error
    that says so."""
    deaths = (submission.worker_deaths or 0) + 1
    logger.error(
        "submission %s: its grading process died %s times; ended as an internal error",
        submission.pk,
        deaths,
    )
    detail = clean_text(
        f"attempt {submission.attempts} on {submission.worker}: {detail} "
        f"(death {deaths} of at most {settings.GRADING_MAX_WORKER_DEATHS})",
        8192,
    )
    changed = with_db_retry(
        lambda: _end_as_internal_error(
            submission,
            token,
            message=WORKER_DEATHS_MESSAGE.format(n=deaths),
            detail=detail,
            worker_deaths=deaths,
        ),
        what="ending a submission whose grading process keeps dying",
    )
    return "internal error (its grading process keeps dying)" if changed else "claim lost"


def submission_fail_internal(*, submission: Submission, token: str, detail: str) -> str:
    """A platform fault on this attempt: queue again after a backoff (the sweeper sends it
    then), or, once GRADING_MAX_ATTEMPTS are used and GRADING_RETRY_DEADLINE_S has passed
    since the first fault, end as an internal error (refunded: never counts toward a quota)."""
    detail = clean_text(f"attempt {submission.attempts} on {submission.worker}: {detail}", 8192)
    now = timezone.now()
    since = submission.failing_since or now
    deadline = float(getattr(settings, "GRADING_RETRY_DEADLINE_S", 3600.0))
    final = (
        submission.attempts >= settings.GRADING_MAX_ATTEMPTS
        and (now - since).total_seconds() >= deadline
    )

    def record() -> int:
        if final:
            return _end_as_internal_error(
                submission, token, message=INTERNAL_ERROR_MESSAGE, detail=detail
            )
        return Submission.objects.filter(
            pk=submission.pk, state=State.RUNNING, claim_token=token
        ).update(
            state=State.QUEUED,
            queued_at=now,
            claim_token="",
            worker="",
            started_at=None,
            last_error=detail,
            failed_on=sorted({*(submission.failed_on or []), submission.worker})[-20:],
            failing_since=since,
            retry_not_before=now + timedelta(seconds=retry_backoff_s(submission.attempts)),
        )

    changed = with_db_retry(record, what="recording an internal error")
    if not changed:
        return "claim lost"
    return "internal error (final)" if final else "internal error, queued again"
