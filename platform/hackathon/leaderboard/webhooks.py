"""Chat notifications: outgoing webhooks per challenge (Slack `{"text"}`, Discord `{"content"}`).

Events: start, freeze, end, reveal (time-based: `webhooks_phase_check` finds them from the
challenge's times, idempotently, from a periodic job and right after an organizer's freeze
or reveal) and a new leader on the public board (`webhooks_leader_check`, from
`leaderboard_record_result`; never while the board is frozen, when the public board does
not move). Each message is a `WebhookDelivery` row, unique per webhook and event key, so an
event announced twice is sent once. The row is the truth: the task sent after commit is a
hint, and the periodic job sends again what is due (a failed attempt waits 2^n × 15 s, up
to MAX_ATTEMPTS). Delivery runs on the default queue, never in grading, and never raises
into its caller: a failing webhook cannot affect grading.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from hackathon.celery import app as celery_app
from hackathon.challenges.models import Challenge
from hackathon.leaderboard.models import ChatWebhook, TeamScore, WebhookDelivery
from hackathon.leaderboard.scoring import best_first

logger = logging.getLogger(__name__)

DELIVER_TASK = "hackathon.leaderboard.tasks.deliver_webhook"
TIMEOUT_S = 5.0
MAX_ATTEMPTS = 5
BACKOFF_BASE_S = 15.0


def webhook_add(*, challenge: Challenge, kind: str, url: str) -> ChatWebhook:
    """Add an outgoing webhook (the caller checked that an organizer asks, and the URL)."""
    return ChatWebhook.objects.create(challenge=challenge, kind=kind, url=url)


def webhook_log(*, challenge: Challenge, limit: int = 30) -> list[WebhookDelivery]:
    """The latest deliveries of the challenge's webhooks, for the organizers' page."""
    return list(
        WebhookDelivery.objects.filter(webhook__challenge=challenge)
        .select_related("webhook")
        .order_by("-created_at", "-pk")[:limit]
    )


def payload_for(webhook: ChatWebhook, text: str) -> dict[str, str]:
    if webhook.kind == ChatWebhook.Kind.DISCORD:
        return {"content": text}
    return {"text": text}


def _send_on_commit(delivery_id: int) -> None:
    # By name (the task module imports this one): the message is only a hint.
    def send() -> None:
        try:
            celery_app.send_task(DELIVER_TASK, args=[delivery_id], queue="default")
        except Exception:  # noqa: BLE001 - the periodic job sends what is due anyway
            logger.warning("webhook delivery %s not sent to the broker", delivery_id)

    transaction.on_commit(send)


def webhook_announce(*, challenge: Challenge, event: str, key: str, text: str) -> int:
    """Queue `text` to every active webhook of the challenge, once per `key`; returns how
    many deliveries were created now."""
    created = 0
    for webhook in ChatWebhook.objects.filter(challenge=challenge, is_active=True):
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(
                    webhook=webhook,
                    event=event,
                    key=key,
                    text=text,
                    next_attempt_at=timezone.now(),
                )
        except IntegrityError:
            continue  # announced before
        created += 1
        _send_on_commit(delivery.pk)
    return created


def _public_leader(challenge: Challenge) -> TeamScore | None:
    order = best_first(
        "best_score", "best_at", higher_is_better=challenge.higher_is_better, tiebreak="team_id"
    )
    return (
        TeamScore.objects.filter(challenge=challenge, best_score__isnull=False)
        .select_related("team")
        .order_by(*order)
        .first()
    )


def public_leader_id(challenge: Challenge) -> int | None:
    leader = _public_leader(challenge)
    return leader.team_id if leader else None


def webhooks_leader_check(*, challenge_id: int, previous_leader_id: int | None) -> None:
    """After a result committed: announce the public board's new leader, unless it is
    frozen (or the final standings are out: then the board no longer races). Never raises."""
    try:
        with transaction.atomic():
            _leader_check(Challenge.objects.get(pk=challenge_id), previous_leader_id)
    except Exception:  # noqa: BLE001 - a chat message must never fail a grading result
        logger.exception("new-leader webhook check failed for challenge %s", challenge_id)


def _leader_check(challenge: Challenge, previous_leader_id: int | None) -> None:
    if challenge.is_frozen or challenge.revealed_at:
        return
    if not ChatWebhook.objects.filter(challenge=challenge, is_active=True).exists():
        return
    leader = _public_leader(challenge)
    if leader is None or leader.team_id == previous_leader_id:
        return
    text = (
        f"New leader on {challenge.title}: {leader.team.name} "
        f"({challenge.get_metric_display()} {leader.best_score:.{challenge.display_precision}g})"
    )
    key = f"leader:{leader.team_id}:{leader.best_submission_id}"
    webhook_announce(challenge=challenge, event="leader", key=key, text=text)


def _phase_events(challenge: Challenge, now: datetime) -> list[tuple[str, str, datetime, str]]:
    events = []
    title = challenge.title
    if challenge.start_at and challenge.start_at <= now:
        events.append(("start", "start", challenge.start_at, f"{title} has started: submit away!"))
    if challenge.freeze_at and challenge.freeze_at <= now and not challenge.revealed_at:
        key = f"freeze:{challenge.freeze_at.isoformat()}"
        events.append(
            (
                "freeze",
                key,
                challenge.freeze_at,
                f"The {title} leaderboard is frozen: results stay hidden until the reveal.",
            )
        )
    if challenge.end_at and challenge.end_at <= now:
        events.append(
            ("end", "end", challenge.end_at, f"{title} has ended: submissions are closed.")
        )
    if challenge.revealed_at and challenge.revealed_at <= now:
        events.append(
            (
                "reveal",
                "reveal",
                challenge.revealed_at,
                f"The final standings of {title} are revealed.",
            )
        )
    return events


def webhooks_phase_check_after_commit(*, challenge_id: int) -> None:
    """For an organizer's freeze or reveal: announce it now instead of at the next tick."""

    def check() -> None:
        try:
            webhooks_phase_check(challenge=Challenge.objects.get(pk=challenge_id))
        except Exception:  # noqa: BLE001 - the periodic job announces it anyway
            logger.exception("phase webhook check failed for challenge %s", challenge_id)

    transaction.on_commit(check)


