"""The visibility rule applied to live channels and to who is told that a board changed.

THE rule itself (who may see the frozen public board, the private board and the shake-up)
is `challenges.visibility.viewer_visibility`; pages, fragments, the JSON used by the
projector, CSV exports, the live stream and the API all go through it (the selectors
re-export it).
"""

from __future__ import annotations

from datetime import datetime

from hackathon import live
from hackathon.challenges.models import Challenge
from hackathon.challenges.visibility import (
    Viewer,
    Visibility,
    viewer_may_see_private,
    viewer_visibility,
)

__all__ = [
    "Viewer",
    "Visibility",
    "change_audiences",
    "live_channels_for",
    "viewer_may_see_private",
    "viewer_visibility",
]


def live_channels_for(*, challenge: Challenge, viewer: Viewer) -> list[str]:
    """The live channels behind topic `challenge:<id>` that this viewer may listen to."""
    visibility = viewer_visibility(challenge=challenge, viewer=viewer)
    channels = [live.challenge_topic(challenge.pk)]
    if visibility.is_organizer:
        channels.append(live.challenge_topic(challenge.pk, "organizers"))
    if visibility.team_id is not None:
        channels.append(live.challenge_topic(challenge.pk, f"team:{visibility.team_id}"))
    return channels


def change_audiences(
    *, challenge: Challenge, team_id: int | None, created_at: datetime | None, is_baseline: bool
) -> list[str]:
    """Who is told that a result changed the boards: organizers and the team always; the
    public channel only if the change shows on the board others see (while frozen, a
    submission made after the freeze changes nothing they may see)."""
    audiences = ["organizers"]
    if team_id is not None:
        audiences.append(f"team:{team_id}")
    after_freeze = bool(
        challenge.is_frozen
        and created_at is not None
        and challenge.freeze_at is not None
        and created_at >= challenge.freeze_at
    )
    if is_baseline or not after_freeze:
        audiences.append("public")
    return audiences
