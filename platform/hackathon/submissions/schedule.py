"""Every periodic job of the platform, in one place (settings.CELERY_BEAT_SCHEDULE).

Imports nothing from Django so that settings.py can read it. Beat is its own process
(`celery -A hackathon beat`); the jobs run on the default queue's worker.
"""

from __future__ import annotations

import os

SWEEPER_INTERVAL_S = float(os.environ.get("SWEEPER_INTERVAL_S", "30"))

BEAT_SCHEDULE: dict[str, dict] = {
    "sweep-submissions": {
        "task": "hackathon.submissions.tasks.sweep_submissions",
        "schedule": SWEEPER_INTERVAL_S,
        "options": {"queue": "default", "expires": SWEEPER_INTERVAL_S},
    },
}
