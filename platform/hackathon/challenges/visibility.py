"""THE rule of who may see what of a challenge's results.

`viewer_visibility` is the one place that decides, for a challenge and a viewer, whether
the public board is shown frozen and whether the private scores and the shake-up are
visible. It depends only on the challenge's phase and the viewer's role, so it lives with
the challenges: the submission pages (private score of a run) and the leaderboard (boards,
exports, the live stream, the API) all ask it. `leaderboard.visibility` applies it to live
channels and to who is told that a board changed.

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

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from hackathon.accounts.selectors import is_organizer, user_team
from hackathon.challenges.models import Challenge

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
    if is_organizer(viewer):
        return Visibility(True, _team_id(viewer), public_frozen=False, may_see_private=True)
    frozen = challenge.is_frozen
    may_see_private = challenge.has_ended and (bool(challenge.revealed_at) or not frozen)
    return Visibility(
        False, _team_id(viewer), public_frozen=frozen, may_see_private=may_see_private
    )


def viewer_may_see_private(*, challenge: Challenge, viewer: Viewer) -> bool:
    return viewer_visibility(challenge=challenge, viewer=viewer).may_see_private


def _team_id(viewer: AbstractBaseUser | AnonymousUser) -> int | None:
    team = user_team(viewer)
    return team.pk if team else None
