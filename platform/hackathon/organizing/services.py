"""Organizer workflows that span challenges and submissions: loading a challenge (a bundle
folder, an uploaded zip, the authoring form) and queueing its baseline solution.

This package sits above both apps (accounts → challenges → submissions → organizing →
leaderboard → api/web), so the challenges app knows nothing of submissions. A hidden split
that changes under scored submissions is decided here, in the challenge's own transaction
(the `on_resplit` callback of `challenges.services.challenge_store_spec`): refused without
`allow_resplit` (nothing is written), else every finished submission of the challenge is
rejudged in that same transaction. A change of the rules that order the boards (display
precision, freeze time, metric) rebuilds them once it commits. Views, the API and
`manage.py load_challenges` call these functions, never the storing ones below them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction

from hackathon.accounts.selectors import organizer_accounts
from hackathon.challenges.models import Challenge
from hackathon.challenges.services import (
    LoadOutcome,
    ResplitRefused,
    challenge_store_bundle,
    challenge_store_spec,
)
from hackathon.challenges.spec import ChallengeSpec
from hackathon.submissions import hooks
from hackathon.submissions.errors import SubmissionRejected
from hackathon.submissions.models import Submission, Verdict
from hackathon.submissions.services import challenge_rejudge_all, submission_create


def challenge_load_bundle(
    *,
    files: Mapping[str, bytes],
    origin: str = "bundle",
    allow_resplit: bool = False,
    actor: User | None = None,
    force: bool = False,
    keep_browser_edits: bool = False,
) -> LoadOutcome:
    """Parse a bundle held in memory and create or update its challenge (idempotent); a
    changed hidden split under scored submissions needs `allow_resplit` and rejudges them.

    `keep_browser_edits` (load_challenges at start-up) leaves alone a challenge that was
    edited in the browser since it was loaded; an explicit upload always applies."""
    outcome = challenge_store_bundle(
        files=files,
        origin=origin,
        force=force,
        keep_browser_edits=keep_browser_edits,
        on_resplit=_resplit_policy(origin=origin, allow_resplit=allow_resplit, actor=actor),
    )
    _rebuild_boards_if_needed(outcome)
    return outcome


def challenge_apply_spec(
    *,
    spec: ChallengeSpec,
    origin: str = "bundle",
    allow_resplit: bool = False,
    actor: User | None = None,
) -> LoadOutcome:
    """Create or update the challenge of `spec` (the authoring form), under the same
    resplit rule as a bundle."""
    outcome = challenge_store_spec(
        spec=spec,
        origin=origin,
        on_resplit=_resplit_policy(origin=origin, allow_resplit=allow_resplit, actor=actor),
    )
    _rebuild_boards_if_needed(outcome)
    return outcome


def _rebuild_boards_if_needed(outcome: LoadOutcome) -> None:
    """A change of the board's rules (display precision, freeze time, metric) rebuilds the
    boards as soon as it commits, in this request: from then on every channel ranks and
    rounds by the new rules. In its own transaction, after the challenge's: the rebuild
    takes the board lock that result stores hold while they wait for the challenge row.
    If it fails, the challenge stays marked `board_stale_since` and the periodic
    `leaderboard-stale-boards` job rebuilds it."""
    if not outcome.board_rules_changed:
        return
    challenge = outcome.challenge
    transaction.on_commit(lambda: hooks.board_rules_changed(challenge=challenge), robust=True)


def _resplit_policy(
    *, origin: str, allow_resplit: bool, actor: User | None
) -> Callable[[Challenge], bool]:
    """What happens when the hidden split of an existing challenge changed (called inside
    its transaction, after the new split is stored): True if submissions were rejudged."""

    def on_resplit(challenge: Challenge) -> bool:
        if not Submission.objects.filter(challenge=challenge, verdict=Verdict.SCORED).exists():
            return False
        if not allow_resplit:
            raise ResplitRefused(
                origin or "form",
                "this change would alter the hidden split of a challenge that has scored "
                "submissions; reload with --allow-resplit (or tick 'allow resplit') to "
                "resplit and rejudge every submission",
                field="split",
            )
        # The command line has no user: the rejudge is attributed to an organizer account.
        rejudger = actor or organizer_accounts().first()
        if rejudger is None:
            raise ResplitRefused(
                "load_challenges",
                "resplitting rejudges scored submissions on behalf of an organizer; "
                "create an organizer account first (createsuperuser)",
                field="split",
            )
        challenge_rejudge_all(challenge=challenge, actor=rejudger)
        return True

    return on_resplit


@dataclass
class BaselineOutcome:
    submission: Submission | None = None  # the queued submission, if any
    reason: str = ""  # why nothing was queued


def challenge_queue_baseline(*, challenge: Challenge, actor: User | None = None) -> BaselineOutcome:
    """Submit the bundle's baseline solution as an organizer's (baseline) submission, once
    per version of its code: it is graded like any submission and shown as a baseline row."""
    code = challenge.baseline_code
    if not code.strip():
        return BaselineOutcome(reason="the bundle has no baseline/solution.py")
    digest = hashlib.sha256(code.encode("utf-8", errors="surrogatepass")).hexdigest()
    if Submission.objects.filter(
        challenge=challenge, is_baseline=True, code_sha256=digest
    ).exists():
        return BaselineOutcome(reason="this baseline was already submitted")
    actor = actor or organizer_accounts().first()
    if actor is None:
        return BaselineOutcome(reason="no organizer account yet to submit it")
    try:
        submission = submission_create(
            challenge=challenge, user=actor, code=code, filename="baseline/solution.py"
        )
    except SubmissionRejected as exc:
        return BaselineOutcome(reason=f"refused: {exc.message}")
    return BaselineOutcome(submission=submission)
