"""pytest plugin (loaded with `-p hackathon.pytest_plugin`, before Django settings).

When REDIS_URL is unset, the test session starts the embedded Redis in a temp dir and
points REDIS_URL at it, so the settings (which read REDIS_URL at import) and the
Celery broker URL derived from it use a real Redis, as on a fresh laptop.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from hackathon import embedded_redis

_started: embedded_redis.EmbeddedRedis | None = None
_directory: Path | None = None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    global _started, _directory
    if os.environ.get("REDIS_URL"):
        return
    _directory = Path(tempfile.mkdtemp(prefix="hk-test-redis-"))
    _started = embedded_redis.start(_directory, log_file=_directory / "redis.log")
    os.environ["REDIS_URL"] = _started.url
    os.environ["HACKATHON_TEST_EMBEDDED_REDIS"] = "1"


def pytest_report_header(config: pytest.Config) -> str:
    source = "embedded, started for this session" if _started else "from REDIS_URL"
    return f"redis: {os.environ.get('REDIS_URL')} ({source})"


def pytest_unconfigure(config: pytest.Config) -> None:
    global _started
    if _started is not None:
        _started.stop()
        _started = None
        os.environ.pop("REDIS_URL", None)
        os.environ.pop("HACKATHON_TEST_EMBEDDED_REDIS", None)
    if _directory is not None:
        shutil.rmtree(_directory, ignore_errors=True)


def pytest_sessionstart(session: pytest.Session) -> None:
    # whitenoise warns on every request when STATIC_ROOT does not exist yet (fresh clone).
    from django.conf import settings

    if settings.configured:
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
