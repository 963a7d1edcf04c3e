"""Celery tasks of the leaderboard app (default queue): chat webhook deliveries, and the
rebuild of boards whose rules changed and were not rebuilt (beat, see submissions.schedule)."""

from __future__ import annotations

from celery import shared_task

from hackathon.leaderboard.services import leaderboard_rebuild_stale
from hackathon.leaderboard.webhooks import DELIVER_TASK, webhook_deliver, webhooks_tick

TICK_TASK = "hackathon.leaderboard.tasks.webhooks_tick"


@shared_task(name=DELIVER_TASK, ignore_result=True)
def deliver_webhook(delivery_id: int) -> str:
    return webhook_deliver(delivery_id=delivery_id)


@shared_task(name=TICK_TASK, ignore_result=True)
def tick_webhooks() -> int:
    return webhooks_tick()


@shared_task(name="hackathon.leaderboard.tasks.rebuild_stale_boards", ignore_result=True)
def rebuild_stale_boards() -> int:
    return leaderboard_rebuild_stale()