def webhooks_phase_check(*, challenge: Challenge, now: datetime | None = None) -> int:
    """Announce the phases the challenge reached; a webhook hears only of events that
    happened after it was added (no late "has started" for a webhook added mid-event)."""
    now = now or timezone.now()
    created = 0
    hooks = list(ChatWebhook.objects.filter(challenge=challenge, is_active=True))
    for event, key, at, text in _phase_events(challenge, now):
        for webhook in hooks:
            if at < webhook.created_at - timedelta(seconds=1):
                continue
            try:
                with transaction.atomic():
                    delivery = WebhookDelivery.objects.create(
                        webhook=webhook, event=event, key=key, text=text, next_attempt_at=now
                    )
            except IntegrityError:
                continue
            created += 1
            _send_on_commit(delivery.pk)
    return created


def webhook_deliver(*, delivery_id: int, now: datetime | None = None) -> str:
    """One attempt at a due delivery: POST with a timeout, record the outcome; returns the
    status. A claim (conditional UPDATE) makes a duplicate message do nothing."""
    now = now or timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + timedelta(seconds=TIMEOUT_S * 4))
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    if not claimed:
        return delivery.status
    body = json.dumps(payload_for(delivery.webhook, delivery.text)).encode()
    request = urllib.request.Request(  # noqa: S310 - organizers' http(s) URL (URLField)
        delivery.webhook.url,
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    code: int | None = None
    error = ""
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
            code = response.status
    except urllib.error.HTTPError as exc:
        code, error = exc.code, f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    attempts = delivery.attempts + 1
    if code is not None and 200 <= code < 300:
        fields = {
            "status": WebhookDelivery.Status.SENT,
            "sent_at": timezone.now(),
            "next_attempt_at": None,
        }
    elif attempts >= MAX_ATTEMPTS:
        fields = {"status": WebhookDelivery.Status.FAILED, "next_attempt_at": None}
    else:
        fields = {"next_attempt_at": now + timedelta(seconds=BACKOFF_BASE_S * 2 ** (attempts - 1))}
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        attempts=attempts, last_status_code=code, last_error=error, **fields
    )
    return str(fields.get("status", WebhookDelivery.Status.PENDING))


def webhooks_tick(*, now: datetime | None = None) -> int:
    """The periodic job: announce reached phases of challenges with webhooks, and attempt
    every due delivery; returns the number of attempts."""
    now = now or timezone.now()
    for challenge in Challenge.objects.filter(chat_webhooks__is_active=True).distinct():
        webhooks_phase_check(challenge=challenge, now=now)
    due = (
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)
    )
    attempts = 0
    for delivery_id in list(due[:100]):
        webhook_deliver(delivery_id=delivery_id, now=now)
        attempts += 1
    return attempts
