"""Grading worker lifecycle: sandbox self-test, refusal below the minimum level, heartbeat.

Connected to Celery's signals when the tasks module is imported (every worker imports it):

- `celeryd_after_setup` (after -Q is applied, before the pool forks and before anything is
  consumed): if the worker is meant to grade, run `grader.selftest()`. Below
  SANDBOX_MIN_LEVEL the worker stops consuming the grading queues (it keeps running,
  heartbeating and saying why on the organizer dashboard, so an organizer sees it).
  Submissions left "running" under this worker's name by a previous life of it (killed,
  restarted) are queued again at once: a worker that just started is running nothing.
- A daemon thread refreshes `WorkerHeartbeat.last_seen` every WORKER_HEARTBEAT_INTERVAL_S;
  the sweeper treats a worker silent for WORKER_HEARTBEAT_TIMEOUT_S as gone.
- Another runs the sweeper every SWEEPER_INTERVAL_S (`sweep_if_due`: one sweep per interval
  across the installation, under a Redis lock), so recovery does not depend on beat and
  the default queue's worker being up.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field

from celery.app.amqp import Queues
from celery.signals import celeryd_after_setup, worker_shutdown
from celery.worker import WorkController
from django.conf import settings
from django.db import DatabaseError, connection, connections
from django.utils import timezone

import grader
from grader.contract import SandboxLevel
from hackathon.submissions.models import WorkerHeartbeat
from hackathon.submissions.schedule import SWEEPER_INTERVAL_S
from hackathon.submissions.scheduling import (
    GRADING_QUEUES,
    heartbeat_interval_s,
    heartbeat_timeout_s,
)
from hackathon.submissions.sweeper import requeue_orphans_of, sweep_if_due

logger = logging.getLogger(__name__)


@dataclass
class WorkerState:
    name: str = ""
    level: str = ""
    detail: str = ""
    accepts: bool = False
    checked: bool = False
    queues: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    # Since when (monotonic) every heartbeat has reached the database; None while it fails.
    healthy_since: float | None = None


STATE = WorkerState()


def worker_name(nodename: str | None) -> str:
    return settings.WORKER_NAME or nodename or f"worker@{socket.gethostname()}"


def minimum_level() -> SandboxLevel:
    return SandboxLevel(str(settings.SANDBOX_MIN_LEVEL).lower())


def sandbox_selftest() -> tuple[str, str]:
    """(level, detail) from the grader; a self-test that crashes is a degraded sandbox."""
    try:
        level, detail = grader.selftest()
        return SandboxLevel(level).value, str(detail)
    except Exception as exc:  # noqa: BLE001 - the reason is what the dashboard shows
        logger.exception("sandbox self-test failed")
        return SandboxLevel.DEGRADED.value, f"self-test failed: {type(exc).__name__}: {exc}"


def _prewarm() -> None:
    """Build what every grade needs before the pool forks, so each child inherits it."""
    try:
        grader.prewarm()
    except Exception:  # noqa: BLE001 - grading still works, only the first run is slower
        logger.warning("grader prewarm failed", exc_info=True)


def level_accepted(level: str) -> tuple[bool, str]:
    minimum = minimum_level()
    if SandboxLevel(level).rank >= minimum.rank:
        return True, ""
    return False, (
        f"refuses to grade: sandbox level {level} is below the required minimum "
        f"{minimum.value} (SANDBOX_MIN_LEVEL)"
    )


def worker_register(
    *, name: str, queues: list[str], level: str, detail: str, accepts: bool
) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        name=name,
        defaults={
            "hostname": socket.gethostname()[:200],
            "pid": os.getpid(),
            "queues": ",".join(queues)[:200],
            "sandbox_level": level,
            "sandbox_detail": detail,
            "accepts_work": accepts,
            "last_seen": now,
            "started_at": now,
            "current_submission": None,
            "declining": "",  # a note of a previous run of this worker is not this one's
        },
    )


def worker_heartbeat(state: WorkerState) -> None:
    if not WorkerHeartbeat.objects.filter(name=state.name).update(last_seen=timezone.now()):
        # The row went away (deleted by hand, database restored): say who we are again.
        worker_register(
            name=state.name,
            queues=state.queues,
            level=state.level,
            detail=state.detail,
            accepts=state.accepts,
        )


def _heartbeat_loop(state: WorkerState) -> None:
    while not state.stop.wait(heartbeat_interval_s()):
        try:
            worker_heartbeat(state)
            if state.healthy_since is None:
                state.healthy_since = time.monotonic()
        except DatabaseError:
            state.healthy_since = None
            logger.warning("heartbeat of %s not recorded (database unavailable)", state.name)
            try:
                connection.close()
            except DatabaseError:
                pass
    connection.close()


def may_sweep(state: WorkerState, now: float | None = None) -> bool:
    """Only after this worker's heartbeats have reached the database for a whole heartbeat
    timeout: right after an outage that kept it (and so perhaps every worker) from the
    database, silent heartbeats say nothing about who is alive."""
    now = time.monotonic() if now is None else now
    return state.healthy_since is not None and now - state.healthy_since >= heartbeat_timeout_s()


def _sweep_loop(state: WorkerState) -> None:
    while not state.stop.wait(SWEEPER_INTERVAL_S):
        if not may_sweep(state):
            continue
        try:
            report = sweep_if_due()
            if report and (report.requeued or report.failed or report.resent):
                logger.warning("worker %s swept: %s", state.name, report)
        except Exception:  # noqa: BLE001 - the next interval tries again
            logger.warning("sweep by %s failed", state.name, exc_info=True)
        finally:
            # Not kept open between sweeps: a pool process forked meanwhile must not share it.
            connection.close()


def start_sweeper(state: WorkerState) -> threading.Thread:
    thread = threading.Thread(target=_sweep_loop, args=(state,), name="sweeper", daemon=True)
    thread.start()
    return thread


def start_heartbeat(state: WorkerState) -> threading.Thread:
    thread = threading.Thread(
        target=_heartbeat_loop, args=(state,), name="grading-heartbeat", daemon=True
    )
    thread.start()
    return thread


def prepare_grading_worker(*, nodename: str, queues: Queues) -> WorkerState:
    """What `celeryd_after_setup` does for a worker that consumes grading queues."""
    STATE.name = worker_name(nodename)
    level, detail = sandbox_selftest()
    accepts, why = level_accepted(level)
    STATE.level, STATE.accepts, STATE.checked = level, accepts, True
    STATE.detail = detail if accepts else f"{why}. {detail}"
    if accepts:
        _prewarm()
    else:
        logger.error("worker %s %s: %s", STATE.name, why, detail)
        for queue in GRADING_QUEUES:
            queues.deselect(queue)
        # Keep one private queue so the worker stays up, visible and heartbeating.
        queues.select_add(f"refused.{STATE.name}")
    STATE.queues = list(queues.consume_from.keys())
    worker_register(
        name=STATE.name, queues=STATE.queues, level=level, detail=STATE.detail, accepts=accepts
    )
    requeued = requeue_orphans_of(worker=STATE.name)
    if requeued:
        logger.warning(
            "worker %s re-queued %d submissions of its previous run", STATE.name, requeued
        )
    STATE.healthy_since = time.monotonic()  # registered just now
    start_heartbeat(STATE)
    start_sweeper(STATE)
    # The pool forks after this: children must not share this process's connection.
    connections.close_all()
    return STATE


@celeryd_after_setup.connect
def _on_after_setup(sender: str, instance: WorkController, **kwargs: object) -> None:
    queues = instance.app.amqp.queues
    if not set(queues.consume_from.keys()) & set(GRADING_QUEUES):
        return  # not a grading worker (e.g. the default queue's worker runs the sweeper)
    prepare_grading_worker(nodename=sender, queues=queues)


@worker_shutdown.connect
def _on_shutdown(**kwargs: object) -> None:
    STATE.stop.set()
