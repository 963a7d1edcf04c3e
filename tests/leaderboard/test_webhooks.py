"""Chat webhooks delivered to a real HTTP receiver on 127.0.0.1: payloads per kind, the
phase events found by the periodic job once each, a retry after a 500, no new-leader
message while frozen, and a dead webhook that changes nothing for grading."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hackathon.celery import app as celery_app
from hackathon.leaderboard.models import ChatWebhook, TeamScore, WebhookDelivery
from hackathon.leaderboard.services import leaderboard_freeze, leaderboard_reveal
from hackathon.leaderboard.tasks import deliver_webhook
from hackathon.leaderboard.webhooks import webhooks_tick

from tests.leaderboard.conftest import make_challenge, make_team, scored
from tests.leaderboard.servers import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made: list[Receiver] = []

    def start(statuses: list[int]) -> Receiver:
        r = Receiver(statuses)
        threading.Thread(target=r.server.serve_forever, daemon=True).start()
        made.append(r)
        return r

    yield start  # type: ignore[misc]
    for r in made:
        r.server.shutdown()
        r.server.server_close()


def _texts(r: Receiver) -> list[str]:
    return [body.get("text") or body.get("content") for _, body in r.received]


def test_phase_events_once_each_with_slack_and_discord_payloads_and_a_retry_after_a_500(
    receiver, organizer, django_capture_on_commit_callbacks
) -> None:
    now = timezone.now()
    challenge = make_challenge(start_at=now + timedelta(minutes=1), end_at=now + timedelta(hours=1))
    slack = receiver([500])
    discord = receiver([])
    ChatWebhook.objects.create(challenge=challenge, kind="slack", url=slack.url + "/hook/s3cr3t")
    ChatWebhook.objects.create(challenge=challenge, kind="discord", url=discord.url + "/d")

    assert webhooks_tick(now=now) == 0  # not started yet: nothing to say
    started = now + timedelta(minutes=1, seconds=5)
    assert webhooks_tick(now=started) == 2
    assert webhooks_tick(now=started) == 0  # idempotent: the failed one waits its backoff
    assert discord.received == [("/d", {"content": f"{challenge.title} has started: submit away!"})]
    assert slack.received == [
        ("/hook/s3cr3t", {"text": f"{challenge.title} has started: submit away!"})
    ]
    failed = WebhookDelivery.objects.get(webhook__kind="slack", event="start")
    assert (failed.status, failed.attempts, failed.last_status_code) == ("pending", 1, 500)
    assert failed.next_attempt_at == started + timedelta(seconds=15)

    assert webhooks_tick(now=started + timedelta(seconds=16)) == 1  # the retry
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.last_status_code) == ("sent", 2, 200)
    assert _texts(slack) == [f"{challenge.title} has started: submit away!"] * 2

    with django_capture_on_commit_callbacks(execute=True):
        leaderboard_freeze(challenge=challenge, actor=organizer)
    ended = now + timedelta(hours=1, seconds=1)
    webhooks_tick(now=ended)
    webhooks_tick(now=ended)
    assert _texts(discord) == [
        f"{challenge.title} has started: submit away!",
        f"The {challenge.title} leaderboard is frozen: results stay hidden until the reveal.",
        f"{challenge.title} has ended: submissions are closed.",
    ]
    assert WebhookDelivery.objects.filter(webhook__kind="discord").count() == 3


def test_new_leader_announced_but_never_during_a_freeze(
    receiver, organizer, django_capture_on_commit_callbacks
) -> None:
    challenge = make_challenge()
    chat = receiver([])
    ChatWebhook.objects.create(challenge=challenge, kind="slack", url=chat.url)
    ada, bo = make_team("Ada"), make_team("Bo")
    with django_capture_on_commit_callbacks(execute=True):
        scored(challenge, ada, 0.70)
    with django_capture_on_commit_callbacks(execute=True):
        scored(challenge, bo, 0.60)  # not a new leader
    with django_capture_on_commit_callbacks(execute=True):
        scored(challenge, bo, 0.80)  # takes the lead
    for delivery in WebhookDelivery.objects.order_by("pk"):
        deliver_webhook(delivery.pk)  # the task, as the default queue's worker runs it
    assert _texts(chat) == [
        f"New leader on {challenge.title}: Ada (Accuracy 0.7)",
        f"New leader on {challenge.title}: Bo (Accuracy 0.8)",
    ]
    with django_capture_on_commit_callbacks(execute=True):
        leaderboard_freeze(challenge=challenge, actor=organizer)
    with django_capture_on_commit_callbacks(execute=True):
        scored(challenge, ada, 0.95)  # would lead on the live board: the room must not hear it
    webhooks_tick(now=timezone.now() + timedelta(seconds=1))
    leader_messages = [t for t in _texts(chat) if t.startswith("New leader")]
    assert len(leader_messages) == 2
    assert not WebhookDelivery.objects.filter(event="leader", text__contains="0.95").exists()
    assert "frozen" in _texts(chat)[-1]


def test_the_reveal_is_announced_once_to_each_webhook_in_its_payload(
    receiver, organizer, django_capture_on_commit_callbacks
) -> None:
    now = timezone.now()
    challenge = make_challenge(start_at=now - timedelta(hours=1), end_at=now + timedelta(hours=1))
    slack, discord = receiver([]), receiver([])
    ChatWebhook.objects.create(challenge=challenge, kind="slack", url=slack.url + "/s")
    ChatWebhook.objects.create(challenge=challenge, kind="discord", url=discord.url + "/d")
    with django_capture_on_commit_callbacks(execute=True):
        leaderboard_freeze(challenge=challenge, actor=organizer)
    challenge.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        leaderboard_reveal(challenge=challenge, actor=organizer, close_submissions=True)
    later = timezone.now() + timedelta(seconds=1)
    webhooks_tick(now=later)
    webhooks_tick(now=later + timedelta(minutes=5))  # announced once: nothing more
    title = challenge.title
    said = [
        f"The {title} leaderboard is frozen: results stay hidden until the reveal.",
        f"{title} has ended: submissions are closed.",
        f"The final standings of {title} are revealed.",
    ]
    assert slack.received == [("/s", {"text": text}) for text in said]
    assert discord.received == [("/d", {"content": text}) for text in said]
    reveal = WebhookDelivery.objects.filter(event="reveal")
    assert reveal.count() == 2 and {d.status for d in reveal} == {"sent"}


def test_a_dead_webhook_changes_nothing_for_grading(django_capture_on_commit_callbacks) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    challenge = make_challenge()
    ChatWebhook.objects.create(challenge=challenge, kind="slack", url=f"http://127.0.0.1:{port}/")
    team = make_team("Cy")
    with django_capture_on_commit_callbacks(execute=True):
        sub = scored(challenge, team, 0.9)
    assert TeamScore.objects.get(challenge=challenge, team=team).best_submission_id == sub.pk
    delivery = WebhookDelivery.objects.get(event="leader")
    at = timezone.now()
    for attempt in range(5):
        webhooks_tick(now=at)
        at += timedelta(seconds=15 * 2**attempt + 1)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 5)
    assert "ConnectionRefusedError" in delivery.last_error or "URLError" in delivery.last_error
    assert webhooks_tick(now=at + timedelta(days=1)) == 0  # given up: no more attempts


def test_webhook_urls_are_masked() -> None:
    hook = ChatWebhook(url="https://hooks.slack.com/services/T000/B000/SECRET")
    assert hook.masked_url == "https://hooks.slack.com/…"
    assert "SECRET" not in str(hook)


def test_organizers_add_webhooks_on_the_room_page_and_see_them_masked_with_the_log(
    organizer_client, client_a, organizer
) -> None:
    challenge = make_challenge()
    secret = "https://hooks.slack.com/services/T0/B0/VERYSECRET"
    add = reverse("leaderboard:webhook_add", args=[challenge.slug])
    assert client_a.post(add, {"kind": "slack", "url": secret}).status_code == 403
    assert organizer_client.post(add, {"kind": "slack", "url": "ftp://x/y"}).status_code == 302
    assert not ChatWebhook.objects.exists()
    organizer_client.post(add, {"kind": "slack", "url": secret})
    hook = ChatWebhook.objects.get()
    assert (hook.challenge_id, hook.url) == (challenge.pk, secret)
    WebhookDelivery.objects.create(
        webhook=hook, event="start", key="start", text="t", attempts=1, last_status_code=500
    )
    page = organizer_client.get(reverse("leaderboard:room", args=[challenge.slug])).content.decode()
    assert "https://hooks.slack.com/…" in page and "HTTP 500" in page
    assert "VERYSECRET" not in page
    # The admin lists it masked and never renders the URL back into its form.
    superuser = User.objects.create_superuser("root", "root@example.org", "pw-root-123")
    admin = Client()
    admin.force_login(superuser)
    listing = admin.get(reverse("admin:leaderboard_chatwebhook_changelist")).content.decode()
    change = admin.get(reverse("admin:leaderboard_chatwebhook_change", args=[hook.pk]))
    assert "https://hooks.slack.com/…" in listing
    assert change.status_code == 200
    assert "VERYSECRET" not in listing and "VERYSECRET" not in change.content.decode()
    remove = reverse("leaderboard:webhook_remove", args=[challenge.slug, hook.pk])
    assert client_a.post(remove).status_code == 403
    organizer_client.post(remove)
    assert not ChatWebhook.objects.exists()


def test_the_delivery_task_is_sent_by_name_on_the_default_queue_after_commit(
    django_capture_on_commit_callbacks, clean_broker
) -> None:
    with celery_app.connection_for_write() as connection:
        broker = connection.default_channel.client  # the test's own Redis (clean_broker)
        _check_sent_by_name(broker, django_capture_on_commit_callbacks)


def _check_sent_by_name(broker: object, django_capture_on_commit_callbacks: object) -> None:
    challenge = make_challenge()
    ChatWebhook.objects.create(challenge=challenge, kind="slack", url="http://127.0.0.1:9/")
    with django_capture_on_commit_callbacks(execute=True):
        scored(challenge, make_team("Di"), 0.9)
        assert broker.llen("default") == 0  # nothing before the commit
    delivery = WebhookDelivery.objects.get(event="leader")
    messages = [json.loads(m) for m in broker.lrange("default", 0, -1)]
    sent = [
        m for m in messages if m["headers"]["task"] == "hackathon.leaderboard.tasks.deliver_webhook"
    ]
    assert [m["headers"]["argsrepr"] for m in sent] == [f"[{delivery.pk}]"]
