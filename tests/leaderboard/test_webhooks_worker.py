"""Chat webhooks through the real processes: a `celery worker` on the default queue delivers
to an HTTP receiver on 127.0.0.1, and `celery beat` (the chat-webhooks job, every second
here) retries the delivery the receiver answered with a 500; a new public leader is
announced, but not one made during the freeze; the freeze, the end and the reveal are."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from hackathon.leaderboard.models import ChatWebhook, WebhookDelivery
from hackathon.leaderboard.services import leaderboard_freeze, leaderboard_reveal
from hackathon.testing import ManagedProcess, celery_beat_argv, child_environment

from tests.leaderboard.conftest import make_challenge, make_team, scored
from tests.leaderboard.servers import Receiver
from tests.submissions.conftest import LiveWorker, test_database_url, wait_for

pytestmark = [pytest.mark.slow]


def _beat(workdir: Path, broker: str) -> ManagedProcess:
    workdir.mkdir(exist_ok=True)
    env = child_environment(
        DJANGO_SETTINGS_MODULE="hackathon.settings",
        DATABASE_URL=test_database_url(),
        REDIS_URL=broker,
        HACKATHON_VAR_DIR=str(workdir / "var"),
        SECRET_KEY="test-worker-key",
        WEBHOOKS_INTERVAL_S="1",
        PYTHONUNBUFFERED="1",
    )
    return ManagedProcess.spawn(
        "beat",
        celery_beat_argv(schedule=workdir / "beat-schedule"),
        log_path=workdir / "beat.log",
        env=env,
        cwd=workdir,
    )


def test_a_worker_delivers_retries_after_a_500_and_says_nothing_of_a_leader_while_frozen(
    start_worker: Callable[..., LiveWorker], clean_broker: str, organizer, tmp_path: Path
) -> None:
    now = timezone.now()
    challenge = make_challenge(start_at=now - timedelta(hours=1), end_at=now + timedelta(hours=1))
    chat = Receiver([500]).start()  # the first message meets a server error
    ChatWebhook.objects.create(challenge=challenge, kind="slack", url=chat.url + "/hook")
    worker = start_worker("webhooks", queues="default")
    beat = _beat(tmp_path / "beat", clean_broker)
    title = challenge.title
    leader = f"New leader on {title}: Ada (Accuracy 0.7)"
    try:
        ada, bo = make_team("Ada"), make_team("Bo")
        scored(challenge, ada, 0.70)  # committed: the delivery task goes to the worker

        def logs() -> str:
            return f"\n{worker.log()}\n--- beat ---\n{beat.tail()}"

        first = wait_for(
            lambda: WebhookDelivery.objects.filter(attempts__gte=1).first(),
            what="the first attempt" + logs(),
        )
        assert (first.event, first.last_status_code) == ("leader", 500)
        sent = wait_for(
            lambda: WebhookDelivery.objects.filter(pk=first.pk, status="sent").first(),
            timeout=120,
            what="the retry after 15 s, sent by beat's job" + logs(),
        )
        assert (sent.attempts, sent.last_status_code) == (2, 200)
        assert chat.received == [("/hook", {"text": leader})] * 2

        leaderboard_freeze(challenge=challenge, actor=organizer)
        wait_for(lambda: len(chat.received) == 3, what="the freeze message" + logs())
        scored(challenge, bo, 0.95)  # would lead the live board: the chat must not hear it
        challenge.refresh_from_db()
        leaderboard_reveal(challenge=challenge, actor=organizer, close_submissions=True)
        revealed = f"The final standings of {title} are revealed."
        wait_for(lambda: revealed in chat.texts(), what="the reveal message" + logs())
    finally:
        beat.stop(grace=15)
        chat.stop()
    assert chat.texts() == [
        leader,
        leader,
        f"The {title} leaderboard is frozen: results stay hidden until the reveal.",
        f"{title} has ended: submissions are closed.",
        revealed,
    ]
    assert not WebhookDelivery.objects.filter(event="leader", text__contains="Bo").exists()
