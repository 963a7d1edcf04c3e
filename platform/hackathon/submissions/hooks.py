"""The one way the submissions app tells the leaderboard that a result changed.

The apps are layered accounts → challenges → submissions → leaderboard → api/web, and a
lower app never imports a higher one. So the leaderboard registers its handlers here at
start-up (`LeaderboardConfig.ready` calls `register_leaderboard`), and grading, the
sweeper and the submission services call `result_changed` / `results_reset` inside the
transaction that changed the submission: the boards change atomically with it. Organizer
workflows call `board_rules_changed` once a change of a challenge's board rules commits.

The submission page asks the leaderboard the same way whether its team may share the
submission on the challenge's debrief (`share_state`): which submission counts as the
team's final one is the leaderboard's to say.

Without a registered leaderboard (an installation that forgot the app) storing a result
fails loudly instead of leaving boards silently out of date.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from hackathon.challenges.models import Challenge
    from hackathon.submissions.models import Submission


@dataclass(frozen=True)
class LeaderboardHook:
    record_result: Callable[..., None]  # (*, submission: Submission): one result changed
    rebuild: Callable[..., object]  # (*, challenge: Challenge): every result was reset
    # (*, submission: Submission, user): what the submission page shows its team about
    # sharing it on the debrief, or None for anyone else.
    share_state: Callable[..., object]


_registered: list[LeaderboardHook] = []


def register_leaderboard(
    *,
    record_result: Callable[..., None],
    rebuild: Callable[..., object],
    share_state: Callable[..., object],
) -> None:
    """Called once from `LeaderboardConfig.ready`; a second call replaces the first."""
    _registered[:] = [
        LeaderboardHook(record_result=record_result, rebuild=rebuild, share_state=share_state)
    ]


def _hook() -> LeaderboardHook:
    if not _registered:
        raise ImproperlyConfigured(
            "no leaderboard registered with hackathon.submissions.hooks: add "
            "'hackathon.leaderboard' to INSTALLED_APPS"
        )
    return _registered[0]


def result_changed(*, submission: Submission) -> None:
    """A submission's verdict, score, final flag or disqualification changed."""
    _hook().record_result(submission=submission)


def board_rules_changed(*, challenge: Challenge) -> None:
    """The rules that order the challenge's boards changed (its display precision, freeze
    time or metric): the boards are rebuilt under the new ones."""
    _hook().rebuild(challenge=challenge)


def results_reset(*, challenge: Challenge) -> None:
    """Every result of the challenge was reset (a rejudge of all of them)."""
    _hook().rebuild(challenge=challenge)


def share_state(*, submission: Submission, user: object) -> object:
    """The team's sharing state of a submission (leaderboard.sharing.ShareState), or None."""
    return _hook().share_state(submission=submission, user=user)
