"""The grading state machine without a sandbox run: claim, results, internal errors,
the sweeper and lost messages. (End to end through a real worker: test_worker_e2e.py.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from hackathon.submissions.grading import (
    submission_claim,
    submission_fail_internal,
    submission_store_result,
)
from hackathon.submissions.models import State, Submission, Verdict, WorkerHeartbeat
from hackathon.submissions.services import submission_create
from hackathon.submissions.sweeper import (
    _submission_id_of,
    pending_message_submission_ids,
    requeue_orphans_of,
    requeue_stale_submissions,
    resend_lost_messages,
)

from grader.contract import GradingResult
from grader.contract import Verdict as GV
from tests.submissions.conftest import LINEAR_SOLUTION

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(make_challenge, member_a, team_a) -> Submission:
    return submission_create(challenge=make_challenge(), user=member_a, code=LINEAR_SOLUTION)


def _scored(score: float = 0.5) -> GradingResult:
    return GradingResult(
        verdict=GV.SCORED,
        public_score=score,
        private_score=score + 0.1,
        loss_curve=[3.0, float("nan"), float("inf"), 1.0],
        stdout="a\x00b",
        sandbox_level="strong",
        diagnostics=[{"code": "diverged", "title": "x\x00", "detail": "", "ratio": float("inf")}],
    )


def test_second_claim_of_the_same_submission_gets_nothing(queued) -> None:
    first = submission_claim(submission_id=queued.pk, worker="w1")
    assert first is not None
    assert submission_claim(submission_id=queued.pk, worker="w2") is None
    sub = Submission.objects.get(pk=queued.pk)
    assert (sub.state, sub.attempts, sub.worker) == (State.RUNNING, 1, "w1")


def test_result_is_stored_with_the_claim_and_cleaned_for_the_database(queued) -> None:
    _, token = submission_claim(submission_id=queued.pk, worker="w1")
    assert submission_store_result(submission=queued, token=token, result=_scored()).startswith(
        "finished"
    )
    sub = Submission.objects.get(pk=queued.pk)
    assert (sub.state, sub.verdict, sub.public_score) == (State.FINISHED, Verdict.SCORED, 0.5)
    assert sub.loss_curve == [3.0, None, None, 1.0]
    assert sub.diagnostics[0]["ratio"] is None and "\x00" not in sub.diagnostics[0]["title"]
    assert "\x00" not in sub.stdout
    assert sub.sandbox_level == "strong"


def test_a_late_result_of_a_requeued_attempt_is_dropped(queued) -> None:
    _, old_token = submission_claim(submission_id=queued.pk, worker="dead")
    Submission.objects.filter(pk=queued.pk).update(state=State.QUEUED, claim_token="")
    _, new_token = submission_claim(submission_id=queued.pk, worker="alive")
    assert submission_store_result(submission=queued, token=old_token, result=_scored(9.0)) == (
        "claim lost"
    )
    submission_store_result(submission=queued, token=new_token, result=_scored(0.25))
    sub = Submission.objects.get(pk=queued.pk)
    assert (sub.public_score, sub.attempts) == (0.25, 2)


def test_internal_errors_retry_then_end_refunded(queued, settings) -> None:
    settings.GRADING_MAX_ATTEMPTS = 2
    settings.GRADING_RETRY_DEADLINE_S = 0
    claimed, token = submission_claim(submission_id=queued.pk, worker="w1")
    assert "queued again" in submission_fail_internal(
        submission=claimed, token=token, detail="scratch disk full"
    )
    sub = Submission.objects.get(pk=queued.pk)
    assert (sub.state, sub.counts_toward_quota) == (State.QUEUED, True)
    assert "scratch disk full" in sub.last_error
    assert submission_claim(submission_id=queued.pk, worker="w2") is None  # backing off
    Submission.objects.filter(pk=queued.pk).update(retry_not_before=timezone.now())
    claimed, token = submission_claim(submission_id=queued.pk, worker="w2")
    assert "final" in submission_fail_internal(
        submission=claimed, token=token, detail="sandbox could not start"
    )
    sub = Submission.objects.get(pk=queued.pk)
    assert (sub.state, sub.verdict) == (State.FINISHED, Verdict.INTERNAL_ERROR)
    assert sub.counts_toward_quota is False
    assert "not counted against your quota" in sub.message
    assert "sandbox could not start" not in sub.message  # the detail is for organizers only
    assert "w2" in sub.last_error


def _heartbeat(name: str, *, age_s: float = 0, current: Submission | None = None) -> None:
    WorkerHeartbeat.objects.create(
        name=name, last_seen=timezone.now() - timedelta(seconds=age_s), current_submission=current
    )


def test_sweeper_requeues_work_of_a_silent_worker(queued, settings) -> None:
    settings.WORKER_HEARTBEAT_TIMEOUT_S = 30
    _, token = submission_claim(submission_id=queued.pk, worker="gone")
    _heartbeat("gone", age_s=120, current=queued)
    report = requeue_stale_submissions()
    assert report.requeued == [queued.pk]
    sub = Submission.objects.get(pk=queued.pk)
    assert (sub.state, sub.claim_token) == (State.QUEUED, "")
    assert "heartbeats" in sub.last_error
    # The dead attempt's result can no longer land.
    assert submission_store_result(submission=queued, token=token, result=_scored()) == "claim lost"


def test_sweeper_leaves_a_live_worker_within_its_time_limit_alone(queued) -> None:
    submission_claim(submission_id=queued.pk, worker="busy")
    _heartbeat("busy", current=queued)
    assert requeue_stale_submissions().requeued == []
    assert Submission.objects.get(pk=queued.pk).state == State.RUNNING


def test_sweeper_requeues_a_run_past_its_limit_that_its_worker_left(queued, settings) -> None:
    settings.GRADING_STALE_MARGIN_S = 5
    submission_claim(submission_id=queued.pk, worker="busy")
    Submission.objects.filter(pk=queued.pk).update(
        started_at=timezone.now() - timedelta(seconds=60)
    )
    _heartbeat("busy", current=None)
    assert requeue_stale_submissions().requeued == [queued.pk]


def test_sweeper_ends_a_submission_out_of_attempts_as_refunded_internal_error(
    queued, settings
) -> None:
    settings.GRADING_MAX_ATTEMPTS = 1
    submission_claim(submission_id=queued.pk, worker="gone")
    report = requeue_stale_submissions()  # no heartbeat row at all
    assert report.failed == [queued.pk]
    sub = Submission.objects.get(pk=queued.pk)
    assert (sub.verdict, sub.counts_toward_quota) == (Verdict.INTERNAL_ERROR, False)


def test_a_restarted_worker_requeues_what_it_was_running(queued) -> None:
    submission_claim(submission_id=queued.pk, worker="w1@host")
    assert requeue_orphans_of(worker="w2@host") == 0
    assert requeue_orphans_of(worker="w1@host") == 1
    assert Submission.objects.get(pk=queued.pk).state == State.QUEUED


def test_claim_takes_over_from_a_dead_grading_process_of_the_same_worker(queued) -> None:
    submission_claim(submission_id=queued.pk, worker="w1@host")
    # A pool child that died: its pid is gone (pid 2**22 + 1 is above pid_max defaults).
    Submission.objects.filter(pk=queued.pk).update(worker_pid=4194305)
    assert submission_claim(submission_id=queued.pk, worker="other@host") is None
    again = submission_claim(submission_id=queued.pk, worker="w1@host")
    assert again is not None
    assert Submission.objects.get(pk=queued.pk).attempts == 2


@pytest.mark.django_db(transaction=True)
def test_sweeper_resends_only_messages_the_broker_lost(
    make_challenge, member_a, team_a, clean_broker, settings
) -> None:
    import redis

    settings.GRADING_QUEUED_GRACE_S = 0
    challenge = make_challenge(inflight_cap=0)
    kept = submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    lost = submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    assert pending_message_submission_ids() >= {kept.pk, lost.pk}
    client = redis.Redis.from_url(clean_broker)
    # Lose one message, as a Redis restart without persistence would.
    for key in list(client.scan_iter("grading*")):
        for raw in client.lrange(key, 0, -1):
            if _submission_id_of(raw) == lost.pk:
                client.lrem(key, 1, raw)
    assert lost.pk not in pending_message_submission_ids()
    report = resend_lost_messages(now=timezone.now() + timedelta(seconds=1))
    assert report.resent == [lost.pk]
    assert pending_message_submission_ids() >= {kept.pk, lost.pk}


def test_queue_position_follows_the_order_the_broker_serves(
    make_challenge, member_a, team_a, member_b, team_b
) -> None:
    from hackathon.submissions.selectors import submission_queue_position

    challenge = make_challenge(inflight_cap=3)
    a1 = submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    a2 = submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    b1 = submission_create(challenge=challenge, user=member_b, code=LINEAR_SOLUTION)
    long = submission_create(
        challenge=make_challenge(time_limit_s=600), user=member_b, code=LINEAR_SOLUTION
    )
    positions = [submission_queue_position(s) for s in (a1, b1, a2, long)]
    assert positions == [1, 2, 3, 1]  # the long queue is served separately
    submission_claim(submission_id=a1.pk, worker="w")
    assert submission_queue_position(Submission.objects.get(pk=a1.pk)) is None
    assert submission_queue_position(b1) == 1


def test_a_retry_after_a_platform_fault_is_left_to_another_live_worker(queued) -> None:
    from hackathon.submissions.grading import should_defer_to_another_worker

    claimed, token = submission_claim(submission_id=queued.pk, worker="broken@a")
    submission_fail_internal(submission=claimed, token=token, detail="scratch unwritable")
    assert Submission.objects.get(pk=queued.pk).failed_on == ["broken@a"]
    # Alone, the failing worker retries itself.
    assert not should_defer_to_another_worker(submission_id=queued.pk, worker="broken@a")
    WorkerHeartbeat.objects.create(
        name="healthy@b", last_seen=timezone.now(), accepts_work=True, queues="grading"
    )
    assert should_defer_to_another_worker(submission_id=queued.pk, worker="broken@a")
    assert not should_defer_to_another_worker(submission_id=queued.pk, worker="healthy@b")
    # A peer that takes another queue, or refuses work, is no help.
    WorkerHeartbeat.objects.filter(name="healthy@b").update(queues="grading-long")
    assert not should_defer_to_another_worker(submission_id=queued.pk, worker="broken@a")
    # Nobody waits forever for a peer that may be gone.
    WorkerHeartbeat.objects.filter(name="healthy@b").update(queues="grading")
    Submission.objects.filter(pk=queued.pk).update(queued_at=timezone.now() - timedelta(minutes=10))
    assert not should_defer_to_another_worker(submission_id=queued.pk, worker="broken@a")


def test_a_lone_surrogate_in_the_result_text_is_stored_as_a_runtime_error(queued) -> None:
    _, token = submission_claim(submission_id=queued.pk, worker="w1")
    result = GradingResult(
        verdict=GV.RUNTIME_ERROR,
        message='Traceback:\n  File "solution.py", line 3\nValueError: bad \udcff',
        stdout="out \udcff",
        stderr="err \ud83d",
        diagnostics=[{"title": "t \udcff"}],
    )
    assert submission_store_result(submission=queued, token=token, result=result).startswith(
        "finished"
    )
    sub = Submission.objects.get(pk=queued.pk)
    assert (sub.state, sub.verdict) == (State.FINISHED, Verdict.RUNTIME_ERROR)
    assert sub.message.endswith("ValueError: bad \ufffd")
    assert (sub.stdout, sub.stderr) == ("out \ufffd", "err \ufffd")
    assert sub.diagnostics == [{"title": "t \ufffd"}]


def test_a_platform_fault_is_held_and_retried_until_the_deadline_not_ended(
    clean_broker, queued, settings
) -> None:
    settings.GRADING_MAX_ATTEMPTS = 2
    settings.GRADING_RETRY_DEADLINE_S = 3600
    settings.GRADING_RETRY_BACKOFF_S = 5
    for attempt in range(1, 5):
        Submission.objects.filter(pk=queued.pk).update(retry_not_before=None)
        claimed, token = submission_claim(submission_id=queued.pk, worker="w1")
        outcome = submission_fail_internal(submission=claimed, token=token, detail="disk full")
        assert outcome == "internal error, queued again", attempt
        sub = Submission.objects.get(pk=queued.pk)
        assert sub.state == State.QUEUED and sub.counts_toward_quota
        wait = (sub.retry_not_before - timezone.now()).total_seconds()
        assert 5 * 2 ** (attempt - 1) - 1 < wait <= 5 * 2 ** (attempt - 1)  # doubling backoff
    # The sweeper sends it once it is due, even with no message lost.
    assert queued.pk not in resend_lost_messages().resent
    Submission.objects.filter(pk=queued.pk).update(
        failing_since=timezone.now() - timedelta(hours=2), retry_not_before=timezone.now()
    )
    assert queued.pk in resend_lost_messages().resent
    claimed, token = submission_claim(submission_id=queued.pk, worker="w1")
    assert "final" in submission_fail_internal(submission=claimed, token=token, detail="disk")
    sub = Submission.objects.get(pk=queued.pk)
    assert (sub.state, sub.verdict, sub.attempts) == (State.FINISHED, Verdict.INTERNAL_ERROR, 5)
    assert not sub.counts_toward_quota


@pytest.mark.django_db(transaction=True)
def test_a_message_held_by_a_worker_that_is_gone_is_sent_again(
    make_challenge, member_a, team_a, clean_broker, settings
) -> None:
    import json
    import time

    import redis

    settings.GRADING_QUEUED_GRACE_S = 0
    settings.GRADING_UNACKED_STALE_S = 30
    sub = submission_create(challenge=make_challenge(), user=member_a, code=LINEAR_SOLUTION)
    client = redis.Redis.from_url(clean_broker)

    def deliver(delivered_at: float) -> None:
        """What kombu does when a worker takes the message: list -> unacked (+ its time)."""
        for key in list(client.scan_iter("grading*")):
            for raw in client.lrange(key, 0, -1):
                if _submission_id_of(raw) == sub.pk:
                    client.lrem(key, 1, raw)
                    client.hset("unacked", "tag-1", json.dumps([json.loads(raw), "", "grading"]))
                    client.zadd("unacked_index", {"tag-1": delivered_at})

    deliver(time.time())
    # Just delivered: its worker is about to claim it.
    assert sub.pk in pending_message_submission_ids()
    assert resend_lost_messages(now=timezone.now() + timedelta(seconds=1)).resent == []
    # Delivered 31 s ago and still queued: the worker that took it is gone.
    client.zadd("unacked_index", {"tag-1": time.time() - 31})
    assert sub.pk not in pending_message_submission_ids()
    report = resend_lost_messages(now=timezone.now() + timedelta(seconds=1))
    assert report.resent == [sub.pk]
    assert sub.pk in pending_message_submission_ids()  # a fresh message in the queue


def test_one_sweep_per_interval_and_one_at_a_time(clean_broker, settings) -> None:
    import redis
    from hackathon.submissions.sweeper import SWEEP_DUE_KEY, SWEEP_LOCK_KEY, sweep_if_due

    client = redis.Redis.from_url(clean_broker)
    client.delete(SWEEP_DUE_KEY, SWEEP_LOCK_KEY)
    assert sweep_if_due(interval_s=30) is not None  # beat's job or a worker's thread
    assert sweep_if_due(interval_s=30) is None  # another process, within the interval
    client.delete(SWEEP_DUE_KEY)
    client.set(SWEEP_LOCK_KEY, "someone else", ex=60)  # a sweep is running elsewhere
    assert sweep_if_due(interval_s=30) is None
    assert client.get(SWEEP_LOCK_KEY) == b"someone else"  # not released by the loser
    client.delete(SWEEP_DUE_KEY, SWEEP_LOCK_KEY)


def test_a_claim_by_any_process_of_a_worker_clears_its_passing_work_on_note(
    queued, monkeypatch, clean_broker
) -> None:
    from hackathon.submissions import grading

    # Another process of the same worker (a pool child) passed work on and wrote the note;
    # this process, which never declined anything, then takes a run.
    WorkerHeartbeat.objects.create(
        name="pool@host", last_seen=timezone.now(), declining="the dataset cache is full"
    )
    monkeypatch.setattr(grading, "_grade_in_sandbox", lambda submission: _scored())
    outcome = grading.submission_grade(submission_id=queued.pk, worker="pool@host")
    assert outcome.startswith("finished")
    heartbeat = WorkerHeartbeat.objects.get(name="pool@host")
    assert (heartbeat.declining, heartbeat.current_submission_id) == ("", None)


def test_a_grading_process_that_keeps_dying_ends_the_submission_refunded(queued, settings) -> None:
    settings.GRADING_MAX_WORKER_DEATHS = 3
    settings.GRADING_MAX_ATTEMPTS = 10  # the deaths, not the attempts, end it
    dead_pid = 4194305  # above pid_max defaults: no such process
    assert submission_claim(submission_id=queued.pk, worker="w1@host") is not None
    for deaths in (1, 2):
        # Its grading process died (killed mid-run); the redelivered message takes it over.
        Submission.objects.filter(pk=queued.pk).update(worker_pid=dead_pid)
        assert submission_claim(submission_id=queued.pk, worker="w1@host") is not None
        sub = Submission.objects.get(pk=queued.pk)
        assert (sub.state, sub.attempts, sub.worker_deaths) == (State.RUNNING, deaths + 1, deaths)
    Submission.objects.filter(pk=queued.pk).update(worker_pid=dead_pid)
    assert submission_claim(submission_id=queued.pk, worker="w1@host") is None
    sub = Submission.objects.get(pk=queued.pk)
    assert (sub.state, sub.verdict, sub.worker_deaths) == (
        State.FINISHED,
        Verdict.INTERNAL_ERROR,
        3,
    )
    assert not sub.counts_toward_quota
    assert "died 3 times" in sub.message and "not counted against your quota" in sub.message
    assert f"grading process {dead_pid} died" in sub.last_error


def test_the_sweeper_counts_a_dead_worker_as_a_death_of_the_grading_process(
    queued, settings
) -> None:
    settings.GRADING_MAX_WORKER_DEATHS = 2
    submission_claim(submission_id=queued.pk, worker="gone")
    assert requeue_stale_submissions().requeued == [queued.pk]  # no heartbeat: the first
    assert Submission.objects.get(pk=queued.pk).worker_deaths == 1
    submission_claim(submission_id=queued.pk, worker="gone-too")
    assert requeue_stale_submissions().failed == [queued.pk]  # the second: ended
    sub = Submission.objects.get(pk=queued.pk)
    assert (sub.verdict, sub.worker_deaths, sub.counts_toward_quota) == (
        Verdict.INTERNAL_ERROR,
        2,
        False,
    )
    assert "died 2 times" in sub.message


def test_the_queued_row_is_read_with_its_challenge_as_the_orm_reads_them(
    queued, django_assert_num_queries
) -> None:
    from hackathon.submissions.grading import queued_submission

    Submission.objects.filter(pk=queued.pk).update(
        failed_on=["w@a", "w@b"], retry_not_before=timezone.now(), priority=3
    )
    read = queued_submission(queued.pk)
    orm = Submission.objects.select_related("challenge").get(pk=queued.pk)
    assert read is not None

    def values(obj: object) -> dict:
        return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}

    assert values(read) == values(orm)
    with django_assert_num_queries(0):  # loaded with it, not read again
        assert values(read.challenge) == values(orm.challenge)
    assert read.failed_on == ["w@a", "w@b"] and read.retry_not_before.tzinfo is not None
    Submission.objects.filter(pk=queued.pk).update(state=State.RUNNING)
    assert queued_submission(queued.pk) is None


@pytest.mark.django_db(transaction=True)  # each transaction its own, as in a worker
def test_a_claim_commits_without_waiting_for_the_disk_and_a_result_with(
    queued, monkeypatch
) -> None:
    from django.db import connection
    from hackathon import rowsql

    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's (SQLite's WAL mode never waits)")
    seen: list[str] = []
    original = rowsql.update

    def update(model, *, where, values):  # noqa: ANN001, ANN202 - records, then does it
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            seen.append(f"{model.__name__} {cursor.fetchone()[0]}")
        return original(model, where=where, values=values)

    monkeypatch.setattr(rowsql, "update", update)
    _, token = submission_claim(submission_id=queued.pk, worker="w1")
    submission_store_result(submission=queued, token=token, result=_scored())
    assert seen[0] == "Submission off"  # the claim
    assert seen[1] == "Submission on"  # the result
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"  # for that transaction only
