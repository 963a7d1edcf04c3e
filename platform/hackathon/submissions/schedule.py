"""Every periodic job of the platform, in one place (settings.CELERY_BEAT_SCHEDULE).

Imports nothing from Django so that settings.py can read it. Beat is its own process
(`celery -A hackathon.celery beat`); the jobs run on the default queue's worker.
"""

from __future__ import annotations

import os

# With the heartbeat timeout (20 s), a dead worker's work is queued again within 30 s.
SWEEPER_INTERVAL_S = float(os.environ.get("SWEEPER_INTERVAL_S", "10"))
INTEGRITY_SWEEP_INTERVAL_S = float(os.environ.get("INTEGRITY_SWEEP_INTERVAL_S", "120"))
WEBHOOKS_INTERVAL_S = float(os.environ.get("WEBHOOKS_INTERVAL_S", "15"))
STALE_BOARDS_INTERVAL_S = 30.0

BEAT_SCHEDULE: dict[str, dict] = {
    "sweep-submissions": {
        "task": "hackathon.submissions.tasks.sweep_submissions",
        "schedule": SWEEPER_INTERVAL_S,
        "options": {"queue": "default", "expires": SWEEPER_INTERVAL_S},
    },
    # Integrity checks a lost message left undone (hackathon.integrity.services).
    "integrity-sweep": {
        "task": "hackathon.integrity.tasks.sweep",
        "schedule": INTEGRITY_SWEEP_INTERVAL_S,
        "options": {"queue": "default", "expires": INTEGRITY_SWEEP_INTERVAL_S},
    },
    # Boards whose rules (display precision, freeze time, metric) changed and were not
    # rebuilt right after (hackathon.leaderboard.services.leaderboard_rebuild_stale).
    "leaderboard-stale-boards": {
        "task": "hackathon.leaderboard.tasks.rebuild_stale_boards",
        "schedule": STALE_BOARDS_INTERVAL_S,
        "options": {"queue": "default", "expires": STALE_BOARDS_INTERVAL_S},
    },
    # Chat webhooks: phases reached (start, freeze, end, reveal) and due retries
    # (hackathon.leaderboard.webhooks).
    "chat-webhooks": {
        "task": "hackathon.leaderboard.tasks.webhooks_tick",
        "schedule": WEBHOOKS_INTERVAL_S,
        "options": {"queue": "default", "expires": WEBHOOKS_INTERVAL_S},
    },
}
