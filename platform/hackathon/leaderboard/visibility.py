"""THE rule of who may see what on a challenge's leaderboards.

`viewer_visibility` is the one place that decides, for a challenge and a viewer, whether
the public board is shown frozen, whether the private board and the shake-up are
visible, and which live channels the viewer may listen to; `change_audiences` applies
the same rule to who is told that a board changed. Pages, fragments, the JSON used by the
projector, CSV exports, the live stream and the API all go through it (the selectors
re-export it).

The rule (stated on the leaderboard page):
- Organizers always see the live public board, the private board and the shake-up.
- Everyone else sees the public board as it was at the freeze while the challenge is
  frozen (after `freeze_at`, until "unfreeze" or "reveal"); a team's own newer scores
  are shown to that team only.
- Everyone else sees the private board and the shake-up only once submissions are
  closed (the challenge ended), and then once the organizer revealed them or at once if
  the challenge is not frozen (a frozen challenge waits for the reveal). A private score
  is never shown to participants while they can still submit, even if the end time is
  moved later after a reveal: that would let a team probe the private rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from hackathon.challenges.models import Challenge
from hackathon.leaderboard import live
from hackathon.leaderboard.viewers import user_is_organizer, user_team

Viewer = AbstractBaseUser | AnonymousUser | None


@dataclass(frozen=True)
class Visibility:
    is_organizer: bool
    team_id: int | None
    public_frozen: bool  # this viewer sees the public board as at the freeze
    may_see_private: bool  # private board and shake-up


def viewer_visibility(*, challenge: Challenge, viewer: Viewer) -> Visibility:
    """THE visibility rule (see the module docstring)."""
    viewer = viewer or AnonymousUser()
    if user_is_organizer(viewer):
        return Visibility(True, _team_id(viewer), public_frozen=False, may_see_private=True)
    frozen = challenge.is_frozen
    may_see_private = challenge.has_ended and (bool(challenge.revealed_at) or not frozen)
    return Visibility(
        False, _team_id(viewer), public_frozen=frozen, may_see_private=may_see_private
    )


def viewer_may_see_private(*, challenge: Challenge, viewer: Viewer) -> bool:
    return viewer_visibility(challenge=challenge, viewer=viewer).may_see_private


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
        challenge.is_frozen and created_at is not None and created_at >= challenge.freeze_at
    )
    if is_baseline or not after_freeze:
        audiences.append("public")
    return audiences


def _team_id(viewer: AbstractBaseUser | AnonymousUser) -> int | None:
    team = user_team(viewer)
    return team.pk if team else None
