"""Pointing this test process's Celery producer at another Redis for one test, and back.

What the test process's Celery app publishes through, and where it can go stale:
- the broker URL: `app.conf` reads Django settings (CELERY_*) live, unless a key was set on
  `app.conf` itself (kept in `app.conf.changes`, which then wins for the rest of the session);
- the app's connection pool (`app._pool`) and producer pool (`app.amqp._producer_pool`);
- kombu's process-wide pool registry (`kombu.pools`), keyed by broker URL: closing a pool
  without removing it from the registry leaves a closed pool that the next publish to that URL
  is handed ("RuntimeError: Acquire on closed pool").

`celery_broker_switched` saves the app's broker keys before changing anything, drops every
pool on the way in and out, and puts the keys back exactly (a key that was not set is removed
again, so the app goes back to following Django settings). Django settings are changed through
pytest-django's `settings` fixture, which restores them after this fixture's teardown.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

BROKER_CONF_KEYS = ("broker_url", "broker_read_url", "broker_write_url")


def celery_app() -> Any:
    from hackathon.celery import app

    return app


def broker_url_for(redis_url: str) -> str:
    """The Celery broker URL for a Redis URL (kombu spells a Unix socket redis+socket://)."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url[len("unix://") :]
    return redis_url


def broker_conf_snapshot(app: Any | None = None) -> dict[str, object]:
    """The broker keys set on the app itself (not read through from Django settings)."""
    changes = (app or celery_app()).conf.changes
    return {key: changes[key] for key in BROKER_CONF_KEYS if key in changes}


def drop_celery_connections(app: Any | None = None) -> None:
    """Close and forget every connection and producer pool of this process: the app's own
    and kombu's registry, so that the next publish builds fresh ones for the current URL."""
    from kombu import pools

    app = app or celery_app()
    for pool in (app._pool, app.amqp._producer_pool):
        if pool is not None:
            with contextlib.suppress(Exception):
                pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    pools.reset()


@contextlib.contextmanager
def celery_broker_switched(redis_url: str, settings: Any) -> Iterator[str]:
    """Within the block, REDIS_URL and the Celery producer of this process use `redis_url`.

    `settings` is pytest-django's fixture: it must outlive the block (request it before)."""
    app = celery_app()
    saved = broker_conf_snapshot(app)
    broker = broker_url_for(redis_url)
    drop_celery_connections(app)
    settings.REDIS_URL = redis_url
    settings.CELERY_BROKER_URL = broker
    app.conf.broker_url = broker
    try:
        yield redis_url
    finally:
        drop_celery_connections(app)
        for key in BROKER_CONF_KEYS:
            if key in saved:
                app.conf.changes[key] = saved[key]
            else:
                app.conf.changes.pop(key, None)
