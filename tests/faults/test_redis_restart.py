"""Redis restarted (its data lost) with submissions queued: all graded once it is back."""

from __future__ import annotations

import time

import pytest
import redis
from hackathon.leaderboard.models import TeamScore
from hackathon.submissions.models import State, Submission
from hackathon.submissions.scheduling import GRADING_QUEUES
from hackathon.submissions.services import submission_create

from tests.faults.conftest import LiveEvents, Sweeper, WorkerPool
from tests.faults.factories import (
    TRIVIAL,
    all_finished,
    assert_graded_once,
    make_challenge,
    make_teams,
    states,
)
from tests.faults.harness import RedisServer, wait_until

pytestmark = pytest.mark.slow

COUNT = 50
# The workers' own sweeps wait: the test's sweeper is the one whose re-sends are counted.
NO_OWN_SWEEP = {"SWEEPER_INTERVAL_S": "3600"}


def _queued_messages(server: RedisServer) -> int:
    client = redis.Redis(host=server.host, port=server.port)
    return sum(
        client.llen(key) for key in client.keys("*") if key.decode().startswith(GRADING_QUEUES)
    )


@pytest.mark.django_db(transaction=True)
def test_redis_restart_with_fifty_queued_submissions_grades_each_exactly_once(
    workers: WorkerPool, private_redis: RedisServer, live_events: LiveEvents, sweeper: Sweeper
) -> None:
    challenge = make_challenge("redis-restart", time_limit_s=20)
    teams = make_teams(5)
    worker = workers.start(name="steady", wait=False, env=NO_OWN_SWEEP)
    other = workers.start(name="sturdy", wait=False, env=NO_OWN_SWEEP)
    worker.wait_ready()
    other.wait_ready()
    ids = [
        submission_create(challenge=challenge, user=teams[i % 5][0], code=TRIVIAL).pk
        for i in range(COUNT)
    ]
    # Let the worker take a few, so that one is in flight when Redis goes.
    wait_until(
        lambda: Submission.objects.filter(pk__in=ids, state=State.FINISHED).count() >= 2,
        timeout=120,
        message=lambda: f"the first results ({states(ids)}):\n{workers.logs()}",
    )
    assert _queued_messages(private_redis) > 0

    private_redis.restart(down_for=1.0)
    assert _queued_messages(private_redis) == 0, "the restart lost every message"
    left = Submission.objects.filter(pk__in=ids).exclude(state=State.FINISHED).count()
    assert left > 0

    def everything_graded() -> bool:
        sweeper()
        return all_finished(ids)

    wait_until(
        everything_graded,
        timeout=300,
        interval=1.0,
        message=lambda: f"all {COUNT} graded ({states(ids)}):\n{workers.logs()}",
    )
    assert worker.is_alive() and other.is_alive()
    assert len(set(sweeper.resent)) >= left - 2  # those in flight need no new message

    assert_graded_once(challenge, ids)
    entries = sum(TeamScore.objects.filter(challenge=challenge).values_list("entries", flat=True))
    assert entries == COUNT
    time.sleep(1.0)
    finished_events = [
        event["data"]["id"]
        for sid in ids
        for event in live_events.on(f"submission:{sid}", "finished")
    ]
    # Events published while Redis was down are lost (pages resync); none is ever doubled.
    assert len(finished_events) == len(set(finished_events))
    assert len(finished_events) >= COUNT - 2


@pytest.mark.django_db(transaction=True)
def test_submission_whose_message_vanished_is_sent_again_by_the_sweeper(
    workers: WorkerPool, private_redis: RedisServer, sweeper: Sweeper, live_events: LiveEvents
) -> None:
    challenge = make_challenge("lost-message", time_limit_s=20)
    ((user, _),) = make_teams(1)
    submission = submission_create(challenge=challenge, user=user, code=TRIVIAL)
    assert _queued_messages(private_redis) == 1
    private_redis.restart()
    worker = workers.start(name="late", env=NO_OWN_SWEEP)
    time.sleep(2.0)
    assert Submission.objects.get(pk=submission.pk).state == State.QUEUED  # nothing to consume

    def graded() -> bool:
        sweeper()
        return Submission.objects.get(pk=submission.pk).state == State.FINISHED

    wait_until(graded, timeout=120, interval=1.0, message=lambda: worker.log_tail())
    # Sent again by the sweeper (more than once if the platform retried it), graded once.
    assert submission.pk in sweeper.resent
    assert_graded_once(challenge, [submission.pk])
    _finished_once(live_events, [submission.pk])


@pytest.mark.django_db(transaction=True)
def test_beat_runs_the_sweeper_on_its_own_and_lost_messages_are_sent_again(
    workers: WorkerPool, private_redis: RedisServer, live_events: LiveEvents
) -> None:
    """No help from the test: the periodic job declared in the settings does it."""
    challenge = make_challenge("beat-sweeper", time_limit_s=20)
    teams = make_teams(3)
    ids = [submission_create(challenge=challenge, user=u, code=TRIVIAL).pk for u, _ in teams]
    private_redis.restart()
    assert _queued_messages(private_redis) == 0
    workers.start(name="grader", env=NO_OWN_SWEEP)
    workers.start_beat(env={"SWEEPER_INTERVAL_S": "1"})
    wait_until(
        lambda: all_finished(ids),
        timeout=120,
        interval=0.5,
        message=lambda: f"beat's sweeper to re-send ({states(ids)}):\n{workers.logs()}",
    )
    assert_graded_once(challenge, ids)
    _finished_once(live_events, ids)


def _finished_once(live_events: LiveEvents, ids: list[int]) -> None:
    """Each submission announced as finished once (graded after the restart: no event lost)."""
    wait_until(
        lambda: all(live_events.on(f"submission:{sid}", "finished") for sid in ids),
        timeout=20,
        message="a finished event for each",
    )
    time.sleep(1.0)  # a second announcement would come by now
    for sid in ids:
        assert len(live_events.on(f"submission:{sid}", "finished")) == 1, sid
