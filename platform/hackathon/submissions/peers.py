"""The other areas' interfaces this app calls, in one place.

Imports are inside the functions: the leaderboard and API apps import this app's models,
so importing theirs at module level here would make a cycle at start-up.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

if TYPE_CHECKING:
    from hackathon.accounts.models import Team
    from hackathon.challenges.models import Challenge
    from hackathon.submissions.models import Submission

logger = logging.getLogger(__name__)

User = AbstractBaseUser | AnonymousUser


# --- accounts -------------------------------------------------------------------------
def user_team(user: User) -> Team | None:
    from hackathon.accounts.selectors import user_team as team_of

    return team_of(user)


def user_is_organizer(user: User) -> bool:
    from hackathon.accounts.selectors import user_is_organizer as is_organizer

    return bool(is_organizer(user))


# --- challenges -----------------------------------------------------------------------
def challenge_dataset_paths(challenge: Challenge, cache_dir: Path) -> dict[str, Path]:
    from hackathon.challenges.datasets import challenge_dataset_paths as paths

    return paths(challenge, cache_dir)


# --- leaderboard ----------------------------------------------------------------------
def leaderboard_record_result(*, submission: Submission) -> None:
    from hackathon.leaderboard.services import leaderboard_record_result as record

    record(submission=submission)


def leaderboard_rebuild(*, challenge: Challenge) -> None:
    from hackathon.leaderboard.services import leaderboard_rebuild as rebuild

    rebuild(challenge=challenge)


def viewer_may_see_private(*, challenge: Challenge, viewer: User) -> bool:
    from hackathon.leaderboard.selectors import viewer_may_see_private as may_see

    return bool(may_see(challenge=challenge, viewer=viewer))


def live_publish(topic: str, event: str, data: dict) -> None:
    """Push a live event; a failure to publish never breaks grading (pages resync)."""
    from hackathon.leaderboard.live import publish

    try:
        publish(topic, event, data)
    except Exception:  # noqa: BLE001 - live updates are best effort by design
        logger.warning("live publish to %s failed", topic, exc_info=True)


def live_stream_url() -> str:
    """The SSE endpoint of the leaderboard app (topics are added as ?topic=...)."""
    from django.urls import reverse

    return reverse("leaderboard:live")


# --- grader ---------------------------------------------------------------------------
def precheck(
    source: str,
    allowed_imports: tuple[str, ...],
    *,
    metrics: tuple[str, ...] = (),
    task: str = "binary",
) -> tuple[bool, str, str]:
    """(ok, verdict, message) from the grader's static pre-check; `metrics` are the ranked and
    extra metrics (a Model must have predict_proba when one of them scores probabilities)."""
    from grader.precheck import precheck as check
    from grader.scoring import METRICS

    proba_metric = next((m for m in metrics if m in METRICS and METRICS[m].needs_proba), None)
    result = check(source, allowed_imports, proba_metric=proba_metric, task=task)
    return bool(result.ok), str(result.verdict or ""), str(result.message or "")
