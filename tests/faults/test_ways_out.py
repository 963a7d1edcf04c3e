"""Every non-terminal state has a way out, and workers show they are alive."""

from __future__ import annotations

import re
import time

import pytest
from django.test import Client
from hackathon.submissions.models import State, Submission, WorkerHeartbeat
from hackathon.submissions.services import quota_usage, submission_create

from tests.faults.conftest import Sweeper, WorkerPool
from tests.faults.factories import make_challenge, make_teams, sleepy_solution, wait_for_state
from tests.faults.harness import still_running, wait_until

pytestmark = pytest.mark.slow


@pytest.mark.django_db(transaction=True)
def test_submission_whose_workers_keep_dying_ends_as_internal_error_after_max_attempts(
    workers: WorkerPool, sweeper: Sweeper, settings: object
) -> None:
    settings.GRADING_MAX_ATTEMPTS = 2  # type: ignore[attr-defined]
    challenge = make_challenge("keeps-dying", time_limit_s=30)
    ((user, team),) = make_teams(1)
    submission = submission_create(challenge=challenge, user=user, code=sleepy_solution(20))
    for attempt, name in enumerate(("first-victim", "second-victim"), start=1):
        worker = workers.start(name=name)
        wait_until(
            lambda name=name: Submission.objects.filter(
                pk=submission.pk, state=State.RUNNING, worker=name
            ).exists(),
            timeout=120,
            message=lambda worker=worker: f"attempt on {worker.name}:\n{worker.log_tail()}",
        )
        assert Submission.objects.get(pk=submission.pk).attempts == attempt
        victims = worker.kill_everything()
        wait_until(lambda victims=victims: not still_running(victims), timeout=30)
        if attempt == 1:
            wait_for_state(submission.pk, State.QUEUED, timeout=60, poll=sweeper)

    ended = wait_for_state(submission.pk, State.FINISHED, timeout=60, poll=sweeper)
    assert ended.verdict == "internal_error"
    assert not ended.counts_toward_quota
    assert "second-victim" in ended.last_error
    assert submission.pk in sweeper.failed
    assert quota_usage(team=team, challenge=challenge).daily_used == 0


def _worker_row(html: str, name: str) -> str:
    for row in html.split('<tr data-testid="worker-row">')[1:]:
        row = row.split("</tr>")[0]
        if f"<td>{name}</td>" in row:
            return row
    raise AssertionError(f"no row for worker {name} on the dashboard")


@pytest.mark.django_db(transaction=True)
def test_worker_heartbeat_shows_on_the_dashboard_and_stops_when_the_worker_dies(
    workers: WorkerPool, organizer_client: Client, settings: object
) -> None:
    settings.WORKER_HEARTBEAT_TIMEOUT_S = 3.0  # type: ignore[attr-defined]
    worker = workers.start(name="beating")
    row = wait_until(
        lambda: WorkerHeartbeat.objects.filter(name="beating").first(),
        timeout=60,
        message="the worker's heartbeat row",
    )
    assert row.sandbox_level in ("strong", "standard")
    assert row.accepts_work
    assert "grading" in row.queues
    first_seen = row.last_seen
    wait_until(
        lambda: WorkerHeartbeat.objects.get(name="beating").last_seen > first_seen,
        timeout=30,
        message="a later heartbeat",
    )
    page = organizer_client.get("/dashboard/")
    assert page.status_code == 200
    online = _worker_row(page.content.decode(), "beating")
    assert "online" in online
    assert re.search(r"<td>\d+ s ago</td>", online)

    worker.kill_everything()
    time.sleep(1.0)
    last = WorkerHeartbeat.objects.get(name="beating").last_seen
    time.sleep(3.0)
    assert WorkerHeartbeat.objects.get(name="beating").last_seen == last
    gone = _worker_row(organizer_client.get("/dashboard/").content.decode(), "beating")
    assert "offline" in gone
